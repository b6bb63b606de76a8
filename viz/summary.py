"""Short text for arrays, so a node label can show a value without drowning the picture.

A scalar is shown as the number; a tiny array as its entries; anything larger as
min / mean / max, which is what a learner needs to spot exploding, vanishing or
dead (all-zero) values at a glance.
"""

from __future__ import annotations

import numpy as np


def number(x: float) -> str:
    """A float in at most ~9 characters: 0.25, -3.1e-05, 1.2e+08, nan."""
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.2e}"


def summarize(value, max_entries: int = 4) -> str:
    """One line describing ``value``: "0.25", "[1, 2, 3]" or "min -1 mean 0.1 max 2"."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        return f"{a.dtype} {a.shape}"
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return number(a.reshape(()).item())
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    if a.size <= max_entries:
        return "[" + ", ".join(number(v) for v in a.ravel()) + "]"
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    bad = a.size - finite.size
    if finite.size == 0:
        return f"all {a.size} NaN/Inf"
    text = f"min {number(finite.min())} mean {number(finite.mean())} max {number(finite.max())}"
    return text + (f" ({bad} NaN/Inf)" if bad else "")


def magnitude(value) -> float:
    """Mean |g|: how strong a gradient is, independent of how many elements it has."""
    a = np.asarray(value, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.mean(np.abs(a)))


def zero_fraction(value) -> float:
    """Share of exact zeros (a ReLU output that is mostly zeros is a dying layer)."""
    a = np.asarray(value)
    return float(np.mean(a == 0)) if a.size else 0.0
