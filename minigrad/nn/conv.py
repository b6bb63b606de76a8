"""``Conv2D``: a 2-D convolution layer on NCHW images.

minigrad stores images as (batch, channels, height, width), like PyTorch, so
``input_shape=(3, 32, 32)`` is a 32x32 RGB image. The kernel is
(filters, in_channels, KH, KW); parameters: KH*KW*in_channels*filters + filters,
the same count as Keras (which stores the same numbers in another order).

padding="valid" uses no padding (the image shrinks by KH-1); "same" pads so that,
with stride 1, the output keeps the input's height and width.
"""

from __future__ import annotations

import math

import minigrad as mg

from .kernel_layer import KernelLayer
from .layer import known_dims


def pair(v, what):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(i, int) for i in v):
        raise ValueError(f"{what} must be an int or a pair of ints, got {v!r}")
    return v


def same_padding(size, kernel, stride, dilation, layer):
    """Symmetric padding that gives ceil(size / stride) outputs (Keras's "same").

    Keras puts an odd leftover pixel on the bottom/right; conv2d pads both sides
    equally, so that case is refused with an explanation instead of silently
    giving a different output size.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    if total % 2:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: padding='same' would need {total} pixels "
                         f"of padding for size {size}, kernel {kernel}, stride {stride}; conv2d pads both "
                         "sides equally, so pass an explicit int padding instead")
    return total // 2


class Conv2D(KernelLayer):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 dilation_rate=1, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name=None, input_shape=None):
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         name, input_shape)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive int, got {filters!r}")
        if not (isinstance(padding, int) or padding in ("valid", "same")):
            raise ValueError(f"Conv2D: padding must be 'valid', 'same' or an int, got {padding!r}")
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.strides = pair(strides, "strides")
        self.dilation_rate = pair(dilation_rate, "dilation_rate")
        self.padding = padding

    def build(self, input_shape, ctx):
        if len(input_shape) != 3:
            raise mg.ShapeError(f"Conv2D {self.name!r} expects (channels, height, width) samples (NCHW), "
                                f"got per-sample shape {tuple(input_shape)}")
        c_in, h, w = known_dims(input_shape, self, "its input channels and size")
        kh, kw = self.kernel_size
        if self.padding == "same":
            self._pad = tuple(same_padding(s, k, st, d, self) for s, k, st, d in
                              zip((h, w), self.kernel_size, self.strides, self.dilation_rate))
        else:
            self._pad = 0 if self.padding == "valid" else self.padding
        self.add_kernel_and_bias((self.filters, c_in, kh, kw), (self.filters,), ctx)

    def forward(self, x, ctx):
        z = mg.conv2d(x, self.kernel, self.bias, stride=self.strides, padding=self._pad,
                      dilation=self.dilation_rate)
        return self.activation(z)
