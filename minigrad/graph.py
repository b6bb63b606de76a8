"""The computation graph: nodes, the graph that records them, and a topological order.

A ``Graph`` is an append-only list of nodes. Each node is created *after* its inputs,
so the order of creation is already a topological order: to run or differentiate a
part of the graph we collect the nodes it needs (an explicit stack, no recursion, so a
chain of 10,000 nodes is fine) and sort them by creation number.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from .errors import GraphError

_MINIGRAD_DIR = os.path.dirname(os.path.abspath(__file__))
# Frames in these folders are library code: minigrad itself and its drawing package.
_PACKAGE_DIRS = (_MINIGRAD_DIR + os.sep,
                 os.path.join(os.path.dirname(_MINIGRAD_DIR), "viz") + os.sep)
_SKIP_FILES = ("<frozen", os.path.join("contextlib.py"), "functools.py")


def user_location() -> str:
    """Return ``file:line`` of the innermost stack frame that is the user's code.

    Frames inside minigrad (and viz) are skipped, so an error points at the line the
    learner wrote, not at the op implementation that noticed the problem.
    """
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        path = os.path.abspath(filename)
        if not path.startswith(_PACKAGE_DIRS) and not filename.endswith(_SKIP_FILES) \
                and not filename.startswith("<frozen"):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class Node:
    """One value in the graph: a leaf (placeholder, parameter, constant) or an op's output.

    Attributes a learner will meet everywhere:
      id        creation number, unique in the graph (also a topological rank)
      name      unique readable name, prefixed by the name scope ("dense1/matmul")
      op        the Op that computes it (leaves have ops too: "placeholder", ...)
      inputs    the nodes it reads
      attrs     static settings of the op (axis, stride, ...), fixed when recorded
      shape     inferred shape; ``None`` marks a dimension known only at run time
      dtype     a numpy dtype
      location  the user's ``file:line`` that created it
      origin    for gradient nodes: the forward node whose backprop step made it
      value     the stored array of a parameter or constant (None otherwise)
    """

    __slots__ = ("id", "name", "op", "inputs", "attrs", "shape", "dtype", "graph",
                 "location", "origin", "scope", "value", "__weakref__")

    def __init__(self, graph, op, inputs, attrs, shape, dtype, name, location, origin, scope):
        self.graph = graph
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.location = location
        self.origin = origin
        self.scope = scope
        self.value = None
        self.id = -1

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_leaf(self) -> bool:
        return not self.inputs and self.op.name in ("placeholder", "parameter", "constant")

    @property
    def is_gradient(self) -> bool:
        """True for nodes that ``mg.grad`` appended (they belong to a backward pass)."""
        return self.origin is not None

    def shape_str(self) -> str:
        return "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + \
            ("," if len(self.shape) == 1 else "") + ")"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} op={self.op.name} shape={self.shape_str()} dtype={self.dtype}>"

    __hash__ = object.__hash__


_graph_stack: list["Graph"] = []


def current_graph(required_for: str | None = None) -> "Graph | None":
    """The graph of the innermost ``with graph:`` block.

    With ``required_for`` set, raise a ``GraphError`` telling the user what to do when
    no graph is active (leaves cannot be created outside a graph).
    """
    if _graph_stack:
        return _graph_stack[-1]
    if required_for is None:
        return None
    raise GraphError(
        f"{required_for} needs an active graph, but none is active (at {user_location()}).\n"
        "Create one and build inside it:\n    g = mg.Graph()\n    with g:\n        x = mg.placeholder('x', shape=(None, 3))")


class Graph:
    """Records nodes as ops are called on symbolic tensors, then runs them.

    Use it as a context manager: inside ``with g:`` placeholders, parameters and
    constants are created in ``g``; ops on tensors always go to their inputs' graph.
    """

    def __init__(self, name: str = "graph"):
        self.name = name
        self.nodes: list[Node] = []
        self._names: set[str] = set()
        self._next_suffix: dict[str, int] = {}
        self._scopes: list[str] = []
        self._origins: list[Node] = []
        self._plans: dict = {}
        self._backward_cache: dict = {}   # (y, xs) -> Backward, so grad is not built twice
        self._backward_records: list = []  # every Backward, in the order grad built them

    # -- building ---------------------------------------------------------------
    def __enter__(self) -> "Graph":
        _graph_stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _graph_stack.remove(self)

    @contextlib.contextmanager
    def name_scope(self, name: str):
        """Prefix the names of nodes created inside with ``name/`` (drawn as a cluster)."""
        if not name or "/" in name:
            raise ValueError(f"name_scope: scope name must be non-empty without '/', got {name!r}")
        self._scopes.append(name)
        try:
            yield "/".join(self._scopes)
        finally:
            self._scopes.pop()

    def fresh_scope_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``... if a scope of that name already exists here."""
        prefix = self.scope + "/" if self.scope else ""
        taken = {n.name[len(prefix):].split("/", 1)[0] for n in self.nodes
                 if n.name.startswith(prefix) and "/" in n.name[len(prefix):]}
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        return name

    def backward_pass_scope(self) -> str:
        """The scope of the next backward pass: ``grad`` for the first ``mg.grad`` call
        on this graph, then ``grad_2``, ``grad_3``... so that two backward passes (two
        losses, or a gradient of a gradient) are drawn as two passes, not one."""
        k = len(self._backward_records)
        return "grad" if k == 0 else f"grad_{k + 1}"

    @contextlib.contextmanager
    def gradient_of(self, node: Node, scope: str = "grad"):
        """Mark nodes created inside as belonging to the backprop step of ``node``.

        They are named under ``scope`` (the backward pass's, ``grad`` for the first)
        plus the forward node's scope, so "dense1/matmul" gets gradient nodes such as
        "grad/dense1/matmul_1".
        """
        saved = self._scopes
        self._scopes = [scope] + ([node.scope] if node.scope else [])
        self._origins.append(node)
        try:
            yield
        finally:
            self._origins.pop()
            self._scopes = saved

    @property
    def scope(self) -> str:
        return "/".join(self._scopes)

    def unique_name(self, base: str) -> str:
        """``scope/base``, or ``scope/base_1``, ``_2``... if taken.

        The next suffix to try is remembered per name, so naming stays O(1) per node
        (a 10,000-node chain of "mul"s would otherwise rescan every earlier suffix).
        """
        wanted = (self.scope + "/" if self.scope else "") + base
        k = self._next_suffix.get(wanted, 0)
        name = wanted if k == 0 else f"{wanted}_{k}"
        while name in self._names:
            k += 1
            name = f"{wanted}_{k}"
        self._next_suffix[wanted] = k + 1
        self._names.add(name)
        return name

    def add(self, node: Node) -> Node:
        node.id = len(self.nodes)
        self.nodes.append(node)
        return node

    def truncate(self, keep_from: int, keep: set) -> None:
        """Drop nodes created since index ``keep_from`` that are not in ``keep``.

        ``mg.grad`` uses this to remove gradient nodes no result needs (for example
        the gradient sent to a constant), so drawings show only the real backward pass.
        """
        tail = self.nodes[keep_from:]
        del self.nodes[keep_from:]
        for node in tail:
            if node in keep:
                node.id = len(self.nodes)
                self.nodes.append(node)
            else:
                self._names.discard(node.name)
        self._next_suffix.clear()  # freed names may be handed out again
        self._plans.clear()

    # -- looking at it ----------------------------------------------------------
    def by_name(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in {self.name}")

    def backward_records(self) -> list:
        """The ``autodiff.Backward`` record of every ``mg.grad`` call on this graph:
        which node holds dL/d(node), and what each node sent to its inputs."""
        return list(self._backward_records)

    @property
    def placeholders(self) -> list[Node]:
        return [n for n in self.nodes if n.op.name == "placeholder"]

    @property
    def parameters(self) -> list[Node]:
        return [n for n in self.nodes if n.op.name == "parameter"]

    def topo_order(self, targets) -> list[Node]:
        """Every node the ``targets`` depend on (themselves included), inputs first."""
        seen: set[Node] = set()
        stack = list(targets)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            if node.graph is not self:
                raise GraphError(f"node {node.name!r} belongs to another graph ({node.graph.name!r})")
            seen.add(node)
            stack.extend(node.inputs)
        return sorted(seen, key=lambda n: n.id)

    # -- running ----------------------------------------------------------------
    def run(self, fetches, feed=None, *, check_numerics=False, trace=False):
        """Compute ``fetches`` (a tensor, a list/tuple or a dict of them).

        ``feed`` maps placeholders (or their names) to arrays. Returns NumPy arrays in
        the same structure as ``fetches``; with ``trace=True`` returns
        ``(result, Trace)`` where the trace holds every executed node's value and time.
        """
        from .executor import run
        return run(self, fetches, feed, check_numerics=check_numerics, trace=trace)

    def compile(self, fetches):
        """The reusable ``Plan`` for ``fetches`` (pruned, ordered node list)."""
        from .executor import plan_for
        return plan_for(self, fetches)

    def __repr__(self) -> str:
        return f"<Graph {self.name!r} with {len(self.nodes)} nodes>"
