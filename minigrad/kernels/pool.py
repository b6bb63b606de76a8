"""Max and average pooling on NCHW images.

``kernel``, ``stride`` and ``padding`` are ``(h, w)`` pairs.  Output size per axis:
``(size + 2*pad - k) // stride + 1`` (PyTorch's default ``ceil_mode=False``).

* Max pooling pads with -inf (padding can never win a window), like PyTorch.
* Average pooling counts the zero padding in the divisor (``count_include_pad=True``,
  PyTorch's default), so every window divides by KH*KW.

**Where each gradient goes.**  ``max_pool2d_backward`` receives the forward input
``x`` and output ``y`` and sends each ``gy`` to the **first** position of its window
(scanning row by row) where ``x == y`` (or the first NaN of a NaN window).  Ties
therefore have one fixed, documented winner, and the graph needs no extra index
tensor.  Frameworks usually remember instead, for each output, *where* the max came
from; the common 2x2 case does that too where it pays -- inside a training run (a
``reuse.py`` run scope), on rows of at most 8 windows, the forward leaves those
positions (its *winners*) for the backward, which then only scatters ``gy`` to them:
64x16x8x8 fwd+bwd 57 -> 32 us (2 threads; such images now go to the narrow kernels
below), 64x64x13x13 0.12 ms less.  Both ways pick the same winner, so the gradients
are the same bits.  (A run whose backward never asks for them -- pooling straight on
the data, with no gradient wanted there -- pays the winners' slower forward for
nothing: 20 instead of 15 us for 64x16x8x8.)

The 2x2 kernels, both ways, are in ``pool_2x2.py``; images whose rows of windows
fit in a vector (8x8, 16x16, 32x32 float32) go to ``pool_2x2_narrow.py``, which works
on whole vectors and finds the winners again in the backward, cheaper than either
way above (64x16x8x8 fwd+bwd: 11 instead of 26 us, 1 thread).

**Why Numba and not NumPy here.**  A NumPy version (see the references) materialises
a strided view per window offset and compares whole arrays; the loops below make one
pass over each (image, channel) plane, which is the unit of parallel work: planes are
independent, so ``prange`` over them is race-free and bit-deterministic.
"""

from __future__ import annotations

import numpy as np

from . import pool_2x2, pool_2x2_narrow, reuse
from ._jit import jit, prange

__all__ = [
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "max_pool2d_2x2_winners",
    "max_pool2d_forward_reference", "max_pool2d_backward_reference",
    "avg_pool2d_forward_reference", "avg_pool2d_backward_reference",
]


def _out_shape(x_shape, kernel, stride, padding):
    n, c, h, w = x_shape
    oh = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
    ow = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"pooling window {kernel} does not fit a {h}x{w} image "
                         f"with padding {padding}")
    return n, c, oh, ow


@jit
def _window(i, stride, pad, k, size):
    """Clip the window of output position ``i`` to the real (unpadded) input: [lo, hi)."""
    lo = i * stride - pad
    hi = lo + k
    return max(lo, 0), min(hi, size)


# ------------------------------------------------------------------------ max pool

@jit(parallel=True)
def _max_forward(x, kh, kw, sh, sw, ph, pw, oh, ow):
    n, c, h, w = x.shape
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    for p in prange(n * c):
        b, ch = divmod(np.int64(p), c)
        src = x[b, ch]
        dst = y[b, ch]
        for i in range(oh):
            h0, h1 = _window(i, sh, ph, kh, h)
            for j in range(ow):
                w0, w1 = _window(j, sw, pw, kw, w)
                m = -np.inf
                for r in range(h0, h1):
                    for s in range(w0, w1):
                        v = src[r, s]
                        if v > m or v != v:  # "v != v" is NaN: NaN wins, as in PyTorch
                            m = v
                            if v != v:
                                break
                dst[i, j] = m
    return y


@jit(parallel=True)
def _max_backward(gy, x, y, kh, kw, sh, sw, ph, pw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    gx = np.empty_like(x)
    for p in prange(n * c):
        b, ch = divmod(np.int64(p), c)
        src = x[b, ch]
        top = y[b, ch]
        g = gy[b, ch]
        dst = gx[b, ch]
        dst[:] = 0
        for i in range(oh):
            h0, h1 = _window(i, sh, ph, kh, h)
            for j in range(ow):
                w0, w1 = _window(j, sw, pw, kw, w)
                m = top[i, j]
                found = False
                for r in range(h0, h1):
                    for s in range(w0, w1):
                        v = src[r, s]
                        if v == m or (v != v and m != m):
                            dst[r, s] += g[i, j]  # += : windows may overlap
                            found = True
                            break
                    if found:
                        break
    return gx


def max_pool2d_2x2_winners(x):
    """``(y, win)``: the 2x2, stride-2 max pool of ``x`` and each window's winner, its
    flat position in ``x`` (``pool_2x2.max_forward_with_winners``, with ``x``'s
    shape checked)."""
    _out_shape(x.shape, (2, 2), (2, 2), (0, 0))
    return pool_2x2.max_forward_with_winners(x)


def _is_2x2(kernel, stride, padding):
    return tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)


def max_pool2d_forward(x, kernel, stride, padding):
    """Max over each window; -inf padding.  Same dtype as ``x``."""
    n, c, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    given = x
    x = np.ascontiguousarray(x)
    if not _is_2x2(kernel, stride, padding):
        return _max_forward(x, kernel[0], kernel[1], stride[0], stride[1],
                            padding[0], padding[1], oh, ow)
    if pool_2x2_narrow.applies(x.shape, x.dtype):  # rows of at most a vector of windows
        return pool_2x2_narrow.max_forward(x)
    if ow <= pool_2x2.WINNERS_MAX_OW and reuse.current_table() is not None:
        # a training run: leave the winners for the backward (module docstring), for
        # this very input and output
        y, win = pool_2x2.max_forward_with_winners(x)
        reuse.offer("max pool winners", (given, y), (), win)
        return y
    return pool_2x2.max_forward(x, oh, ow)


def max_pool2d_backward(gy, x, y, kernel, stride, padding, relu=False):
    """Gradient w.r.t. ``x``: each ``gy`` goes to the first ``x == y`` of its window.

    When the forward that made ``y`` from this same ``x`` left its winners in the run
    scope (2x2 windows, short rows: module docstring), they say where each ``gy``
    goes and ``x`` is not read again.

    ``relu=True`` when ``x`` is a relu's output and the relu's backward is fused in
    (``minigrad/fusion.py``): the gradient then reaches the relu's input only through
    windows whose max is positive, so those with ``y <= 0`` pass nothing on."""
    _out_shape(x.shape, kernel, stride, padding)
    two_by_two = _is_2x2(kernel, stride, padding)
    narrow = two_by_two and pool_2x2_narrow.applies(x.shape, x.dtype)  # (finds the winners again)
    # (keyed by the very arrays the forward took and gave: winners of another x or y
    # would point at the wrong pixels)
    win = reuse.claim("max pool winners", (x, y), ()) if two_by_two and not narrow else None
    gy, x, y = (np.ascontiguousarray(a, dtype=x.dtype) for a in (gy, x, y))
    if narrow:
        return pool_2x2_narrow.max_backward(gy, x, y, relu)
    if win is not None:
        return pool_2x2.max_backward_to_winners(gy, y, win, x.shape, x.dtype, relu)
    if two_by_two:  # (its loops apply relu inline)
        return pool_2x2.max_backward(gy, x, y, relu)
    if relu:
        gy = np.where(y > 0, gy, 0).astype(x.dtype, copy=False)
    return _max_backward(gy, x, y, kernel[0], kernel[1], stride[0], stride[1],
                         padding[0], padding[1])


# ------------------------------------------------------------------------ avg pool

@jit(parallel=True)
def _avg_forward(x, kh, kw, sh, sw, ph, pw, oh, ow):
    n, c, h, w = x.shape
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    scale = 1.0 / (kh * kw)
    for p in prange(n * c):
        b, ch = divmod(np.int64(p), c)
        src = x[b, ch]
        dst = y[b, ch]
        for i in range(oh):
            h0, h1 = _window(i, sh, ph, kh, h)
            for j in range(ow):
                w0, w1 = _window(j, sw, pw, kw, w)
                total = 0.0
                for r in range(h0, h1):
                    for s in range(w0, w1):
                        total += src[r, s]
                dst[i, j] = total * scale
    return y


@jit(parallel=True)
def _avg_backward(gy, h, w, kh, kw, sh, sw, ph, pw):
    n, c, oh, ow = gy.shape
    gx = np.empty((n, c, h, w), dtype=gy.dtype)
    scale = 1.0 / (kh * kw)
    for p in prange(n * c):
        b, ch = divmod(np.int64(p), c)
        g = gy[b, ch]
        dst = gx[b, ch]
        dst[:] = 0
        for i in range(oh):
            h0, h1 = _window(i, sh, ph, kh, h)
            for j in range(ow):
                w0, w1 = _window(j, sw, pw, kw, w)
                share = g[i, j] * scale
                for r in range(h0, h1):
                    for s in range(w0, w1):
                        dst[r, s] += share
    return gx


def avg_pool2d_forward(x, kernel, stride, padding):
    """Mean over each window, zero padding counted in the divisor."""
    n, c, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    return _avg_forward(np.ascontiguousarray(x), kernel[0], kernel[1], stride[0],
                        stride[1], padding[0], padding[1], oh, ow)


def avg_pool2d_backward(gy, x_shape, kernel, stride, padding):
    """Each output gradient is shared equally (1/(KH*KW)) by its window's pixels."""
    _out_shape(tuple(x_shape), kernel, stride, padding)
    return _avg_backward(np.ascontiguousarray(gy), x_shape[2], x_shape[3], kernel[0],
                         kernel[1], stride[0], stride[1], padding[0], padding[1])


# -------------------------------------------------------------- NumPy reference twins

def _shifted(xp, ki, kj, stride, oh, ow):
    """View of padded ``xp`` seen by window offset (ki, kj): ``xp[n, c, i*sh+ki, j*sw+kj]``."""
    sh, sw = stride
    return xp[:, :, ki: ki + sh * (oh - 1) + 1: sh, kj: kj + sw * (ow - 1) + 1: sw]


def _offsets(kernel):
    """Window offsets in row-major order (the order that decides max-pool ties)."""
    return [(ki, kj) for ki in range(kernel[0]) for kj in range(kernel[1])]


def _pad(x, padding, value):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def max_pool2d_forward_reference(x, kernel, stride, padding):
    """Plain NumPy: the elementwise max over the KH*KW shifted views of the padded x."""
    _, _, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    xp = _pad(x, padding, -np.inf)
    views = [_shifted(xp, ki, kj, stride, oh, ow) for ki, kj in _offsets(kernel)]
    return np.maximum.reduce(views).astype(x.dtype, copy=False)  # NaN propagates


def max_pool2d_backward_reference(gy, x, y, kernel, stride, padding):
    """Plain NumPy: visit window offsets in row-major order; an output whose gradient
    has not been routed yet sends it to this offset if ``x == y`` there."""
    n, c, h, w = x.shape
    _, _, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    ph, pw = padding
    xp = _pad(x, padding, -np.inf)
    gxp = np.zeros(xp.shape, dtype=x.dtype)
    pending = np.ones(y.shape, dtype=bool)
    for ki, kj in _offsets(kernel):
        v = _shifted(xp, ki, kj, stride, oh, ow)
        hit = pending & ((v == y) | (np.isnan(v) & np.isnan(y)))
        _shifted(gxp, ki, kj, stride, oh, ow)[...] += np.where(hit, gy, 0)
        pending &= ~hit
    return gxp[:, :, ph: ph + h, pw: pw + w].copy()


def avg_pool2d_forward_reference(x, kernel, stride, padding):
    """Plain NumPy: the sum of the shifted views of the zero-padded x, / (KH*KW)."""
    _, _, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    xp = _pad(x, padding, 0)
    total = sum(_shifted(xp, ki, kj, stride, oh, ow) for ki, kj in _offsets(kernel))
    return (total / (kernel[0] * kernel[1])).astype(x.dtype, copy=False)


def avg_pool2d_backward_reference(gy, x_shape, kernel, stride, padding):
    """Plain NumPy: add gy/(KH*KW) to every shifted view of a zero-padded gradient."""
    n, c, h, w = x_shape
    _, _, oh, ow = _out_shape(tuple(x_shape), kernel, stride, padding)
    ph, pw = padding
    gxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    share = gy / (kernel[0] * kernel[1])
    for ki, kj in _offsets(kernel):
        _shifted(gxp, ki, kj, stride, oh, ow)[...] += share
    return gxp[:, :, ph: ph + h, pw: pw + w].copy()
