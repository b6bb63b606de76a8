"""One test case generator per registered op: inputs, how to build it, the NumPy answer.

``test_ops.py`` runs every entry: forward against NumPy, then the gradient by central
differences. ``test_every_op_has_a_spec`` fails when an op is registered without an
entry here, so a new op cannot go untested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

import minigrad as mg
from minigrad.ops import shape as shape_ops
from minigrad.ops import conv as conv_ops
from minigrad.ops.activations import relu_grad
from minigrad.ops.losses import _bernoulli_mask
from strategies import array, broadcastable_shapes, shapes


class _KernelReferences:
    """The kernels' NumPy twins, imported only when a conv/pool case needs them."""

    def __getattr__(self, name):
        import importlib
        for module in ("minigrad.kernels.conv", "minigrad.kernels.pool"):
            mod = importlib.import_module(module)
            if hasattr(mod, name):
                return getattr(mod, name)
        raise AttributeError(name)


kref = _KernelReferences()


@dataclass
class Case:
    inputs: list                      # float64 (or int) arrays fed as placeholders
    build: object                   # tensors -> tensor
    reference: object        # arrays -> expected array (None: checked elsewhere)
    grad_inputs: list = field(default_factory=list)  # which inputs to gradcheck


SPECS = {}


def spec(*names):
    def wrap(fn):
        for n in names:
            SPECS[n] = fn
        return fn
    return wrap


def _binary(name, fn, ref, domain=("any", "any")):
    @spec(name)
    def case(draw, rng):
        sa, sb = draw(broadcastable_shapes(2))
        return Case([array(rng, sa, domain[0]), array(rng, sb, domain[1])], fn, ref, [0, 1])


_binary("add", mg.add, np.add)
_binary("sub", mg.sub, np.subtract)
_binary("mul", mg.mul, np.multiply)
_binary("div", mg.div, np.divide, ("any", "away_from_zero"))
_binary("pow", mg.pow, np.power, ("positive", "any"))


@spec("maximum", "minimum")
def _minmax(draw, rng):
    sa, sb = draw(broadcastable_shapes(2))
    a, b = array(rng, sa), array(rng, sb)
    which = draw(st.sampled_from(["maximum", "minimum"]))
    fn, ref = (mg.maximum, np.maximum) if which == "maximum" else (mg.minimum, np.minimum)
    a_b, b_b = np.broadcast_arrays(a, b)
    near_tie = a_b.size and np.min(np.abs(a_b - b_b)) < 1e-3  # the gradient jumps at a tie
    return Case([a, b], fn, ref, [] if near_tie else [0, 1])


@spec("greater", "greater_equal", "less", "less_equal", "equal", "not_equal")
def _compare(draw, rng):
    sa, sb = draw(broadcastable_shapes(2))
    name = draw(st.sampled_from(["greater", "greater_equal", "less", "less_equal", "equal", "not_equal"]))
    a, b = np.round(array(rng, sa)), np.round(array(rng, sb))
    return Case([a, b], getattr(mg, name), getattr(np, name), [])


@spec("where")
def _where(draw, rng):
    sc, sa, sb = draw(broadcastable_shapes(3))
    cond = rng.random(sc) > 0.5
    return Case([cond, array(rng, sa), array(rng, sb)], mg.where, np.where, [1, 2])


def _unary(name, fn, ref, domain="any", grad=True):
    @spec(name)
    def case(draw, rng):
        return Case([array(rng, draw(shapes()), domain)], fn, ref, [0] if grad else [])


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


_unary("neg", mg.neg, np.negative)
_unary("exp", mg.exp, np.exp)
_unary("log", mg.log, np.log, "positive")
_unary("sqrt", mg.sqrt, np.sqrt, "positive")
_unary("abs", mg.abs, np.abs, "away_from_zero")
_unary("sign", mg.sign, np.sign, "away_from_zero", grad=False)
_unary("sigmoid", mg.sigmoid, _np_sigmoid)
_unary("tanh", mg.tanh, np.tanh)
_unary("relu", mg.relu, lambda x: np.maximum(x, 0), "away_from_zero")
_unary("stop_gradient", mg.stop_gradient, lambda x: x, grad=False)
_unary("zeros_like", mg.zeros_like, np.zeros_like, grad=False)


@spec("relu_grad")
def _relu_grad(draw, rng):
    s = draw(shapes())
    return Case([array(rng, s), array(rng, s, "away_from_zero")], relu_grad,
                lambda g, x: np.where(x > 0, g, 0), [0])


@spec("cast")
def _cast(draw, rng):
    return Case([array(rng, draw(shapes()))], lambda x: mg.cast(mg.cast(x, "float32"), "float64"),
                lambda x: x.astype(np.float32).astype(np.float64), [])


def _axis_and_keepdims(draw, ndim):
    axis = draw(st.one_of(st.none(), st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim,
                                              min_size=1, max_size=ndim) if ndim else st.none()))
    return (tuple(axis) if axis else None), draw(st.booleans())


@spec("sum", "size_of")
def _sum(draw, rng):
    s = draw(shapes())
    axis, keep = _axis_and_keepdims(draw, len(s))
    return Case([array(rng, s)], lambda x: mg.sum(x, axis=axis, keepdims=keep),
                lambda x: np.sum(x, axis=axis, keepdims=keep), [0])


@spec("max")
def _max(draw, rng):
    s = draw(shapes())
    axis, keep = _axis_and_keepdims(draw, len(s))
    return Case([array(rng, s, "distinct")], lambda x: mg.max(x, axis=axis, keepdims=keep),
                lambda x: np.max(x, axis=axis, keepdims=keep), [0])


@spec("sum_to", "broadcast_like")
def _sum_to(draw, rng):
    small, big = draw(broadcastable_shapes(2))
    big = np.broadcast_shapes(small, big)
    if draw(st.booleans()):
        return Case([array(rng, big), array(rng, small)], shape_ops.SUM_TO,
                    lambda g, r: shape_ops.sum_to_shape(g, r.shape), [0])
    return Case([array(rng, small), array(rng, big)], shape_ops.BROADCAST_LIKE,
                lambda x, r: np.broadcast_to(x, r.shape), [0])


@spec("broadcast_to")
def _broadcast_to(draw, rng):
    small, big = draw(broadcastable_shapes(2))
    big = np.broadcast_shapes(small, big)
    return Case([array(rng, small)], lambda x: mg.broadcast_to(x, big),
                lambda x: np.broadcast_to(x, big), [0])


@spec("reshape", "reshape_like")
def _reshape(draw, rng):
    s = draw(shapes(min_dims=1))
    target = tuple(rng.permutation(s))
    if draw(st.booleans()):
        return Case([array(rng, s)], lambda x: mg.reshape(x, (-1,) + target[1:]),
                    lambda x: x.reshape((-1,) + target[1:]), [0])
    return Case([array(rng, s), array(rng, target)], shape_ops.reshape_like,
                lambda x, r: x.reshape(r.shape), [0])


@spec("transpose")
def _transpose(draw, rng):
    s = draw(shapes(min_dims=1))
    axes = tuple(draw(st.permutations(range(len(s)))))
    return Case([array(rng, s)], lambda x: mg.transpose(x, axes), lambda x: np.transpose(x, axes), [0])


@spec("concatenate")
def _concatenate(draw, rng):
    s = draw(shapes(min_dims=1))
    axis = draw(st.integers(0, len(s) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrs = [array(rng, s[:axis] + (k,) + s[axis + 1:]) for k in sizes]
    return Case(arrs, lambda *xs: mg.concatenate(xs, axis=axis),
                lambda *xs: np.concatenate(xs, axis=axis), list(range(len(arrs))))


@spec("getitem", "getitem_grad")
def _getitem(draw, rng):
    s = draw(shapes(min_dims=1))
    kind = draw(st.sampled_from(["int", "slice", "fancy", "newaxis"]))
    if kind == "int":
        index = (draw(st.integers(-s[0], s[0] - 1)),)
    elif kind == "slice":
        index = (slice(draw(st.integers(0, s[0] - 1)), None, draw(st.integers(1, 2))),)
    elif kind == "fancy":
        index = (rng.integers(0, s[0], size=draw(st.integers(1, 5))),)  # repeats must accumulate
    else:
        index = (Ellipsis, None)
    return Case([array(rng, s)], lambda x: x[index], lambda x: x[index], [0])


@spec("matmul")
def _matmul(draw, rng):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    ba, bb = draw(broadcastable_shapes(2, max_dims=2))
    kind = draw(st.sampled_from(["2d", "batched", "vec_left", "vec_right"]))
    if kind == "2d":
        sa, sb = (n, k), (k, m)
    elif kind == "batched":
        sa, sb = ba + (n, k), bb + (k, m)
    elif kind == "vec_left":
        sa, sb = (k,), (k, m)
    else:
        sa, sb = (n, k), (k,)
    return Case([array(rng, sa), array(rng, sb)], mg.matmul, np.matmul, [0, 1])


@spec("log_softmax")
def _log_softmax(draw, rng):
    s = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(s), len(s) - 1))
    ref = lambda x: x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
    return Case([array(rng, s) * 3], lambda x: mg.log_softmax(x, axis=axis), ref, [0])


@spec("cross_entropy")
def _cross_entropy(draw, rng):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    logits = array(rng, (n, c)) * 2
    labels = rng.integers(0, c, size=n)

    def ref(x, t):
        logp = x - np.log(np.exp(x).sum(1, keepdims=True))
        return -logp[np.arange(n), t].mean()
    return Case([logits, labels], mg.cross_entropy, ref, [0])


@spec("cross_entropy_grad")
def _cross_entropy_grad(draw, rng):
    from minigrad.ops.losses import cross_entropy_grad
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    logits, labels, g = array(rng, (n, c)) * 2, rng.integers(0, c, size=n), array(rng, ())

    def ref(g, x, t):
        p = np.exp(x - x.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return (p - np.eye(c)[t]) * g / n
    return Case([g, logits, labels], cross_entropy_grad, ref, [0, 1])


@spec("one_hot")
def _one_hot(draw, rng):
    c = draw(st.integers(1, 5))
    labels = rng.integers(0, c, size=draw(shapes(max_dims=2)))
    return Case([labels], lambda t: mg.one_hot(t, c, "float64"), lambda t: np.eye(c)[t], [])


@spec("bernoulli_mask")
def _bernoulli(draw, rng):
    # The values are random; test_ops checks them separately. Here: shape and scale.
    s = draw(shapes(min_dims=1))
    return Case([array(rng, s)], lambda x: _bernoulli_mask(x, rate=0.5, seed=1), None, [])


def _conv_setup(draw, rng):
    n, cin, cout = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad, dil = draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
    h = draw(st.integers(dil * (kh - 1) + 1, 6))
    w = draw(st.integers(dil * (kw - 1) + 1, 6))
    attrs = dict(stride=(stride, stride), padding=(pad, pad), dilation=(dil, dil))
    x, wt = array(rng, (n, cin, h, w)), array(rng, (cout, cin, kh, kw))
    return x, wt, attrs


@spec("conv2d")
def _conv2d(draw, rng):
    x, w, a = _conv_setup(draw, rng)
    b = array(rng, (w.shape[0],))
    return Case([x, w, b], lambda x, w, b: mg.conv2d(x, w, b, a["stride"], a["padding"], a["dilation"]),
                lambda x, w, b: kref.conv2d_forward_reference(x, w, b, **a), [0, 1, 2])


@spec("conv2d_grad_input", "conv2d_grad_weight")
def _conv2d_grads(draw, rng):
    x, w, a = _conv_setup(draw, rng)
    y = kref.conv2d_forward_reference(x, w, None, **a)
    g = array(rng, y.shape)
    if draw(st.booleans()):
        return Case([g, w, x], lambda g, w, x: conv_ops.conv2d_grad_input(g, w, x, **a),
                    lambda g, w, x: kref.conv2d_grad_input_reference(g, w, x.shape, **a), [0, 1])
    return Case([g, x, w], lambda g, x, w: conv_ops.conv2d_grad_weight(g, x, w, **a),
                lambda g, x, w: kref.conv2d_grad_weight_reference(g, x, w.shape, **a), [0, 1])


@spec("conv2d_grad_bias")
def _conv2d_grad_bias(draw, rng):
    shape = tuple(draw(st.integers(1, 4)) for _ in range(4))
    return Case([array(rng, shape)], conv_ops.conv2d_grad_bias, kref.conv2d_grad_bias_reference, [0])


def _pool_setup(draw, rng):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, k // 2))
    h, w = draw(st.integers(k, 7)), draw(st.integers(k, 7))
    return (n, c, h, w), dict(kernel=(k, k), stride=(stride, stride), padding=(pad, pad))


@spec("max_pool2d", "max_pool2d_grad")
def _max_pool(draw, rng):
    s, a = _pool_setup(draw, rng)
    x = array(rng, s, "distinct")
    return Case([x], lambda x: mg.max_pool2d(x, a["kernel"], a["stride"], a["padding"]),
                lambda x: kref.max_pool2d_forward_reference(x, **a), [0])


@spec("avg_pool2d", "avg_pool2d_grad")
def _avg_pool(draw, rng):
    s, a = _pool_setup(draw, rng)
    return Case([array(rng, s)], lambda x: mg.avg_pool2d(x, a["kernel"], a["stride"], a["padding"]),
                lambda x: kref.avg_pool2d_forward_reference(x, **a), [0])
