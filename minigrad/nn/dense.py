"""``Dense``: the fully connected layer, ``activation(x @ kernel + bias)``.

The kernel is (inputs, units), so a batch of row vectors x (N, inputs) multiplies
it from the left, the way the math is written in most articles. Parameters:
inputs * units + units.
"""

from __future__ import annotations

import minigrad as mg

from .kernel_layer import KernelLayer
from .layer import known_dims


class Dense(KernelLayer):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None, input_shape=None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         name, input_shape)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        self.units = units

    def build(self, input_shape, ctx):
        if not input_shape:
            raise mg.ShapeError(f"Dense {self.name!r} needs inputs with a feature axis, "
                                f"got per-sample shape {tuple(input_shape)}")
        (n_in,) = known_dims(input_shape[-1:], self, "its input width")
        self.add_kernel_and_bias((n_in, self.units), (self.units,), ctx)

    def forward(self, x, ctx):
        z = x @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        return self.activation(z)
