"""Implicit GEMM: a convolution with its output channels in the lanes of a vector.

im2col writes every receptive field out as a column of a matrix and then multiplies
that matrix by the weights.  For a small layer the copying costs as much as the
arithmetic: 64x6x12x12 -> 16 5x5, one chunk of 32 images on one core, took 59 us to
write the 1.2 MB column matrix and 66 us to multiply it (2026-11-24).  "Implicit
GEMM" does the same product without the matrix: where the product would read
``col[t, q]``, read the input number it is a copy of, ``x[q + offset[t]]``.

**Output channels in the lanes.**  One vector holds the same output position for 16
output channels (8 in float64); the weights of one tap ``t = (c, ki, kj)`` for those
channels are one vector too.  A block of 16 output positions (two output rows of 8)
keeps 16 vector sums in registers while the loop walks over the taps; each step loads
the tap's weight vector once and does 16 fused multiply-adds, each with one input
number broadcast to all lanes -- the register-blocked product of ``gemm_simd.py``
with the column matrix's numbers read straight from the image::

    y[n, o:o+16, i, j] += w_t[t, o:o+16] * x[n, c, i + ki, j + kj]      for every tap t

The same chunk: 73 us instead of 59 + 66 (the result turned back into NCHW order on
the way out, through a small scratch array in the L1 cache: 3 of the 73 us).  Two
neighbouring taps of a kernel row share inputs -- position j's input for tap (ki,
kj+1) is position j+1's for tap (ki, kj) -- so the block takes taps in such pairs
where it can: 9 broadcasts for 16 multiply-adds instead of 16 (:func:`_row_two_taps`;
the chunk 73 -> 64 us, the layer's forward in a run 100 -> 87 us).

**The weight gradient** is the same loop turned around: 16 taps' sums (each a vector
over the output channels) stay in registers while the loop walks over the output
positions, each step loading the output gradient at one position for 16 channels
(``gy`` laid out position by position first: im2col's gradient columns, turned
around by ``simd.transpose_into``) and broadcasting 16 input numbers::

    gw_t[t, o:o+16] += x[n, c, i + ki, j + kj] * gy_t[(n, i, j), o:o+16]

59 us for the same chunk, against 66 us of tiled dot products over the column
matrix -- which no longer has to be made.

**The input gradient stays with im2col** (its gradient columns and ``col2im``,
``conv.py``; one compiled call does both gradients, ``conv._implicit_backward``, and
conv.py also runs this module's weight gradient on its own,
``conv._implicit_weight_gradient``: both lay ``gy`` out as im2col does, so the
channel sums offered as the bias gradient have the same bits whichever runs).
Turned around once more, its sums run over the output channels *within* a vector: a
horizontal sum per number (a tree of shuffles for 16 at once), and blocks of 2
channels x 2 rows x 4 columns read taps that fall outside the output gradient near every border (zeros, 40%
of the work on 12x12 images).  Measured on the same chunk: 158 us against im2col's
114 us.

Where it can run: stride 1 (the 16 positions of a block are two runs of 8
neighbours), any padding (the chunk copies its images into padded planes) and
dilation (it only moves the taps), on CPUs with 512-bit vectors
(``simd.WIDE_VECTORS``: with AVX2 the 16 sums need 32 registers where there are 16).
Where it does run is measured (``conv.conv2d_path``): kernels of at least 16 taps,
outputs at least 8 wide, at least 8 output channels, at most 512 numbers per column.
Output channels are padded to a whole vector with zero weights, and taps to 16.
Determinism: every sum runs over its taps (forward) or positions (weight gradient)
in one fixed order, and chunks' weight gradients are added in chunk order.
"""

from __future__ import annotations

import numpy as np

from . import parallel, reuse, simd
from ._jit import jit, prange
from ._jit import nonneg as _nn  # an index Numba may treat as non-negative: SIMD

__all__ = ["implicit_applies", "implicit_forward", "weight_gradient_from_lanes", "image_ranges"]

_COLUMNS = 8   # output positions per row of a block (x 2 rows: 16 vector sums)
_TAPS = 16     # taps per block of the weight gradient (16 vector sums)


def implicit_applies(stride) -> bool:
    """Stride 1 (any padding and dilation), on a CPU with 512-bit vectors."""
    return tuple(stride) == (1, 1) and simd.WIDE_VECTORS


# ------------------------------------------------------------------ the geometry

@jit(nogil=True)
def _tap_offsets(c, kh, kw, hp, wp, dh, dw, count):
    """Where tap ``t = (ci, ki, kj)`` reads, relative to its output position, in an
    image laid out as flat padded planes (``ci * hp*wp + ki*dh * wp + kj*dw``); taps
    past the last (up to ``count``) read offset 0 and are thrown away."""
    off = np.zeros(count, np.int64)
    t = 0
    for ci in range(c):
        for ki in range(kh):
            for kj in range(kw):
                off[t] = ci * hp * wp + ki * dh * wp + kj * dw
                t += 1
    return off


@jit(nogil=True)
def _pad_images(x, xp, ph, pw):
    """Images ``x`` (n, C, H, W) into ``xp`` (n, C*Hp*Wp + slack) as flat padded
    planes; the padding and the slack at the end are zeros."""
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    xp[:] = 0
    for b in range(n):
        for ci in range(c):
            for i in range(h):
                row = ci * hp * wp + (i + ph) * wp + pw
                for j in range(w):
                    xp[b, _nn(row + j)] = x[b, ci, i, j]


def flat_images(x, start, stop, padding, ow, forward):
    """``(xp, filled)``: images ``start:stop`` of ``x`` as flat padded planes (see
    :func:`_pad_images`).  ``x`` itself, reshaped, when nothing needs padding and each
    row of a block stays inside its image (``ow >= 8``).  Else a new buffer for the
    chunk to fill -- which the ``forward`` leaves in the run scope for the weight
    gradient (``reuse.offer``) -- or, for the weight gradient, the one the forward of
    this run filled (``filled``; ``reuse.claim``)."""
    part = x[start:stop]
    n, c, h, w = part.shape
    ph, pw = padding
    if ph == pw == 0 and ow >= _COLUMNS:
        return part.reshape(n, -1), True
    params = (ph, pw, start, stop)
    if not forward:
        kept = reuse.claim("implicit input", (x,), params)
        if kept is not None:
            return kept, True
    xp = np.empty((n, c * (h + 2 * ph) * (w + 2 * pw) + _COLUMNS), x.dtype)
    if forward:
        reuse.offer("implicit input", (x,), params, xp)
    return xp, False


# ------------------------------------------------------------------ the forward

@jit(nogil=True, fastmath={"contract"}, inline="always")
def _row_tap(xb, p, w, a0, a1, a2, a3, a4, a5, a6, a7):
    """One tap (weights ``w``) for 8 neighbouring positions, whose inputs start at
    ``xb[p]``: 8 broadcasts, 8 fused multiply-adds."""
    return (simd.fma(simd.splat(xb[p]), w, a0), simd.fma(simd.splat(xb[p + 1]), w, a1),
            simd.fma(simd.splat(xb[p + 2]), w, a2), simd.fma(simd.splat(xb[p + 3]), w, a3),
            simd.fma(simd.splat(xb[p + 4]), w, a4), simd.fma(simd.splat(xb[p + 5]), w, a5),
            simd.fma(simd.splat(xb[p + 6]), w, a6), simd.fma(simd.splat(xb[p + 7]), w, a7))


@jit(nogil=True, fastmath={"contract"}, inline="always")
def _row_two_taps(xb, p, w, w_next, a0, a1, a2, a3, a4, a5, a6, a7):
    """Two neighbouring taps of a kernel row (``w``, then ``w_next`` one column to
    the right) for 8 neighbouring positions: position j's input for the second tap is
    position j+1's for the first, so 9 broadcasts serve 16 fused multiply-adds.
    Each sum adds the first tap's term, then the second's."""
    x = simd.splat(xb[p])
    a0 = simd.fma(x, w, a0)
    x = simd.splat(xb[p + 1])
    a0, a1 = simd.fma(x, w_next, a0), simd.fma(x, w, a1)
    x = simd.splat(xb[p + 2])
    a1, a2 = simd.fma(x, w_next, a1), simd.fma(x, w, a2)
    x = simd.splat(xb[p + 3])
    a2, a3 = simd.fma(x, w_next, a2), simd.fma(x, w, a3)
    x = simd.splat(xb[p + 4])
    a3, a4 = simd.fma(x, w_next, a3), simd.fma(x, w, a4)
    x = simd.splat(xb[p + 5])
    a4, a5 = simd.fma(x, w_next, a4), simd.fma(x, w, a5)
    x = simd.splat(xb[p + 6])
    a5, a6 = simd.fma(x, w_next, a5), simd.fma(x, w, a6)
    x = simd.splat(xb[p + 7])
    a6, a7 = simd.fma(x, w_next, a6), simd.fma(x, w, a7)
    a7 = simd.fma(simd.splat(xb[p + 8]), w_next, a7)
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit(nogil=True, fastmath={"contract"}, inline="always")
def _block(xb, wt, off, pairs, singles, r0, r1, v, out):
    """The 16 vector sums of one block: positions ``r0 + p`` and ``r1 + p`` (p < 8:
    two output rows, as flat indices into the padded image ``xb``), output channels
    ``v:v+lanes``; written to rows 0-7 and 8-15 of ``out``.  First the taps ``t`` of
    ``pairs`` together with their right-hand neighbours ``t + 1``
    (:func:`_row_two_taps`), then the taps of ``singles`` (:func:`_tap_order`): every
    sum adds its terms in this one fixed order (not tap by tap)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = simd.zeros(wt)
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = simd.zeros(wt)
    for k in range(pairs.shape[0]):
        t = pairs[k]
        w, w_next = simd.load(wt, t, v), simd.load(wt, t + 1, v)
        p, q = _nn(r0 + off[t]), _nn(r1 + off[t])
        a0, a1, a2, a3, a4, a5, a6, a7 = _row_two_taps(xb, p, w, w_next, a0, a1, a2, a3, a4, a5, a6, a7)
        b0, b1, b2, b3, b4, b5, b6, b7 = _row_two_taps(xb, q, w, w_next, b0, b1, b2, b3, b4, b5, b6, b7)
    for k in range(singles.shape[0]):
        t = singles[k]
        w = simd.load(wt, t, v)
        p, q = _nn(r0 + off[t]), _nn(r1 + off[t])
        a0, a1, a2, a3, a4, a5, a6, a7 = _row_tap(xb, p, w, a0, a1, a2, a3, a4, a5, a6, a7)
        b0, b1, b2, b3, b4, b5, b6, b7 = _row_tap(xb, q, w, b0, b1, b2, b3, b4, b5, b6, b7)
    simd.store(out, 0, 0, a0)
    simd.store(out, 1, 0, a1)
    simd.store(out, 2, 0, a2)
    simd.store(out, 3, 0, a3)
    simd.store(out, 4, 0, a4)
    simd.store(out, 5, 0, a5)
    simd.store(out, 6, 0, a6)
    simd.store(out, 7, 0, a7)
    simd.store(out, 8, 0, b0)
    simd.store(out, 9, 0, b1)
    simd.store(out, 10, 0, b2)
    simd.store(out, 11, 0, b3)
    simd.store(out, 12, 0, b4)
    simd.store(out, 13, 0, b5)
    simd.store(out, 14, 0, b6)
    simd.store(out, 15, 0, b7)


@jit(nogil=True)
def _tap_order(taps, kw, dw):
    """``(pairs, singles)``: the taps ``t`` that go together with ``t + 1`` -- its
    right-hand neighbour in the same kernel row, one input column further when the
    kernel is undilated -- and the taps left over (a row's last tap when KW is odd;
    every tap of a dilated kernel)."""
    rows = taps // kw
    per_row = kw // 2 if dw == 1 else 0
    pairs = np.empty(rows * per_row, np.int64)
    singles = np.empty(taps - 2 * rows * per_row, np.int64)
    np_, ns = 0, 0
    for r in range(rows):
        for k in range(per_row):
            pairs[np_] = r * kw + 2 * k
            np_ += 1
        for t in range(r * kw + 2 * per_row, (r + 1) * kw):
            singles[ns] = t
            ns += 1
    return pairs, singles


@jit(nogil=True)
def _forward_chunk(x, xp, fill, y, wt, bias, has_bias, relu, ph, pw, dh, dw):
    """A chunk's forward in one call: its images padded into ``xp`` (if ``fill``),
    then block by block -- 2 output rows x 8 columns x one vector of output channels
    -- the sums, turned around into ``y`` (n, Cout, OH, OW) with the bias (and relu)."""
    n, c, h, w = x.shape
    cout, oh, ow = y.shape[1], y.shape[2], y.shape[3]
    kh, kw = (h + 2 * ph - oh) // dh + 1, (w + 2 * pw - ow) // dw + 1
    hp, wp = h + 2 * ph, w + 2 * pw
    if fill:
        _pad_images(x, xp, ph, pw)
    lanes = simd.lanes_of(wt)
    off = _tap_offsets(c, kh, kw, hp, wp, dh, dw, c * kh * kw)
    pairs, singles = _tap_order(c * kh * kw, kw, dw)
    sums = np.empty((2 * _COLUMNS, lanes), wt.dtype)
    zero = wt.dtype.type(0)
    cols = min(ow, _COLUMNS)
    for b in range(n):
        xb = xp[b]
        for v in range(0, cout, lanes):
            for i in range(0, oh, 2):
                i1 = min(i + 1, oh - 1)  # (an odd last row is computed twice)
                for j in range(0, ow, _COLUMNS):
                    j0 = max(min(j, ow - _COLUMNS), 0)  # (the last block may overlap the one before)
                    _block(xb, wt, off, pairs, singles, i * wp + j0, i1 * wp + j0, v, sums)
                    for o in range(min(lanes, cout - v)):
                        add = bias[v + o] if has_bias else zero
                        for p in range(cols):
                            s = sums[p, o] + add
                            y[b, v + o, i, j0 + p] = s if not (relu and s <= 0) else zero  # NaN stays NaN
                            s = sums[_COLUMNS + p, o] + add
                            y[b, v + o, i1, j0 + p] = s if not (relu and s <= 0) else zero


@jit(parallel=True)
def _forward_pair(x0, xp0, fill0, y0, x1, xp1, fill1, y1, wt, bias, has_bias, relu, ph, pw, dh, dw):
    """:func:`_forward_chunk` for two chunks at once, on Numba's threads
    (``parallel.run_chunks``)."""
    for k in prange(2):
        if k == 0:
            _forward_chunk(x0, xp0, fill0, y0, wt, bias, has_bias, relu, ph, pw, dh, dw)
        else:
            _forward_chunk(x1, xp1, fill1, y1, wt, bias, has_bias, relu, ph, pw, dh, dw)


def _weights_in_lanes(w):
    """(Cout, C, KH, KW) -> (C*KH*KW, Cout padded to whole vectors): tap by tap, the
    output channels side by side (zeros in the padding)."""
    cout = w.shape[0]
    lanes = simd.lanes(w.dtype)
    wt = np.zeros((w[0].size, cout + (-cout % lanes)), w.dtype)
    wt[:, :cout] = w.reshape(cout, -1).T
    return wt


def image_ranges(x_shape, w_shape, oh, ow):
    """The chunks ``(start, stop)`` of the batch, for every pass of an implicit-GEMM
    conv (conv.py's gradients included): the padded copies the forward leaves are
    keyed by chunk, so all passes must cut the batch alike."""
    n, c = x_shape[:2]
    cout, _, kh, kw = w_shape
    return parallel.chunks(n, cout * c * kh * kw * n * oh * ow)


def implicit_forward(x, w, b, padding, dilation, relu=False):
    """y = conv2d(x, w) + b, stride 1: (N, C, H, W) -> (N, Cout, OH, OW); ``max(y, 0)``
    if ``relu``.  Where the input needs padding (or the output is narrower than a
    block), the padded copy is left in the run scope for the weight gradient
    (:func:`flat_images`)."""
    x = np.ascontiguousarray(x)
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    (ph, pw), (dh, dw) = padding, dilation
    oh, ow = h + 2 * ph - dh * (kh - 1), wd + 2 * pw - dw * (kw - 1)
    w = np.asarray(w, x.dtype)  # (the vector arithmetic wants one dtype)
    has_bias = b is not None
    bias = np.asarray(b, x.dtype) if has_bias else np.zeros(cout, x.dtype)
    y = np.empty((n, cout, oh, ow), x.dtype)
    chunk_args = []
    for start, stop in image_ranges(x.shape, w.shape, oh, ow):
        xp, filled = flat_images(x, start, stop, padding, ow, forward=True)
        chunk_args.append((x[start:stop], xp, not filled, y[start:stop]))
    parallel.run_chunks(_forward_chunk, _forward_pair, chunk_args, _weights_in_lanes(w), bias, has_bias, relu,
                        ph, pw, dh, dw)
    return y


# ------------------------------------------------------------------ the gradients

@jit(nogil=True, fastmath={"contract"}, inline="always")
def _tap_block(xp, gt, off, t, v, oh, ow, wp, out):
    """The weight gradient's sums of taps ``t:t+16`` for output channels
    ``v:v+lanes`` over every output position of the chunk, in order: rows
    ``t..t+15`` of ``out``."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = simd.zeros(gt)
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = simd.zeros(gt)
    o0, o1, o2, o3, o4, o5, o6, o7 = off[t], off[t + 1], off[t + 2], off[t + 3], off[t + 4], off[t + 5], \
        off[t + 6], off[t + 7]
    o8, o9, o10, o11, o12, o13, o14, o15 = off[t + 8], off[t + 9], off[t + 10], off[t + 11], off[t + 12], \
        off[t + 13], off[t + 14], off[t + 15]
    for b in range(xp.shape[0]):
        xb = xp[b]
        for i in range(oh):
            for j in range(ow):
                r = i * wp + j
                g = simd.load(gt, (b * oh + i) * ow + j, v)
                a0 = simd.fma(simd.splat(xb[_nn(r + o0)]), g, a0)
                a1 = simd.fma(simd.splat(xb[_nn(r + o1)]), g, a1)
                a2 = simd.fma(simd.splat(xb[_nn(r + o2)]), g, a2)
                a3 = simd.fma(simd.splat(xb[_nn(r + o3)]), g, a3)
                a4 = simd.fma(simd.splat(xb[_nn(r + o4)]), g, a4)
                a5 = simd.fma(simd.splat(xb[_nn(r + o5)]), g, a5)
                a6 = simd.fma(simd.splat(xb[_nn(r + o6)]), g, a6)
                a7 = simd.fma(simd.splat(xb[_nn(r + o7)]), g, a7)
                b0 = simd.fma(simd.splat(xb[_nn(r + o8)]), g, b0)
                b1 = simd.fma(simd.splat(xb[_nn(r + o9)]), g, b1)
                b2 = simd.fma(simd.splat(xb[_nn(r + o10)]), g, b2)
                b3 = simd.fma(simd.splat(xb[_nn(r + o11)]), g, b3)
                b4 = simd.fma(simd.splat(xb[_nn(r + o12)]), g, b4)
                b5 = simd.fma(simd.splat(xb[_nn(r + o13)]), g, b5)
                b6 = simd.fma(simd.splat(xb[_nn(r + o14)]), g, b6)
                b7 = simd.fma(simd.splat(xb[_nn(r + o15)]), g, b7)
    simd.store(out, t, v, a0)
    simd.store(out, t + 1, v, a1)
    simd.store(out, t + 2, v, a2)
    simd.store(out, t + 3, v, a3)
    simd.store(out, t + 4, v, a4)
    simd.store(out, t + 5, v, a5)
    simd.store(out, t + 6, v, a6)
    simd.store(out, t + 7, v, a7)
    simd.store(out, t + 8, v, b0)
    simd.store(out, t + 9, v, b1)
    simd.store(out, t + 10, v, b2)
    simd.store(out, t + 11, v, b3)
    simd.store(out, t + 12, v, b4)
    simd.store(out, t + 13, v, b5)
    simd.store(out, t + 14, v, b6)
    simd.store(out, t + 15, v, b7)


@jit(nogil=True)
def weight_gradient_from_lanes(x, xp, fill, gt, gw_t, ph, pw, dh, dw, oh, ow):
    """The weight gradient of a chunk whose output gradient is in lanes ``gt``
    already: its images padded into ``xp`` (if ``fill``), then 16 taps at a time
    into ``gw_t`` (taps padded to 16, Cout to whole vectors)."""
    n, c, h, w = x.shape
    kh, kw = (h + 2 * ph - oh) // dh + 1, (w + 2 * pw - ow) // dw + 1
    hp, wp = h + 2 * ph, w + 2 * pw
    if fill:
        _pad_images(x, xp, ph, pw)
    off = _tap_offsets(c, kh, kw, hp, wp, dh, dw, gw_t.shape[0])
    for v in range(0, gt.shape[1], simd.lanes_of(gt)):
        for t in range(0, gw_t.shape[0], _TAPS):
            _tap_block(xp, gt, off, t, v, oh, ow, wp, gw_t)


def lanes_buffer(positions, cout, dtype):
    """Room for the output gradient at ``positions`` positions in lanes (Cout padded
    to whole vectors)."""
    return np.empty((positions, cout + (-cout % simd.lanes(dtype))), dtype)


def gradient_buffers(chunks, w_shape, dtype):
    """Per chunk, room for a weight gradient in lanes: taps padded to 16, output
    channels to whole vectors."""
    cout, c, kh, kw = w_shape
    taps = c * kh * kw
    return [np.empty((taps + (-taps % _TAPS), cout + (-cout % simd.lanes(dtype))), dtype) for _ in range(chunks)]


def weight_gradient(gws, w_shape):
    """The chunks' weight gradients in lanes (:func:`gradient_buffers`), summed in
    chunk order and turned to (Cout, C, KH, KW)."""
    cout, c, kh, kw = w_shape
    gw_t = parallel.sum_in_order([gw_t[:c * kh * kw, :cout] for gw_t in gws])
    return np.ascontiguousarray(gw_t.T).reshape(cout, c, kh, kw)
