"""One step of Adam, in NumPy: moving averages of the gradient and its square.

Exercise 4. Check your work with

    python -m minigrad.exercises check adam_step

What to implement
-----------------
``adam_step(param, grad, m, v, t, lr, beta1, beta2, eps)`` performs step number ``t``
(t = 1 for the first step) of Adam for one parameter array and returns the *new*
``(param, m, v)``. ``m`` and ``v`` start as zeros of the parameter's shape.
Do not modify the arrays you are given: return new ones.

The math (Kingma & Ba, 2015)
----------------------------
    m     = beta1 * m + (1 - beta1) * grad            first moment (a running mean)
    v     = beta2 * v + (1 - beta2) * grad**2         second moment (running mean of squares)
    m_hat = m / (1 - beta1**t)                        bias correction: m, v start at 0,
    v_hat = v / (1 - beta2**t)                        so early averages are too small
    param = param - lr * m_hat / (sqrt(v_hat) + eps)

Each coordinate moves by about ``lr`` in the direction of -sign(grad) at first, whatever
the gradient's scale: Adam adapts the step size per coordinate.

Hints
-----
* ``t`` is the step number *after* incrementing: the first call has t = 1 (with t = 0
  the bias correction divides by zero).
* ``eps`` is added to sqrt(v_hat), outside the square root.
* ``param - ...`` makes a new array; ``param -= ...`` would modify the caller's array.
"""

import numpy as np


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Return (new_param, new_m, new_v) after Adam step number t (t starts at 1)."""
    raise NotImplementedError("TODO: adam_step: update m and v, bias-correct them, step the parameter")
