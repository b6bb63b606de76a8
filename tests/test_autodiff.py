"""mg.grad: hand-derived gradients, fan-out, pruning, errors and second derivatives."""

import numpy as np
import pytest

import minigrad as mg


def _scalars(*names):
    g = mg.Graph()
    with g:
        return g, [mg.placeholder(n, (), "float64") for n in names]


def test_chain_rule_by_hand():
    # f = sin-free chain: f = exp(a * b) + a ; df/da = b*exp(ab) + 1, df/db = a*exp(ab)
    g, (a, b) = _scalars("a", "b")
    f = mg.exp(a * b) + a
    da, db = mg.grad(f, [a, b])
    va, vb = 0.7, -1.3
    out = g.run([da, db], {a: va, b: vb})
    np.testing.assert_allclose(out[0], vb * np.exp(va * vb) + 1)
    np.testing.assert_allclose(out[1], va * np.exp(va * vb))


def test_fan_out_accumulates():
    # f = x*x + 3x uses x three times: df/dx = 2x + 3
    g, (x,) = _scalars("x")
    f = x * x + 3 * x
    dx = mg.grad(f, x)
    assert float(g.run(dx, {x: 2.5})) == pytest.approx(8.0)


def test_reused_intermediate_node():
    # h = x + 1 feeds two branches: f = h*h + h/2 -> df/dx = 2h + 1/2
    g, (x,) = _scalars("x")
    h = x + 1
    f = h * h + h / 2
    dx = mg.grad(f, x)
    assert float(g.run(dx, {x: 1.5})) == pytest.approx(2 * 2.5 + 0.5)


def test_gradient_of_an_intermediate_node():
    g, (x,) = _scalars("x")
    h = x * 3
    f = h * h
    dh, dx = mg.grad(f, [h, x])
    out = g.run([dh, dx], {x: 2.0})
    assert out[0] == pytest.approx(12.0) and out[1] == pytest.approx(36.0)


def test_broadcast_gradient_is_summed_back():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 3), "float64")
        b = mg.parameter("b", np.zeros(3))
        loss = ((x + b) * 2).sum()
        db = mg.grad(loss, b)
    np.testing.assert_allclose(g.run(db, {x: np.ones((5, 3))}), [10, 10, 10])


def test_unrelated_x_gets_zeros_and_integer_x_is_refused():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (2,), "float64")
        z = mg.placeholder("z", (3,), "float64")
        t = mg.placeholder("t", (2,), "int64")
        f = (x * x).sum()
        dz = mg.grad(f, z)
    np.testing.assert_array_equal(g.run(dz, {z: np.ones(3)}), np.zeros(3))
    with pytest.raises(mg.DTypeError, match="int64.*not differentiable"):
        mg.grad(f, t)


def test_non_scalar_output_needs_grad_output():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (3,), "float64")
        y = x * x
    with pytest.raises(mg.ShapeError, match="not a scalar"):
        mg.grad(y, x)
    dx = mg.grad(y, x, grad_output=np.array([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(g.run(dx, {x: np.array([1.0, 2.0, 3.0])}), [2, 40, 600])


def test_gradient_nodes_know_their_forward_node_and_are_not_duplicated():
    g, (x,) = _scalars("x")
    y = mg.tanh(x)
    loss = y * y
    dx = mg.grad(loss, x)
    grad_nodes = [n for n in g.nodes if n.is_gradient]
    assert grad_nodes and all(n.name.startswith("grad/") for n in grad_nodes)
    assert {n.origin for n in grad_nodes} <= {loss, y, x}
    count = len(g.nodes)
    assert mg.grad(loss, x) is dx and len(g.nodes) == count


def test_gradient_for_a_constant_operand_is_not_left_in_the_graph():
    g, (x,) = _scalars("x")
    loss = x ** 3.0  # pow's gradient wrt the exponent would need log(x): not built
    mg.grad(loss, x)
    assert not any(n.op.name == "log" for n in g.nodes)


def test_second_derivative_of_a_scalar_function():
    g, (x,) = _scalars("x")
    f = x ** 3.0 + mg.exp(x)
    dx = mg.grad(f, x)
    ddx = mg.grad(dx, x)
    v = 0.4
    assert float(g.run(ddx, {x: v})) == pytest.approx(6 * v + np.exp(v))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hessian_vector_product_matches_finite_differences(seed):
    """H v for f(W) = sum(tanh(X @ W) ** 2) + mean(max(W, axis=0)), by double backprop."""
    rng = np.random.default_rng(seed)
    X, W0, v = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    g = mg.Graph()
    with g:
        W = mg.placeholder("W", (3, 4), "float64")
        V = mg.placeholder("v", (3, 4), "float64")
        f = (mg.tanh(mg.constant(X) @ W) ** 2.0).sum() + mg.sigmoid(W).max(axis=0).mean()
        gW = mg.grad(f, W)
        hv = mg.grad((gW * V).sum(), W)  # d/dW <grad f, v> = H v
    hv_value = g.run(hv, {W: W0, V: v})
    eps = 1e-5
    plus = g.run(gW, {W: W0 + eps * v, V: v})
    minus = g.run(gW, {W: W0 - eps * v, V: v})
    np.testing.assert_allclose(hv_value, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_gradcheck_reports_the_worst_element_and_input():
    class BadSquare(mg.Op):
        name = "bad_square_test"

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x * x

        def vjp(self, node, g):
            return (g * node.inputs[0] * 3.0,)  # wrong: should be 2x

    bad = mg.register(BadSquare)
    try:
        with pytest.raises(mg.GradcheckError, match="analytic .* vs numeric"):
            mg.testing.gradcheck(lambda a, b: (bad(a) * b).sum(), [np.ones(3), np.arange(3.0)])
        res = mg.testing.gradcheck(lambda a, b: (bad(a) * b).sum(), [np.ones(3), np.arange(3.0)],
                                   raise_exception=False)
        assert not res.ok and res.input_index == 0 and res.element == (2,)
        assert res.analytic == pytest.approx(6.0) and res.numeric == pytest.approx(4.0)
    finally:
        mg.REGISTRY.pop("bad_square_test")
