"""Classification and regression metrics, as plain NumPy functions.

Metrics are computed on predictions *outside* the graph: they are not
differentiable (argmax, counting) and never need gradients. Every classification
metric here is read off one table, the confusion matrix::

    cm[i, j] = number of samples of true class i predicted as class j

    accuracy         = trace(cm) / cm.sum()
    precision of c   = cm[c, c] / cm[:, c].sum()   (of those predicted c, how many are c)
    recall of c      = cm[c, c] / cm[c, :].sum()   (of those truly c, how many were found)
    F1 of c          = 2 * precision * recall / (precision + recall)

"Macro" averaging takes the plain mean over classes, so a rare class counts as
much as a frequent one. Classes that appear neither in the truth nor in the
predictions are left out; a class with nothing predicted has precision 0 (the
scikit-learn conventions).

``y_true`` and ``y_pred`` may be class ids (N,), one-hot rows / class scores
(N, C) (argmax is taken), or binary probabilities (N,) / (N, 1) floats
(thresholded at 0.5).

``MetricTracker`` accumulates these over the batches of an epoch for ``fit``.
"""

from __future__ import annotations

import numpy as np


def as_labels(y, threshold=0.5) -> np.ndarray:
    """Class ids from ids, one-hot rows, class scores or binary probabilities."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(len(y)) if y.ndim == 2 else y
    if y.ndim != 1:
        raise ValueError(f"expected labels (N,), scores (N, C) or probabilities (N, 1), got shape {y.shape}")
    if y.dtype.kind == "f":
        return (y > threshold).astype(np.int64)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    return y.astype(np.int64, copy=False)


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """(C, C) int64 counts; rows are true classes, columns predicted classes."""
    t, p = as_labels(y_true), as_labels(y_pred)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(p)}")
    if t.size and min(t.min(), p.min()) < 0:
        raise ValueError("class ids must be >= 0")
    if num_classes is None:
        num_classes = int(max(t.max(initial=0), p.max(initial=0))) + 1
    if t.size and max(t.max(), p.max()) >= num_classes:
        raise ValueError(f"a class id is >= num_classes={num_classes}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _per_class(cm):
    """(present, precision, recall) per class from a confusion matrix."""
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
    return (predicted + actual) > 0, precision, recall


def accuracy_from_confusion(cm) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


def precision_from_confusion(cm) -> float:
    present, precision, _ = _per_class(cm)
    return float(precision[present].mean()) if present.any() else 0.0


def recall_from_confusion(cm) -> float:
    present, _, recall = _per_class(cm)
    return float(recall[present].mean()) if present.any() else 0.0


def f1_from_confusion(cm) -> float:
    present, p, r = _per_class(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return float(f1[present].mean()) if present.any() else 0.0


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class is the true class."""
    t, p = as_labels(y_true), as_labels(y_pred)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(p)}")
    return float(np.mean(t == p)) if len(t) else 0.0


def precision(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged precision."""
    return precision_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def recall(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged recall."""
    return recall_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def f1_score(y_true, y_pred, num_classes=None) -> float:
    """Macro-averaged F1 (the mean of the per-class F1 scores)."""
    return f1_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def mean_squared_error(y_true, y_pred) -> float:
    d = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1) - np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    return float(np.mean(d * d))


def mean_absolute_error(y_true, y_pred) -> float:
    d = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1) - np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    return float(np.mean(np.abs(d)))


# -- accumulating over an epoch --------------------------------------------------

CLASSIFICATION = {"accuracy": accuracy_from_confusion, "precision": precision_from_confusion,
                  "recall": recall_from_confusion, "f1": f1_from_confusion}
REGRESSION = ("mse", "mae")
_ALIASES = {"acc": "accuracy", "f1_score": "f1", "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def check_names(names):
    """Normalize the ``metrics=[...]`` list given to ``compile``."""
    if isinstance(names, str):
        names = [names]
    out = []
    for name in names or ():
        key = _ALIASES.get(name, name) if isinstance(name, str) else name
        if key not in CLASSIFICATION and key not in REGRESSION:
            raise ValueError(f"unknown metric {name!r}; available: {sorted(CLASSIFICATION) + list(REGRESSION)}")
        out.append(key)
    return out


class MetricTracker:
    """Running loss and metrics over the batches of one epoch.

    ``to_labels(targets, outputs)`` turns a batch into (true ids, predicted ids); the
    confusion matrix adds up over the batches, so precision, recall and F1 are those
    of the whole epoch, not an average of per-batch values (which would be biased).
    """

    def __init__(self, names, num_classes, to_labels):
        self.names, self.num_classes, self.to_labels = list(names), num_classes, to_labels
        self.classify = any(n in CLASSIFICATION for n in self.names)
        self.reset()

    def reset(self):
        self.count = 0
        self.loss_sum = 0.0
        self.cm = np.zeros((self.num_classes, self.num_classes), np.int64) if self.classify else None
        self.sq_sum = self.abs_sum = 0.0
        self.values = 0

    def update(self, loss, targets, outputs):
        n = len(outputs)
        self.count += n
        self.loss_sum += float(loss) * n
        if self.classify:
            t, p = self.to_labels(targets, outputs)
            c = self.num_classes
            self.cm += np.bincount(t * c + p, minlength=c * c).reshape(c, c)
        if "mse" in self.names or "mae" in self.names:
            d = outputs.reshape(n, -1) - targets.reshape(n, -1)
            self.sq_sum += float(np.sum(d * d))
            self.abs_sum += float(np.sum(np.abs(d)))
            self.values += d.size

    def result(self) -> dict:
        logs = {"loss": self.loss_sum / max(self.count, 1)}
        for name in self.names:
            if name in CLASSIFICATION:
                logs[name] = CLASSIFICATION[name](self.cm)
            elif name == "mse":
                logs[name] = self.sq_sum / max(self.values, 1)
            else:
                logs[name] = self.abs_sum / max(self.values, 1)
        return logs
