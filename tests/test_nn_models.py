"""Models: the seed articles' architectures, summary(), compile/fit/evaluate/predict,
callbacks, class weights, the Module API and the fused softmax loss."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.callbacks import CosineDecay, EarlyStopping, LearningRateScheduler, StepDecay
from minigrad.nn import Conv2D, Dense, Dropout, Flatten, MaxPool2D, Sequential


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def conv_params(c_in, filters, k):
    return k * k * c_in * filters + filters


def article_mlp():
    return Sequential([
        Dense(64, activation="relu", input_shape=(784,)),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ])


def article_cnn():
    return Sequential([
        Conv2D(32, (3, 3), activation="relu", input_shape=(3, 32, 32)),
        MaxPool2D((2, 2)),
        Conv2D(64, (3, 3), activation="relu"),
        MaxPool2D((2, 2)),
        Flatten(),
        Dense(128, activation="relu"),
        Dropout(0.5),
        Dense(10, activation="softmax"),
    ])


def test_article_mlp_summary_and_one_epoch(capsys):
    model = article_mlp()
    model.compile(optimizer=mg.optim.Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
    expected = dense_params(784, 64) + dense_params(64, 64) + dense_params(64, 10)
    assert model.count_params() == expected == 55050
    model.summary()
    text = capsys.readouterr().out
    assert "dense_1 (Dense)" in text and "(None, 64)" in text and "(None, 10)" in text
    assert f"Total params: {expected:,}" in text and "Non-trainable params: 0" in text
    rng = np.random.default_rng(0)
    x = rng.random((64, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "accuracy"} and len(history.history["loss"]) == 2


def test_article_cnn_summary_matches_keras_counts(capsys):
    model = article_cnn()
    # valid 3x3 conv: 32 -> 30, pool -> 15, conv -> 13, pool -> 6; flatten 64*6*6
    expected = {
        "conv2d_1": conv_params(3, 32, 3), "max_pool2d_1": 0,
        "conv2d_2": conv_params(32, 64, 3), "max_pool2d_2": 0, "flatten_1": 0,
        "dense_1": dense_params(64 * 6 * 6, 128), "dropout_1": 0, "dense_2": dense_params(128, 10),
    }
    total = sum(expected.values())
    assert total == 315722 and model.count_params() == total
    model.summary()
    text = capsys.readouterr().out
    for name, count in expected.items():
        row = next(line for line in text.splitlines() if line.startswith(name + " "))
        assert row.split()[-1] == f"{count:,}", row
    assert "(None, 64, 6, 6)" in text and "(None, 2304)" in text
    assert f"Total params: {total:,}" in text


def test_article_cnn_trains_a_step():
    model = article_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((8, 3, 32, 32), dtype=np.float32)
    before = model.layers[0].kernel.value.copy()
    model.fit(x, rng.integers(0, 10, 8), epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(before, model.layers[0].kernel.value)
    assert model.predict(x).shape == (8, 10)


def test_graph_holds_forward_loss_and_gradients():
    model = article_mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    names = [n.name for n in model.graph.nodes]
    assert any(n.startswith("dense_3/") for n in names)
    assert "loss/target" in names and any(n.op.name == "cross_entropy" for n in model.graph.nodes)
    assert any(n.startswith("grad/dense_1/") for n in names)
    assert all(p.op.name == "parameter" for p in model.trainable_weights)


def test_softmax_loss_uses_logits_and_stays_finite():
    """A saturated softmax would give log(0); the loss reads the logits instead."""
    model = Sequential([Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.layers[0].kernel.value[...] = [[300.0, 0, 0], [0, 0, 0]]
    x, y = np.array([[1.0, 0.0]], "float32"), np.array([1])
    assert model.predict(x)[0, 1] == 0.0           # probability underflows to exactly 0
    loss = model.evaluate(x, y)["loss"]
    assert np.isfinite(loss) and loss == pytest.approx(300.0, rel=1e-4)
    ce_inputs = [n for n in model.graph.nodes if n.op.name == "cross_entropy"][0].inputs
    assert ce_inputs[0].name == "dense_1/add"      # the logits, not the probabilities

    onehot = Sequential([Dense(3, activation="softmax", input_shape=(2,))])
    onehot.compile("sgd", "categorical_crossentropy")
    onehot.layers[0].kernel.value[...] = [[300.0, 0, 0], [0, 0, 0]]
    assert onehot.evaluate(x, np.array([[0, 1, 0]], "float32"))["loss"] == pytest.approx(300.0, rel=1e-4)


def test_binary_crossentropy_from_sigmoid_logits():
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(1,))])
    model.compile("sgd", "binary_crossentropy")
    model.layers[0].kernel.value[...] = 200.0
    loss = model.evaluate(np.array([[1.0]]), np.array([0.0]))["loss"]
    assert loss == pytest.approx(200.0, rel=1e-4)


@pytest.mark.parametrize("loss,y", [
    ("mse", np.zeros((6, 2))), ("mae", np.zeros((6, 2))), ("hinge", np.array([[1, -1]] * 6)),
    ("categorical_crossentropy", np.eye(2)[[0, 1, 0, 1, 0, 1]]),
])
def test_losses_by_name_train(loss, y):
    last = Dense(2, activation="softmax") if "crossentropy" in loss else Dense(2)
    model = Sequential([Dense(8, activation="tanh", input_shape=(3,)), last], seed=1)
    model.compile(mg.optim.SGD(lr=0.05), loss, metrics=["mae"] if loss in ("mse", "mae") else ["accuracy"])
    x = np.random.default_rng(0).standard_normal((6, 3)).astype("float32")
    h = model.fit(x, y, epochs=20, batch_size=6, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_fit_history_validation_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(np.int64)
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "precision", "recall", "f1"])
    h = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "precision", "recall", "f1",
                              "val_loss", "val_accuracy", "val_precision", "val_recall", "val_f1"}
    h2 = model.fit(x[:80], y[:80], epochs=1, validation_data=(x[80:], y[80:]), verbose=0)
    logs = model.evaluate(x[80:], y[80:])
    assert logs["accuracy"] == pytest.approx(mg.metrics.accuracy(y[80:], model.predict(x[80:])))
    assert h2.history["val_loss"][0] >= 0 and set(logs) == {"loss", "accuracy", "precision", "recall", "f1"}


def test_progress_bar_and_quiet(capsys):
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((10, 3), "float32"), np.zeros(10, np.int64)
    model.fit(x, y, epochs=2, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "loss" in err and "accuracy" in err
    model.fit(x, y, epochs=2, verbose=0)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    model.fit(x, y, epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


def test_early_stopping_and_restore_best():
    class Worse(mg.callbacks.Callback):
        """Fake a validation loss that is best at epoch 1 and then gets worse."""
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = [3.0, 1.0, 2.0, 2.5, 2.7, 3.0, 4.0][epoch]

    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(mg.optim.SGD(lr=0.1), "mse")
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    weights_at = []
    record = type("Rec", (mg.callbacks.Callback,), {
        "on_epoch_end": lambda self, e, logs=None: weights_at.append(model.weights[0].value.copy())})()
    h = model.fit(np.ones((4, 1)), np.full((4, 1), 5.0), epochs=7, verbose=0, callbacks=[Worse(), stop, record])
    assert len(h.history["loss"]) == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0].value, weights_at[1])
    with pytest.raises(KeyError, match="val_\\* values need validation"):
        model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[EarlyStopping()])


def test_learning_rate_schedules():
    model = Sequential([Dense(1, input_shape=(1,))])
    x, y = np.ones((4, 1)), np.ones((4, 1))
    model.compile(mg.optim.SGD(lr=0.1), "mse")
    h = model.fit(x, y, epochs=5, verbose=0, callbacks=[StepDecay(every=2, factor=0.5)])
    np.testing.assert_allclose(h.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])
    model.compile(mg.optim.SGD(lr=0.1), "mse")
    h = model.fit(x, y, epochs=5, verbose=0, callbacks=[CosineDecay(epochs=4, min_lr=0.01)])
    want = [0.01 + 0.09 * (1 + np.cos(np.pi * min(e, 4) / 4)) / 2 for e in range(5)]
    np.testing.assert_allclose(h.history["lr"], want)
    model.compile(mg.optim.SGD(lr=0.1), "mse")
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: lr * 0.1)])
    np.testing.assert_allclose(h.history["lr"], [0.01, 0.001, 0.0001])


def test_class_weight_scales_each_samples_loss():
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))], seed=0)
    model.compile(mg.optim.SGD(lr=1e-12), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    y = np.array([0, 0, 0, 1])
    p = model.predict(x)
    per_sample = -np.log(p[np.arange(4), y])
    h = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 3.0})
    assert h.history["loss"][0] == pytest.approx(np.mean(per_sample * [1, 1, 1, 3]), rel=1e-5)
    with pytest.raises(ValueError, match="class_weight has class 5"):
        model.fit(x, y, epochs=1, verbose=0, class_weight={5: 1.0})


def test_module_subclass_api():
    class TwoLayer(nn.Module):
        def __init__(self):
            super().__init__(input_shape=(2,), seed=0)
            self.hidden = Dense(16, activation="tanh")
            self.out = Dense(1, activation="sigmoid")

        def forward(self, x):
            return self.out(self.hidden(x) * 2.0)

    x, y = mg.data.make_moons(100, seed=0)
    model = TwoLayer()
    model.compile(mg.optim.Adam(lr=0.02), "binary_crossentropy", metrics=["accuracy"])
    assert model.name == "two_layer" and [l.name for l in model.layers] == ["dense_1", "dense_2"]
    assert model.count_params() == dense_params(2, 16) + dense_params(16, 1)
    h = model.fit(x, y, epochs=150, batch_size=20, verbose=0)
    assert h.history["accuracy"][-1] >= 0.95
    assert model(x[:5]).shape == (5, 1)


def test_sequential_built_from_first_data_and_add():
    model = Sequential(seed=0)
    model.add(Dense(4, activation="relu"))
    model.add(Dense(3, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy")
    assert not model.built
    model.fit(np.ones((5, 7), "float32"), np.zeros(5, np.int64), verbose=0)
    assert model.input_shape == (None, 7) and model.count_params() == dense_params(7, 4) + dense_params(4, 3)
    with pytest.raises(mg.GraphError, match="already built"):
        model.add(Dense(2))
    with pytest.raises(mg.GraphError, match="does not know its input shape"):
        Sequential([Dense(2)]).summary()


def test_simple_rnn_model_learns_a_sequence_task():
    """Is the running sum of a sequence positive at the end? Needs memory across steps."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 6, 1)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    model = Sequential([nn.SimpleRNN(8, input_shape=(6, 1)), Dense(2, activation="softmax")], seed=0)
    model.compile(mg.optim.Adam(lr=0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.count_params() == (1 * 8 + 8 * 8 + 8) + dense_params(8, 2)
    model.fit(x[:240], y[:240], epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x[240:], y[240:])["accuracy"] >= 0.9
