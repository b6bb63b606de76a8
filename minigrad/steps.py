"""``backprop_steps``: the backward pass as a sequence of steps a learner can read.

One step per forward node, in the order reverse mode visits them, carrying the
numbers of one run: the node's value, the gradient arriving from above, the
gradient it sends to each input, and the rule that turned one into the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .autodiff import backward


@dataclass
class BackpropStep:
    index: int              # 0 for the loss itself, then onwards to the leaves
    node: object            # the forward node this step handles
    value: np.ndarray       # its forward value
    upstream: np.ndarray    # dL/d(node): the complete gradient arriving here
    sent: list              # (input node, gradient sent to it) for inputs that get one
    rule: str               # the VJP in words, with the node's names filled in

    def __str__(self) -> str:
        lines = [f"step {self.index}: {self.node.name} = {self.node.op.name}"
                 f"({', '.join(i.name for i in self.node.inputs)})",
                 f"  value     {_short(self.value)}",
                 f"  upstream  dL/d{self.node.name} = {_short(self.upstream)}"]
        if self.rule:
            lines.append(f"  rule      {self.rule}")
        for inp, g in self.sent:
            lines.append(f"  sends     dL/d{inp.name} += {_short(g)}")
        return "\n".join(lines)


def _short(a) -> str:
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.6g}"
    if a.size <= 6:
        return np.array2string(a.ravel(), precision=4, separator=", ")
    return f"shape {a.shape}, min {a.min():.4g}, mean {a.mean():.4g}, max {a.max():.4g}"


def backprop_steps(loss, feed=None, wrt=None):
    """Yield a ``BackpropStep`` per forward node that gets a gradient, loss first.

    ``wrt`` defaults to every parameter and float placeholder the loss depends on.
    """
    graph = loss.graph
    order = graph.topo_order([loss])
    if wrt is None:
        wrt = [n for n in order if n.op.name in ("parameter", "placeholder") and n.dtype.kind == "f"]
    record = backward(loss, list(wrt))
    forward_nodes = [n for n in reversed(order) if n in record.total]
    fetch = list(dict.fromkeys(
        forward_nodes + [record.total[n] for n in forward_nodes]
        + [g for n in forward_nodes for g in record.sent.get(n, ()) if g is not None]))
    values = dict(zip(fetch, graph.run(fetch, feed)))
    for index, node in enumerate(forward_nodes):
        sent = [(inp, values[g]) for inp, g in zip(node.inputs, record.sent.get(node, ())) if g is not None]
        yield BackpropStep(index, node, values[node], values[record.total[node]], sent,
                           node.op.describe(node) if node.inputs else "")
