"""Gradient checking: compare autodiff against central differences in float64.

    numeric dL/dx[i] = (L(x + h e_i) - L(x - h e_i)) / (2h)

is exact up to O(h^2) for smooth functions, slow (two runs per element), and
independent of every VJP rule: the referee for the analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import GradcheckError


@dataclass
class GradcheckResult:
    ok: bool
    input_index: int        # which input holds the worst element
    element: tuple          # its index
    analytic: float
    numeric: float
    error: float            # |analytic - numeric| / max(atol/rtol, |numeric|) scaled check value
    analytic_grads: list
    numeric_grads: list

    def __str__(self):
        status = "OK" if self.ok else "MISMATCH"
        return (f"gradcheck {status}: worst element {self.element} of input {self.input_index}: "
                f"analytic {self.analytic:.6g} vs numeric {self.numeric:.6g}")


def numeric_gradient(f_of_arrays, arrays, eps=1e-6):
    """Central differences of the scalar function ``f_of_arrays`` at ``arrays``."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            plus = f_of_arrays(arrays)
            a[idx] = old - eps
            minus = f_of_arrays(arrays)
            a[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(f, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Check the gradients of ``f`` (tensors -> tensor) at the arrays ``inputs``.

    ``f`` is called once on float64 placeholders. A non-scalar output is reduced
    to ``sum(out * r)`` with a fixed random ``r``, which tests every output element.
    Returns a ``GradcheckResult``; raises ``GradcheckError`` naming the worst element
    (analytic vs numeric, which input) when they disagree and ``raise_exception``.
    """
    from . import ops
    from .autodiff import grad
    from .graph import Graph

    arrays = [np.array(a, dtype=np.float64) for a in inputs]
    g = Graph("gradcheck")
    with g:
        xs = [ops.placeholder(f"x{i}", a.shape, "float64") for i, a in enumerate(arrays)]
        out = f(*xs)
        if out.dtype != np.float64:
            out = ops.cast(out, "float64")
        if out.shape != ():
            shape = tuple(d for d in g.run(out, dict(zip(xs, arrays))).shape)
            weights = np.random.default_rng(seed).normal(size=shape)
            out = ops.sum(ops.mul(out, ops.constant(weights)))
        grads = grad(out, xs)

    def loss(arrs):
        return float(g.run(out, dict(zip(xs, arrs))))

    analytic = [np.asarray(v, dtype=np.float64) for v in g.run(grads, dict(zip(xs, arrays)))]
    numeric = numeric_gradient(loss, arrays, eps)

    worst = (0.0, 0, (), 0.0, 0.0)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if a.size == 0:
            continue
        score = np.abs(a - n) / (atol + rtol * np.abs(n))
        idx = np.unravel_index(int(np.argmax(score)), a.shape)
        if score[idx] >= worst[0]:
            worst = (float(score[idx]), k, tuple(int(i) for i in idx), float(a[idx]), float(n[idx]))
    score, k, idx, a_val, n_val = worst
    result = GradcheckResult(score <= 1.0, k, idx, a_val, n_val, score, analytic, numeric)
    if not result.ok and raise_exception:
        raise GradcheckError(f"{result}\n  (input {k} has shape {arrays[k].shape}; "
                             f"|analytic - numeric| = {abs(a_val - n_val):.3g}, tolerance "
                             f"{atol + rtol * abs(n_val):.3g})")
    return result
