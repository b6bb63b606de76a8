"""Split a batch over the cores, with BLAS on one thread: minigrad's own threads, and Numba's.

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
chunks run at the same time -- the first on the calling thread, the others on helper
threads (the Numba loops release the GIL, ``nogil=True``, and so does NumPy's matrix
product) -- with BLAS on one thread meanwhile.  A chunk's intermediate matrices are
half the size, and no core waits for another.  Measured on the 32->64 layer (batch
64, 2 cores, forward and both gradients): 7.7 ms whole-batch, 5.6 ms in chunks.

**One pool at a time.**  OpenBLAS's own threads keep spinning for a while after each
product; if our threads start then, three busy threads share two cores and the
operating system sorts it out in 4 ms time slices (a CIFAR step took 18 instead of 11
ms).  So the executor runs a whole plan that contains such kernels inside
:func:`own_threads`: BLAS stays on one thread for the entire run, and the matrix
products of the dense layers are shared out on our threads (or Numba's) instead
(:func:`split_product`) -- the way PyTorch runs its own thread pool over a sequential
BLAS.  Outside such runs, a product of two arrays (``kernels.matmul``) is NumPy's
BLAS on its threads, or a mid-sized one the register-blocked kernel on the calling
thread (``gemm.matmul_path``); a convolution still splits its batch over the threads,
with its products on the register-blocked kernels (``gemm_simd.py``, on CPUs with
AVX-512).

**Pinning, as OpenMP does when asked.**  With ``OMP_PROC_BIND`` set (the Makefile
and benchmarks set it: unpinned threads stall at random on these VMs), helper k runs
on the k-th allowed CPU and the calling thread on the first one for the time of a
run (OpenMP itself pins it there for good once Numba's first parallel loop runs);
helpers sleep between runs (after a short spin), and unpinned, the scheduler had put
helper and caller on one CPU after any idle moment (a 0.66 ms conv at 0.95 ms, call after call).  Without
``OMP_PROC_BIND`` nothing is pinned.  ``MINIGRAD_NUM_THREADS`` caps the number of
minigrad's threads (1: no helpers; BLAS and Numba keep their own threads).

Determinism: the chunks are fixed by the batch size, the number of threads and
whether the call runs inside :func:`own_threads` (never by timing); each chunk writes
its own slice of the output, and results that add up over chunks (a weight gradient,
channel sums) are summed in chunk order -- the same bits on every run of the same
program on the same machine.  (A different thread count can change the last bits.)

Small problems run as one chunk on the calling thread: handing work to a helper costs
about 25 microseconds.  Most of that is waking a sleeping thread, twice (the helper,
then the caller when the helper is done), so both *spin* for a while before they
sleep (``spin.py``, :data:`SPIN_ROUNDS`), as OpenMP threads do.  Measured
fwd+bwd in alternating processes: 64x6x12x12 -> 16 5x5 0.55 -> 0.49 ms, 64x32x15x15
-> 64 3x3 4.42 -> 4.30 ms, the CIFAR training step 9.1 -> 8.7 ms.  What is left is the
GIL: a helper that hears its bell while the caller still runs Python waits for the
GIL, asleep; a helper says it is done from inside its spin, when it holds no GIL
(``spin.finish_then_wait``).

**Numba's threads for chunks that are one compiled call.**  Where a conv chunk's
products all run on the register kernels, the whole chunk is one compiled function,
and two such chunks run at once in a ``prange`` loop of two rounds
(:func:`run_chunks`): OpenMP's threads, spinning between loops (``_jit.py``), start
their round within a microsecond and never touch the GIL.  This replaced handing the
chunks to our helpers, including a trick that rang the helpers' bells from compiled
code: 64x6x12x12 -> 16 5x5 fwd+bwd 0.42 -> 0.40 ms in alternating processes, the
pooling loops faster too.  The split dense products run the same way where their
parts are on the register kernel.  Our helpers still run the chunks that call BLAS
from Python -- on CPUs without AVX-512, where OpenMP's threads are left to sleep
between loops (``_jit.py``: spinning, they held our helper up) -- more than two
chunks, and everything in a child made by ``fork``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

import numpy as np

from . import reuse


def _binding_requested() -> bool:
    return os.environ.get("OMP_PROC_BIND", "").lower() not in ("", "false")


def _allowed_cpus():
    """The CPUs minigrad's threads may use.  Not simply the calling thread's affinity:
    with OMP_PROC_BIND set an OpenMP runtime pins the thread that starts it --
    Python's main thread, when scikit-learn is imported or Numba runs its first
    parallel loop -- to one CPU, and threads started later inherit that.  So a single
    CPU under OMP_PROC_BIND is taken to be that pinning (to keep minigrad on one CPU
    on purpose, set MINIGRAD_NUM_THREADS=1)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    mine = frozenset(os.sched_getaffinity(0))
    if len(mine) == 1 and _binding_requested():
        return frozenset(range(os.cpu_count() or 1))
    return mine


ALLOWED_CPUS = _allowed_cpus()

# Below this many multiply-adds a conv kernel runs as one chunk on the calling thread.
# Inside :func:`own_threads` (a run of the executor) BLAS is on one thread, so one
# chunk means one core: chunks pay from small sizes on.  Called on its own, a kernel
# has BLAS's threads for one chunk, and switching BLAS to one thread and back for a
# single call costs more than it saves on small convs.  Measured fwd+bwd, batch 64,
# one chunk / a chunk per core, in a run | called alone (the work counted as the
# kernels count it: Cout*C*KH*KW*N*OH*OW for im2col, 16*Cout*C*tiles for Winograd):
#   64x8x8x8 -> 8 3x3 (1.3M multiply-adds)   0.27 / 0.36 ms | 0.25 / 0.38 ms
#   64x1x28x28 -> 6 5x5 (5.5M)                0.89 / 0.88   | 0.80 / 1.00
#   64x6x12x12 -> 16 5x5 (9.8M)               0.90 / 0.67   | 0.62 / 1.01
#   64x3x32x32 -> 32 3x3 (50M)                5.3 / 2.9     | 3.6 / 2.9
#   64x32x15x15 -> 64 3x3 (103M, Winograd)    10.8 / 5.6    | 7.5 / 5.6
MIN_PARALLEL_WORK_IN_RUN = 4_000_000
MIN_PARALLEL_WORK = 20_000_000
# ... and a matrix product inside :func:`own_threads` (shared out by split_product).
MIN_PARALLEL_MATMUL = 1_000_000

_lock = threading.Lock()
_pool = None
_blas = None          # threadpoolctl's controller for the BLAS NumPy uses, or False if none
_state = threading.local()  # .own: inside own_threads(); .helper: a helper thread
_runs = 0             # threads inside own_threads() right now (guarded by _lock)
_saved_blas = None    # BLAS thread counts to restore when the last run leaves


def cores() -> int:
    """How many threads minigrad's kernels use: the allowed CPUs (``_allowed_cpus``),
    capped by ``MINIGRAD_NUM_THREADS`` if set."""
    n = len(ALLOWED_CPUS) if ALLOWED_CPUS else (os.cpu_count() or 1)
    cap = os.environ.get("MINIGRAD_NUM_THREADS", "").strip()
    if not cap:
        return n
    if not cap.isdigit() or int(cap) < 1:
        raise ValueError(f"MINIGRAD_NUM_THREADS must be a whole number of threads >= 1, got {cap!r}")
    return min(n, int(cap))


def _pin(cpu):
    """Pin the calling thread to ``cpu`` when OMP_PROC_BIND asks for binding; return
    the CPU set it had (to restore) or ``None`` if nothing changed."""
    if not (ALLOWED_CPUS and _binding_requested()):
        return None
    before = os.sched_getaffinity(0)
    if before == {cpu}:
        return None
    try:
        os.sched_setaffinity(0, {cpu})  # 0: the calling thread (Linux)
    except OSError:  # not allowed here: leave it to the scheduler
        return None
    return before


def _blas_controller():
    global _blas
    if _blas is None:
        _start_openmp()  # (loads Numba, which may load another BLAS: SciPy's)
        try:
            from threadpoolctl import ThreadpoolController
            _blas = ThreadpoolController().select(user_api="blas") or False
        except Exception:  # threadpoolctl missing or unable to inspect: stay serial
            _blas = False
    return _blas


def _per_thread(lib):
    """Does this BLAS keep a thread count per calling thread (MKL, or OpenBLAS built
    on OpenMP) rather than one for the process (OpenBLAS on pthreads, BLIS)?"""
    return lib.internal_api == "mkl" or getattr(lib, "threading_layer", None) == "openmp"


def _set_blas_threads(counts, per_thread):
    """Give the BLAS libraries threadpoolctl found -- those that keep a count per
    thread (``per_thread=True``) or those with one count for the process -- the thread
    counts ``counts`` (one per library; ``None``: leave it); return the counts they had.

    Process-wide counts are set by the first run in and the last one out, under
    ``_lock``.  (Not with ``ThreadpoolController.limit``: for OpenBLAS it lets only one
    Python thread at a time hold a limit, so a run from a second thread would
    silently keep BLAS's threads.  Our runs count themselves, and any of them may set
    the count: ``clear_controlling_thread`` hands it over.)"""
    libs = _blas_controller().lib_controllers
    if not any(_per_thread(lib) == per_thread for lib in libs):
        return [None] * len(libs)  # (nothing to set; asking each library costs microseconds)
    before = [lib.get_num_threads() for lib in libs]
    for lib, n in zip(libs, counts):
        if n is None or _per_thread(lib) != per_thread:
            continue
        if hasattr(lib, "clear_controlling_thread"):
            lib.clear_controlling_thread(force=True)
        lib.set_num_threads(n)
    return before


# Hand-offs without wake-ups (spin.py): a helper that has finished a chunk, and a
# caller waiting for a helper's chunk inside a run, spin for up to this many rounds
# (~0.4 us each here) before they sleep on their queue.  _running[0] mirrors _runs for
# the spinning loops, which cannot look at Python variables.
SPIN_ROUNDS = 2000
_running = np.zeros(1, np.int64)
# A helper spins its full rounds after each job even when the run has ended: the
# next run (a training loop's next step, a benchmark's next call) usually starts
# within a fraction of a millisecond, and a helper still spinning then starts its
# first chunk without being woken (64x6x12x12 -> 16 5x5 fwd+bwd 0.437 -> 0.414 ms).
# Spinning yields the CPU to any other thread that wants it (spin.py).
_ALWAYS = np.ones(1, np.int64)
_bell_lock = threading.Lock()  # (two runs at once: a lost ring would stop a helper spinning)


class _Pool(list):
    """The helper threads, and ``bells``: one per helper, ``bells[k]`` counting the jobs
    put in helper k's queue, so that a spinning helper sees a new one without sleeping
    on the queue (see map_chunks).  Each helper's ``bell`` is its one-element view."""

    def __init__(self, count):
        self.bells = np.zeros(count, np.int64)
        super().__init__(_Worker(k + 1, self.bells[k:k + 1]) for k in range(count))


class _Worker:
    """One helper thread that runs the jobs put in its queue, one after the other;
    ``bell``: the count of jobs put in its queue (a view of ``_Pool.bells``)."""

    def __init__(self, index, bell=None):
        self.index = index
        self.jobs = queue.SimpleQueue()
        self.bell = np.zeros(1, np.int64) if bell is None else bell
        threading.Thread(target=self._loop, name=f"minigrad-{index}", daemon=True).start()

    def _loop(self):
        from . import spin  # (Numba: helpers start only when kernels run)
        _state.helper = True  # work handed out from here runs here (see map_chunks)
        _pin(sorted(ALLOWED_CPUS)[self.index % len(ALLOWED_CPUS)] if ALLOWED_CPUS else 0)
        if _blas_controller():  # BLAS libraries with a count per thread: 1 here, for good
            _set_blas_threads([1] * len(_blas_controller().lib_controllers), per_thread=True)
        taken, finished = 0, None
        while True:
            if finished is None:
                spin.wait_while(self.bell, 0, taken, _ALWAYS, SPIN_ROUNDS)  # for the next job
            else:  # tell the caller the last job is done -- once we hold no GIL -- and wait
                spin.finish_then_wait(finished, self.bell, 0, taken, _ALWAYS, SPIN_ROUNDS)
            job, table, done, finished = self.jobs.get()
            taken += 1
            try:
                with reuse.shared_with(table):  # the caller's run scope (reuse.py)
                    done.put((True, job()))
            except BaseException as err:  # handed back to the caller, raised there
                done.put((False, err))


def _workers():
    """The helper threads (one fewer than the threads: the calling thread works too)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = _Pool(max(cores() - 1, 0))
        return _pool


def _forget_workers():
    """In a child made by ``fork`` only the forking thread exists: no helpers, and
    only its own run (if it forked inside one) still counts.  Nor may the child start
    GNU OpenMP's threads again (Numba ends the process: "fork() called from a process
    already using GNU OpenMP"), so its compiled chunks go to minigrad's threads."""
    global _pool, _lock, _runs, _bell_lock, _forked, _numba_threads_safe
    _pool, _lock, _bell_lock = None, threading.Lock(), threading.Lock()
    _runs = 1 if in_own_threads() else 0
    _running[0] = _runs
    _forked, _numba_threads_safe = True, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)


_openmp_started = False


def _start_openmp():
    """Start Numba's OpenMP threads (the pooling kernels' ``prange``) *before* the
    caller is pinned: a new thread inherits its creator's CPU set, and started inside
    a pinned run all of OpenMP's threads sat on one CPU (the pooling backward of a
    CIFAR step: 0.84 instead of 0.4 ms).  Running one tiny parallel loop creates them."""
    global _openmp_started
    if not _openmp_started:
        _openmp_started = True
        from ._jit import start_thread_pool
        start_thread_pool()


@contextlib.contextmanager
def own_threads():
    """For one run of a plan: BLAS on one thread, big products split on our threads,
    the calling thread pinned to the first CPU under OMP_PROC_BIND.

    Several threads may be inside at once (two ``g.run`` in parallel): the first one
    in limits BLAS and the last one out restores it; only the first is pinned."""
    global _runs, _saved_blas
    blas = _blas_controller()
    if cores() < 2 or not blas or in_own_threads():
        yield
        return
    ones = [1] * len(blas.lib_controllers)
    restore = None
    with _lock:
        if _runs == 0:
            _saved_blas = _set_blas_threads(ones, per_thread=False)
            restore = _pin(min(ALLOWED_CPUS)) if ALLOWED_CPUS else None
        _runs += 1
        _running[0] = _runs
    mine = _set_blas_threads(ones, per_thread=True)  # this thread's own counts, if any
    try:
        _state.own = True
        yield
    finally:
        _state.own = False
        _set_blas_threads(mine, per_thread=True)
        with _lock:
            _runs -= 1
            _running[0] = _runs  # (0: a caller waiting for helpers stops spinning)
            if _runs == 0:
                _set_blas_threads(_saved_blas, per_thread=False)
                _saved_blas = None
        if restore is not None:
            os.sched_setaffinity(0, restore)


def in_own_threads() -> bool:
    """Inside :func:`own_threads` on this thread (BLAS on one thread)?"""
    return getattr(_state, "own", False)


def chunks(n, work, min_work=None):
    """The ranges ``(start, stop)`` that ``n`` rows or images are cut into: one per
    thread when ``work`` (multiply-adds of the whole call) is at least ``min_work``,
    else a single range.  (``min_work`` defaults to the thresholds above.)"""
    workers = cores()
    if min_work is None:
        min_work = MIN_PARALLEL_WORK_IN_RUN if in_own_threads() else MIN_PARALLEL_WORK
    if workers < 2 or n < 2 or work < min_work or not _blas_controller():
        return [(0, n)]
    count = min(n, workers)
    return [(n * k // count, n * (k + 1) // count) for k in range(count)]


def narrowest(ranges):
    """The fewest rows or images in one of the chunks ``ranges`` (:func:`chunks`)."""
    return min(stop - start for start, stop in ranges)


def ring(bells, rings):
    """``bells += rings``, under a lock (two runs at once must not lose a ring)."""
    if len(rings):
        with _bell_lock:
            bells += rings


def map_chunks(fn, n, work, min_work=None):
    """``[fn(start, stop) for each chunk]``, in chunk order; several chunks run at
    once, the first on the calling thread, with BLAS on one thread (see the module
    docstring).  If chunks fail, the first error is raised once all have finished.

    Handing a chunk to a helper: the job goes into its queue, and its bell is rung.
    The helper, spinning, hears the bell at once -- and then needs Python's GIL to
    run the job, which the caller holds until its own chunk reaches compiled code:
    the helper often sleeps, and wakes 20-40 us later.  Chunks that are each one
    compiled call avoid this on Numba's threads instead (:func:`run_chunks`)."""
    ranges = chunks(n, work, min_work)
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    if getattr(_state, "helper", False):  # called from a chunk on a helper: its
        return [fn(*r) for r in ranges]     # queue is busy with us, so run them here
    workers = _workers()
    if not workers:
        return [fn(*r) for r in ranges]
    table = reuse.current_table()
    from . import spin
    with own_threads():
        replies = []
        rings = np.zeros(len(workers), np.int64)
        for i, (start, stop) in enumerate(ranges[1:]):
            reply, finished = queue.SimpleQueue(), np.zeros(1, np.int64)
            workers[i % len(workers)].jobs.put((lambda a=start, b=stop: fn(a, b), table, reply, finished))
            rings[i % len(workers)] += 1
            replies.append((reply, finished))
        bells = getattr(workers, "bells", None)
        if bells is None:  # (a test's own helpers: no shared array of bells)
            for worker, count in zip(workers, rings):
                ring(worker.bell, count[None])
        else:
            ring(bells, rings)
        outcomes = []
        try:
            outcomes.append((True, fn(*ranges[0])))  # the first chunk on the calling thread
        except BaseException as err:
            outcomes.append((False, err))
        for reply, finished in replies:  # wait for all, even after an error
            spin.wait_while(finished, 0, 0, _running, SPIN_ROUNDS)
            outcomes.append(reply.get())
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


_numba_threads_safe = None
_forked = False  # in a child made by fork: GNU OpenMP's threads cannot be used there


def compiled_chunks_run_together() -> bool:
    """Can chunks that are each one compiled call run on Numba's own threads
    (:func:`run_chunks`)?  Yes when Numba's thread pool is OpenMP, with threads that
    spin between loops (``_jit.py``: on CPUs with AVX-512), or TBB.  Both let several
    Python threads start parallel loops at once (``workqueue``, Numba's last resort,
    aborts the process when two do); sleeping OpenMP threads take 40-60 us to wake,
    more than our helpers' hand-off.  Under ``NUMBA_DISABLE_JIT`` there is no pool:
    the chunks go through :func:`map_chunks`."""
    global _numba_threads_safe
    if _numba_threads_safe is None:
        import numba
        if numba.config.DISABLE_JIT:
            _numba_threads_safe = False
            return False
        _start_openmp()
        from ._jit import openmp_threads_spin
        layer = numba.threading_layer()
        _numba_threads_safe = layer == "tbb" or (
            layer == "omp" and openmp_threads_spin() and not _forked)
    return _numba_threads_safe


def run_chunks(one, pair, chunk_args, *shared):
    """Run the compiled chunk function ``one(*chunk_args[k], *shared)`` for every chunk
    ``k``: a single chunk on the calling thread; two at once on Numba's threads
    through ``pair``, a compiled ``prange`` loop of two rounds that takes both chunks'
    arguments one after the other (``conv._forward_pair`` is one); more, or where
    Numba's threads cannot take them (:func:`compiled_chunks_run_together`), on
    minigrad's threads (:func:`map_chunks`).

    Why Numba's threads for two chunks: a ``prange`` loop hands its rounds to OpenMP
    threads that are already spinning (``_jit.py``: GOMP_SPINCOUNT), in about a
    microsecond, and no thread ever needs Python's GIL; a job handed to one of our
    helpers costs 10-40 microseconds (module docstring).  Why a pair and not a tuple of
    any number of chunks: indexed by the round, a tuple of arrays made the very same
    chunk code run 1.6 times slower (the 32->64 Winograd forward: 1.65 against 1.0 ms)."""
    if len(chunk_args) == 1:
        return one(*chunk_args[0], *shared)
    if len(chunk_args) == 2 and compiled_chunks_run_together():
        return pair(*chunk_args[0], *chunk_args[1], *shared)
    return _each_on_threads(one, chunk_args, *shared)


def _each_on_threads(fn, chunk_args, *shared):
    """``fn(*chunk_args[k], *shared)`` for every chunk ``k``, each on one of minigrad's
    threads (:func:`map_chunks`, one range per chunk)."""
    return map_chunks(lambda start, stop: [fn(*args, *shared) for args in chunk_args[start:stop]],
                      len(chunk_args), 0, min_work=0)


def split_product(a, b):
    """``a @ b`` for 2-D ``a`` and ``b``, shared out over the threads (for
    :func:`own_threads` runs, where BLAS is on one thread).  Along the longer of the
    two sides of ``a``: its rows (each thread writes its rows of the result), or the
    summed dimension (each thread multiplies a slice of ``a``'s columns with the same
    rows of ``b``; the partial results are added in order).  Measured, 2 threads, BLAS:
    64x2304 @ 2304x128 0.22 ms split on the sum, 0.38 on the rows (each thread then
    packs all of ``b``); 2304x64 @ 64x128 0.21 on the rows, 0.26 on the sum.  Each
    part runs on ``gemm_simd.py``'s kernel where it applies (``b``'s rows contiguous)."""
    from . import gemm_simd  # (imports Numba: not at the top, the executor imports this module)
    m, k = a.shape
    n = b.shape[1]
    dtype = np.result_type(a, b)
    if (b.strides[1] != b.itemsize and b.T.flags.c_contiguous and a.dtype == b.dtype
            and gemm_simd.pays_off(m, dtype)):
        # b is a transposed matrix (a dense layer's input gradient, ``gy @ W.T``): its
        # rows are not contiguous, so gemm_simd's kernel cannot read them -- but it can
        # compute the transposed product ``b.T @ a.T`` and turn the result around.
        # Measured, 64x128 @ (2304x128).T in a run: 253 us as two BLAS halves on our
        # threads, 191 us so; in a CIFAR step 0.31 ms, where the BLAS halves had to
        # wait for CPUs that Numba's threads were spinning on (0.78 ms).
        return np.ascontiguousarray(split_product(b.T, np.ascontiguousarray(a.T)).T)
    on_sum = k > m
    ranges = chunks(k if on_sum else m, m * k * n, MIN_PARALLEL_MATMUL)
    if on_sum:
        parts = [(a[:, start:stop], b[start:stop], np.empty((m, n), dtype)) for start, stop in ranges]
    else:
        out = np.empty((m, n), dtype)
        parts = [(a[start:stop], b, out[start:stop]) for start, stop in ranges]
    if gemm_simd.pays_off(n, dtype) and all(gemm_simd.applies(*part) for part in parts):
        run_chunks(gemm_simd._product, gemm_simd._product_pair, parts)
    else:  # (BLAS, called from Python)
        _each_on_threads(gemm_simd.matmul_to, parts)
    return sum_in_order([c for _, _, c in parts]) if on_sum else out


def sum_in_order(parts):
    """``parts[0] + parts[1] + ...``, left to right: results that add up over chunks
    (a weight gradient, channel sums) get the same bits on every run."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
