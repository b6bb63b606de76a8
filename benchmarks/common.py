"""Timing helpers shared by the benchmark files.

The machines are shared and noisy, so: warm up first (Numba compiles on first use),
time minigrad and its reference *alternately* so a burst of background load hits both,
and report medians and their ratio, never a single absolute time.
"""

from __future__ import annotations

import os
import statistics
import time

try:
    # Imported before minigrad's kernels: minigrad.kernels._jit sets OMP_WAIT_POLICY
    # (passive) for Numba's threads, and PyTorch must not inherit that setting.
    import torch as _torch
except ImportError:
    _torch = None

# With OMP_PROC_BIND=true, PyTorch's OpenMP start-up pins the *main* thread to CPU 0,
# and every thread started later (Numba's pool, first used after this) inherits that
# one-CPU mask: minigrad's parallel kernels then ran on a single core (measured: the
# blocked matmul at 40 instead of 85 GFLOP/s). PyTorch's own threads are already
# placed; give the rest of the process both cores back.
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, range(os.cpu_count() or 1))


def threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def time_pair(f, g, repeats, warmup=3, block=5):
    """Median seconds per call of f() and g(), timed in alternating blocks of calls."""
    for _ in range(warmup):
        f()
        g()
    times = {f: [], g: []}
    done = 0
    while done < repeats:
        k = min(block, repeats - done)
        for fn in (f, g):
            for _ in range(k):
                t0 = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - t0)
        done += k
    return statistics.median(times[f]), statistics.median(times[g])


def time_one(f, repeats, warmup=3):
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def row(case, t_mg, ref_name, t_ref, **extra):
    """One result: times in ms, ratio = minigrad / reference (< 1: minigrad is faster)."""
    return dict(case=case, minigrad_ms=t_mg * 1e3, ref_name=ref_name,
                ref_ms=None if t_ref is None else t_ref * 1e3,
                ratio=None if t_ref is None else t_mg / t_ref, **extra)


def load_torch():
    """PyTorch with our thread count, or None: it is an optional reference only."""
    if _torch is not None:
        _torch.set_num_threads(threads())
    return _torch
