"""Benchmarks of minigrad's kernels against NumPy and PyTorch.

Run: ``OMP_PROC_BIND=true OMP_NUM_THREADS=2 python -m benchmarks.bench_kernels``
(``--quick`` for fewer repeats).  :func:`run` returns one dict per case:

    case, minigrad_ms, ref_name ("numpy" / "torch"), ref_ms, ratio (= minigrad/ref
    time, so < 1 means minigrad is faster), and gflops for matmul cases.

How the numbers are made, and why:

* Every kernel is called a few times before timing, so Numba's compilation (seconds,
  once per process or once ever with the on-disk cache) is not counted.
* The minigrad calls and the reference calls are timed in **alternating phases**
  (``common.time_pair``): a run of calls of one side, a pause, a run of the other,
  repeated, and we report the median call.  A burst of background load then hits both
  sides; the pause lets the other side's thread pool stop spinning first.
* PyTorch gets the same number of threads as our Numba/BLAS code, and runs in a
  process of its own, fed the same arrays (``reference.py`` says why).
"""

from __future__ import annotations

import os
import sys

import numpy as np

if __package__ in (None, ""):  # allow `python benchmarks/bench_kernels.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import load_torch as _load_torch  # noqa: E402
from benchmarks.common import row as _row, time_one, time_pair as _time_pair  # noqa: E402
from minigrad import kernels as K  # noqa: E402  (lazy: loads Numba on first use)
from minigrad.kernels.gemm import matmul_blocked  # noqa: E402
from minigrad.kernels.reuse import run_scope  # noqa: E402
from minigrad.kernels.parallel import own_threads  # noqa: E402

CONV_SHAPES = [  # (Cin, H=W, Cout, kernel): LeNet-ish and small CIFAR-ish layers
    (1, 28, 6, 5),
    (6, 12, 16, 5),
    (3, 32, 32, 3),
    (32, 15, 64, 3),
]
BATCH = 64


def bench_matmul(repeats, quick):
    rows = []
    rng = np.random.default_rng(0)
    sizes = [64, 128, 256, 512] if quick else [64, 128, 256, 512, 1024]
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        reps = max(3, repeats // 4) if n >= 1024 else repeats
        t_mg, t_np = _time_pair(lambda: K.matmul(a, b), lambda: np.matmul(a, b), reps)
        rows.append(_row(f"matmul f32 N={n} [{K.matmul_path(a.shape, b.shape, a.dtype)}]",
                         t_mg, "numpy", t_np, gflops=2 * n**3 / t_mg / 1e9))
    n = 512
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    reps = max(3, repeats // 2)
    t_mg, t_np = _time_pair(lambda: matmul_blocked(a, b), lambda: np.matmul(a, b), reps)
    rows.append(_row(f"matmul f32 N={n} [blocked numba]", t_mg, "numpy", t_np,
                     gflops=2 * n**3 / t_mg / 1e9))
    return rows


def _conv_inputs(cin, hw, cout, k, rng):
    x = rng.standard_normal((BATCH, cin, hw, hw), dtype=np.float32)
    w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(cout, dtype=np.float32)
    return x, w, b


def bench_conv(repeats, ref):
    rows = []
    rng = np.random.default_rng(1)
    one, zero = (1, 1), (0, 0)
    for cin, hw, cout, k in CONV_SHAPES:
        x, w, b = _conv_inputs(cin, hw, cout, k, rng)
        y = K.conv2d_forward(x, w, b, one, zero, one)
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        path = K.conv2d_path(x.shape, w.shape, one, zero, one)

        def ours():
            # as the executor runs a training step: one run scope (the weight gradient
            # reuses the forward's rearranged input, minigrad/kernels/reuse.py),
            # minigrad's threads with BLAS on one thread (minigrad/kernels/parallel.py),
            # and both gradients in one call (minigrad/fusion.py)
            with run_scope(), own_threads():
                K.conv2d_forward(x, w, b, one, zero, one)
                K.conv2d_backward(gy, x, w, one, zero, one)

        def torch_version():
            return ref.load("case_conv", x, w, b, gy)

        case = f"conv2d fwd+bwd {BATCH}x{cin}x{hw}x{hw}->{cout} {k}x{k} [{path}]"
        rows.append(_versus_torch(case, ours, ref, torch_version, repeats))
    return rows


def _versus_torch(case, ours, ref, torch_version, repeats):
    """One row: ours against PyTorch's version, or ours alone when torch is missing."""
    if ref is None:
        return _row(case, time_one(ours, repeats), "torch", None, note="torch not installed")
    t_mg, t_ref = _time_pair(ours, torch_version(), repeats)
    return _row(case, t_mg, "torch", t_ref)


def bench_pool(repeats, ref):
    rows = []
    rng = np.random.default_rng(2)
    k2 = (2, 2)
    for cin, hw, cout, k in CONV_SHAPES:
        oh = hw - k + 1
        x = rng.standard_normal((BATCH, cout, oh, oh), dtype=np.float32)
        y = K.max_pool2d_forward(x, k2, k2, (0, 0))
        gy = rng.standard_normal(y.shape, dtype=np.float32)

        def ours():
            # as in a training step: a run scope, in which the forward leaves each
            # window's winner for the backward on short rows (the 8x8 case;
            # minigrad/kernels/pool_2x2.py)
            with run_scope():
                yy = K.max_pool2d_forward(x, k2, k2, (0, 0))
                K.max_pool2d_backward(gy, x, yy, k2, k2, (0, 0))

        def torch_version():
            return ref.load("case_max_pool", x, gy)

        case = f"max_pool2d 2x2 fwd+bwd {BATCH}x{cout}x{oh}x{oh}"
        rows.append(_versus_torch(case, ours, ref, torch_version, repeats))
    return rows


def run(repeats=30, quick=False):
    """All kernel benchmarks; returns a list of result dicts (see module docstring)."""
    if quick:
        repeats = max(5, repeats // 3)
    ref = _load_torch()
    return bench_matmul(repeats, quick) + bench_conv(repeats, ref) + bench_pool(repeats, ref)


if __name__ == "__main__":
    from benchmarks.run import print_table
    print_table(run(quick="--quick" in sys.argv))
