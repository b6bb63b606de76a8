"""Adam: momentum plus a per-weight step size.

    m = beta1 * m + (1 - beta1) * g          running mean of gradients (momentum)
    v = beta2 * v + (1 - beta2) * g**2       running mean of squared gradients
    m_hat = m / (1 - beta1**t)               bias correction: m and v start at 0,
    v_hat = v / (1 - beta2**t)               so early averages are too small
    param -= lr * m_hat / (sqrt(v_hat) + eps)

Dividing by sqrt(v_hat) gives every weight a step of about ``lr``, whatever the
scale of its gradient. ``weight_decay`` here is the classic L2 form (added to g);
``AdamW`` instead shrinks the weights directly, decoupled from m and v.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    slots = ("m", "v")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, **kwargs):
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        super().__init__(lr, **kwargs)

    def step(self, grads):
        # The bias corrections depend only on the step number: compute them once.
        t = self.iterations + 1
        self._c1 = 1.0 - self.beta1 ** t
        self._c2 = 1.0 - self.beta2 ** t
        super().step(grads)

    def update(self, value, grad, state):
        m, v = state["m"], state["v"]
        m += (1.0 - self.beta1) * (grad - m)          # = beta1*m + (1-beta1)*g, in place
        v += (1.0 - self.beta2) * (grad * grad - v)
        denom = np.sqrt(v / self._c2)
        denom += self.eps
        value -= (self.lr / self._c1) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param -= lr * weight_decay * param`` on its own."""

    def __init__(self, lr=0.001, weight_decay=0.01, **kwargs):
        super().__init__(lr, **kwargs)
        self.decoupled_decay = float(weight_decay)  # the base class adds nothing to g

    def update(self, value, grad, state):
        value *= 1.0 - self.lr * self.decoupled_decay
        super().update(value, grad, state)
