"""Metrics against scikit-learn, and the epoch tracker against the plain functions."""

import numpy as np
import pytest
from sklearn import metrics as skm

from minigrad import metrics


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    return y_true, y_pred


def test_confusion_matrix_matches_sklearn(labels):
    y_true, y_pred = labels
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    assert metrics.confusion_matrix(y_true, y_pred, num_classes=6).shape == (6, 6)


def test_macro_scores_match_sklearn(labels):
    y_true, y_pred = labels
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert metrics.precision(y_true, y_pred) == pytest.approx(skm.precision_score(y_true, y_pred, average="macro"))
    assert metrics.recall(y_true, y_pred) == pytest.approx(skm.recall_score(y_true, y_pred, average="macro"))
    assert metrics.f1_score(y_true, y_pred) == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))


def test_class_never_predicted_counts_as_zero_precision():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 1])   # class 2 never predicted
    with np.errstate(all="ignore"):
        want = skm.precision_score(y_true, y_pred, average="macro", zero_division=0)
    assert metrics.precision(y_true, y_pred) == pytest.approx(want)
    assert metrics.f1_score(y_true, y_pred) == pytest.approx(skm.f1_score(y_true, y_pred, average="macro",
                                                                           zero_division=0))


def test_accepts_scores_one_hot_and_probabilities():
    y = np.array([0, 2, 1])
    scores = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    one_hot = np.eye(3)[y]
    assert metrics.accuracy(one_hot, scores) == 1.0
    assert metrics.accuracy(np.array([1, 0, 1]), np.array([[0.8], [0.3], [0.4]])) == pytest.approx(2 / 3)


def test_regression_metrics():
    t, p = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.0])
    assert metrics.mean_squared_error(t, p) == pytest.approx(skm.mean_squared_error(t, p))
    assert metrics.mean_absolute_error(t, p) == pytest.approx(skm.mean_absolute_error(t, p))


def test_tracker_accumulates_over_batches(labels):
    y_true, y_pred = labels
    scores = np.eye(4)[y_pred]
    tracker = metrics.MetricTracker(["accuracy", "precision", "recall", "f1"], 4,
                                    lambda t, o: (t, o.argmax(axis=1)))
    for i in range(0, 200, 32):
        tracker.update(1.0, y_true[i:i + 32], scores[i:i + 32])
    logs = tracker.result()
    assert logs["loss"] == pytest.approx(1.0)
    assert logs["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert logs["precision"] == pytest.approx(metrics.precision(y_true, y_pred))


def test_bad_metric_names_and_lengths():
    assert metrics.check_names(["acc", "f1_score"]) == ["accuracy", "f1"]
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.check_names(["auc"])
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        metrics.accuracy([0, 1, 1], [0, 1])
