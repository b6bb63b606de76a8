"""The 2x2 max pool of narrow images on whole vectors (kernels/pool_2x2_narrow.py); the
vector operations it uses are tested in test_simd.py."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minigrad import kernels as K
from minigrad.kernels import pool_2x2_narrow as narrow
from minigrad.kernels import reuse, simd

FLOATS = [np.float32, np.float64]
SMALL = settings(max_examples=30, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
K2, ZERO = (2, 2), (0, 0)


# -------------------------------------------------------------------- the narrow pool

def test_which_images_are_narrow():
    """Even sides, and a row of windows that divides the vector's lanes."""
    assert narrow.applies((64, 16, 8, 8), np.float32)
    assert narrow.applies((1, 1, 32, 32), np.float32) and not narrow.applies((1, 1, 32, 32), np.float64)
    assert narrow.applies((2, 3, 6, 4), np.float64)            # rows of 2 windows
    assert not narrow.applies((2, 3, 7, 8), np.float32)        # odd height
    assert not narrow.applies((2, 3, 8, 9), np.float32)        # odd width
    assert not narrow.applies((2, 3, 12, 12), np.float32)      # rows of 6 windows
    assert not narrow.applies((2, 3, 8, 8), np.int32)


@st.composite
def narrow_cases(draw):
    dtype = draw(st.sampled_from(FLOATS))
    ow = draw(st.sampled_from([d for d in (1, 2, 4, 8, 16) if simd.lanes(dtype) % d == 0]))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 5)), 2 * draw(st.integers(1, 5)), 2 * ow)
    return shape, dtype, draw(st.booleans()), draw(st.integers(0, 2**16))


def _pool_input(rng, shape, dtype, ties):
    x = (rng.integers(-2, 3, size=shape) if ties else rng.standard_normal(shape)).astype(dtype)
    specials = rng.choice(x.size, min(4, x.size), replace=False)
    x.flat[specials] = rng.choice([np.nan, np.inf, -np.inf], size=specials.size)
    return x


@SMALL
@given(narrow_cases(), st.booleans())
def test_narrow_pool_matches_the_reference_bit_for_bit(case, parallel):
    """Forward and backward (relu fused or not) against the NumPy references, on ties,
    NaNs and infinities, with leftover rows (sizes that are not whole vectors) and,
    ``parallel``, the chunked kernels forced on small inputs."""
    shape, dtype, ties, seed = case
    rng = np.random.default_rng(seed)
    x = _pool_input(rng, shape, dtype, ties)
    assert narrow.applies(x.shape, x.dtype)
    pool_2x2 = importlib.import_module("minigrad.kernels.pool_2x2")
    saved = pool_2x2._PARALLEL_MIN
    pool_2x2._PARALLEL_MIN = 0 if parallel else saved
    try:
        y = narrow.max_forward(x)
        y_ref = K.max_pool2d_forward_reference(x, K2, K2, ZERO)
        np.testing.assert_array_equal(y, y_ref)
        assert y.dtype == dtype
        gy = rng.standard_normal(y.shape).astype(dtype)
        for relu in (False, True):
            gx = narrow.max_backward(gy, x, y, relu)
            g_in = np.where(y_ref > 0, gy, 0).astype(dtype) if relu else gy
            assert gx.tobytes() == K.max_pool2d_backward_reference(g_in, x, y_ref, K2, K2, ZERO).tobytes()
    finally:
        pool_2x2._PARALLEL_MIN = saved


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_narrow_pool_nan_is_numpys_nan(dtype):
    """A window with a NaN gives NumPy's NaN, whatever NaN (sign, payload) the input
    had -- the same bits as the row loops give the leftover rows."""
    from minigrad.kernels import pool_2x2
    x = np.zeros((3, 1, 2, 2 * 8), dtype)  # 3 rows of 8 windows: whole vectors, and rows left over
    odd_nan = np.array([-np.nan], dtype)
    odd_nan.view(np.uint32 if dtype == np.float32 else np.uint64)[0] |= 1  # a payload bit
    x[:, 0, 0, 3] = odd_nan[0]
    y = narrow.max_forward(x)
    assert y.tobytes() == pool_2x2.max_forward(x, 1, 8).tobytes()
    assert np.isnan(y[:, 0, 0, 1]).all()


def test_narrow_images_take_the_vector_kernels(monkeypatch):
    """max_pool2d_forward/backward send 8x8 float32 images here, in a run scope too (no
    winners are left: the backward finds them again), and other shapes elsewhere."""
    calls = []
    for name in ("max_forward", "max_backward"):
        real = getattr(narrow, name)
        monkeypatch.setattr(narrow, name, lambda *a, real=real, name=name: calls.append(name) or real(*a))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    with reuse.run_scope():
        y = K.max_pool2d_forward(x, K2, K2, ZERO)
        assert not reuse.current_table()
        gx = K.max_pool2d_backward(np.ones_like(y), x, y, K2, K2, ZERO)
    assert calls == ["max_forward", "max_backward"]
    np.testing.assert_array_equal(gx, K.max_pool2d_backward_reference(np.ones_like(y), x, y, K2, K2, ZERO))
    calls.clear()
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    K.max_pool2d_backward(np.ones((4, 3, 6, 6), np.float32), x, K.max_pool2d_forward(x, K2, K2, ZERO),
                          K2, K2, ZERO)
    assert calls == []


def test_narrow_pool_of_a_non_contiguous_input():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32).transpose(0, 1, 3, 2)
    y = K.max_pool2d_forward(x, K2, K2, ZERO)
    np.testing.assert_array_equal(y, K.max_pool2d_forward_reference(x, K2, K2, ZERO))
    gy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(K.max_pool2d_backward(gy, x, y, K2, K2, ZERO),
                                  K.max_pool2d_backward_reference(gy, x, y, K2, K2, ZERO))
