"""Grading for sum_to_shape: explicit cases, then central differences of a broadcast."""

ORDER = 7

import numpy as np

from minigrad.exercises import expect_close, expect_gradient, fail

RNG = np.random.default_rng(7)

CASES = [((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((2, 4, 3), (4, 1)),
         ((2, 4, 3), (2, 1, 3)), ((5,), ()), ((2, 3), ()), ((3, 1, 5), (1, 1)), ((4, 3), (4, 3)),
         ((2, 1, 3), (1, 3))]


def _expected(grad, shape):
    # independent of the usual algorithm: the adjoint of broadcast_to, one output
    # element at a time
    out = np.zeros(shape)
    view = np.broadcast_to(np.arange(out.size).reshape(shape), grad.shape)
    np.add.at(out.reshape(-1), view.reshape(-1), grad.reshape(-1))
    return out


def check_shapes_and_values(ex):
    """explicit cases: (4,3)->(3,), (2,4,3)->(4,1), (5,)->(), ..."""
    for big, small in CASES:
        grad = RNG.normal(size=big)
        got = ex.sum_to_shape(grad.copy(), small)
        if got is None:
            fail("sum_to_shape returned None: did you forget a `return`?")
        if np.shape(got) != small:
            fail(f"sum_to_shape(grad of shape {big}, {small}) has shape {np.shape(got)}, expected {small}")
        expect_close(got, _expected(grad, small), f"sum_to_shape(grad of shape {big}, {small})",
                     rtol=1e-10, atol=1e-12)


def check_same_shape_unchanged(ex):
    """when the shapes already match, the values come back unchanged"""
    grad = RNG.normal(size=(3, 2))
    expect_close(ex.sum_to_shape(grad.copy(), (3, 2)), grad, "sum_to_shape(grad, grad.shape)")


def check_grad_not_modified(ex):
    """the gradient passed in is not modified"""
    grad = RNG.normal(size=(2, 4, 3))
    saved = grad.copy()
    ex.sum_to_shape(grad, (4, 1))
    if not np.array_equal(grad, saved):
        fail("sum_to_shape modified the array it was given; sum into a new array")


def check_bias_gradient(ex):
    """it is the gradient of a broadcast add: L = sum(w * (x + b)) for b of shape (1, 3)"""
    x, w = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    b = RNG.normal(size=(1, 3))
    upstream = w  # dL/d(x + b)
    expect_gradient(ex.sum_to_shape(upstream, b.shape), lambda x_, b_: float(np.sum(w * (x_ + b_))),
                    [x, b], wrt=1, names=["x", "b"], what="dL/db = sum_to_shape(dL/dout, b.shape)")


def check_outer_product_gradient(ex):
    """it is the gradient of an outer-product broadcast: u (3,1) * v (1,4)"""
    u, v = RNG.normal(size=(3, 1)), RNG.normal(size=(1, 4))
    w = RNG.normal(size=(2, 3, 4))
    f = lambda u_, v_: float(np.sum(w * (u_ * v_)))  # noqa: E731
    # d/du of sum(w * u * v): upstream w * v (broadcast to (2, 3, 4)), summed back to u's shape
    expect_gradient(ex.sum_to_shape(w * v, u.shape), f, [u, v], wrt=0, names=["u", "v"],
                    what="dL/du = sum_to_shape(dL/dout * v, u.shape)")
    expect_gradient(ex.sum_to_shape(w * u, v.shape), f, [u, v], wrt=1, names=["u", "v"],
                    what="dL/dv = sum_to_shape(dL/dout * u, v.shape)")
