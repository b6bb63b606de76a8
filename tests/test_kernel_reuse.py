"""The run scope of minigrad/kernels/reuse.py: work is shared only inside a scope,
only for the very same array object, and a training step gives the same numbers with
and without it."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import kernels as K
from minigrad.kernels import reuse


def test_remember_computes_once_per_array_inside_a_scope():
    calls = []
    a, b = np.ones(3), np.ones(3)

    def compute():
        calls.append(1)
        return len(calls)

    with reuse.run_scope():
        assert reuse.remember("k", (a,), (1,), compute) == 1
        assert reuse.remember("k", (a,), (1,), compute) == 1      # reused
        assert reuse.remember("k", (b,), (1,), compute) == 2      # equal content, other array
        assert reuse.remember("k", (a,), (2,), compute) == 3      # other parameters
        assert reuse.remember("other", (a,), (1,), compute) == 4  # other kind
    assert reuse.remember("k", (a,), (1,), compute) == 5          # no scope: always computed
    assert reuse.remember("k", (a,), (1,), compute) == 6


def test_scopes_nest_and_forget():
    a = np.ones(2)
    with reuse.run_scope():
        first = reuse.remember("k", (a,), (), lambda: object())
        with reuse.run_scope():
            assert reuse.remember("k", (a,), (), lambda: object()) is not first
        assert reuse.remember("k", (a,), (), lambda: object()) is first
    with reuse.run_scope():
        assert reuse.remember("k", (a,), (), lambda: object()) is not first


def test_conv_kernels_outside_a_scope_see_in_place_changes():
    """A finite-difference check changes x in place between calls: nothing may be stale."""
    rng = np.random.default_rng(0)
    for shape, w_shape in [((2, 8, 6, 6), (3, 8, 3, 3)), ((2, 2, 6, 6), (3, 2, 3, 3))]:
        x, w = rng.standard_normal(shape), rng.standard_normal(w_shape)
        gy = rng.standard_normal((2, 3, 4, 4))
        args = ((1, 1), (0, 0), (1, 1))
        before = K.conv2d_grad_weight(gy, x, w.shape, *args)
        x += 1.0
        after = K.conv2d_grad_weight(gy, x, w.shape, *args)
        np.testing.assert_allclose(after, K.conv2d_grad_weight_reference(gy, x, w.shape, *args), rtol=1e-10)
        assert not np.allclose(before, after)


def test_training_step_same_with_and_without_reuse(monkeypatch):
    rng = np.random.default_rng(1)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 8, 7, 7), "float64")
        w1 = mg.parameter("w1", rng.standard_normal((8, 8, 3, 3)) * 0.1)   # Winograd path
        w2 = mg.parameter("w2", rng.standard_normal((4, 8, 2, 2)) * 0.1)   # im2col path
        h = mg.relu(mg.conv2d(x, w1, padding=1))
        loss = mg.conv2d(h, w2).sum()
        grads = mg.grad(loss, [w1, w2, x])
    feed = {x: rng.standard_normal((3, 8, 7, 7))}
    asked, computed = [], []
    remember = reuse.remember

    def spy(kind, arrays, params, compute):
        asked.append(kind)
        return remember(kind, arrays, params, lambda: computed.append(kind) or compute())

    monkeypatch.setattr(reuse, "remember", spy)
    with_reuse = g.run(grads, feed)
    # both convs: the input rearranged once for forward + weight gradient, the output
    # gradient once for both gradients; the broadcast gradient of sum() made
    # contiguous once for both
    assert len(asked) == 2 * len(computed)
    assert sorted(computed) == ["contiguous", "gradient columns", "im2col", "winograd input",
                                "winograd output gradient"]
    monkeypatch.setattr(reuse, "run_scope", _no_scope)
    import minigrad.executor as executor
    monkeypatch.setattr(executor, "run_scope", _no_scope)
    without = g.run(grads, feed)
    for a, b in zip(with_reuse, without):
        np.testing.assert_array_equal(a, b)


class _no_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
