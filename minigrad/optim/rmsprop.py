"""RMSprop: divide each step by a running root-mean-square of recent gradients.

    v = rho * v + (1 - rho) * g**2
    param -= lr * g / (sqrt(v) + eps)

Weights with consistently large gradients take smaller steps, weights with small
gradients larger ones. Unlike Adagrad, v *forgets* old gradients (rho < 1), so the
step size does not shrink to zero over a long training run.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    slots = ("v",)

    def __init__(self, lr=0.001, rho=0.9, eps=1e-7, **kwargs):
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho}")
        self.rho, self.eps = float(rho), float(eps)
        super().__init__(lr, **kwargs)

    def update(self, value, grad, state):
        v = state["v"]
        v += (1.0 - self.rho) * (grad * grad - v)
        denom = np.sqrt(v)
        denom += self.eps
        value -= self.lr * grad / denom
