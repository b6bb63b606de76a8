"""Work shared by the kernels of one run: compute a rearrangement once, use it twice.

In a training step, conv2d's forward pass and its weight gradient both need the input
rearranged (im2col's columns, or Winograd's transformed tiles), and the input and
weight gradients both need the output gradient rearranged.  These are different nodes
of the graph, run at different times, so each kernel would redo the work (about a
sixth of a CIFAR-sized conv).  Frameworks keep such things from the forward pass
("saved tensors"); here the executor opens a *run scope* around each run of a plan,
and inside it :func:`remember` hands back what an earlier kernel computed from the
very same array.  (Max pooling uses it too: its forward leaves each window's winner
for its backward, :func:`offer` and :func:`claim`.)

Why this is safe: within one run no array is modified in place (every op returns a
new array -- a rule for custom ops too, see ``ops/registry.py``), and a scope keeps a
reference to each array it has seen, so an ``id`` is never reused by another array
while the entry lives.  (An :func:`offer` keeps only a weak reference, and a lookup
checks that its array is still the one asked about.)  Outside a scope (a kernel called directly, a test changing an
array between calls) nothing is remembered.

Memory: an entry is dropped once it has been handed out ``uses`` times (two: the
kernel that computed it and the one that reuses it), so it lives no longer than
needed; the executor opens a scope only for plans that contain conv or max-pool
gradients (a forward-only run would only keep the columns alive for nothing).  An
:func:`offer` nobody asks for lives until the end of the run.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

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


@contextlib.contextmanager
def shared_with(table):
    """Let a helper thread work in the run scope ``table`` of the thread that gave it
    work (``parallel.py``: chunks of images on threads remember and find tile
    matrices like the calling thread would).  Chunks use distinct keys, and a dict's
    single operations are atomic in CPython, so sharing the table is safe."""
    outer = getattr(_state, "table", None)
    _state.table = table
    try:
        yield
    finally:
        _state.table = outer


def current_table():
    """The calling thread's run-scope table, or ``None`` outside a scope."""
    return getattr(_state, "table", None)


def remember(kind, arrays, params, compute, uses=2):
    """``compute()``, or the value it gave earlier in this run scope for the same
    ``kind``, the same array objects and equal ``params``; forgotten after ``uses``
    requests."""
    table = getattr(_state, "table", None)
    if table is None:
        return compute()
    key, entry = _find(table, kind, arrays, params)
    if entry is None:
        entry = table[key] = [arrays, compute(), uses]  # the arrays keep their ids unique
    return _use(table, key, entry)


def offer(kind, arrays, params, value, uses=1):
    """Leave ``value`` -- a by-product of some kernel's work -- for a later
    :func:`remember` or :func:`claim` of the same key in this run scope (nothing
    happens outside one).

    Example: conv2d's gradient kernels read every number of the output gradient to
    rearrange it; summing each channel on the way is nearly free, and the bias
    gradient is exactly those sums."""
    table = getattr(_state, "table", None)
    if table is not None:
        # weak references: an offer nobody takes (a conv without bias) must not keep
        # the arrays alive until the end of the run
        refs = tuple(_weak(a) for a in arrays)
        table[_key(kind, arrays, params)] = [refs, value, uses]


def claim(kind, arrays, params):
    """The value an :func:`offer` left for this key in this run scope (one of its
    uses), or ``None`` when there is none -- for kernels that can do without it."""
    table = getattr(_state, "table", None)
    if table is None:
        return None
    key, entry = _find(table, kind, arrays, params)
    return None if entry is None else _use(table, key, entry)


def _key(kind, arrays, params):
    return kind, tuple(id(a) for a in arrays), params


def _find(table, kind, arrays, params):
    """The key for these arrays and the live entry under it (``None`` if there is none)."""
    key = _key(kind, arrays, params)
    entry = table.get(key)
    if entry is not None and not _same(entry[0], arrays):
        entry = None  # an offer for an array that has died: its id now names another
    return key, entry


def _use(table, key, entry):
    """Hand out an entry's value once; forget the entry after its last use."""
    entry[2] -= 1
    if entry[2] <= 0:
        del table[key]
    return entry[1]


def _weak(a):
    """A weak reference to ``a``, or ``a`` itself if it cannot have one (a scalar)."""
    try:
        return weakref.ref(a)
    except TypeError:
        return a


def _same(kept, arrays):
    """Are the arrays an entry was made for (strong or weak references) these ones?"""
    return all((k() if isinstance(k, weakref.ref) else k) is a for k, a in zip(kept, arrays))


def offer_bias_gradient(gy, sums):
    """Offer the channel sums of the output gradient ``gy`` (float64) as the bias
    gradient that ``conv2d_grad_bias`` will ask for in this run."""
    offer("bias gradient", (gy,), (), sums.astype(gy.dtype))
