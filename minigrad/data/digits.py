"""The real 8x8 handwritten digits that ship with scikit-learn (1797 images).

Why this data set: it is real handwriting, it is already on disk once
scikit-learn is installed (so tutorials and tests work offline), and it is small
enough that a pure-NumPy network trains on it in seconds. Pixels are integers
0..16 in the original; we divide by 16 so they land in [0, 1].
"""

import functools

import numpy as np

from ._checks import check_seed
from .split import split_indices


@functools.lru_cache(maxsize=1)
def _raw_digits():
    """Read the bundled file once per process (callers get copies, see below)."""
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits  # lazy: sklearn is slow to import
    except ImportError as exc:  # pragma: no cover - sklearn is a declared dependency
        raise ImportError(
            "load_digits reads the digits bundled with scikit-learn; install it with "
            "`pip install scikit-learn`"
        ) from exc
    images, labels = sklearn_load_digits(return_X_y=True)
    images = (images.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
    labels = labels.astype(np.int64)
    # The cached arrays are shared: make them read-only so no caller can edit them in place.
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_digits(test_fraction=0.2, seed=0, flatten=False):
    """Return ``(x_train, y_train), (x_test, y_test)`` of the 8x8 digits.

    Images are float32 in [0, 1] with shape ``(N, 1, 8, 8)`` (NCHW, one grey
    channel), or ``(N, 64)`` with ``flatten=True`` for dense networks. Labels are
    int64 in 0..9. The split is stratified (each digit keeps its share in both
    parts) and depends only on ``seed``, so the same seed always gives the same
    split -- results in tutorials are reproducible.
    """
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be True or False, got {flatten!r}")
    seed = check_seed(seed)
    images, labels = _raw_digits()
    train_idx, test_idx = split_indices(len(labels), test_fraction, seed, labels=labels)
    if flatten:
        images = images.reshape(len(images), -1)
    # Fancy indexing copies, so the returned arrays are writable and private.
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])
