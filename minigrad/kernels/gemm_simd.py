"""``C = A @ B`` with an 8 x 32 block of C held in vector registers: a BLAS micro-kernel in Numba.

**The micro-kernel.**  Take 8 rows of C and 32 columns (two 16-float vectors).  Those
256 sums fit in 16 of the CPU's 32 vector registers, and they can stay there for the
whole sum over k: at each step, load the two vectors ``B[k, j:j+32]``, and for each
of the 8 rows broadcast the one number ``A[i, k]`` into a vector and do two fused
multiply-adds.  That is 16 multiply-adds of 16 lanes for 10 loads -- the loads never
hold the arithmetic up -- and C is written once, at the end.  It is the way the
assembly kernels of BLAS libraries work (Goto and van de Geijn, "Anatomy of
high-performance matrix multiplication", 2008); :mod:`minigrad.kernels.simd` supplies
the vector loads, broadcasts and multiply-adds as Numba functions.

**Why write it when NumPy has BLAS?**  NumPy's OpenBLAS runs its AVX2 kernels on the
machines this course is measured on (8 floats per instruction), while their CPUs
execute AVX-512 (16).  Measured on one core, float32, GFLOP/s, this kernel against
``np.matmul`` (2026-11-24): the Winograd products of a 32->64 3x3 layer, 16 x (64 x 32)
@ (32 x 1568): 214 vs 118; the same transposed, (32 x 64) @ (64 x 1568): 210 vs 112;
(64 x 288) @ (288 x 1024): 187 vs 121; (128 x 512) @ (512 x 512): 201 vs 124.
The other side of that coin: compiled for a CPU with AVX2 only, each 16-float vector
is two 8-float halves, the 16 accumulators need 32 registers where AVX2 has 16, and
the kernel ran at 0.7x BLAS's speed -- so the callers use it only where Numba
compiles for AVX-512 (``simd.WIDE_VECTORS``) and keep BLAS elsewhere.

**What it leaves out**, and BLAS does not: packing (copying blocks of A and B into
the order the kernel reads them), blocking the k axis for the caches, and threads.
For the products here -- a few dozen rows of A, B small enough to stay in the L2
cache while each band of 8 rows of C is computed -- the rows of B are read straight
from the array, A's column of 8 numbers comes from the cache, and the threads are
minigrad's own (``parallel.py``).  Measured on small sums too (k = 1 to 24, the
input gradients of convolutions with few channels): 1.3-20x faster than BLAS.  Rows
past the last full block of 8 go one at a time; columns past the last full block of
32 are copied into a zero-padded block of their own.

Determinism: each sum adds its terms in order of k, always: the same bits on every
run (but not the same bits as BLAS, which groups them differently).
"""

from __future__ import annotations

import numpy as np

from . import simd
from ._jit import jit, prange

__all__ = ["matmul", "matmul_to", "planes_to", "matmul_into", "matmul_planes", "applies", "pays_off",
           "all_compiled"]

_ROWS = 8  # rows of C per register block (x 2 vectors: 16 accumulators)


def applies(a, b, out) -> bool:
    """The kernel's conditions: float32 or float64, one dtype, 2-D (or stacks of 2-D)
    arrays, matching shapes, and the rows of ``b`` and ``out`` contiguous (any row
    stride), since they are read and written a vector at a time.  ``a`` is read one
    number at a time, so any layout will do (a transposed view included)."""
    return (a.ndim >= 2 and b.ndim >= 2 and out.ndim >= 2
            and a.dtype == b.dtype == out.dtype and a.dtype in (np.float32, np.float64)
            and a.shape[-1] == b.shape[-2] and out.shape[-2:] == (a.shape[-2], b.shape[-1])
            and out.flags.writeable
            # (NumPy >= 2 gives empty arrays zero strides: nothing is loaded or stored then)
            and all(x.size == 0 or x.strides[-1] == x.itemsize for x in (b, out))
            # the kernel writes C while it still reads A and B: no overlap (np.matmul copies)
            and not np.may_share_memory(out, a) and not np.may_share_memory(out, b))


def pays_off(n_columns, dtype) -> bool:
    """Does this kernel beat BLAS for a result ``n_columns`` wide?  Only on a CPU with
    AVX-512 (``simd.WIDE_VECTORS``: compiled for AVX2 it ran at 0.7x BLAS's speed), and
    for at least one block of columns (2 vectors): the 10 classes of a last layer
    would be computed as a zero-padded block of 32 columns, 3x the work (on the
    loops for leftover columns they had made the digits CNN step 20% slower)."""
    return simd.WIDE_VECTORS and n_columns >= 2 * simd.lanes(dtype)


def all_compiled(n_columns, dtype, dots=None) -> bool:
    """Do a chunk's products all run as compiled code -- this kernel for results
    ``n_columns`` wide and, given ``dots=(a_shape, b_t_shape)``, gemm_nt's tiled dots
    for ``a @ b_t.T`` -- rather than BLAS, which is called from Python?  Then the
    chunk can be one compiled call that keeps no GIL (conv.py, "One compiled call per
    chunk")."""
    from .gemm_nt import matmul_nt_path
    if np.dtype(dtype) not in (np.float32, np.float64) or not pays_off(n_columns, dtype):
        return False
    return dots is None or matmul_nt_path(*dots, dtype) == "tiled dots"


def matmul(a, b):
    """``a @ b`` for 2-D arrays: the register-blocked kernel where it :func:`applies`
    and :func:`pays_off`, else NumPy's ``matmul`` (other dtypes, a ``b`` with strided
    rows, narrow outputs, a CPU without AVX-512)."""
    if a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    return matmul_to(a, b, np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b)))


def matmul_to(a, b, out):
    """:func:`matmul` into a given 2-D ``out`` (a slice of a bigger result, say)."""
    if pays_off(out.shape[-1], out.dtype) and applies(a, b, out):
        _product(a, b, out)
    else:
        np.matmul(a, b, out=out)
    return out


def planes_to(a, b, out):
    """``out[p] = a[p] @ b[p]`` for stacks (Winograd's 16 products): the kernel in one
    call where it applies and pays off, else NumPy's ``matmul``."""
    if (pays_off(out.shape[-1], out.dtype) and applies(a, b, out)
            and a.ndim == b.ndim == out.ndim == 3 and a.shape[0] == b.shape[0] == out.shape[0]):
        _planes(a, b, out)
    else:
        np.matmul(a, b, out=out)
    return out


def matmul_into(a, b, out):
    """``out[...] = a @ b`` for 2-D arrays (see :func:`applies`)."""
    if not applies(a, b, out) or a.ndim != 2 or b.ndim != 2 or out.ndim != 2:
        raise ValueError(f"matmul_into needs 2-D float arrays, (m, k) @ (k, n) -> (m, n), the rows of the "
                         f"second and of the output contiguous, the output writable and apart "
                         f"from the inputs, got {a.shape} {a.dtype} @ {b.shape} {b.dtype} -> {out.shape} {out.dtype}")
    _product(a, b, out)
    return out


def matmul_planes(a, b, out):
    """``out[p] = a[p] @ b[p]`` for stacks of matrices (P, m, k) @ (P, k, n) -> (P, m, n):
    one call for Winograd's 16 products."""
    if not applies(a, b, out) or not (a.ndim == b.ndim == out.ndim == 3) or not (
            a.shape[0] == b.shape[0] == out.shape[0]):
        raise ValueError(f"matmul_planes needs stacks (p, m, k) @ (p, k, n) -> (p, m, n) of float arrays, "
                         f"the rows of the second and of the output contiguous, got {a.shape} @ {b.shape} -> {out.shape}")
    _planes(a, b, out)
    return out


@jit(nogil=True)
def _planes(a, b, out):
    for p in range(a.shape[0]):
        _product(a[p], b[p], out[p])


@jit(nogil=True, inline="always")
def _product(a, b, c):
    """c = a @ b: blocks of 8 rows x 2 vectors, then the rows left over one at a time,
    then the columns left over (fewer than 2 vectors) as one more, zero-padded block.

    Rows of blocks outermost: C is written row block by row block, 8 streams running
    left to right.  (Columns of blocks outermost wrote 8-row bands down all of C --
    many short, scattered streams -- and with few terms per sum the writes set the
    pace: 2-3x slower for k = 6 to 16.)"""
    m, depth = a.shape
    n = b.shape[1]
    width = 2 * simd.lanes_of(c)   # 32 float32 or 16 float64 columns per block
    n_blocked = n - n % width
    m_blocked = m - m % _ROWS
    for i in range(0, m_blocked, _ROWS):
        for j in range(0, n_blocked, width):
            _block_8_rows(a, b, c, i, j)
    for i in range(m_blocked, m):
        for j in range(0, n_blocked, width):
            _block_1_row(a, b, c, i, j)
    if n_blocked < n:
        # the columns left over: copied into one zero-padded block, computed as a
        # block, copied back (column by column, these sums ran 10x slower)
        rest = n - n_blocked
        b_rest = np.zeros((depth, width), c.dtype)
        b_rest[:, :rest] = b[:, n_blocked:]
        c_rest = np.empty((m, width), c.dtype)
        for i in range(0, m_blocked, _ROWS):
            _block_8_rows(a, b_rest, c_rest, i, 0)
        for i in range(m_blocked, m):
            _block_1_row(a, b_rest, c_rest, i, 0)
        c[:, n_blocked:] = c_rest[:, :rest]


@jit(parallel=True)
def _product_pair(a0, b0, c0, a1, b1, c1):
    """``c0 = a0 @ b0`` and ``c1 = a1 @ b1`` at once, on Numba's threads (a product
    split in two by ``parallel.split_product``)."""
    for k in prange(2):
        if k == 0:
            _product(a0, b0, c0)
        else:
            _product(a1, b1, c1)


@jit(nogil=True, inline="always")
def _block_8_rows(a, b, c, i, j):
    """c[i:i+8, j:j+2L] = a[i:i+8] @ b[:, j:j+2L], 16 vector accumulators (L lanes).

    The accumulators are named one by one: LLVM keeps such locals in registers for the
    whole loop over k."""
    half = simd.lanes_of(c)
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = simd.zeros(c)
    c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = simd.zeros(c)
    for k in range(a.shape[1]):
        b0 = simd.load(b, k, j)
        b1 = simd.load(b, k, j + half)
        x = simd.splat(a[i, k])
        c00, c01 = simd.fma(x, b0, c00), simd.fma(x, b1, c01)
        x = simd.splat(a[i + 1, k])
        c10, c11 = simd.fma(x, b0, c10), simd.fma(x, b1, c11)
        x = simd.splat(a[i + 2, k])
        c20, c21 = simd.fma(x, b0, c20), simd.fma(x, b1, c21)
        x = simd.splat(a[i + 3, k])
        c30, c31 = simd.fma(x, b0, c30), simd.fma(x, b1, c31)
        x = simd.splat(a[i + 4, k])
        c40, c41 = simd.fma(x, b0, c40), simd.fma(x, b1, c41)
        x = simd.splat(a[i + 5, k])
        c50, c51 = simd.fma(x, b0, c50), simd.fma(x, b1, c51)
        x = simd.splat(a[i + 6, k])
        c60, c61 = simd.fma(x, b0, c60), simd.fma(x, b1, c61)
        x = simd.splat(a[i + 7, k])
        c70, c71 = simd.fma(x, b0, c70), simd.fma(x, b1, c71)
    simd.store(c, i, j, c00)
    simd.store(c, i, j + half, c01)
    simd.store(c, i + 1, j, c10)
    simd.store(c, i + 1, j + half, c11)
    simd.store(c, i + 2, j, c20)
    simd.store(c, i + 2, j + half, c21)
    simd.store(c, i + 3, j, c30)
    simd.store(c, i + 3, j + half, c31)
    simd.store(c, i + 4, j, c40)
    simd.store(c, i + 4, j + half, c41)
    simd.store(c, i + 5, j, c50)
    simd.store(c, i + 5, j + half, c51)
    simd.store(c, i + 6, j, c60)
    simd.store(c, i + 6, j + half, c61)
    simd.store(c, i + 7, j, c70)
    simd.store(c, i + 7, j + half, c71)


@jit(nogil=True, inline="always")
def _block_1_row(a, b, c, i, j):
    """c[i, j:j+2L] = a[i] @ b[:, j:j+2L]: a leftover row, two accumulators."""
    half = simd.lanes_of(c)
    c0 = c1 = simd.zeros(c)
    for k in range(a.shape[1]):
        x = simd.splat(a[i, k])
        c0 = simd.fma(x, simd.load(b, k, j), c0)
        c1 = simd.fma(x, simd.load(b, k, j + half), c1)
    simd.store(c, i, j, c0)
    simd.store(c, i, j + half, c1)
