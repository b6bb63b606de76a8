"""Convolution as one matrix product: conv2d forward via im2col, in NumPy.

Reference solution. See ../conv2d_im2col.py for the statement.
"""

import numpy as np


def output_size(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) // stride + 1


def im2col(x, kh, kw, stride=1, padding=0):
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i: i + stride * (oh - 1) + 1: stride,
                                  j: j + stride * (ow - 1) + 1: stride]
    return cols.reshape(n, c * kh * kw, oh * ow)


def conv2d(x, w, b=None, stride=1, padding=0):
    n, _, h, wd = x.shape
    cout, _, kh, kw = w.shape
    oh, ow = output_size(h, kh, stride, padding), output_size(wd, kw, stride, padding)
    cols = im2col(x, kh, kw, stride, padding)
    y = (w.reshape(cout, -1) @ cols).reshape(n, cout, oh, ow)
    if b is not None:
        y = y + b.reshape(1, cout, 1, 1)
    return y
