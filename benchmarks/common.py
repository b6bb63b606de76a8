"""Timing helpers shared by the benchmark files.

The machines are shared and noisy, so: warm up first (Numba compiles on first use),
time minigrad and its reference *alternately* so a burst of background load hits both,
and report medians and their ratio, never a single absolute time.
"""

from __future__ import annotations

import os
import statistics
import time

# NumPy before PyTorch: OpenBLAS (NumPy's BLAS) sizes its thread pool from the
# process's CPU mask *when it loads*. PyTorch's OpenMP start-up with OMP_PROC_BIND=true
# pins the process to CPU 0, and an OpenBLAS loaded after that ran every matrix
# product on 1 thread (measured: a 1024^3 product at 122 instead of 227 GFLOP/s).
import numpy  # noqa: F401

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


def time_pair(f, g, repeats, warmup=3, phases=3, settle=0.2):
    """Median seconds per call of f() and g(), timed in alternating *phases*.

    Each side runs ``repeats / phases`` calls in a row, then the other side does, and
    so on: a burst of background load then hits both sides alike. Before each phase we
    pause for ``settle`` seconds and make two untimed calls. Why: both sides keep a
    thread pool (OpenBLAS, Numba's and PyTorch's OpenMP), and a pool keeps spinning on
    the cores for a while after its last call. Timed right after the other side, a
    kernel shared the 2 cores with those spinners: alternating every 5 calls made
    PyTorch's 32x15x15 conv 2.5x slower (8.5 instead of 3.4 ms) and minigrad's
    blocked matmul 2x slower. A user runs one framework at a time, so each side is
    timed in its own steady state.
    """
    for _ in range(warmup):
        f()
        g()
    times = {f: [], g: []}
    per_phase = max(1, -(-repeats // phases))
    while len(times[f]) < repeats:
        for fn in (f, g):
            time.sleep(settle)
            fn()
            fn()
            for _ in range(per_phase):
                t0 = time.perf_counter()
                fn()
                times[fn].append(time.perf_counter() - t0)
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
