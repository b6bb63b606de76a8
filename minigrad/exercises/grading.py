"""Helpers for grading files: failures with messages a student can act on.

A check function fails by raising. ``CheckFailed`` (or a plain ``AssertionError``)
carries the message; ``GradientMismatch`` also carries the worst element (analytic vs
numeric, which input) and, for graph exercises, the graph and its wrong nodes, which
the checker draws.
"""

from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """A check failed; ``str(err)`` is shown to the student as is."""


class GradientMismatch(CheckFailed):
    """Analytic and numeric gradients disagree.

    input_index, input_name   which input holds the worst element
    element                   its index
    analytic, numeric         the two values there
    graph, highlight          the graph that computed the analytic gradient and the nodes
                              to highlight (forward nodes whose own VJP is wrong, plus the
                              gradient nodes their backprop step built); None for NumPy code
    suspects                  [(forward node, local GradcheckResult)] behind ``highlight``
    """

    def __init__(self, message, *, input_index=0, input_name=None, element=(), analytic=np.nan,
                 numeric=np.nan, graph=None, highlight=(), suspects=()):
        super().__init__(message)
        self.input_index = input_index
        self.input_name = input_name
        self.element = element
        self.analytic = analytic
        self.numeric = numeric
        self.graph = graph
        self.highlight = list(highlight)
        self.suspects = list(suspects)


def fail(message: str):
    raise CheckFailed(message)


def _fmt_index(idx) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ("," if len(idx) == 1 else "") + ")"


def expect_shape(got, shape, what: str = "the result"):
    got_shape = np.shape(got)
    if tuple(got_shape) != tuple(shape):
        fail(f"{what} has shape {tuple(got_shape)}, expected {tuple(shape)}")


def expect_close(got, want, what: str = "the result", *, rtol=1e-5, atol=1e-7):
    """``got`` must be an array of ``want``'s shape with the same values (up to tolerance)."""
    if got is None:
        fail(f"{what} is None: did you forget a `return`?")
    try:
        got = np.asarray(got)
    except Exception:
        fail(f"{what} should be an array, got {type(got).__name__}")
    want = np.asarray(want)
    if got.dtype == object or got.dtype.kind not in "biuf":
        fail(f"{what} should be a numeric array, got dtype {got.dtype}")
    expect_shape(got, want.shape, what)
    got64, want64 = got.astype(np.float64), want.astype(np.float64)
    bad = ~np.isfinite(got64) & np.isfinite(want64)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), got.shape) if got.ndim else ()
        fail(f"{what} has {int(bad.sum())} NaN/Inf value(s) where finite values are expected, "
             f"first at index {_fmt_index(idx)}: got {got64[idx]}, expected {want64[idx]:.6g}")
    err = np.abs(got64 - want64)
    tol = atol + rtol * np.abs(want64)
    if (err <= tol).all():
        return
    score = err / tol
    idx = np.unravel_index(int(np.argmax(score)), got.shape) if got.ndim else ()
    wrong = int((err > tol).sum())
    fail(f"{what} is wrong at {wrong} of {got.size} element(s); worst at index {_fmt_index(idx)}: "
         f"got {got64[idx]:.6g}, expected {want64[idx]:.6g}")


def numeric_gradient(f, arrays, eps=1e-6):
    """Central differences of the scalar NumPy function ``f(*arrays)`` (in float64)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            plus = float(f(*arrays))
            a[idx] = old - eps
            minus = float(f(*arrays))
            a[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def expect_gradient(analytic, f, arrays, *, wrt=0, names=None, what="the gradient",
                    rtol=1e-4, atol=1e-6):
    """A NumPy gradient (of input ``wrt``) against central differences of ``f(*arrays)``."""
    numeric = numeric_gradient(f, arrays)[wrt]
    if analytic is None:
        fail(f"{what} is None: did you forget a `return`?")
    analytic = np.asarray(analytic, dtype=np.float64) if np.asarray(analytic).dtype != object else analytic
    expect_shape(analytic, numeric.shape, what)
    score = np.abs(analytic - numeric) / (atol + rtol * np.abs(numeric))
    score = np.where(np.isnan(score), np.inf, score)
    if (score <= 1).all():
        return
    idx = np.unravel_index(int(np.argmax(score)), numeric.shape) if numeric.ndim else ()
    name = names[wrt] if names else f"input {wrt}"
    raise GradientMismatch(f"{what} disagrees with central differences",
                           input_index=wrt, input_name=name, element=idx,
                           analytic=float(analytic[idx]), numeric=float(numeric[idx]))


# ------------------------------------------------------------------ graph gradients

def wrong_nodes(graph, target, feed, *, max_elements=2000):
    """Forward nodes feeding ``target`` whose own VJP disagrees with central differences.

    Runs the graph once with a trace, then gradchecks every differentiable op node on
    its own, at the input values it saw. Returns ``[(node, GradcheckResult)]``.
    """
    import minigrad as mg
    from minigrad.ops.registry import record

    _, trace = graph.run(target, feed, trace=True)
    values = trace.values
    suspects = []
    for node in graph.topo_order([target]):
        if node.is_gradient or not node.inputs or not getattr(node.op, "differentiable", True):
            continue
        if node.dtype.kind != "f" or any(i not in values for i in node.inputs):
            continue
        floats = [k for k, i in enumerate(node.inputs) if i.dtype.kind == "f"]
        if not floats or sum(np.size(values[node.inputs[k]]) for k in floats) > max_elements:
            continue
        args = [np.asarray(values[i]) for i in node.inputs]

        def local(*tensors, node=node, floats=floats, args=args):
            full = list(args)
            for k, t in zip(floats, tensors):
                full[k] = t
            return record(node.op, full, dict(node.attrs or {}))
        try:
            res = mg.testing.gradcheck(local, [args[k] for k in floats], raise_exception=False)
        except Exception:
            continue
        if not res.ok:
            suspects.append((node, res))
    return suspects


def expect_gradcheck(f, arrays, *, names=None, what="the gradient", eps=1e-6, atol=1e-5,
                     rtol=1e-4, seed=0):
    """``mg.grad`` of ``f`` (tensors -> tensor) against central differences at ``arrays``.

    On a mismatch, rebuilds the same graph, finds the nodes whose VJP is wrong and raises
    ``GradientMismatch`` with the graph and those nodes for the picture.
    """
    import minigrad as mg

    res = mg.testing.gradcheck(f, arrays, eps=eps, atol=atol, rtol=rtol, seed=seed,
                               raise_exception=False)
    if res.ok:
        return res
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    graph = mg.Graph("gradcheck")
    suspects, highlight = [], []
    try:
        with graph:
            xs = [mg.placeholder(names[i] if names else f"x{i}", a.shape, "float64")
                  for i, a in enumerate(arrays)]
            out = f(*xs)
            if out.dtype != np.float64:
                out = mg.cast(out, "float64")
            feed = dict(zip(xs, arrays))
            if out.shape != ():
                shape = graph.run(out, feed).shape
                weights = np.random.default_rng(seed).normal(size=shape)
                out = mg.sum(out * mg.constant(weights))
            mg.grad(out, xs)
        suspects = wrong_nodes(graph, out, feed)
        bad = {n for n, _ in suspects}
        highlight = [n for n in graph.nodes if n in bad or n.origin in bad]
    except Exception:
        graph = graph if graph.nodes else None
    name = names[res.input_index] if names else f"x{res.input_index}"
    raise GradientMismatch(f"{what} (mg.grad) disagrees with central differences",
                           input_index=res.input_index, input_name=name, element=res.element,
                           analytic=res.analytic, numeric=res.numeric, graph=graph,
                           highlight=highlight, suspects=suspects)
