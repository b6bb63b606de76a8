"""Running a graph: plan once, then execute many times.

A ``Plan`` is built once per set of fetches: the nodes they need in topological order,
each op's prepared function, and the whole pass compiled to plain Python source, one
line per node (``print(g.compile(loss).source)`` to read it). Running the plan is
then just calling that function: no graph walking, no dispatch, no dict lookups.
Some pairs of nodes run there as one kernel call (a relu fused into the conv before
it, ...: ``fusion.py``); the graph itself is never changed.  A run of a plan with
convolutions shares work between its kernels (``kernels/reuse.py``) and runs them on
minigrad's own threads with BLAS on one thread (``kernels/parallel.py``).

The interpreting loop (``Plan.interpret``) does the same work node by node; it is
used for traces, NaN checks, the step-through pictures, and to name the node when
the fast path fails.
"""

from __future__ import annotations

import contextlib

import time
from dataclasses import dataclass

import numpy as np

from . import fusion
from .errors import FeedError, GraphError, MinigradError, NumericsError, OpError, ShapeError
from .kernels import parallel
from .kernels.reuse import run_scope
from .memory import keep_freed_memory
from .tensor import Tensor


@dataclass
class TraceEntry:
    node: Tensor
    value: np.ndarray
    seconds: float
    path: str | None = None   # which kernel variant ran, when an op reports it


class Trace(list):
    """The nodes a run executed, in order, with their values and times."""

    def value(self, node):
        for entry in self:
            if entry.node is node:
                return entry.value
        raise KeyError(f"{node.name!r} did not run in this trace")

    @property
    def values(self) -> dict:
        return {e.node: e.value for e in self}

    def total_seconds(self) -> float:
        return sum(e.seconds for e in self)


def _fetch_nodes(fetches):
    """Flatten a tensor / list / tuple / dict of tensors; return nodes and a rebuilder."""
    if isinstance(fetches, Tensor):
        return [fetches], lambda vals: vals[0]
    if isinstance(fetches, dict):
        keys = list(fetches)
        return [fetches[k] for k in keys], lambda vals: dict(zip(keys, vals))
    if isinstance(fetches, (list, tuple)):
        kind = type(fetches)
        return list(fetches), lambda vals: kind(vals)
    raise TypeError(f"fetches must be a Tensor, a list/tuple or a dict of Tensors, got {type(fetches).__name__}")


class _Concrete:
    """A stand-in for a node with its run-time shape, used to re-check shape rules."""
    __slots__ = ("name", "shape", "dtype")

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), dtype

    def shape_str(self):
        return "(" + ", ".join(str(d) for d in self.shape) + ("," if len(self.shape) == 1 else "") + ")"


class Plan:
    """The pruned, ordered node list for one set of fetches, compiled once."""

    def __init__(self, graph, fetch_nodes):
        for f in fetch_nodes:
            if not isinstance(f, Tensor):
                raise TypeError(f"cannot fetch {type(f).__name__}; fetch tensors of the graph")
            if f.graph is not graph:
                raise GraphError(f"fetch {f.name!r} belongs to graph {f.graph.name!r}, not {graph.name!r}")
        keep_freed_memory()  # reuse warm pages for the big arrays of every step
        self.graph = graph
        self.fetches = list(fetch_nodes)
        self.order = graph.topo_order(self.fetches)
        self.slot = {node: i for i, node in enumerate(self.order)}
        self.leaves = [n for n in self.order if not n.inputs and n.op.name in ("placeholder", "parameter", "constant")]
        self.placeholders = [n for n in self.leaves if n.op.name == "placeholder"]
        leaves = set(self.leaves)
        self.steps = [(self.slot[n], n, n.op.prepare(n), tuple(self.slot[i] for i in n.inputs))
                      for n in self.order if n not in leaves]
        # the compiled pass runs some pairs of nodes as one kernel (fusion.py)
        self.compiled_steps = fusion.fuse(self.steps, {self.slot[f] for f in self.fetches})
        self.source = self._generate_source()
        namespace = {}
        exec(compile(self.source, f"<plan of {graph.name}>", "exec"), namespace)
        self._compiled = namespace["plan"]
        self._functions = tuple(fn for _, _, fn, _, _ in self.compiled_steps)
        self._checked_shapes = set()
        # ops whose kernels reuse each other's work within a run (kernels/reuse.py)
        self.shares_kernel_work = any(n.op.shares_kernel_work for n in self.order)
        # ops whose kernels split batches over minigrad's threads (kernels/parallel.py)
        self.uses_own_threads = any(n.op.uses_own_threads for n in self.order)

    # -- the compiled fast path ------------------------------------------------
    def _generate_source(self) -> str:
        """Python source of the whole pass: one line per node, locals as buffers.

        A value is deleted right after its last use, so memory holds only what the
        rest of the pass still needs.
        """
        last_use = {}
        for pos, (_, _, _, args, _) in enumerate(self.compiled_steps):
            for a in args:
                last_use[a] = pos
        fetched = {self.slot[f] for f in self.fetches}
        leaf_args = ", ".join(f"v{self.slot[n]}" for n in self.leaves)
        lines = [f"def plan({leaf_args}{', ' if leaf_args else ''}f):"]
        for pos, (slot, node, _, args, fused_from) in enumerate(self.compiled_steps):
            call = f"f[{pos}]({', '.join(f'v{a}' for a in args)})"
            what = node.op.name
            if isinstance(slot, tuple):  # fused siblings: one call, two values
                what = f"{what} + {fused_from.op.name} {fused_from.name!r}, one kernel"
                lines.append(f"    {', '.join(f'v{s}' for s in slot)} = {call}  # {node.name} ({what})")
            else:
                if fused_from is not None:
                    what = f"{fused_from.op.name} {fused_from.name!r} + {what}, fused"
                lines.append(f"    v{slot} = {call}  # {node.name} ({what})")
            dead = [a for a in dict.fromkeys(args) if last_use.get(a) == pos and a not in fetched]
            if dead:
                lines.append("    del " + ", ".join(f"v{a}" for a in dead))
        lines.append("    return (" + "".join(f"v{self.slot[f]}, " for f in self.fetches) + ")")
        return "\n".join(lines) + "\n"

    def leaf_values(self, feed_values):
        out = []
        for node in self.leaves:
            if node.op.name == "placeholder":
                out.append(feed_values[node])
            else:
                out.append(node.value)
        return out

    def run(self, feed_values):
        leaves = self.leaf_values(feed_values)
        self._check_shapes(feed_values, leaves)
        try:
            return list(self._compiled(*leaves, self._functions))
        except MinigradError:
            raise
        except Exception:
            # Run again node by node to find and name the node that failed.
            self.interpret(feed_values)
            raise

    def _check_shapes(self, feed_values, leaves):
        """Re-run every shape rule with this run's concrete placeholder shapes.

        Done once per combination of fed shapes (both the compiled and the
        interpreting path call it), so a batch-size mismatch between two placeholders
        is reported by the op that combines them, at its line.
        """
        signature = tuple(feed_values[n].shape for n in self.placeholders)
        if signature in self._checked_shapes:
            return
        concrete = {n: _Concrete(n.name, np.shape(v), n.dtype) for n, v in zip(self.leaves, leaves)}
        for _, node, _, _ in self.steps:
            inputs = [concrete[i] for i in node.inputs]
            try:
                shape, _ = node.op.infer(*inputs, **node.attrs)
            except (ShapeError, ValueError, TypeError) as err:
                shapes = ", ".join(f"{i.name} {i.shape_str()}" for i in inputs)
                raise ShapeError(f"{node.op.name} {node.name!r}: {err}\n  run-time operands: {shapes}\n"
                                 f"  created at {node.location}") from None
            if None in shape:  # the rule could not tell (e.g. a *_like op): trust the run
                shape = tuple(0 if d is None else d for d in shape)
            concrete[node] = _Concrete(node.name, shape, node.dtype)
        self._checked_shapes.add(signature)

    # -- the interpreting path (trace, checks, stepping) -------------------------
    def interpret(self, feed_values, *, check_numerics=False, trace=None, hook=None):
        """Run node by node; optionally record a trace, check for NaN/Inf, call a hook."""
        env = [None] * len(self.order)
        leaves = self.leaf_values(feed_values)
        self._check_shapes(feed_values, leaves)
        for node, value in zip(self.leaves, leaves):
            env[self.slot[node]] = value
            if trace is not None:
                trace.append(TraceEntry(node, value, 0.0))
        for slot, node, fn, args in self.steps:
            inputs = [env[a] for a in args]
            start = time.perf_counter()
            try:
                value = fn(*inputs)
            except MinigradError:
                raise
            except Exception as err:
                raise OpError(_describe_failure(node, inputs, err)) from err
            seconds = time.perf_counter() - start
            value = np.asarray(value)
            _check_output(node, value)
            if check_numerics:
                _check_finite(node, value, inputs)
            env[slot] = value
            if trace is not None:
                path = getattr(node.op, "kernel_path", None)
                trace.append(TraceEntry(node, value, seconds, path(node, *inputs) if path else None))
            if hook is not None:
                hook(node, value)
        return [env[self.slot[f]] for f in self.fetches]


def _describe_failure(node, inputs, err) -> str:
    shapes = ", ".join(f"{i.name} {tuple(np.shape(v))}" for i, v in zip(node.inputs, inputs))
    where = f"\n  created at {node.location}"
    if node.origin is not None:
        where += f" (gradient of forward node {node.origin.name!r}, created at {node.origin.location})"
    return f"{node.op.name} {node.name!r} failed: {err}\n  inputs: {shapes}{where}"


def _check_output(node, value):
    """A custom op whose forward disagrees with its own shape rule is caught here."""
    static = node.shape
    if len(value.shape) != len(static) or any(s is not None and s != v for s, v in zip(static, value.shape)):
        raise ShapeError(f"op {node.op.name!r} ({node.name!r}, created at {node.location}) returned shape "
                         f"{value.shape}, but its shape rule said {node.shape_str()}")


def _check_finite(node, value, inputs):
    if value.dtype.kind not in "fc" or np.isfinite(value).all():
        return
    nans, infs = int(np.isnan(value).sum()), int(np.isinf(value).sum())
    msg = (f"{node.op.name} {node.name!r} produced {nans} NaN and {infs} Inf of {value.size} values\n"
           f"  created at {node.location}")
    if node.origin is not None:
        msg += f"\n  it is part of the backprop step of forward node {node.origin.name!r} ({node.origin.location})"
    for inp, v in zip(node.inputs, inputs):
        v = np.asarray(v)
        if v.size and v.dtype.kind in "fc":
            msg += f"\n  input {inp.name!r}: shape {v.shape}, min {np.nanmin(v):.4g}, max {np.nanmax(v):.4g}"
    err = NumericsError(msg)
    err.node = node
    raise err


def _as_feed_array(node, value):
    """Validate one fed value against its placeholder; cast only within a kind."""
    arr = np.asarray(value)
    want = node.dtype
    if arr.dtype != want:
        if want.kind == "f" and arr.dtype.kind in "fiub":
            arr = arr.astype(want)
        elif want.kind in "iu" and arr.dtype.kind in "iu":
            arr = arr.astype(want)
        elif want.kind == "b" and arr.dtype.kind == "b":
            pass
        else:
            raise FeedError(f"placeholder {node.name!r} has dtype {want}, but was fed {arr.dtype}; "
                            f"floats are never cast to integers silently (created at {node.location})")
    if len(arr.shape) != len(node.shape) or any(s is not None and s != d for s, d in zip(node.shape, arr.shape)):
        raise FeedError(f"placeholder {node.name!r} expects shape {node.shape_str()}, but was fed {arr.shape} "
                        f"(created at {node.location})")
    return arr


def feed_values(plan: Plan, feed) -> dict:
    feed = feed or {}
    if not isinstance(feed, dict):
        raise FeedError(f"feed must be a dict {{placeholder: array}}, got {type(feed).__name__}")
    by_name = {}
    graph = plan.graph
    for key, value in feed.items():
        if isinstance(key, str):
            matches = [n for n in graph.placeholders if n.name == key]
            if not matches:
                raise FeedError(f"feed key {key!r} is not a placeholder of {graph.name!r}; "
                                f"placeholders: {[n.name for n in graph.placeholders]}")
            key = matches[0]
        if not isinstance(key, Tensor) or key.graph is not graph:
            raise FeedError(f"feed key {getattr(key, 'name', key)!r} is not a tensor of graph {graph.name!r}")
        if key.op.name != "placeholder":
            raise FeedError(f"only placeholders can be fed; {key.name!r} is a {key.op.name}")
        by_name[key] = value
    out = {}
    missing = []
    for node in plan.placeholders:
        if node in by_name:
            out[node] = _as_feed_array(node, by_name[node])
        elif node.value is not None:
            out[node] = node.value
        else:
            missing.append(node.name)
    if missing:
        raise FeedError(f"missing feed for placeholder(s) {missing}: the fetched tensors depend on them; "
                        f"pass feed={{{missing[0]}: array, ...}}")
    return out


def plan_for(graph, fetches) -> Plan:
    nodes, _ = _fetch_nodes(fetches)
    key = tuple(n.id for n in nodes)
    plan = graph._plans.get(key)
    if plan is None or plan.fetches != nodes:
        plan = graph._plans[key] = Plan(graph, nodes)
    return plan


def run(graph, fetches, feed=None, *, check_numerics=False, trace=False):
    nodes, rebuild = _fetch_nodes(fetches)
    plan = plan_for(graph, nodes)
    values = feed_values(plan, feed)
    with (run_scope() if plan.shares_kernel_work else contextlib.nullcontext(),
          parallel.own_threads() if plan.uses_own_threads else contextlib.nullcontext()):
        # (the conv kernels of this run share rearranged inputs: kernels/reuse.py, and
        # split batches over minigrad's threads: kernels/parallel.py)
        if check_numerics or trace:
            record = Trace() if trace else None
            results = plan.interpret(values, check_numerics=check_numerics, trace=record)
        else:
            results = plan.run(values)
    results = rebuild([np.asarray(r) for r in results])
    return (results, record) if trace else results
