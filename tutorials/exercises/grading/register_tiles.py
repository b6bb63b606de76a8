"""Grading for register_tiles: against NumPy's a @ b_t.T, on even and odd shapes."""

ORDER = 8

import numba
import numpy as np

from minigrad.exercises import expect_close, fail

RNG = np.random.default_rng(8)

# Numba does not check indices: a loop that runs one row too far would write past the
# end of ``c`` (garbage in the report, or a crash).  With bounds checks compiled in,
# it raises IndexError at the line that went too far instead.  (Set before the
# student's functions are compiled, at their first call.)
numba.config.BOUNDSCHECK = 1

SHAPES = [(1, 1, 1), (2, 3, 2), (3, 5, 2), (2, 4, 5), (5, 7, 3), (4, 9, 6), (7, 16, 9), (8, 33, 8)]


def _product(f, a, b_t, what):
    saved = a.copy(), b_t.copy()
    c = f(a, b_t)
    if c is None:
        fail(f"{what} returned None: did you forget `return c`?")
    c = np.asarray(c)
    m, n = a.shape[0], b_t.shape[0]
    if c.shape != (m, n):
        fail(f"{what} with a {a.shape} and b_t {b_t.shape} has shape {c.shape}, expected {(m, n)}")
    if not (np.array_equal(a, saved[0]) and np.array_equal(b_t, saved[1])):
        fail(f"{what} changed its inputs; write the sums into a new array")
    return c


def _check_values(f, name):
    for m, k, n in SHAPES:
        a, b_t = RNG.normal(size=(m, k)), RNG.normal(size=(n, k))
        got = _product(f, a, b_t, name)
        expect_close(got, a @ b_t.T, f"{name}(a {a.shape}, b_t {b_t.shape})", rtol=1e-10, atol=1e-12)


def check_one_at_a_time(ex):
    """dots_one_at_a_time matches a @ b_t.T (float64, odd and even shapes)"""
    _check_values(ex.dots_one_at_a_time, "dots_one_at_a_time")


def check_2x2(ex):
    """dots_2x2 matches a @ b_t.T, odd rows and columns included"""
    _check_values(ex.dots_2x2, "dots_2x2")


def check_float32_stays_float32(ex):
    """float32 inputs give a float32 result"""
    a = RNG.normal(size=(6, 40)).astype(np.float32)
    b_t = RNG.normal(size=(5, 40)).astype(np.float32)
    for f, name in [(ex.dots_one_at_a_time, "dots_one_at_a_time"), (ex.dots_2x2, "dots_2x2")]:
        got = _product(f, a, b_t, name)
        if got.dtype != np.float32:
            fail(f"{name} on float32 inputs returned {got.dtype}; start the sums at a.dtype.type(0) "
                 "and allocate c with a.dtype")
        expect_close(got, a @ b_t.T, f"{name} in float32", rtol=1e-4, atol=1e-4)


def check_compiled_with_numba(ex):
    """both functions are Numba-compiled (@numba.njit kept)"""
    for name in ("dots_one_at_a_time", "dots_2x2"):
        f = getattr(ex, name)
        if not hasattr(f, "py_func"):
            fail(f"{name} is a plain Python function: keep its @numba.njit decorator "
                 "(the point is what the compiler does with the loops)")
