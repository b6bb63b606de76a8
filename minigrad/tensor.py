"""``Tensor``: the symbolic handle users hold. It is a graph node plus Python operators.

Operators only *record* ops (``a + b`` calls ``mg.add(a, b)``); nothing is computed
until ``Graph.run``. Python numbers and NumPy arrays on either side become constants.
"""

from __future__ import annotations

from .graph import Node


def _ops():
    from . import ops  # imported late: ops need Tensor to exist first
    return ops


class Tensor(Node):
    __slots__ = ()
    # Make NumPy hand ``ndarray * tensor`` over to Tensor.__rmul__ instead of
    # trying to build an object array.
    __array_ufunc__ = None

    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().sub(self, other)
    def __rsub__(self, other): return _ops().sub(other, self)
    def __mul__(self, other): return _ops().mul(self, other)
    def __rmul__(self, other): return _ops().mul(other, self)
    def __truediv__(self, other): return _ops().div(self, other)
    def __rtruediv__(self, other): return _ops().div(other, self)
    def __pow__(self, other): return _ops().pow(self, other)
    def __rpow__(self, other): return _ops().pow(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)

    # <, <=, >, >= record ops (they give boolean tensors). == and != are NOT
    # overloaded: they keep Python's identity meaning, because the graph machinery
    # (sets of nodes, dicts keyed by node, `node in list`) relies on it. For an
    # elementwise comparison inside the graph use mg.equal(a, b) / mg.not_equal(a, b).
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    __hash__ = Node.__hash__

    def __getitem__(self, index): return _ops().getitem(self, index)

    def __bool__(self):
        raise TypeError(
            f"the truth value of symbolic tensor {self.name!r} is unknown until the graph runs; "
            "use mg.where(cond, a, b) for choices inside the graph")

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of {self.name!r} with shape {self.shape_str()} is not known before running")
        return self.shape[0]

    def __iter__(self):
        raise TypeError(f"cannot iterate over symbolic tensor {self.name!r}; index it instead (x[0], x[:, 1])")

    @property
    def T(self): return _ops().transpose(self)

    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis=axis, keepdims=keepdims)
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops().transpose(self, axes or None)
    def astype(self, dtype): return _ops().cast(self, dtype)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)
    def relu(self): return _ops().relu(self)
