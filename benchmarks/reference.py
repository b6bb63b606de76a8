"""PyTorch, the reference, timed in a process of its own.

Why not just ``import torch`` next to minigrad?  Measured on a 2-core machine, sharing
one process skewed the ratios in both directions:

* PyTorch's OpenMP start-up with ``OMP_PROC_BIND=true`` pins the process to CPU 0.
  Threads started afterwards inherit that mask, and OpenBLAS (NumPy's BLAS), loaded
  after it, sized its pool for one CPU: every NumPy matrix product ran on 1 thread.
* PyTorch ships its own ``libgomp.so.1``; Numba's OpenMP layer then reuses it, with
  PyTorch's settings (threads that spin after each parallel loop) instead of the ones
  minigrad asks for, and a Numba loop next to a BLAS call stalled for 4-8 ms.

Two more ways the *separate* process was still skewed, both found on 2026-11-24 (the
"open problem" of earlier tables, where minigrad's CIFAR step read 16-20 ms instead
of 10-11):

* The worker answered "ready" with ``torch.__version__``, a ``TorchVersion`` object:
  unpickling it made the parent ``import torch``, PyTorch's ``libgomp`` came in
  again, and Numba's threads spun on the second core beside minigrad's helper
  thread.  The worker now sends plain strings and floats only, and the tests check
  that the parent never imports the reference's package.
* A child process inherits the CPU set of the thread that starts it.  Started after
  a minigrad run had pinned the main thread (``OMP_PROC_BIND``), all of PyTorch's
  threads shared CPU 0 (its CIFAR step: 36 instead of 16 ms).  The worker now takes
  the CPU set the benchmark process had when this module was imported.

A learner runs one framework per process, so that is what we time: this module starts
a worker process that imports PyTorch, builds the same computation from the same
arrays (sent over a pipe), and times its own calls when asked.  The parent alternates
phases between its own calls and the worker's (see ``common.time_pair``).

The worker's cases are the ``case_*`` functions below: each takes the torch module
and the inputs, and returns the function to time.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection

# The environment as the user set it, read before minigrad's kernels load: their
# import sets OMP_WAIT_POLICY=PASSIVE for Numba's threads (minigrad/kernels/_jit.py),
# and a worker started later would inherit it. PyTorch with sleeping threads ran small
# models 5x slower (a 64-32-10 MLP step: 0.8 instead of 0.15 ms), so the worker gets
# this copy instead. (Likewise the worker must not import minigrad: minigrad's malloc
# setting, minigrad/memory.py, made PyTorch's 3x32x32 conv 3x faster, 2.8 vs 9 ms;
# PyTorch is timed as its users run it.)
_USER_ENV = dict(os.environ)
# ... and the CPUs the user gave us, before any run of minigrad pins the main thread.
_USER_CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

# ----------------------------------------------------------------- the worker's cases


def case_conv(torch, x, w, b, gy):
    """conv2d forward and both gradients, as in ``bench_kernels``."""
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tb, tgy = torch.from_numpy(b), torch.from_numpy(gy)

    def run():
        y = torch.nn.functional.conv2d(tx, tw, tb)
        torch.autograd.grad(y, (tx, tw), tgy)
    return run


def case_max_pool(torch, x, gy):
    """2x2 max-pool forward and backward."""
    tx, tgy = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(gy)

    def run():
        y = torch.nn.functional.max_pool2d(tx, 2, 2)
        torch.autograd.grad(y, tx, tgy)
    return run


def case_train_step(torch, spec, X, T):
    """One SGD-momentum step of the model ``spec`` (see ``bench_training.MODELS``)."""
    nn = torch.nn
    layers = []
    if spec["kind"] == "mlp":
        s = spec["sizes"]
        for i in range(len(s) - 1):
            layers.append(nn.Linear(s[i], s[i + 1]))
            if i < len(s) - 2:
                layers.append(nn.ReLU())
    else:
        c, side = spec["input"][0], spec["input"][1]
        for filters in spec["convs"]:
            layers += [nn.Conv2d(c, filters, 3), nn.ReLU(), nn.MaxPool2d(2)]
            c, side = filters, (side - 2) // 2
        layers.append(nn.Flatten())
        n = c * side * side
        for i, units in enumerate(spec["dense"]):
            layers.append(nn.Linear(n, units))
            if i < len(spec["dense"]) - 1:
                layers.append(nn.ReLU())
            n = units
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, tt = torch.from_numpy(X), torch.from_numpy(T)
    loss_fn = nn.CrossEntropyLoss()

    def run():
        opt.zero_grad()
        loss = loss_fn(model(xt), tt)
        loss.backward()
        opt.step()
    return run


def case_chain(torch, length):
    """``length`` (mul, tanh) pairs on a 1-element tensor, forward and backward."""
    xt = torch.ones(1, requires_grad=True)

    def run():
        y = xt
        for _ in range(length):
            y = torch.tanh(y * 1.01)
        y.sum().backward()
        xt.grad = None
    return run


# -------------------------------------------------------------------- the worker


def _serve(conn, threads):
    """Worker main loop: ("load", case, args) / ("time", k, warm) / ("close",)."""
    try:
        import torch
    except ImportError as e:
        conn.send(("error", f"torch not importable: {e}"))
        return
    torch.set_num_threads(threads)
    # str(): a TorchVersion object would make the parent import torch to unpickle it
    conn.send(("ready", str(torch.__version__)))
    run = None
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the parent has gone away
            return
        if msg[0] == "close":
            return
        try:
            if msg[0] == "load":
                run = globals()[msg[1]](torch, *msg[2])
                conn.send(("ok",))
            elif msg[0] == "time":
                _warm(run, msg[2])
                times = []
                for _ in range(msg[1]):
                    t0 = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - t0)
                conn.send(("times", times))
        except Exception as e:  # report it to the parent instead of dying silently
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _worker_main():
    """Entry point of the worker process (``python -c``, see TorchReference): talk to
    the parent over the pipe that was stdin/stdout; print nothing on it."""
    cpus = os.environ.get("MINIGRAD_BENCH_CPUS")
    if cpus:  # the user's CPU set, not the (maybe pinned) starting thread's
        os.sched_setaffinity(0, [int(c) for c in cpus.split(",")])
    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # anything printed (warnings) goes to stderr, not into the pipe
    _serve(_Duplex(requests, replies), int(os.environ["MINIGRAD_BENCH_THREADS"]))


class _Duplex:
    """Two one-way connections seen as one."""

    def __init__(self, reader, writer):
        self._ends = (reader, writer)
        self.recv, self.send = reader.recv, writer.send

    def close(self):
        for end in self._ends:
            end.close()


def _warm(run, seconds):
    """Untimed calls for at least ``seconds`` (and at least two): after a pause, thread
    pools are asleep and caches cold; a training loop runs in the warm state."""
    start = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - start < seconds:
        run()
        calls += 1


class RemoteCase:
    """A computation loaded in the worker; ``phase(k, warm)`` warms it up for ``warm``
    seconds, runs it k times there and returns the k call times measured there."""

    def __init__(self, ref):
        self._ref = ref

    def phase(self, k, warm=0.0):
        return self._ref._ask(("time", k, warm))[1]


class TorchReference:
    """The worker process; ``load(case, *args)`` returns a :class:`RemoteCase`.

    Started as a plain ``python -c`` subprocess with the user's environment: not a
    ``multiprocessing`` child, which would first import the parent's main module (a
    benchmark file, hence minigrad, whose import tunes malloc and OpenMP for itself)."""

    def __init__(self, threads, malloc="default"):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(_USER_ENV, MINIGRAD_BENCH_THREADS=str(threads),
                   MINIGRAD_BENCH_CPUS=",".join(map(str, _USER_CPUS or [])),
                   PYTHONPATH=os.pathsep.join(filter(None, [root, _USER_ENV.get("PYTHONPATH")])))
        env.update(malloc_environment(malloc))
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from benchmarks.reference import _worker_main; _worker_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=root)
        self._conn = _Duplex(Connection(os.dup(self._proc.stdout.fileno()), writable=False),
                             Connection(os.dup(self._proc.stdin.fileno()), readable=False))
        try:
            status = self._conn.recv()
        except EOFError:
            status = ("error", "the PyTorch worker exited")
        if status[0] != "ready":
            self.close()
            raise RuntimeError(status[1])
        self.version = status[1]

    def _ask(self, msg):
        self._conn.send(msg)
        reply = self._conn.recv()
        if reply[0] == "error":
            raise RuntimeError(f"PyTorch worker: {reply[1]}")
        return reply

    def load(self, case, *args):
        self._ask(("load", case, args))
        return RemoteCase(self)

    def close(self):
        if self._proc.returncode is not None:
            return  # closed already
        try:
            self._conn.send(("close",))
        except (BrokenPipeError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._conn.close()
        for pipe in (self._proc.stdin, self._proc.stdout):
            pipe.close()


def malloc_environment(malloc):
    """Environment variables for the worker's C library allocator.

    ``"default"``: none -- PyTorch as its users run it.  ``"kept"``: glibc's mmap and
    trim thresholds raised to what ``minigrad/memory.py`` sets for minigrad, so freed
    blocks are reused instead of returned to the OS.  PyTorch has two speeds on these
    machines, and which one a process gets depends on where glibc's *adaptive* mmap
    threshold has wandered (benchmarks/README.md); with the thresholds fixed it
    always runs in its fast state, so "kept" compares both sides with the same
    allocator policy, and against PyTorch at its best.  (The environment variables
    are glibc's own: ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``.)"""
    if malloc == "default":
        return {}
    if malloc == "kept":
        limit = str(1 << 30)  # as minigrad/memory.py
        return {"MALLOC_MMAP_THRESHOLD_": limit, "MALLOC_TRIM_THRESHOLD_": limit}
    raise ValueError(f"malloc must be 'default' or 'kept', got {malloc!r}")


def start(threads, malloc="default"):
    """A running :class:`TorchReference`, or None when PyTorch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        return TorchReference(threads, malloc)
    except RuntimeError:
        return None
