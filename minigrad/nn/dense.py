"""``Dense``: the fully connected layer, ``activation(x @ kernel + bias)``.

The kernel is (inputs, units), so a batch of row vectors x (N, inputs) multiplies
it from the left, the way the math is written in most articles. Parameters:
inputs * units + units.
"""

from __future__ import annotations

import minigrad as mg

from . import activations, initializers, regularizers
from .layer import Layer, known_dims


class Dense(Layer):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None, input_shape=None):
        super().__init__(name, input_shape)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.activation_name = activations.name_of(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def build(self, input_shape, ctx):
        if not input_shape:
            raise mg.ShapeError(f"Dense {self.name!r} needs inputs with a feature axis, "
                                f"got per-sample shape {tuple(input_shape)}")
        (n_in,) = known_dims(input_shape[-1:], self, "its input width")
        self.kernel = self.add_weight("kernel", self.kernel_initializer((n_in, self.units), ctx.rng),
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", self.bias_initializer((self.units,), ctx.rng)) \
            if self.use_bias else None

    def forward(self, x, ctx):
        z = x @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        return self.activation(z)
