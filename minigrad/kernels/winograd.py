"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 convolution with 2.25x fewer multiplies.

**The idea, in one dimension.**  Two outputs of a 3-tap filter ``g`` over four inputs
``d`` take 6 multiplies the direct way (``y0 = d0 g0 + d1 g1 + d2 g2``, ``y1 = d1 g0 +
d2 g1 + d3 g2``).  Winograd (and Lavin & Gray, 2015, who brought it to CNNs) found
4 products that are enough::

    m0 = (d0 - d2) g0              y0 = m0 + m1 + m2
    m1 = (d1 + d2) (g0 + g1 + g2)/2
    m2 = (d2 - d1) (g0 - g1 + g2)/2
    m3 = (d1 - d3) g2              y1 = m1 - m2 - m3

In matrix form ``y = A^T [(G g) * (B^T d)]`` with ``*`` element by element.  Nesting
it for rows and columns gives the 2-D version: a 2x2 output tile from a 4x4 input tile::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          16 multiplies instead of 36

**Why it is fast in a CNN.**  The filter transform ``U = G g G^T`` (4x4 per (out, in)
channel pair) is done once per call.  The input transform ``V = B^T d B`` is done once
per tile and input channel.  The element-wise product, summed over input channels, is
then, for each of the 16 positions ``xi`` of the 4x4 tile, a matrix product::

    M[xi] (Cout, T) = U[xi] (Cout, C) @ V[xi] (C, T)        T = number of tiles

16 GEMMs that together do 16*Cout*C*T multiply-adds, against 9*Cout*C*4T for im2col:
2.25x less arithmetic, and V is smaller than the im2col matrix (16 vs 36 numbers per
tile and channel), so less memory traffic too.  The GEMMs run on ``gemm_simd.py``'s
register-blocked kernel (the weight gradient's, which sum over all tiles, on
``gemm_nt.py``'s); the transforms are a few adds per number, in the Numba loops below
(two of them on ``simd`` vectors, 16 tiles at a time).

**The backward pass is the same recipe run backwards.**  The forward is linear in
``U`` and in ``V``; its adjoints are the transposed operations, in reverse order:

    dM[xi] = A dY A^T  (per tile)               adjoint of the output transform
    dV[xi] = U[xi]^T @ dM[xi]                   -> dX = scatter of B dV B^T
    dU[xi] = dM[xi] @ V[xi]^T                   -> dW = G^T dU G

So ``conv2d_grad_input`` and ``conv2d_grad_weight`` are *exact* gradients of the
Winograd forward (no separate "full convolution" needed), and use the same transforms.

Limits: 3x3 kernels, stride 1, dilation 1 (any padding).  Float32 rounding is a little
larger than im2col's (the transforms add and subtract before multiplying: relative
error about 2e-7 against 1e-7 here, 64 channels included); the tests hold it to the
same tolerance as the other paths.  The tiles overlap by
two pixels in the input, so the input-gradient scatter *adds*; it runs image by image
in a fixed order, so the bits are the same on every run.
"""

from __future__ import annotations

import numpy as np

from . import gemm_nt, gemm_simd, parallel, reuse, simd
from ._jit import jit, prange

__all__ = ["winograd_forward", "winograd_grad_input", "winograd_grad_weight", "winograd_backward",
           "winograd_applies", "G", "B_T", "A_T"]

# The three transform matrices of F(2x2, 3x3).  The loops below spell out the products
# with B^T, A^T and their transposes by hand (adds and subtracts only); these arrays are
# used for the filter transform (small, done in NumPy) and by the tests.
B_T = np.array([[1, 0, -1, 0],
                [0, 1, 1, 0],
                [0, -1, 1, 0],
                [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0],
                [0, 1, -1, -1]], dtype=np.float64)


def winograd_applies(w_shape, stride, dilation) -> bool:
    """F(2x2, 3x3) computes exactly a 3x3, stride-1, undilated convolution."""
    return (tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1)
            and tuple(dilation) == (1, 1))


def _tiles(oh, ow):
    """Number of 2x2 output tiles per image, down and across (the last may stick out)."""
    return (oh + 1) // 2, (ow + 1) // 2


# ------------------------------------------------------------------ the 1-D transforms
# Each 2-D transform is a 1-D transform applied to the 4 columns of a tile, then to the
# 4 rows of the result.  Small jitted functions returning tuples: LLVM inlines them, so
# the tile loops below keep everything in registers.

@jit
def _bt(z0, z1, z2, z3):
    """B^T z (input transform)."""
    return z0 - z2, z1 + z2, z2 - z1, z1 - z3


@jit
def _b(z0, z1, z2, z3):
    """B z (its adjoint)."""
    return z0, z1 - z2 + z3, z1 + z2 - z0, -z3


@jit
def _at(z0, z1, z2, z3):
    """A^T z (output transform: 4 numbers -> 2)."""
    return z0 + z1 + z2, z1 - z2 - z3


@jit
def _a(z0, z1):
    """A z (its adjoint: 2 numbers -> 4)."""
    return z0, z0 + z1, z0 - z1, -z1


# ------------------------------------------------------------------ the four tile loops

@jit(inline="always")
def _patch_columns(left, right, left_2, right_2):
    """Columns 0-3 of the 4x4 patches of a vector of tiles, in one row of the image:
    ``left ++ right`` are 2 x lanes pixels from the first tile's first column on, and
    ``left_2 ++ right_2`` the same two columns further.  Tile t starts at column 2t,
    so its columns 0 and 1 are the even and odd pixels of the first pair, columns 2
    and 3 those of the second."""
    return (simd.unzip_even(left, right, 1), simd.unzip_odd(left, right, 1),
            simd.unzip_even(left_2, right_2, 1), simd.unzip_odd(left_2, right_2, 1))


@jit(nogil=True)
def _input_transform(x, ph, pw, th, tw, v):
    """V[xi, c, t] = (B^T d B)[xi] for every tile t = (image, ti, tj) and channel c,
    stored at ``v[xi, c * tiles + t]``.

    ``d`` is the 4x4 input patch whose top-left pixel is (2*ti - ph, 2*tj - pw);
    pixels outside the image are the zero padding.  Each plane is first copied into a
    zero-padded scratch plane, so the tile loop needs no bounds tests.  Index ``xi`` of
    the 4x4 tile is ``4*row + column``.

    The tiles of a row of tiles are transformed a vector at a time (16 float32 tiles,
    on ``simd`` vectors): their patches' columns are the even and odd pixels of the
    image rows (:func:`_patch_columns`), and each tile position's results go to a
    vector's worth of consecutive places of its plane (16 float32, 8 float64).  The image rows are copied into the scratch
    a vector at a time too.  Tile by tile, with a plain copy, the same loop
    took 0.29-0.31 ms for 32 images of 32x15x15; like this 0.14 ms (float32), about
    what writing the 3.2 MB of tiles costs (the same bits)."""
    n, c, h, w = x.shape
    nt = n * th * tw
    lanes = simd.lanes_of(v)
    if v.shape[1] < c * nt + lanes:
        raise ValueError("the tile buffer needs a vector's room after each plane (_tile_buffer)")
    groups = -(-tw // lanes)  # vectors of tiles per row of tiles
    # (room for the last loads of a row of tiles, and for whole vectors copied in)
    p = np.zeros((2 * th + 2, 2 * lanes * groups + 2 + lanes + pw), dtype=x.dtype)
    pixels = x.reshape(1, x.size)  # (as one row: whole vectors may run on into the next image row)
    for ch in range(c):  # (channel-major: the places q below only grow, see the stores)
        for b in range(n):
            first = (b * c + ch) * h * w
            for i in range(h):  # copied a vector at a time; the scratch keeps zeros where no pixel lands
                for j in range(0, w, lanes):
                    count = min(lanes, w - j)
                    at = first + i * w + j
                    if at + lanes > x.size:  # x's very end: read no further
                        row = simd.load_first(pixels, 0, at, count)
                    else:
                        row = simd.keep_first(simd.load(pixels, 0, at), count)
                    simd.store(p, i + ph, j + pw, row)
            for ti in range(th):
                r = 2 * ti
                for g in range(groups):
                    s = 2 * lanes * g  # first column of this vector's first tile
                    q = ch * nt + b * th * tw + ti * tw + lanes * g  # and its place in the planes
                    d00, d01, d02, d03 = _patch_columns(simd.load(p, r, s), simd.load(p, r, s + lanes),
                                                        simd.load(p, r, s + 2), simd.load(p, r, s + 2 + lanes))
                    d10, d11, d12, d13 = _patch_columns(simd.load(p, r + 1, s), simd.load(p, r + 1, s + lanes),
                                                        simd.load(p, r + 1, s + 2),
                                                        simd.load(p, r + 1, s + 2 + lanes))
                    d20, d21, d22, d23 = _patch_columns(simd.load(p, r + 2, s), simd.load(p, r + 2, s + lanes),
                                                        simd.load(p, r + 2, s + 2),
                                                        simd.load(p, r + 2, s + 2 + lanes))
                    d30, d31, d32, d33 = _patch_columns(simd.load(p, r + 3, s), simd.load(p, r + 3, s + lanes),
                                                        simd.load(p, r + 3, s + 2),
                                                        simd.load(p, r + 3, s + 2 + lanes))
                    # B^T d: transform each of the 4 columns (result row k = a_k b_k c_k e_k)
                    a0, a1, a2, a3 = _bt(d00, d10, d20, d30)
                    b0, b1, b2, b3 = _bt(d01, d11, d21, d31)
                    c0, c1, c2, c3 = _bt(d02, d12, d22, d32)
                    e0, e1, e2, e3 = _bt(d03, d13, d23, d33)
                    # ... B: transform each of the 4 rows, 16 tiles' values per store.  Whole
                    # vectors: lanes past the row's last tile land where the next tiles go,
                    # stored later (q only grows), or, at the very end, in the planes'
                    # padding (_tile_buffer)
                    _store_row(v, 0, q, a0, b0, c0, e0)
                    _store_row(v, 4, q, a1, b1, c1, e1)
                    _store_row(v, 8, q, a2, b2, c2, e2)
                    _store_row(v, 12, q, a3, b3, c3, e3)


@jit(inline="always")
def _store_row(v, xi, q, z0, z1, z2, z3):
    """B applied to one row of a vector of tiles' B^T d, into planes xi..xi+3."""
    t0, t1, t2, t3 = _bt(z0, z1, z2, z3)
    simd.store(v, xi, q, t0)
    simd.store(v, xi + 1, q, t1)
    simd.store(v, xi + 2, q, t2)
    simd.store(v, xi + 3, q, t3)


@jit(inline="always")
def _output_tile(m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11, m12, m13, m14, m15):
    """A^T M A for one tile -- or, given simd vectors, for 16 tiles at once (the
    operators + and - work lane by lane on them): 16 numbers -> 2x2 outputs."""
    p0, q0 = _at(m0, m4, m8, m12)   # A^T M: transform each column (4 numbers -> 2)
    p1, q1 = _at(m1, m5, m9, m13)
    p2, q2 = _at(m2, m6, m10, m14)
    p3, q3 = _at(m3, m7, m11, m15)
    y00, y01 = _at(p0, p1, p2, p3)  # ... A: transform the two rows
    y10, y11 = _at(q0, q1, q2, q3)
    return y00, y01, y10, y11


@jit(nogil=True)
def _output_transform(m, cout, bias, has_bias, relu, n, oh, ow, th, tw, y):
    """y[b, o, 2ti:2ti+2, 2tj:2tj+2] = A^T M A (+ bias), clipped at the image edge;
    ``max(y, 0)`` if ``relu`` (a relu fused into the conv).  Writes into ``y``.

    Channel by channel, in two passes.  First the transform, a vector of tiles at a
    time: the tiles of a channel lie side by side in each plane of ``m``, so
    :func:`_output_tile` runs on ``simd`` vectors, 16 tiles at once, into a scratch
    of 4 rows (one per output position of a tile).  LLVM does not vectorise that loop
    by itself -- it cannot rule out that its 16 input and 4 output streams overlap --
    and tile by tile it took 0.37 instead of 0.2 ms (32->64, 32 images).  Then the
    2x2 outputs of each tile are written into place, with the bias."""
    nt = n * th * tw
    zero = m.dtype.type(0)
    s = np.empty((4, nt), m.dtype)
    lanes = simd.lanes_of(s)
    whole = nt - nt % lanes
    for o in range(cout):
        base = o * nt
        for t in range(0, whole, lanes):
            q = base + t
            y00, y01, y10, y11 = _output_tile(
                simd.load(m, 0, q), simd.load(m, 1, q), simd.load(m, 2, q), simd.load(m, 3, q),
                simd.load(m, 4, q), simd.load(m, 5, q), simd.load(m, 6, q), simd.load(m, 7, q),
                simd.load(m, 8, q), simd.load(m, 9, q), simd.load(m, 10, q), simd.load(m, 11, q),
                simd.load(m, 12, q), simd.load(m, 13, q), simd.load(m, 14, q), simd.load(m, 15, q))
            simd.store(s, 0, t, y00)
            simd.store(s, 1, t, y01)
            simd.store(s, 2, t, y10)
            simd.store(s, 3, t, y11)
        for t in range(whole, nt):  # the tiles left over, one at a time
            q = base + t
            s[0, t], s[1, t], s[2, t], s[3, t] = _output_tile(
                m[0, q], m[1, q], m[2, q], m[3, q], m[4, q], m[5, q], m[6, q], m[7, q],
                m[8, q], m[9, q], m[10, q], m[11, q], m[12, q], m[13, q], m[14, q], m[15, q])
        add = bias[o] if has_bias else zero
        for b in range(n):
            t0 = b * th * tw
            for ti in range(th):
                for tj in range(tw):
                    t = t0 + ti * tw + tj
                    i, j = 2 * ti, 2 * tj
                    y[b, o, i, j] = s[0, t] + add
                    if j + 1 < ow:
                        y[b, o, i, j + 1] = s[1, t] + add
                    if i + 1 < oh:
                        y[b, o, i + 1, j] = s[2, t] + add
                        if j + 1 < ow:
                            y[b, o, i + 1, j + 1] = s[3, t] + add
            if relu:
                # A separate loop over the plane just written (still in L1): a simple
                # loop LLVM turns into vector selects.  Clamping each of the four values
                # above instead compiled to branches: 2.3 instead of 0.75 ms (32->64).
                plane = y[b, o].reshape(oh * ow)
                for k in range(oh * ow):
                    v = plane[k]
                    plane[k] = v if not v <= 0 else zero  # NaN stays NaN, as np.maximum


@jit(inline="always")
def _output_gradient_tile(g00, g01, g10, g11):
    """A dY A^T for one tile's 2x2 output gradient -- or for 16 tiles, on simd
    vectors: 4 numbers -> 16, in the order of the planes xi."""
    a0, a1, a2, a3 = _a(g00, g10)   # A dY: each column (2 numbers -> 4)
    b0, b1, b2, b3 = _a(g01, g11)
    d0, d1, d2, d3 = _a(a0, b0)     # ... A^T: each of the 4 rows
    d4, d5, d6, d7 = _a(a1, b1)
    d8, d9, d10, d11 = _a(a2, b2)
    d12, d13, d14, d15 = _a(a3, b3)
    return d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15


@jit(fastmath={"reassoc"}, nogil=True)
def _output_transform_adjoint(gy, th, tw, dm, sums):
    """dM[xi, o, t] = (A dY A^T)[xi]: the adjoint of :func:`_output_transform`.

    ``dY`` is the 2x2 tile of the output gradient, zero where the tile sticks out of
    the image.  On the way, ``sums[o]`` += the sum of channel o of ``gy`` (the bias
    gradient; float64 accumulators, ``reassoc`` as in conv.py).  Two passes per
    channel, as in :func:`_output_transform` the other way round: each tile's four
    numbers side by side in a scratch, then the transform on ``simd`` vectors, 16
    tiles at once, each result written as one vector into its plane (tile by tile:
    0.37 instead of 0.15 ms, 32->64, 32 images)."""
    n, cout, oh, ow = gy.shape
    nt = n * th * tw
    zero = gy.dtype.type(0)
    s = np.empty((4, nt), gy.dtype)
    lanes = simd.lanes_of(s)
    whole = nt - nt % lanes
    for o in range(cout):
        for b in range(n):
            t0 = b * th * tw
            acc = 0.0  # (image by image: the same sums however the images are grouped)
            for ti in range(th):
                for tj in range(tw):
                    t = t0 + ti * tw + tj
                    i, j = 2 * ti, 2 * tj
                    g00 = gy[b, o, i, j]
                    g01 = gy[b, o, i, j + 1] if j + 1 < ow else zero
                    g10 = gy[b, o, i + 1, j] if i + 1 < oh else zero
                    g11 = gy[b, o, i + 1, j + 1] if (i + 1 < oh and j + 1 < ow) else zero
                    s[0, t], s[1, t], s[2, t], s[3, t] = g00, g01, g10, g11
                    acc += float(g00) + float(g01) + float(g10) + float(g11)
            sums[o] += acc
        base = o * nt
        for t in range(0, whole, lanes):
            d = _output_gradient_tile(simd.load(s, 0, t), simd.load(s, 1, t), simd.load(s, 2, t),
                                      simd.load(s, 3, t))
            for xi in range(16):
                simd.store(dm, xi, base + t, d[xi])
        for t in range(whole, nt):  # the tiles left over, one at a time
            d = _output_gradient_tile(s[0, t], s[1, t], s[2, t], s[3, t])
            for xi in range(16):
                dm[xi, base + t] = d[xi]


@jit(inline="always")
def _patch_row_gradient(z0, z1, z2, z3, carry_2, carry_3):
    """One row of ``B dV B^T`` for a vector of tiles, added up by image column.

    ``z0..z3`` are the row of ``B dV``; ``B^T`` makes the tile's columns ``u0..u3``.
    Tile t's patch starts at column 2t, so even column 2t gets ``u0`` of tile t and
    ``u2`` of tile t-1, odd column 2t+1 ``u1`` and ``u3`` of tile t-1: the ``u2`` and
    ``u3`` vectors moved up one lane (``simd.shift_in``), with the last tile of the
    vector before (``carry_2``, ``carry_3``) coming in first.  Returns the even and odd
    columns and this vector's ``u2``, ``u3`` to carry on."""
    u0, u1, u2, u3 = _b(z0, z1, z2, z3)
    return u0 + simd.shift_in(carry_2, u2), u1 + simd.shift_in(carry_3, u3), u2, u3


@jit(inline="always")
def _tiles_of(dv, xi, q, count):
    """``count`` tiles' values of plane ``xi`` from place ``q`` on, zeros after them."""
    return simd.keep_first(simd.load(dv, xi, q), count)


@jit(nogil=True)
def _input_transform_adjoint(dv, c, n, h, w, ph, pw, th, tw, dx):
    """dX = the sum over tiles of B dV B^T, added back where each 4x4 patch was read;
    written into ``dx``.

    The adjoint of :func:`_input_transform`, and vectorised like it: a row of tiles a
    vector at a time.  Patches overlap by two pixels, so each plane is accumulated in
    a zero-padded scratch plane: each row of a vector of patches is added up by column
    first (:func:`_patch_row_gradient`), then into the scratch as whole vectors, in a
    fixed order; its interior (without the padding) is the gradient.  Tile by tile, the
    same loop took 0.38 ms for 32 images of 32x15x15; like this 0.17 ms (float32).
    (Not the same bits as tile by tile: the overlapping columns are added up in
    another order.)"""
    nt = n * th * tw
    lanes = simd.lanes_of(dv)
    if dv.shape[1] < c * nt + lanes:
        raise ValueError("the tile buffer needs a vector's room after each plane (_tile_buffer)")
    groups = tw // lanes + 1  # vectors of tiles per row; the last also takes the right edge
    # every patch, the image at (ph, pw); room for whole vectors read out of it
    p = np.empty((2 * th + 2, 2 * lanes * groups + lanes + pw), dtype=dv.dtype)
    pixels = dx.reshape(1, dx.size)  # (as one row: whole vectors may run on into the next image row)
    none = simd.zeros(dv)
    for b in range(n):
        for ch in range(c):
            p[:] = 0
            for ti in range(th):
                r = 2 * ti
                k0 = k1 = k2 = k3 = k4 = k5 = k6 = k7 = none  # carried over from the vector before
                for g in range(groups):
                    q = ch * nt + b * th * tw + ti * tw + lanes * g
                    # lanes past the row's last tile count as 0 (they read other tiles, or
                    # the planes' padding: _tile_buffer)
                    k = max(0, min(lanes, tw - lanes * g))
                    # B dV: transform each of the 4 columns
                    a0, a1, a2, a3 = _b(_tiles_of(dv, 0, q, k), _tiles_of(dv, 4, q, k),
                                        _tiles_of(dv, 8, q, k), _tiles_of(dv, 12, q, k))
                    b0, b1, b2, b3 = _b(_tiles_of(dv, 1, q, k), _tiles_of(dv, 5, q, k),
                                        _tiles_of(dv, 9, q, k), _tiles_of(dv, 13, q, k))
                    c0, c1, c2, c3 = _b(_tiles_of(dv, 2, q, k), _tiles_of(dv, 6, q, k),
                                        _tiles_of(dv, 10, q, k), _tiles_of(dv, 14, q, k))
                    e0, e1, e2, e3 = _b(_tiles_of(dv, 3, q, k), _tiles_of(dv, 7, q, k),
                                        _tiles_of(dv, 11, q, k), _tiles_of(dv, 15, q, k))
                    # ... B^T: each row, added up by column, then into rows r..r+3 of the scratch
                    s = 2 * lanes * g
                    even, odd, k0, k1 = _patch_row_gradient(a0, b0, c0, e0, k0, k1)
                    simd.store(p, r, s, simd.load(p, r, s) + simd.zip_low(even, odd, 1))
                    simd.store(p, r, s + lanes, simd.load(p, r, s + lanes) + simd.zip_high(even, odd, 1))
                    even, odd, k2, k3 = _patch_row_gradient(a1, b1, c1, e1, k2, k3)
                    simd.store(p, r + 1, s, simd.load(p, r + 1, s) + simd.zip_low(even, odd, 1))
                    simd.store(p, r + 1, s + lanes, simd.load(p, r + 1, s + lanes) + simd.zip_high(even, odd, 1))
                    even, odd, k4, k5 = _patch_row_gradient(a2, b2, c2, e2, k4, k5)
                    simd.store(p, r + 2, s, simd.load(p, r + 2, s) + simd.zip_low(even, odd, 1))
                    simd.store(p, r + 2, s + lanes, simd.load(p, r + 2, s + lanes) + simd.zip_high(even, odd, 1))
                    even, odd, k6, k7 = _patch_row_gradient(a3, b3, c3, e3, k6, k7)
                    simd.store(p, r + 3, s, simd.load(p, r + 3, s) + simd.zip_low(even, odd, 1))
                    simd.store(p, r + 3, s + lanes, simd.load(p, r + 3, s + lanes) + simd.zip_high(even, odd, 1))
            first = (b * c + ch) * h * w
            for i in range(h):
                for j in range(0, w, lanes):
                    row = simd.load(p, i + ph, j + pw)
                    at = first + i * w + j
                    if at + lanes > dx.size:  # dx's very end: write no further
                        simd.store_first(pixels, 0, at, row, min(lanes, w - j))
                    else:  # (lanes past the row: the next rows' start, written next)
                        simd.store(pixels, 0, at, row)


# ------------------------------------------------------------------ public kernels

def _filter_transform(w):
    """U[xi] = (G g G^T)[xi] for every (out, in) channel pair: shape (16, Cout, C).

    ``G g G^T``, flattened, is ``kron(G, G) @ vec(g)``: one (16, 9) matrix applied to
    every 3x3 filter at once, a single small GEMM."""
    cout, c = w.shape[:2]
    gg = np.kron(G, G).astype(w.dtype)
    return np.ascontiguousarray((gg @ w.reshape(cout * c, 9).T).reshape(16, cout, c))


def _filter_gradient(du):
    """dW = G^T dU G for every (out, in) pair: (16, Cout, C) -> (Cout, C, 3, 3)."""
    _, cout, c = du.shape
    gg = np.kron(G, G).astype(du.dtype)
    return (gg.T @ du.reshape(16, cout * c)).T.reshape(cout, c, 3, 3)


def _geometry(x_shape, padding):
    n, c, h, w = x_shape
    ph, pw = padding
    oh, ow = h + 2 * ph - 2, w + 2 * pw - 2
    th, tw = _tiles(oh, ow)
    return n, c, h, w, ph, pw, oh, ow, th, tw


def _tile_buffer(rows, tiles, dtype):
    """Room for 16 (rows, tiles) matrices, one per tile position xi, *not* 4 KiB apart.

    Returns ``(flat, planes)``: the same memory seen as ``flat`` (16, stride), which
    the tile loops index as ``flat[xi, row * tiles + t]``, and as ``planes``
    (16, rows, tiles), the stack of matrices the GEMMs take (each plane an ordinary
    row-major matrix, so the product kernels read it as it is).

    Why the gap: the tile loops write one number to each of the 16 planes in turn.
    When the planes are a multiple of 4096 bytes apart (here: 32 channels x 3136
    tiles x 4 bytes = 98 pages), all 16 writes map to the same set of the L1 cache,
    which holds only 12 lines per set on this machine's CPU (8 on many others), so
    every write evicts a line still being filled.  Measured: the input transform took
    3.9 ms instead of 0.7 ms.  Each plane therefore starts 256 bytes further into its
    page than the one before.

    The gap is also room the vectorised transforms need: they read and write whole
    vectors, up to a vector's lanes (64 bytes) past a plane's last tile
    (:func:`_input_transform`).  They check that it is there.
    """
    itemsize = np.dtype(dtype).itemsize
    size = rows * tiles
    pages = -(-size * itemsize // 4096)
    stride = (pages * 4096 + 256) // itemsize
    # starting on a cache line (64 bytes; malloc only promises 16): every plane then
    # does too, and the product kernel's whole-vector loads and stores of the rows do
    # not straddle two lines (its 16 products 3-5% faster than from a 16-byte start)
    raw = np.empty(16 * stride + 64 // itemsize, dtype=dtype)
    start = (-raw.ctypes.data % 64) // itemsize
    flat = raw[start:start + 16 * stride].reshape(16, stride)
    return flat, flat[:, :size].reshape(16, rows, tiles)


def _input_tiles(x, start, stop, ph, pw, th, tw, uses=2):
    """V as (16, C, tiles) matrices for images ``start:stop`` of ``x``, for the Python
    chunks: computed once per run and kept for ``uses`` requests -- the forward's and
    the weight gradient's, or the weight gradient's alone where the forward ran as
    compiled groups, which keep no tiles (:func:`_forward_compiled`)."""
    def compute():
        flat, v = _tile_buffer(x.shape[1], (stop - start) * th * tw, x.dtype)
        _input_transform(x[start:stop], ph, pw, th, tw, flat)
        return v
    return reuse.remember("winograd input", (x,), (ph, pw, start, stop), compute, uses)


def _output_grad_tiles(gy, start, stop, th, tw, uses=2):
    """dM as (16, Cout, tiles) matrices for images ``start:stop`` of ``gy``, and the
    float64 sum of each channel (the bias gradient, made on the way); needed by both
    gradients, computed once per run (``uses=1``: by one call that does both)."""
    def compute():
        part = gy[start:stop]
        cout = gy.shape[1]
        flat, dm = _tile_buffer(cout, part.shape[0] * th * tw, gy.dtype)
        sums = np.zeros(cout, np.float64)
        _output_transform_adjoint(part, th, tw, flat, sums)
        return dm, sums
    return reuse.remember("winograd output gradient", (gy,), (th, tw, start, stop), compute, uses)


# Each public kernel runs its whole chain -- tile transform, 16 GEMMs, tile transform
# -- on chunks of images, one chunk per core (``parallel.py``), and no two thread pools
# fight over the cores.  Where all of a chunk's products run on the register kernels
# (gemm_simd.all_compiled), the chain is one compiled call that keeps no GIL (conv.py,
# "One compiled call per chunk", says why), two chunks at once on Numba's threads, and
# inside it the chain runs on groups of images small enough for the L2 cache (below).


@jit(inline="always")
def _plane(flat, xi, rows, tiles):
    """Plane ``xi`` of a tile buffer as a C-contiguous (rows, tiles) matrix (slicing a 3-D
    view of the buffer would give Numba a matrix of unknown layout: no SIMD code)."""
    return flat[xi, :rows * tiles].reshape((rows, tiles))


# Groups of images inside a chunk.  A chunk of 32 images of the 32->64 layer has 3.2 MB
# of input tiles and 6.4 MB of products -- more than the L2 caches hold, so each step
# of the chain wrote its matrices out to the shared L3 cache and memory and the next
# read them back, and with both cores doing it the transforms waited on memory.  So a
# chunk runs its chain on groups of images, about _GROUP_TILES tiles each: a group's
# matrices stay in the core's own L2 cache from one step to the next.  The forward
# then keeps no input tiles for the backward, which transforms each group's input
# again (cheap, from the cache).  Measured, 64x32x15x15 -> 64 3x3 fwd+bwd on two
# threads, groups of 8 images: 3.7-3.8 -> 3.1 ms.
_GROUP_TILES = 512


def _group(ranges, th, tw):
    """Images per group for the chunks ``ranges``: the biggest chunk cut into equal
    groups of at most about _GROUP_TILES tiles (32 images of 7x7 tiles: 4 groups of 8;
    groups of 10, 10, 10 and 2 were 10% slower)."""
    images = max(stop - start for start, stop in ranges)
    count = -(-images * th * tw // _GROUP_TILES)  # (rounded up)
    return -(-images // count)


@jit(nogil=True)
def _forward_chunk(x, v, m, y, ph, pw, th, tw, u, bias, has_bias, relu, oh, ow, group):
    """A chunk's forward in one call, ``group`` images at a time: their input tiles
    into ``v``, ``M[xi] = U[xi] @ V[xi]`` into ``m`` (both tile buffers for a group),
    the output transform into ``y``."""
    n, c = x.shape[0], x.shape[1]
    cout = u.shape[1]
    for b0 in range(0, n, group):
        b1 = min(b0 + group, n)
        tiles = (b1 - b0) * th * tw
        _input_transform(x[b0:b1], ph, pw, th, tw, v)
        for xi in range(16):
            gemm_simd._product(u[xi], _plane(v, xi, c, tiles), _plane(m, xi, cout, tiles))
        _output_transform(m, cout, bias, has_bias, relu, b1 - b0, oh, ow, th, tw, y[b0:b1])


@jit(parallel=True)
def _forward_pair(x0, v0, m0, y0, x1, v1, m1, y1, ph, pw, th, tw, u, bias, has_bias, relu, oh, ow, group):
    """:func:`_forward_chunk` for two chunks at once, on Numba's threads
    (``parallel.run_chunks``)."""
    for k in prange(2):
        if k == 0:
            _forward_chunk(x0, v0, m0, y0, ph, pw, th, tw, u, bias, has_bias, relu, oh, ow, group)
        else:
            _forward_chunk(x1, v1, m1, y1, ph, pw, th, tw, u, bias, has_bias, relu, oh, ow, group)


@jit(nogil=True)
def _weight_gradient_group(x, gy, v, dm, sums, du, vt, part, th, tw, ph, pw):
    """For one group of images: their input tiles into ``v``, their output-gradient
    tiles (and channel sums) into ``dm``, and ``dU[xi] += dM[xi] @ V[xi]^T`` (``du``
    padded as gemm_nt.matmul_nt pads it).

    Two ways to the sums over tiles.  Where ``vt`` has room (C of at least two
    vectors: ``gemm_simd.pays_off``), each V[xi] is turned around into ``vt`` (tiles,
    C) by register transposes (``simd.transpose_into``) and multiplied on the
    register kernel into ``part``: dM[xi] (Cout, tiles) @ V[xi]^T (tiles, C).  Else
    gemm_nt's tiled dots take the rows of both as they are.  Measured on the 32->64
    layer, a group of 8 images (392 tiles), one core: 182-187 us with the dots,
    158-164 us transposed -- the dots' sums across a vector's lanes cost more than
    the transposes."""
    c, cout = x.shape[1], gy.shape[1]
    tiles = x.shape[0] * th * tw
    _input_transform(x, ph, pw, th, tw, v)
    _output_transform_adjoint(gy, th, tw, dm, sums)
    if vt.size == 0:
        for xi in range(16):
            gemm_nt._dot_tiles(_plane(dm, xi, cout, tiles), _plane(v, xi, c, tiles), du[xi], gemm_nt._K_BLOCK)
        return
    width = part.shape[1]
    v_t = vt[:tiles * width].reshape((tiles, width))
    for xi in range(16):
        simd.transpose_into(_plane(v, xi, c, tiles), v_t)
        gemm_simd._product(_plane(dm, xi, cout, tiles), v_t, part)
        for o in range(cout):
            for ci in range(c):
                du[xi, o, ci] += part[o, ci]


@jit(nogil=True)
def _weight_gradient_chunk(x, gy, v, dm, sums, du, vt, part, th, tw, ph, pw, group):
    """A chunk's weight gradient in one call, ``group`` images at a time."""
    for b0 in range(0, x.shape[0], group):
        b1 = min(b0 + group, x.shape[0])
        _weight_gradient_group(x[b0:b1], gy[b0:b1], v, dm, sums, du, vt, part, th, tw, ph, pw)


@jit(parallel=True)
def _weight_gradient_pair(x0, gy0, v0, dm0, sums0, du0, vt0, part0, x1, gy1, v1, dm1, sums1, du1, vt1, part1, th, tw,
                          ph, pw, group):
    """:func:`_weight_gradient_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _weight_gradient_chunk(x0, gy0, v0, dm0, sums0, du0, vt0, part0, th, tw, ph, pw, group)
        else:
            _weight_gradient_chunk(x1, gy1, v1, dm1, sums1, du1, vt1, part1, th, tw, ph, pw, group)


@jit(nogil=True)
def _backward_chunk(x, gy, v, dm, sums, du, vt, part, dv, dx, th, tw, u_t, ph, pw, group):
    """A chunk's two gradients in one call, ``group`` images at a time: the weight
    gradient's steps (:func:`_weight_gradient_group`), then ``dV[xi] = U[xi]^T @
    dM[xi]`` while the group's dM is still in the cache, and the scatter of dV into
    ``dx``."""
    n, c, cout = x.shape[0], x.shape[1], gy.shape[1]
    h, w = dx.shape[2], dx.shape[3]
    for b0 in range(0, n, group):
        b1 = min(b0 + group, n)
        tiles = (b1 - b0) * th * tw
        _weight_gradient_group(x[b0:b1], gy[b0:b1], v, dm, sums, du, vt, part, th, tw, ph, pw)
        for xi in range(16):
            gemm_simd._product(u_t[xi], _plane(dm, xi, cout, tiles), _plane(dv, xi, c, tiles))
        _input_transform_adjoint(dv, c, b1 - b0, h, w, ph, pw, th, tw, dx[b0:b1])


@jit(parallel=True)
def _backward_pair(x0, gy0, v0, dm0, sums0, du0, vt0, part0, dv0, dx0, x1, gy1, v1, dm1, sums1, du1, vt1, part1, dv1, dx1,
                   th, tw, u_t, ph, pw, group):
    """:func:`_backward_chunk` for two chunks at once, on Numba's threads."""
    for k in prange(2):
        if k == 0:
            _backward_chunk(x0, gy0, v0, dm0, sums0, du0, vt0, part0, dv0, dx0, th, tw, u_t, ph, pw, group)
        else:
            _backward_chunk(x1, gy1, v1, dm1, sums1, du1, vt1, part1, dv1, dx1, th, tw, u_t, ph, pw, group)


def _work(n, c, cout, th, tw):
    """The multiply-adds of a Winograd conv (16 products per tile), as
    ``parallel.chunks`` counts them."""
    return 16 * cout * c * n * th * tw


# Which passes run as compiled chunks (as in conv.py: asked for the narrowest chunk).

def _forward_compiled(ranges, th, tw, dtype):
    """Does the forward run as compiled chunks (its products on the register kernel)?"""
    return gemm_simd.all_compiled(parallel.narrowest(ranges) * th * tw, dtype)


def _gradients_compiled(ranges, th, tw, c, cout, dtype):
    """Do the weight gradient and the fused backward run as compiled chunks (the
    products on the register kernel, the sums over tiles on it too -- transposed --
    or on gemm_nt's tiled dots: :func:`_weight_gradient_group`)?"""
    tiles = parallel.narrowest(ranges) * th * tw
    if gemm_simd.pays_off(c, dtype):
        return gemm_simd.all_compiled(tiles, dtype)
    return gemm_simd.all_compiled(tiles, dtype, dots=((cout, tiles), (c, tiles)))


def _weight_gradient_parts(x, gy, ranges, th, tw):
    """The per-chunk arguments of :func:`_weight_gradient_chunk` (which
    :func:`_backward_chunk` begins with): each chunk's images, tile buffers for a
    group, its channel sums, its padded dU (gemm_nt.padded_result) and the room
    :func:`_weight_gradient_group` needs for V^T and a product; and the group."""
    c, cout = x.shape[1], gy.shape[1]
    group = _group(ranges, th, tw)
    tiles = min(group, x.shape[0]) * th * tw
    transposed = gemm_simd.pays_off(c, gy.dtype)  # (else the tiled dots: no room for V^T)
    width = c + (-c % simd.lanes(gy.dtype))
    parts = [(x[start:stop], gy[start:stop], _tile_buffer(c, tiles, gy.dtype)[0],
              _tile_buffer(cout, tiles, gy.dtype)[0], np.zeros(cout, np.float64),
              gemm_nt.padded_result(cout, c, gy.dtype, planes=(16,)),
              np.empty(tiles * width if transposed else 0, gy.dtype), np.empty((cout, width), gy.dtype))
             for start, stop in ranges]
    return parts, group


def _weight_gradient(gy, parts):
    """The chunks' results put together: their channel sums (in chunk order) offered
    as the bias gradient, their dU summed in chunk order, cut to size, turned into dW."""
    c, cout = parts[0][0].shape[1], gy.shape[1]
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([part[4] for part in parts]))
    return _filter_gradient(parallel.sum_in_order([part[5][:, :cout, :c] for part in parts]))


def _image_ranges(n, c, cout, th, tw):
    """The chunks ``(start, stop)`` of the batch.  Forward and gradients must cut the
    batch alike -- their remembered tile matrices are keyed by the chunk -- so all of
    them count the work here, the same way."""
    return parallel.chunks(n, _work(n, c, cout, th, tw))


def _by_images(images, n, c, cout, th, tw):
    """``images(start, stop)`` over :func:`_image_ranges` on minigrad's threads
    (``parallel.map_chunks``)."""
    return parallel.map_chunks(images, n, _work(n, c, cout, th, tw))


def winograd_forward(x, w, b, padding, relu=False):
    """y = conv2d(x, w) + b for 3x3 weights, stride 1: (N, C, H, W) -> (N, Cout, OH, OW);
    ``max(y, 0)`` if ``relu``."""
    n, c, h, wd, ph, pw, oh, ow, th, tw = _geometry(x.shape, padding)
    cout = w.shape[0]
    u = _filter_transform(w)
    has_bias = b is not None
    bias = b if has_bias else np.zeros(1, x.dtype)  # (unused: Numba needs an array)
    y = np.empty((n, cout, oh, ow), dtype=x.dtype)

    ranges = _image_ranges(n, c, cout, th, tw)
    if _forward_compiled(ranges, th, tw, x.dtype):
        group = _group(ranges, th, tw)
        tiles = min(group, n) * th * tw
        parallel.run_chunks(_forward_chunk, _forward_pair,
                            [(x[start:stop], _tile_buffer(c, tiles, x.dtype)[0], _tile_buffer(cout, tiles, x.dtype)[0],
                              y[start:stop]) for start, stop in ranges],
                            ph, pw, th, tw, u, bias, has_bias, relu, oh, ow, group)
        return y

    def images(start, stop):
        v = _input_tiles(x, start, stop, ph, pw, th, tw)
        flat, m = _tile_buffer(cout, v.shape[2], x.dtype)
        gemm_simd.planes_to(u, v, m)  # 16 GEMMs: M[xi] = U[xi] @ V[xi]
        _output_transform(flat, cout, bias, has_bias, relu, stop - start, oh, ow, th, tw, y[start:stop])

    _by_images(images, n, c, cout, th, tw)
    return y


def winograd_grad_input(gy, w, x_shape, padding):
    """dL/dx: output-gradient tiles -> dV = U^T @ dM per tile position -> scattered back."""
    n, c, h, wd, ph, pw, oh, ow, th, tw = _geometry(x_shape, padding)
    cout = w.shape[0]
    u_t = np.ascontiguousarray(_filter_transform(w).transpose(0, 2, 1))
    dx = np.empty((n, c, h, wd), dtype=gy.dtype)

    # the weight gradient shares the output-gradient tiles only in Python chunks
    uses = 1 if _gradients_compiled(_image_ranges(n, c, cout, th, tw), th, tw, c, cout, gy.dtype) else 2

    def images(start, stop):
        dm, sums = _output_grad_tiles(gy, start, stop, th, tw, uses)
        flat, dv = _tile_buffer(c, dm.shape[2], gy.dtype)
        gemm_simd.planes_to(u_t, dm, dv)  # dV[xi] = U[xi]^T @ dM[xi]
        _input_transform_adjoint(flat, c, stop - start, h, wd, ph, pw, th, tw, dx[start:stop])
        return sums

    sums = _by_images(images, n, c, cout, th, tw)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order(sums))
    return dx


def _weight_gradient_products(dm, v):
    """dU[xi] = dM[xi] @ V[xi]^T, (16, Cout, C): sums over the chunk's tiles -- long
    dot products of rows, which the register-tiled kernel of gemm_nt.py does faster
    than BLAS."""
    return np.stack([gemm_nt.matmul_nt(dm[xi], v[xi]) for xi in range(16)])


def winograd_backward(gy, x, w, padding):
    """``(dL/dx, dL/dw)`` in one pass over the chunks of images: what
    :func:`winograd_grad_input` and :func:`winograd_grad_weight` give, the same bits,
    with one hand-off to the threads instead of two, and each chunk's
    output-gradient tiles used by both products while they are still in the caches."""
    n, c, h, wd, ph, pw, oh, ow, th, tw = _geometry(x.shape, padding)
    cout = w.shape[0]
    u_t = np.ascontiguousarray(_filter_transform(w).transpose(0, 2, 1))
    dx = np.empty((n, c, h, wd), dtype=gy.dtype)

    ranges = _image_ranges(n, c, cout, th, tw)
    if _gradients_compiled(ranges, th, tw, c, cout, gy.dtype):
        parts, group = _weight_gradient_parts(x, gy, ranges, th, tw)
        tiles = min(group, n) * th * tw  # (and per chunk: dV's tile buffer, its slice of dx)
        with_dx = [part + (_tile_buffer(c, tiles, gy.dtype)[0], dx[start:stop])
                   for part, (start, stop) in zip(parts, ranges)]
        parallel.run_chunks(_backward_chunk, _backward_pair, with_dx, th, tw, u_t, ph, pw, group)
        return dx, _weight_gradient(gy, parts)
    # the input tiles: kept by a forward in Python chunks, or made here for this call alone
    input_uses = 1 if _forward_compiled(ranges, th, tw, x.dtype) else 2

    def images(start, stop):
        dm, sums = _output_grad_tiles(gy, start, stop, th, tw, uses=1)
        du = _weight_gradient_products(dm, _input_tiles(x, start, stop, ph, pw, th, tw, input_uses))
        flat, dv = _tile_buffer(c, dm.shape[2], gy.dtype)
        gemm_simd.planes_to(u_t, dm, dv)  # dV[xi] = U[xi]^T @ dM[xi]
        _input_transform_adjoint(flat, c, stop - start, h, wd, ph, pw, th, tw, dx[start:stop])
        return du, sums

    parts = _by_images(images, n, c, cout, th, tw)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([sums for _, sums in parts]))
    return dx, _filter_gradient(parallel.sum_in_order([du for du, _ in parts]))


def winograd_grad_weight(gy, x, padding):
    """dL/dw: dU = dM @ V^T per tile position (summed over the chunks of images, in
    order), then dW = G^T dU G."""
    n, c, h, wd, ph, pw, oh, ow, th, tw = _geometry(x.shape, padding)
    cout = gy.shape[1]
    ranges = _image_ranges(n, c, cout, th, tw)
    if _gradients_compiled(ranges, th, tw, c, cout, gy.dtype):  # as winograd_backward's
        parts, group = _weight_gradient_parts(x, gy, ranges, th, tw)
        parallel.run_chunks(_weight_gradient_chunk, _weight_gradient_pair, parts, th, tw, ph, pw, group)
        return _weight_gradient(gy, parts)
    input_uses = 1 if _forward_compiled(ranges, th, tw, x.dtype) else 2  # (as in winograd_backward)

    def images(start, stop):
        dm, sums = _output_grad_tiles(gy, start, stop, th, tw)
        return _weight_gradient_products(dm, _input_tiles(x, start, stop, ph, pw, th, tw, input_uses)), sums

    parts = _by_images(images, n, c, cout, th, tw)
    reuse.offer_bias_gradient(gy, parallel.sum_in_order([sums for _, sums in parts]))
    return _filter_gradient(parallel.sum_in_order([du for du, _ in parts]))
