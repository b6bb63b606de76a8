"""Timing helpers shared by the benchmark files.

The machines are shared and noisy, so: warm up first (Numba compiles on first use),
time minigrad and its reference in alternating phases so a burst of background load
hits both, and report medians and their ratio, never a single absolute time. PyTorch
runs in a process of its own (``reference.py`` says why).
"""

from __future__ import annotations

import atexit
import os
import statistics
import time

from benchmarks import reference

def threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def _phase_runner(side):
    """A function (k, warm) -> k call times, after ``warm`` seconds of untimed calls:
    local calls, or a :class:`reference.RemoteCase` timed in its own process."""
    if isinstance(side, reference.RemoteCase):
        return side.phase

    def local(k, warm=0.0):
        reference._warm(side, warm)
        ts = []
        for _ in range(k):
            t0 = time.perf_counter()
            side()
            ts.append(time.perf_counter() - t0)
        return ts
    return local


def time_pair(f, g, repeats, warmup=3, phases=5, settle=0.2, warm=0.05):
    """Median seconds per call of f and g (callables, or PyTorch cases running in the
    reference process), timed in alternating *phases*.

    Each side runs ``repeats / phases`` calls in a row, then the other side does, and
    so on: a burst of background load then hits both sides alike. Before each phase we
    pause for ``settle`` seconds, then make untimed calls for ``warm`` seconds (at
    least two): after the pause thread pools sleep and caches are cold, while a
    training loop runs warm (0.1 ms kernels measured up to 1.6x slower with only two
    warm-up calls). Why the pause: both sides keep
    thread pools (OpenBLAS, Numba's and PyTorch's OpenMP), and a pool keeps spinning on
    the cores for a while after its last call. Timed right after the other side, a
    kernel shared the 2 cores with those spinners: alternating every 5 calls made
    PyTorch's 32x15x15 conv 2.5x slower (8.5 instead of 3.4 ms) and minigrad's
    blocked matmul 2x slower. A user runs one framework at a time, so each side is
    timed in its own steady state.
    """
    run_f, run_g = _phase_runner(f), _phase_runner(g)
    run_f(warmup, warm)
    run_g(warmup, warm)
    times_f, times_g = [], []
    per_phase = max(1, -(-repeats // phases))
    while len(times_f) < repeats:
        for run, times in ((run_f, times_f), (run_g, times_g)):
            time.sleep(settle)
            times += run(per_phase, warm)
    return statistics.median(times_f), statistics.median(times_g)


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


_reference = None
TORCH_MALLOC = "default"  # or "kept": see reference.malloc_environment (run.py --torch-malloc)


def load_torch():
    """The PyTorch reference process (started once, with our thread count), or None
    when PyTorch is not installed: it is an optional reference only."""
    global _reference
    if _reference is None:
        _reference = reference.start(threads(), TORCH_MALLOC) or False
        if _reference:
            atexit.register(_reference.close)
    return _reference or None
