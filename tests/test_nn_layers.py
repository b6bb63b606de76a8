"""Layers: forward values against NumPy, names, parameter counts, initializers, modes."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import initializers, regularizers


def _graph_with_input(shape):
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None,) + shape)
    return g, x


def test_dense_forward_names_and_reuse():
    g, x = _graph_with_input((4,))
    layer = nn.Dense(3, activation="relu")
    y = layer(x)
    assert layer.name == "dense_1"
    assert [w.name for w in layer.weights] == ["dense_1/kernel", "dense_1/bias"]
    assert y.shape == (None, 3) and layer.count_params() == 4 * 3 + 3
    layer.bias.value[...] = [0.1, -0.2, 0.3]
    X = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(g.run(y, {x: X}), np.maximum(X @ layer.kernel.value + layer.bias.value, 0),
                               rtol=1e-5, atol=1e-6)
    # calling it again shares the weights; a second Dense gets the next name
    y2 = layer(y @ np.ones((3, 4), "float32"))
    assert len(layer.weights) == 2 and y2.shape == (None, 3)
    assert nn.Dense(2)(x) is not None and nn.Dense(2).name is None


def test_layer_nodes_live_in_their_name_scope():
    model = nn.Sequential([nn.Dense(8, activation="tanh", input_shape=(4,)), nn.Dense(2)])
    names = [n.name for n in model.graph.nodes]
    assert "dense_1/matmul" in names and "dense_2/kernel" in names
    assert all(n.name.startswith(("dense_1/", "dense_2/", "x", "training")) for n in model.graph.nodes)


def test_initializers_are_seeded_and_scaled():
    rng = lambda: np.random.default_rng(42)  # noqa: E731
    a = initializers.glorot_uniform((200, 300), rng())
    np.testing.assert_array_equal(a, initializers.glorot_uniform((200, 300), rng()))
    assert np.abs(a).max() <= np.sqrt(6 / 500)
    assert a.std() == pytest.approx(np.sqrt(2 / 500), rel=0.05)
    assert initializers.he_normal((400, 100), rng()).std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    assert np.abs(initializers.he_uniform((50, 10), rng())).max() <= np.sqrt(6 / 50)
    assert initializers.glorot_normal((300, 300), rng()).std() == pytest.approx(np.sqrt(1 / 300), rel=0.05)
    conv = initializers.he_normal((64, 32, 3, 3), rng())   # fan_in = 32*3*3
    assert conv.std() == pytest.approx(np.sqrt(2 / 288), rel=0.05)
    q = initializers.orthogonal((6, 6), rng())
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-5)
    assert not initializers.zeros((3,)).any()
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("glorot")


def test_same_seed_same_weights():
    make = lambda seed: nn.Sequential([nn.Dense(5, input_shape=(3,)), nn.Dense(2)], seed=seed)  # noqa: E731
    a, b, c = make(1), make(1), make(2)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa.value, wb.value)
    assert not np.array_equal(a.weights[0].value, c.weights[0].value)


def _conv_reference(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.tensordot(x[:, :, i:i + kh, j:j + kw], w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]


@pytest.mark.parametrize("padding,out_hw", [("valid", 5), ("same", 7)])
def test_conv2d_layer(padding, out_hw):
    g, x = _graph_with_input((2, 7, 7))
    layer = nn.Conv2D(4, 3, padding=padding)
    y = layer(x)
    assert layer.name == "conv2d_1" and y.shape == (None, 4, out_hw, out_hw)
    assert layer.count_params() == 3 * 3 * 2 * 4 + 4
    layer.bias.value[...] = [0.1, 0.2, 0.3, 0.4]
    X = np.random.default_rng(0).standard_normal((2, 2, 7, 7)).astype("float32")
    want = _conv_reference(X, layer.kernel.value, layer.bias.value, 1 if padding == "same" else 0)
    np.testing.assert_allclose(g.run(y, {x: X}), want, rtol=1e-4, atol=1e-5)


def test_conv2d_strided_same_padding():
    g, x = _graph_with_input((1, 9, 9))
    assert nn.Conv2D(2, 3, strides=2, padding="same")(x).shape == (None, 2, 5, 5)
    with pytest.raises(ValueError, match="pads both sides equally"):
        nn.Conv2D(2, 3, strides=2, padding="same")(mg.placeholder("x8", (None, 1, 8, 8))
                                                   if False else _graph_with_input((1, 8, 8))[1])


def test_pooling_layers():
    g, x = _graph_with_input((3, 15, 15))
    mp, ap = nn.MaxPool2D(2), nn.AvgPool2D((3, 3))
    assert mp(x).shape == (None, 3, 7, 7) and mp.name == "max_pool2d_1"
    assert ap(x).shape == (None, 3, 5, 5)
    X = np.arange(2 * 3 * 15 * 15, dtype="float32").reshape(2, 3, 15, 15)
    np.testing.assert_allclose(g.run(ap.output, {x: X}),
                               X.reshape(2, 3, 5, 3, 5, 3).mean(axis=(3, 5)), rtol=1e-6)


def test_flatten_and_activation_layers():
    g, x = _graph_with_input((2, 3, 4))
    f = nn.Flatten()(x)
    assert f.shape == (None, 24)
    s = nn.Activation("softmax")(f)
    X = np.random.default_rng(0).standard_normal((3, 2, 3, 4)).astype("float32")
    np.testing.assert_allclose(g.run(s, {x: X}).sum(axis=1), 1.0, rtol=1e-5)
    lr = nn.Activation(mg.leaky_relu)(f)
    np.testing.assert_allclose(g.run(lr, {x: X}), np.where(X > 0, X, 0.01 * X).reshape(3, 24), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown activation"):
        nn.Dense(3, activation="relu6")


def test_dropout_only_while_training():
    model = nn.Sequential([nn.Dropout(0.5, input_shape=(1000,))])
    X = np.ones((4, 1000), "float32")
    np.testing.assert_array_equal(model.predict(X), X)   # inference: identity
    train = model.graph.run(model.output, {model.input: X, model.training: True})
    kept = train != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(train[kept], 2.0)          # inverted dropout scaling


def test_batchnorm_modes_and_running_statistics():
    model = nn.Sequential([nn.BatchNorm(momentum=0.9, input_shape=(3,))])
    bn = model.layers[0]
    assert model.count_params() == 12 and bn.name == "batch_norm_1"   # named when the graph is built
    assert [w.name for w in model.non_trainable_weights] == ["batch_norm_1/moving_mean",
                                                             "batch_norm_1/moving_variance"]
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((64, 3)) * [1, 2, 3] + [5, -1, 0]).astype("float32")
    out = model.graph.run(model.output, {model.input: X, model.training: True})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=0), X.var(axis=0) / (X.var(axis=0) + 1e-3), rtol=1e-4)
    # inference uses the running statistics (initially mean 0, var 1)
    np.testing.assert_allclose(model.predict(X), X / np.sqrt(1 + 1e-3), rtol=1e-5)
    # a training step moves them: running = 0.9 * running + 0.1 * batch statistic
    model.compile(mg.optim.SGD(lr=1e-9), "mse")
    model.fit(X, np.zeros((64, 3), "float32"), batch_size=64, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(bn.moving_mean.value, 0.1 * X.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.value, 0.9 + 0.1 * X.var(axis=0), rtol=1e-4)


def test_batchnorm_on_images_is_per_channel():
    g, x = _graph_with_input((2, 4, 4))
    bn = nn.BatchNorm()
    y = bn(x)
    assert bn.gamma.shape == (2,)
    X = np.random.default_rng(0).standard_normal((8, 2, 4, 4)).astype("float32") * 3 + 1
    out = g.run(y, {x: X, "training": True})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_simple_rnn_matches_numpy_unrolled():
    g, x = _graph_with_input((5, 3))
    rnn = nn.SimpleRNN(4, return_sequences=True)
    seq = rnn(x)
    assert rnn.name == "simple_rnn_1" and seq.shape == (None, 5, 4)
    assert rnn.count_params() == 3 * 4 + 4 * 4 + 4
    last = nn.SimpleRNN(2)(seq)
    assert last.shape == (None, 2)
    rnn.bias.value[...] = 0.1
    X = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    h = np.zeros((2, 4))
    want = []
    for t in range(5):
        h = np.tanh(X[:, t] @ rnn.kernel.value + h @ rnn.recurrent_kernel.value + rnn.bias.value)
        want.append(h)
    np.testing.assert_allclose(g.run(seq, {x: X}), np.stack(want, axis=1), rtol=1e-5, atol=1e-6)


def test_kernel_regularizer_joins_the_loss():
    def make(reg):
        m = nn.Sequential([nn.Dense(4, input_shape=(3,), kernel_regularizer=reg), nn.Dense(1)], seed=3)
        m.compile("sgd", "mse")
        return m
    X, Y = np.ones((2, 3), "float32"), np.zeros((2, 1), "float32")
    plain, l2, l1 = make(None), make(regularizers.l2(0.1)), make(regularizers.l1(0.1))
    W = plain.layers[0].kernel.value
    base = plain.evaluate(X, Y)["loss"]
    assert l2.evaluate(X, Y)["loss"] == pytest.approx(base + 0.1 * np.sum(W ** 2), rel=1e-5)
    assert l1.evaluate(X, Y)["loss"] == pytest.approx(base + 0.1 * np.sum(np.abs(W)), rel=1e-5)
    assert any(n.name.startswith("dense_1/") and n.op.name == "sum" for n in l2.graph.nodes)


def test_layer_errors_are_clear():
    with pytest.raises(ValueError, match="units must be a positive int"):
        nn.Dense(0)
    g, x = _graph_with_input((4,))
    with pytest.raises(mg.ShapeError, match="expects \\(channels, height, width\\)"):
        nn.Conv2D(3, 3)(x)
    with pytest.raises(TypeError, match="symbolic tensor"):
        nn.Dense(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match="rate must be in"):
        nn.Dropout(1.0)
