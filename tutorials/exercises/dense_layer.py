"""A Dense layer on the graph: parameters, an affine map and an activation, with mg ops.

Exercise 5. Check your work with

    python -m minigrad.exercises check dense_layer

What to implement
-----------------
1. ``glorot_uniform(fan_in, fan_out, seed)``: a float32 array of shape (fan_in, fan_out)
   drawn uniformly from [-limit, limit] with ``np.random.default_rng(seed)``.
2. ``dense(x, units, activation=None, name="dense", seed=0)``: record a fully connected
   layer in the graph of ``x`` (a tensor of shape (batch, features)) and return its
   output tensor of shape (batch, units). Inside ``with mg.name_scope(name):`` create

       W = mg.parameter("W", glorot_uniform(features, units, seed))   -> "NAME/W"
       b = mg.parameter("b", zeros of shape (units,), float32)         -> "NAME/b"

   and return  act(x @ W + b)  where ``activation`` is None (identity), "relu",
   "sigmoid" or "tanh"; anything else raises ``ValueError`` naming the choices.

The math
--------
    y = act(x W + b),   x: (B, F),  W: (F, U),  b: (U,) broadcast over the batch
Glorot (Xavier) uniform keeps the variance of activations about the same from layer
to layer:  limit = sqrt(6 / (fan_in + fan_out)), so Var(W) = limit^2 / 3 = 2 / (fan_in + fan_out).
You write no gradient: ``mg.grad`` differentiates the ops you recorded (matmul, add,
relu ...), and the bias gradient is summed over the batch by the broadcasting rule.

Hints
-----
* ``x.shape[-1]`` is the number of input features (the batch dimension may be None).
* Use the *tensors* W and b in the expression, not ``W.value`` (that would bake in a
  constant, and no gradient would reach the parameter).
* ``mg.relu``, ``mg.sigmoid``, ``mg.tanh``; ``x @ W`` is ``mg.matmul(x, W)``.
* The checker builds graphs with your layer, compares the output with NumPy and the
  gradients with their formulas, and draws the graph if a gradient is wrong.
"""

import numpy as np

import minigrad as mg


def glorot_uniform(fan_in, fan_out, seed=0):
    """float32 (fan_in, fan_out) from U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""
    raise NotImplementedError("TODO: glorot_uniform: np.random.default_rng(seed).uniform(-limit, limit, ...)")


def dense(x, units, activation=None, name="dense", seed=0):
    """Record act(x @ W + b) with parameters NAME/W and NAME/b; return the output tensor."""
    raise NotImplementedError("TODO: dense: in mg.name_scope(name) create W and b, return act(x @ W + b)")
