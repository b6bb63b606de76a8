"""Grading for dense_layer: outputs against NumPy, gradients against the formulas
dW = x^T (r * act'(z)), db = sum_batch(r * act'(z)), written out here."""

ORDER = 5

import numpy as np

import minigrad as mg
from minigrad.exercises import GradientMismatch, expect_close, fail, wrong_nodes

RNG = np.random.default_rng(5)
X = RNG.normal(size=(6, 4)).astype(np.float32)

ACT = {None: (lambda z: z, lambda z: np.ones_like(z)),
       "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
       "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
       "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2)}


def _build(ex, units=3, activation=None, name="dense", seed=0):
    g = mg.Graph("dense_exercise")
    with g:
        x = mg.placeholder("x", shape=(None, X.shape[1]))
        y = ex.dense(x, units, activation, name=name, seed=seed)
    if y is None:
        fail("dense returned None: return the output tensor")
    if not isinstance(y, mg.Tensor):
        fail(f"dense should return a minigrad tensor, got {type(y).__name__}")
    return g, x, y


def _param(g, name):
    try:
        return g.by_name(name)
    except KeyError:
        names = ", ".join(repr(p.name) for p in g.parameters) or "none"
        fail(f"no parameter named {name!r} in the graph (parameters found: {names}); create it "
             "with mg.parameter inside `with mg.name_scope(name):`")


def check_glorot_uniform(ex):
    """glorot_uniform: float32, right shape, inside +-sqrt(6/(in+out)), right spread"""
    w = ex.glorot_uniform(200, 300, 1)
    if not isinstance(w, np.ndarray):
        fail(f"glorot_uniform should return a NumPy array, got {type(w).__name__}")
    if w.shape != (200, 300):
        fail(f"glorot_uniform(200, 300) has shape {w.shape}, expected (200, 300)")
    if w.dtype != np.float32:
        fail(f"glorot_uniform returned {w.dtype}; use .astype(np.float32)")
    limit = np.sqrt(6 / 500)
    if np.abs(w).max() > limit * (1 + 1e-6):
        fail(f"values reach {np.abs(w).max():.4f}, beyond the limit sqrt(6/(200+300)) = {limit:.4f}")
    if not abs(w.std() - limit / np.sqrt(3)) < 0.03 * limit / np.sqrt(3):
        fail(f"the standard deviation is {w.std():.4f}; a uniform on [-limit, limit] has "
             f"limit/sqrt(3) = {limit / np.sqrt(3):.4f}")
    if abs(w.mean()) > 0.01 * limit:
        fail(f"the mean is {w.mean():.4f}; it should be about 0 (symmetric around 0)")
    if not np.array_equal(w, ex.glorot_uniform(200, 300, 1)):
        fail("two calls with the same seed gave different arrays: use np.random.default_rng(seed)")
    if np.array_equal(w, ex.glorot_uniform(200, 300, 2)):
        fail("seeds 1 and 2 gave the same array: pass the seed to np.random.default_rng")


def check_parameters(ex):
    """dense creates NAME/W (features, units) and NAME/b (units,) = 0"""
    g, x, y = _build(ex, 3, None, name="layer1")
    W, b = _param(g, "layer1/W"), _param(g, "layer1/b")
    if W.op.name != "parameter" or b.op.name != "parameter":
        fail("layer1/W and layer1/b must be created with mg.parameter")
    if W.shape != (4, 3):
        fail(f"W has shape {W.shape}, expected (features, units) = (4, 3)")
    if b.shape != (3,):
        fail(f"b has shape {b.shape}, expected (units,) = (3,)")
    if not np.all(b.value == 0):
        fail("b should start at zero")
    if len(g.parameters) != 2:
        fail(f"expected exactly 2 parameters, found {[p.name for p in g.parameters]}")
    if tuple(y.shape) != (None, 3):
        fail(f"the output has shape {y.shape_str()}, expected (?, 3) (batch, units)")


def _check_forward(ex, activation):
    g, x, y = _build(ex, 3, activation)
    W, b = _param(g, "dense/W"), _param(g, "dense/b")
    b.value[...] = RNG.normal(size=3).astype(np.float32)  # make the bias matter
    f, _ = ACT[activation]
    want = f(X.astype(np.float64) @ W.value + b.value)
    expect_close(g.run(y, {x: X}), want, f"dense(x, 3, activation={activation!r})", rtol=1e-4, atol=1e-5)
    expect_close(g.run(y, {x: X[:2]}), want[:2], "dense on a batch of 2 (batch size is None)",
                 rtol=1e-4, atol=1e-5)


def check_forward_linear(ex):
    """dense with no activation computes x @ W + b"""
    _check_forward(ex, None)


def check_forward_activations(ex):
    """dense with relu, sigmoid and tanh computes act(x @ W + b)"""
    for act in ("relu", "sigmoid", "tanh"):
        _check_forward(ex, act)


def check_unknown_activation(ex):
    """an unknown activation raises ValueError"""
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", shape=(None, 4))
        try:
            ex.dense(x, 3, "softsign")
        except ValueError:
            return
    fail("dense(x, 3, 'softsign') should raise ValueError naming the known activations")


def check_gradients(ex):
    """mg.grad reaches W and b: dW = x^T (r * act'(z)), db = sum over the batch"""
    for act in (None, "tanh", "relu"):
        g, x, y = _build(ex, 3, act)
        W, b = _param(g, "dense/W"), _param(g, "dense/b")
        b.value[...] = RNG.normal(size=3).astype(np.float32)
        r = RNG.normal(size=(len(X), 3)).astype(np.float32)
        with g:
            loss = (y * mg.constant(r)).sum()
            dW, db = mg.grad(loss, [W, b])
        got_W, got_b = g.run([dW, db], {x: X})
        z = X.astype(np.float64) @ W.value + b.value
        delta = r * ACT[act][1](z)
        for got, want, param in ((got_W, X.T.astype(np.float64) @ delta, W), (got_b, delta.sum(0), b)):
            if np.allclose(got, want, rtol=1e-4, atol=1e-5):
                continue
            if not np.any(got):
                fail(f"the gradient of {param.name} is all zeros: is the parameter tensor used in "
                     "the output (not W.value or a constant)?")
            err = np.abs(got - want) / (1e-5 + 1e-4 * np.abs(want))
            idx = np.unravel_index(int(np.argmax(err)), want.shape)
            suspects = wrong_nodes(g, loss, {x: X})
            bad = {n for n, _ in suspects}
            raise GradientMismatch(
                f"d loss / d {param.name} (activation={act!r}) disagrees with x^T (r * act'(z))",
                input_index=0 if param is W else 1, input_name=param.name, element=idx,
                analytic=float(got[idx]), numeric=float(want[idx]), graph=g,
                highlight=[n for n in g.nodes if n in bad or n.origin in bad], suspects=suspects)


def check_two_layers(ex):
    """two layers with different names stack into an MLP"""
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", shape=(None, 4))
        h = ex.dense(x, 5, "relu", name="hidden", seed=1)
        y = ex.dense(h, 2, None, name="out", seed=2)
    names = sorted(p.name for p in g.parameters)
    if names != ["hidden/W", "hidden/b", "out/W", "out/b"]:
        fail(f"parameters are {names}; expected hidden/W, hidden/b, out/W, out/b")
    W1, b1, W2, b2 = (g.by_name(n).value for n in ("hidden/W", "hidden/b", "out/W", "out/b"))
    if np.array_equal(W1[:, :2], W2[:2]):
        fail("the two layers got the same initial weights: pass `seed` to glorot_uniform")
    want = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    expect_close(g.run(y, {x: X}), want, "the output of the 2-layer MLP", rtol=1e-4, atol=1e-5)
