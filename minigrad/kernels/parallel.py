"""minigrad's own threads: split a batch over the cores, with BLAS on one thread.

Why not simply let each step use all cores?  A Winograd or im2col convolution is a
chain of steps over the *whole* batch: a rearranging loop (one core), a matrix product
(BLAS, all cores), another rearranging loop (one core).  Two things go wrong:

* Each step streams megabytes through memory (the 32->64 layer of a CIFAR CNN writes
  a 13 MB tile matrix only to read it back from main memory in the next step).
* While one core rearranges, the other waits; and making the loops parallel too
  (Numba's ``prange``) put Numba's thread pool and OpenBLAS's thread pool on the same
  two cores in quick succession, which fought (``_jit.py``: a 1 ms conv took 8-24 ms).

So the conv kernels cut the batch into one chunk of images per core and run the
*whole chain* for each chunk on one thread: rearrange, multiply, rearrange.  The
chunks run at the same time on a small pool of plain Python threads (the Numba loops
release the GIL -- ``nogil=True`` -- and so does NumPy's matrix product), with BLAS on
one thread meanwhile.  A chunk's intermediate matrices are half the size, and no core
waits for another.  Measured on the 32->64 layer (batch 64, 2 cores, forward and both
gradients): 7.7 ms whole-batch, 6.1 ms in chunks.

**One pool at a time.**  OpenBLAS's own threads keep spinning for a while after each
product; if our threads start then, three busy threads share two cores and the
operating system sorts it out in 4 ms time slices (a CIFAR step took 18 instead of 12
ms).  So the executor runs a whole plan that contains such kernels inside
:func:`own_threads`: BLAS stays on one thread for the entire run, and the matrix
products of the dense layers are split by rows on our threads instead
(:func:`split_rows`) -- the way PyTorch runs its own thread pool over a sequential
BLAS.  Outside such runs nothing changes: NumPy's BLAS uses its threads as usual.

Determinism: the chunks are fixed by the batch size and the number of cores (never by
timing), each writes its own slice of the output, and results that add up over chunks
(a weight gradient) are summed in chunk order afterwards -- the same bits on every run.

Small problems run as one chunk on the calling thread: waking threads costs some
tens of microseconds.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

from . import reuse


def _allowed_cpus():
    """The CPUs this process may use.  Not simply the calling thread's affinity: with
    OMP_PROC_BIND=true (as the Makefile and benchmarks set) an OpenMP runtime pins
    the thread that starts it -- Python's main thread, when scikit-learn is imported
    or Numba runs its first parallel loop -- to one CPU, and threads started later
    inherit that.  A single CPU under OMP_PROC_BIND is taken to be that pinning."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    mine = frozenset(os.sched_getaffinity(0))
    if len(mine) == 1 and os.environ.get("OMP_PROC_BIND", "").lower() not in ("", "false"):
        return frozenset(range(os.cpu_count() or 1))
    return mine


# Our threads get this set back (``_free_thread``), whatever the starting thread had.
ALLOWED_CPUS = _allowed_cpus()

# Below this many multiply-adds a conv kernel runs as one chunk on the calling thread.
# Inside :func:`own_threads` (a run of the executor) BLAS is on one thread, so one
# chunk means one core: chunks pay from small sizes on.  Called on its own, a kernel
# has BLAS's threads for one chunk, and switching BLAS to one thread and back for a
# single call costs more than it saves on small convs.  Measured fwd+bwd, batch 64,
# one chunk / a chunk per core, in a run | called alone:
#   64x8x8x8 -> 8 3x3 (1.3M multiply-adds)   0.27 / 0.36 ms | 0.25 / 0.38 ms
#   64x1x28x28 -> 6 5x5 (5.5M)                0.89 / 0.88   | 0.80 / 1.00
#   64x6x12x12 -> 16 5x5 (9.8M)               0.90 / 0.67   | 0.62 / 1.01
#   64x3x32x32 -> 32 3x3 (50M)                5.3 / 2.9     | 3.6 / 2.9
#   64x32x15x15 -> 64 3x3 (100M, Winograd)    10.8 / 5.6    | 7.5 / 5.6
MIN_PARALLEL_WORK_IN_RUN = 4_000_000
MIN_PARALLEL_WORK = 20_000_000
# ... and a matrix product inside :func:`own_threads` (rows split over the threads).
MIN_PARALLEL_MATMUL = 1_000_000

_lock = threading.Lock()
_pool = None
_blas = None  # threadpoolctl's controller for the BLAS NumPy uses, or False if none
_state = threading.local()  # .own: inside own_threads() on this thread


def cores() -> int:
    """The cores this process may run on (see ``_allowed_cpus``)."""
    return len(ALLOWED_CPUS) if ALLOWED_CPUS else (os.cpu_count() or 1)


def _pin_helper(index):
    """Pin helper thread ``index`` (1, 2, ...) to a CPU of its own.

    Not left to the scheduler: helpers sleep between chunks, and a thread woken by
    another is placed next to it; after an idle moment the helper and the calling
    thread ended up sharing one CPU for as long as the work came in short bursts
    (a 0.66 ms conv took 0.95 ms after 0.3 s of idling, call after call).  The caller
    takes the first CPU for the time of a run (``_pin_caller``; OpenMP pins it there
    anyway under OMP_PROC_BIND)."""
    if ALLOWED_CPUS:
        cpus = sorted(ALLOWED_CPUS)
        try:
            os.sched_setaffinity(0, {cpus[index % len(cpus)]})  # 0: the calling thread
        except OSError:  # not allowed here: leave it to the scheduler
            pass


def _blas_controller():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = ThreadpoolController().select(user_api="blas") or False
        except Exception:  # threadpoolctl missing or unable to inspect: stay serial
            _blas = False
    return _blas


class _Worker:
    """One helper thread that runs the jobs put in its queue, one after the other."""

    def __init__(self, index):
        self.index = index
        self.jobs = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=f"minigrad-{index}", daemon=True).start()

    def _loop(self):
        _pin_helper(self.index)
        while True:
            job, table, done = self.jobs.get()
            try:
                with reuse.shared_with(table):  # the caller's run scope (reuse.py)
                    done.put((True, job()))
            except BaseException as err:  # handed back to the caller, raised there
                done.put((False, err))


def _workers():
    """The helper threads (one fewer than the cores: the calling thread works too)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = [_Worker(i) for i in range(1, cores())]
        return _pool


def _forget_workers():
    """In a child made by ``fork`` only the forking thread exists: start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


_openmp_started = False


def _start_openmp():
    """Start Numba's OpenMP thread pool (used by the pooling kernels) *before* the
    caller is pinned: OpenMP lays out its threads over the CPUs the starting thread
    may use, and started inside a pinned run it put all of them on one CPU (the
    pooling backward of a CIFAR step: 0.84 instead of 0.4 ms)."""
    global _openmp_started
    if not _openmp_started:
        _openmp_started = True
        import numba
        numba.get_num_threads()  # launches the threading layer


def _pin_caller():
    """Pin the calling thread to the first allowed CPU (the helpers have the others,
    see ``_pin_helper``); return its previous CPU set to restore, or ``None``."""
    if not ALLOWED_CPUS:
        return None
    _start_openmp()
    before = os.sched_getaffinity(0)
    first = {min(ALLOWED_CPUS)}
    if before == first:
        return None
    try:
        os.sched_setaffinity(0, first)
    except OSError:
        return None
    return before


@contextlib.contextmanager
def own_threads():
    """For one run of a plan: BLAS on one thread, big products split on our threads."""
    blas = _blas_controller()
    if cores() < 2 or not blas or getattr(_state, "own", False):
        yield
        return
    _state.own = True
    caller = _pin_caller()
    try:
        with blas.limit(limits=1):
            yield
    finally:
        _state.own = False
        if caller is not None:
            os.sched_setaffinity(0, caller)


def chunks(n, work, min_work=None):
    """The ranges ``(start, stop)`` that ``n`` rows or images are cut into: one per
    core when ``work`` (multiply-adds of the whole call) is at least ``min_work``,
    else a single range.  (``min_work`` defaults to the thresholds above.)"""
    workers = cores()
    if min_work is None:
        min_work = MIN_PARALLEL_WORK_IN_RUN if in_own_threads() else MIN_PARALLEL_WORK
    if workers < 2 or n < 2 or work < min_work or not _blas_controller():
        return [(0, n)]
    count = min(n, workers)
    return [(n * k // count, n * (k + 1) // count) for k in range(count)]


def map_chunks(fn, n, work, min_work=None):
    """``[fn(start, stop) for each chunk]``, in chunk order; several chunks run on the
    thread pool with BLAS on one thread (see the module docstring)."""
    ranges = chunks(n, work, min_work)
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    table = reuse.current_table()
    workers = _workers()
    if not workers:
        return [fn(*r) for r in ranges]
    with own_threads():
        replies = []
        for i, (start, stop) in enumerate(ranges[1:]):
            reply = queue.SimpleQueue()
            workers[i % len(workers)].jobs.put((lambda a=start, b=stop: fn(a, b), table, reply))
            replies.append(reply)
        results = [fn(*ranges[0])]  # the first chunk on the calling thread
        for reply in replies:
            ok, value = reply.get()
            if not ok:
                raise value
            results.append(value)
    return results


def in_own_threads() -> bool:
    """Inside :func:`own_threads` on this thread (BLAS on one thread)?"""
    return getattr(_state, "own", False)


def split_rows(a, b):
    """``a @ b`` for 2-D ``a`` and ``b`` with the rows of ``a`` split over our threads
    (for :func:`own_threads` runs, where BLAS is on one thread)."""
    import numpy as np
    m, k = a.shape
    out = np.empty((m, b.shape[1]), dtype=np.result_type(a, b))

    def rows(start, stop):
        np.matmul(a[start:stop], b, out=out[start:stop])

    map_chunks(rows, m, m * k * b.shape[1], MIN_PARALLEL_MATMUL)
    return out


def sum_in_order(parts):
    """``parts[0] + parts[1] + ...``, left to right: results that add up over chunks
    (a weight gradient, channel sums) get the same bits on every run."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
