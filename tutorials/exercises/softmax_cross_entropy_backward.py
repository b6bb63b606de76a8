"""Softmax cross-entropy, forward and backward, in NumPy: the fused gradient (p - y) / N.

Exercise 2. Check your work with

    python -m minigrad.exercises check softmax_cross_entropy_backward

What to implement
-----------------
For a batch of N rows of logits z (shape (N, C)) and integer labels t (shape (N,)):

1. ``softmax(z)``: p[n, c] = exp(z[n, c]) / sum_k exp(z[n, k]), row by row.
2. ``cross_entropy(z, t)``: the mean loss  L = -(1/N) sum_n log p[n, t[n]]   (a float).
3. ``cross_entropy_backward(z, t)``: dL/dz, an array of shape (N, C).

The math
--------
Softmax followed by the log-loss has a famously simple gradient. With y the one-hot
matrix of the labels (y[n, t[n]] = 1, zero elsewhere):

    dL/dz = (p - y) / N

(Derive it: d log p_t / d z_c = [c == t] - p_c; the 1/N comes from the mean.)

Hints
-----
* Numerical stability: exp(1000) overflows. Subtract each row's maximum first,
  softmax(z) = softmax(z - max(z)), which changes nothing mathematically.
* For the loss, use log p = (z - m) - log(sum exp(z - m)) (the log-sum-exp trick)
  rather than log(softmax(z)), which gives log(0) = -inf for very unlikely classes.
* ``keepdims=True`` keeps the row axis for broadcasting; fancy indexing
  ``p[np.arange(N), t]`` picks each row's label entry.
* Use NumPy only; the checker compares your gradient to central differences of its
  own loss and prints the worst element if they disagree.
"""

import numpy as np


def softmax(z):
    """Row-wise softmax of z (N, C) -> (N, C); rows sum to 1."""
    raise NotImplementedError("TODO: softmax: exp(z - rowmax) / row sum")


def cross_entropy(z, t):
    """Mean over the batch of -log softmax(z)[n, t[n]], as a Python float."""
    raise NotImplementedError("TODO: cross_entropy: mean of -log p[n, t[n]] (use log-sum-exp)")


def cross_entropy_backward(z, t):
    """dL/dz for L = cross_entropy(z, t): (softmax(z) - onehot(t)) / N, shape (N, C)."""
    raise NotImplementedError("TODO: cross_entropy_backward: return (p - y) / N")
