"""Leaves of the graph: placeholders (fed at run time), parameters (trainable arrays
owned by the graph) and constants (fixed arrays)."""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from ..graph import current_graph, user_location
from ..tensor import Tensor
from .registry import REGISTRY, Op


class _Leaf(Op):
    rule = "a leaf: its gradient is what arrives here"

    def infer(self, **attrs):
        raise AssertionError("leaves are created directly, never inferred")

    def vjp(self, node, g):
        return ()


class Placeholder(_Leaf):
    name = "placeholder"


class Parameter(_Leaf):
    name = "parameter"


class Constant(_Leaf):
    name = "constant"


PLACEHOLDER, PARAMETER, CONSTANT = Placeholder(), Parameter(), Constant()
for _op in (PLACEHOLDER, PARAMETER, CONSTANT):
    REGISTRY[_op.name] = _op


def _leaf(graph, op, shape, dtype, name, attrs=None, value=None) -> Tensor:
    node = Tensor(graph, op, (), attrs or {}, shape, dtype, name=graph.unique_name(name),
                  location=user_location(), origin=graph._origins[-1] if graph._origins else None,
                  scope=graph.scope)
    node.value = value
    return graph.add(node)


def _check_shape(shape, what):
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            raise ValueError(f"{what}: shape entries must be non-negative ints or None, got {shape}")
    return tuple(None if d is None else int(d) for d in shape)


def placeholder(name: str, shape=(), dtype="float32", default=None) -> Tensor:
    """A value fed at run time: ``g.run(y, feed={x: array})``.

    ``None`` in ``shape`` means "any size" (usually the batch). With ``default``,
    the placeholder may be left out of the feed (like a Keras training flag).
    """
    graph = current_graph(required_for=f"mg.placeholder({name!r})")
    shape = _check_shape(shape, f"placeholder {name!r}")
    dtype = np.dtype(dtype)
    if default is not None:
        default = np.asarray(default, dtype=dtype)
    return _leaf(graph, PLACEHOLDER, shape, dtype, name, value=default)


def parameter(name: str, value, dtype=None) -> Tensor:
    """A trainable array owned by the graph; optimizers update ``param.value``."""
    graph = current_graph(required_for=f"mg.parameter({name!r})")
    arr = np.array(value, dtype=dtype, copy=True)
    if arr.dtype.kind != "f":
        if dtype is None and arr.dtype.kind in "iub":
            arr = arr.astype("float32")
        else:
            raise DTypeError(f"parameter {name!r} must be floating point, got {arr.dtype} (at {user_location()})")
    return _leaf(graph, PARAMETER, arr.shape, arr.dtype, name, value=arr)


def constant(value, name: str = "const", dtype=None, graph=None) -> Tensor:
    """A fixed array baked into the graph."""
    graph = graph or current_graph(required_for="mg.constant")
    arr = np.array(value, dtype=dtype)
    arr.setflags(write=False)
    return _leaf(graph, CONSTANT, arr.shape, arr.dtype, name, value=arr)
