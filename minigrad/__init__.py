"""minigrad: a small static-graph autodiff engine to learn how deep-learning frameworks work.

    g = mg.Graph()
    with g:
        x = mg.placeholder("x", shape=(None, 3))
        W = mg.parameter("W", np.ones((3, 2), "float32"))
        loss = (x @ W).sum()
        dW = mg.grad(loss, W)
    print(g.run([loss, dW], feed={x: np.ones((4, 3))}))

Read in this order: graph.py, tensor.py, ops/registry.py, ops/elementwise.py,
autodiff.py, executor.py.
"""

from .errors import (DTypeError, FeedError, GradcheckError, GraphError, MinigradError,
                     NumericsError, OpError, ShapeError)
from .graph import Graph, Node, current_graph
from .tensor import Tensor
from .ops import (REGISTRY, Op, register, placeholder, parameter, constant,
                  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, sign, square,
                  maximum, minimum, where, cast, stop_gradient, zeros_like,
                  greater, greater_equal, less, less_equal, equal, not_equal,
                  sum, mean, max, min, var, reshape, transpose, swapaxes, broadcast_to,
                  sum_to, concatenate, stack, expand_dims, flatten, matmul, dot,
                  relu, sigmoid, tanh, leaky_relu, softmax, log_softmax,
                  one_hot, cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy,
                  hinge_loss, dropout, conv2d, max_pool2d, avg_pool2d)
from .autodiff import grad
from .steps import backprop_steps, BackpropStep
from . import testing


def name_scope(name: str):
    """Group the nodes created inside under ``name/`` (drawn as one box by viz)."""
    return current_graph(required_for=f"mg.name_scope({name!r})").name_scope(name)


_SUBMODULES = {"nn", "optim", "data", "metrics", "io", "callbacks", "kernels", "exercises"}


def __getattr__(name):
    """``mg.nn``, ``mg.optim``, ``mg.data``, ...: imported on first use, so that
    ``import minigrad`` stays fast for a script that only builds a small graph."""
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


__version__ = "0.1.0"
