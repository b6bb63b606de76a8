"""2x2 max pooling of narrow planes -- rows of at most one vector of windows (8x8,
16x16 and 32x32 float32 images) -- with whole vectors and no per-row loop.

Why a kernel of its own: the loops of ``pool_2x2.py`` walk one row of windows at a
time, and LLVM turns a row into SIMD code only when it is long.  An 8x8 image has rows
of 4 windows: the loops ran one window at a time (64x16x8x8 forward + backward: 26 us
with the winners' two passes, 51 us compare-based).  Here the input is read as one
flat row of numbers and every step works on whole vectors (``simd.py``):

1. **across**: the larger of each pair of neighbours.  In memory, a pair never
   straddles two rows (the width is even), so this needs no row structure at all:
   ``unzip_even`` / ``unzip_odd`` split two vectors into left and right neighbours.
2. **down**: the larger of each row of pair-maxima and the row below it.  A vector of
   pair-maxima holds whole rows (their length ``OW`` divides the lanes), alternately
   top and bottom rows of windows (the height is even, so planes do not break the
   alternation): ``unzip_even`` / ``unzip_odd`` with groups of ``OW`` lanes split them.

Four input vectors give one vector of outputs.  The winner rule is the general loop's,
the first maximum in row-major order: ties go left, then up, and a NaN beats any
number (so the first NaN wins and the output is NaN, as in PyTorch).

The backward finds the winners again from ``x`` the same way -- cheaper than
storing them, because it needs no second array and no zeroing pass -- and runs the
two steps in reverse, with ``zip_low`` / ``zip_high``: each output's gradient goes
down (to the top or bottom row of its window, zero to the other), then across (to
the left or right pixel).  Every pixel of ``gx`` is written once, whole vectors at a
time.

Measured, 64x16x8x8 float32, one thread (medians, same run): forward 17 -> 4.7 us
(against the winners' forward), backward 9.3 -> 6.7 us; both through
``max_pool2d_forward/backward`` in a run scope 31 -> 15 us.  64x16x32x32 on two
threads: the backward 151 -> 98 us, the forward as fast as the vectorised row loops.
Compiled for AVX2 only, where a vector is two halves, 31 -> 26 us: still ahead.

Leftover rows (fewer than a vector of outputs at the end) go to ``pool_2x2.py``'s row
loops, which this module's rule matches bit for bit (a NaN window gives NumPy's NaN
in both, whatever NaN the input had).
"""

from __future__ import annotations

import numpy as np

from . import pool_2x2, simd
from ._jit import jit, prange

__all__ = ["applies", "max_forward", "max_backward"]


def applies(shape, dtype) -> bool:
    """Can this module pool an (N, C, H, W) input of ``dtype``, 2x2 windows, stride 2?
    Even height and width (every pixel in a window, so the flat layout alternates top
    and bottom rows of windows), and a row of windows ``OW = W/2`` that divides a
    vector's lanes (1, 2, 4, 8 or 16 for float32)."""
    if np.dtype(dtype) not in (np.float32, np.float64) or len(shape) != 4:
        return False
    h, w = shape[2], shape[3]
    ow = w // 2
    return h % 2 == 0 and w % 2 == 0 and ow > 0 and simd.lanes(dtype) % ow == 0


@jit(inline="always")
def _across(v0, v1):
    """The larger of each pair of neighbours in ``v0 ++ v1`` (ties: left, a NaN beats a
    number) and which side won (True: right)."""
    left, right = simd.unzip_even(v0, v1, 1), simd.unzip_odd(v0, v1, 1)
    go_right = (right > left) | ((right != right) & (left == left))
    return simd.select(go_right, right, left), go_right


@jit(inline="always")
def _rows_apart(p0, p1, ow):
    """Top and bottom rows of windows from two vectors of pair-maxima (rows of ``ow``):
    the even and odd groups of ``ow`` lanes.  (The group size must be a constant in the
    compiled code: one branch per possible width.)"""
    if ow == 1:
        return simd.unzip_even(p0, p1, 1), simd.unzip_odd(p0, p1, 1)
    if ow == 2:
        return simd.unzip_even(p0, p1, 2), simd.unzip_odd(p0, p1, 2)
    if ow == 4:
        return simd.unzip_even(p0, p1, 4), simd.unzip_odd(p0, p1, 4)
    if ow == 8:
        return simd.unzip_even(p0, p1, 8), simd.unzip_odd(p0, p1, 8)
    return p0, p1  # ow == lanes: each vector is one whole row


@jit(inline="always")
def _rows_together(top, bottom, ow):
    """The inverse of :func:`_rows_apart`: rows of ``top`` and ``bottom`` in turn, as two
    vectors."""
    if ow == 1:
        return simd.zip_low(top, bottom, 1), simd.zip_high(top, bottom, 1)
    if ow == 2:
        return simd.zip_low(top, bottom, 2), simd.zip_high(top, bottom, 2)
    if ow == 4:
        return simd.zip_low(top, bottom, 4), simd.zip_high(top, bottom, 4)
    if ow == 8:
        return simd.zip_low(top, bottom, 8), simd.zip_high(top, bottom, 8)
    return top, bottom  # ow == lanes


@jit(inline="always")
def _windows(v0, v1, v2, v3, ow, nan):
    """The outputs of four input vectors (one vector), and the choices that made them:
    right in the first and second half of the input, and down.  ``nan``: a vector of
    NaNs.  (Vectors in and out,
    no arrays: passing an array to a helper costs reference counting in the loop.)"""
    p0, right0 = _across(v0, v1)
    p1, right1 = _across(v2, v3)
    top, bottom = _rows_apart(p0, p1, ow)
    down = (bottom > top) | ((bottom != bottom) & (top == top))
    best = simd.select(down, bottom, top)
    # a NaN window gives NumPy's NaN, as the row loops do (not the input's NaN, whose
    # sign and payload may differ)
    best = simd.select(best != best, nan, best)
    return best, right0, right1, down


@jit
def _forward_blocks(x, y, ow, lo, hi):
    n = simd.lanes_of(x)
    nan = simd.splat(x.dtype.type(np.nan))
    for b in range(lo, hi):
        s = 4 * n * b
        y_block = _windows(simd.load(x, 0, s), simd.load(x, 0, s + n),
                           simd.load(x, 0, s + 2 * n), simd.load(x, 0, s + 3 * n), ow, nan)[0]
        simd.store(y, 0, n * b, y_block)


@jit
def _backward_blocks(x, gy, gx, ow, relu, lo, hi):
    n = simd.lanes_of(x)
    nan = simd.splat(x.dtype.type(np.nan))
    none = simd.zeros(gx)
    for b in range(lo, hi):
        s = 4 * n * b
        y_block, right0, right1, down = _windows(simd.load(x, 0, s), simd.load(x, 0, s + n),
                                                 simd.load(x, 0, s + 2 * n), simd.load(x, 0, s + 3 * n), ow, nan)
        g = simd.load(gy, 0, n * b)
        if relu:  # fused relu backward: windows whose max is not positive pass nothing
            g = simd.select(y_block > none, g, none)
        # down: to the bottom or the top row of each window ...
        g0, g1 = _rows_together(simd.select(down, none, g), simd.select(down, g, none), ow)
        # ... then across: to the right or the left pixel of each pair
        for k in range(2):
            gk, right = (g0, right0) if k == 0 else (g1, right1)
            left_g, right_g = simd.select(right, none, gk), simd.select(right, gk, none)
            simd.store(gx, 0, s + 2 * k * n, simd.zip_low(left_g, right_g, 1))
            simd.store(gx, 0, s + (2 * k + 1) * n, simd.zip_high(left_g, right_g, 1))


_CHUNKS = pool_2x2._CHUNKS  # (the same fixed split as the row loops)


@jit(parallel=True)
def _forward_parallel(x, y, ow, blocks):
    for k in prange(_CHUNKS):  # independent blocks: race-free, deterministic
        _forward_blocks(x, y, ow, blocks * k // _CHUNKS, blocks * (k + 1) // _CHUNKS)


@jit(parallel=True)
def _backward_parallel(x, gy, gx, ow, relu, blocks):
    for k in prange(_CHUNKS):
        _backward_blocks(x, gy, gx, ow, relu, blocks * k // _CHUNKS, blocks * (k + 1) // _CHUNKS)


def _flat(a):
    """A C-contiguous array as one row (``simd.load`` reads rows of 2-D arrays)."""
    return a.reshape(1, a.size)


def max_forward(x):
    """The 2x2, stride-2 max pool of a C-contiguous ``x`` for which :func:`applies`."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    y = np.empty((n, c, oh, ow), x.dtype)
    blocks = y.size // simd.lanes(x.dtype)
    if x.size >= pool_2x2._PARALLEL_MIN:
        _forward_parallel(_flat(x), _flat(y), ow, blocks)
    else:
        _forward_blocks(_flat(x), _flat(y), ow, 0, blocks)
    first_row_left = blocks * simd.lanes(x.dtype) // ow
    if first_row_left < n * c * oh:
        pool_2x2._max_2x2_rows(x.ravel(), y.ravel(), h, w, oh, ow, first_row_left, n * c * oh)
    return y


def max_backward(gy, x, y, relu):
    """The gradient w.r.t. ``x`` (``gy``, ``x``, ``y`` C-contiguous, one dtype), the winners
    found again from ``x``; ``y`` is read only for leftover rows."""
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    gx = np.empty_like(x)
    blocks = y.size // simd.lanes(x.dtype)
    if x.size >= pool_2x2._PARALLEL_MIN:
        _backward_parallel(_flat(x), _flat(gy), _flat(gx), ow, relu, blocks)
    else:
        _backward_blocks(_flat(x), _flat(gy), _flat(gx), ow, relu, 0, blocks)
    first_row_left = blocks * simd.lanes(x.dtype) // ow
    if first_row_left < n * c * oh:
        pool_2x2._max_2x2_grad_rows(x.ravel(), y.ravel(), gy.ravel(), gx.ravel(), h, w, oh, ow,
                               first_row_left, n * c * oh, relu)
    return gx
