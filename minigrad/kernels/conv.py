"""2-D convolution (really cross-correlation, as in every DL framework) on NCHW images.

Shapes: ``x`` (N, C, H, W), weights ``w`` (Cout, C, KH, KW), optional bias (Cout,),
output ``y`` (N, Cout, OH, OW) with ``OH = (H + 2*ph - dh*(KH-1) - 1) // sh + 1``.
``stride``, ``padding`` and ``dilation`` are ``(h, w)`` pairs of ints.

Five ways to compute the same sums, chosen per shape (and per pass) by
:func:`conv2d_path`:

``"im2col"`` -- copy every receptive field into a column of a matrix ("image to
  columns"), then one big matrix product does all the multiply-adds, with a
  register-blocked kernel far faster per flop than any plain loop.  The column matrix
  is laid out ``(C*KH*KW, N*OH*OW)`` -- the *whole batch side by side* -- so each of
  the three products below is a single large GEMM instead of N small ones (small
  GEMMs spend most of their time in setup and leave a core idle)::

      forward      Y^T  (Cout, N*P) = W2 (Cout, K)   @ col (K, N*P)
      grad_weight  gW   (Cout, K)   = gY^T (Cout, N*P) @ col^T
      grad_input   dcol (K, N*P)    = W2^T (K, Cout)  @ gY^T (Cout, N*P);  then col2im

  The forward and input-gradient products run on ``gemm_simd.py``'s register-blocked
  kernel (AVX-512 wide; NumPy's BLAS is AVX2 here); the weight gradient, which sums
  over all N*P pixels along the rows of both its operands, on ``gemm_nt.py``'s
  register-tiled dot products.  The rearrangements around the GEMMs (im2col, putting
  Y back in NCHW order with the bias added, gY into (Cout, N*P), col2im) are
  single-threaded Numba loops.  Making them parallel with Numba's ``prange``
  measured *slower and erratic* (1-24 ms for a 1 ms conv: Numba's and OpenBLAS's
  thread pools fought over the 2 cores, see
  ``_jit.py``).  Instead, big convs cut the batch into one chunk of images per core
  and run the whole chain -- im2col, GEMM, layout -- for each chunk on a thread of
  its own, with BLAS on one thread (``parallel.py``); "N" above is then the chunk's.

``"winograd"`` -- for 3x3 kernels with stride 1 and no dilation (most of a CIFAR
  CNN), Winograd's F(2x2, 3x3) in ``winograd.py``: 2.25x fewer multiplies than
  im2col and smaller intermediate matrices.  It pays off once there are enough input
  channels for its 16 GEMMs to dominate its transforms (see :func:`conv2d_path`).

``"winograd4"`` -- Winograd's F(4x4, 3x3) in ``winograd4.py``: 4x fewer multiplies
  than im2col (36 products per 4x4 output tile), with channels in the vector lanes.
  It replaces F(2x2) on CPUs with AVX-512 where its products, counting channels
  padded to whole vectors and tiles sticking out of the image, are at most 0.8 of
  F(2x2)'s, on outputs of 8x8 or more (``winograd4.winograd4_pays_off``).

``"blocked"`` -- for stride 1 and no dilation, the register-blocked direct
  convolution of ``direct.py``: no column matrix, and loops that LLVM turns into
  AVX-512 code (4 output channels x 3 taps per vector of pixels).  It beats im2col +
  BLAS where the GEMMs are thin -- few input or output channels -- as in the first
  layers of a CNN (see :func:`conv2d_path` for the measured rule, pass by pass).

``"implicit"`` -- for the forward and the weight gradient of stride-1 convs that
  would otherwise take im2col, with kernels of at least 16 taps (4x4, 5x5, ...): the same product as
  im2col's, reading each column's numbers straight from the image instead of from a
  column matrix (``implicit.py``: "implicit GEMM", the output channels in the lanes
  of a vector).  The input gradient stays with im2col.

``"direct"`` -- plain nested loops over (image, out channel, kernel offset, pixel),
  the plainest statement of what a conv is.  They need no column matrix, so they
  run when that matrix would be too big to hold; everywhere else the other paths
  measured faster.

Determinism: every parallel loop (``prange``) runs over *independent outputs* (one
image, or one weight entry), and each output sums its terms in a fixed order, so the
bits never depend on thread scheduling.  The matrix-product kernels (``gemm_simd``,
``gemm_nt``, and BLAS where they do not apply) sum in an order fixed by the shape and
thread count, and chunks of images add up in chunk order (``parallel.py``): the
same bits on every run of a program on one machine.  (The thread count, or whether
a kernel runs inside an executor run, can change the last bits.)

The ``*_reference`` twins are the same maths in a few lines of NumPy: one
``einsum`` per kernel offset (kh, kw) over a strided view of the padded input.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit, prange
from ._jit import nonneg as _nn  # an index Numba may treat as non-negative: SIMD
from . import direct, gemm_nt, gemm_simd, implicit, parallel, reuse, simd, winograd, winograd4

__all__ = [
    "conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight", "conv2d_backward", "conv2d_grad_bias",
    "conv2d_path",
    "conv2d_forward_reference", "conv2d_grad_input_reference", "conv2d_grad_weight_reference",
    "conv2d_grad_bias_reference",
]


# --------------------------------------------------------------------------- helpers

def _out_size(size, k, stride, pad, dil):
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _geometry(x_shape, w_shape, stride, padding, dilation):
    """All the integers the loops need, in one tuple (Numba likes flat int args)."""
    n, c, h, w = x_shape
    cout, cin, kh, kw = w_shape
    if c != cin:
        raise ValueError(f"input has {c} channels, weights expect {cin}")
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    oh = _out_size(h, kh, sh, ph, dh)
    ow = _out_size(w, kw, sw, pw, dw)
    if oh < 1 or ow < 1:
        raise ValueError(f"kernel {kh}x{kw} (dilation {dilation}) does not fit a {h}x{w} "
                         f"image with padding {padding}")
    return n, c, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow


def conv2d_path(x_shape, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                op="forward") -> str:
    """Which implementation the conv2d kernel of pass ``op`` ("forward", "grad_input"
    or "grad_weight") uses for this shape: ``"winograd"``, ``"winograd4"``, ``"blocked"``, ``"im2col"``,
    ``"implicit"`` (not for "grad_input") or ``"direct"``.

    Rules, from measurements on a quiet 2-core machine (batch 64, float32, inside a
    run: minigrad's threads, BLAS on one thread; forward / grad_input / grad_weight
    in ms, 2026-11-24):

    * The blocked direct loops first (stride 1, undilated, padding smaller than the
      kernel) where im2col's matrix product would be thin -- at most
      ``_BLOCKED_MAX_K`` numbers per column (C*KH*KW) -- the kernel at least 2 wide
      (1-tap loops store as often as they multiply) and the padded rows at least 3
      times as long as KW-1: the blocked loops compute whole padded rows and drop
      KW-1 columns of each, so a 5x5 kernel on 12-wide rows wastes a third of its
      work.  Measured in a run (fwd+bwd, blocked as chosen before vs im2col):
      6x12x12 -> 16 5x5 0.79 vs 0.71 ms, 3x12x12 -> 16 0.52 vs 0.47, 1x12x12 -> 6
      0.17 vs 0.17; 6x16x16 -> 16 1.26 vs 1.33, 6x20x20 -> 16 1.79 vs 2.40.
      Details below.
    * Winograd, for all three passes, for the other 3x3, stride 1, undilated kernels
      with at least ``_WINOGRAD_MIN_CHANNELS`` input channels: 32x15x15 -> 64 (K =
      288) 1.8 / 2.0 / 2.1, 5.4 in a run, against blocked 1.9 / 2.5 / 1.6, 6.1 in a
      run (the blocked weight gradient alone is faster, but Winograd's reused the
      tiles of its forward and input gradient; its compiled chunks now make them
      again group by group, and the layer is faster still: 2.8-3.1 ms in a run,
      eighth session); 24x12x12 -> 32 (216): 1.8 vs 2.0 in a run.  Thinner, blocked
      wins: 8x8x8 -> 8 (72) 0.22 vs 0.26, 8x16x16 -> 16 0.71 vs 1.09, 16x14x14 -> 32
      (144) 1.86 vs 1.92.  With 3 input channels Winograd's transforms of the big
      output cost more than the GEMMs save (3x32x32 -> 32: 13.4 vs 4.4 ms).
      Among the Winograd shapes, F(4x4, 3x3) (``"winograd4"``) where
      ``winograd4.winograd4_pays_off`` (its docstring has the measurements): 32x15x15
      -> 64, 1.9-2.2 ms in a run against F(2x2)'s 2.5-2.8 (tenth session).
    * The blocked loops, measured against im2col:
      - forward and weight gradient (which reuses the forward's padded input):
        1x28x28 -> 6 5x5 (K = 25) 0.14 / - / 0.16 vs 0.23 / - / 0.47 (im2col);
        3x32x32 -> 32 3x3 (27) 0.56 / - / 0.64 vs 0.82 / - / 1.05; 4x16x16 -> 16 3x3
        (36) 0.16 / - / 0.15 vs 0.30 / - / 0.32; 16x8x8 -> 32 5x5 (400): within
        10% either way; 32x15x15 -> 64 5x5 (800)
        6.8 / - / 6.5 vs 5.6 / - / 5.8 and 1x1 over 64 channels 3.9 / - / 3.0 vs
        2.2 / - / 2.4: im2col;
      - the input gradient also only for kernels up to 3x3 with at least 3 input
        channels (3x32: 0.51 vs 0.90, 4x16: 0.14 vs 0.25): it runs the forward loops
        over the output gradient padded by K-1, and with 5x5 kernels on small images
        or one input channel (padded to 4 output channels) most of that work is
        wasted (1x28: 0.33 vs 0.19, 6x12: 0.43 vs 0.22).
    * im2col everywhere else (its products on ``gemm_simd``/``gemm_nt``; the timings
      above were measured with BLAS doing them: im2col has got faster since, so a
      few borderline shapes may now favour it) -- and for a blocked gradient pass whose input
      (``x`` for the weight gradient, ``w`` for the input gradient) holds an inf or
      NaN: the blocked loops multiply zeros by it, which would give NaN where the
      true gradient is finite or inf.  (``w`` is small and checked first; ``x`` only
      when the blocked weight gradient came out non-finite, which it always does then.)
    * The implicit GEMM instead of im2col for the forward and the weight gradient
      (``implicit.py``), on CPUs with AVX-512, for stride 1, kernels of at least 16
      taps (4x4: im2col copies each input number 16 times or more), outputs at least
      8 wide (a block's row), at least 8 output channels (half a float32 vector) and at
      most ``_IMPLICIT_MAX_K`` numbers per column.  Measured fwd+bwd in a run,
      implicit vs im2col: 6x12x12 -> 16 5x5 0.34-0.35 vs 0.42-0.44 ms, 16x12x12 ->
      32 5x5 (pad 2) 3.2 vs 4.3-4.8, 8x20x20 -> 16 5x5 1.5 vs 2.5-2.6, 16x12x12 -> 10
      5x5 0.65-0.70 vs 1.1-1.2; but 32x15x15 -> 64 3x3 dilated 2 4.2 vs 3.3-3.7, and
      the forward of 32x15x15 -> 64 5x5 (800 numbers per column) 4.3 vs 3.1-4.2;
      outputs 4 wide or one tap lost too.
    * The direct loops when the column matrix would be too big to hold (over
      ``_MAX_COLUMN_BYTES``).  (Winograd's tile matrices and the blocked loops' padded
      copies have the same limit; when only they would be too big, im2col runs.)
    """
    n, c, h, w = x_shape
    cout, cin, kh, kw = w_shape
    oh = max(_out_size(h, kh, stride[0], padding[0], dilation[0]), 0)
    ow = max(_out_size(w, kw, stride[1], padding[1], dilation[1]), 0)
    if (direct.direct_applies(w_shape, stride, padding, dilation) and kw >= 2
            and c * kh * kw <= _BLOCKED_MAX_K and 3 * (kw - 1) < w + 2 * padding[1]
            and direct.buffer_bytes(x_shape, w_shape, padding) <= _MAX_COLUMN_BYTES):
        if op != "grad_input" or (kh <= 3 and kw <= 3 and c >= 3):
            return "blocked"
    if winograd.winograd_applies(w_shape, stride, dilation) and c >= _WINOGRAD_MIN_CHANNELS:
        tile_bytes = 16 * max(c, cout) * n * ((oh + 1) // 2) * ((ow + 1) // 2) * 8
        if tile_bytes <= _MAX_COLUMN_BYTES:
            return "winograd4" if winograd4.winograd4_pays_off(c, cout, oh, ow) else "winograd"
    path = _column_path(n, c, kh, kw, oh, ow)
    if (path == "im2col" and op != "grad_input" and implicit.implicit_applies(stride)
            and ow >= 8 and kh * kw >= 16 and cout >= 8 and c * kh * kw <= _IMPLICIT_MAX_K):
        return "implicit"
    return path


def _column_path(n, c, kh, kw, oh, ow):
    """im2col, or the direct loops when its column matrix would be too big to hold."""
    return "direct" if c * kh * kw * n * oh * ow * 8 > _MAX_COLUMN_BYTES else "im2col"


_BLOCKED_MAX_K = 160
_IMPLICIT_MAX_K = 512
_WINOGRAD_MIN_CHANNELS = 8
_MAX_COLUMN_BYTES = 256 * 2**20


@jit
def _valid_range(out_len, in_len, stride, offset):
    """The output positions j with ``0 <= j*stride + offset < in_len``, as [lo, hi).

    Computing this once per row lets the inner loops run without a bounds test per
    element (so they vectorise); positions outside it read the zero padding.
    """
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = out_len
    last = (in_len - 1 - offset) // stride + 1  # floor division: correct for negatives
    if last < hi:
        hi = last
    if hi < lo:
        hi = lo
    return lo, hi


# ------------------------------------------------------------- im2col + GEMM path

@jit(nogil=True)
def _im2col(x, col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """Fill the column matrix ``col`` (C*KH*KW, N*OH*OW) of the whole batch.

    Row ``(c*KH + ki)*KW + kj`` of ``col`` holds input channel c shifted by kernel
    offset (ki, kj) (matching ``w.reshape(Cout, -1)``), image after image.  The loops
    run in the order of ``col``'s memory -- row, then image, then output row -- so
    the writes stream from left to right.  (Image-by-image order wrote a short piece
    of every row in turn and was 2-3x slower: 1.73 vs 0.64 ms for 64x32x15x15, 3x3.)
    """
    n, cin, h, w = x.shape
    p = oh * ow
    for c in range(cin):
        for ki in range(kh):
            for kj in range(kw):
                dst = col[(c * kh + ki) * kw + kj]
                off_w = kj * dw - pw
                jlo, jhi = _valid_range(ow, w, sw, off_w)
                for b in range(n):
                    img = x[b, c]
                    for i in range(oh):
                        hi = i * sh - ph + ki * dh
                        base = b * p + i * ow
                        if hi < 0 or hi >= h:  # the whole row reads padding
                            jlo_i, jhi_i = 0, 0
                        else:
                            jlo_i, jhi_i = jlo, jhi
                        src = img[hi if 0 <= hi < h else 0]
                        for j in range(jlo_i):
                            dst[_nn(base + j)] = 0
                        for j in range(jlo_i, jhi_i):
                            dst[_nn(base + j)] = src[_nn(j * sw + off_w)]
                        for j in range(jhi_i, ow):
                            dst[_nn(base + j)] = 0


@jit(nogil=True)
def _im2col_unpadded(x, col, kh, kw, dh, dw, oh, ow):
    """:func:`_im2col` for the most common case -- stride 1, no padding: every output
    row is one contiguous copy, with no padding ranges to work out (measured 1.3-2.6x
    faster than the general loops on the benchmark shapes)."""
    n, cin = x.shape[0], x.shape[1]
    p = oh * ow
    for c in range(cin):
        for ki in range(kh):
            for kj in range(kw):
                dst = col[(c * kh + ki) * kw + kj]
                top, left = ki * dh, kj * dw  # where this kernel offset starts reading
                for b in range(n):
                    img = x[b, c]
                    for i in range(oh):
                        src = img[i + top]
                        base = b * p + i * ow
                        for j in range(ow):
                            dst[_nn(base + j)] = src[_nn(j + left)]


@jit(nogil=True)
def _col2im(dcol, gx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """Add the column gradients ``dcol`` into the image gradient ``gx`` (N, C, H, W;
    zeros on entry): the adjoint of :func:`_im2col`, which adds each entry of ``dcol``
    back onto the pixel it was copied from (overlapping fields accumulate).  Rows of
    ``dcol`` are read in memory order, as ``_im2col`` writes them; the sum for each
    pixel runs in a fixed order."""
    n, cin, h, w = gx.shape
    p = oh * ow
    for c in range(cin):
        for ki in range(kh):
            for kj in range(kw):
                src = dcol[(c * kh + ki) * kw + kj]
                off_w = kj * dw - pw
                jlo, jhi = _valid_range(ow, w, sw, off_w)
                for b in range(n):
                    for i in range(oh):
                        hi = i * sh - ph + ki * dh
                        if hi < 0 or hi >= h:
                            continue
                        dst = gx[b, c, hi]
                        base = b * p + i * ow
                        if sw == 1:
                            for j in range(jlo, jhi):
                                dst[_nn(j + off_w)] += src[_nn(base + j)]
                        else:
                            for j in range(jlo, jhi):
                                dst[_nn(j * sw + off_w)] += src[_nn(base + j)]


@jit(nogil=True)
def _columns_to_nchw(yt, bias, has_bias, relu, y):
    """(Cout, N*P) GEMM result -> ``y`` (N, Cout, P) with the bias added on the way
    (and relu applied, when a relu is fused into this conv)."""
    n, cout, p = y.shape
    zero = yt.dtype.type(0)
    for b in range(n):
        for o in range(cout):
            add = bias[o] if has_bias else zero
            for q in range(p):
                v = yt[o, _nn(b * p + q)] + add
                y[b, o, q] = v if not (relu and v <= 0) else zero  # NaN stays NaN


# The channel sums below add float32 numbers into float64 accumulators; ``reassoc``
# lets LLVM split each sum over SIMD lanes (the order is fixed by the compiled code, so
# the bits are the same on every run).
@jit(fastmath={"reassoc"}, nogil=True)
def _nchw_to_columns(gy, out, sums):
    """(N, Cout, P) -> ``out`` (Cout, N*P): the gradient laid out like the GEMM output.
    On the way, ``sums[o]`` += the sum of channel o: the bias gradient, for free."""
    n, cout, p = gy.shape
    for b in range(n):
        for o in range(cout):
            acc = 0.0
            for q in range(p):
                v = gy[b, o, q]
                out[o, _nn(b * p + q)] = v
                acc += float(v)  # (float: also float64 when NUMBA_DISABLE_JIT=1)
            sums[o] += acc


@jit(fastmath={"reassoc"}, nogil=True)
def _channel_sums(gy, sums):
    """``sums[o]`` += the sum of channel o of ``gy`` (N, Cout, P)."""
    n, cout, p = gy.shape
    for b in range(n):
        for o in range(cout):
            acc = 0.0
            for q in range(p):
                acc += float(gy[b, o, q])
            sums[o] += acc


# --------------------------------------------------------------------- direct path

@jit
def _direct_forward_image(x, b, w, bias, has_bias, y, sh, sw, ph, pw, dh, dw):
    """y[b, o] = bias[o] + sum over (c, ki, kj) of w[o, c, ki, kj] * shifted x[b, c].

    The innermost loop runs along an output row with one fixed weight, so it is a
    vectorisable ``y_row += wv * x_row[strided]``."""
    cout, cin, kh, kw = w.shape
    h, wd = x.shape[2], x.shape[3]
    oh, ow = y.shape[2], y.shape[3]
    for o in range(cout):
        y[b, o] = bias[o] if has_bias else 0
        for c in range(cin):
            for ki in range(kh):
                for kj in range(kw):
                    wv = w[o, c, ki, kj]
                    off_w = kj * dw - pw
                    jlo, jhi = _valid_range(ow, wd, sw, off_w)
                    for i in range(oh):
                        hi = i * sh - ph + ki * dh
                        if hi < 0 or hi >= h:
                            continue
                        for j in range(jlo, jhi):
                            y[b, o, i, _nn(j)] += wv * x[b, c, hi, _nn(j * sw + off_w)]


@jit(parallel=True)
def _direct_forward(x, w, bias, has_bias, sh, sw, ph, pw, dh, dw, oh, ow):
    n = x.shape[0]
    y = np.empty((n, w.shape[0], oh, ow), dtype=x.dtype)
    for b in prange(n):
        _direct_forward_image(x, b, w, bias, has_bias, y, sh, sw, ph, pw, dh, dw)
    return y


@jit
def _direct_grad_input_image(gy, b, w, gx, sh, sw, ph, pw, dh, dw):
    """Scatter form of the input gradient: every output gradient gy[b, o, i, j] flows
    back to each input pixel it was computed from, times the same weight."""
    cout, cin, kh, kw = w.shape
    h, wd = gx.shape[2], gx.shape[3]
    oh, ow = gy.shape[2], gy.shape[3]
    gx[b] = 0
    for o in range(cout):
        for c in range(cin):
            for ki in range(kh):
                for kj in range(kw):
                    wv = w[o, c, ki, kj]
                    off_w = kj * dw - pw
                    jlo, jhi = _valid_range(ow, wd, sw, off_w)
                    for i in range(oh):
                        hi = i * sh - ph + ki * dh
                        if hi < 0 or hi >= h:
                            continue
                        for j in range(jlo, jhi):
                            gx[b, c, hi, _nn(j * sw + off_w)] += wv * gy[b, o, i, _nn(j)]


@jit(parallel=True)
def _direct_grad_input(gy, w, h, wd, sh, sw, ph, pw, dh, dw):
    n = gy.shape[0]
    gx = np.empty((n, w.shape[1], h, wd), dtype=gy.dtype)
    for b in prange(n):
        _direct_grad_input_image(gy, b, w, gx, sh, sw, ph, pw, dh, dw)
    return gx


@jit(fastmath={"reassoc", "contract"})
def _direct_grad_weight_entry(gy, x, o, c, ki, kj, sh, sw, ph, pw, dh, dw):
    """One weight gradient: the sum over images and output pixels of gy[n, o, i, j]
    times the input pixel that weight touched.

    "reassoc" lets LLVM keep several partial sums in a SIMD register instead of one
    long serial chain; the summation order is fixed by the compiled code, so the
    result is still the same bits on every run."""
    n, _, oh, ow = gy.shape
    h, wd = x.shape[2], x.shape[3]
    off_w = kj * dw - pw
    jlo, jhi = _valid_range(ow, wd, sw, off_w)
    total = 0.0
    for b in range(n):
        for i in range(oh):
            hi = i * sh - ph + ki * dh
            if hi < 0 or hi >= h:
                continue
            for j in range(jlo, jhi):
                total += gy[b, o, i, _nn(j)] * x[b, c, hi, _nn(j * sw + off_w)]
    return total


@jit(parallel=True)
def _direct_grad_weight(gy, x, kh, kw, sh, sw, ph, pw, dh, dw):
    cout, cin = gy.shape[1], x.shape[1]
    gw = np.empty((cout, cin, kh, kw), dtype=gy.dtype)
    for e in prange(cout * cin * kh * kw):  # one independent weight entry per task
        # (prange's index may be unsigned; make it a signed int so that the integer
        # divisions below stay integers instead of being promoted to float)
        o, rest = divmod(np.int64(e), cin * kh * kw)
        c, k = divmod(rest, kh * kw)
        ki, kj = divmod(k, kw)
        gw[o, c, ki, kj] = _direct_grad_weight_entry(gy, x, o, c, ki, kj, sh, sw, ph, pw, dh, dw)
    return gw


# ------------------------------------------------------------------ public kernels

@jit(nogil=True)
def _fill_columns(x, col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """im2col of the images ``x`` into ``col``: the unpadded stride-1 loops where they apply."""
    if sh == 1 and sw == 1 and ph == 0 and pw == 0:
        _im2col_unpadded(x, col, kh, kw, dh, dw, oh, ow)
    else:
        _im2col(x, col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


def _column_buffer(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """``(col, filled)``: the column matrix of images ``start:stop`` of ``x`` that the
    forward pass made earlier in this run (``filled``; the weight gradient reuses it,
    see ``reuse.py``), or else a new, empty one for the caller to fill."""
    new = []

    def allocate():
        new.append(True)
        return np.empty((x.shape[1] * kh * kw, (stop - start) * oh * ow), dtype=x.dtype)
    col = reuse.remember("im2col", (x,), (kh, kw, sh, sw, ph, pw, dh, dw, start, stop), allocate)
    return col, not new


def _columns(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """im2col of images ``start:stop`` of ``x``, filled (:func:`_column_buffer`)."""
    col, filled = _column_buffer(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    if not filled:
        _fill_columns(x[start:stop], col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    return col


# One compiled call per chunk.  A chunk's steps -- rearrange, multiply, rearrange --
# are separate Numba functions, and between two of them the thread takes Python's
# GIL back.  With two threads each running a chunk, one of them often finds the other
# holding it, falls asleep, and is woken 20-30 us later: the helper's chunk of the
# 6x12x12 -> 16 5x5 backward took 257 us against the caller's 193.  So where every
# product of a chunk runs on the register kernels (compiled code; BLAS is called
# from Python), the whole chunk is one call that holds no GIL from start to end:
# fwd+bwd 0.52 -> 0.47 ms for that layer.  Two such chunks then run at once as the
# two rounds of a ``prange`` loop on Numba's OpenMP threads (the ``_pair`` functions,
# ``parallel.run_chunks``), which start a round within a microsecond of being asked,
# where handing a chunk to minigrad's own helper thread took 10-40 us.
# (gemm_simd.all_compiled says where every product is compiled code.)


@jit(nogil=True)
def _forward_chunk(x, col, fill, yt, y, w2, bias, has_bias, relu, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """A chunk's forward in one call: im2col of images ``x`` (unless this run made it
    already), the product ``yt = w2 @ col``, and ``yt`` laid out into ``y`` with the bias."""
    if fill:
        _fill_columns(x, col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    gemm_simd._product(w2, col, yt)
    _columns_to_nchw(yt, bias, has_bias, relu, y)


@jit(parallel=True)
def _forward_pair(x0, col0, fill0, yt0, y0, x1, col1, fill1, yt1, y1, w2, bias, has_bias, relu, kh, kw, sh, sw, ph,
                  pw, dh, dw, oh, ow):
    """:func:`_forward_chunk` for two chunks at once, on Numba's threads
    (``parallel.run_chunks``)."""
    for k in prange(2):
        if k == 0:
            _forward_chunk(x0, col0, fill0, yt0, y0, w2, bias, has_bias, relu, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        else:
            _forward_chunk(x1, col1, fill1, yt1, y1, w2, bias, has_bias, relu, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _input_gradient_chunk(gy, gcol, sums, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """A chunk's input gradient in one call: ``gy`` into columns ``gcol`` (and its
    channel sums), ``dcol = w2_t @ gcol`` scattered into ``gx`` (zeros on entry)."""
    _nchw_to_columns(gy, gcol, sums)
    _input_gradient_from_columns(gcol, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _input_gradient_from_columns(gcol, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """``dcol = w2_t @ gcol`` scattered into ``gx`` (zeros on entry)."""
    gemm_simd._product(w2_t, gcol, dcol)
    _col2im(dcol, gx, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(parallel=True)
def _input_gradient_pair(gy0, gcol0, sums0, dcol0, gx0, gy1, gcol1, sums1, dcol1, gx1, w2_t, kh, kw, sh, sw, ph, pw,
                         dh, dw, oh, ow):
    """:func:`_input_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _input_gradient_chunk(gy0, gcol0, sums0, dcol0, gx0, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        else:
            _input_gradient_chunk(gy1, gcol1, sums1, dcol1, gx1, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _weight_gradient_chunk(x, col, fill, gy, gcol, sums, gw, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """A chunk's weight gradient in one call: im2col of images ``x`` (unless this run
    made it already), ``gy`` into columns (and its channel sums), and ``gw += gcol @
    col.T`` on gemm_nt's tiled dots (``gw`` padded as gemm_nt.matmul_nt pads it)."""
    if fill:
        _fill_columns(x, col, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    _nchw_to_columns(gy, gcol, sums)
    gemm_nt._dot_tiles(gcol, col, gw, gemm_nt._K_BLOCK)


@jit(parallel=True)
def _weight_gradient_pair(x0, col0, fill0, gy0, gcol0, sums0, gw0, x1, col1, fill1, gy1, gcol1, sums1, gw1, kh, kw, sh,
                          sw, ph, pw, dh, dw, oh, ow):
    """:func:`_weight_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _weight_gradient_chunk(x0, col0, fill0, gy0, gcol0, sums0, gw0, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        else:
            _weight_gradient_chunk(x1, col1, fill1, gy1, gcol1, sums1, gw1, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _backward_chunk(gy, col, gcol, sums, dcol, gx, gw, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """A chunk's two gradients in one call: :func:`_input_gradient_chunk`, then ``gw
    += gcol @ col.T`` on gemm_nt's tiled dots (``gw`` padded as gemm_nt.matmul_nt pads
    it) while ``gcol`` is still in the cache."""
    _input_gradient_chunk(gy, gcol, sums, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    gemm_nt._dot_tiles(gcol, col, gw, gemm_nt._K_BLOCK)


@jit(parallel=True)
def _backward_pair(gy0, col0, gcol0, sums0, dcol0, gx0, gw0, gy1, col1, gcol1, sums1, dcol1, gx1, gw1, w2_t, kh, kw, sh,
                   sw, ph, pw, dh, dw, oh, ow):
    """:func:`_backward_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _backward_chunk(gy0, col0, gcol0, sums0, dcol0, gx0, gw0, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        else:
            _backward_chunk(gy1, col1, gcol1, sums1, dcol1, gx1, gw1, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _implicit_weight_gradient_chunk(gy, gcol, sums, x, xp, fill, gt, gw_t, ph, pw, dh, dw, oh, ow):
    """A chunk's implicit-GEMM weight gradient (``implicit.py``) in one call: ``gy``
    laid out as im2col lays it (and its channel sums, the same bits as the input
    gradient's), turned into lanes, the taps' sums."""
    _nchw_to_columns(gy, gcol, sums)
    simd.transpose_into(gcol, gt)
    implicit.weight_gradient_from_lanes(x, xp, fill, gt, gw_t, ph, pw, dh, dw, oh, ow)


@jit(parallel=True)
def _implicit_weight_gradient_pair(gy0, gcol0, sums0, x0, xp0, fill0, gt0, gw_t0, gy1, gcol1, sums1, x1, xp1, fill1,
                                   gt1, gw_t1, ph, pw, dh, dw, oh, ow):
    """:func:`_implicit_weight_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _implicit_weight_gradient_chunk(gy0, gcol0, sums0, x0, xp0, fill0, gt0, gw_t0, ph, pw, dh, dw, oh, ow)
        else:
            _implicit_weight_gradient_chunk(gy1, gcol1, sums1, x1, xp1, fill1, gt1, gw_t1, ph, pw, dh, dw, oh, ow)


@jit(nogil=True)
def _implicit_backward_chunk(gy, gcol, sums, x, xp, fill, gt, gw_t, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw,
                             oh, ow):
    """A chunk's two gradients in one call where the weight gradient is an implicit
    GEMM: :func:`_implicit_weight_gradient_chunk`, then im2col's input gradient from
    the gradient columns it made, still in the cache.  ``gx`` comes uninitialised:
    zeroed here, on the chunk's own thread."""
    _implicit_weight_gradient_chunk(gy, gcol, sums, x, xp, fill, gt, gw_t, ph, pw, dh, dw, oh, ow)
    gx[:] = 0
    _input_gradient_from_columns(gcol, dcol, gx, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)


@jit(parallel=True)
def _implicit_backward_pair(gy0, gcol0, sums0, x0, xp0, fill0, gt0, gw_t0, dcol0, gx0, gy1, gcol1, sums1, x1, xp1, fill1,
                            gt1, gw_t1, dcol1, gx1, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    """:func:`_implicit_backward_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _implicit_backward_chunk(gy0, gcol0, sums0, x0, xp0, fill0, gt0, gw_t0, dcol0, gx0, w2_t, kh, kw, sh, sw,
                                     ph, pw, dh, dw, oh, ow)
        else:
            _implicit_backward_chunk(gy1, gcol1, sums1, x1, xp1, fill1, gt1, gw_t1, dcol1, gx1, w2_t, kh, kw, sh, sw,
                                     ph, pw, dh, dw, oh, ow)


def _gradient_columns(gy, start, stop, uses=2):
    """Images ``start:stop`` of ``gy`` (N, Cout, OH, OW) laid out like the GEMM output
    (Cout, n*OH*OW), and the float64 sum of each channel (the bias gradient, made on
    the way): needed by both gradients, computed once per run (``uses=1`` when the
    other gradient takes another path)."""
    def compute():
        part = gy[start:stop]
        cout = gy.shape[1]
        out = np.empty((cout, part.size // cout), dtype=gy.dtype)
        sums = np.zeros(cout, np.float64)
        _nchw_to_columns(part.reshape(part.shape[0], cout, -1), out, sums)
        return out, sums
    return reuse.remember("gradient columns", (gy,), (start, stop), compute, uses)


def conv2d_grad_bias(gy):
    """dL/dbias: ``gy`` (N, Cout, OH, OW) summed per channel, accumulated in float64.

    In a run scope the conv's gradient kernels have usually left these sums already
    (they read all of ``gy`` anyway; see ``reuse.offer``), and this costs nothing."""
    gy = _as(gy, gy.dtype)

    def compute():
        n, cout = gy.shape[:2]
        sums = np.zeros(cout, np.float64)
        _channel_sums(gy.reshape(n, cout, -1), sums)
        return sums.astype(gy.dtype)
    return reuse.remember("bias gradient", (gy,), (), compute, uses=1)


def _as(a, dtype):
    """``a`` as a C-contiguous array of ``dtype``: ``a`` itself when it already is one,
    else a copy made once per run (``reuse.py``), so that the kernels of one run see
    one array (a broadcast gradient, for instance, is needed by both gradients)."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous:
        return a
    if not isinstance(a, np.ndarray):  # a list, a scalar...: nothing to remember it by
        return np.ascontiguousarray(a, dtype=dtype)
    return reuse.remember("contiguous", (a,), np.dtype(dtype).str,
                          lambda: np.ascontiguousarray(a, dtype=dtype))


def _work(g):
    """The multiply-adds of a conv on the im2col path, as ``parallel.chunks`` counts them."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    return cout * c * kh * kw * n * oh * ow


def _image_ranges(g):
    """The chunks ``(start, stop)`` of the batch.  Forward and gradients of one conv must
    cut the batch alike -- their remembered rearrangements are keyed by the chunk -- so
    all of them count the work here, the same way."""
    return parallel.chunks(g[0], _work(g))


# Which im2col passes run as compiled chunks.  gemm_simd.all_compiled holds for every
# chunk when it holds for the narrowest one (its conditions only get easier with width).

def _products_compiled(g, ranges, dtype):
    """Do the forward and the input gradient run as compiled chunks (their product on
    the register kernel)?  Then the input gradient rearranges ``gy`` inside its chunks
    and leaves nothing for the weight gradient to reuse."""
    return gemm_simd.all_compiled(parallel.narrowest(ranges) * g[13] * g[14], dtype)


def _weight_gradient_compiled(g, ranges, dtype):
    """Does the im2col weight gradient (or both gradients at once) run as compiled
    chunks (the products on the register kernel, the sums on gemm_nt's tiled dots)?"""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    columns = parallel.narrowest(ranges) * oh * ow
    return gemm_simd.all_compiled(columns, dtype, dots=((cout, columns), (c * kh * kw, columns)))


def _weight_gradient(gy, sums, gws, g):
    """The compiled chunks' results put together: their channel sums (in chunk order)
    offered as the bias gradient, their padded weight gradients (gemm_nt.padded_result)
    summed in chunk order and cut to (Cout, C, KH, KW)."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return parallel.sum_in_order([gw[:cout, :c * kh * kw] for gw in gws]).reshape(cout, c, kh, kw)


def _check_output_gradient(gy, g, kernel):
    """A clear error for an output gradient of the wrong shape (the compiled loops
    would write past their buffers)."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    if tuple(np.shape(gy)) != (n, cout, oh, ow):
        raise ValueError(f"{kernel}: the output gradient has shape {tuple(np.shape(gy))}, but the conv of an input "
                         f"{(n, c, h, wd)} with weights {(cout, c, kh, kw)} (stride {(sh, sw)}, padding {(ph, pw)}, "
                         f"dilation {(dh, dw)}) has outputs of shape {(n, cout, oh, ow)}")


def _by_images(images, g):
    """``images(start, stop)`` over :func:`_image_ranges` on minigrad's threads
    (``parallel.map_chunks``)."""
    return parallel.map_chunks(images, g[0], _work(g))


def conv2d_forward(x, w, b, stride, padding, dilation, relu=False):
    """y = conv2d(x, w) + b, NCHW; ``b`` may be None.  Output dtype = x's dtype.

    ``relu=True`` returns ``max(y, 0)`` instead, applied as each output is written:
    the executor fuses a relu that follows a conv into this call (``minigrad/fusion.py``),
    which saves a whole pass over the output."""
    g = _geometry(x.shape, w.shape, stride, padding, dilation)
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    dtype = x.dtype
    x, w = _as(x, dtype), _as(w, dtype)
    has_bias = b is not None
    bias = _as(b, dtype) if has_bias else np.zeros(cout, dtype)
    path = conv2d_path(x.shape, w.shape, stride, padding, dilation)
    if path == "winograd":
        return winograd.winograd_forward(x, w, bias if has_bias else None, padding, relu)
    if path == "winograd4":
        return winograd4.winograd4_forward(x, w, bias if has_bias else None, padding, relu)
    if path == "blocked":
        return direct.direct_forward(x, w, bias if has_bias else None, padding, relu)
    if path == "implicit":
        return implicit.implicit_forward(x, w, bias if has_bias else None, padding, dilation, relu)
    if path == "direct":
        y = _direct_forward(x, w, bias, has_bias, sh, sw, ph, pw, dh, dw, oh, ow)
        return np.maximum(y, 0, out=y) if relu else y
    w2 = w.reshape(cout, -1)
    y = np.empty((n, cout, oh * ow), dtype=dtype)
    # im2col: each chunk of images is rearranged, multiplied and laid out on its own
    # thread (parallel.py), as one compiled call where all of it is compiled code
    ranges = _image_ranges(g)
    if _products_compiled(g, ranges, dtype):
        def chunk(start, stop):  # (the arrays of one chunk)
            col, filled = _column_buffer(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
            return x[start:stop], col, not filled, np.empty((cout, col.shape[1]), dtype), y[start:stop]
        parallel.run_chunks(_forward_chunk, _forward_pair, [chunk(*r) for r in ranges],
                            w2, bias, has_bias, relu, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        return y.reshape(n, cout, oh, ow)

    def images(start, stop):
        col = _columns(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        _columns_to_nchw(gemm_simd.matmul(w2, col), bias, has_bias, relu, y[start:stop])

    _by_images(images, g)
    return y.reshape(n, cout, oh, ow)


def conv2d_grad_input(gy, w, x_shape, stride, padding, dilation):
    """dL/dx given dL/dy ``gy``; ``x_shape`` is the forward input's shape."""
    g = _geometry(tuple(x_shape), w.shape, stride, padding, dilation)
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    _check_output_gradient(gy, g, "conv2d_grad_input")
    dtype = gy.dtype
    gy, w = _as(gy, dtype), _as(w, dtype)
    path = conv2d_path(x_shape, w.shape, stride, padding, dilation, op="grad_input")
    if path == "winograd":
        return winograd.winograd_grad_input(gy, w, x_shape, padding)
    if path == "winograd4":
        return winograd4.winograd4_grad_input(gy, w, x_shape, padding)
    if path == "blocked" and not direct.all_finite(w):
        path = _column_path(n, c, kh, kw, oh, ow)  # (padding zeros times an inf weight: NaN)
    if path == "blocked":
        return direct.direct_grad_input(gy, w, x_shape, padding)
    if path == "direct":
        return _direct_grad_input(gy, w, h, wd, sh, sw, ph, pw, dh, dw)
    w2_t = w.reshape(cout, -1).T
    gx = np.zeros((n, c, h, wd), dtype=dtype)
    ranges = _image_ranges(g)
    if _products_compiled(g, ranges, dtype):
        sums = [np.zeros(cout, np.float64) for _ in ranges]
        parts = [(gy[start:stop].reshape(stop - start, cout, -1), np.empty((cout, (stop - start) * oh * ow), dtype),
                  chunk_sums, np.empty((c * kh * kw, (stop - start) * oh * ow), dtype), gx[start:stop])
                 for (start, stop), chunk_sums in zip(ranges, sums)]
        parallel.run_chunks(_input_gradient_chunk, _input_gradient_pair, parts, w2_t, kh, kw, sh, sw, ph, pw, dh, dw,
                            oh, ow)
        reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
        return gx
    # the weight gradient shares the rearranged gy only if it is an im2col one too,
    # in Python chunks (compiled ones rearrange it themselves)
    shared = (conv2d_path(x_shape, w.shape, stride, padding, dilation, op="grad_weight") == "im2col"
              and not _weight_gradient_compiled(g, ranges, dtype))
    uses = 2 if shared else 1

    def images(start, stop):
        gcol, sums = _gradient_columns(gy, start, stop, uses)
        _col2im(gemm_simd.matmul(w2_t, gcol), gx[start:stop], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        return sums

    sums = _by_images(images, g)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return gx


def conv2d_grad_weight(gy, x, w_shape, stride, padding, dilation):
    """dL/dw given dL/dy ``gy`` and the forward input ``x``."""
    g = _geometry(x.shape, tuple(w_shape), stride, padding, dilation)
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    _check_output_gradient(gy, g, "conv2d_grad_weight")
    dtype = gy.dtype
    gy, x = _as(gy, dtype), _as(x, dtype)
    path = conv2d_path(x.shape, w_shape, stride, padding, dilation, op="grad_weight")
    if path == "winograd":
        return winograd.winograd_grad_weight(gy, x, padding)
    if path == "winograd4":
        return winograd4.winograd4_grad_weight(gy, x, padding)
    if path == "implicit":
        return _implicit_weight_gradient(gy, x, w_shape, g)
    if path == "blocked":
        gw = direct.direct_grad_weight(gy, x, padding)
        # zeros of the widened gradient times an inf in x give NaN where the true
        # gradient may be finite: check x -- a pass over it -- only when gw is not finite
        if direct.all_finite(gw) or direct.all_finite(x):
            return gw
        path = _column_path(n, c, kh, kw, oh, ow)
    if path == "direct":
        return _direct_grad_weight(gy, x, kh, kw, sh, sw, ph, pw, dh, dw)
    ranges, depth = _image_ranges(g), c * kh * kw
    if _weight_gradient_compiled(g, ranges, dtype):
        sums = [np.zeros(cout, np.float64) for _ in ranges]
        gws = [gemm_nt.padded_result(cout, depth, dtype) for _ in ranges]
        parts = []
        for (start, stop), chunk_sums, gw in zip(ranges, sums, gws):
            col, filled = _column_buffer(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
            parts.append((x[start:stop], col, not filled, gy[start:stop].reshape(stop - start, cout, -1),
                          np.empty((cout, col.shape[1]), dtype), chunk_sums, gw))
        parallel.run_chunks(_weight_gradient_chunk, _weight_gradient_pair, parts, kh, kw, sh, sw, ph, pw, dh, dw,
                            oh, ow)
        return _weight_gradient(gy, sums, gws, g)

    # the input gradient shares the rearranged gy only if it is an im2col one too, in
    # Python chunks
    shared = (conv2d_path(x.shape, w_shape, stride, padding, dilation, op="grad_input") == "im2col"
              and not _products_compiled(g, ranges, dtype))

    def images(start, stop):
        gcol, sums = _gradient_columns(gy, start, stop, 2 if shared else 1)
        col = _columns(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        return gemm_nt.matmul_nt(gcol, col), sums  # sums over pixels: see gemm_nt.py

    parts = _by_images(images, g)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([sums for _, sums in parts]))
    return parallel.sum_in_order([gw for gw, _ in parts]).reshape(cout, c, kh, kw)


def conv2d_backward(gy, x, w, stride, padding, dilation):
    """``(dL/dx, dL/dw)`` given dL/dy ``gy``: what :func:`conv2d_grad_input` and
    :func:`conv2d_grad_weight` give, the same bits, in one call.

    Why one call: both gradients start from ``gy`` rearranged the same way (im2col's
    gradient columns, Winograd's output-gradient tiles), and each call cuts the batch
    into chunks and hands them to the threads (``parallel.py``).  Together, each
    chunk's rearranged ``gy`` feeds both products while it is still in the caches, and
    the threads take over once instead of twice.  The executor calls this when a plan
    needs both gradients of a conv (``minigrad/fusion.py``).  That includes im2col's
    input gradient beside the implicit GEMM's weight gradient, which starts from the
    same gradient columns (:func:`_implicit_backward`).  Elsewhere -- the blocked and
    direct paths, other pairs of paths (``conv2d_path``), or arrays of different
    dtypes -- it simply runs the two kernels one after the other."""
    g = _geometry(x.shape, w.shape, stride, padding, dilation)
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    _check_output_gradient(gy, g, "conv2d_backward")
    dtype = gy.dtype
    paths = {conv2d_path(x.shape, w.shape, stride, padding, dilation, op=op) for op in ("grad_input", "grad_weight")}
    if paths == {"im2col", "implicit"} and x.dtype == w.dtype == dtype:
        gy, x, w = _as(gy, dtype), _as(x, dtype), _as(w, dtype)
        ranges = implicit.image_ranges(x.shape, w.shape, oh, ow)
        if _products_compiled(g, ranges, dtype):
            return _implicit_backward(gy, x, w, g, ranges)
    if len(paths) > 1 or paths & {"blocked", "direct"} or x.dtype != dtype or w.dtype != dtype:
        return (conv2d_grad_input(gy, w, x.shape, stride, padding, dilation),
                conv2d_grad_weight(gy, x, w.shape, stride, padding, dilation))
    gy, x, w = _as(gy, dtype), _as(x, dtype), _as(w, dtype)
    if paths == {"winograd"}:
        return winograd.winograd_backward(gy, x, w, padding)
    if paths == {"winograd4"}:
        return winograd4.winograd4_backward(gy, x, w, padding)
    w2_t = w.reshape(cout, -1).T
    gx = np.zeros((n, c, h, wd), dtype=dtype)
    depth = c * kh * kw

    ranges = _image_ranges(g)
    if _weight_gradient_compiled(g, ranges, dtype):
        sums = [np.zeros(cout, np.float64) for _ in ranges]
        gws = [gemm_nt.padded_result(cout, depth, dtype) for _ in ranges]
        parts = []
        for (start, stop), chunk_sums, gw in zip(ranges, sums, gws):
            columns = (stop - start) * oh * ow
            parts.append((gy[start:stop].reshape(stop - start, cout, -1),
                          _columns(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow),
                          np.empty((cout, columns), dtype), chunk_sums, np.empty((depth, columns), dtype),
                          gx[start:stop], gw))
        parallel.run_chunks(_backward_chunk, _backward_pair, parts, w2_t, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        return gx, _weight_gradient(gy, sums, gws, g)

    def images(start, stop):
        col = _columns(x, start, stop, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        gcol, sums = _gradient_columns(gy, start, stop, uses=1)
        _col2im(gemm_simd.matmul(w2_t, gcol), gx[start:stop], kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
        return gemm_nt.matmul_nt(gcol, col), sums

    parts = _by_images(images, g)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([sums for _, sums in parts]))
    return gx, parallel.sum_in_order([gw for gw, _ in parts]).reshape(cout, c, kh, kw)


def _implicit_parts(gy, x, w_shape, g, ranges):
    """Per chunk, what an implicit-GEMM weight gradient needs (``gy`` as gradient
    columns, their channel sums, the images and their padded copy, ``gy`` in lanes,
    the gradient in lanes); and the per-chunk sums and gradients, to put together."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    dtype = gy.dtype
    sums = [np.zeros(cout, np.float64) for _ in ranges]
    gws = implicit.gradient_buffers(len(ranges), w_shape, dtype)
    parts = []
    for (start, stop), chunk_sums, gw_t in zip(ranges, sums, gws):
        columns = (stop - start) * oh * ow
        xp, filled = implicit.flat_images(x, start, stop, (ph, pw), ow, forward=False)
        parts.append((gy[start:stop].reshape(stop - start, cout, -1), np.empty((cout, columns), dtype), chunk_sums,
                      x[start:stop], xp, not filled, implicit.lanes_buffer(columns, cout, dtype), gw_t))
    return parts, sums, gws


def _implicit_weight_gradient(gy, x, w_shape, g):
    """:func:`conv2d_grad_weight` on the implicit GEMM: one compiled call per chunk
    (:func:`_implicit_weight_gradient_chunk`), chunks added in order."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    ranges = implicit.image_ranges(x.shape, w_shape, oh, ow)
    parts, sums, gws = _implicit_parts(gy, x, w_shape, g, ranges)
    parallel.run_chunks(_implicit_weight_gradient_chunk, _implicit_weight_gradient_pair, parts, ph, pw, dh, dw, oh, ow)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return implicit.weight_gradient(gws, w_shape)


def _implicit_backward(gy, x, w, g, ranges):
    """:func:`conv2d_backward` where the input gradient is im2col's and the weight
    gradient an implicit GEMM, both compiled: one call per chunk
    (:func:`_implicit_backward_chunk`)."""
    n, c, h, wd, cout, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = g
    gx = np.empty((n, c, h, wd), dtype=gy.dtype)
    parts, sums, gws = _implicit_parts(gy, x, w.shape, g, ranges)
    with_dx = [part + (np.empty((c * kh * kw, (stop - start) * oh * ow), gy.dtype), gx[start:stop])
               for part, (start, stop) in zip(parts, ranges)]
    parallel.run_chunks(_implicit_backward_chunk, _implicit_backward_pair, with_dx, w.reshape(cout, -1).T, kh, kw,
                        sh, sw, ph, pw, dh, dw, oh, ow)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return gx, implicit.weight_gradient(gws, w.shape)


# -------------------------------------------------------------- NumPy reference twins

def _patches(xp, ki, kj, stride, dilation, oh, ow):
    """View of the padded input seen by kernel offset (ki, kj): shape (N, C, OH, OW)."""
    (sh, sw), (dh, dw) = stride, dilation
    return xp[:, :, ki * dh: ki * dh + sh * (oh - 1) + 1: sh,
              kj * dw: kj * dw + sw * (ow - 1) + 1: sw]


def conv2d_forward_reference(x, w, b, stride, padding, dilation):
    """Plain NumPy: for every kernel offset, multiply the shifted input by that slice of
    the weights and accumulate: y[n,o] += sum_c w[o,c,ki,kj] * x_pad[n,c,shifted]."""
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    oh = _out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = _out_size(wd, kw, stride[1], padding[1], dilation[1])
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((n, cout, oh, ow), dtype=x.dtype)
    for ki in range(kh):
        for kj in range(kw):
            y += np.einsum("nchw,oc->nohw", _patches(xp, ki, kj, stride, dilation, oh, ow),
                           w[:, :, ki, kj])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(x.dtype, copy=False)


def conv2d_grad_input_reference(gy, w, x_shape, stride, padding, dilation):
    """Plain NumPy adjoint of the forward: each offset's contribution is added back to
    the (padded) input positions it read, then the padding is cut off."""
    n, c, h, wd = x_shape
    cout, _, kh, kw = w.shape
    oh, ow = gy.shape[2], gy.shape[3]
    ph, pw = padding
    gxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gy.dtype)
    for ki in range(kh):
        for kj in range(kw):
            _patches(gxp, ki, kj, stride, dilation, oh, ow)[...] += np.einsum(
                "nohw,oc->nchw", gy, w[:, :, ki, kj])
    return gxp[:, :, ph: ph + h, pw: pw + wd].copy()


def conv2d_grad_bias_reference(gy):
    return gy.sum(axis=(0, 2, 3))


def conv2d_grad_weight_reference(gy, x, w_shape, stride, padding, dilation):
    """Plain NumPy: gw[o, c, ki, kj] = sum over n, i, j of gy[n,o,i,j] * x_pad[n,c,shifted]."""
    cout, c, kh, kw = w_shape
    oh, ow = gy.shape[2], gy.shape[3]
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    gw = np.zeros(tuple(w_shape), dtype=gy.dtype)
    for ki in range(kh):
        for kj in range(kw):
            gw[:, :, ki, kj] = np.einsum("nohw,nchw->oc", gy,
                                         _patches(xp, ki, kj, stride, dilation, oh, ow))
    return gw
