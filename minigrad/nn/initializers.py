"""Weight initializers: how a layer's parameters start before training.

Why it matters: if the weights start too large, activations grow layer after layer
and saturate (sigmoid/tanh) or explode (relu); too small, and they shrink towards 0
and so do the gradients. The schemes below pick the spread from the layer's *fan-in*
(inputs per unit) and *fan-out* (outputs per unit) so the variance of the signal
stays roughly constant from layer to layer:

  glorot (Xavier)  Var(W) = 2 / (fan_in + fan_out)   suited to tanh / sigmoid / softmax
  he (Kaiming)     Var(W) = 2 / fan_in                suited to relu (which zeroes half)

A uniform distribution on [-limit, limit] has variance limit**2 / 3, hence the
sqrt(6 / ...) limits. Every initializer takes an explicit ``np.random.Generator``,
so a model built with the same seed always starts from the same weights.
(Keras draws its "normal" variants from a truncated normal; we use a plain normal.)
"""

from __future__ import annotations

import numpy as np

from .registry import by_name


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight array.

    Dense kernels are (inputs, units). Conv kernels are (C_out, C_in, KH, KW): each
    output pixel sees C_in*KH*KW inputs, each input pixel feeds C_out*KH*KW outputs.
    """
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive = shape[2] * shape[3]
        return shape[1] * receptive, shape[0] * receptive
    size = int(np.prod(shape)) if shape else 1
    return size, size


def zeros(shape, rng=None, dtype="float32"):
    return np.zeros(shape, dtype)


def ones(shape, rng=None, dtype="float32"):
    return np.ones(shape, dtype)


def glorot_uniform(shape, rng, dtype="float32"):
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, rng, dtype="float32"):
    fan_in, fan_out = fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape, rng, dtype="float32"):
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, rng, dtype="float32"):
    fan_in, _ = fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def orthogonal(shape, rng, dtype="float32"):
    """A random orthogonal matrix (from a QR decomposition).

    Used for the recurrent weights of an RNN: multiplying the hidden state by an
    orthogonal matrix again and again neither grows nor shrinks it, which helps the
    gradient survive many time steps.
    """
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return q[:rows, :cols].reshape(shape).astype(dtype)


_BY_NAME = {f.__name__: f for f in (zeros, ones, glorot_uniform, glorot_normal,
                                     he_uniform, he_normal, orthogonal)}
_BY_NAME.update(xavier_uniform=glorot_uniform, xavier_normal=glorot_normal,
                kaiming_uniform=he_uniform, kaiming_normal=he_normal)


def get(init):
    """An initializer from its name ("he_uniform", ...) or a callable ``f(shape, rng)``."""
    if callable(init):
        return init
    return by_name(_BY_NAME, init, "initializer", "a function f(shape, rng) -> array")
