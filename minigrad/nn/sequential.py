"""``Sequential``: a model that is a plain stack of layers, each feeding the next.

    model = Sequential([
        Dense(64, activation="relu", input_shape=(784,)),
        Dense(10, activation="softmax"),
    ])

The input shape comes from ``Sequential(..., input_shape=)`` or from the first
layer's ``input_shape=``; with neither, the graph is built from the first data
given to ``fit``/``predict``.
"""

from __future__ import annotations

import minigrad as mg

from .layer import Layer
from .model import Model


class Sequential(Model):
    def __init__(self, layers=None, input_shape=None, name="sequential", seed=0):
        super().__init__(name, input_shape, seed)
        self._stack = []
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        if self.built:
            raise mg.GraphError(f"cannot add {layer!r}: the graph of {self.name!r} is already built "
                                "(by compile, summary, fit or model.graph); add every layer first")
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes layers, got {type(layer).__name__}")
        self._stack.append(layer)

    def _known_input_shape(self):
        if self._input_shape is not None:
            return self._input_shape
        return self._stack[0].input_shape if self._stack else None

    @property
    def layers(self):
        return list(self._stack)

    def call(self, x):
        if not self._stack:
            raise mg.GraphError(f"{self.name!r} has no layers")
        for layer in self._stack:
            x = layer(x)
        return x
