"""The one place where minigrad's kernels meet Numba.

Every kernel module decorates its loops with :func:`jit` (and uses :data:`prange`)
from here instead of calling ``numba.njit`` directly, for two reasons:

* **Caching that cannot break an install.**  ``cache=True`` stores the compiled
  machine code on disk, so the next Python process skips the (slow, seconds-long)
  compilation.  But Numba refuses to even *define* a cached function when it finds no
  writable place for the cache (read-only site-packages, a read-only
  ``NUMBA_CACHE_DIR``...): it raises ``RuntimeError`` at decoration time.  We catch
  that and fall back to an uncached function, which is only slower to start.
* **One switch for everyone.**  ``NUMBA_DISABLE_JIT=1`` is honoured by Numba itself:
  ``njit`` then returns the plain Python function and ``prange`` behaves like
  ``range``, so every kernel also runs (slowly) as ordinary, debuggable Python.

* **Two thread pools, politely sharing the cores.**  A training step alternates
  between Numba's parallel loops (an OpenMP thread pool) and BLAS matrix products
  (OpenBLAS's own pool).  By default OpenMP threads *spin* for a while after each
  parallel loop, waiting for more work; on a 2-core machine those spinning threads
  occupy the very cores OpenBLAS's threads need next, and the operating system sorts
  it out only at its next scheduler tick (4 ms here).  Measured: a 1 ms conv2d took
  8-24 ms, sometimes 280 ms.  So, unless the user chose otherwise, we ask OpenMP to
  put idle threads to sleep (``OMP_WAIT_POLICY=PASSIVE``) before Numba starts its
  pool.  (OpenBLAS's threads spin too, and that cannot be changed once NumPy is
  loaded: ``parallel.py`` keeps BLAS on one thread in runs where minigrad's own
  threads work.)
* **...but not at once.**  Asleep, an OpenMP thread takes 40-60 microseconds to
  start the next parallel loop (two empty ``prange`` loops: 120 us); spinning, one
  microsecond.  GNU OpenMP spins ``GOMP_SPINCOUNT`` rounds before it sleeps, and
  that setting wins over ``PASSIVE``: 30,000 rounds are 0.4-0.8 ms here, about as
  long as minigrad's own helpers spin (``spin.py``) -- long enough to carry a
  training step from one parallel loop to the next, short enough that a thread
  left spinning gives its CPU back soon.  Only on CPUs with AVX-512, where the conv
  chunks run on these threads (``parallel.run_chunks``), and only when the user has
  not chosen a wait policy.  (An OpenMP other than GNU's ignores it.)

This module is imported only by the kernel modules, never by
``minigrad.kernels.__init__``, so ``import minigrad`` stays free of Numba.
"""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import prange


def has_512_bit_vectors() -> bool:
    """Does the machine code Numba generates here have AVX-512 registers?  Read from
    the feature string Numba compiles with: ``NUMBA_CPU_FEATURES`` when set (empty for
    ``NUMBA_CPU_NAME=generic``), else the host's, as Numba itself reads them (which
    also applies ``NUMBA_ENABLE_AVX=0``).  Later flags override earlier ones; any
    enabled AVX-512 extension implies the foundation (``avx512f``).  (``simd.py``
    builds on it; it lives here because the OpenMP setting below depends on it.)"""
    features = numba.config.CPU_FEATURES
    if features is None:
        try:
            from numba.core.codegen import get_host_cpu_features
            features = get_host_cpu_features()
        except Exception:  # no feature list on this platform: assume the narrow case
            return False
    foundation = None
    extensions = False
    for flag in features.split(","):
        flag = flag.strip()
        if flag[1:] == "avx512f":
            foundation = flag.startswith("+")
        elif flag.startswith("+avx512"):
            extensions = True
    return foundation if foundation is not None else extensions


# Must happen before Numba loads its OpenMP runtime (at its first parallel loop, not
# at import): GNU OpenMP reads both settings when it loads.  Spinning only where the
# conv chunks run on OpenMP's threads (``parallel.run_chunks``): with AVX-512, where
# the chunks are compiled code.  Elsewhere they call BLAS from Python on minigrad's own
# helper thread, which a spinning OpenMP thread on its CPU held up (a CIFAR step
# compiled for AVX2: 12.4 -> 13.9 ms).
# (A user's own OMP_WAIT_POLICY stands: GOMP_SPINCOUNT would override it.)
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if has_512_bit_vectors():
        os.environ.setdefault("GOMP_SPINCOUNT", "30000")


def openmp_threads_spin() -> bool:
    """Do Numba's OpenMP threads spin between parallel loops (settings above, or the
    user's own)?  Only then is a ``prange`` loop a cheap way to start work on them."""
    spin = os.environ.get("GOMP_SPINCOUNT", "").strip()
    return (spin not in ("", "0") or os.environ.get("OMP_WAIT_POLICY", "").strip().lower() == "active")

from ..memory import keep_freed_memory  # noqa: E402

# The kernels allocate their big temporaries (im2col columns, Winograd tiles) fresh on
# every call; with freed blocks kept in the heap those land on warm pages instead of
# page-faulting new ones (see minigrad/memory.py).
keep_freed_memory()

__all__ = ["jit", "prange", "nonneg"]


def jit(func=None, **options):
    """``numba.njit(cache=True, **options)`` that degrades to ``cache=False``.

    Usable bare (``@jit``) or with options (``@jit(parallel=True)``).  The fallback
    happens when Numba cannot find any writable cache location for the source file;
    the kernel then still compiles on first call, just without reusing the result in
    later processes.

    One caveat for whoever edits the kernels: Numba checks a cached kernel against
    its *own* source file only.  A kernel that calls (and so compiles into itself) a
    function of another file -- the vector operations of ``simd.py``, ``nonneg``
    below -- keeps running the old machine code after that other file changes.
    After editing such a helper, delete the cache folder (``make clean``).
    """

    def decorate(f):
        try:
            return numba.njit(cache=True, **options)(f)
        except RuntimeError:
            # "cannot cache function ...: no locator available": nowhere to write.
            return numba.njit(cache=False, **options)(f)

    if func is not None:
        return decorate(func)
    return decorate


@jit
def nonneg(i):
    """Mark an index as non-negative.

    Numba treats a signed index that *might* be negative the Python way (count from
    the end), and that per-element test stops LLVM from turning the loop into SIMD
    code.  The kernels' computed indices are never negative, so they say so by
    converting them to an unsigned integer: no test, and the loops vectorise
    (measured 4-6x faster on long rows, 10x in the direct convolution).
    """
    return np.uint64(i)


@jit(parallel=True)
def _touch_thread_pool(out):
    for i in prange(out.size):
        out[i] = i


def start_thread_pool():
    """Run one tiny parallel loop, which makes Numba start its OpenMP threads now
    (``parallel.py`` needs them started before it pins the calling thread)."""
    import numpy as np
    _touch_thread_pool(np.zeros(4 * numba.get_num_threads()))
