"""``Flatten``: (N, C, H, W) -> (N, C*H*W), the bridge from conv layers to Dense."""

from __future__ import annotations

import minigrad as mg

from .layer import Layer, known_dims


class Flatten(Layer):
    def build(self, input_shape, ctx):
        known_dims(input_shape, self, "the size of each sample")

    def forward(self, x, ctx):
        return mg.flatten(x)
