"""Bad input to fit/evaluate/predict: a clear error, raised before any training step."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import Dense, Sequential


@pytest.fixture
def model():
    m = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")], seed=0)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 4)).astype("float32"), rng.integers(0, 3, 20)


def _untrained(model, fn):
    """Run ``fn`` expecting an error, and check no weight changed (nothing trained)."""
    before = [w.value.copy() for w in model.weights]
    fn()
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(w.value, b)


def test_wrong_input_shape(model, data):
    x, y = data
    with pytest.raises(mg.ShapeError, match=r"x has shape \(20, 5\).*expects samples of shape \(4,\)"):
        _untrained(model, lambda: model.fit(np.ones((20, 5)), y, verbose=0))
    with pytest.raises(ValueError, match="flatten it"):
        model.fit(np.ones((20, 2, 2)), y, verbose=0)
    with pytest.raises(mg.ShapeError, match="expects samples of shape"):
        model.predict(np.ones((3, 7)))


def test_labels_out_of_range(model, data):
    x, y = data
    y = y.copy()
    y[7] = 3
    with pytest.raises(ValueError, match=r"label 3 at index 7.*3 outputs.*0\.\.2"):
        _untrained(model, lambda: model.fit(x, y, verbose=0))
    y[7] = -1
    with pytest.raises(ValueError, match="label -1 at index 7"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="non-integer"):
        model.fit(x, np.full(20, 0.5), verbose=0)


def test_nan_in_the_data(model, data):
    x, y = data
    x = x.copy()
    x[11, 2] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN.*first at index 11"):
        _untrained(model, lambda: model.fit(x, y, verbose=0))
    x[11, 2] = np.inf
    with pytest.raises(ValueError, match="1 Inf"):
        model.evaluate(x, y)


def test_nan_in_targets():
    m = Sequential([Dense(1, input_shape=(2,))])
    m.compile("sgd", "mse")
    y = np.zeros((5, 1))
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"y contains NaN or Inf in 1 sample\(s\) \(first at index 3\)"):
        m.fit(np.ones((5, 2)), y, verbose=0)


def test_mismatched_lengths(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"same number of samples, got 20 and 19"):
        _untrained(model, lambda: model.fit(x, y[:19], verbose=0))
    with pytest.raises(ValueError, match=r"validation_data\[0\] and validation_data\[1\].*got 5 and 4"):
        model.fit(x, y, validation_data=(x[:5], y[:4]), verbose=0)


def test_validation_data_checked_too(model, data):
    x, y = data
    with pytest.raises(mg.ShapeError, match=r"validation_data\[0\] has shape \(5, 3\)"):
        _untrained(model, lambda: model.fit(x, y, validation_data=(x[:5, :3], y[:5]), verbose=0))


def test_targets_of_the_wrong_kind():
    m = Sequential([Dense(3, activation="softmax", input_shape=(2,))])
    m.compile("sgd", "categorical_crossentropy")
    with pytest.raises(mg.ShapeError, match="sparse_categorical_crossentropy"):
        m.fit(np.ones((4, 2)), np.array([0, 1, 2, 1]), verbose=0)
    with pytest.raises(mg.ShapeError, match=r"y has shape \(4, 4\)"):
        m.fit(np.ones((4, 2)), np.eye(4), verbose=0)
    b = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    b.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match=r"binary targets .* sample 2 has 2"):
        b.fit(np.ones((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


def test_bad_arguments(model, data):
    x, y = data
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5)
    with pytest.raises(mg.GraphError, match="not compiled"):
        Sequential([Dense(1, input_shape=(4,))]).fit(x, y)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", "crossentropy")
    with pytest.raises(ValueError, match="y is missing"):
        model.fit(x)


def test_diverging_training_stops_with_advice():
    m = Sequential([Dense(1, input_shape=(1,))])
    m.compile(mg.optim.SGD(lr=1e30), "mse")
    with pytest.raises(mg.NumericsError, match="loss became NaN .* smaller learning rate"):
        with np.errstate(all="ignore"):
            m.fit(np.full((8, 1), 1e3), np.ones((8, 1)), epochs=5, verbose=0)


def test_cross_entropy_on_raw_scores_needs_from_logits():
    import minigrad as mg
    from minigrad.nn import Dense, Sequential
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = Sequential([Dense(2)], input_shape=(4,))
    with pytest.raises(ValueError, match="not a softmax.*from_logits=True"):
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
    model = Sequential([Dense(2)], input_shape=(4,))
    model.compile(mg.optim.SGD(lr=0.5), mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert min(history.history["loss"]) > 0
    assert mg.nn.regularizers.L2(1e-3).l2 == pytest.approx(1e-3)
