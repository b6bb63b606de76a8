"""Small argument checks shared by every file of ``minigrad.data``.

Why a separate file: a learner who passes the wrong thing should get an error that
names *their* argument, says what arrived and what was expected -- not a NumPy
broadcasting error ten lines deep. Writing those checks once keeps every message in
the same style and keeps the real functions short enough to read.
"""

import numbers

import numpy as np


def as_array(value, name):
    """Return ``value`` as a NumPy array, refusing things that are not numbers.

    ``np.asarray`` happily makes an ``object`` array out of ragged lists or strings;
    everything downstream would then fail in a confusing way, so we stop here.
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists on new NumPy
        raise TypeError(f"{name} must be array-like of numbers; np.asarray failed: {exc}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    return arr


def check_ndim(arr, name, ndim, meaning):
    """Raise ``ValueError`` unless ``arr.ndim == ndim``; ``meaning`` spells out the layout."""
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {meaning}, got shape {arr.shape}")


def check_nchw(arr, name):
    """Image batches in minigrad are NCHW: (batch, channels, height, width)."""
    check_ndim(arr, name, 4, "(N, C, H, W) images")


def check_int(value, name, minimum=None):
    """Return ``value`` as a Python int; ``True``/``2.0`` are rejected on purpose."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_number(value, name, minimum=None):
    """Return ``value`` as a float (ints allowed), optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_fraction(value, name):
    """A fraction strictly between 0 and 1 (a split that leaves one side empty is a bug)."""
    value = check_number(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    return value


def check_seed(seed, name="seed"):
    """``None`` (fresh randomness) or a non-negative int (repeatable randomness)."""
    if seed is None:
        return None
    return check_int(seed, name, minimum=0)


def check_rng(rng, name="rng"):
    """Augmentations take an explicit ``np.random.Generator`` so results are repeatable."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def check_labels(labels, name="labels"):
    """Integer class labels, 1-D, non-negative. Returns an int64 array."""
    arr = as_array(labels, name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must be integer class ids, got dtype {arr.dtype} "
            f"(cast with .astype(np.int64) if the values are whole numbers)"
        )
    check_ndim(arr, name, 1, "(N,) class ids")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be >= 0, found {arr.min()}")
    return arr.astype(np.int64, copy=False)


def check_same_length(x, y, x_name="x", y_name="y"):
    """Samples and labels are paired by their first axis, so the lengths must agree."""
    if x.ndim == 0:
        raise ValueError(f"{x_name} must have a sample axis, got a scalar")
    if y.ndim == 0:
        raise ValueError(f"{y_name} must have a sample axis, got a scalar")
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples (first axis), "
            f"got {x_name}.shape={x.shape} and {y_name}.shape={y.shape}"
        )
