"""A Dense layer on the graph: parameters, an affine map and an activation, with mg ops.

Reference solution. See ../dense_layer.py for the statement.
"""

import numpy as np

import minigrad as mg

ACTIVATIONS = {None: lambda t: t, "relu": mg.relu, "sigmoid": mg.sigmoid, "tanh": mg.tanh}


def glorot_uniform(fan_in, fan_out, seed=0):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    rng = np.random.default_rng(seed)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def dense(x, units, activation=None, name="dense", seed=0):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {list(ACTIVATIONS)}")
    with mg.name_scope(name):
        W = mg.parameter("W", glorot_uniform(x.shape[-1], units, seed))
        b = mg.parameter("b", np.zeros(units, np.float32))
        return ACTIVATIONS[activation](x @ W + b)
