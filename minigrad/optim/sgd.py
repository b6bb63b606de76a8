"""Stochastic gradient descent, with optional momentum and Nesterov momentum.

Plain:      param -= lr * g
Momentum:   buf = momentum * buf + g;  param -= lr * buf
            (the buffer is a running sum of past gradients: steps speed up along
            directions that keep the same sign and cancel out where they oscillate)
Nesterov:   buf = momentum * buf + g;  param -= lr * (g + momentum * buf)
            (looks one step ahead along the momentum before correcting)

These are PyTorch's formulas; Keras writes the same method with lr folded into
the buffer, which gives identical steps while lr stays constant.
"""

from __future__ import annotations

from .optimizer import Optimizer


class SGD(Optimizer):
    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, **kwargs):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slots = ("momentum",) if momentum else ()
        super().__init__(lr, **kwargs)

    def update(self, value, grad, state):
        if self.momentum:
            buf = state["momentum"]
            buf *= self.momentum
            buf += grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        value -= self.lr * grad
