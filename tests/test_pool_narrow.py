"""The 2x2 max pool of narrow images on whole vectors (kernels/pool_2x2_narrow.py) and
the vector operations it added to kernels/simd.py: comparisons, masks, select, zip and
unzip."""

from __future__ import annotations

import importlib

import numba
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


# ------------------------------------------------------------- simd: the new operations

@numba.njit
def _vector_ops(a, b, out):
    """Every new operation once, each result a row of ``out``."""
    x, y = simd.load(a, 0, 0), simd.load(b, 0, 0)
    nan_first = (x != x) & ~(y != y)
    simd.store(out, 0, 0, simd.select((x > y) | nan_first, x, y))
    simd.store(out, 1, 0, simd.select(x == y, x, simd.zeros(out)))
    simd.store(out, 2, 0, simd.unzip_even(x, y, 1))
    simd.store(out, 3, 0, simd.unzip_odd(x, y, 2))
    simd.store(out, 4, 0, simd.zip_low(x, y, 4))
    simd.store(out, 5, 0, simd.zip_high(x, y, 1))
    simd.store(out, 6, 0, simd.unzip_odd(x, y, 8))
    simd.store(out, 7, 0, simd.zip_low(x, y, 8))


@pytest.mark.parametrize("dtype", FLOATS)
def test_vector_masks_selects_and_shuffles(dtype):
    """Each lane where NumPy says it goes, with NaNs in both operands and ties."""
    n = simd.lanes(dtype)
    rng = np.random.default_rng(0)
    a, b = rng.integers(-2, 3, (1, n)).astype(dtype), rng.integers(-2, 3, (1, n)).astype(dtype)
    a[0, 1], b[0, 2], a[0, 3], b[0, 3] = np.nan, np.nan, np.nan, np.nan
    out = np.zeros((8, n), dtype)
    _vector_ops(a, b, out)
    x, y, both = a[0], b[0], np.concatenate([a[0], b[0]])
    np.testing.assert_array_equal(out[0], np.where((x > y) | (np.isnan(x) & ~np.isnan(y)), x, y))
    np.testing.assert_array_equal(out[1], np.where(x == y, x, 0))
    np.testing.assert_array_equal(out[2], both[0::2])
    np.testing.assert_array_equal(out[3], both.reshape(-1, 4)[:, 2:].ravel())
    zipped4 = np.stack([x.reshape(-1, 4), y.reshape(-1, 4)], axis=1).ravel()
    np.testing.assert_array_equal(out[4], zipped4[:n])
    np.testing.assert_array_equal(out[5], np.stack([x, y], axis=1).ravel()[n:])
    np.testing.assert_array_equal(out[6], both.reshape(-1, 8)[1::2].ravel())
    np.testing.assert_array_equal(out[7], np.stack([x.reshape(-1, 8), y.reshape(-1, 8)], axis=1).ravel()[:n])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("size", [1, 2, 4, 8])
def test_zip_undoes_unzip_and_python_twins_agree(size, dtype):
    """zip_low/zip_high(unzip_even, unzip_odd) gives back the two vectors, jitted and in
    the NumPy twins used under NUMBA_DISABLE_JIT, which give the same lanes."""
    n = simd.lanes(dtype)
    a, b = np.arange(n, dtype=dtype)[None], np.arange(n, 2 * n, dtype=dtype)[None]

    @numba.njit
    def round_trip(a, b, out, size):
        x, y = simd.load(a, 0, 0), simd.load(b, 0, 0)
        if size == 1:
            e, o = simd.unzip_even(x, y, 1), simd.unzip_odd(x, y, 1)
            simd.store(out, 2, 0, e)
            simd.store(out, 0, 0, simd.zip_low(e, o, 1))
            simd.store(out, 1, 0, simd.zip_high(e, o, 1))
        elif size == 2:
            e, o = simd.unzip_even(x, y, 2), simd.unzip_odd(x, y, 2)
            simd.store(out, 2, 0, e)
            simd.store(out, 0, 0, simd.zip_low(e, o, 2))
            simd.store(out, 1, 0, simd.zip_high(e, o, 2))
        elif size == 4:
            e, o = simd.unzip_even(x, y, 4), simd.unzip_odd(x, y, 4)
            simd.store(out, 2, 0, e)
            simd.store(out, 0, 0, simd.zip_low(e, o, 4))
            simd.store(out, 1, 0, simd.zip_high(e, o, 4))
        else:
            e, o = simd.unzip_even(x, y, 8), simd.unzip_odd(x, y, 8)
            simd.store(out, 2, 0, e)
            simd.store(out, 0, 0, simd.zip_low(e, o, 8))
            simd.store(out, 1, 0, simd.zip_high(e, o, 8))

    out = np.zeros((3, n), dtype)
    round_trip(a, b, out, size)
    np.testing.assert_array_equal(out[0], a[0])
    np.testing.assert_array_equal(out[1], b[0])
    twin = simd._py_shuffle(lambda lanes, s: simd._unzip_order(lanes, s, 0))
    np.testing.assert_array_equal(out[2], twin(a[0], b[0], size))


def test_shuffles_refuse_a_size_that_does_not_divide_the_lanes():
    """A group size that is not a constant divisor of the lanes: no compiled code (the
    lane order must be known when compiling)."""
    @numba.njit
    def three(a):
        x = simd.load(a, 0, 0)
        return simd.unzip_even(x, x, 3)

    @numba.njit
    def too_wide(a):
        x = simd.load(a, 0, 0)
        return simd.zip_low(x, x, 32)

    a = np.zeros((1, 16), np.float32)
    for f in (three, too_wide):
        with pytest.raises(numba.core.errors.TypingError):
            f(a)
    with pytest.raises(ValueError, match="does not divide"):
        simd._py_shuffle(lambda n, s: simd._unzip_order(n, s, 0))(a[0], a[0], 3)


def test_comparisons_refuse_mixed_dtypes():
    @numba.njit
    def mixed(a, b):
        return simd.select(simd.load(a, 0, 0) > simd.load(b, 0, 0), simd.load(a, 0, 0), simd.load(a, 0, 0))

    with pytest.raises(numba.core.errors.TypingError):
        mixed(np.zeros((1, 16), np.float32), np.zeros((1, 8), np.float64))


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
