"""Save/load: .npz without pickle, identical predictions, optimizer state, precise mismatch errors."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import io
from minigrad.nn import BatchNorm, Dense, Sequential


def make(units=8, seed=0):
    m = Sequential([Dense(units, activation="relu", input_shape=(4,)), BatchNorm(),
                    Dense(3, activation="softmax")], seed=seed)
    m.compile(mg.optim.Adam(lr=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 4)).astype("float32"), rng.integers(0, 3, 40)


def test_round_trip_predicts_identically(tmp_path, data):
    x, y = data
    a = make(seed=0)
    a.fit(x, y, epochs=3, batch_size=8, verbose=0)
    path = a.save(tmp_path / "model")
    assert path.endswith(".npz")
    with np.load(path, allow_pickle=False) as f:     # plain arrays only
        assert "weights/dense_1/kernel" in f.files and "optimizer/state/dense_1/kernel/m" in f.files
        assert "weights/batch_norm_1/moving_mean" in f.files
    b = make(seed=123)                                 # different initial weights
    assert not np.allclose(a.predict(x), b.predict(x))
    b.load(path)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert b.optimizer.iterations == a.optimizer.iterations == 15
    W = b.layers[0].kernel
    np.testing.assert_array_equal(b.optimizer.state[W]["v"], a.optimizer.state[a.layers[0].kernel]["v"])
    # training continues identically from the restored state
    a.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    b.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    np.testing.assert_allclose(a.predict(x), b.predict(x), rtol=1e-6)


def test_uncompiled_model_loads_weights_only(tmp_path, data):
    x, _ = data
    a = make()
    a.save(tmp_path / "w.npz")
    b = Sequential([Dense(8, activation="relu", input_shape=(4,)), BatchNorm(), Dense(3, activation="softmax")],
                   seed=5)
    b.load(tmp_path / "w.npz")
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_mismatch_lists_every_problem_and_loads_nothing(tmp_path):
    make(units=8).save(tmp_path / "m.npz")
    other = Sequential([Dense(16, activation="relu", input_shape=(4,)), Dense(3), Dense(2)], seed=1)
    before = [w.value.copy() for w in other.weights]
    with pytest.raises(io.LoadError) as err:
        other.load(tmp_path / "m.npz")
    msg = str(err.value)
    assert "weight 'dense_1/kernel': shape (4, 8) in the file, (4, 16) in the model" in msg
    assert "weight 'dense_3/kernel' (3, 2): in the model but not in the file" in msg
    assert "weight 'batch_norm_1/gamma' (8,): in the file but not in the model" in msg
    assert "Nothing was loaded" in msg
    for w, b in zip(other.weights, before):
        np.testing.assert_array_equal(w.value, b)


def test_optimizer_class_mismatch(tmp_path):
    make().save(tmp_path / "m.npz")
    m = make()
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(io.LoadError, match="the file holds Adam state, the model uses SGD"):
        m.load(tmp_path / "m.npz")


def test_plain_weight_lists(tmp_path):
    g = mg.Graph()
    with g:
        w = mg.parameter("w", np.arange(6, dtype="float32").reshape(2, 3))
    io.save_weights(tmp_path / "p", [w])
    w.value[...] = 0
    io.load_weights(tmp_path / "p", [w])
    np.testing.assert_array_equal(w.value, np.arange(6).reshape(2, 3))
