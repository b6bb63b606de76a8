"""The VJP of a new op: swish and log(1 + x^2) as minigrad ops.

Exercise 1. Check your work with

    python -m minigrad.exercises check vjp_of_a_new_op

What to implement
-----------------
A minigrad op is one class with three methods (read minigrad/ops/registry.py and the
"Write your own op" section of the README):

    infer(self, x)      -> (shape, dtype) of the output      (given below)
    forward(self, x)    -> the output array, computed with NumPy
    vjp(self, node, g)  -> a tuple with one gradient per input, built from *minigrad ops*

Fill in ``forward`` and ``vjp`` of two ops:

1. ``Swish``:  swish(x) = x * sigmoid(x)        (also called SiLU)
2. ``LogOnePlusSquare``:  f(x) = log(1 + x^2)

The math
--------
The VJP (vector-Jacobian product) of an elementwise op y = f(x) is

    dL/dx = dL/dy * f'(x)            (elementwise)

where ``g`` is dL/dy, a tensor of y's shape, and ``node.inputs[0]`` is x. With
s = sigmoid(x) and sigmoid'(x) = s (1 - s):

    swish'(x)        = s + x * s * (1 - s)
    (log(1+x^2))'    = 2x / (1 + x^2)

Hints
-----
* ``vjp`` must return a *tuple*: ``return (g * something,)`` - note the comma.
* Build the gradient from minigrad ops on tensors (``mg.sigmoid(x)``, ``*``, ``+``,
  ``/``, numbers), not NumPy on arrays: ``vjp`` runs when the graph is *built*, before
  any value exists. That also makes your gradient differentiable again (the checker
  takes the second derivative too).
* In ``forward``, keep the input's dtype and avoid overflow: ``np.exp(-x)`` overflows
  for x = -1000. ``np.log1p`` is accurate for small x^2.
* The checker compares your VJP to central differences (``mg.testing.gradcheck``); if
  they disagree it prints both values and draws the graph with your op's nodes marked.
"""

import numpy as np

import minigrad as mg


class Swish(mg.Op):
    """swish(x) = x * sigmoid(x)."""
    name = "swish"
    rule = "dL/d{a} = dL/d{out} * (s + {a} * s * (1 - s)),  s = sigmoid({a})"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        # x is a NumPy array; return x * sigmoid(x) with the same shape and dtype.
        raise NotImplementedError("TODO: Swish.forward: return x * sigmoid(x) computed with NumPy")

    def vjp(self, node, g):
        x = node.inputs[0]
        # return (dL/dx,) built from minigrad ops on x and g
        raise NotImplementedError("TODO: Swish.vjp: return (g * (s + x*s*(1-s)),) with s = mg.sigmoid(x)")


class LogOnePlusSquare(mg.Op):
    """log1p_square(x) = log(1 + x^2)."""
    name = "log1p_square"
    rule = "dL/d{a} = dL/d{out} * 2 {a} / (1 + {a}^2)"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        raise NotImplementedError("TODO: LogOnePlusSquare.forward: return log(1 + x**2) with NumPy")

    def vjp(self, node, g):
        raise NotImplementedError("TODO: LogOnePlusSquare.vjp: return (g * 2x / (1 + x^2),) with minigrad ops")


# Registering turns each class into a function that records the op in a graph:
#     y = swish(x)      # x a minigrad tensor
swish = mg.register(Swish)
log1p_square = mg.register(LogOnePlusSquare)
