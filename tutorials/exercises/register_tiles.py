"""Register tiling: a matrix product as 2x2 tiles of dot products, in Numba.

Exercise 8. Check your work with

    python -m minigrad.exercises check register_tiles

What to implement
-----------------
Two Numba functions that both return ``c = a @ b_t.T`` for float arrays ``a`` (M, K)
and ``b_t`` (N, K): every ``c[i, j]`` is the dot product of row i of ``a`` with row j
of ``b_t``. Both rows are contiguous in memory; the weight gradients of a convolution
have this shape (minigrad's ``kernels/gemm_nt.py``).

1. ``dots_one_at_a_time(a, b_t)``: for each (i, j), one loop over k with one sum.
2. ``dots_2x2(a, b_t)``: for each 2x2 tile of ``c`` -- rows i, i+1 and columns j, j+1
   -- ONE loop over k that updates four sums ``s00, s01, s10, s11`` from the two
   numbers ``a[i, k], a[i+1, k]`` and the two numbers ``b_t[j, k], b_t[j+1, k]``.
   When M or N is odd, the last row or column has no partner: compute those entries
   one at a time (or any other correct way).

Return a new float array of shape (M, N) and the dtype of ``a``; leave the inputs
unchanged. Keep the ``@numba.njit`` decorators.

Why
---
A multiply-add needs its two numbers in registers. One dot product at a time loads
two numbers for each multiply-add, so the loads, not the arithmetic, set the pace.
The 2x2 tile loads four numbers for four multiply-adds (each number is used twice),
and its four sums stay in registers for the whole loop. minigrad's kernels take this
further: ``gemm_nt.py`` uses 4x4 tiles (8 loads for 16 multiply-adds, 16 sums), and
``gemm_simd.py`` keeps an 8 x 32 block of the result in 16 vector registers.

Hints
-----
* Name the four sums as four local variables. LLVM keeps local scalars in registers;
  four sums kept in a small array would live in memory, loaded and stored at every
  step.
* ``range(0, m - 1, 2)`` visits the first row of every full pair; ``m % 2`` says
  whether one row is left.
* Start each sum at ``a.dtype.type(0)``, so float32 inputs are summed in float32.
* Compiled code does not notice Ctrl-C, nor the checker's time limit: if a check
  seems stuck in a loop that never ends, stop it with Ctrl-\\ (SIGQUIT) and look at
  how your loops step.
* Optional: ``@numba.njit(fastmath={"reassoc"})`` lets LLVM split each sum into the
  lanes of a vector register. Time both versions, with and without it, by running
  this file: ``python tutorials/exercises/register_tiles.py``.
"""

import time

import numba
import numpy as np


@numba.njit
def dots_one_at_a_time(a, b_t):
    """c[i, j] = sum over k of a[i, k] * b_t[j, k], one (i, j) at a time."""
    raise NotImplementedError("TODO: dots_one_at_a_time: one sum per (i, j), a loop over k")


@numba.njit
def dots_2x2(a, b_t):
    """c = a @ b_t.T, in 2x2 tiles: four sums per loop over k."""
    raise NotImplementedError("TODO: dots_2x2: four named sums per 2x2 tile, one loop over k")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 1024)).astype(np.float32)
    b_t = rng.standard_normal((256, 1024)).astype(np.float32)
    flops = 2 * a.shape[0] * a.shape[1] * b_t.shape[0]
    for name, f in [("one at a time", dots_one_at_a_time), ("2x2 tiles", dots_2x2),
                    ("NumPy (BLAS)", lambda a, b_t: a @ b_t.T)]:
        try:
            f(a, b_t)  # the first call compiles
        except NotImplementedError as todo:
            print(f"{name:14s} not implemented yet ({todo})")
            continue
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            f(a, b_t)
            times.append(time.perf_counter() - t0)
        print(f"{name:14s} {min(times) * 1e3:8.2f} ms  {flops / min(times) / 1e9:6.1f} GFLOP/s")
