"""The vector operations of kernels/simd.py beyond loads, stores and FMAs (those are
tested with the matrix-product kernels in test_kernels.py): a number times a
vector, comparisons, masks, select, the lane shuffles (zip, unzip, shift_in) and the masked loads and stores --
each lane against NumPy, and the NumPy twins used under NUMBA_DISABLE_JIT."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from minigrad.kernels import simd

FLOATS = [np.float32, np.float64]


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


@numba.njit
def _masked(a, out, j, count):
    simd.store_first(out, 0, j, simd.load_first(a, 0, 0, count), count)
    simd.store(out, 1, 0, simd.load_first(a, 0, 0, count))
    simd.store(out, 2, 0, simd.keep_first(simd.load(a, 0, 0), count))


@pytest.mark.parametrize("dtype", FLOATS)
def test_masked_loads_and_stores_touch_only_the_first_lanes(dtype):
    """load_first reads ``count`` lanes, the rest are 0; store_first writes ``count``
    lanes and leaves the rest of the row as it was -- also when the array ends right
    after them (the twins check the bounds that the compiled code cannot); keep_first
    zeroes the lanes after ``count``."""
    n = simd.lanes(dtype)
    a = np.arange(1, n + 1, dtype=dtype)[None]
    for count in range(n + 1):
        out = np.full((3, n + 3), -7.0, dtype)
        _masked(a, out, 3, count)
        np.testing.assert_array_equal(out[0], [-7.0] * 3 + list(range(1, count + 1)) + [-7.0] * (n - count))
        np.testing.assert_array_equal(out[1, :n], list(range(1, count + 1)) + [0] * (n - count))
        np.testing.assert_array_equal(out[2, :n], out[1, :n])
        np.testing.assert_array_equal(simd._py_keep_first(a[0], count), out[2, :n])
        short = a[:, :count]  # an array of exactly ``count`` numbers
        np.testing.assert_array_equal(simd._py_load_first(short, 0, 0, count)[:count], a[0, :count])
    with pytest.raises(IndexError):
        simd._py_load_first(a[:, :5], 0, 1, 5)
    with pytest.raises(IndexError):
        simd._py_store_first(np.zeros((1, 4), dtype), 0, 2, a[0], 3)


@pytest.mark.parametrize("dtype", FLOATS)
def test_shift_in_moves_lanes_up_by_one(dtype):
    n = simd.lanes(dtype)

    @numba.njit
    def shifted(carry, v, out):
        simd.store(out, 0, 0, simd.shift_in(simd.load(carry, 0, 0), simd.load(v, 0, 0)))

    carry, v = np.arange(n, dtype=dtype)[None], np.arange(100, 100 + n, dtype=dtype)[None]
    out = np.zeros((1, n), dtype)
    shifted(carry, v, out)
    np.testing.assert_array_equal(out[0], [n - 1] + list(range(100, 99 + n)))
    np.testing.assert_array_equal(simd._py_shift_in(carry[0], v[0]), out[0])


@numba.njit
def _scaled(a, out):
    x = simd.load(a, 0, 0)
    simd.store(out, 0, 0, 4 * x)        # an int
    simd.store(out, 1, 0, -0.5 * x)     # a float64, whatever the vector's dtype
    simd.store(out, 2, 0, 4 * x - 5 * x + x)  # as winograd4.py's transforms combine them


@pytest.mark.parametrize("dtype", FLOATS)
def test_a_number_times_a_vector_keeps_the_vectors_dtype(dtype):
    n = simd.lanes(dtype)
    a = np.arange(n, dtype=dtype)[None, :] - 3
    a[0, 1] = np.nan
    out = np.zeros((3, n), dtype)
    _scaled(a, out)
    want = np.stack([4 * a[0], dtype(-0.5) * a[0], 4 * a[0] - 5 * a[0] + a[0]])
    np.testing.assert_array_equal(out, want)
