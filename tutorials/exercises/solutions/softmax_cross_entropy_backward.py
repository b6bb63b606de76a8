"""Softmax cross-entropy, forward and backward, in NumPy: the fused gradient (p - y) / N.

Reference solution. See ../softmax_cross_entropy_backward.py for the statement.
"""

import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(z, t):
    m = z.max(axis=1, keepdims=True)
    logp = (z - m) - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(t)), t].mean())


def cross_entropy_backward(z, t):
    n = len(t)
    grad = softmax(z)
    grad[np.arange(n), t] -= 1.0
    return grad / n
