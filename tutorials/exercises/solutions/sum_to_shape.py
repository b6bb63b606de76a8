"""Unbroadcasting: summing a gradient back to the shape of the input it belongs to.

Reference solution. See ../sum_to_shape.py for the statement.
"""

import numpy as np


def sum_to_shape(grad, shape):
    shape = tuple(shape)
    grad = np.asarray(grad)
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)
