"""Register tiling: a matrix product as 2x2 tiles of dot products, in Numba.

Reference solution. See ../register_tiles.py for the statement.
"""

import numba
import numpy as np


@numba.njit
def dots_one_at_a_time(a, b_t):
    m, depth = a.shape
    n = b_t.shape[0]
    c = np.empty((m, n), a.dtype)
    for i in range(m):
        for j in range(n):
            s = a.dtype.type(0)
            for k in range(depth):
                s += a[i, k] * b_t[j, k]
            c[i, j] = s
    return c


@numba.njit
def _one(a, b_t, c, i, j):
    s = a.dtype.type(0)
    for k in range(a.shape[1]):
        s += a[i, k] * b_t[j, k]
    c[i, j] = s


@numba.njit
def dots_2x2(a, b_t):
    m, depth = a.shape
    n = b_t.shape[0]
    c = np.empty((m, n), a.dtype)
    zero = a.dtype.type(0)
    for i in range(0, m - 1, 2):
        for j in range(0, n - 1, 2):
            s00 = s01 = s10 = s11 = zero
            for k in range(depth):
                x0, x1 = a[i, k], a[i + 1, k]
                y0, y1 = b_t[j, k], b_t[j + 1, k]
                s00 += x0 * y0
                s01 += x0 * y1
                s10 += x1 * y0
                s11 += x1 * y1
            c[i, j], c[i, j + 1], c[i + 1, j], c[i + 1, j + 1] = s00, s01, s10, s11
    if n % 2:  # the last column, for every row
        for i in range(m):
            _one(a, b_t, c, i, n - 1)
    if m % 2:  # the last row (its last entry is already done if n is odd too)
        for j in range(n - n % 2):
            _one(a, b_t, c, m - 1, j)
    return c
