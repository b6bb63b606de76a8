"""Adagrad: divide each step by the root of the *sum* of all past squared gradients.

    s = s + g**2
    param -= lr * g / (sqrt(s) + eps)

Rarely-updated weights (rare features) keep large steps; frequently-updated ones
slow down. Since s only grows, the steps shrink forever: RMSprop and Adam replace
the sum with a decaying average to fix exactly that.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class Adagrad(Optimizer):
    slots = ("sum",)

    def __init__(self, lr=0.01, initial_accumulator_value=0.0, eps=1e-10, **kwargs):
        self.initial_accumulator_value, self.eps = float(initial_accumulator_value), float(eps)
        super().__init__(lr, **kwargs)

    def setup(self, params):
        super().setup(params)
        for st in self.state.values():
            st["sum"][...] = self.initial_accumulator_value
        return self

    def update(self, value, grad, state):
        s = state["sum"]
        s += grad * grad
        denom = np.sqrt(s)
        denom += self.eps
        value -= self.lr * grad / denom
