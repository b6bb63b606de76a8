"""Composite ops (plain functions of primitives): forward against NumPy, gradients by
central differences, on random shapes with hypothesis, like the primitives."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigrad as mg
from strategies import array, shapes


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log1pexp(x):
    return np.logaddexp(0, x)


# name -> (build, reference, how to draw inputs)
def _one(domain="any", min_dims=0):
    return lambda draw, rng: [array(rng, draw(shapes(min_dims=min_dims)), domain)]


def _pair_same(domain="any", min_dims=0, target=None):
    def inputs(draw, rng):
        s = draw(shapes(min_dims=min_dims))
        second = target(rng, s) if target else array(rng, s)
        return [array(rng, s, domain), second]
    return inputs


COMPOSITES = {
    "mean": (lambda x: mg.mean(x, axis=-1), lambda x: np.mean(x, axis=-1), _one(min_dims=1)),
    "mean_all": (lambda x: x.mean(), lambda x: np.mean(x), _one()),
    "var": (lambda x: mg.var(x, axis=0), lambda x: np.var(x, axis=0), _one(min_dims=1)),
    "min": (lambda x: mg.min(x, axis=0), lambda x: np.min(x, axis=0), _one("distinct", 1)),
    "softmax": (lambda x: mg.softmax(x, axis=-1), _softmax, _one(min_dims=1)),
    "leaky_relu": (lambda x: mg.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), _one("away_from_zero")),
    "square": (mg.square, np.square, _one()),
    "stack": (lambda a, b: mg.stack([a, b], axis=0), lambda a, b: np.stack([a, b], axis=0), _pair_same()),
    "expand_dims": (lambda x: mg.expand_dims(x, 0), lambda x: np.expand_dims(x, 0), _one()),
    "swapaxes": (lambda x: mg.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), _one(min_dims=1)),
    "flatten": (mg.flatten, lambda x: x.reshape(x.shape[0], -1), _one(min_dims=2)),
    "mse_loss": (mg.mse_loss, lambda p, t: np.mean((p - t) ** 2), _pair_same()),
    "l1_loss": (mg.l1_loss, lambda p, t: np.mean(np.abs(p - t)), _pair_same("away_from_zero",
                                                                               target=lambda rng, s: np.zeros(s))),
    "bce_logits": (lambda x, t: mg.binary_cross_entropy(x, t, from_logits=True),
                   lambda x, t: np.mean(_log1pexp(x) - x * t),
                   _pair_same(target=lambda rng, s: (rng.random(s) > 0.5).astype(float))),
    "bce_probs": (mg.binary_cross_entropy,
                  lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)),
                  lambda draw, rng: (lambda s: [rng.uniform(0.1, 0.9, s), (rng.random(s) > 0.5).astype(float)])(
                      draw(shapes()))),
    "hinge_loss": (mg.hinge_loss, lambda s, t: np.mean(np.maximum(0, 1 - t * s)),
                   lambda draw, rng: (lambda s: [rng.uniform(-3, 3, s) * 1.0, rng.choice([-1.0, 1.0], s)])(
                       draw(shapes()))),
    "cross_entropy_probs": (mg.cross_entropy,
                            lambda x, p: -np.mean(np.sum(p * np.log(_softmax(x)), axis=-1)),
                            lambda draw, rng: (lambda n, c: [rng.normal(size=(n, c)),
                                                             _softmax(rng.normal(size=(n, c)))])(
                                draw(st.integers(1, 4)), draw(st.integers(2, 4)))),
    "nll_loss": (lambda lp, t: mg.nll_loss(lp, mg.constant(t)),
                 lambda lp, t: -np.mean(lp[np.arange(len(t)), t]),
                 lambda draw, rng: (lambda n, c: [rng.normal(size=(n, c)), rng.integers(0, c, n)])(
                     draw(st.integers(1, 4)), draw(st.integers(2, 4)))),
}

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", sorted(COMPOSITES))
@SETTINGS
@given(data=st.data())
def test_composite_forward_and_gradient(name, data):
    build, reference, draw_inputs = COMPOSITES[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    inputs = draw_inputs(data.draw, rng)
    float_inputs = [a for a in inputs if a.dtype.kind == "f"]
    g = mg.Graph()
    with g:
        xs = [mg.placeholder(f"x{i}", a.shape, a.dtype) if a.dtype.kind == "f" else a
              for i, a in enumerate(inputs)]
        out = build(*xs)
    feed = {x: a for x, a in zip(xs, inputs) if isinstance(x, mg.Tensor)}
    np.testing.assert_allclose(g.run(out, feed), reference(*inputs), rtol=1e-9, atol=1e-12)
    # gradient with respect to the first input; the others stay fixed
    rest = inputs[1:]
    mg.testing.gradcheck(lambda a: build(a, *[mg.constant(r) if r.dtype.kind == "f" else r for r in rest]),
                         [float_inputs[0]], atol=1e-6, rtol=1e-5)
