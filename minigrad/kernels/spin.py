"""Waiting for another thread without falling asleep -- for a little while.

``parallel.py`` hands chunks of work to a helper thread and waits for its answer
through queues.  A thread waiting on a queue sleeps, and waking it takes the operating
system 15-30 microseconds on these virtual machines (the idle CPU it sleeps on must be
woken too) -- paid twice per hand-off, once to start the helper and once to tell the
caller it has finished.  A convolution of a small CNN takes 0.1-0.2 ms a pass, so
those wake-ups cost a fifth of it.

OpenMP runtimes (and so PyTorch) avoid this by *spinning*: a waiting thread keeps
checking a flag in memory for a while before it sleeps.  :func:`wait_while` does the
same, as a Numba loop that releases the GIL (so the thread it waits for can run
Python) and calls ``sched_yield`` each round: should another thread need this CPU,
it gets it at once instead of after the spinner's time slice.  Each round costs about
0.4 microseconds here.  In ``parallel.py`` a caller spins only inside
:func:`parallel.own_threads` -- a run of the executor, or a kernel called on its own
that hands out chunks -- and a helper for up to 2,000 rounds (about 0.8 ms) after
each chunk, when the next one usually comes; then they sleep on their queues.

Without ``sched_yield`` (a C library that lacks it), or with ``NUMBA_DISABLE_JIT=1``,
nothing spins and the queues do all the waiting.
"""

from __future__ import annotations

import ctypes

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

__all__ = ["AVAILABLE", "wait_while", "finish_then_wait"]


def _has_sched_yield() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "sched_yield")
    except (OSError, TypeError):  # no C library to look in
        return False


# (under NUMBA_DISABLE_JIT a Python loop would hold the GIL while it spins: no spinning)
AVAILABLE = _has_sched_yield() and not numba.config.DISABLE_JIT


@intrinsic
def _sched_yield(typingctx):
    """A call to the C library's ``sched_yield()``, by name (so the compiled code can
    be cached: a ctypes function would be a pointer into this process)."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                            "sched_yield")
        return builder.call(fn, [])
    return types.int32(), codegen


if AVAILABLE:
    @jit(nogil=True)
    def wait_while(flags, i, value, running, rounds):
        """Spin while ``flags[i] == value`` and ``running[0]`` is not 0, for at most
        ``rounds`` rounds; return whether ``flags[i]`` changed.  (The call in each round
        also makes the compiled loop read the flags from memory again: it cannot know
        that ``sched_yield`` leaves them alone.)"""
        for _ in range(rounds):
            if flags[i] != value:
                return True
            if running[0] == 0:
                return False
            _sched_yield()
        return flags[i] != value

    @jit(nogil=True)
    def finish_then_wait(finished, flags, i, value, running, rounds):
        """``finished[0] = 1``, then :func:`wait_while`: the flag that a caller spins on
        is set only once this thread has let go of the GIL, which the caller needs next."""
        finished[0] = 1
        return wait_while(flags, i, value, running, rounds)
else:
    def wait_while(flags, i, value, running, rounds):
        return flags[i] != value

    def finish_then_wait(finished, flags, i, value, running, rounds):
        finished[0] = 1
        return flags[i] != value
