"""Activation functions by name, and the ``Activation`` layer that applies one.

``Dense(64, activation="relu")`` and ``Dense(64, activation=mg.relu)`` mean the
same: a name is looked up here, a callable (tensor -> tensor) is used as is.
``None`` or "linear" means no activation.
"""

from __future__ import annotations

import minigrad as mg

from .layer import Layer
from .registry import by_name


def linear(x):
    return x


def softmax(x):
    """Softmax over the last axis (the class axis of a (N, C) output)."""
    return mg.softmax(x, axis=-1)


_BY_NAME = {
    "linear": linear,
    "relu": mg.relu,
    "sigmoid": mg.sigmoid,
    "tanh": mg.tanh,
    "softmax": softmax,
    "log_softmax": lambda x: mg.log_softmax(x, axis=-1),
    "leaky_relu": mg.leaky_relu,
}


def get(activation):
    """The function for a name ("relu", ...), a callable, or None (identity)."""
    if activation is None:
        return linear
    if callable(activation):
        return activation
    return by_name(_BY_NAME, activation, "activation", "a function tensor -> tensor")


def name_of(activation) -> str:
    if activation is None:
        return "linear"
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")


class Activation(Layer):
    """A layer that only applies an activation: ``Activation("softmax")``."""

    def __init__(self, activation, name=None, input_shape=None):
        super().__init__(name, input_shape)
        self.activation = get(activation)
        self.activation_name = name_of(activation)

    def forward(self, x, ctx):
        return self.activation(x)
