"""Ops that move or regroup elements without computing on them.

Their gradients move the upstream gradient back: reshape it back, transpose it back,
sum it over the dimensions a broadcast had copied along (``sum_to``), scatter it into
the positions an index had picked (``getitem_grad``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ShapeError
from .registry import Op, broadcast_shapes, normalize_axis, register, _fmt

_BIG = 1_000_003  # stands in for an unknown (None) dimension when computing index shapes


def _summed_axes(g_shape, shape):
    """(axes broadcasting added in front, axes it stretched from size 1)."""
    lead = len(g_shape) - len(shape)
    stretched = tuple(i + lead for i, d in enumerate(shape) if d == 1 and g_shape[i + lead] != 1)
    return tuple(range(lead)), stretched


def sum_to_shape(g: np.ndarray, shape) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if g.shape == tuple(shape):
        return g
    leading, stretched = _summed_axes(g.shape, shape)
    return np.sum(g, axis=leading + stretched, keepdims=True).reshape(shape)


class SumTo(Op):
    """Reduce a broadcast gradient back to the shape of ``ref`` (ref gives only its shape)."""
    name = "sum_to"
    rule = "sum dL/d{a} over the axes broadcasting copied {b} along"

    def infer(self, g, ref):
        broadcast_shapes(g.shape, ref.shape)
        return ref.shape, g.dtype

    def forward(self, g, ref):
        return sum_to_shape(g, ref.shape)

    def prepare(self, node):
        # Training runs the same shapes every step: work out the axes once per shape
        # pair and call the ufunc's reduce directly (np.sum's wrapper costs ~2 us).
        plans = {}

        def run(g, ref):
            key = (g.shape, ref.shape)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = _summed_axes(g.shape, ref.shape)
            leading, stretched = plan
            if leading:
                g = np.add.reduce(g, axis=leading)
            if stretched:
                g = np.add.reduce(g, axis=tuple(a - len(leading) for a in stretched), keepdims=True)
            return g
        return run

    def vjp(self, node, g):
        x, _ = node.inputs
        return broadcast_like(g, x), None


class BroadcastLike(Op):
    """Broadcast ``a`` to the (run-time) shape of ``ref``."""
    name = "broadcast_like"
    rule = "dL/d{a} = dL/d{out} summed back to the shape of {a}"

    def infer(self, x, ref):
        broadcast_shapes(x.shape, ref.shape)  # raises when the shapes cannot broadcast
        if len(x.shape) > len(ref.shape):
            raise ShapeError(f"cannot broadcast {_fmt(x.shape)} to {_fmt(ref.shape)}")
        return ref.shape, x.dtype

    def forward(self, x, ref):
        return np.broadcast_to(x, ref.shape)

    def vjp(self, node, g):
        x, _ = node.inputs
        return sum_to(g, x), None


class BroadcastTo(Op):
    name = "broadcast_to"
    rule = "dL/d{a} = dL/d{out} summed over the broadcast axes"

    def infer(self, x, *, shape):
        out = broadcast_shapes(x.shape, shape)
        if out != tuple(shape) or len(x.shape) > len(shape):
            raise ShapeError(f"cannot broadcast {_fmt(x.shape)} to {_fmt(shape)}")
        return tuple(shape), x.dtype

    def forward(self, x, *, shape):
        return np.broadcast_to(x, shape)

    def vjp(self, node, g):
        return (sum_to(g, node.inputs[0]),)


def _reshape_target(in_shape, shape):
    """Infer a reshape's output shape; ``-1`` takes the rest, unknown sizes stay None."""
    shape = tuple(int(d) for d in shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"only one -1 allowed in reshape target {shape}")
    if any(d < -1 for d in shape):
        raise ShapeError(f"negative size in reshape target {shape}")
    if None in in_shape:
        if -1 not in shape:
            raise ShapeError(f"input has an unknown dimension; use -1 in the target {shape} for it")
        return tuple(None if d == -1 else d for d in shape)
    total = int(np.prod(in_shape, dtype=np.int64))
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or total % known:
            raise ShapeError(f"cannot reshape {_fmt(in_shape)} ({total} elements) to {shape}")
        return tuple(total // known if d == -1 else d for d in shape)
    if known != total:
        raise ShapeError(f"cannot reshape {_fmt(in_shape)} ({total} elements) to {_fmt(shape)} ({known} elements)")
    return shape


class Reshape(Op):
    name = "reshape"
    rule = "dL/d{a} = dL/d{out} reshaped back to the shape of {a}"

    def infer(self, x, *, shape):
        return _reshape_target(x.shape, shape), x.dtype

    def forward(self, x, *, shape):
        return np.reshape(x, shape)

    def vjp(self, node, g):
        x = node.inputs[0]
        if x.shape.count(None) <= 1:
            return (reshape(g, tuple(-1 if d is None else d for d in x.shape)),)
        return (reshape_like(g, x),)


class ReshapeLike(Op):
    name = "reshape_like"
    rule = "dL/d{a} = dL/d{out} reshaped back to the shape of {a}"

    def infer(self, x, ref):
        return ref.shape, x.dtype

    def forward(self, x, ref):
        return np.reshape(x, ref.shape)

    def vjp(self, node, g):
        return reshape_like(g, node.inputs[0]), None


class Transpose(Op):
    name = "transpose"
    rule = "dL/d{a} = dL/d{out} transposed back"

    def infer(self, x, *, axes):
        if sorted(axes) != list(range(len(x.shape))):
            raise ShapeError(f"axes {axes} are not a permutation of {len(x.shape)} dimensions")
        return tuple(x.shape[a] for a in axes), x.dtype

    def forward(self, x, *, axes):
        return np.transpose(x, axes)

    def vjp(self, node, g):
        return (transpose(g, tuple(np.argsort(node.attrs["axes"]).tolist())),)


class Concatenate(Op):
    name = "concatenate"
    rule = "each input gets its slice of dL/d{out}"

    def infer(self, *xs, axis):
        if not xs:
            raise ShapeError("needs at least one tensor")
        nd = len(xs[0].shape)
        if any(len(x.shape) != nd for x in xs):
            raise ShapeError("all inputs need the same number of dimensions")
        out = list(xs[0].shape)
        for x in xs[1:]:
            for i, (d, e) in enumerate(zip(out, x.shape)):
                if i == axis:
                    out[i] = None if d is None or e is None else d + e
                elif d is not None and e is not None and d != e:
                    raise ShapeError(f"sizes differ on axis {i} ({d} vs {e}); only axis {axis} may differ")
                elif d is None:
                    out[i] = e
        return tuple(out), np.result_type(*[x.dtype for x in xs])

    def forward(self, *xs, axis):
        return np.concatenate(xs, axis=axis)

    def vjp(self, node, g):
        axis = node.attrs["axis"]
        grads, start = [], 0
        for x in node.inputs:
            size = x.shape[axis]
            if size is None:
                raise ShapeError(f"concatenate: the gradient needs the size of {x.name!r} along axis {axis}, "
                                 "which is unknown until run time")
            index = (slice(None),) * axis + (slice(start, start + size),)
            grads.append(getitem(g, index))
            start += size
        return tuple(grads)


def _normalize_index(index):
    """Make an index hashable-ish and static: ints, slices, None, Ellipsis, int arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, (slice, type(None), type(Ellipsis))):
            out.append(item)
        elif isinstance(item, numbers.Integral):
            out.append(int(item))
        elif isinstance(item, (list, np.ndarray)):
            arr = np.asarray(item)
            if arr.dtype.kind not in "iub":
                raise TypeError(f"index arrays must be integers or booleans, got {arr.dtype}")
            out.append(arr)
        else:
            raise TypeError(f"unsupported index {item!r}: use ints, slices, None, ... or integer arrays "
                            "(tensor indices are not supported; see mg.one_hot / mg.where)")
    return tuple(out)


def _is_basic(index):
    return not any(isinstance(i, np.ndarray) for i in index)


class GetItem(Op):
    name = "getitem"
    rule = "dL/d{a} = dL/d{out} placed back at the indexed positions, zeros elsewhere"

    def infer(self, x, *, index):
        stand_in = tuple(_BIG if d is None else d for d in x.shape)
        dummy = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=stand_in,
                                                strides=(0,) * len(stand_in))
        try:
            shape = dummy[index].shape
        except IndexError as err:
            raise ShapeError(f"index {index} does not fit shape {_fmt(x.shape)}: {err}") from None
        return tuple(None if d > _BIG // 2 else d for d in shape), x.dtype

    def forward(self, x, *, index):
        return x[index]

    def vjp(self, node, g):
        return (getitem_grad(g, node.inputs[0], index=node.attrs["index"]),)


class GetItemGrad(Op):
    name = "getitem_grad"
    rule = "scatter dL/d{a} into zeros shaped like {b}"

    def infer(self, g, ref, *, index):
        return ref.shape, g.dtype

    def forward(self, g, ref, *, index):
        out = np.zeros(ref.shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)  # repeated indices must add up, not overwrite
        return out

    def vjp(self, node, g):
        return getitem(g, node.attrs["index"]), None


SUM_TO, BROADCAST_LIKE = register(SumTo), register(BroadcastLike)
_broadcast_to, _reshape, _reshape_like = register(BroadcastTo), register(Reshape), register(ReshapeLike)
_transpose, _concatenate = register(Transpose), register(Concatenate)
_getitem, _getitem_grad = register(GetItem), register(GetItemGrad)


# -- the public functions --------------------------------------------------------

# Equal static shapes need no node: an unknown (None) size is assumed to match the
# unknown size in the same place, the same rule ``broadcast_shapes`` uses.

def sum_to(g, like):
    """Sum ``g`` down to the shape of ``like`` (the adjoint of broadcasting)."""
    return g if g.shape == like.shape else SUM_TO(g, like)


def broadcast_like(x, like):
    """Broadcast ``x`` to the run-time shape of ``like``."""
    return x if x.shape == like.shape else BROADCAST_LIKE(x, like)


def broadcast_to(x, shape, name=None):
    return _broadcast_to(x, shape=tuple(int(d) for d in shape), name=name)


def reshape(x, shape, name=None):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    return _reshape(x, shape=tuple(int(d) for d in shape), name=name)


def reshape_like(x, like):
    return _reshape_like(x, like)


def transpose(x, axes=None, name=None):
    nd = len(x.shape)
    axes = tuple(reversed(range(nd))) if axes is None else tuple(int(a) % nd for a in axes)
    return _transpose(x, axes=axes, name=name)


def swapaxes(x, a, b):
    nd = len(x.shape)
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return _transpose(x, axes=tuple(axes))


def concatenate(xs, axis=0, name=None):
    xs = list(xs)
    nd = len(getattr(xs[0], "shape", np.shape(xs[0])))
    return _concatenate(*xs, axis=normalize_axis(axis, nd)[0], name=name)


def stack(xs, axis=0):
    """Stack along a new axis: each input gets a size-1 axis, then they are concatenated."""
    xs = list(xs)
    nd = len(xs[0].shape) + 1
    axis = normalize_axis(axis, nd)[0]
    index = (slice(None),) * axis + (None,)
    return concatenate([getitem(x, index) for x in xs], axis=axis)


def expand_dims(x, axis):
    nd = len(x.shape) + 1
    axis = normalize_axis(axis, nd)[0]
    return getitem(x, (slice(None),) * axis + (None,))


def getitem(x, index, name=None):
    return _getitem(x, index=_normalize_index(index), name=name)


def getitem_grad(g, like, index):
    return _getitem_grad(g, like, index=index)


def flatten(x):
    """Keep the first (batch) axis, flatten the rest: (N, C, H, W) -> (N, C*H*W)."""
    rest = x.shape[1:]
    if None in rest:
        raise ShapeError(f"flatten: {x.name!r} has unknown sizes after the batch axis: {x.shape_str()}")
    return reshape(x, (-1, int(np.prod(rest, dtype=np.int64))))
