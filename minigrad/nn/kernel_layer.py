"""``KernelLayer``: what Dense and Conv2D share, written once.

Both are ``activation(op(x, kernel) + bias)`` with the same Keras settings: an
activation, an optional bias, initializers for both, and a regularizer on the kernel.
A subclass only says what the op is and what shape its kernel has.
"""

from __future__ import annotations

from . import activations, initializers, regularizers
from .layer import Layer


class KernelLayer(Layer):
    def __init__(self, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None, input_shape=None):
        super().__init__(name, input_shape)
        self.activation = activations.get(activation)
        self.activation_name = activations.name_of(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def add_kernel_and_bias(self, kernel_shape, bias_shape, ctx):
        """Create ``self.kernel`` (regularized) and ``self.bias`` (None without a bias)."""
        self.kernel = self.add_weight("kernel", self.kernel_initializer(kernel_shape, ctx.rng),
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", self.bias_initializer(bias_shape, ctx.rng)) \
            if self.use_bias else None
