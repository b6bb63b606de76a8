"""Tiny 2-D toy problems for seeing what a network learns.

Each generator returns ``(x, y)`` with ``x`` float32 of shape ``(n, 2)`` and ``y``
int64 class ids of shape ``(n,)`` (``make_regression`` returns float32 targets of
shape ``(n, 1)``). Points are shuffled so that taking the first 80% is a fair
split; the same ``seed`` always gives the same points.

Why two dimensions: you can plot the data and the learned decision boundary, and
see *why* a linear model fails on moons or circles and a hidden layer succeeds.
"""

import numpy as np

from ._checks import check_int, check_number, check_seed


def _class_sizes(n, classes):
    """Split ``n`` points over ``classes`` as evenly as possible (first ones get the extra)."""
    sizes = np.full(classes, n // classes, dtype=np.int64)
    sizes[: n % classes] += 1
    return sizes


def _finish(x, y, noise, rng):
    """Add Gaussian noise to the coordinates, shuffle, and fix the dtypes."""
    if noise > 0:
        x = x + rng.normal(scale=noise, size=x.shape)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def make_moons(n=100, noise=0.0, seed=None):
    """Two interleaving half-circles (class 0 on top, class 1 underneath).

    Class 0 lies on the upper unit half-circle ``(cos t, sin t)``, ``t`` in [0, pi];
    class 1 on the lower half-circle ``(1 - cos t, 0.5 - sin t)``, i.e. a unit circle
    centred at (1, 0.5). ``noise`` is the standard deviation of Gaussian noise
    added to both coordinates.
    """
    n = check_int(n, "n", minimum=2)
    noise = check_number(noise, "noise", minimum=0.0)
    rng = np.random.default_rng(check_seed(seed))
    n_top, n_bottom = _class_sizes(n, 2)
    t_top = np.linspace(0.0, np.pi, n_top)
    t_bottom = np.linspace(0.0, np.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    x = np.concatenate([top, bottom])
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    return _finish(x, y, noise, rng)


def make_circles(n=100, noise=0.0, factor=0.5, seed=None):
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0).

    No straight line separates them; a model needs a feature like ``x1**2 + x2**2``
    -- which a hidden layer can learn.
    """
    n = check_int(n, "n", minimum=2)
    noise = check_number(noise, "noise", minimum=0.0)
    factor = check_number(factor, "factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor}")
    rng = np.random.default_rng(check_seed(seed))
    n_outer, n_inner = _class_sizes(n, 2)
    # endpoint=False: angle 2*pi is the same point as angle 0, do not draw it twice.
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)
    x = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    return _finish(x, y, noise, rng)


def make_spirals(n=100, classes=2, noise=0.0, seed=None):
    """``classes`` spiral arms winding out from the origin, one arm per class.

    Arm ``k`` has points at radius ``r`` in [0, 1] and angle
    ``2*pi*k/classes + 1.5 * 2*pi * r`` (one and a half turns), so the arms are
    rotated copies of each other. A classic "needs depth" problem.
    """
    n = check_int(n, "n", minimum=2)
    classes = check_int(classes, "classes", minimum=2)
    if n < classes:
        raise ValueError(f"n={n} points cannot fill classes={classes} spiral arms")
    noise = check_number(noise, "noise", minimum=0.0)
    rng = np.random.default_rng(check_seed(seed))
    xs, ys = [], []
    for k, size in enumerate(_class_sizes(n, classes)):
        r = np.linspace(0.0, 1.0, size)
        angle = 2 * np.pi * k / classes + 1.5 * 2 * np.pi * r
        xs.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
        ys.append(np.full(size, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), noise, rng)


def make_regression(n=100, n_features=1, noise=0.0, seed=None, return_coef=False):
    """A linear regression problem ``y = x @ w + b + noise``.

    ``x`` is uniform in [-1, 1] with shape ``(n, n_features)``; the true weights ``w``
    (shape ``(n_features, 1)``) are drawn from a standard normal and the bias ``b``
    uniformly from [-1, 1], all from ``seed``. Returns ``(x, y)`` with ``y`` float32 of
    shape ``(n, 1)``; with ``return_coef=True`` returns ``(x, y, w, b)`` so you can
    compare what a model learned with the truth.
    """
    n = check_int(n, "n", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    noise = check_number(noise, "noise", minimum=0.0)
    rng = np.random.default_rng(check_seed(seed))
    w = rng.normal(size=(n_features, 1))
    b = rng.uniform(-1.0, 1.0)
    x = rng.uniform(-1.0, 1.0, size=(n, n_features))
    y = x @ w + b
    if noise > 0:
        y = y + rng.normal(scale=noise, size=y.shape)
    x, y = x.astype(np.float32), y.astype(np.float32)
    if return_coef:
        return x, y, w.astype(np.float32), np.float32(b)
    return x, y
