"""Small graphs the viz tests draw (shared by several test files).

Values are small integers or exact binary fractions, so value summaries print the
same on every machine and the golden DOT files stay stable.
"""

import numpy as np

import minigrad as mg
from viz.examples import scalar_graph


def scalar_expression():
    """y = relu(a * x + b) * a with a = 2, b = -3, x = 4 (y = 10): viz's own example."""
    return scalar_graph()


def mlp(grad=True):
    """Two dense layers in name scopes and an MSE loss; gradients for all four parameters."""
    g = mg.Graph("mlp")
    with g:
        x = mg.placeholder("x", shape=(None, 3))
        t = mg.placeholder("t", shape=(None, 2))
        with mg.name_scope("dense1"):
            W1 = mg.parameter("W", np.arange(12, dtype="float32").reshape(3, 4) / 8 - 0.5)
            b1 = mg.parameter("b", np.zeros(4, "float32"))
            h = mg.relu(x @ W1 + b1)
        with mg.name_scope("dense2"):
            W2 = mg.parameter("W", np.arange(8, dtype="float32").reshape(4, 2) / 8 - 0.25)
            b2 = mg.parameter("b", np.zeros(2, "float32"))
            out = h @ W2 + b2
        loss = mg.mse_loss(out, t)
        params = [W1, b1, W2, b2]
        grads = mg.grad(loss, params) if grad else None
    feed = {x: np.array([[1, 0, 2], [0, 1, -1]], "float32"), t: np.array([[1, 0], [0, 1]], "float32")}
    return g, loss, feed, params, grads


def deep_sigmoid(depth=8, width=4, seed=0):
    """A deep stack of sigmoid layers: the textbook case of vanishing gradients."""
    rng = np.random.default_rng(seed)
    g = mg.Graph("deep")
    with g:
        h = x = mg.placeholder("x", (None, width))
        t = mg.placeholder("t", (None, width))
        params = []
        for i in range(depth):
            with mg.name_scope(f"layer{i + 1}"):
                W = mg.parameter("W", rng.normal(0, 1.0, (width, width)).astype("float32"))
                b = mg.parameter("b", np.zeros(width, "float32"))
                h = mg.sigmoid(h @ W + b)
                params += [W, b]
        loss = mg.mse_loss(h, t)
        grads = mg.grad(loss, params)
    feed = {x: rng.normal(size=(8, width)).astype("float32"), t: rng.normal(size=(8, width)).astype("float32")}
    return g, loss, feed, params, grads
