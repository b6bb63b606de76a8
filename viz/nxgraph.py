"""``viz.to_networkx``: the graph as a ``networkx.DiGraph``, for analysis rather than looks.

Nodes are keyed by their unique name; edges run from input to consumer. Useful to
ask questions a picture answers only by squinting: how deep is the graph
(``nx.dag_longest_path``), which nodes does the loss depend on (``nx.ancestors``),
how many gradient nodes did ``mg.grad`` add.
"""

from __future__ import annotations

import networkx as nx

from .scene import _select
from .source import kind_of, resolve


def to_networkx(graph_or_tensors, show="both") -> nx.DiGraph:
    """A DiGraph with one node per minigrad node.

    Node attributes: id, name, op, shape (tuple, None = unknown), shape_str, dtype
    (str), kind (placeholder / parameter / constant / op / gradient), scope, origin
    (name of the forward node whose backprop step made it, or None), is_gradient,
    location. Edge attributes: index (which input of the consumer), kind ("data"
    forward, "grad" between gradient nodes, "reads" backward reading forward).
    ``show`` picks nodes as in ``to_dot`` (default "both": everything).
    """
    src = resolve(graph_or_tensors)
    drawn, ghosts = _select(src.graph, src.targets, show)
    out = nx.DiGraph(name=src.graph.name)
    for node in list(drawn) + list(ghosts):
        out.add_node(node.name, id=node.id, name=node.name, op=node.op.name, shape=node.shape,
                     shape_str=node.shape_str(), dtype=str(node.dtype), kind=kind_of(node),
                     scope=node.scope, origin=node.origin.name if node.origin is not None else None,
                     is_gradient=node.is_gradient, location=node.location)
    for node in drawn:
        for index, inp in enumerate(node.inputs):
            if inp.name not in out:
                continue
            kind = "grad" if node.is_gradient and inp.is_gradient else "reads" if node.is_gradient else "data"
            out.add_edge(inp.name, node.name, index=index, kind=kind)
    return out
