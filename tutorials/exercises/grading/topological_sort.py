"""Grading for topological_sort: order properties checked directly (each node once,
inputs first, exactly the ancestors), on stand-in nodes and on real minigrad graphs."""

ORDER = 6

import numpy as np

import minigrad as mg
from minigrad.exercises import fail


class N:
    """A stand-in node: a name and inputs, nothing else (no .id to sort by)."""
    __slots__ = ("name", "inputs")

    def __init__(self, name, *inputs):
        self.name, self.inputs = name, tuple(inputs)

    def __repr__(self):
        return self.name


def _ancestors(targets):
    seen, stack = set(), list(targets)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(n.inputs)
    return seen


def _validate(order, targets, what):
    if order is None:
        fail(f"{what}: topological_sort returned None; return the list of nodes")
    order = list(order)
    names = lambda nodes: ", ".join(getattr(n, "name", repr(n)) for n in list(nodes)[:6])  # noqa: E731
    position = {}
    for k, n in enumerate(order):
        if n in position:
            fail(f"{what}: node {n.name!r} appears twice in the order (fan-out: emit each node once)")
        position[n] = k
    want = _ancestors(targets)
    missing, extra = want - set(position), set(position) - want
    if missing:
        fail(f"{what}: {len(missing)} needed node(s) missing from the order: {names(missing)}")
    if extra:
        fail(f"{what}: the order has node(s) the targets do not depend on: {names(extra)}")
    for n in order:
        for inp in n.inputs:
            if position[inp] > position[n]:
                fail(f"{what}: {n.name!r} comes before its input {inp.name!r}; every node must "
                     "come after all of its inputs")


def check_single_and_leaf(ex):
    """a leaf alone, and a node on two leaves"""
    a = N("a")
    _validate(ex.topological_sort([a]), [a], "sorting a single leaf")
    b, c = N("b"), N("c")
    d = N("d", b, c)
    _validate(ex.topological_sort([d]), [d], "d = f(b, c)")


def check_diamond_fan_out(ex):
    """a diamond: a feeds b and c, both feed d (a appears once, first)"""
    a = N("a")
    b, c = N("b", a), N("c", a)
    d = N("d", b, c)
    e = N("e", d, a)  # a used again further down
    _validate(ex.topological_sort([e]), [e], "the diamond a -> (b, c) -> d, e = f(d, a)")


def check_several_targets(ex):
    """several targets sharing nodes; unrelated nodes left out"""
    x, w, unused = N("x"), N("w"), N("unused")
    h = N("h", x, w)
    loss1, loss2 = N("loss1", h), N("loss2", h, x)
    N("other", unused, w)
    _validate(ex.topological_sort([loss1, loss2]), [loss1, loss2], "two targets loss1, loss2")
    _validate(ex.topological_sort([h, loss1]), [h, loss1], "targets h and loss1 (h is an input of loss1)")


def check_same_input_twice(ex):
    """a node using the same input twice (x * x)"""
    x = N("x")
    sq = N("mul", x, x)
    _validate(ex.topological_sort([sq]), [sq], "mul(x, x)")


def check_real_minigrad_graph(ex):
    """a real minigrad graph, forward and backward nodes"""
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", shape=(None, 3))
        W = mg.parameter("W", np.ones((3, 2), "float32"))
        b = mg.parameter("b", np.zeros(2, "float32"))
        h = mg.tanh(x @ W + b)
        loss = (h * h + h).mean()
        dW, db = mg.grad(loss, [W, b])
    _validate(ex.topological_sort([loss]), [loss], "the forward graph of a tanh layer")
    _validate(ex.topological_sort([dW, db]), [dW, db], "the gradient nodes dW, db")


def check_deep_chain(ex):
    """a chain of 20,000 nodes (no recursion)"""
    node = N("n0")
    for k in range(1, 20000):
        node = N(f"n{k}", node)
    order = ex.topological_sort([node])
    _validate(order, [node], "a chain of 20,000 nodes")


def check_ladder_is_fast(ex):
    """a ladder of 200 shared rungs finishes quickly (a visited set)"""
    node = N("r0")
    for k in range(1, 200):
        left, right = N(f"l{k}", node), N(f"r'{k}", node)
        node = N(f"r{k}", left, right)
    _validate(ex.topological_sort([node]), [node], "a ladder of 200 rungs (2^200 paths)")


check_ladder_is_fast.timeout = 5
