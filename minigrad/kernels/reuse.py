"""Work shared by the kernels of one run: compute a rearrangement once, use it twice.

In a training step, conv2d's forward pass and its weight gradient both need the input
rearranged (im2col's columns, or Winograd's transformed tiles), and the input and
weight gradients both need the output gradient rearranged.  These are different nodes
of the graph, run at different times, so each kernel would redo the work (about a
sixth of a CIFAR-sized conv).  Frameworks keep such things from the forward pass
("saved tensors"); here the executor opens a *run scope* around each run of a plan,
and inside it :func:`remember` hands back what an earlier kernel computed from the
very same array.

Why this is safe: within one run no array is modified in place (every op returns a
new array), and a scope keeps a reference to each array it has seen, so an ``id`` is
never reused by another array while the scope lives.  Outside a scope (a kernel called
directly, a test changing an array between calls) nothing is remembered.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


@contextlib.contextmanager
def run_scope():
    """Remember rearrangements until the end of the ``with`` block (one run)."""
    outer = getattr(_state, "table", None)
    _state.table = {}
    try:
        yield
    finally:
        _state.table = outer


def remember(kind, arrays, params, compute):
    """``compute()``, or the value it gave earlier in this run scope for the same
    ``kind``, the same array objects and equal ``params``."""
    table = getattr(_state, "table", None)
    if table is None:
        return compute()
    key = (kind, tuple(id(a) for a in arrays), params)
    hit = table.get(key)
    if hit is not None:
        return hit[1]
    value = compute()
    table[key] = (arrays, value)  # holding the arrays keeps their ids unique
    return value
