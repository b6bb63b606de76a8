"""The VJP of a new op: swish and log(1 + x^2) as minigrad ops.

Reference solution. See ../vjp_of_a_new_op.py for the statement.
"""

import numpy as np

import minigrad as mg


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Swish(mg.Op):
    """swish(x) = x * sigmoid(x)."""
    name = "swish"
    rule = "dL/d{a} = dL/d{out} * (s + {a} * s * (1 - s)),  s = sigmoid({a})"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return (x * _sigmoid(x)).astype(x.dtype, copy=False)

    def vjp(self, node, g):
        x = node.inputs[0]
        s = mg.sigmoid(x)
        return (g * (s + x * s * (1 - s)),)


class LogOnePlusSquare(mg.Op):
    """log1p_square(x) = log(1 + x^2)."""
    name = "log1p_square"
    rule = "dL/d{a} = dL/d{out} * 2 {a} / (1 + {a}^2)"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return np.log1p(x * x)

    def vjp(self, node, g):
        x = node.inputs[0]
        return (g * 2 * x / (1 + x * x),)


swish = mg.register(Swish)
log1p_square = mg.register(LogOnePlusSquare)
