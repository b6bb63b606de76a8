"""Winograd's F(4x4, 3x3), with channels in the vector lanes: 4x fewer multiplies than a 3x3 conv.

Read ``winograd.py`` first: it explains Winograd's minimal filtering with the smaller
F(2x2, 3x3), whose 4x4 input tile gives a 2x2 output tile in 16 products (2.25x fewer
than the 36 of the direct way).  This file does the same with a 6x6 input tile and a
4x4 output tile: 36 products for 16 outputs instead of 144, 4x fewer.  Same recipe::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          d: 6x6 input, g: 3x3 filter, Y: 4x4

with bigger matrices (Lavin & Gray, 2015), built on the points 0, 1, -1, 2, -2 and
infinity (:data:`B_T`, :data:`G`, :data:`A_T`).  Those points have more weight in
the transforms -- coefficients 4, 5 and 8 instead of 1 -- so float32 rounding grows
a little: a few 1e-6 relative instead of 2e-7.

**Where it beats F(2x2, 3x3).**  The products are most of a Winograd conv's time,
and per output position F(4x4) does 36/16 = 2.25 of them against F(2x2)'s 16/4 = 4.
Less in practice: a tile sticks out of the image where the output size is not a
multiple of 4 (a 13x13 output takes 4x4 tiles of 4x4, 256 positions for 169) --
on a 32x15x15 -> 64 layer, 27% fewer products than F(2x2) does.

**Why channels go in the lanes here.**  ``winograd.py`` puts 16 *tiles* of one image
row in a vector; a 15-pixel row has only four 4x4 tiles, so most lanes would idle.
Here a vector holds 16 channels of one pixel (the layout called NHWC): every
transform runs on full vectors whatever the image size, with no shuffles, and each
tile position's matrix has tiles as rows and channels as columns::

    V[xi] (tiles, C)  @  U[xi]^T (C, Cout)  =  M[xi] (tiles, Cout)      36 products

which is how ``gemm_simd.py``'s register kernel likes them (rows of the right-hand
matrix and of the result read and written a vector at a time).  Images arrive and
leave in NCHW: 16x16 register transposes (``simd.transpose_into``) turn each image
around on the way in and out.  The channels are padded to whole vectors with zeros.

**Backward**, the adjoint steps in reverse order, as in ``winograd.py``::

    dM[xi] = A dY A^T (per tile)     dV[xi] = dM[xi] @ U[xi]     dX = scatter of B dV B^T
    dU[xi]^T = V[xi]^T @ dM[xi]  (summed over tiles)             dW = G^T dU G

The last product sums over tiles; the register kernel reads its left-hand matrix a
number at a time, so it takes V[xi] transposed as a view, with no copy.

Each chunk of images (one per thread) runs in groups of images whose matrices stay in
the core's L2 cache from one step to the next; the input-gradient scatter adds the
overlapping patches tile by tile in a fixed order: the same bits on every run.

**Where the time goes** (64x32x15x15 -> 64, float32, a group of 4 images on one
core): the three sets of 36 products 39 / 44 / 38 us (forward, weight gradient,
input gradient: about 240 GFLOP/s, this CPU's peak for the kernel); the four tile
transforms 5.5 / 10.6 / 12.1 / 6.8 us (input, output, output gradient, input
gradient); turning images around and cutting tiles to the image 6.6 + 10.5 us in
the forward, 13 + 7 in the backward.  Three things made the difference between slow
and fast here, each measured: planes of a tile buffer 4 KiB apart fell in one set of
the L1 cache (:func:`_plane_stride`: the transforms ran 3-5x slower); whole-vector stores
where the last row of a tile could have been cut number by number
(:func:`_store_row`: 47 -> 20 us a group of 8); and the filter transforms as loops
over contiguous planes of filters (``np.einsum`` took 0.6 and 1.4 ms, these 18 and
16 us).  The layer fwd+bwd in a run: 1.9-2.4 ms against F(2x2)'s 2.5-2.8.

Limits: 3x3, stride 1, no dilation (any padding); float32 and float64.  The rule that
picks this file over ``winograd.py`` is :func:`winograd4_pays_off` (called by
``conv.conv2d_path``).
"""

from __future__ import annotations

import numpy as np

from . import gemm_simd, parallel, reuse, simd
from ._jit import jit, prange

__all__ = ["winograd4_pays_off", "winograd4_forward", "winograd4_grad_input", "winograd4_grad_weight", "winograd4_backward",
           "B_T", "G", "A_T"]

# The transform matrices of F(4x4, 3x3) (Lavin & Gray).  The 1-D transforms below spell
# out the products with them (and with their transposes, for the backward pass); these
# arrays are used for the filter transform (small, in NumPy) and by the tests.
B_T = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], dtype=np.float64)


# ------------------------------------------------------------------ the 1-D transforms
# Written for tuples of numbers; they run unchanged on simd vectors (16 channels at once), whose
# +, - and number * vector work lane by lane.  Each 2-D transform is its 1-D transform
# down the columns of a tile, then along the rows of the result.

@jit(inline="always")
def _bt(z):
    """B^T z (input transform, 6 -> 6)."""
    z0, z1, z2, z3, z4, z5 = z
    return (4 * z0 - 5 * z2 + z4,
            (z3 + z4) - 4 * (z1 + z2),
            (z4 - z3) + 4 * (z1 - z2),
            (z4 - z2) + 2 * (z3 - z1),
            (z4 - z2) - 2 * (z3 - z1),
            4 * z1 - 5 * z3 + z5)


@jit(inline="always")
def _b(t):
    """B t (the adjoint of :func:`_bt`, 6 -> 6)."""
    t0, t1, t2, t3, t4, t5 = t
    return (4 * t0,
            4 * (t2 - t1 + t5) + 2 * (t4 - t3),
            -5 * t0 - 4 * (t1 + t2) - (t3 + t4),
            (t1 - t2) + 2 * (t3 - t4) - 5 * t5,
            t0 + t1 + t2 + t3 + t4,
            t5)


@jit(inline="always")
def _at(z):
    """A^T z (output transform, 6 -> 4)."""
    z0, z1, z2, z3, z4, z5 = z
    sum_1, diff_1 = z1 + z2, z1 - z2
    sum_2, diff_2 = z3 + z4, z3 - z4
    return z0 + sum_1 + sum_2, diff_1 + 2 * diff_2, sum_1 + 4 * sum_2, diff_1 + 8 * diff_2 + z5


@jit(inline="always")
def _a(g):
    """A g (the adjoint of :func:`_at`, 4 -> 6)."""
    g0, g1, g2, g3 = g
    even, odd = g0 + g2, g1 + g3
    even_4, odd_4 = g0 + 4 * g2, 2 * g1 + 8 * g3
    return g0, even + odd, even - odd, even_4 + odd_4, even_4 - odd_4, g3


# Loading and storing 4 or 6 vectors of channels: rows first, first + step, ...

@jit(inline="always")
def _load_4(a, first, step, k):
    return (simd.load(a, first, k), simd.load(a, first + step, k), simd.load(a, first + 2 * step, k),
            simd.load(a, first + 3 * step, k))


@jit(inline="always")
def _load_6(a, first, step, k):
    return (simd.load(a, first, k), simd.load(a, first + step, k), simd.load(a, first + 2 * step, k),
            simd.load(a, first + 3 * step, k), simd.load(a, first + 4 * step, k), simd.load(a, first + 5 * step, k))


@jit(inline="always")
def _store_4(a, first, step, k, z):
    simd.store(a, first, k, z[0])
    simd.store(a, first + step, k, z[1])
    simd.store(a, first + 2 * step, k, z[2])
    simd.store(a, first + 3 * step, k, z[3])


@jit(inline="always")
def _store_6(a, first, step, k, z):
    _store_4(a, first, step, k, (z[0], z[1], z[2], z[3]))
    simd.store(a, first + 4 * step, k, z[4])
    simd.store(a, first + 5 * step, k, z[5])


@jit(inline="always")
def _add_6(a, first, k, z):
    """a[first + i, k:k+lanes] += z[i] for i = 0..5 (a row of a patch's gradient)."""
    for i in range(6):
        simd.store(a, first + i, k, simd.load(a, first + i, k) + z[i])


# ------------------------------------------------------------------ the tile transforms
# The buffers are 2-D, one row per pixel or per tile, one column per channel (padded to
# whole vectors):
#   padded input   (images * hp * wp, C)     rows of the zero-padded image, hp x wp pixels
#   V, dV          (36 * cap, C)             plane xi (6 * row + column of the tile) at
#   M, dM          (36 * cap, Cout)          rows xi*cap ... xi*cap + tiles - 1 (_planes)
#   output rows    (images * 4th * 4tw, Cout) the tiles' 4x4 outputs side by side
# Each transform works a tile and a vector of channels at a time: the 1-D transform down
# the tile's columns into a small scratch (in the L1 cache), then along its rows.

@jit(nogil=True)
def _input_transform(xs, images, hp, wp, th, tw, v):
    """V[xi, t] = (B^T d B)[xi] for every tile t = (image, ti, tj): ``d`` is the 6x6
    patch of the padded input at row 4ti, column 4tj."""
    lanes = simd.lanes_of(v)
    cap = v.shape[0] // 36
    s = np.empty((36, lanes), v.dtype)
    for b in range(images):
        for ti in range(th):
            for tj in range(tw):
                t = (b * th + ti) * tw + tj
                corner = (b * hp + 4 * ti) * wp + 4 * tj
                for k in range(0, v.shape[1], lanes):
                    for col in range(6):  # B^T d: down each column, into row r of s
                        _store_6(s, col, 6, 0, _bt(_load_6(xs, corner + col, wp, k)))
                    for row in range(6):  # ... B: along each row, into planes 6*row .. 6*row+5
                        _store_6(v, 6 * row * cap + t, cap, k, _bt(_load_6(s, 6 * row, 1, 0)))


@jit(nogil=True)
def _output_transform(m, images, th, tw, ys):
    """The 4x4 outputs ``A^T M A`` of every tile, into the output rows ``ys``."""
    lanes = simd.lanes_of(m)
    cap = m.shape[0] // 36
    s = np.empty((24, lanes), m.dtype)
    for b in range(images):
        for ti in range(th):
            for tj in range(tw):
                t = (b * th + ti) * tw + tj
                corner = (b * 4 * th + 4 * ti) * 4 * tw + 4 * tj
                for k in range(0, m.shape[1], lanes):
                    for col in range(6):  # A^T M: down each column (6 -> 4)
                        _store_4(s, col, 6, 0, _at(_load_6(m, col * cap + t, 6 * cap, k)))
                    for row in range(4):  # ... A: along each of the 4 rows
                        _store_4(ys, corner + row * 4 * tw, 1, k, _at(_load_6(s, 6 * row, 1, 0)))


@jit(nogil=True)
def _output_gradient_transform(gys, images, th, tw, dm):
    """dM[xi, t] = (A dY A^T)[xi], the adjoint of :func:`_output_transform`: ``dY`` is
    the tile's 4x4 output gradient (zero where the tile sticks out of the image)."""
    lanes = simd.lanes_of(dm)
    cap = dm.shape[0] // 36
    s = np.empty((24, lanes), dm.dtype)
    for b in range(images):
        for ti in range(th):
            for tj in range(tw):
                t = (b * th + ti) * tw + tj
                corner = (b * 4 * th + 4 * ti) * 4 * tw + 4 * tj
                for k in range(0, dm.shape[1], lanes):
                    for col in range(4):  # A dY: down each column (4 -> 6)
                        _store_6(s, col, 4, 0, _a(_load_4(gys, corner + col, 4 * tw, k)))
                    for row in range(6):  # ... A^T: along each of the 6 rows
                        _store_6(dm, 6 * row * cap + t, cap, k, _a(_load_4(s, 4 * row, 1, 0)))


@jit(nogil=True)
def _input_gradient_transform(dv, images, hp, wp, th, tw, dxs):
    """dX += B dV B^T for every tile, added where its patch was read: the adjoint of
    :func:`_input_transform`.  Patches overlap by two pixels; tile by tile, in order."""
    lanes = simd.lanes_of(dv)
    cap = dv.shape[0] // 36
    s = np.empty((36, lanes), dv.dtype)
    for b in range(images):
        for ti in range(th):
            for tj in range(tw):
                t = (b * th + ti) * tw + tj
                corner = (b * hp + 4 * ti) * wp + 4 * tj
                for k in range(0, dv.shape[1], lanes):
                    for col in range(6):  # B dV: down each column
                        _store_6(s, col, 6, 0, _b(_load_6(dv, col * cap + t, 6 * cap, k)))
                    for row in range(6):  # ... B^T: along each row, added into the patch
                        _add_6(dxs, corner + row * wp, k, _b(_load_6(s, 6 * row, 1, 0)))


# ------------------------------------------------------------------ NCHW in and out

@jit(nogil=True)
def _to_padded_rows(x, xs, xt, ph, pw, hp, wp):
    """Images ``x`` (N, C, H, W) into the padded input rows ``xs``: each image turned
    around by register transposes into ``xt`` (H*W, C padded), then its pixels placed
    inside a border of zeros.  (Writing the zeros here, pixel by pixel, rather than
    zeroing the buffer once: ``np.zeros`` made the calling thread clear all of it.)"""
    n, c, h, w = x.shape
    lanes = simd.lanes_of(xs)
    for b in range(n):
        simd.transpose_into(x[b].reshape((c, h * w)), xt)
        for r in range(hp):
            first = (b * hp + r) * wp
            i = r - ph
            if not 0 <= i < h:
                _zero_pixels(xs, first, first + wp)
                continue
            _zero_pixels(xs, first, first + pw)
            for j in range(w):
                for k in range(0, xs.shape[1], lanes):
                    simd.store(xs, first + pw + j, k, simd.load(xt, i * w + j, k))
            _zero_pixels(xs, first + pw + w, first + wp)


@jit(inline="always")
def _zero_pixels(rows, start, stop):
    """Rows ``start`` to ``stop`` (pixels: all their channels) set to zero."""
    none = simd.zeros(rows)
    for p in range(start, stop):
        for k in range(0, rows.shape[1], simd.lanes_of(rows)):
            simd.store(rows, p, k, none)


@jit(inline="always")
def _store_row(flat, at, value, count):
    """Write the first ``count`` lanes of ``value`` at ``flat[0, at:]``, an image laid
    out as one row.  Stores whole vectors -- the lanes past ``count`` land where later
    rows go, written afterwards -- except at the image's very end (masked: the image
    after it may belong to another thread)."""
    if at + simd.lanes_of(flat) <= flat.shape[1]:
        simd.store(flat, 0, at, value)
    else:
        simd.store_first(flat, 0, at, value, count)


@jit(nogil=True)
def _from_padded_rows(dxs, dxt, ph, pw, hp, wp, dx):
    """The other way: the gradient rows ``dxs`` of the padded images, turned around
    into ``dxt``, their interior (without the padding) into ``dx`` (N, C, H, W)."""
    n, c, h, w = dx.shape
    lanes = simd.lanes_of(dxt)
    for b in range(n):
        simd.transpose_into(dxs[b * hp * wp:(b + 1) * hp * wp], dxt)
        flat = dx[b].reshape((1, c * h * w))
        for ch in range(c):
            for i in range(h):
                for j in range(0, w, lanes):
                    row = simd.load(dxt, ch, (ph + i) * wp + pw + j)
                    _store_row(flat, (ch * h + i) * w + j, row, min(lanes, w - j))


@jit(nogil=True)
def _from_output_rows(ys, yt, th, tw, bias, has_bias, relu, y):
    """The tiles' outputs into ``y`` (N, Cout, OH, OW), cut at the image edge, with the
    bias; ``max(y, 0)`` if ``relu`` (NaN stays NaN, as np.maximum)."""
    n, cout, oh, ow = y.shape
    positions = 16 * th * tw
    lanes = simd.lanes_of(yt)
    zero = simd.zeros(yt)
    for b in range(n):
        simd.transpose_into(ys[b * positions:(b + 1) * positions], yt)
        flat = y[b].reshape((1, cout * oh * ow))
        for o in range(cout):
            add = simd.splat(bias[o]) if has_bias else zero
            for i in range(oh):
                for j in range(0, ow, lanes):
                    row = simd.load(yt, o, i * 4 * tw + j) + add
                    if relu:
                        row = simd.select((zero > row) | (row == zero), zero, row)
                    _store_row(flat, (o * oh + i) * ow + j, row, min(lanes, ow - j))


@jit(nogil=True)
def _to_output_rows(gy, gys, gt, th, tw, sums):
    """The output gradient ``gy`` (N, Cout, OH, OW) into tile rows ``gys`` (zero where
    a tile sticks out of the image); on the way,
    ``sums[o]`` += the sum of channel o (the bias gradient), image by image in float64:
    the same sums however the images are grouped."""
    n, cout, oh, ow = gy.shape
    lanes = simd.lanes_of(gys)
    image_sums = np.empty(gt.shape[1], np.float64)
    for b in range(n):
        simd.transpose_into(gy[b].reshape((cout, oh * ow)), gt)
        image_sums[:] = 0
        for p in range(oh * ow):
            for o in range(gt.shape[1]):
                image_sums[o] += gt[p, o]
        for o in range(cout):
            sums[o] += image_sums[o]
        for i in range(4 * th):
            first = (b * 4 * th + i) * 4 * tw
            if i >= oh:
                _zero_pixels(gys, first, first + 4 * tw)
                continue
            for j in range(ow):
                for k in range(0, gys.shape[1], lanes):
                    simd.store(gys, first + j, k, simd.load(gt, i * ow + j, k))
            _zero_pixels(gys, first + ow, first + 4 * tw)


# ------------------------------------------------------------------ a chunk of images

@jit(inline="always")
def _plane(a, xi, tiles):
    """The first ``tiles`` rows of plane ``xi`` of a tile buffer (:func:`_planes`)."""
    first = xi * (a.shape[0] // 36)
    return a[first:first + tiles]


@jit(inline="always")
def _add_into(total, part):
    """total[:m] += part (m rows), a vector at a time (as ``total += part`` Numba made a loop that
    took as long as the product: 40 us for a group's 36 planes of 32 x 64)."""
    lanes = simd.lanes_of(total)
    for i in range(part.shape[0]):
        for j in range(0, part.shape[1], lanes):
            simd.store(total, i, j, simd.load(total, i, j) + simd.load(part, i, j))


@jit(nogil=True)
def _forward_chunk(x, xs, xt, v, m, ys, yt, y, u_t, bias, has_bias, relu, ph, pw, group):
    """A chunk's forward, ``group`` images at a time: the padded input rows, their
    tiles V, the 36 products ``M[xi] = V[xi] @ U[xi]^T``, the output transform, and
    the outputs into ``y`` (NCHW)."""
    n = x.shape[0]
    oh, ow = y.shape[2], y.shape[3]
    th, tw = (oh + 3) // 4, (ow + 3) // 4
    hp, wp = 4 * th + 2, 4 * tw + 2
    for b0 in range(0, n, group):
        b1 = min(b0 + group, n)
        tiles = (b1 - b0) * th * tw
        _to_padded_rows(x[b0:b1], xs, xt, ph, pw, hp, wp)
        _input_transform(xs, b1 - b0, hp, wp, th, tw, v)
        for xi in range(36):
            gemm_simd._product(_plane(v, xi, tiles), u_t[xi], _plane(m, xi, tiles))
        _output_transform(m, b1 - b0, th, tw, ys)
        _from_output_rows(ys, yt, th, tw, bias, has_bias, relu, y[b0:b1])


@jit(parallel=True)
def _forward_pair(x0, xs0, xt0, v0, m0, ys0, yt0, y0, x1, xs1, xt1, v1, m1, ys1, yt1, y1,
                  u_t, bias, has_bias, relu, ph, pw, group):
    """:func:`_forward_chunk` for two chunks at once, on Numba's threads
    (``parallel.run_chunks``)."""
    for k in prange(2):
        if k == 0:
            _forward_chunk(x0, xs0, xt0, v0, m0, ys0, yt0, y0, u_t, bias, has_bias, relu, ph, pw, group)
        else:
            _forward_chunk(x1, xs1, xt1, v1, m1, ys1, yt1, y1, u_t, bias, has_bias, relu, ph, pw, group)


@jit(nogil=True)
def _gradients_chunk(x, gy, xs, xt, v, gys, gt, dm, dv, dxs, dxt, du, part, sums, dx, u, ph, pw, group,
                     want_dx, want_dw):
    """A chunk's gradients, ``group`` images at a time: the bias sums, the output
    gradient's tiles dM; for the input gradient (``want_dx``) ``dV[xi] = dM[xi] @
    U[xi]`` and its scatter into ``dx``; for the weight gradient (``want_dw``) the
    input's tiles V again (cheaper than keeping them from the forward: they come from
    the cache) and ``du[xi] += V[xi]^T @ dM[xi]``."""
    n, cout, oh, ow = gy.shape
    th, tw = (oh + 3) // 4, (ow + 3) // 4
    hp, wp = 4 * th + 2, 4 * tw + 2
    for b0 in range(0, n, group):
        b1 = min(b0 + group, n)
        tiles = (b1 - b0) * th * tw
        _to_output_rows(gy[b0:b1], gys, gt, th, tw, sums)
        _output_gradient_transform(gys, b1 - b0, th, tw, dm)
        if want_dw:
            _to_padded_rows(x[b0:b1], xs, xt, ph, pw, hp, wp)
            _input_transform(xs, b1 - b0, hp, wp, th, tw, v)
            for xi in range(36):
                # (V[xi] transposed as a view: the kernel reads it a number at a time;
                # the first group's products go straight into du)
                if b0 == 0:
                    gemm_simd._product(_plane(v, xi, tiles).T, _plane(dm, xi, tiles), du[xi, :part.shape[0]])
                else:
                    gemm_simd._product(_plane(v, xi, tiles).T, _plane(dm, xi, tiles), part)
                    _add_into(du[xi], part)
        if want_dx:
            for xi in range(36):
                gemm_simd._product(_plane(dm, xi, tiles), u[xi], _plane(dv, xi, tiles))
            dxs[:(b1 - b0) * hp * wp] = 0
            _input_gradient_transform(dv, b1 - b0, hp, wp, th, tw, dxs)
            _from_padded_rows(dxs, dxt, ph, pw, hp, wp, dx[b0:b1])


@jit(parallel=True)
def _gradients_pair(x0, gy0, xs0, xt0, v0, gys0, gt0, dm0, dv0, dxs0, dxt0, du0, part0, sums0, dx0,
                    x1, gy1, xs1, xt1, v1, gys1, gt1, dm1, dv1, dxs1, dxt1, du1, part1, sums1, dx1,
                    u, ph, pw, group, want_dx, want_dw):
    """:func:`_gradients_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _gradients_chunk(x0, gy0, xs0, xt0, v0, gys0, gt0, dm0, dv0, dxs0, dxt0, du0, part0, sums0, dx0,
                             u, ph, pw, group, want_dx, want_dw)
        else:
            _gradients_chunk(x1, gy1, xs1, xt1, v1, gys1, gt1, dm1, dv1, dxs1, dxt1, du1, part1, sums1, dx1,
                             u, ph, pw, group, want_dx, want_dw)


# ------------------------------------------------------------------ the calls

def winograd4_pays_off(c, cout, oh, ow) -> bool:
    """Does F(4x4, 3x3) beat ``winograd.py``'s F(2x2, 3x3) for a 3x3, stride-1 conv
    with ``c`` -> ``cout`` channels and an ``oh`` x ``ow`` output?

    Only on a CPU with AVX-512 (``simd.WIDE_VECTORS``: the products run on
    ``gemm_simd``'s kernel), for outputs at least 8x8 (smaller, the transposes in and
    out cost more than the products save: 128x4x4 -> 128 took 1.25x F(2x2)'s time),
    and where its products -- channels padded to whole float32 vectors, tiles sticking
    out of the image included -- are at most 0.8 of F(2x2)'s.  Measured fwd+bwd in a
    run, batch 64, F(4x4) / F(2x2) time (2026-11-24): 32x15x15 -> 64 0.75 (pad 1) and
    0.8-0.94 (pad 0); 48x8x8 -> 96 0.79; 64x13x13 -> 128 0.78; 32x32x32 -> 32 0.89;
    32x8x8 -> 32 0.92.  Against: 20x15x15 -> 32 1.13 and 20x28x28 -> 24 1.38 (20
    channels padded to 32), 24x12x12 -> 32 1.32, 64x6x6 -> 64 1.26 (as many products
    as F(2x2): a 6x6 output takes four 4x4 tiles)."""
    if not (simd.WIDE_VECTORS and oh >= 8 and ow >= 8):
        return False
    lanes = simd.lanes(np.float32)
    padded = (c + (-c % lanes)) * (cout + (-cout % lanes))
    products_4 = 36 * -(-oh // 4) * -(-ow // 4) * padded
    products_2 = 16 * -(-oh // 2) * -(-ow // 2) * c * cout
    return products_4 <= 0.8 * products_2


def _geometry(x_shape, padding):
    """Sizes: the output (OH, OW), the tiles down and across (the last may stick out),
    the padded input the tiles read (hp x wp pixels)."""
    n, c, h, w = x_shape
    ph, pw = padding
    oh, ow = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = -(-oh // 4), -(-ow // 4)
    return n, c, h, w, ph, pw, oh, ow, th, tw, 4 * th + 2, 4 * tw + 2


def _padded(count, dtype):
    """``count`` channels rounded up to whole vectors."""
    return count + (-count % simd.lanes(dtype))


# Images per group: the group's tile matrices should stay in the core's L2 cache from
# one step to the next (as in winograd.py).  Measured, 64x32x15x15 -> 64 fwd+bwd in a
# run, five rounds alternating in one process: groups of 32 tiles (2 images) 2.47-2.52
# ms, 64 (4 images) 2.36-2.37, 128 (8 images) 2.44-2.52.
_GROUP_TILES = 64


def _group(ranges, th, tw):
    """Images per group: the biggest chunk cut into equal groups of at most about
    _GROUP_TILES tiles."""
    images = max(stop - start for start, stop in ranges)
    count = -(-images * th * tw // _GROUP_TILES)
    return -(-images // count)


def _work(n, c, cout, th, tw):
    """The multiply-adds of the products (36 per tile), as ``parallel.chunks`` counts them."""
    return 36 * cout * c * n * th * tw


def _workspace(dtype, *shapes):
    """2-D buffers of these (rows, columns) shapes, carved from one allocation (a
    dozen ``np.empty`` calls per chunk cost 20-40 us a step), each starting on a cache
    line (64 bytes; malloc promises only 16) so that whole-vector loads and stores of
    their rows never straddle two lines."""
    itemsize = np.dtype(dtype).itemsize
    line = 64 // itemsize
    sizes = [rows * columns + (-(rows * columns) % line) for rows, columns in shapes]
    raw = np.empty(sum(sizes) + line, dtype)
    at = (-raw.__array_interface__["data"][0] % 64) // itemsize
    buffers = []
    for (rows, columns), size in zip(shapes, sizes):
        buffers.append(raw[at:at + rows * columns].reshape(rows, columns))
        at += size
    return buffers


def _plane_stride(rows, width, dtype):
    """Rows from the start of one of 36 (rows, width) planes to the next.

    The planes are *not* a multiple of 4 KiB apart: the transforms write one vector to
    each of the 36 planes in turn (the filter transform and its gradient one number),
    and planes 4 KiB apart all fall in the same set of the L1 cache, which holds 12
    lines.  Measured: the input transform took 51 instead of 12 us a group, the filter
    transform 270 instead of 37 us (``winograd._tile_buffer`` says the same of its 16
    planes).  Each plane starts at least 256 bytes further into its page than the one
    before."""
    row_bytes = width * np.dtype(dtype).itemsize
    pages = -(-rows * row_bytes // 4096)
    return -(-(pages * 4096 + max(256, row_bytes)) // row_bytes)


def _planes(tiles, width, dtype):
    """The shape of a tile buffer: room for the 36 (tiles, width) matrices of a group,
    one per tile position, plane xi starting at row ``xi * (rows // 36)``
    (:func:`_plane_stride` apart)."""
    return 36 * _plane_stride(tiles, width, dtype), width


_SIXTH, _TWELFTH, _TWENTYFOURTH = 1 / 6, 1 / 12, 1 / 24


@jit(inline="always")
def _g(z):
    """G z (filter transform, 3 -> 6)."""
    z0, z1, z2 = z
    return (0.25 * z0, -_SIXTH * (z0 + z1 + z2), -_SIXTH * (z0 - z1 + z2),
            _TWENTYFOURTH * (z0 + 2 * z1 + 4 * z2), _TWENTYFOURTH * (z0 - 2 * z1 + 4 * z2), z2)


@jit(inline="always")
def _gt(t):
    """G^T t (its adjoint, 6 -> 3)."""
    t0, t1, t2, t3, t4, t5 = t
    return (0.25 * t0 - _SIXTH * (t1 + t2) + _TWENTYFOURTH * (t3 + t4),
            _SIXTH * (t2 - t1) + _TWELFTH * (t3 - t4),
            _SIXTH * (t3 + t4 - t1 - t2) + t5)


@jit(nogil=True)
def _transform_filters(taps, out):
    """out[6a + b, p, q] = (G g G^T)[a, b] for the filter g at (p, q), where
    ``taps[i, j]`` holds tap (i, j) of every filter side by side: down the filters'
    columns (G g), then along the rows of that.  The loops run over whole planes of
    filters, which LLVM turns into vector code.  In float64 (1/6 and 1/24 are not
    float32 numbers), rounded once into ``out``."""
    rows, cols = taps.shape[2], taps.shape[3]
    gg = np.empty((6, 3, rows, cols))
    for j in range(3):
        for p in range(rows):
            for q in range(cols):
                z = _g((taps[0, j, p, q], taps[1, j, p, q], taps[2, j, p, q]))
                gg[0, j, p, q], gg[1, j, p, q], gg[2, j, p, q] = z[0], z[1], z[2]
                gg[3, j, p, q], gg[4, j, p, q], gg[5, j, p, q] = z[3], z[4], z[5]
    for a in range(6):
        for p in range(rows):
            for q in range(cols):
                z = _g((gg[a, 0, p, q], gg[a, 1, p, q], gg[a, 2, p, q]))
                out[6 * a, p, q], out[6 * a + 1, p, q], out[6 * a + 2, p, q] = z[0], z[1], z[2]
                out[6 * a + 3, p, q], out[6 * a + 4, p, q], out[6 * a + 5, p, q] = z[3], z[4], z[5]


def _filter_transform(w, rows, columns, transposed):
    """U = G g G^T for every (output, input) channel pair, as 36 planes (xi = 6*row +
    column of the tile): (36, Cout, C), or (36, C, Cout) if ``transposed``, zero-padded
    to ``rows`` x ``columns``, the planes :func:`_plane_stride` apart.  (The loops run
    over the whole array: contiguous, they compile to vector code, where a strided
    view's did not -- 23 us instead of 7.)"""
    whole = np.zeros((36, _plane_stride(rows, columns, w.dtype), columns), w.dtype)
    taps = w.transpose(2, 3, 1, 0) if transposed else w.transpose(2, 3, 0, 1)
    _transform_filters(np.ascontiguousarray(taps, dtype=np.float64), whole)
    return whole[:, :rows]


@jit(nogil=True)
def _filter_gradient_of(du_t, taps):
    """taps[i, j, c, o] = (G^T dU G)[i, j] for every pair, from the summed dU^T planes
    (dU[xi, o, c] = du_t[xi, c, o]): along the rows of dU (dU G), then down the
    columns; over whole planes, as :func:`_transform_filters`."""
    c, cout = taps.shape[2], taps.shape[3]
    rows = np.empty((6, 3, c, cout))  # dU G
    for a in range(6):
        for p in range(c):
            for q in range(cout):
                z = _gt((np.float64(du_t[6 * a, p, q]), np.float64(du_t[6 * a + 1, p, q]),
                         np.float64(du_t[6 * a + 2, p, q]), np.float64(du_t[6 * a + 3, p, q]),
                         np.float64(du_t[6 * a + 4, p, q]), np.float64(du_t[6 * a + 5, p, q])))
                rows[a, 0, p, q], rows[a, 1, p, q], rows[a, 2, p, q] = z[0], z[1], z[2]
    for j in range(3):
        for p in range(c):
            for q in range(cout):
                z = _gt((rows[0, j, p, q], rows[1, j, p, q], rows[2, j, p, q], rows[3, j, p, q],
                         rows[4, j, p, q], rows[5, j, p, q]))
                taps[0, j, p, q], taps[1, j, p, q], taps[2, j, p, q] = z[0], z[1], z[2]


def _filter_gradient(du, cout, c):
    """dW = G^T dU G for every (output, input) channel pair: (Cout, C, 3, 3), from the
    chunks' dU^T planes ``du`` (chunks, 36, rows >= C, Cout), summed in chunk order
    (the same bits on every run)."""
    taps = np.empty((3, 3, c, cout), du.dtype)
    _filter_gradient_of(parallel.sum_in_order(list(du)), taps)
    return np.ascontiguousarray(taps.transpose(3, 2, 0, 1))


def _check_dtype(*arrays):
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64) or any(a.dtype != dtype for a in arrays):
        raise ValueError(f"winograd4 needs float32 or float64 arrays of one dtype, got "
                         f"{', '.join(str(a.dtype) for a in arrays)}")
    return dtype


def winograd4_forward(x, w, b, padding, relu=False):
    """y = conv2d(x, w) + b for 3x3 weights, stride 1: (N, C, H, W) -> (N, Cout, OH, OW);
    ``max(y, 0)`` if ``relu``."""
    x = np.ascontiguousarray(x)
    dtype = _check_dtype(x, w, *(() if b is None else (b,)))
    n, c, h, wd, ph, pw, oh, ow, th, tw, hp, wp = _geometry(x.shape, padding)
    cout = w.shape[0]
    cp, coutp = _padded(c, dtype), _padded(cout, dtype)
    u_t = _filter_transform(w, cp, coutp, transposed=True)
    has_bias = b is not None
    bias = np.ascontiguousarray(b) if has_bias else np.zeros(1, dtype)  # (unused: Numba needs an array)
    y = np.empty((n, cout, oh, ow), dtype)
    ranges = parallel.chunks(n, _work(n, c, cout, th, tw))
    group = _group(ranges, th, tw)
    tiles = min(group, n) * th * tw
    # per chunk: padded input rows, one image turned around, V, M, output rows, one
    # image's outputs turned around (a vector's room more: whole rows are read)
    shapes = ((group * hp * wp, cp), (h * wd, cp), _planes(tiles, cp, dtype), _planes(tiles, coutp, dtype),
              (group * 16 * th * tw, coutp), (coutp, 16 * th * tw + simd.lanes(dtype)))
    chunk_args = [(x[start:stop], *_workspace(dtype, *shapes), y[start:stop]) for start, stop in ranges]
    parallel.run_chunks(_forward_chunk, _forward_pair, chunk_args, u_t, bias, has_bias, relu, ph, pw, group)
    return y


def _gradients(gy, x, w, padding, want_dx, want_dw):
    """(dx or None, dw or None), and the bias gradient offered to ``reuse``."""
    gy, x = np.ascontiguousarray(gy), np.ascontiguousarray(x)
    dtype = _check_dtype(gy, x, w)
    n, c, h, wd, ph, pw, oh, ow, th, tw, hp, wp = _geometry(x.shape, padding)
    cout = w.shape[0]
    cp, coutp = _padded(c, dtype), _padded(cout, dtype)
    u = _filter_transform(w, coutp, cp, transposed=False)
    dx = np.empty(x.shape, dtype) if want_dx else np.empty((n, 0, 0, 0), dtype)
    ranges = parallel.chunks(n, _work(n, c, cout, th, tw))
    group = _group(ranges, th, tw)
    tiles = min(group, n) * th * tw
    lanes = simd.lanes(dtype)
    # per chunk: padded input rows, one image turned around, V; output-gradient rows,
    # one image's turned around, dM, dV; the padded input gradient, one image's turned
    # around (a vector's room more: whole rows are read); a product of the weight
    # gradient
    shapes = ((group * hp * wp, cp), (h * wd, cp), _planes(tiles if want_dw else 0, cp, dtype),
              (group * 16 * th * tw, coutp), (oh * ow, coutp), _planes(tiles, coutp, dtype),
              _planes(tiles if want_dx else 0, cp, dtype),
              (group * hp * wp, cp), (cp, hp * wp + (-(hp * wp) % lanes) + lanes),
              (cp, coutp))
    # each chunk's dU^T, the planes _plane_stride apart (the filter gradient reads one
    # number of each plane in turn); the rows past C are not used, but added up with
    # the rest: zeros, not whatever the memory held
    du = np.empty((len(ranges), 36, _plane_stride(cp, coutp, dtype), coutp), dtype)
    du[:, :, cp:] = 0
    chunk_args = []
    for k, (start, stop) in enumerate(ranges):
        *buffers, part = _workspace(dtype, *shapes)
        chunk_args.append((x[start:stop], gy[start:stop], *buffers, du[k], part, np.zeros(cout, np.float64),
                           dx[start:stop]))
    parallel.run_chunks(_gradients_chunk, _gradients_pair, chunk_args, u, ph, pw, group, want_dx, want_dw)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([args[13] for args in chunk_args]))
    dw = None
    if want_dw:
        dw = _filter_gradient(du, cout, c)
    return (dx if want_dx else None), dw


def winograd4_backward(gy, x, w, padding):
    """``(dL/dx, dL/dw)`` in one pass over the chunks of images."""
    return _gradients(gy, x, w, padding, True, True)


def winograd4_grad_input(gy, w, x_shape, padding):
    """dL/dx: output-gradient tiles -> dV = dM @ U per tile position -> scattered back."""
    unread_x = np.empty(x_shape, gy.dtype)  # (for its shape: the input's tiles are not made)
    return _gradients(gy, unread_x, w, padding, True, False)[0]


def winograd4_grad_weight(gy, x, padding):
    """dL/dw: dU^T = V^T @ dM per tile position, summed over the images, then G^T dU G."""
    unused_w = np.zeros((gy.shape[1], x.shape[1], 3, 3), gy.dtype)  # (U is not needed)
    return _gradients(gy, x, unused_w, padding, False, True)[1]
