"""Every registered op: forward against NumPy, gradient against central differences.

Both in float64, on random shapes (with broadcasting) drawn by hypothesis.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigrad as mg
from minigrad.ops import REGISTRY
from op_specs import SPECS

LEAVES = {"placeholder", "parameter", "constant"}
OPS = sorted(set(REGISTRY) - LEAVES)
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_every_op_has_a_spec():
    missing = [name for name in OPS if name not in SPECS]
    assert not missing, f"registered ops without a test spec in tests/op_specs.py: {missing}"


def _build(case):
    g = mg.Graph()
    with g:
        xs = [mg.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(case.inputs)]
        out = case.build(*xs)
    return g, xs, out


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(data=st.data())
def test_forward_matches_numpy(name, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    case = SPECS[name](data.draw, rng)
    g, xs, out = _build(case)
    value = g.run(out, dict(zip(xs, case.inputs)))
    if case.reference is None:
        assert value.shape == case.inputs[0].shape
        return
    expected = np.asarray(case.reference(*case.inputs))
    assert value.shape == expected.shape
    assert out.shape == expected.shape, "the shape rule disagrees with NumPy"
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", OPS)
@SETTINGS
@given(data=st.data())
def test_gradient_matches_central_differences(name, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    case = SPECS[name](data.draw, rng)
    if not case.grad_inputs:
        return
    fixed = dict(enumerate(case.inputs))

    def f(*ts):
        # only the inputs under test become variables; the others stay constants
        args = [None] * len(case.inputs)
        for k, t in zip(case.grad_inputs, ts):
            args[k] = t
        for k, a in fixed.items():
            if args[k] is None:
                args[k] = mg.constant(a)
        return case.build(*args)

    mg.testing.gradcheck(f, [case.inputs[k] for k in case.grad_inputs], atol=1e-6, rtol=1e-5)


def test_bernoulli_mask_keeps_the_expected_fraction_and_scale():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (100, 100), "float64")
        y = mg.dropout(x, rate=0.25, seed=3)
    out = g.run(y, {x: np.ones((100, 100))})
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    again = g.run(y, {x: np.ones((100, 100))})
    assert (again != out).any(), "each run must draw a fresh mask"
