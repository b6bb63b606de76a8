"""Matrix multiplication: the fast path, a readable blocked kernel, and the reference.

Why not write our own fast matmul?  A tuned BLAS (OpenBLAS, shipped inside NumPy)
uses hand-written assembly micro-kernels, packs panels of A and B into
cache-friendly buffers, and splits the work over threads.  On this course's reference
machine it reaches ~250 GFLOP/s in float32 at N=512 on 2 cores; a clean Numba loop
nest reaches a fraction of that.  So :func:`matmul` hands big products, and all
products on CPUs without AVX-512, to BLAS through ``np.matmul`` -- the engineering is
in *knowing* that, and in measuring it (see ``benchmarks/bench_kernels.py``).

Where the CPU has AVX-512, mid-sized products (2-34 MFLOP) run on the
register-blocked micro-kernel of ``gemm_simd.py`` -- the BLAS idea written in Numba
with whole AVX-512 vectors, faster per core here than NumPy's AVX2 BLAS -- and inside
a training run, where minigrad's own threads share out the work and BLAS is kept on
one thread (``parallel.py``), big products are split over those threads, each part
on that kernel.  :func:`matmul_path` says which ran.

:func:`matmul_blocked` is the kernel to *study* first: it shows the two ideas that
make a matmul fast -- cache blocking and a vectorisable inner loop -- in about 20
lines; ``gemm_simd.py`` adds the third, a block of the result held in registers.
"""

from __future__ import annotations

import numpy as np

from . import gemm_simd, parallel
from ._jit import jit, prange

__all__ = ["matmul", "matmul_path", "matmul_blocked", "matmul_reference"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def matmul_path(a_shape, b_shape, dtype, b_rows_contiguous=True, b_dtype=None, b_transposed=False) -> str:
    """Name of the code path :func:`matmul` takes for these shapes (shown in traces).

    * ``"blas"``  -- float32/float64: NumPy's ``matmul``, which calls BLAS ``gemm``
      (once per matrix for batched inputs) on all cores: batched products, small and
      big ones, narrow ones, and a ``b`` read down its columns;
    * ``"registers"`` -- a 2-D product of ``ONE_CORE_MIN_FLOPS`` to
      ``ONE_CORE_MAX_FLOPS``, at least two vectors wide, with ``b``'s rows contiguous:
      ``gemm_simd.py``'s register-blocked kernel on the calling thread (measured as
      fast as BLAS on two cores, or faster);
    * ``"registers, split over threads"`` -- inside a run where minigrad's threads
      share out the work (``parallel.own_threads``), a big 2-D product is split over
      those threads, and each part runs on ``gemm_simd.py``'s register-blocked kernel
      (AVX-512 wide, where NumPy's BLAS is AVX2 here) -- when the rows of ``b`` are
      contiguous and the result is at least two vectors wide;
    * ``"registers, transposed, split over threads"`` -- ``b`` is a transposed
      matrix (``b_transposed``: ``b.T`` is C-contiguous, as in a dense layer's input
      gradient ``g @ w.T``): the same split and kernel compute ``b.T @ a.T``, and the
      result is turned around (``parallel.split_product``);
    * ``"blas, split over threads"`` -- the same split, each part on BLAS (another
      ``b`` read down its columns, or a narrow result).
    * ``"numpy"`` -- any other dtype (ints, bools): NumPy's own non-BLAS loops.

    ``dtype`` is ``a``'s; ``b_dtype``, when given and different, means NumPy promotes
    the two and BLAS (or NumPy's loops) runs.  The register paths need a CPU with
    AVX-512 (``simd.WIDE_VECTORS``).
    """
    if b_dtype is not None and np.dtype(b_dtype) != np.dtype(dtype):
        return "blas" if np.result_type(dtype, b_dtype) in _FLOATS else "numpy"
    if np.dtype(dtype) not in _FLOATS:
        return "numpy"
    if _shared_out(a_shape, b_shape):
        if b_rows_contiguous and gemm_simd.pays_off(b_shape[1], dtype):
            return "registers, split over threads"
        if b_transposed and not b_rows_contiguous and gemm_simd.pays_off(a_shape[0], dtype):
            return "registers, transposed, split over threads"
        return "blas, split over threads"
    return "registers" if _on_one_core(a_shape, b_shape, dtype, b_rows_contiguous) else "blas"


def _shared_out(a_shape, b_shape) -> bool:
    """A 2-D product big enough to share out over minigrad's threads, in a run."""
    return (parallel.in_own_threads() and len(a_shape) == 2 and len(b_shape) == 2
            and a_shape[1] == b_shape[0] and a_shape[0] * a_shape[1] * b_shape[1] >= parallel.MIN_PARALLEL_MATMUL)


def matmul(a, b):
    """``a @ b`` with NumPy semantics: 2-D, or batched ``...ij,...jk`` with broadcast
    batch dimensions.  Output dtype follows NumPy's type promotion (float32 stays
    float32).  Which code runs: :func:`matmul_path`."""
    if a.dtype == b.dtype and a.dtype in _FLOATS:
        if _shared_out(a.shape, b.shape):
            return parallel.split_product(a, b)
        if _on_one_core(a.shape, b.shape, a.dtype, b.ndim == 2 and b.strides[1] == b.itemsize):
            return gemm_simd.matmul(a, b)
    return np.matmul(a, b)


# Up to this many floating-point operations (2*m*k*n), the register-blocked kernel on
# one core measured as fast as NumPy's BLAS on two, or faster, float32, 2026-11-24:
# 64x784 @ 784x128 (12.8 MFLOP, an MLP's first layer) 0.049 vs 0.055 ms, its weight
# gradient 0.048 vs 0.050, 128^3 0.018 vs 0.021, 256^3 (34 MFLOP) 0.130 vs 0.132; at
# 64x2304 @ 2304x128 (38 MFLOP) BLAS's second core won, 0.161 vs 0.187.
# Below ONE_CORE_MIN_FLOPS the call costs more than the arithmetic, and BLAS's call is
# cheaper (an MLP 64-32-10 step was 10% slower with its 0.3 MFLOP products here).
ONE_CORE_MAX_FLOPS = 34_000_000
ONE_CORE_MIN_FLOPS = 2_000_000


def _on_one_core(a_shape, b_shape, dtype, b_rows_contiguous) -> bool:
    """A 2-D product for the register-blocked kernel on the calling thread: big enough
    to pay for the call, small enough that BLAS's second core does not pay, wide
    enough for a block of columns, ``b``'s rows contiguous (``gemm_simd.applies``)."""
    return (len(a_shape) == 2 and len(b_shape) == 2 and a_shape[1] == b_shape[0] and b_rows_contiguous
            and ONE_CORE_MIN_FLOPS <= 2 * a_shape[0] * a_shape[1] * b_shape[1] <= ONE_CORE_MAX_FLOPS
            and gemm_simd.pays_off(b_shape[1], dtype))


def matmul_reference(a, b):
    """The NumPy twin every matmul path is tested against."""
    return np.matmul(a, b)


# Block sizes for matmul_blocked.  A (BM x BK) block of A, a (BK x BN) block of B and
# a (BM x BN) block of C together take (64*128 + 128*512 + 64*512) * 4 bytes = 416 KiB
# in float32 -- they stay in the 1-2 MiB L2 cache while they are reused, instead of
# being fetched from main memory again for every row.  (Chosen by a small sweep at
# N=512 and 1024; long BN rows keep the SIMD inner loop busy.)
_BM, _BN, _BK = 64, 512, 128


@jit(parallel=True, fastmath={"contract"})
def _matmul_blocked_into(a, b, c, bm, bn, bk):
    """``c += a @ b`` for 2-D C-contiguous arrays, cache-blocked.

    Loop structure, outermost first:

    1. row blocks of C (``prange``): independent outputs, so the two cores each take
       whole blocks and never write the same element -> results are bit-identical
       whatever the thread count;
    2. k blocks then column blocks: choose a (bm x bk) tile of A and a (bk x bn) tile
       of B that fit in cache together;
    3. inside the tiles, the i-k-j order: ``c[i, j0:j1] += a[i, k] * b[k, j0:j1]``
       (written as an explicit loop: a slice expression would allocate a temporary).  The
       innermost loop walks *rows* of B and C contiguously, so LLVM turns it into SIMD
       fused multiply-adds ("contract" allows a*b+c as one FMA instruction).

    Each c[i, j] accumulates its k terms in increasing k order, always: deterministic.
    """
    m, kdim = a.shape
    n = b.shape[1]
    for ib in prange((m + bm - 1) // bm):
        i0 = ib * bm
        i1 = min(i0 + bm, m)
        for k0 in range(0, kdim, bk):
            k1 = min(k0 + bk, kdim)
            for j0 in range(0, n, bn):
                j1 = min(j0 + bn, n)
                for i in range(i0, i1):
                    c_row = c[i, j0:j1]
                    for k in range(k0, k1):
                        aik = a[i, k]
                        b_row = b[k, j0:j1]
                        # Index 0..len on *views*: Numba then knows the index is never
                        # negative and drops its Python-style wrap-around test, which
                        # would otherwise block SIMD vectorisation of this loop.
                        for j in range(j1 - j0):
                            c_row[j] += aik * b_row[j]


def matmul_blocked(a, b):
    """2-D ``a @ b`` with the readable cache-blocked Numba kernel (for study/benchmarks)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul_blocked needs (m, k) @ (k, n), got {a.shape} @ {b.shape}")
    dtype = np.result_type(a.dtype, b.dtype)
    a = np.ascontiguousarray(a, dtype=dtype)
    b = np.ascontiguousarray(b, dtype=dtype)
    c = np.zeros((a.shape[0], b.shape[1]), dtype=dtype)
    _matmul_blocked_into(a, b, c, _BM, _BN, _BK)
    return c
