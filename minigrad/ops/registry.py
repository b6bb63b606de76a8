"""The op base class, the registry of ops, and ``record``: how a call becomes a node.

An op is one class holding the three things autodiff needs side by side:

  infer(*inputs, **attrs)  -> (shape, dtype)   checked when the op is recorded
  forward(*arrays, **attrs) -> array           what the executor runs (NumPy / Numba)
  vjp(node, g) -> one gradient per input       written with minigrad ops, so the
                                               backward pass is itself a graph

plus ``rule``, the VJP in words, shown by ``mg.backprop_steps`` and the step-through
pictures. Array inputs are positional, static settings are keyword attributes stored
on the node.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from ..errors import DTypeError, GraphError, MinigradError, ShapeError
from ..graph import current_graph, user_location
from ..tensor import Tensor

REGISTRY: dict[str, "Op"] = {}


class Op:
    """Base class of every op. Subclass it, fill in the methods, then ``register`` it."""

    name: str = ""
    rule: str = ""          # the VJP in words, e.g. "dL/da = dL/dout * b"
    differentiable = True   # False for ops whose output has no gradient (comparisons, ...)
    shares_kernel_work = False  # True: a run containing it opens a kernels.reuse scope
    uses_own_threads = False    # True: its kernel splits batches over minigrad's threads,
                                # so a run containing it keeps BLAS on one thread (kernels/parallel.py)

    def infer(self, *inputs, **attrs):
        """Return ``(shape, dtype)`` of the output, or raise ShapeError/DTypeError."""
        raise NotImplementedError(f"op {self.name!r} has no shape rule")

    def forward(self, *arrays, **attrs):
        """Compute the output array from input arrays.

        Return a new array (or a view); never modify an input in place: the same
        array is read by other nodes of the run, and kernels may reuse work derived
        from it within the run (``minigrad/kernels/reuse.py``)."""
        raise NotImplementedError(f"op {self.name!r} has no forward")

    def vjp(self, node, g):
        """Return one gradient tensor (or None) per input of ``node``, given dL/dnode = g."""
        raise NotImplementedError(f"op {self.name!r} has no gradient rule")

    def prepare(self, node):
        """Return a function of the input arrays only, built once per plan.

        The executor calls it once when it plans a run, so per-step work is just the
        call. Ops override it to make dispatch decisions ahead of time.
        """
        if node.attrs:
            return functools.partial(self.forward, **node.attrs)
        return self.forward

    def describe(self, node) -> str:
        """The rule in words with the node's own names filled in."""
        names = {f"x{i}": inp.name for i, inp in enumerate(node.inputs)}
        letters = "abcdefgh"
        for i, inp in enumerate(node.inputs[: len(letters)]):
            names[letters[i]] = inp.name
        names["out"] = node.name
        try:
            return self.rule.format(**names)
        except (KeyError, IndexError):
            return self.rule

    def __repr__(self):
        return f"<Op {self.name}>"


def composite(name):
    """Decorator for a function built from several ops (a loss, say): its nodes are
    recorded in a name scope of their own, so a drawing can fold them into one box."""
    def wrap(fn):
        @functools.wraps(fn)
        def scoped(*args, **kwargs):
            graph = _graph_of([a for a in args if isinstance(a, Tensor)]) or current_graph()
            if graph is None:
                return fn(*args, **kwargs)
            with graph.name_scope(graph.fresh_scope_name(name)):
                return fn(*args, **kwargs)
        return scoped
    return wrap


def register(op_class):
    """Register an Op subclass and return a function that records it.

    >>> square = mg.register(Square)       # Square(Op) with name = "square"
    >>> y = square(x)                      # recorded in x's graph like a built-in
    """
    op = op_class() if isinstance(op_class, type) else op_class
    if not op.name:
        raise ValueError(f"{type(op).__name__} needs a class attribute `name`")
    REGISTRY[op.name] = op

    def apply(*inputs, name=None, **attrs):
        return record(op, inputs, attrs, name=name)

    apply.__name__ = op.name
    apply.__doc__ = type(op).__doc__
    apply.op = op
    return apply


def _graph_of(values):
    graphs = {v.graph for v in values if isinstance(v, Tensor)}
    if len(graphs) > 1:
        names = ", ".join(sorted(f"{g.name!r}" for g in graphs))
        tensors = ", ".join(f"{v.name!r} (graph {v.graph.name!r})" for v in values if isinstance(v, Tensor))
        raise GraphError(f"cannot mix tensors from different graphs ({names}): {tensors}. "
                         "Build every tensor of one computation inside the same `with graph:` block.")
    return graphs.pop() if graphs else None


def _weak_dtype(value, partner_dtype):
    """Dtype for a Python number used next to a tensor: keep the tensor's dtype if it can.

    ``2 * x`` stays float32 for a float32 x (as in JAX and PyTorch) instead of
    becoming float64 the way ``np.float64(2) * x`` would.
    """
    if isinstance(value, bool):
        return np.dtype(bool)
    if isinstance(value, numbers.Integral):
        return partner_dtype if partner_dtype is not None and partner_dtype.kind in "iuf" else np.dtype("int64")
    if isinstance(value, numbers.Real):
        return partner_dtype if partner_dtype is not None and partner_dtype.kind == "f" else np.dtype("float32")
    raise TypeError(f"cannot use {type(value).__name__} {value!r} as a tensor")


def as_tensor(value, graph, like_dtype=None) -> Tensor:
    """Turn a Python number or NumPy array into a constant node of ``graph``."""
    if isinstance(value, Tensor):
        return value
    from .leaves import constant
    if isinstance(value, (numbers.Number, np.bool_)) and not isinstance(value, np.generic):
        arr = np.asarray(value, dtype=_weak_dtype(value, like_dtype))
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"cannot turn {type(value).__name__} into a tensor (object array)")
    return constant(arr, graph=graph)


def shapes_str(nodes) -> str:
    return ", ".join(f"{n.name} {n.shape_str()} {n.dtype}" for n in nodes)


def record(op: Op, inputs, attrs, name=None) -> Tensor:
    """Record ``op`` applied to ``inputs`` in their graph and return the output tensor.

    Shapes and dtypes are inferred here, so a mismatch is reported at the line that
    builds the graph, naming the op, the operand shapes and that line.
    """
    graph = _graph_of(inputs) or current_graph(required_for=f"op {op.name!r} on constants only")
    dtypes = [v.dtype for v in inputs if isinstance(v, Tensor)]
    like = next((d for d in dtypes if d.kind == "f"), dtypes[0] if dtypes else None)
    tensors = [as_tensor(v, graph, like) for v in inputs]
    try:
        shape, dtype = op.infer(*tensors, **attrs)
    except (ShapeError, DTypeError) as err:
        raise type(err)(f"{op.name}: {err}\n  operands: {shapes_str(tensors)}\n"
                        f"  at {user_location()}") from None
    except MinigradError:
        raise
    except (TypeError, ValueError) as err:
        raise ShapeError(f"{op.name}: {err}\n  operands: {shapes_str(tensors)}\n"
                         f"  at {user_location()}") from None
    origin = graph._origins[-1] if graph._origins else None
    node = Tensor(graph, op, tensors, attrs, shape, dtype,
                  name=graph.unique_name(name or op.name), location=user_location(),
                  origin=origin, scope=graph.scope)
    return graph.add(node)


# -- shape helpers shared by the op families ---------------------------------------

def broadcast_shapes(*shapes):
    """NumPy broadcasting where ``None`` (unknown until run time) is allowed.

    None against 1 stays None; None against n becomes n (the run checks it).
    """
    ndim = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError("shapes " + " and ".join(_fmt(s) for s in shapes) + " cannot be broadcast together")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _fmt(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def normalize_axis(axis, ndim, op_name="op"):
    """Turn ``axis`` (None, int or tuple, negatives allowed) into a sorted tuple or None."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis}")
    return tuple(sorted(out))


def result_dtype(*nodes):
    return np.result_type(*[n.dtype for n in nodes])


def require_float(node, op_name):
    if node.dtype.kind != "f":
        raise DTypeError(f"{node.name!r} has dtype {node.dtype}; {op_name} needs floating point "
                         f"(cast with x.astype('float32'))")
