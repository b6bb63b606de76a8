"""Reverse-mode autodiff as a graph transform.

``grad(y, xs)`` does not compute numbers. It walks the nodes ``y`` depends on in
reverse topological order and, for each, asks its op for the vector-Jacobian product:
given dL/d(node), one gradient *tensor* per input, built from ordinary minigrad ops.
Those new nodes are appended to the same graph, so the backward pass can be run,
drawn, stepped through, and differentiated again.

Three ideas carry the whole algorithm:
  * reverse topological order: a node is handled only after every consumer has sent
    it a gradient, so its gradient is complete;
  * accumulation: a node used twice (fan-out) receives two gradients that add up;
  * pruning: only nodes on a path between ``xs`` and ``y`` need gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import DTypeError, GraphError, ShapeError
from .graph import user_location
from .tensor import Tensor


@dataclass
class Backward:
    """Everything one call of ``grad`` built, kept for ``backprop_steps`` and viz.

    total[node]  the complete dL/d(node) tensor
    sent[node]   the gradient tensor node sent to each of its inputs (None: none sent)
    """
    y: Tensor
    xs: list
    grads: list
    total: dict = field(default_factory=dict)
    sent: dict = field(default_factory=dict)


def grad(y, xs, grad_output=None):
    """Gradient tensors dy/dx for each x in ``xs`` (a list, or a single tensor).

    ``y`` must be a scalar unless ``grad_output`` (the upstream gradient, shaped like
    ``y``) is given. An ``x`` that ``y`` does not depend on gets zeros.
    """
    if isinstance(xs, Tensor):
        return backward(y, [xs], grad_output).grads[0]
    return backward(y, list(xs), grad_output).grads


def _carries_gradient(node) -> bool:
    return node.dtype.kind == "f" and node.op.differentiable


def _check_request(y, xs, grad_output):
    if not isinstance(y, Tensor):
        raise TypeError(f"grad: y must be a Tensor, got {type(y).__name__}")
    for x in xs:
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: every x must be a Tensor, got {type(x).__name__}")
        if x.graph is not y.graph:
            raise GraphError(f"grad: {x.name!r} and {y.name!r} belong to different graphs")
        if x.dtype.kind != "f":
            raise DTypeError(f"grad: {x.name!r} has dtype {x.dtype}; integer and boolean tensors "
                             f"(labels, indices, masks) are not differentiable (at {user_location()})")
    if y.dtype.kind != "f":
        raise DTypeError(f"grad: y {y.name!r} has dtype {y.dtype}; only floating-point outputs have gradients")
    if grad_output is None and y.shape != ():
        raise ShapeError(f"grad: y {y.name!r} has shape {y.shape_str()}, not a scalar; reduce it "
                         f"(y.sum()) or pass grad_output shaped like y (at {user_location()})")


def backward(y, xs, grad_output=None) -> Backward:
    """Append the gradient nodes of ``y`` with respect to ``xs``; return the record."""
    from . import ops
    _check_request(y, xs, grad_output)
    graph = y.graph
    key = (y, tuple(xs))
    if grad_output is None and key in graph._backward_cache:
        return graph._backward_cache[key]  # asked before: reuse, do not duplicate nodes

    order = graph.topo_order([y])
    wanted = set(xs)
    # Nodes that depend on some x through differentiable ops: only they get gradients.
    on_path = set()
    for node in order:
        if node in wanted or (_carries_gradient(node) and any(i in on_path for i in node.inputs)):
            on_path.add(node)

    first_new = len(graph.nodes)
    scope = graph.backward_pass_scope()
    with graph.gradient_of(y, scope):
        seed = ops.constant(np.ones((), y.dtype), name="seed", graph=graph) if grad_output is None \
            else ops.as_tensor(grad_output, graph, y.dtype)
    record = Backward(y, xs, [])
    pending = {y: [seed]} if y in on_path else {}

    for node in reversed(order):
        if node not in pending:
            continue
        with graph.gradient_of(node, scope):
            g = _accumulate(pending.pop(node))
            record.total[node] = g
            if not node.inputs:
                continue
            input_grads = node.op.vjp(node, g)
            _check_vjp_result(node, input_grads)
            sent = []
            for inp, gi in zip(node.inputs, input_grads):
                if gi is None or inp not in on_path:
                    sent.append(None)
                    continue
                sent.append(gi)
                pending.setdefault(inp, []).append(gi)
            record.sent[node] = tuple(sent)

    for x in xs:
        if x in record.total:
            record.grads.append(record.total[x])
        else:
            with graph.gradient_of(x, scope):
                record.grads.append(ops.zeros_like(x))

    # Drop what the VJPs built but nothing uses (e.g. a gradient for a constant).
    roots = record.grads + list(record.total.values()) + [g for s in record.sent.values() for g in s if g is not None]
    graph.truncate(first_new, set(graph.topo_order(roots)))
    graph._backward_records.append(record)
    if grad_output is None:
        graph._backward_cache[key] = record
    return record


def _accumulate(grads):
    """Fan-out: a node used by several consumers gets the sum of their gradients."""
    from .ops import add
    total = grads[0]
    for g in grads[1:]:
        total = add(total, g)
    return total


def _check_vjp_result(node, grads):
    """Catch a wrong custom-op VJP here, at build time, with the op's name on it."""
    if not isinstance(grads, (tuple, list)) or len(grads) != len(node.inputs):
        raise GraphError(f"the vjp of op {node.op.name!r} must return one gradient (or None) per input: "
                         f"{len(node.inputs)} expected, got {grads!r}")
    for inp, gi in zip(node.inputs, grads):
        if gi is None:
            continue
        if not isinstance(gi, Tensor):
            raise GraphError(f"the vjp of op {node.op.name!r} returned {type(gi).__name__} for input "
                             f"{inp.name!r}; build gradients with minigrad ops so they are graph nodes")
        if len(gi.shape) != len(inp.shape) or any(
                a is not None and b is not None and a != b for a, b in zip(gi.shape, inp.shape)):
            raise ShapeError(f"the vjp of op {node.op.name!r} returned a gradient of shape {gi.shape_str()} "
                             f"for input {inp.name!r} of shape {inp.shape_str()}; they must match "
                             f"(use mg.sum_to(g, x) to undo broadcasting)")
