"""Unbroadcasting: summing a gradient back to the shape of the input it belongs to.

Exercise 7. Check your work with

    python -m minigrad.exercises check sum_to_shape

What to implement
-----------------
``sum_to_shape(grad, shape)``: reduce the array ``grad`` (the gradient of an output
produced by broadcasting) to ``shape`` (the shape of the input that was broadcast),
by summing over every axis that broadcasting created or stretched. Return an array of
exactly ``shape``; do not modify ``grad``.

The math
--------
NumPy broadcasting (and minigrad's) lines shapes up from the right, prepends axes of
size 1, and stretches axes of size 1. E.g. a bias b of shape (3,) added to x of shape
(4, 3) is used 4 times: out[i, j] = x[i, j] + b[j]. By the chain rule each use sends
back its share, so

    dL/db[j] = sum_i dL/dout[i, j]

In general, with out = broadcast_to(b, big):
  1. sum over the leading axes that were prepended (grad.ndim - len(shape) of them);
  2. sum, keeping the axis, over every axis where ``shape`` has 1 and grad does not.

    (4, 3)    -> (3,)     sum axis 0
    (2, 4, 3) -> (4, 1)   sum axis 0, then axis 2 keeping it
    (5,)      -> ()       sum everything

Hints
-----
* ``grad.sum(axis=tuple(...))`` sums several axes at once; ``keepdims=True`` keeps them.
* Finish with ``.reshape(shape)`` so the result has exactly the asked shape.
* minigrad's core does this in every VJP of a broadcasting op (``mg.sum_to``); the
  checker compares your result with central differences of a broadcasting sum.
"""

import numpy as np


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the broadcast axes so that the result has shape ``shape``."""
    raise NotImplementedError("TODO: sum_to_shape: sum the prepended axes, then the stretched size-1 axes")
