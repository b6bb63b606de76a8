"""Max pooling's common case -- 2x2 windows, stride 2, no padding -- in kernels of its
own, several times faster than the general loops of ``pool.py``, which dispatches here.

Two ways to route the gradient, with the same result (``pool.py``'s docstring):

* **compare-based** (:func:`max_forward`, :func:`max_backward`): the backward finds
  each window's winner again by comparing ``x`` with ``y``;
* **with winners** (:func:`max_forward_with_winners`, :func:`max_backward_to_winners`):
  the forward writes down each window's winning position and the backward scatters
  to it -- used inside a training run, on rows of at most :data:`WINNERS_MAX_OW`
  windows, where it is faster.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prange
from ._jit import nonneg as _u  # an index Numba may treat as non-negative: SIMD

__all__ = ["max_forward", "max_backward", "max_forward_with_winners", "max_backward_to_winners",
           "WINNERS_MAX_OW"]


# ----------------------------------------------------------- compare-based kernels
# How these are faster than the general loops:
#
# * **Outputs allocated by NumPy, passed in.**  When this was written, an array created
#   *inside* a Numba function got fresh pages from the OS on every call (for a 7 MB
#   gradient ~70 page faults, each zero-filling memory: 2-3x the cost of the pooling),
#   while NumPy's allocator reused freed memory.  Since the kernels switch on the
#   malloc setting of ``minigrad/memory.py`` both allocate alike; the kernels below
#   still only fill the arrays they are given.
# * **Branch-free window logic.**  The winner of a window is chosen with comparisons
#   and selects (``a if cond else b``) rather than ``if``/``break``, so LLVM can turn
#   the loop over a row into SIMD code.  Indices are made unsigned (see ``_u``) for
#   the same reason.
# * **One flat loop over all window rows of all planes**, on raveled arrays.  The
#   unit of work is one row of windows (two input rows -> one output row); planes
#   are only an index computation away.  A loop over planes that sliced each
#   (image, channel) plane first spent more on building those views than on the
#   maxima for small planes (64x16x8x8: 150 instead of 120 us).
# * **One thread for inputs below ``_PARALLEL_MIN`` elements**: waking a sleeping
#   thread pool costs more than it saves there (fwd+bwd, 1 vs 2 threads: 64x6x24x24
#   0.165 vs 0.23 ms; 64x64x13x13 0.78 vs 0.49 ms; 64x32x30x30 1.5 vs 0.85 ms).


@jit
def _max_2x2_rows(x, y, h, w, oh, ow, lo, hi):
    """Window rows ``lo..hi`` (row q = plane q // OH, output row q % OH).  ``x`` and
    ``y`` are the flat (raveled) input and output, so no per-row array views are
    built.  Same winner rule as the general loop (the first maximum); any NaN in a
    window makes the output NaN, as in PyTorch."""
    p, i = divmod(lo, oh)  # plane and output row of window row q, stepped along below
    for q in range(lo, hi):
        top = p * h * w + 2 * i * w  # first input pixel of this row of windows
        out = q * ow
        i += 1
        if i == oh:
            p, i = p + 1, 0
        for j in range(ow):
            k = top + 2 * j
            a0, a1, b0, b1 = x[_u(k)], x[_u(k + 1)], x[_u(k + w)], x[_u(k + w + 1)]
            m = a0
            m = a1 if a1 > m else m
            m = b0 if b0 > m else m
            m = b1 if b1 > m else m
            nan = (a0 != a0) | (a1 != a1) | (b0 != b0) | (b1 != b1)
            y[_u(out + j)] = np.nan if nan else m


@jit
def _max_2x2_grad_row_with_nans(x, y, gy, gx, w, ow, top, out, relu):
    """One row of windows of :func:`_max_2x2_grad_rows` when some window is NaN: the
    same rule, with the first NaN candidate of a NaN window as its winner.  Rare, so
    written for clarity, window by window."""
    for j in range(ow):
        k = top + 2 * j
        m, g = y[out + j], gy[out + j]
        if relu and not m > 0:  # (fused relu backward: nothing passes)
            g = gy.dtype.type(0)
        taken = False
        for pixel in (k, k + 1, k + w, k + w + 1):
            v = x[pixel]
            wins = not taken and (v == m or (m != m and v != v))
            gx[pixel] = g if wins else 0
            taken = taken or wins


@jit
def _max_2x2_grad_rows(x, y, gy, gx, h, w, oh, ow, lo, hi, relu):
    """Backward of window rows ``lo..hi`` (flat arrays, as above): of the four
    candidates of a window, in row-major order, the first equal to the max takes the
    whole gradient; the others get 0.  Windows do not overlap, so every input pixel
    inside a window is written exactly once; a last odd row or column (in no window)
    gets 0.

    One pass per *input* row, each a loop over the windows that writes that row's two
    pixels of every window (a pair of neighbouring stores, which LLVM vectorises as it
    does the forward's pairs of loads).  The second pass re-reads the top row to know
    whether a top pixel already won.  NaN windows (checked per row first, a cheap
    vectorised test) go to a plain loop, so the common rows need no NaN logic.
    Measured (64x6x24x24): 53 us, against 120 us for a pass computing winner codes
    first, 82 us with the NaN logic inline, 220 us writing all four pixels of a window
    in one loop."""
    zero = gy.dtype.type(0)
    p, i = divmod(lo, oh)
    for q in range(lo, hi):
        top = p * h * w + 2 * i * w  # first input pixel of this row of windows
        out = q * ow
        last_row = i == oh - 1
        i += 1
        if i == oh:
            p, i = p + 1, 0
        nans = 0
        for j in range(ow):
            nans += y[_u(out + j)] != y[_u(out + j)]
        if nans:
            _max_2x2_grad_row_with_nans(x, y, gy, gx, w, ow, top, out, relu)
        else:
            for j in range(ow):  # the top row of the windows: pixels a0 a1
                k = top + 2 * j
                m, g = y[_u(out + j)], gy[_u(out + j)]
                g = g if not relu or m > 0 else zero  # fused relu backward (max_pool2d_backward)
                w0 = x[_u(k)] == m
                w1 = (x[_u(k + 1)] == m) & ~w0
                gx[_u(k)] = g if w0 else zero
                gx[_u(k + 1)] = g if w1 else zero
            for j in range(ow):  # the bottom row: pixels b0 b1, if neither a0 nor a1 won
                k = top + 2 * j
                m, g = y[_u(out + j)], gy[_u(out + j)]
                g = g if not relu or m > 0 else zero
                above = (x[_u(k)] == m) | (x[_u(k + 1)] == m)
                w2 = (x[_u(k + w)] == m) & ~above
                w3 = (x[_u(k + w + 1)] == m) & ~above & ~w2
                gx[_u(k + w)] = g if w2 else zero
                gx[_u(k + w + 1)] = g if w3 else zero
        if 2 * ow < w:
            gx[top + w - 1] = 0
            gx[top + 2 * w - 1] = 0
        if last_row and 2 * oh < h:
            for s in range(w):
                gx[top + 2 * w + s] = 0


_PARALLEL_MIN = 1 << 19  # input elements; below this one thread is faster
_CHUNKS = 16             # parallel work items (fixed, so the split never depends on timing)


@jit(parallel=True)
def _max_forward_2x2_parallel(x, y, h, w, oh, ow, rows):
    for k in prange(_CHUNKS):  # independent row ranges: race-free, deterministic
        _max_2x2_rows(x, y, h, w, oh, ow, rows * k // _CHUNKS, rows * (k + 1) // _CHUNKS)


@jit(parallel=True)
def _max_backward_2x2_parallel(x, y, gy, gx, h, w, oh, ow, rows, relu):
    for k in prange(_CHUNKS):
        _max_2x2_grad_rows(x, y, gy, gx, h, w, oh, ow, rows * k // _CHUNKS, rows * (k + 1) // _CHUNKS, relu)


# ----------------------------------------------------- 2x2 max pool with winners
# The forward records, for each window, the flat position in ``x`` of its winner
# (int32), and the backward is a scatter.  Finding the winner in one pass over each
# window -- four candidates, a position carried along with the running max -- did
# not vectorise (3-4x slower than the loops above), so it takes two simple passes:
#
# 1. down each column pair of a window row: the larger of top and bottom (top on a
#    tie, a NaN over a number), with its position;
# 2. across, flat over all windows: the larger of the two column winners, and on a
#    tie the smaller position -- which is exactly "first in row-major order".
#
# Pass 1 runs over a block of window rows into a small scratch (kept in L1), pass 2
# over the same block's windows as one long loop (what SIMD wants, even when rows
# are only 4 windows long).


WINNERS_MAX_OW = 8
# Winners only for rows of at most 8 windows.  On such short rows the compare-based
# loops above run scalar and the winners win; on longer rows those loops vectorise,
# and the winners' extra passes and arrays cost more than they save.  Measured
# fwd+bwd, 2 threads, with the caches flushed before each call as in a training step
# (winners minus compare-based): 64x16x8x8 (4 windows a row) -0.07 ms, 64x64x13x13
# (6) -0.12; 64x6x24x24 (12) +0.03, 64x32x30x30 (15) +0.04, 64x8x40x40 (20) +0.09.
# In a CIFAR training step the 30x30 pooling took 0.75 ms compare-based, 0.87 ms with
# winners; the 13x13 one 0.47 and 0.44.


@jit
def _max_2x2_winner_rows(x, y, win, h, w, oh, ow, lo, hi):
    """y and win (the flat position in ``x`` of each window's winner) for window rows
    ``lo..hi`` (flat arrays, rows numbered as in :func:`_max_2x2_rows`)."""
    w2 = 2 * ow
    block = max(1, 4096 // w2)  # window rows per block
    best = np.empty(block * w2, x.dtype)  # pass 1: each column's winner ...
    where = np.empty(block * w2, win.dtype)  # ... and its position
    p, i = divmod(lo, oh)
    for first in range(lo, hi, block):
        last = min(first + block, hi)
        for q in range(first, last):
            top = p * h * w + 2 * i * w
            i += 1
            if i == oh:
                p, i = p + 1, 0
            base = (q - first) * w2
            for s in range(w2):
                a, b = x[_u(top + s)], x[_u(top + w + s)]
                down = (b > a) | ((b != b) & (a == a))
                best[_u(base + s)] = b if down else a
                where[_u(base + s)] = top + s + (w if down else 0)
        out = first * ow
        for u in range((last - first) * ow):
            v0, v1 = best[_u(2 * u)], best[_u(2 * u + 1)]
            p0, p1 = where[_u(2 * u)], where[_u(2 * u + 1)]
            tie = (v1 == v0) | ((v1 != v1) & (v0 != v0))
            right = (v1 > v0) | ((v1 != v1) & (v0 == v0)) | (tie & (p1 < p0))
            y[_u(out + u)] = v1 if right else v0
            win[_u(out + u)] = p1 if right else p0


@jit(parallel=True)
def _max_2x2_winners_parallel(x, y, win, h, w, oh, ow, rows):
    for k in prange(_CHUNKS):
        _max_2x2_winner_rows(x, y, win, h, w, oh, ow, rows * k // _CHUNKS, rows * (k + 1) // _CHUNKS)


@jit
def _scatter_to_winners(gy, y, win, gx, lo, hi, relu):
    """gx[win[u]] = gy[u] for windows ``lo..hi`` (``gx`` zero elsewhere, set by the
    caller); with ``relu``, windows whose max is not positive pass nothing."""
    zero = gx.dtype.type(0)
    for u in range(lo, hi):
        g = gy[_u(u)]
        gx[_u(win[_u(u)])] = g if not relu or y[_u(u)] > 0 else zero


@jit(parallel=True)
def _scatter_to_winners_parallel(gy, y, win, gx, relu):
    size, windows = gx.size, win.size
    for k in prange(_CHUNKS):  # zero the gradient, chunk by chunk ...
        gx[size * k // _CHUNKS: size * (k + 1) // _CHUNKS] = 0
    for k in prange(_CHUNKS):  # ... then scatter: each chunk's windows cover distinct pixels
        _scatter_to_winners(gy, y, win, gx, windows * k // _CHUNKS, windows * (k + 1) // _CHUNKS, relu)


def max_forward_with_winners(x):
    """The 2x2, stride-2 max pool of ``x`` and each window's winner: ``(y, win)``,
    ``win`` the flat position in ``x`` (int32; int64 for arrays too big for int32)
    of the pixel whose value ``y`` took -- the first maximum in row-major order."""
    x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    oh, ow = h // 2, w // 2
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    win = np.empty(y.size, np.int32 if x.size < 2**31 else np.int64)
    args = (x.ravel(), y.ravel(), win, h, w, oh, ow)
    if x.size >= _PARALLEL_MIN:
        _max_2x2_winners_parallel(*args, n * c * oh)
    else:
        _max_2x2_winner_rows(*args, 0, n * c * oh)
    return y, win


def max_backward_to_winners(gy, y, win, x_shape, dtype, relu):
    """The gradient w.r.t. ``x`` from the winners ``win`` of the forward that made ``y``."""
    gx = np.empty(x_shape, dtype=dtype)
    if gx.size >= _PARALLEL_MIN:
        _scatter_to_winners_parallel(gy.ravel(), y.ravel(), win, gx.ravel(), relu)
    else:
        gx[...] = 0
        _scatter_to_winners(gy.ravel(), y.ravel(), win, gx.ravel(), 0, win.size, relu)
    return gx


def max_forward(x, oh, ow):
    """The 2x2 max pool of a C-contiguous ``x`` (N, C, H, W) -> (N, C, OH, OW)."""
    n, c, h, w = x.shape
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    args = (x.ravel(), y.ravel(), h, w, oh, ow)
    if x.size >= _PARALLEL_MIN:
        _max_forward_2x2_parallel(*args, n * c * oh)
    else:
        _max_2x2_rows(*args, 0, n * c * oh)
    return y


def max_backward(gy, x, y, relu):
    """The compare-based gradient w.r.t. ``x`` (all three C-contiguous, one dtype)."""
    gx = np.empty_like(x)
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    args = (x.ravel(), y.ravel(), gy.ravel(), gx.ravel(), h, w, oh, ow)
    if x.size >= _PARALLEL_MIN:
        _max_backward_2x2_parallel(*args, n * c * oh, relu)
    else:
        _max_2x2_grad_rows(*args, 0, n * c * oh, relu)
    return gx
