"""Graph.run: feeds, fetch structures, plans, traces, NaN checks and run-time errors."""

import numpy as np
import pytest

import minigrad as mg


@pytest.fixture
def mlp():
    g = mg.Graph("mlp")
    rng = np.random.default_rng(0)
    with g:
        x = mg.placeholder("x", (None, 3))
        t = mg.placeholder("t", (None,), "int64")
        W = mg.parameter("W", rng.normal(size=(3, 4)).astype("float32"))
        b = mg.parameter("b", np.zeros(4, "float32"))
        logits = x @ W + b
        loss = mg.cross_entropy(logits, t)
        dW, db = mg.grad(loss, [W, b])
    return g, x, t, W, b, logits, loss, dW, db


def _data(n=5):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 3)).astype("float32"), rng.integers(0, 4, size=n)


def test_fetch_structures_are_preserved(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    feed = {x: X, t: T}
    single = g.run(loss, feed)
    as_list = g.run([loss, dW], feed)
    as_tuple = g.run((loss,), feed)
    as_dict = g.run({"loss": loss, "grad": db}, feed)
    assert isinstance(single, np.ndarray) and single.shape == ()
    assert isinstance(as_list, list) and as_list[1].shape == (3, 4)
    assert isinstance(as_tuple, tuple)
    assert set(as_dict) == {"loss", "grad"} and as_dict["grad"].shape == (4,)


def test_matches_numpy_reference(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    lv, dWv = g.run([loss, dW], {x: X, t: T})
    z = X @ W.value + b.value
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(lv, -np.log(p[np.arange(5), T]).mean(), rtol=1e-5)
    y = np.eye(4)[T]
    np.testing.assert_allclose(dWv, X.T @ (p - y) / 5, rtol=1e-4, atol=1e-6)


def test_plan_is_built_once_and_readable(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    p1 = g.compile([loss, dW])
    p2 = g.compile([loss, dW])
    assert p1 is p2
    assert "def plan(" in p1.source and "# matmul (matmul)" in p1.source
    assert len(p1.order) < len(g.nodes) or db in p1.order is False  # pruned: db not needed
    assert db not in p1.order


def test_feed_errors_name_the_problem(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    with pytest.raises(mg.FeedError, match=r"missing feed .*'t'"):
        g.run(loss, {x: X})
    with pytest.raises(mg.FeedError, match=r"expects shape \(\?, 3\).*\(5, 2\)"):
        g.run(loss, {x: X[:, :2], t: T})
    with pytest.raises(mg.FeedError, match="never cast to integers"):
        g.run(loss, {x: X, t: T.astype("float32")})
    with pytest.raises(mg.FeedError, match="'nope' is not a placeholder"):
        g.run(loss, {"nope": X, x: X, t: T})
    with pytest.raises(mg.FeedError, match="only placeholders"):
        g.run(loss, {W: X, x: X, t: T})
    # names work as keys, and float64 data is cast to the float32 placeholder
    assert g.run(loss, {"x": X.astype("float64"), "t": T}).dtype == np.float32


def test_batch_size_mismatch_is_reported_by_the_op_at_its_line(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    with pytest.raises(mg.ShapeError, match=r"cross_entropy.*batch sizes differ.*\n.*\n.*test_executor.py"):
        g.run(loss, {x: X, t: T[:3]})


def test_label_out_of_range_is_an_op_error_naming_the_node(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    T[0] = 7
    with pytest.raises(mg.OpError, match=r"(?s)cross_entropy.*label 7 is outside \[0, 4\).*test_executor.py"):
        g.run(loss, {x: X, t: T})


def test_trace_gives_every_value_and_time(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    (lv,), trace = g.run([loss], {x: X, t: T}, trace=True)
    assert trace.value(loss) == lv
    np.testing.assert_allclose(trace.value(logits), X @ W.value + b.value, rtol=1e-6)
    assert all(e.seconds >= 0 for e in trace) and trace.total_seconds() > 0
    assert [e.node.id for e in trace if e.node.inputs] == sorted(e.node.id for e in trace if e.node.inputs)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_check_numerics_names_the_first_bad_node_and_its_forward_node():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (3,), "float64")
        y = mg.sqrt(x)
        loss = y.sum()
        dx = mg.grad(loss, x)
    value = np.array([1.0, 0.0, 4.0])
    g.run(dx, {x: value})  # without the check: inf passes silently
    with pytest.raises(mg.NumericsError, match=r"div .* produced 0 NaN and 1 Inf.*\n.*test_executor.py.*\n.*forward node 'sqrt'") as err:
        g.run(dx, {x: value}, check_numerics=True)
    assert err.value.node.origin is y
    with pytest.raises(mg.NumericsError, match="sqrt"):
        g.run(y, {x: np.array([-1.0, 1.0, 1.0])}, check_numerics=True)


def test_placeholder_default_is_used_when_not_fed():
    g = mg.Graph()
    with g:
        flag = mg.placeholder("training", (), "bool", default=False)
        x = mg.placeholder("x", (2,), "float64")
        y = mg.where(flag, x * 10, x)
    np.testing.assert_allclose(g.run(y, {x: [1.0, 2.0]}), [1, 2])
    np.testing.assert_allclose(g.run(y, {x: [1.0, 2.0], flag: True}), [10, 20])


def test_parameters_are_read_at_every_run():
    g = mg.Graph()
    with g:
        w = mg.parameter("w", np.array([1.0, 2.0]))
        y = (w * w).sum()
    assert float(g.run(y)) == 5.0
    w.value -= 1.0
    assert float(g.run(y)) == 1.0


def test_custom_op_whose_forward_breaks_its_shape_rule_is_caught():
    class Liar(mg.Op):
        name = "liar_test"

        def infer(self, x):
            return x.shape, x.dtype

        def forward(self, x):
            return x[:1]

        def vjp(self, node, g):
            return (g,)

    liar = mg.register(Liar)
    try:
        g = mg.Graph()
        with g:
            x = mg.placeholder("x", (3,), "float64")
            y = liar(x)
        with pytest.raises(mg.ShapeError, match=r"liar_test.*returned shape \(1,\).*shape rule said \(3,\)"):
            g.run(y, {x: np.ones(3)}, trace=True)
    finally:
        mg.REGISTRY.pop("liar_test")


def test_build_time_shape_error_names_op_shapes_and_user_line():
    g = mg.Graph()
    with g:
        a = mg.placeholder("a", (None, 3))
        W = mg.parameter("W", np.ones((4, 2), "float32"))
        with pytest.raises(mg.ShapeError) as err:
            a @ W
    message = str(err.value)
    assert "matmul" in message and "(?, 3)" in message and "(4, 2)" in message
    assert "test_executor.py:" in message and "minigrad/ops" not in message
    with g, pytest.raises(mg.ShapeError, match=r"add: shapes \(\?, 3\) and \(4, 2\) cannot be broadcast"):
        a + W


def test_batch_mismatch_is_reported_the_same_way_when_tracing(mlp):
    g, x, t, W, b, logits, loss, dW, db = mlp
    X, T = _data()
    with pytest.raises(mg.ShapeError, match=r"cross_entropy.*batch sizes differ"):
        g.run(loss, {x: X, t: T[:3]}, trace=True)


def test_trace_names_the_kernel_path_of_convs_and_matmuls():
    """The trace says which algorithm ran: Winograd for a 3x3 conv over 24 channels,
    the blocked loops for 3 channels, for the forward and both gradients; BLAS for
    matmul."""
    rng = np.random.default_rng(0)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 3, 8, 8))
        w1 = mg.parameter("w1", rng.standard_normal((24, 3, 3, 3)).astype("float32"))
        w2 = mg.parameter("w2", rng.standard_normal((4, 24, 3, 3)).astype("float32"))
        h = mg.conv2d(mg.conv2d(x, w1), w2)
        wd = mg.parameter("wd", rng.standard_normal((4 * 4 * 4, 2)).astype("float32"))
        loss = (mg.reshape(h, (-1, 64)) @ wd).sum()
        grads = mg.grad(loss, [w1, w2, wd])
    _, trace = g.run(grads, {x: rng.standard_normal((2, 3, 8, 8)).astype("float32")}, trace=True)
    paths = {}
    for e in trace:
        if e.path:
            paths.setdefault(e.node.op.name, set()).add(e.path)
    assert paths["conv2d"] == {"blocked", "winograd"}
    assert paths["conv2d_grad_weight"] == {"blocked", "winograd"}
    assert paths["conv2d_grad_input"] == {"winograd"}  # x needs no gradient: pruned
    assert paths["matmul"] == {"blas"}
