"""mg.backprop_steps: one step per forward node, loss first, with the numbers of a run."""

import numpy as np
import pytest

import minigrad as mg


def test_steps_walk_the_graph_in_reverse_with_hand_computed_numbers():
    g = mg.Graph()
    with g:
        a = mg.placeholder("a", (), "float64")
        b = mg.placeholder("b", (), "float64")
        c = mg.mul(a, b, name="c")           # c = a*b
        L = mg.add(c, a, name="L")           # L = a*b + a  (a fans out)
    steps = list(mg.backprop_steps(L, {a: 2.0, b: -3.0}))
    assert [s.node.name for s in steps] == ["L", "c", "b", "a"]
    assert [s.index for s in steps] == [0, 1, 2, 3]
    by_name = {s.node.name: s for s in steps}
    assert float(by_name["L"].value) == -4.0 and float(by_name["L"].upstream) == 1.0
    assert [(i.name, float(v)) for i, v in by_name["L"].sent] == [("c", 1.0), ("a", 1.0)]
    assert [(i.name, float(v)) for i, v in by_name["c"].sent] == [("a", -3.0), ("b", 2.0)]
    assert float(by_name["a"].upstream) == pytest.approx(-3.0 + 1.0)   # accumulated from two uses
    assert "dL/da = dL/dc * b" in by_name["c"].rule
    text = str(by_name["c"])
    assert "step 1: c = mul(a, b)" in text and "sends" in text


def test_steps_wrt_limits_the_walk_and_match_grad():
    rng = np.random.default_rng(0)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (4, 3), "float64")
        W = mg.parameter("W", rng.normal(size=(3, 2)))
        loss = mg.tanh(x @ W).sum()
        dW = mg.grad(loss, W)
    X = rng.normal(size=(4, 3))
    steps = list(mg.backprop_steps(loss, {x: X}, wrt=[W]))
    assert "x" not in [s.node.name for s in steps]
    last = [s for s in steps if s.node is W][0]
    np.testing.assert_allclose(last.upstream, g.run(dW, {x: X}))
