"""Training-step and executor-overhead benchmarks against PyTorch.

A training step is forward + backward + an SGD-with-momentum update, batch 64. The
minigrad side is one ``g.run`` of a fixed fetch list (the compiled plan) plus NumPy
updates of the parameters in place, which is exactly what ``Model.fit`` does.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import os

import numpy as np

import minigrad as mg
from benchmarks.common import load_torch, row, time_one, time_pair

BATCH = 64


def _dense(x, n_in, n_out, rng, name):
    with mg.name_scope(name):
        W = mg.parameter("W", (rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in)).astype("float32"))
        b = mg.parameter("b", np.zeros(n_out, "float32"))
        return x @ W + b


def _conv(x, c_in, c_out, k, rng, name):
    with mg.name_scope(name):
        w = mg.parameter("w", (rng.normal(size=(c_out, c_in, k, k)) * np.sqrt(2 / (c_in * k * k))).astype("float32"))
        b = mg.parameter("b", np.zeros(c_out, "float32"))
        return mg.conv2d(x, w, b)


def build_minigrad(spec, rng):
    """A graph for one of the benchmark models; returns (graph, x, t, loss, params, grads)."""
    g = mg.Graph(spec["name"])
    with g:
        x = mg.placeholder("x", (None,) + spec["input"])
        t = mg.placeholder("t", (None,), "int64")
        h = x
        if spec["kind"] == "mlp":
            sizes = spec["sizes"]
            for i in range(len(sizes) - 1):
                h = _dense(h, sizes[i], sizes[i + 1], rng, f"dense{i}")
                if i < len(sizes) - 2:
                    h = mg.relu(h)
        else:
            c = spec["input"][0]
            side = spec["input"][1]
            for i, filters in enumerate(spec["convs"]):
                h = mg.max_pool2d(mg.relu(_conv(h, c, filters, 3, rng, f"conv{i}")), 2)
                c, side = filters, (side - 2) // 2
            h = mg.flatten(h)
            n = c * side * side
            for i, units in enumerate(spec["dense"]):
                h = _dense(h, n, units, rng, f"dense{i}")
                if i < len(spec["dense"]) - 1:
                    h = mg.relu(h)
                n = units
        loss = mg.cross_entropy(h, t)
        params = g.parameters
        grads = mg.grad(loss, params)
    return g, x, t, loss, params, grads


def minigrad_step(spec, rng, X, T, lr=0.01, momentum=0.9):
    g, x, t, loss, params, grads = build_minigrad(spec, rng)
    fetches = [loss] + grads
    velocity = [np.zeros_like(p.value) for p in params]
    feed = {x: X, t: T}

    def step():
        values = g.run(fetches, feed)
        for p, v, dp in zip(params, velocity, values[1:]):
            v *= momentum
            v -= lr * dp
            p.value += v
    return step


MODELS = [
    dict(name="train MLP 64-32-10", kind="mlp", input=(64,), sizes=[64, 32, 10]),
    dict(name="train MLP 784-128-64-10", kind="mlp", input=(784,), sizes=[784, 128, 64, 10]),
    dict(name="train digits CNN 1x8x8", kind="cnn", input=(1, 8, 8), convs=[8], dense=[10]),
    dict(name="train CIFAR CNN 3x32x32", kind="cnn", input=(3, 32, 32), convs=[32, 64], dense=[128, 10]),
]


def bench_training(repeats, quick):
    ref = load_torch()
    rows = []
    for spec in MODELS:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(BATCH,) + spec["input"]).astype("float32")
        T = rng.integers(0, 10, size=BATCH)
        ours = minigrad_step(spec, rng, X, T)
        reps = repeats
        if ref is None:
            rows.append(row(spec["name"], time_one(ours, reps), "torch", None, note="torch not installed"))
            continue
        t_mg, t_ref = time_pair(ours, ref.load("case_train_step", spec, X, T), reps)
        rows.append(row(spec["name"], t_mg, "torch", t_ref))
    return rows


def bench_overhead(repeats, quick):
    """Per-node cost of the executor: a 100-op chain of 1-element ops, forward+backward."""
    ref = load_torch()
    g = mg.Graph("chain")
    with g:
        x = mg.placeholder("x", (1,), "float32")
        y = x
        for _ in range(50):
            y = mg.tanh(y * 1.01)
        loss = y.sum()
        dx = mg.grad(loss, x)
    X = np.ones(1, "float32")
    fetches = [loss, dx]
    n_nodes = len(g.compile(fetches).steps)

    def ours():
        g.run(fetches, {x: X})

    rows = []
    if ref is None:
        t = time_one(ours, repeats * 5)
        return [row("executor: per node, fwd+bwd (us)", t / n_nodes * 1e3, "torch", None, nodes=n_nodes)]
    t_mg, t_ref = time_pair(ours, ref.load("case_chain", 50), repeats * 5)
    # per forward op: 100 ops in each chain (mul, tanh) x 50
    rows.append(row("executor: 100-op chain fwd+bwd, per forward op (us)", t_mg / 100 * 1e3, "torch",
                    t_ref / 100 * 1e3, nodes_run=n_nodes, per_node_us=t_mg / n_nodes * 1e6))
    return rows


_COLD_SCRIPT = """
import time, numpy as np
t0 = time.perf_counter()
import minigrad as mg
t1 = time.perf_counter()
g = mg.Graph()
with g:
    x = mg.placeholder("x", (None, 4)); t = mg.placeholder("t", (None,), "int64")
    W = mg.parameter("W", np.ones((4, 3), "float32"))
    loss = mg.cross_entropy(mg.relu(x @ W), t); dW = mg.grad(loss, W)
g.run([loss, dW], {x: np.ones((2, 4), "float32"), t: np.zeros(2, "int64")})
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _cold(env):
    out = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], env=env, capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()]


def bench_cold_start(repeats, quick):
    env = dict(os.environ)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        import_s, first_cold = _cold(env)          # empty cache: compiles
        runs = [_cold(env) for _ in range(3)]      # warm cache
    imports = sorted(r[0] for r in runs + [[import_s]])
    warm = sorted(r[1] for r in runs)
    rows.append(row("cold start: import minigrad (s)", imports[len(imports) // 2] / 1e3, "target", 0.5 / 1e3))
    rows.append(row("cold start: first run, warm Numba cache (s)", warm[len(warm) // 2] / 1e3, "target", 1.0 / 1e3))
    rows.append(row("cold start: first run, empty Numba cache (s)", first_cold / 1e3, "-", None))
    return rows


def run(repeats=30, quick=False):
    if quick:
        repeats = 10
    return bench_training(repeats, quick) + bench_overhead(repeats, quick) + bench_cold_start(repeats, quick)


if __name__ == "__main__":
    from benchmarks.run import print_table
    print_table(run(quick="--quick" in sys.argv))
