"""Label encoding and feature scaling.

Why scale inputs: gradient descent takes one step size for all weights. If one
feature is in the thousands and another in [0, 1], no single learning rate suits
both. Centring and scaling features makes the loss surface rounder and training
faster and more stable.

Rule of thumb shown by the return values: compute the statistics on the
*training* set only (``standardize`` returns them) and reuse them on the test set
with ``normalize`` -- otherwise information about the test set leaks into training.
"""

import numpy as np

from ._checks import as_array, check_int


def _float(x):
    """Keep float32/float64 as they are; anything else (ints, bools) becomes float32."""
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def one_hot(labels, num_classes=None, dtype=np.float32):
    """Turn class ids into one-hot rows: ``2 -> [0, 0, 1, 0]``.

    ``labels`` may have any shape; the result has shape ``labels.shape + (num_classes,)``.
    ``num_classes`` defaults to ``max(labels) + 1``; pass it explicitly when a batch
    might not contain the highest class.
    """
    labels = as_array(labels, "labels")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"labels must be integer class ids, got dtype {labels.dtype} "
            f"(cast with .astype(np.int64) if the values are whole numbers)"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0, found {labels.min()}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("num_classes is required when labels is empty")
        num_classes = int(labels.max()) + 1
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"labels contain class {labels.max()} but num_classes={num_classes}")
    # Row i of the identity matrix is the one-hot vector of class i.
    return np.eye(num_classes, dtype=dtype)[labels]


def _per_channel(stat, x, name):
    """Make ``stat`` broadcast against ``x``.

    A 1-D statistic with one value per channel of an NCHW batch must be shaped
    (1, C, 1, 1); plain broadcasting would line it up with the *width* axis
    instead -- a silent, classic bug. Everything else must broadcast as is.
    """
    stat = as_array(stat, name).astype(x.dtype, copy=False)
    if x.ndim >= 3 and stat.ndim == 1 and stat.shape[0] == x.shape[1]:
        return stat.reshape((1, -1) + (1,) * (x.ndim - 2))
    try:
        np.broadcast_shapes(stat.shape, x.shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {stat.shape} does not broadcast against x of shape {x.shape}; "
            f"use a scalar, one value per channel (length {x.shape[1] if x.ndim > 1 else '?'}), "
            f"or an array shaped like the output of standardize"
        ) from None
    return stat


def normalize(x, mean, std):
    """Return ``(x - mean) / std``.

    ``mean`` and ``std`` are scalars, per-channel sequences for NCHW images
    (e.g. ``mean=(0.49, 0.48, 0.45)`` for RGB), or arrays such as those returned by
    :func:`standardize`.
    """
    x = _float(as_array(x, "x"))
    mean = _per_channel(mean, x, "mean")
    std = _per_channel(std, x, "std")
    if np.any(std <= 0):
        raise ValueError(f"std must be > 0 everywhere, got min {std.min()}")
    return (x - mean) / std


def standardize(x, axis=0):
    """Scale to zero mean and unit standard deviation along ``axis``.

    Returns ``(x_std, mean, std)`` with ``mean``/``std`` kept broadcastable
    (``keepdims``) so ``normalize(x_test, mean, std)`` applies the same scaling.
    ``axis=0`` standardizes each feature of an ``(N, F)`` table; use
    ``axis=(0, 2, 3)`` for per-channel statistics of NCHW images, ``None`` for one
    global mean. A constant feature has std 0; its std is reported as 1 so it
    becomes all zeros instead of NaN.
    """
    x, (mean, std) = _statistics(x, axis, np.mean, np.std)
    std = np.where(std > 0, std, np.ones_like(std))
    return (x - mean) / std, mean, std


def _statistics(x, axis, *reductions):
    """``x`` as a float array and each reduction of it along ``axis`` (keepdims); a
    ValueError for an empty ``x`` or a bad axis instead of NumPy's."""
    x = _float(as_array(x, "x"))
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    try:
        return x, [f(x, axis=axis, keepdims=True) for f in reductions]
    except (np.exceptions.AxisError, TypeError) as exc:
        raise ValueError(f"axis={axis!r} is not valid for x of shape {x.shape}: {exc}") from None


def min_max_scale(x, feature_range=(0.0, 1.0), axis=0):
    """Linearly map each feature's ``[min, max]`` onto ``feature_range``.

    Returns ``(x_scaled, x_min, x_max)`` (``keepdims`` along ``axis``) so the same
    mapping can be applied to other data. A constant feature maps to the lower end
    of the range instead of dividing by zero.
    """
    if not isinstance(feature_range, (tuple, list)) or len(feature_range) != 2:
        raise TypeError(f"feature_range must be a (low, high) pair, got {feature_range!r}")
    low, high = float(feature_range[0]), float(feature_range[1])
    if not low < high:
        raise ValueError(f"feature_range must have low < high, got {feature_range}")
    x, (x_min, x_max) = _statistics(x, axis, np.min, np.max)
    span = np.where(x_max > x_min, x_max - x_min, np.ones_like(x_max))
    scaled = (x - x_min) / span * (high - low) + low
    return scaled.astype(x.dtype, copy=False), x_min, x_max
