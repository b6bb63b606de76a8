"""Register-blocked direct convolution: stride 1, no dilation, any padding.

im2col turns a convolution into one big matrix product and lets BLAS do it; the price
is the column matrix (KH*KW copies of the input) and two rearrangements.  On this
machine NumPy's BLAS runs AVX2 kernels, at most 16 multiply-adds per cycle and core,
while the CPU can do 32 with AVX-512 -- which LLVM emits for Numba loops.  This module
computes the convolution straight from the (padded) image, in loops LLVM vectorises.

**Flat rows.**  Keep each padded input plane as one flat row of ``Hp*Wp`` numbers and
compute each output plane as a flat row of width ``Wp`` too (``OH*Wp`` numbers; the
last ``KW-1`` of each image row are garbage, dropped when the image's rows are
cropped into the output).  Then output
position ``q`` reads input position ``q + ki*Wp + kj`` for tap ``(ki, kj)``: one shift
per tap, the same for every ``q``, so the loop over ``q`` is a long run of
contiguous loads -- what SIMD wants::

    y[o, q] += w[o, c, ki, kj] * x[c, q + ki*Wp + kj]      for every q

**Register blocking.**  Written one tap and one output channel at a time, that loop
loads and stores ``y`` for a single multiply-add and runs at the speed of the stores.
So each pass takes **4 output channels and 3 taps** of a kernel row at once: per
vector of ``q`` it loads 3 shifted vectors of ``x`` and 4 of ``y``, does 12 fused
multiply-adds and stores 4 vectors (:func:`_taps`).  Measured on one core: 3x32x32 ->
32 3x3, 32 images: 367 us, about 136 GFLOP/s, against 640 us for im2col + BLAS.
(Numba must know that no index is negative, or it tests each one for Python's
negative indexing and LLVM gives up on SIMD: the same loop ran at 8 GFLOP/s.)
With 8 output channels per pass (:func:`_taps_8`, kernels 3 wide) the FMA units
have 8 independent sums to work on instead of 4: 268-300 us.  From 8 input channels
a block of 4 does all 9 taps of a 3x3 kernel per pass (:func:`_taps_3x3`).

The weight gradient is the same loop turned into sums: 4 channels x 3 taps = 12 dot
products over ``q`` at once (:func:`_dots`), with the chunk's images laid end to end
so that each sum is one long loop (one set of sums per image spent most of its time
starting and finishing them: 32->64 7.5 instead of 1.6 ms).  The input gradient is a forward pass of the output gradient,
padded by ``K-1-pad``, through the flipped, transposed weights.  Output channels are
padded to a multiple of 4 with zero weights.  Which pass runs here for which shape
was measured; the rule is in ``conv.conv2d_path``.
"""

from __future__ import annotations

import numpy as np

from . import parallel, reuse
from ._jit import jit, prange
from ._jit import nonneg as _nn  # an index Numba may treat as non-negative: SIMD

__all__ = ["direct_applies", "direct_forward", "direct_grad_input", "direct_grad_weight"]

_BLOCK = 4   # output channels per pass (4 x 3 taps: 12 accumulating vectors; 8 in _taps_8)
_TAPS = 3    # taps of a kernel row per pass


def direct_applies(w_shape, stride, padding, dilation) -> bool:
    """Stride 1, undilated, and padding smaller than the kernel (for the input
    gradient's pass over the padded output gradient)."""
    kh, kw = w_shape[2:]
    return (tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and padding[0] < kh and padding[1] < kw)


# ------------------------------------------------------------------ the inner loops

@jit(fastmath={"contract"}, nogil=True, inline="always")
def _taps(xc, shift, y, o, a, n_q):
    """y[o + p, q] += sum over t of a[p, t] * xc[shift + t + q], for p < 4, q < n_q.

    ``a`` holds 1-3 taps of one kernel row for 4 output channels; each case below is
    one loop that LLVM turns into 512-bit fused multiply-adds."""
    y0, y1, y2, y3 = y[o], y[o + 1], y[o + 2], y[o + 3]
    taps = a.shape[1]
    if taps == 3:
        a00, a01, a02 = a[0, 0], a[0, 1], a[0, 2]
        a10, a11, a12 = a[1, 0], a[1, 1], a[1, 2]
        a20, a21, a22 = a[2, 0], a[2, 1], a[2, 2]
        a30, a31, a32 = a[3, 0], a[3, 1], a[3, 2]
        for q in range(n_q):
            x0, x1, x2 = xc[_nn(shift + q)], xc[_nn(shift + q + 1)], xc[_nn(shift + q + 2)]
            y0[q] += a00 * x0 + a01 * x1 + a02 * x2
            y1[q] += a10 * x0 + a11 * x1 + a12 * x2
            y2[q] += a20 * x0 + a21 * x1 + a22 * x2
            y3[q] += a30 * x0 + a31 * x1 + a32 * x2
    elif taps == 2:
        a00, a01, a10, a11 = a[0, 0], a[0, 1], a[1, 0], a[1, 1]
        a20, a21, a30, a31 = a[2, 0], a[2, 1], a[3, 0], a[3, 1]
        for q in range(n_q):
            x0, x1 = xc[_nn(shift + q)], xc[_nn(shift + q + 1)]
            y0[q] += a00 * x0 + a01 * x1
            y1[q] += a10 * x0 + a11 * x1
            y2[q] += a20 * x0 + a21 * x1
            y3[q] += a30 * x0 + a31 * x1
    else:
        a00, a10, a20, a30 = a[0, 0], a[1, 0], a[2, 0], a[3, 0]
        for q in range(n_q):
            x0 = xc[_nn(shift + q)]
            y0[q] += a00 * x0
            y1[q] += a10 * x0
            y2[q] += a20 * x0
            y3[q] += a30 * x0


# The loops below spell out every weight and every accumulator on purpose: Numba has no
# vector type, so naming each value is how we ask LLVM to keep it in a register.


@jit(fastmath={"contract"}, nogil=True, inline="always")
def _taps_8(xc, shift, y, o, a, n_q):
    """:func:`_taps` for 8 output channels and 3 taps: 24 multiply-adds per 3 loads
    of ``x``.  Eight independent sums per vector keep both FMA units busy -- with
    four, each sum's chain of 3 dependent FMAs left them waiting (3x32x32 -> 32,
    32 images, one core: 268 instead of 386 us, 185 GFLOP/s)."""
    y0, y1, y2, y3 = y[o], y[o + 1], y[o + 2], y[o + 3]
    y4, y5, y6, y7 = y[o + 4], y[o + 5], y[o + 6], y[o + 7]
    a00, a01, a02 = a[0, 0], a[0, 1], a[0, 2]
    a10, a11, a12 = a[1, 0], a[1, 1], a[1, 2]
    a20, a21, a22 = a[2, 0], a[2, 1], a[2, 2]
    a30, a31, a32 = a[3, 0], a[3, 1], a[3, 2]
    a40, a41, a42 = a[4, 0], a[4, 1], a[4, 2]
    a50, a51, a52 = a[5, 0], a[5, 1], a[5, 2]
    a60, a61, a62 = a[6, 0], a[6, 1], a[6, 2]
    a70, a71, a72 = a[7, 0], a[7, 1], a[7, 2]
    for q in range(n_q):
        x0, x1, x2 = xc[_nn(shift + q)], xc[_nn(shift + q + 1)], xc[_nn(shift + q + 2)]
        y0[q] += a00 * x0 + a01 * x1 + a02 * x2
        y1[q] += a10 * x0 + a11 * x1 + a12 * x2
        y2[q] += a20 * x0 + a21 * x1 + a22 * x2
        y3[q] += a30 * x0 + a31 * x1 + a32 * x2
        y4[q] += a40 * x0 + a41 * x1 + a42 * x2
        y5[q] += a50 * x0 + a51 * x1 + a52 * x2
        y6[q] += a60 * x0 + a61 * x1 + a62 * x2
        y7[q] += a70 * x0 + a71 * x1 + a72 * x2


@jit(fastmath={"contract"}, nogil=True, inline="always")
def _taps_3x3(xc, wp, y, o, a, n_q):
    """:func:`_taps` for a whole 3x3 kernel at once (``a``: (4, 3, 3)): 9 shifted
    loads of ``x`` and 36 multiply-adds per vector of ``y`` loaded and stored, instead
    of 3 and 12 -- a third of the ``y`` traffic.  Faster with many input channels
    (32 -> 64: 1.72 instead of 2.01 ms per 32 images, one core), a little slower with
    3 (0.38 vs 0.37 ms), so :func:`_forward_4` uses it from 8 channels on."""
    y0, y1, y2, y3 = y[o], y[o + 1], y[o + 2], y[o + 3]
    a000, a001, a002 = a[0, 0, 0], a[0, 0, 1], a[0, 0, 2]
    a010, a011, a012 = a[0, 1, 0], a[0, 1, 1], a[0, 1, 2]
    a020, a021, a022 = a[0, 2, 0], a[0, 2, 1], a[0, 2, 2]
    a100, a101, a102 = a[1, 0, 0], a[1, 0, 1], a[1, 0, 2]
    a110, a111, a112 = a[1, 1, 0], a[1, 1, 1], a[1, 1, 2]
    a120, a121, a122 = a[1, 2, 0], a[1, 2, 1], a[1, 2, 2]
    a200, a201, a202 = a[2, 0, 0], a[2, 0, 1], a[2, 0, 2]
    a210, a211, a212 = a[2, 1, 0], a[2, 1, 1], a[2, 1, 2]
    a220, a221, a222 = a[2, 2, 0], a[2, 2, 1], a[2, 2, 2]
    a300, a301, a302 = a[3, 0, 0], a[3, 0, 1], a[3, 0, 2]
    a310, a311, a312 = a[3, 1, 0], a[3, 1, 1], a[3, 1, 2]
    a320, a321, a322 = a[3, 2, 0], a[3, 2, 1], a[3, 2, 2]
    r1, r2 = wp, 2 * wp
    for q in range(n_q):
        x00, x01, x02 = xc[_nn(q)], xc[_nn(q + 1)], xc[_nn(q + 2)]
        x10, x11, x12 = xc[_nn(q + r1)], xc[_nn(q + r1 + 1)], xc[_nn(q + r1 + 2)]
        x20, x21, x22 = xc[_nn(q + r2)], xc[_nn(q + r2 + 1)], xc[_nn(q + r2 + 2)]
        y0[q] += (a000 * x00 + a001 * x01 + a002 * x02 + a010 * x10 + a011 * x11
                  + a012 * x12 + a020 * x20 + a021 * x21 + a022 * x22)
        y1[q] += (a100 * x00 + a101 * x01 + a102 * x02 + a110 * x10 + a111 * x11
                  + a112 * x12 + a120 * x20 + a121 * x21 + a122 * x22)
        y2[q] += (a200 * x00 + a201 * x01 + a202 * x02 + a210 * x10 + a211 * x11
                  + a212 * x12 + a220 * x20 + a221 * x21 + a222 * x22)
        y3[q] += (a300 * x00 + a301 * x01 + a302 * x02 + a310 * x10 + a311 * x11
                  + a312 * x12 + a320 * x20 + a321 * x21 + a322 * x22)


@jit(fastmath={"contract"}, nogil=True, inline="always")
def _taps_3x3_3(xc, wp, y, o, a, n_q):
    """:func:`_taps_3x3` for a last block of 3 output channels (3 of 4 rows of ``a``
    used): the fourth, padding channel would be a quarter of the work for nothing.
    (Three output channels: an RGB image's -- the input gradient of a first conv
    layer, the forward of a last one.)  It repeats :func:`_taps_3x3` minus a row on
    purpose: a channel count tested inside one loop would cost a branch per number,
    and the weights must be named one by one to stay in registers (see above)."""
    y0, y1, y2 = y[o], y[o + 1], y[o + 2]
    a000, a001, a002 = a[0, 0, 0], a[0, 0, 1], a[0, 0, 2]
    a010, a011, a012 = a[0, 1, 0], a[0, 1, 1], a[0, 1, 2]
    a020, a021, a022 = a[0, 2, 0], a[0, 2, 1], a[0, 2, 2]
    a100, a101, a102 = a[1, 0, 0], a[1, 0, 1], a[1, 0, 2]
    a110, a111, a112 = a[1, 1, 0], a[1, 1, 1], a[1, 1, 2]
    a120, a121, a122 = a[1, 2, 0], a[1, 2, 1], a[1, 2, 2]
    a200, a201, a202 = a[2, 0, 0], a[2, 0, 1], a[2, 0, 2]
    a210, a211, a212 = a[2, 1, 0], a[2, 1, 1], a[2, 1, 2]
    a220, a221, a222 = a[2, 2, 0], a[2, 2, 1], a[2, 2, 2]
    r1, r2 = wp, 2 * wp
    for q in range(n_q):
        x00, x01, x02 = xc[_nn(q)], xc[_nn(q + 1)], xc[_nn(q + 2)]
        x10, x11, x12 = xc[_nn(q + r1)], xc[_nn(q + r1 + 1)], xc[_nn(q + r1 + 2)]
        x20, x21, x22 = xc[_nn(q + r2)], xc[_nn(q + r2 + 1)], xc[_nn(q + r2 + 2)]
        y0[q] += (a000 * x00 + a001 * x01 + a002 * x02 + a010 * x10 + a011 * x11
                  + a012 * x12 + a020 * x20 + a021 * x21 + a022 * x22)
        y1[q] += (a100 * x00 + a101 * x01 + a102 * x02 + a110 * x10 + a111 * x11
                  + a112 * x12 + a120 * x20 + a121 * x21 + a122 * x22)
        y2[q] += (a200 * x00 + a201 * x01 + a202 * x02 + a210 * x10 + a211 * x11
                  + a212 * x12 + a220 * x20 + a221 * x21 + a222 * x22)


@jit(fastmath={"contract", "reassoc"}, nogil=True, inline="always")
def _dots(xc, shift, g, o, out, n_q):
    """out[p, t] += sum over q < n_q of g[o + p, q] * xc[shift + t + q], p < 4: the
    weight gradient of 4 output channels and 1-3 taps, 4-12 sums in one loop
    (``reassoc`` lets each sum run in SIMD lanes; the compiled order is fixed, so the
    bits are the same on every run)."""
    g0, g1, g2, g3 = g[o], g[o + 1], g[o + 2], g[o + 3]
    taps = out.shape[1]
    zero = xc.dtype.type(0)  # sums in the data's precision: 16 float32 lanes per vector
    if taps == 3:
        s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = zero
        for q in range(n_q):
            x0, x1, x2 = xc[_nn(shift + q)], xc[_nn(shift + q + 1)], xc[_nn(shift + q + 2)]
            s00 += g0[q] * x0
            s01 += g0[q] * x1
            s02 += g0[q] * x2
            s10 += g1[q] * x0
            s11 += g1[q] * x1
            s12 += g1[q] * x2
            s20 += g2[q] * x0
            s21 += g2[q] * x1
            s22 += g2[q] * x2
            s30 += g3[q] * x0
            s31 += g3[q] * x1
            s32 += g3[q] * x2
        sums = ((s00, s01, s02), (s10, s11, s12), (s20, s21, s22), (s30, s31, s32))
        for p in range(4):
            for t in range(3):
                out[p, t] += sums[p][t]
    else:  # 1 or 2 taps: one tap at a time (4 sums)
        for t in range(taps):
            s0 = s1 = s2 = s3 = zero
            for q in range(n_q):
                xv = xc[_nn(shift + t + q)]
                s0 += g0[q] * xv
                s1 += g1[q] * xv
                s2 += g2[q] * xv
                s3 += g3[q] * xv
            out[0, t] += s0
            out[1, t] += s1
            out[2, t] += s2
            out[3, t] += s3


# ------------------------------------------------------------------ per-image loops

@jit(fastmath={"contract"}, nogil=True)
def _forward_images(x, w, scratch, wp, n_q, bias, has_bias, relu, y):
    """y[b] for every image b of a chunk: the convolution of the flat padded image
    ``x[:, b]`` (x: C, N, Hp*Wp) with ``w`` (Cout4, C, KH, KW) (+ bias, relu).

    Image by image (:func:`_forward_image`): its flat output rows are summed in
    ``scratch`` and cropped into ``y[b]`` at once, while they are still in the L2
    cache.  (With the whole chunk's rows summed first, the crop read them back from
    memory: on one core, 3x32x32 -> 32, the crop took a third as long as the
    convolution itself.)"""
    for b in range(y.shape[0]):
        _forward_image(x, b, w, scratch, wp, n_q, bias, has_bias, relu, y[b])


@jit(fastmath={"contract"}, nogil=True)
def _forward_padding_images(x, ph, pw, w, padded, scratch, wp, n_q, y):
    """:func:`_forward_images` for an input that is not kept padded (the input
    gradient's pass over the output gradient): each image is padded into ``padded``
    (C, 1, Hp*Wp) just before its loops run, so it too is read from the L2 cache.
    (Padding the whole chunk first wrote megabytes -- 32 images of 32x34x34 numbers
    for the 3x32x32 -> 32 layer -- that the loops then read back from memory.)"""
    none = np.zeros(1, y.dtype)
    for b in range(y.shape[0]):
        _pad_image(x, b, ph, pw, padded, 0)
        _forward_image(padded, 0, w, scratch, wp, n_q, none, False, False, y[b])


@jit(fastmath={"contract"}, nogil=True, inline="always")
def _forward_image(x, b, w, scratch, wp, n_q, bias, has_bias, relu, yb):
    """One image: ``yb`` (Cout, OH, OW) from the flat padded image ``x[:, b]``, its
    rows summed in ``scratch`` (Cout4, OH*Wp).  Kernels 3 wide take their output
    channels 8 at a time (:func:`_forward_8`), the rest 4 at a time
    (:func:`_forward_4`).  (Kept as separate loop nests: with both kinds of passes in
    one function LLVM compiled the 8-channel loop to half speed.)  Inlined into its
    two callers: called, the input gradient ran 7-10% slower (3x32x32 -> 32)."""
    cout4, kw = w.shape[0], w.shape[3]
    eights = cout4 - cout4 % 8 if kw == 3 else 0
    scratch[:] = 0
    _forward_8(x, b, w, scratch, wp, n_q, 0, eights)
    _forward_4(x, b, w, scratch, wp, n_q, eights, cout4, yb.shape[0])
    _crop(scratch, bias, has_bias, relu, yb.shape[1], yb.shape[2], wp, yb)


@jit(fastmath={"contract"}, nogil=True)
def _forward_8(x, b, w, y, wp, n_q, start, stop):
    """Output channels ``start:stop`` of image ``b`` 8 at a time (y: Cout4, OH*Wp),
    each kernel row (3 taps) in one pass.  (``x[c, b]`` is indexed here, not sliced
    as ``x[:, b]`` by the caller: a slice's rows would have a stride Numba cannot
    see is 1, and the loops would not vectorise -- 5x slower.)"""
    cin, kh = w.shape[1], w.shape[2]
    for o in range(start, stop, 8):
        for c in range(cin):
            xc = x[c, b]
            for ki in range(kh):
                _taps_8(xc, ki * wp, y, o, w[o:o + 8, c, ki], n_q)


@jit(fastmath={"contract"}, nogil=True)
def _forward_4(x, b, w, y, wp, n_q, start, stop, real):
    """Output channels ``start:stop`` of image ``b`` 4 at a time: a whole 3x3 kernel per
    pass from 8 input channels on (:func:`_taps_3x3`; :func:`_taps_3x3_3` for a last
    block with only 3 of its 4 channels real -- ``real`` output channels in all),
    else kernel rows in passes of up to 3 taps."""
    cin, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    whole_3x3 = kh == 3 and kw == 3 and cin >= 8
    for o in range(start, stop, _BLOCK):
        three = real - o == 3  # a last block of 3 real channels and 1 of padding
        for c in range(cin):
            xc = x[c, b]
            if whole_3x3 and three:
                _taps_3x3_3(xc, wp, y, o, w[o:o + _BLOCK, c], n_q)
                continue
            if whole_3x3:
                _taps_3x3(xc, wp, y, o, w[o:o + _BLOCK, c], n_q)
                continue
            for ki in range(kh):
                for kj in range(0, kw, _TAPS):
                    _taps(xc, ki * wp + kj, y, o, w[o:o + _BLOCK, c, ki, kj:kj + _TAPS], n_q)


@jit(fastmath={"contract", "reassoc"}, nogil=True)
def _grad_weight_chunk(x, g, gw, wp, n_q):
    """gw (Cout4, C, KH, KW) = the weight gradient of a chunk of images, with the
    images laid end to end: ``x`` (C, N*Hp*Wp) flat padded inputs, ``g`` (Cout4,
    N*Hp*Wp) output gradients at the same positions, zero where no output is (the
    garbage columns and the last KH-1 rows of each image).  One long sum per (4
    channels, input channel, kernel row, 3 taps): reading a little into the next
    image is harmless, since ``g`` is zero there."""
    cout4, cin, kh, kw = gw.shape
    for o in range(0, cout4, _BLOCK):
        for c in range(cin):
            xc = x[c]
            for ki in range(kh):
                for kj in range(0, kw, _TAPS):
                    _dots(xc, ki * wp + kj, g, o, gw[o:o + _BLOCK, c, ki, kj:kj + _TAPS], n_q)


# ------------------------------------------------------------------ layouts

@jit(nogil=True)
def _pad_flat(x, ph, pw, out):
    """out[c, b] = plane x[b, c] with ``ph``/``pw`` zeros around, flattened: channel
    by channel, the images of the chunk end to end (C, N, Hp*Wp)."""
    for b in range(x.shape[0]):
        _pad_image(x, b, ph, pw, out, b)


@jit(nogil=True)
def _pad_image(x, b, ph, pw, out, slot):
    """out[c, slot] = plane x[b, c] with ``ph``/``pw`` zeros around, flattened."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    wp = w + 2 * pw
    for ch in range(c):
        dst = out[ch, slot]
        dst[:] = 0
        for i in range(h):
            row = (i + ph) * wp + pw
            for j in range(w):
                dst[_nn(row + j)] = x[b, ch, i, j]


@jit(nogil=True)
def _crop(yf, bias, has_bias, relu, oh, ow, wp, y):
    """y[o, i, j] = yf[o, i*wp + j] (+ bias[o]; max(., 0) if relu), for one image:
    drop the garbage columns and the padding channels."""
    zero = yf.dtype.type(0)
    for o in range(y.shape[0]):
        add = bias[o] if has_bias else zero
        for i in range(oh):
            for j in range(ow):
                v = yf[o, _nn(i * wp + j)] + add
                y[o, i, j] = v if not (relu and v <= 0) else zero  # NaN stays NaN


@jit(fastmath={"reassoc"}, nogil=True)
def _widen(gy, wp, out, sums):
    """out[o, b, i*wp + j] = gy[b, o, i, j]: each image's output gradient at its
    output positions in the padded-plane layout of :func:`_grad_weight_chunk`, zeros
    everywhere else; ``sums[o]`` += the sum of channel o (the bias gradient: each
    image row summed in the data's precision, the rows in float64 -- converting every
    number to float64 made this pass twice as slow)."""
    n, cout, oh, ow = gy.shape
    out[:] = 0
    zero = gy.dtype.type(0)
    for b in range(n):
        for o in range(cout):
            dst, src = out[o, b], gy[b, o]
            acc = 0.0
            for i in range(oh):
                row, part = i * wp, zero
                for j in range(ow):
                    v = src[i, j]
                    dst[_nn(row + j)] = v
                    part += v
                acc += float(part)
            sums[o] += acc


def buffer_bytes(x_shape, w_shape, padding):
    """The biggest scratch arrays the passes make for a batch (at 8 bytes a number):
    the forward's padded input and the weight gradient's widened output gradient
    (Cout padded to 4).  (The input gradient pads one image at a time.)"""
    n, c, h, w = x_shape
    cout = w_shape[0]
    hp, wp = h + 2 * padding[0], w + 2 * padding[1]
    cout4 = cout + (-cout % _BLOCK)
    return 8 * n * max(c, cout4) * hp * wp


@jit(fastmath={"reassoc"})
def _sum_times_zero(a):
    zero = a.dtype.type(0)
    total = zero
    for v in a:
        total += v * zero  # 0 for a finite number, NaN for inf or NaN
    return total


def all_finite(a):
    """No inf and no NaN in ``a`` (one vectorised pass, no temporary array).

    The blocked loops multiply zeros -- padding, the garbage columns of the flat
    rows -- by input numbers; with an inf among them that gives NaN where the true
    gradient has none, so the caller takes another path then."""
    return _sum_times_zero(np.ascontiguousarray(a).ravel()) == 0


def _blocked(w):
    """Weights with the output channels padded to a multiple of 4 (zeros)."""
    cout = w.shape[0]
    extra = -cout % _BLOCK
    if extra == 0:
        return np.ascontiguousarray(w)
    return np.concatenate([w, np.zeros((extra,) + w.shape[1:], w.dtype)])


def _padded_input(x, start, stop, ph, pw):
    """``(xf, filled)``: images ``start:stop`` of ``x`` as flat padded planes, channel
    by channel (C, N, Hp*Wp) -- the array the forward pass of this run made (``filled``;
    the weight gradient reuses it), or else a new, empty one for the caller's chunk to
    fill (:func:`_pad_flat`).  One unpadded channel needs no copy: ``x`` itself, seen
    as (1, N, H*W), filled."""
    part = x[start:stop]
    n, c, h, w = part.shape
    new = []

    def allocate():
        if ph == pw == 0 and c == 1 and part.flags.c_contiguous:
            return part.reshape(1, n, h * w)  # the same numbers in the same order
        new.append(True)
        return np.empty((c, n, (h + 2 * ph) * (w + 2 * pw)), x.dtype)
    xf = reuse.remember("direct padded input", (x,), (ph, pw, start, stop), allocate)
    return xf, not new


def _image_ranges(x_shape, cout, kh, kw, oh, ow):
    """The chunks ``(start, stop)`` of the batch (``parallel.py``); forward and weight
    gradient count the work alike, so their padded inputs match."""
    n, c = x_shape[:2]
    return parallel.chunks(n, cout * c * kh * kw * n * oh * ow)


@jit(fastmath={"contract"}, nogil=True)
def _forward_chunk(x, fill, xf, y, ph, pw, w, wp, n_q, bias, has_bias, relu):
    """A chunk's forward in one call: images ``x`` padded into ``xf`` (unless this run
    did it already), then :func:`_forward_images` into ``y``."""
    if fill:
        _pad_flat(x, ph, pw, xf)
    scratch = np.empty((w.shape[0], y.shape[2] * wp), y.dtype)
    _forward_images(xf, w, scratch, wp, n_q, bias, has_bias, relu, y)


@jit(parallel=True)
def _forward_pair(x0, fill0, xf0, y0, x1, fill1, xf1, y1, ph, pw, w, wp, n_q, bias, has_bias, relu):
    """:func:`_forward_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _forward_chunk(x0, fill0, xf0, y0, ph, pw, w, wp, n_q, bias, has_bias, relu)
        else:
            _forward_chunk(x1, fill1, xf1, y1, ph, pw, w, wp, n_q, bias, has_bias, relu)


@jit(fastmath={"contract"}, nogil=True)
def _input_gradient_chunk(gy, gx, ph, pw, w, wp, n_q):
    """A chunk's input gradient in one call: :func:`_forward_padding_images`."""
    hp = gy.shape[2] + 2 * ph
    padded = np.empty((gy.shape[1], 1, hp * wp), gx.dtype)
    scratch = np.empty((w.shape[0], gx.shape[2] * wp), gx.dtype)
    _forward_padding_images(gy, ph, pw, w, padded, scratch, wp, n_q, gx)


@jit(parallel=True)
def _input_gradient_pair(gy0, gx0, gy1, gx1, ph, pw, w, wp, n_q):
    """:func:`_input_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _input_gradient_chunk(gy0, gx0, ph, pw, w, wp, n_q)
        else:
            _input_gradient_chunk(gy1, gx1, ph, pw, w, wp, n_q)


@jit(fastmath={"contract", "reassoc"}, nogil=True)
def _weight_gradient_chunk(x, fill, xf, gy, g, sums, gw, ph, pw, wp):
    """A chunk's weight gradient in one call: images ``x`` padded into ``xf`` (unless
    the forward of this run did it), the output gradient widened into ``g`` (and its
    channel sums), then :func:`_grad_weight_chunk`'s long sums into ``gw``."""
    if fill:
        _pad_flat(x, ph, pw, xf)
    _widen(gy, wp, g, sums)
    c, m, plane = xf.shape
    cout4, kh, kw = g.shape[0], gw.shape[2], gw.shape[3]
    _grad_weight_chunk(xf.reshape((c, m * plane)), g.reshape((cout4, m * plane)), gw, wp,
                       m * plane - (kh - 1) * wp - (kw - 1))


@jit(parallel=True)
def _weight_gradient_pair(x0, fill0, xf0, gy0, g0, sums0, gw0, x1, fill1, xf1, gy1, g1, sums1, gw1, ph, pw, wp):
    """:func:`_weight_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _weight_gradient_chunk(x0, fill0, xf0, gy0, g0, sums0, gw0, ph, pw, wp)
        else:
            _weight_gradient_chunk(x1, fill1, xf1, gy1, g1, sums1, gw1, ph, pw, wp)


# ------------------------------------------------------------------ public kernels

def _forward(x, w, bias, padding, relu, out_dtype, keep_padded=True):
    """The blocked forward loops over chunks of images; ``keep_padded``: keep the
    padded input for the weight gradient (the forward pass), or pad image by image
    and keep nothing (the input gradient)."""
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    ph, pw = padding
    hp, wp = h + 2 * ph, wd + 2 * pw
    oh, ow = hp - kh + 1, wp - kw + 1
    w4 = _blocked(w)
    has_bias = bias is not None
    b = bias if has_bias else np.zeros(1, out_dtype)
    y = np.empty((n, cout, oh, ow), out_dtype)
    n_q = oh * wp - (kw - 1)

    ranges = _image_ranges(x.shape, cout, kh, kw, oh, ow)
    if not keep_padded:  # (the input gradient: no bias, no relu)
        parallel.run_chunks(_input_gradient_chunk, _input_gradient_pair, [(x[s:e], y[s:e]) for s, e in ranges],
                            ph, pw, w4, wp, n_q)
        return y
    chunk_args = []
    for start, stop in ranges:
        xf, filled = _padded_input(x, start, stop, ph, pw)
        chunk_args.append((x[start:stop], not filled, xf, y[start:stop]))
    parallel.run_chunks(_forward_chunk, _forward_pair, chunk_args, ph, pw, w4, wp, n_q, b, has_bias, relu)
    return y


def direct_forward(x, w, b, padding, relu=False):
    """y = conv2d(x, w) + b, stride 1: (N, C, H, W) -> (N, Cout, OH, OW); ``max(y, 0)``
    if ``relu``.  In a run scope the padded input is kept for the weight gradient."""
    return _forward(x, w, b, padding, relu, x.dtype)


def direct_grad_input(gy, w, x_shape, padding):
    """dL/dx: the output gradient, padded by ``K - 1 - pad``, through the flipped and
    transposed weights -- a forward pass of this same kernel."""
    kh, kw = w.shape[2:]
    ph, pw = padding
    w_t = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return _forward(gy, w_t, None, (kh - 1 - ph, kw - 1 - pw), False, gy.dtype, keep_padded=False)


def direct_grad_weight(gy, x, padding):
    """dL/dw: per chunk of images, 12 long dot products at a time (:func:`_dots`)
    over the images laid end to end; chunks summed in order (float64), then rounded
    to ``gy``'s dtype."""
    n, c, h, wd = x.shape
    cout, oh, ow = gy.shape[1], gy.shape[2], gy.shape[3]
    ph, pw = padding
    kh, kw = h + 2 * ph - oh + 1, wd + 2 * pw - ow + 1
    hp, wp = h + 2 * ph, wd + 2 * pw
    cout4 = cout + (-cout % _BLOCK)

    ranges = _image_ranges(x.shape, cout, kh, kw, oh, ow)
    sums = [np.zeros(cout, np.float64) for _ in ranges]
    gws = [np.zeros((cout4, c, kh, kw), gy.dtype) for _ in ranges]
    chunk_args = []
    for (start, stop), chunk_sums, gw in zip(ranges, sums, gws):
        xf, filled = _padded_input(x, start, stop, ph, pw)
        chunk_args.append((x[start:stop], not filled, xf, gy[start:stop],
                           np.empty((cout4, stop - start, hp * wp), gy.dtype), chunk_sums, gw))
    parallel.run_chunks(_weight_gradient_chunk, _weight_gradient_pair, chunk_args, ph, pw, wp)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return parallel.sum_in_order([gw.astype(np.float64) for gw in gws])[:cout].astype(gy.dtype)
