"""``MaxPool2D`` and ``AvgPool2D``: downsample NCHW images window by window.

No parameters. ``pool_size=2`` halves height and width (the stride defaults to the
window size, as in Keras and PyTorch); sizes that do not divide evenly are floored
("valid"), so a 15x15 map pooled by 2 becomes 7x7.
"""

from __future__ import annotations

import minigrad as mg

from .conv import pair
from .layer import Layer


class _Pool2D(Layer):
    op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None, input_shape=None):
        super().__init__(name, input_shape)
        if padding != "valid" and not isinstance(padding, int):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or an int, got {padding!r}")
        self.pool_size = pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, "strides")
        self.padding = 0 if padding == "valid" else padding

    def build(self, input_shape, ctx):
        if len(input_shape) != 3:
            raise mg.ShapeError(f"{type(self).__name__} {self.name!r} expects (channels, height, width) "
                                f"samples (NCHW), got per-sample shape {tuple(input_shape)}")

    def forward(self, x, ctx):
        return type(self).op(x, self.pool_size, stride=self.strides, padding=self.padding)


class MaxPool2D(_Pool2D):
    op = staticmethod(mg.max_pool2d)


class AvgPool2D(_Pool2D):
    op = staticmethod(mg.avg_pool2d)


MaxPooling2D, AveragePooling2D = MaxPool2D, AvgPool2D  # the Keras spellings
