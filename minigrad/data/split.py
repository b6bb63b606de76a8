"""Splitting data: train/test, k-fold cross-validation and balanced class weights.

Everything here works on *indices*: we decide which sample numbers go where and only
then index the arrays. That keeps x and y aligned by construction and makes the
randomness (one ``np.random.Generator`` built from ``seed``) easy to reproduce.
"""

import numpy as np

from ._checks import as_array, check_fraction, check_int, check_labels, check_same_length, check_seed


def _stratified_test_counts(counts, test_fraction):
    """How many samples of each class go to the test set.

    Rounding every class separately can make the total drift away from
    ``round(n * test_fraction)`` (ten classes each rounding up adds up). Instead we
    take the floor of each ideal share and hand the few leftover slots to the
    classes with the largest fractional remainders ("largest remainder" method),
    so the test set has exactly the requested size *and* each class's share is
    within one sample of its ideal.
    """
    n_total = int(counts.sum())
    n_test = int(round(n_total * test_fraction))
    ideal = counts * test_fraction
    taken = np.floor(ideal).astype(np.int64)
    leftover = n_test - int(taken.sum())
    # Stable sort so ties go to the lower class id: the result is deterministic.
    order = np.argsort(-(ideal - taken), kind="stable")
    for cls in order:
        if leftover <= 0:
            break
        if taken[cls] < counts[cls]:
            taken[cls] += 1
            leftover -= 1
    return taken


def split_indices(n, test_fraction=0.2, seed=None, labels=None):
    """Return ``(train_idx, test_idx)``, two shuffled int64 index arrays.

    With ``labels`` given the split is stratified: each class keeps (almost
    exactly) the same proportion in both parts. Used by :func:`train_test_split`
    and :func:`minigrad.data.load_digits`.
    """
    n = check_int(n, "n", minimum=2)
    test_fraction = check_fraction(test_fraction, "test_fraction")
    rng = np.random.default_rng(check_seed(seed))
    if labels is None:
        n_test = int(round(n * test_fraction))
        if not 0 < n_test < n:
            raise ValueError(
                f"test_fraction={test_fraction} of n={n} samples gives {n_test} test samples; "
                f"both parts must be non-empty"
            )
        perm = rng.permutation(n).astype(np.int64)
        return perm[n_test:], perm[:n_test]

    labels = check_labels(labels, "y")
    if len(labels) != n:
        raise ValueError(f"labels must have n={n} entries, got shape {labels.shape}")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    test_counts = _stratified_test_counts(counts, test_fraction)
    if test_counts.sum() == 0 or test_counts.sum() == n:
        raise ValueError(
            f"test_fraction={test_fraction} leaves one side of the split empty for n={n} samples"
        )
    train_parts, test_parts = [], []
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == c))
        test_parts.append(members[: test_counts[c]])
        train_parts.append(members[test_counts[c]:])
    # Shuffle again so the classes are interleaved, not sorted in blocks.
    train_idx = rng.permutation(np.concatenate(train_parts)).astype(np.int64)
    test_idx = rng.permutation(np.concatenate(test_parts)).astype(np.int64)
    return train_idx, test_idx


def train_test_split(x, y, test_fraction=0.2, seed=None, stratify=False):
    """Split paired arrays into ``(x_train, y_train), (x_test, y_test)``.

    ``stratify=True`` (``y`` must then be integer class ids) keeps every class's
    share the same in both parts -- important for small or imbalanced data sets,
    where a plain random split can leave a rare class out of the test set.
    The same ``seed`` always gives the same split.
    """
    x = as_array(x, "x")
    y = as_array(y, "y")
    check_same_length(x, y)
    train_idx, test_idx = split_indices(
        len(x), test_fraction, seed, labels=y if stratify else None
    )
    return (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])


def kfold_indices(n, k=5, seed=None, shuffle=True):
    """Yield ``(train_idx, val_idx)`` for each of ``k`` cross-validation folds.

    The validation folds are disjoint and together cover ``range(n)`` exactly
    once; their sizes differ by at most one (the first ``n % k`` folds get the
    extra sample). Without ``shuffle`` the folds are contiguous blocks, which is
    what you want for time-ordered data.
    """
    n = check_int(n, "n", minimum=2)
    k = check_int(k, "k", minimum=2)
    if k > n:
        raise ValueError(f"k={k} folds need at least k samples, got n={n}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    order = np.arange(n, dtype=np.int64)
    if shuffle:
        order = np.random.default_rng(check_seed(seed)).permutation(order)
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    start = 0
    for size in sizes:
        val_idx = order[start:start + size]
        train_idx = np.concatenate([order[:start], order[start + size:]])
        yield train_idx, val_idx
        start += size


def class_weights(y, num_classes=None):
    """Balanced per-class weights ``n / (num_classes * count[c])``, indexed by class id.

    This is scikit-learn's ``class_weight="balanced"`` formula: a class seen half as
    often as average gets weight 2, so a weighted loss ``w[y] * loss`` counts every
    class equally in total. Returns float32 of shape ``(num_classes,)``; a class
    with no samples would need an infinite weight, so that is an error.
    """
    y = check_labels(y, "y")
    if y.size == 0:
        raise ValueError("y must contain at least one label, got an empty array")
    if num_classes is None:
        num_classes = int(y.max()) + 1
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if y.max() >= num_classes:
        raise ValueError(f"y contains class {y.max()} but num_classes={num_classes}")
    counts = np.bincount(y, minlength=num_classes)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise ValueError(
            f"classes {missing.tolist()} have no samples in y, so their balanced weight "
            f"would be infinite; pass num_classes to match the labels actually present"
        )
    return (len(y) / (num_classes * counts)).astype(np.float32)
