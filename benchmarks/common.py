"""Timing helpers shared by the benchmark files.

The machines are shared and noisy, so: warm up first (Numba compiles on first use),
time minigrad and its reference *alternately* so a burst of background load hits both,
and report medians and their ratio, never a single absolute time.
"""

from __future__ import annotations

import os
import statistics
import time


def threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def time_pair(f, g, repeats, warmup=3):
    """Median seconds of f() and g(), timed alternately after a warm-up."""
    for _ in range(warmup):
        f()
        g()
    tf, tg = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        t1 = time.perf_counter()
        g()
        t2 = time.perf_counter()
        tf.append(t1 - t0)
        tg.append(t2 - t1)
    return statistics.median(tf), statistics.median(tg)


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
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads())
    return torch
