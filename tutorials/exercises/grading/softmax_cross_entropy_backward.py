"""Grading for softmax_cross_entropy_backward: values from formulas written here, the
gradient against central differences of this file's own loss."""

ORDER = 2

import numpy as np

from minigrad.exercises import expect_close, expect_gradient, fail

RNG = np.random.default_rng(1)
Z = RNG.normal(size=(5, 4)) * 2
T = np.array([0, 3, 1, 1, 2])


def _logsumexp(z):
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def _loss(z, t):
    return float(np.mean(_logsumexp(z) - z[np.arange(len(t)), t]))


def _overflow_guard(fn, *args, what):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            return fn(*args)
        except FloatingPointError as err:
            fail(f"{what} overflowed or divided by zero ({err}) on logits of size 1000: "
                 "subtract each row's max before exp")


def check_softmax(ex):
    """softmax: rows sum to 1 and match exp(z) / sum exp(z)"""
    p = ex.softmax(Z.copy())
    want = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    expect_close(p, want, "softmax(z)")


def check_softmax_stable(ex):
    """softmax is stable for logits like 1000"""
    z = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0]])
    p = _overflow_guard(ex.softmax, z, what="softmax")
    e = np.exp(z - z.max(axis=1, keepdims=True))
    expect_close(p, e / e.sum(axis=1, keepdims=True), "softmax of large logits")


def check_cross_entropy(ex):
    """cross_entropy: the mean of -log p[n, t[n]]"""
    got = ex.cross_entropy(Z.copy(), T)
    if np.ndim(got) != 0:
        fail(f"cross_entropy should return one number (the mean), got shape {np.shape(got)}")
    expect_close(float(got), _loss(Z, T), "cross_entropy(z, t)")
    z = np.array([[1000.0, 0.0, -1000.0]])
    got = _overflow_guard(ex.cross_entropy, z, np.array([2]), what="cross_entropy")
    expect_close(float(got), 2000.0, "cross_entropy of a confidently wrong row (log-sum-exp)", rtol=1e-9)


def check_backward_matches_central_differences(ex):
    """cross_entropy_backward matches central differences of the loss"""
    grad = ex.cross_entropy_backward(Z.copy(), T)
    expect_gradient(grad, lambda z: _loss(z, T), [Z], names=["z"], what="dL/dz")


def check_backward_is_p_minus_y(ex):
    """the gradient is (p - y) / N for another batch, with stable large logits"""
    z = np.array([[1000.0, 998.0, -5.0], [3.0, 3.0, 3.0], [0.1, -0.2, 0.3], [-800.0, 0.0, 5.0]])
    t = np.array([1, 0, 2, 0])
    grad = _overflow_guard(ex.cross_entropy_backward, z.copy(), t, what="cross_entropy_backward")
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    y = np.eye(3)[t]
    if np.shape(grad) == p.shape and np.allclose(grad, p - y):
        fail("dL/dz is p - y: divide by N, the loss is a mean over the batch")
    expect_close(grad, (p - y) / len(t), "dL/dz", atol=1e-12)


def check_inputs_not_modified(ex):
    """the functions do not modify the logits they are given"""
    z = Z.copy()
    ex.softmax(z); ex.cross_entropy(z, T); ex.cross_entropy_backward(z, T)
    if not np.array_equal(z, Z):
        fail("your code changed the logits array passed in (in-place `-=` on z?); work on a copy")
