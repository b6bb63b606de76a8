"""Elementwise ops: arithmetic with NumPy broadcasting, comparisons, ``where`` and
the unary math functions.

A broadcasting op's gradient has the *output's* shape; ``sum_to`` reduces it back to
each input's shape (a bias of shape (4,) added to a batch (N, 4) gets the sum of N
gradient rows).
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError
from .registry import Op, broadcast_shapes, register, result_dtype
from .shape import sum_to


class _Binary(Op):
    ufunc = None

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), result_dtype(a, b)

    def forward(self, a, b):
        return self.ufunc(a, b)

    def prepare(self, node):
        return self.ufunc


class Add(_Binary):
    name, ufunc = "add", np.add
    rule = "dL/d{a} = dL/d{out};  dL/d{b} = dL/d{out}  (summed to each input's shape)"

    def vjp(self, node, g):
        a, b = node.inputs
        return sum_to(g, a), sum_to(g, b)


class Sub(_Binary):
    name, ufunc = "sub", np.subtract
    rule = "dL/d{a} = dL/d{out};  dL/d{b} = -dL/d{out}"

    def vjp(self, node, g):
        a, b = node.inputs
        return sum_to(g, a), sum_to(neg(g), b)


class Mul(_Binary):
    name, ufunc = "mul", np.multiply
    rule = "dL/d{a} = dL/d{out} * {b};  dL/d{b} = dL/d{out} * {a}"

    def vjp(self, node, g):
        a, b = node.inputs
        return sum_to(mul(g, b), a), sum_to(mul(g, a), b)


class Div(_Binary):
    name, ufunc = "div", np.divide
    rule = "dL/d{a} = dL/d{out} / {b};  dL/d{b} = -dL/d{out} * {out} / {b}"

    def vjp(self, node, g):
        a, b = node.inputs
        ga = div(g, b)
        return sum_to(ga, a), sum_to(neg(mul(ga, node)), b)


class Pow(_Binary):
    name, ufunc = "pow", np.power
    rule = "dL/d{a} = dL/d{out} * {b} * {a}**({b}-1);  dL/d{b} = dL/d{out} * {out} * log({a})"

    def infer(self, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            raise DTypeError("integer ** integer is not supported; make the base floating point")
        return super().infer(a, b)

    def vjp(self, node, g):
        a, b = node.inputs
        ga = mul(mul(g, b), pow(a, sub(b, 1)))
        gb = mul(mul(g, node), log(a)) if b.dtype.kind == "f" else None
        return sum_to(ga, a), (sum_to(gb, b) if gb is not None else None)


class _Extremum(_Binary):
    """maximum / minimum: the upstream gradient goes to whichever input was picked."""

    def picks_a(self, a, b):
        return greater_equal(a, b) if self.name == "maximum" else less_equal(a, b)

    def vjp(self, node, g):
        a, b = node.inputs
        a_wins = self.picks_a(a, b)
        return sum_to(where(a_wins, g, 0), a), sum_to(where(a_wins, 0, g), b)


class Maximum(_Extremum):
    name, ufunc = "maximum", np.maximum
    rule = "dL/d{out} goes to the larger input ({a} on ties)"


class Minimum(_Extremum):
    name, ufunc = "minimum", np.minimum
    rule = "dL/d{out} goes to the smaller input ({a} on ties)"


class _Compare(_Binary):
    differentiable = False
    rule = "a comparison: no gradient flows through it"

    def infer(self, a, b):
        return broadcast_shapes(a.shape, b.shape), np.dtype(bool)

    def vjp(self, node, g):
        return None, None


class Greater(_Compare): name, ufunc = "greater", np.greater
class GreaterEqual(_Compare): name, ufunc = "greater_equal", np.greater_equal
class Less(_Compare): name, ufunc = "less", np.less
class LessEqual(_Compare): name, ufunc = "less_equal", np.less_equal
class Equal(_Compare): name, ufunc = "equal", np.equal
class NotEqual(_Compare): name, ufunc = "not_equal", np.not_equal


class Where(Op):
    name = "where"
    rule = "dL/d{b} = dL/d{out} where {a} is true, else 0;  dL/d{c} = the rest"

    def infer(self, cond, a, b):
        if cond.dtype != np.dtype(bool):
            raise DTypeError(f"the condition must be boolean, got {cond.dtype} (compare first: x > 0)")
        return broadcast_shapes(cond.shape, a.shape, b.shape), result_dtype(a, b)

    def forward(self, cond, a, b):
        return np.where(cond, a, b)

    def prepare(self, node):
        return np.where

    def vjp(self, node, g):
        cond, a, b = node.inputs
        return None, sum_to(where(cond, g, 0), a), sum_to(where(cond, 0, g), b)


class _Unary(Op):
    ufunc = None

    def infer(self, x):
        return x.shape, (x.dtype if x.dtype.kind == "f" else np.dtype("float32"))

    def forward(self, x):
        return self.ufunc(x)

    def prepare(self, node):
        if node.inputs[0].dtype == node.dtype:
            return self.ufunc
        dtype = node.dtype
        return lambda x: self.ufunc(x.astype(dtype))


class Neg(_Unary):
    name, ufunc = "neg", np.negative
    rule = "dL/d{a} = -dL/d{out}"

    def infer(self, x):
        return x.shape, x.dtype

    def vjp(self, node, g):
        return (neg(g),)


class Exp(_Unary):
    name, ufunc = "exp", np.exp
    rule = "dL/d{a} = dL/d{out} * exp({a}) = dL/d{out} * {out}"

    def vjp(self, node, g):
        return (mul(g, node),)


class Log(_Unary):
    name, ufunc = "log", np.log
    rule = "dL/d{a} = dL/d{out} / {a}"

    def vjp(self, node, g):
        return (div(g, node.inputs[0]),)


class Sqrt(_Unary):
    name, ufunc = "sqrt", np.sqrt
    rule = "dL/d{a} = dL/d{out} / (2 * {out})"

    def vjp(self, node, g):
        return (div(g, mul(node, 2.0)),)


class Abs(_Unary):
    name, ufunc = "abs", np.abs
    rule = "dL/d{a} = dL/d{out} * sign({a})"

    def infer(self, x):
        return x.shape, x.dtype

    def vjp(self, node, g):
        return (mul(g, sign(node.inputs[0])),)


class Sign(_Unary):
    name, ufunc = "sign", np.sign
    differentiable = False
    rule = "sign is flat almost everywhere: no gradient flows through it"

    def infer(self, x):
        return x.shape, x.dtype

    def vjp(self, node, g):
        return (None,)


class Cast(Op):
    name = "cast"
    rule = "dL/d{a} = dL/d{out} cast back to the dtype of {a}"

    def infer(self, x, *, dtype):
        return x.shape, np.dtype(dtype)

    def forward(self, x, *, dtype):
        return x.astype(dtype)

    def vjp(self, node, g):
        x = node.inputs[0]
        return (cast(g, x.dtype) if x.dtype.kind == "f" else None,)


class StopGradient(Op):
    name = "stop_gradient"
    rule = "the forward value passes; no gradient flows back"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return x

    def vjp(self, node, g):
        return (None,)


class ZerosLike(Op):
    name = "zeros_like"
    differentiable = False
    rule = "a constant zero: no gradient flows back"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return np.zeros_like(x)

    def vjp(self, node, g):
        return (None,)


add, sub, mul, div = register(Add), register(Sub), register(Mul), register(Div)
pow, maximum, minimum = register(Pow), register(Maximum), register(Minimum)
greater, greater_equal = register(Greater), register(GreaterEqual)
less, less_equal = register(Less), register(LessEqual)
equal, not_equal = register(Equal), register(NotEqual)
where = register(Where)
neg, exp, log, sqrt = register(Neg), register(Exp), register(Log), register(Sqrt)
abs, sign = register(Abs), register(Sign)
_cast, stop_gradient, zeros_like = register(Cast), register(StopGradient), register(ZerosLike)


def cast(x, dtype, name=None):
    return _cast(x, dtype=np.dtype(dtype), name=name)


def square(x, name=None):
    return mul(x, x, name=name)
