"""Grading for vjp_of_a_new_op: forward values against NumPy formulas written here,
gradients against central differences (mg.testing.gradcheck), never against the solution."""

ORDER = 1

import numpy as np

import minigrad as mg
from minigrad.exercises import expect_close, expect_gradcheck, fail

X = np.array([-6.0, -2.5, -1.0, -0.3, 0.0, 0.4, 1.0, 2.0, 5.0])
X2 = np.random.default_rng(0).normal(size=(3, 4)) * 2


def _run(fn, x):
    g = mg.Graph()
    with g:
        t = mg.placeholder("x", shape=x.shape, dtype=x.dtype)
        y = fn(t)
    return g.run(y, {t: x})


def check_swish_forward(ex):
    """swish forward equals x * sigmoid(x)"""
    expect_close(_run(ex.swish, X), X / (1 + np.exp(-X)), "swish(x)")
    expect_close(_run(ex.swish, X2), X2 / (1 + np.exp(-X2)), "swish(x) on a 3x4 input")


def check_swish_keeps_dtype_and_no_overflow(ex):
    """swish keeps float32 and does not overflow at x = -1000"""
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        try:
            y = _run(ex.swish, x)
        except FloatingPointError as err:
            fail(f"overflow in forward ({err}): for large negative x, np.exp(-x) overflows; use a "
                 "stable sigmoid, e.g. exp(-|x|) on both branches")
        except mg.OpError as err:
            if isinstance(err.__cause__, FloatingPointError):
                fail(f"overflow in forward ({err.__cause__}): use a stable sigmoid, "
                     "e.g. exp(-|x|) on both branches")
            raise
    if y.dtype != np.float32:
        fail(f"swish of a float32 input returned {y.dtype}; keep the input's dtype (.astype(x.dtype))")
    expect_close(y, np.array([0.0, 0.0, 0.0, 50.0, 1000.0]), "swish at large |x|", atol=1e-6)


def check_swish_gradient(ex):
    """swish VJP matches central differences"""
    expect_gradcheck(lambda x: ex.swish(x), [X], names=["x"], what="d swish(x) / dx")
    expect_gradcheck(lambda x: (ex.swish(x) * ex.swish(x)).sum(), [X2], names=["x"],
                     what="gradient of sum(swish(x)^2)")


def check_swish_second_derivative(ex):
    """swish VJP is built from minigrad ops (its gradient has a gradient)"""
    def first(x):
        return mg.grad(ex.swish(x).sum(), x)
    try:
        expect_gradcheck(first, [X], names=["x"], what="the second derivative of swish")
    except mg.GraphError as err:
        fail(f"differentiating your VJP failed ({err}); build it from minigrad ops on tensors")


def check_log1p_square_forward(ex):
    """log1p_square forward equals log(1 + x^2)"""
    expect_close(_run(ex.log1p_square, X), np.log(1 + X ** 2), "log1p_square(x)")
    tiny = np.array([1e-9, -3e-10])
    expect_close(_run(ex.log1p_square, tiny), tiny ** 2, "log1p_square at tiny x", rtol=1e-6, atol=0)


def check_log1p_square_gradient(ex):
    """log1p_square VJP matches central differences"""
    expect_gradcheck(lambda x: ex.log1p_square(x), [X], names=["x"], what="d log(1+x^2) / dx")
    expect_gradcheck(lambda x: ex.log1p_square(ex.swish(x) * 3.0).mean(), [X2], names=["x"],
                     what="gradient of mean(log1p_square(3 swish(x)))")
