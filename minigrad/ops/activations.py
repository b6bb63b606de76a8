"""Activation functions.

``sigmoid``, ``tanh`` and ``relu`` are primitives rather than compositions of exp:
written as ``1 / (1 + exp(-x))`` a sigmoid overflows for large negative x, and a
primitive's gradient can reuse its output (``y * (1 - y)``), which is both cheaper
and what textbooks write. ``leaky_relu`` and ``softmax`` are plain compositions.
"""

from __future__ import annotations

import numpy as np

from .elementwise import greater, mul, sub, where, exp
from .. import kernels
from .registry import Op, normalize_axis, register, require_float


def _stable_sigmoid(x):
    # exp of a non-positive number never overflows: use exp(-|x|) on both sides.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class _FloatUnary(Op):
    def infer(self, x):
        require_float(x, self.name)
        return x.shape, x.dtype


class Sigmoid(_FloatUnary):
    name = "sigmoid"
    rule = "dL/d{a} = dL/d{out} * {out} * (1 - {out})"

    def forward(self, x):
        return _stable_sigmoid(x)

    def vjp(self, node, g):
        return (mul(g, mul(node, sub(1.0, node))),)


class Tanh(_FloatUnary):
    name = "tanh"
    rule = "dL/d{a} = dL/d{out} * (1 - {out}**2)"

    def forward(self, x):
        return np.tanh(x)

    def prepare(self, node):
        return np.tanh

    def vjp(self, node, g):
        return (mul(g, sub(1.0, mul(node, node))),)


class Relu(_FloatUnary):
    name = "relu"
    rule = "dL/d{a} = dL/d{out} where {a} > 0, else 0"

    def forward(self, x):
        return np.maximum(x, 0)

    def vjp(self, node, g):
        # relu's *output* tells where its input was positive (y > 0 exactly when
        # x > 0), so the backward pass reads y, as PyTorch's does.  The input can then
        # be dropped after the forward pass, and a conv2d feeding this relu can write
        # relu(conv) directly (see fusion.py).
        return (relu_grad(g, node),)


class ReluGrad(Op):
    """The backward of relu as one op: pass ``g`` where ``x > 0``.

    One fused node instead of (compare, constant, where) keeps the backward graph
    small and fast; its own gradient is itself, since it is linear in ``g``.
    """
    name = "relu_grad"
    rule = "dL/d{a} = dL/d{out} where {b} > 0, else 0"

    def infer(self, g, x):
        return g.shape, g.dtype

    def forward(self, g, x):
        return kernels.relu_backward(g, x)

    def vjp(self, node, gg):
        return relu_grad(gg, node.inputs[1]), None


class LogSoftmax(Op):
    """log(softmax(x)) computed as x - max - log(sum(exp(x - max))): no overflow.

    A primitive because exp(x) of a large logit overflows when composed naively.
    """
    name = "log_softmax"
    rule = "dL/d{a} = dL/d{out} - softmax({a}) * sum(dL/d{out})"

    def infer(self, x, *, axis):
        require_float(x, self.name)
        return x.shape, x.dtype

    def forward(self, x, *, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def vjp(self, node, g):
        from .reduce import sum
        axis = node.attrs["axis"]
        return (sub(g, mul(exp(node), sum(g, axis=axis, keepdims=True))),)


sigmoid, tanh, relu = register(Sigmoid), register(Tanh), register(Relu)
relu_grad = register(ReluGrad)
_log_softmax = register(LogSoftmax)


def log_softmax(x, axis=-1, name=None):
    return _log_softmax(x, axis=normalize_axis(axis, len(x.shape))[0], name=name)


def softmax(x, axis=-1, name=None):
    """softmax = exp(log_softmax): stable, and its gradient comes for free."""
    return exp(log_softmax(x, axis=axis), name=name)


def leaky_relu(x, negative_slope=0.01, name=None):
    return where(greater(x, 0), x, mul(x, negative_slope), name=name)
