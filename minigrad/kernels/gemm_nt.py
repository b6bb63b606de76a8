"""``a @ b_t.T`` as a grid of dot products: a register-tiled kernel that outruns BLAS here.

**When both operands run along the summed axis.**  In ``C[i, j] = sum_k A[i, k] *
B_t[j, k]`` every entry of C is the dot product of a row of A with a row of B_t, and
both rows are contiguous in memory.  The weight gradients of a convolution have this
shape: ``dW = dY @ X^T`` sums over pixels (or Winograd tiles), and both ``dY`` and the
rearranged input ``X`` store the pixels of one channel side by side.

**Why not leave it to BLAS?**  NumPy's OpenBLAS runs its AVX2 kernels on the machines
this course is measured on (8 floats per instruction), while LLVM compiles a Numba
dot-product loop to AVX-512 (16 floats).  A dot product is the loop LLVM vectorises
best: with ``fastmath={"reassoc"}`` it may add the products in any grouping, so it keeps
16 partial sums in the 16 lanes of a vector register and adds the lanes together once
at the end.

**The register tile.**  One dot product at a time loads two numbers per multiply-add,
and loads, not arithmetic, would set the pace.  So :func:`_dot_tiles` computes a 4x4
tile of C at once: per step along k it loads 4 numbers from rows of A and 4 from rows
of B_t and does all 16 multiply-adds between them -- 8 loads per 16 multiply-adds --
into 16 accumulators that stay in vector registers for the whole dot product (16
accumulators + 8 loaded vectors fit in the 32 registers of AVX-512).  Along k the
tiles go in blocks of ``_K_BLOCK`` numbers: the 4 rows of B_t of a tile column (8 KiB
in float32) then stay in the L1 cache while every row of A passes by them.

Measured on one core (float32; GFLOP/s, this kernel vs NumPy's BLAS): the Winograd
weight gradient of a 32->64 3x3 layer, 16 products (64 x 1568) @ (1568 x 32): 161 vs
111; (64 x 5408) @ (5408 x 288): 196 vs 129 (2026-11-24).

**When it loses: short dot products.**  Adding up a vector's 16 lanes costs about as
much as a handful of multiply-adds, once per accumulator per tile.  Over 32 numbers
(two vector steps) that is most of the work: 71 GFLOP/s vs BLAS's 117; over 64, 112 vs
115.  So :func:`matmul_nt` uses the kernel only for sums of at least
``MIN_DEPTH`` numbers, and BLAS below that.

Determinism: each entry is summed in an order fixed when the kernel is compiled (the
lane split depends on the machine's vector width, never on timing): the same bits on
every run.  NaN and inf propagate as in any product (``reassoc`` and ``contract``
allow regrouping and fused multiply-adds, nothing that assumes finite numbers).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = ["matmul_nt", "matmul_nt_path", "matmul_nt_reference", "MIN_DEPTH"]

MIN_DEPTH = 256  # summed axis at least this long: the kernel; shorter: BLAS
_K_BLOCK = 512
_TILE = 4
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def matmul_nt_path(a_shape, b_t_shape, dtype) -> str:
    """``"tiled dots"`` when :func:`matmul_nt` runs the register-tiled kernel for these
    shapes, ``"blas"`` when it calls NumPy (short sums, other dtypes, a machine without
    AVX-512: there the kernel ran at 0.7x BLAS's speed)."""
    from .simd import WIDE_VECTORS  # (no AVX-512: BLAS, see simd.py)
    if WIDE_VECTORS and np.dtype(dtype) in _FLOATS and a_shape[1] >= MIN_DEPTH:
        return "tiled dots"
    return "blas"


def padded_result(m, n, dtype, planes=()):
    """Zeros for :func:`_dot_tiles` to add ``a @ b_t.T`` (M x N) into: M and N rounded up
    to multiples of 4, the tile size (``planes``: a stack of such matrices in front)."""
    return np.zeros(tuple(planes) + (m + -m % _TILE, n + -n % _TILE), dtype)


def matmul_nt(a, b_t):
    """``a @ b_t.T`` for 2-D arrays of one float dtype: (M, K) and (N, K) -> (M, N).

    Rows of ``a`` and ``b_t`` are taken four at a time; when M or N is not a multiple
    of 4, the last tile repeats the last row (no copy of the inputs) into a padded
    output, and the padding is cut off again."""
    if a.ndim != 2 or b_t.ndim != 2 or a.shape[1] != b_t.shape[1]:
        raise ValueError(f"matmul_nt needs (m, k) and (n, k) arrays, got {a.shape} and {b_t.shape}")
    if matmul_nt_path(a.shape, b_t.shape, a.dtype) == "blas" or a.dtype != b_t.dtype:
        return a @ b_t.T
    m, n = a.shape[0], b_t.shape[0]
    a, b_t = np.ascontiguousarray(a), np.ascontiguousarray(b_t)
    c = padded_result(m, n, a.dtype)
    _dot_tiles(a, b_t, c, _K_BLOCK)
    return c if c.shape == (m, n) else c[:m, :n].copy()


@jit(fastmath={"reassoc", "contract"}, nogil=True)
def _dot_tiles(a, b_t, c, k_block):
    """``c += a @ b_t.T``, ``c`` padded to (M, N) rounded up to multiples of 4.

    The 16 sums of a tile are named one by one (``s01`` is row 0 of the tile times row
    1 of b_t's four): LLVM keeps named scalars in registers, while an array of 16
    accumulators would live in memory and be loaded and stored at every step.  A
    last, partial tile reads the last row again in place of the missing ones: its
    extra sums land in the padding of ``c``."""
    m, depth = a.shape
    n = b_t.shape[0]
    zero = a.dtype.type(0)
    for k0 in range(0, depth, k_block):
        k1 = min(k0 + k_block, depth)
        for j in range(0, n, 4):
            j1, j2, j3 = min(j + 1, n - 1), min(j + 2, n - 1), min(j + 3, n - 1)
            b0, b1, b2, b3 = b_t[j, k0:k1], b_t[j1, k0:k1], b_t[j2, k0:k1], b_t[j3, k0:k1]
            for i in range(0, m, 4):
                i1, i2, i3 = min(i + 1, m - 1), min(i + 2, m - 1), min(i + 3, m - 1)
                a0, a1, a2, a3 = a[i, k0:k1], a[i1, k0:k1], a[i2, k0:k1], a[i3, k0:k1]
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
                # indices 0..len on slices: Numba drops its negative-index test (SIMD)
                for k in range(k1 - k0):
                    x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
                    y0, y1, y2, y3 = b0[k], b1[k], b2[k], b3[k]
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s03 += x0 * y3
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s13 += x1 * y3
                    s20 += x2 * y0
                    s21 += x2 * y1
                    s22 += x2 * y2
                    s23 += x2 * y3
                    s30 += x3 * y0
                    s31 += x3 * y1
                    s32 += x3 * y2
                    s33 += x3 * y3
                c[i, j] += s00
                c[i, j + 1] += s01
                c[i, j + 2] += s02
                c[i, j + 3] += s03
                c[i + 1, j] += s10
                c[i + 1, j + 1] += s11
                c[i + 1, j + 2] += s12
                c[i + 1, j + 3] += s13
                c[i + 2, j] += s20
                c[i + 2, j + 1] += s21
                c[i + 2, j + 2] += s22
                c[i + 2, j + 3] += s23
                c[i + 3, j] += s30
                c[i + 3, j + 1] += s31
                c[i + 3, j + 2] += s32
                c[i + 3, j + 3] += s33


def matmul_nt_reference(a, b_t):
    """The NumPy twin: ``a @ b_t.T``."""
    return a @ b_t.T
