"""Reading what to draw out of minigrad: which graph, which nodes, which gradients.

viz only *reads* graphs. Everything it needs from the core passes through these
few functions, so if the core changes, this is the one file to adapt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import minigrad as mg

LEAF_OPS = ("placeholder", "parameter", "constant")


@dataclass
class Source:
    """The graph to draw, the nodes asked for (all when empty), and the outputs."""
    graph: object
    targets: list = field(default_factory=list)


def resolve(obj) -> Source:
    """Accept a Graph, a tensor, a list of tensors, or anything with a ``.graph``.

    An ``mg.nn`` model (or any object with a ``.graph``) is drawn whole.
    """
    if isinstance(obj, mg.Graph):
        return Source(obj)
    if isinstance(obj, mg.Tensor):
        return Source(obj.graph, [obj])
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, mg.Tensor) for t in obj):
        graphs = {t.graph for t in obj}
        if len(graphs) > 1:
            raise ValueError("viz: the tensors to draw belong to different graphs")
        return Source(obj[0].graph, list(obj))
    graph = getattr(obj, "graph", None)
    if isinstance(graph, mg.Graph):
        return Source(graph)
    raise TypeError(f"viz can draw a mg.Graph, a tensor or a list of tensors, or a model with "
                    f".graph; got {type(obj).__name__}")


def kind_of(node) -> str:
    """The style kind of a node: placeholder, parameter, constant, gradient or op."""
    if node.is_gradient:
        return "gradient"
    if node.op.name in LEAF_OPS and not node.inputs:
        return node.op.name
    return "op"


@dataclass
class Gradients:
    """What the backward passes of a graph built, merged over every ``mg.grad`` call.

    total[f]      the node holding dL/df for forward node f
    sent[(v, i)]  the node holding the gradient v sends to its i-th input
    """
    total: dict = field(default_factory=dict)
    sent: dict = field(default_factory=dict)

    def __bool__(self):
        return bool(self.total)


def gradients_of(graph) -> Gradients:
    """Collect the ``Backward`` records of every ``mg.grad`` call on ``graph``.

    When two grad calls cover the same node, the first one wins.
    """
    found = Gradients()
    for record in graph.backward_records():
        for node, g in record.total.items():
            found.total.setdefault(node, g)
        for node, sent in record.sent.items():
            for i, g in enumerate(sent):
                if g is not None:
                    found.sent.setdefault((node, i), g)
    return found


def ensure_gradients(graph, loss=None) -> Gradients:
    """The gradients of ``graph``; if ``mg.grad`` was never called, build them.

    Building appends gradient nodes to the graph (that is what ``mg.grad`` does), so
    viz only does it when a picture needs gradients and there are none. The loss is
    ``loss`` or else the graph's only scalar float output.
    """
    found = gradients_of(graph)
    if found:
        return found
    if loss is None:
        loss = find_loss(graph)
    params = [n for n in graph.topo_order([loss]) if n.op.name == "parameter"]
    if params:
        from minigrad.autodiff import backward
        backward(loss, params)
    return gradients_of(graph)


def find_loss(graph):
    """The scalar float forward node nothing else reads (raise if not exactly one)."""
    used = {i for n in graph.nodes for i in n.inputs if not n.is_gradient}
    sinks = [n for n in graph.nodes if not n.is_gradient and n not in used
             and n.shape == () and n.dtype.kind == "f" and n.inputs]
    if len(sinks) != 1:
        raise ValueError(f"viz: cannot tell which node is the loss ({len(sinks)} scalar outputs); "
                         "pass the loss tensor instead of the graph")
    return sinks[0]


def evaluate(graph, feed, nodes=None):
    """Run ``nodes`` (default: every non-leaf node of the graph) and return a Trace.

    A convenience so ``to_dot(g, feed=...)`` can show values without the caller
    running the graph. Nodes that need a placeholder missing from ``feed`` are skipped.
    """
    if nodes is None:
        nodes = graph.nodes
    fed = set()
    for key in (feed or {}):
        fed.add(graph.by_name(key) if isinstance(key, str) else key)
    runnable = []
    blocked = set()
    for node in sorted(set(nodes), key=lambda n: n.id):
        if node.op.name == "placeholder" and node not in fed and node.value is None:
            blocked.add(node)
        elif any(i in blocked for i in node.inputs):
            blocked.add(node)
        else:
            runnable.append(node)
    if not runnable:
        from minigrad.executor import Trace
        return Trace()
    _, trace = graph.run(runnable, feed, trace=True)
    return trace


def as_values(values) -> dict:
    """A Trace, a dict {node: array}, or None -> dict {node: ndarray}."""
    if values is None:
        return {}
    if isinstance(values, dict):
        return {k: np.asarray(v) for k, v in values.items()}
    if isinstance(values, list):  # a Trace is a list of TraceEntry(node, value, seconds, path)
        return {e.node: np.asarray(e.value) for e in values}
    raise TypeError(f"values must be a Trace or a dict {{node: array}}, got {type(values).__name__}")


def timings(values) -> dict:
    """Seconds per node from a Trace (empty for a plain dict of values)."""
    if isinstance(values, list):
        return {e.node: e.seconds for e in values if getattr(e, "node", None) is not None}
    return {}
