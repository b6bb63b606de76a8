"""Reductions: sum, mean, max, min over some axes.

The gradient of a reduction has the *output's* shape; it is expanded back (a size-1
axis put where each reduced axis was) and broadcast over the input: every element
that was summed gets the same upstream gradient.
"""

from __future__ import annotations

import numpy as np

from .elementwise import cast, div, equal, mul, neg
from .registry import Op, normalize_axis, register
from .shape import broadcast_like, getitem


def _reduced_shape(shape, axes, keepdims):
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def expand_reduced(g, x, axes, keepdims):
    """Put size-1 axes back where a reduction removed them, then broadcast like ``x``."""
    if not keepdims and axes is not None and len(axes) < len(x.shape):
        index = tuple(None if i in axes else slice(None) for i in range(len(x.shape)))
        g = getitem(g, index)
    return broadcast_like(g, x)


class Sum(Op):
    name = "sum"
    rule = "dL/d{a} = dL/d{out} copied to every element that was summed"

    def infer(self, x, *, axis, keepdims):
        return _reduced_shape(x.shape, axis, keepdims), x.dtype

    def forward(self, x, *, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def vjp(self, node, g):
        x = node.inputs[0]
        return (expand_reduced(g, x, node.attrs["axis"], node.attrs["keepdims"]),)


class Max(Op):
    name = "max"
    rule = "dL/d{out} goes to the maximal element(s), split evenly on ties"

    def infer(self, x, *, axis, keepdims):
        return _reduced_shape(x.shape, axis, keepdims), x.dtype

    def forward(self, x, *, axis, keepdims):
        return np.max(x, axis=axis, keepdims=keepdims)

    def vjp(self, node, g):
        x = node.inputs[0]
        axis, keepdims = node.attrs["axis"], node.attrs["keepdims"]
        is_max = cast(equal(x, expand_reduced(node, x, axis, keepdims)), x.dtype)
        ties = sum(is_max, axis=axis, keepdims=True)
        return (div(mul(is_max, expand_reduced(g, x, axis, keepdims)), ties),)


class SizeOf(Op):
    """How many elements a reduction over ``axis`` combines (known at run time)."""
    name = "size_of"
    differentiable = False
    rule = "a count of elements: no gradient flows back"

    def infer(self, x, *, axis):
        return (), (x.dtype if x.dtype.kind == "f" else np.dtype("float32"))

    def forward(self, x, *, axis):
        dims = x.shape if axis is None else [x.shape[a] for a in axis]
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        return np.asarray(np.prod(dims, dtype=np.int64), dtype=dtype)

    def vjp(self, node, g):
        return (None,)


_sum, _max, _size_of = register(Sum), register(Max), register(SizeOf)


def sum(x, axis=None, keepdims=False, name=None):
    return _sum(x, axis=normalize_axis(axis, len(x.shape)), keepdims=bool(keepdims), name=name)


def max(x, axis=None, keepdims=False, name=None):
    return _max(x, axis=normalize_axis(axis, len(x.shape)), keepdims=bool(keepdims), name=name)


def min(x, axis=None, keepdims=False, name=None):
    """min(x) = -max(-x): one rule fewer to get right."""
    return neg(max(neg(x), axis=axis, keepdims=keepdims), name=name)


def size_of(x, axis=None):
    """The number of elements over ``axis``: a Python number when the shape is known."""
    axes = normalize_axis(axis, len(x.shape))
    dims = x.shape if axes is None else [x.shape[a] for a in axes]
    if None not in dims:
        return float(np.prod(dims, dtype=np.int64))
    return _size_of(x, axis=axes)


def mean(x, axis=None, keepdims=False, name=None):
    """mean = sum / N, so its gradient is the sum's gradient divided by N."""
    return div(sum(x, axis=axis, keepdims=keepdims), size_of(x, axis), name=name)


def var(x, axis=None, keepdims=False):
    """Population variance (divides by N, like ``np.var``)."""
    centered = x - mean(x, axis=axis, keepdims=True)
    return mean(mul(centered, centered), axis=axis, keepdims=keepdims)
