"""Check the data given to ``fit`` / ``evaluate`` / ``predict`` *before* any training.

A wrong shape or a NaN found at step 0 costs nothing; found at step 3,000 (or never,
as a silently NaN loss) it costs an afternoon. Each check names the argument, what
was expected and what was found.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg


def check_inputs(x, input_shape, what="x"):
    """Return ``x`` as float32 after checking its per-sample shape and finiteness."""
    try:
        x = np.asarray(x)
    except ValueError as err:
        raise TypeError(f"{what} must be an array of numbers: {err}") from None
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 0:
        raise mg.ShapeError(f"{what} must have a sample axis, got a scalar")
    if len(x) == 0:
        raise ValueError(f"{what} holds no samples (shape {x.shape})")
    expected = tuple(input_shape)
    if x.shape[1:] != expected:
        hint = ""
        if x.ndim == 2 and len(expected) == 3 and x.shape[1] == int(np.prod(expected)):
            hint = f"; reshape the flat rows with x.reshape(-1, {', '.join(map(str, expected))})"
        elif len(expected) == 1 and x.ndim > 2 and int(np.prod(x.shape[1:])) == expected[0]:
            hint = "; flatten it with x.reshape(len(x), -1)"
        raise mg.ShapeError(f"{what} has shape {x.shape}, so each sample is {x.shape[1:]}, but the model "
                            f"expects samples of shape {expected} (input (None, {', '.join(map(str, expected))})){hint}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        n_nan = int(np.isnan(x).sum())
        raise ValueError(f"{what} contains {n_nan} NaN and {int(np.isinf(x).sum()) } Inf values in "
                         f"{len(rows)} sample(s) (first at index {rows[0]}); drop or impute them before training")
    return x


def check_pair(x, y, what_x="x", what_y="y"):
    if y is None:
        raise ValueError(f"{what_y} is missing: training and evaluation need targets for {what_x}")
    n_x = len(x) if np.ndim(x) else 0
    n_y = len(y) if np.ndim(y) else 0
    if n_x != n_y:
        raise ValueError(f"{what_x} and {what_y} must have the same number of samples, got {n_x} and {n_y} "
                         f"(shapes {np.shape(x)} and {np.shape(y)})")


def sample_weights(labels, class_weight, num_classes):
    """Per-sample weights from a ``class_weight`` dict {class id: weight} (or an array)."""
    if isinstance(class_weight, dict):
        table = np.ones(num_classes, np.float32)
        for cls, w in class_weight.items():
            if not 0 <= int(cls) < num_classes:
                raise ValueError(f"class_weight has class {cls}, but the model has {num_classes} classes")
            table[int(cls)] = w
    else:
        table = np.asarray(class_weight, np.float32)
        if table.shape != (num_classes,):
            raise ValueError(f"class_weight must be a dict or an array of {num_classes} weights, got shape {table.shape}")
    if (table < 0).any():
        raise ValueError("class_weight values must be >= 0")
    return table[labels]
