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
64x16x8x8 fwd+bwd 57 -> 32 us (2 threads).  Both ways pick the same winner, so the
gradients are the same bits.  (A run whose backward never asks for them -- pooling
straight on the data, with no gradient wanted there -- pays the winners' slower
forward for nothing: 20 instead of 15 us for 64x16x8x8.)

**Why Numba and not NumPy here.**  A NumPy version (see the references) materialises
a strided view per window offset and compares whole arrays; the loops below make one
pass over each (image, channel) plane, which is the unit of parallel work: planes are
independent, so ``prange`` over them is race-free and bit-deterministic.
"""

from __future__ import annotations

import numpy as np

from . import reuse
from ._jit import jit, prange
from ._jit import nonneg as _u  # an index Numba may treat as non-negative: SIMD

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


# The common case -- 2x2 window, stride 2, no padding -- gets its own kernels, several
# times faster than the general loops above.  How:
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


_WINNERS_MAX_OW = 8
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


def max_pool2d_2x2_winners(x):
    """The 2x2, stride-2 max pool of ``x`` and each window's winner: ``(y, win)``,
    ``win`` the flat position in ``x`` (int32; int64 for arrays too big for int32)
    of the pixel whose value ``y`` took -- the first maximum in row-major order."""
    x = np.ascontiguousarray(x)
    n, c, oh, ow = _out_shape(x.shape, (2, 2), (2, 2), (0, 0))
    h, w = x.shape[2], x.shape[3]
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    win = np.empty(y.size, np.int32 if x.size < 2**31 else np.int64)
    args = (x.ravel(), y.ravel(), win, h, w, oh, ow)
    if x.size >= _PARALLEL_MIN:
        _max_2x2_winners_parallel(*args, n * c * oh)
    else:
        _max_2x2_winner_rows(*args, 0, n * c * oh)
    return y, win


def _backward_from_winners(gy, y, win, x_shape, dtype, relu):
    gx = np.empty(x_shape, dtype=dtype)
    if gx.size >= _PARALLEL_MIN:
        _scatter_to_winners_parallel(gy.ravel(), y.ravel(), win, gx.ravel(), relu)
    else:
        gx[...] = 0
        _scatter_to_winners(gy.ravel(), y.ravel(), win, gx.ravel(), 0, win.size, relu)
    return gx


def _is_2x2(kernel, stride, padding):
    return tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)


def max_pool2d_forward(x, kernel, stride, padding):
    """Max over each window; -inf padding.  Same dtype as ``x``."""
    n, c, oh, ow = _out_shape(x.shape, kernel, stride, padding)
    given = x
    x = np.ascontiguousarray(x)
    if (_is_2x2(kernel, stride, padding) and ow <= _WINNERS_MAX_OW
            and reuse.current_table() is not None):
        # a training run: leave the winners for the backward (module docstring), for
        # this very input and output
        y, win = max_pool2d_2x2_winners(x)
        reuse.offer("max pool winners", (given, y), (), win)
        return y
    if _is_2x2(kernel, stride, padding):
        y = np.empty((n, c, oh, ow), dtype=x.dtype)
        args = (x.ravel(), y.ravel(), x.shape[2], x.shape[3], oh, ow)
        if x.size >= _PARALLEL_MIN:
            _max_forward_2x2_parallel(*args, n * c * oh)
        else:
            _max_2x2_rows(*args, 0, n * c * oh)
        return y
    return _max_forward(x, kernel[0], kernel[1], stride[0], stride[1],
                        padding[0], padding[1], oh, ow)


def max_pool2d_backward(gy, x, y, kernel, stride, padding, relu=False):
    """Gradient w.r.t. ``x``: each ``gy`` goes to the first ``x == y`` of its window.

    When the forward that made ``y`` from this same ``x`` left its winners in the run
    scope (2x2 windows, short rows: module docstring), they say where each ``gy``
    goes and ``x`` is not read again.

    ``relu=True`` when ``x`` is a relu's output and the relu's backward is fused in
    (``minigrad/fusion.py``): the gradient then reaches the relu's input only through
    windows whose max is positive, so those with ``y <= 0`` pass nothing on."""
    _out_shape(x.shape, kernel, stride, padding)
    # (keyed by the very arrays the forward took and gave: winners of another x or y
    # would point at the wrong pixels)
    win = reuse.claim("max pool winners", (x, y), ()) if _is_2x2(kernel, stride, padding) else None
    gy, x, y = (np.ascontiguousarray(a, dtype=x.dtype) for a in (gy, x, y))
    if win is not None:
        return _backward_from_winners(gy, y, win, x.shape, x.dtype, relu)
    if relu and not _is_2x2(kernel, stride, padding):  # (the 2x2 loops do it inline)
        gy = np.where(y > 0, gy, 0).astype(x.dtype, copy=False)
    if _is_2x2(kernel, stride, padding):
        gx = np.empty_like(x)
        n, c, h, w = x.shape
        oh, ow = y.shape[2], y.shape[3]
        args = (x.ravel(), y.ravel(), gy.ravel(), gx.ravel(), h, w, oh, ow)
        if x.size >= _PARALLEL_MIN:
            _max_backward_2x2_parallel(*args, n * c * oh, relu)
        else:
            _max_2x2_grad_rows(*args, 0, n * c * oh, relu)
        return gx
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
