"""Plots: each writes a decodable image, works on Agg, and returns a Figure or Axes."""

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

import minigrad as mg
import viz
from golden.viz_graphs import deep_sigmoid


def _ok(path, min_w=300):
    with Image.open(path) as im:
        im.load()
        assert im.width >= min_w and im.height >= 200


def test_history_dict_and_object(tmp_path):
    hist = {"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.8, 0.7, 0.75],
            "accuracy": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.5, 0.65, 0.7, 0.68]}
    fig = viz.plot_history(hist, tmp_path / "h.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    _ok(tmp_path / "h.png")

    class Fit:
        history = {"loss": [3.0, 2.0]}
    assert len(viz.plot_history(Fit()).axes) == 1
    with pytest.raises(TypeError):
        viz.plot_history([1, 2, 3])


def test_gradient_flow_and_histograms(tmp_path):
    g, loss, feed, params, grads = deep_sigmoid(depth=5)
    values = g.run(grads, feed)
    ax = viz.plot_gradient_flow(dict(zip(params, values)), tmp_path / "flow.png")
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    _ok(tmp_path / "flow.png")
    ax = viz.plot_gradient_flow([("W", np.zeros((2, 2))), ("b", np.ones(2))])
    assert any(t.get_text() == "0" for t in ax.texts)
    fig = viz.plot_histograms({p: p.value for p in params[::2]}, tmp_path / "hist.png", title="weights")
    assert isinstance(fig, Figure)
    _ok(tmp_path / "hist.png")


def test_images(tmp_path):
    rng = np.random.default_rng(0)
    viz.plot_filters(rng.normal(size=(8, 3, 5, 5)), tmp_path / "rgb.png")
    viz.plot_filters(rng.normal(size=(6, 1, 3, 3)), tmp_path / "gray.png")
    viz.plot_feature_maps(rng.normal(size=(1, 5, 8, 8)), tmp_path / "maps.png")
    for name in ("rgb", "gray", "maps"):
        _ok(tmp_path / f"{name}.png", 150)
    with pytest.raises(ValueError):
        viz.plot_filters(np.zeros((3, 3)))


def test_saliency_builds_gradient(tmp_path):
    g = mg.Graph()
    with g:
        x = mg.placeholder("img", (1, 1, 6, 6))
        w = mg.constant(np.arange(36, dtype="float32").reshape(1, 1, 6, 6) / 36)
        score = (x * w).sum()
    image = np.ones((1, 1, 6, 6), "float32")
    sal = viz.saliency_map(score, x, {x: image})
    assert sal.shape == (6, 6) and np.allclose(sal, np.arange(36).reshape(6, 6) / 36)
    fig = viz.plot_saliency(image, sal, tmp_path / "sal.png")
    assert isinstance(fig, Figure)
    _ok(tmp_path / "sal.png")


def test_confusion_and_decision_boundary(tmp_path):
    t = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0, 2])
    ax = viz.plot_confusion_matrix(t, p, labels=["a", "b", "c"], path=tmp_path / "cm.png")
    assert "accuracy 71.4%" in ax.get_title()
    _ok(tmp_path / "cm.png", 200)
    scores = np.eye(3)[p]
    assert viz.plot_confusion_matrix(t, scores, normalize=True).images
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    viz.plot_decision_boundary(lambda pts: (pts[:, 0] + pts[:, 1] > 0).astype(int), X, y,
                               path=tmp_path / "db.png", resolution=60)
    viz.plot_decision_boundary(lambda pts: 1 / (1 + np.exp(-(pts[:, 0] + pts[:, 1]))), X, y,
                               path=tmp_path / "db_p.png", resolution=60)
    _ok(tmp_path / "db.png")
    _ok(tmp_path / "db_p.png")


def test_loss_path(tmp_path):
    def loss(a, b):
        return (a - 1) ** 2 + 10 * (b + 0.5) ** 2 + 0.1

    pts = [(-2.0, 1.0)]
    for _ in range(25):
        a, b = pts[-1]
        pts.append((a - 0.1 * 2 * (a - 1), b - 0.08 * 20 * (b + 0.5)))
    ax = viz.plot_loss_path(loss, {"sgd": np.array(pts)}, tmp_path / "path.png")
    assert isinstance(ax, Axes)
    _ok(tmp_path / "path.png")
    viz.plot_loss_path(lambda a, b: float(a * a + b * b) + 1.0, np.array(pts), resolution=20)


def test_save_helper(tmp_path):
    fig = viz.plot_history({"loss": [1, 0.5]})
    assert viz.save(fig, tmp_path / "x" / "h.svg").endswith("h.svg")
    assert (tmp_path / "x" / "h.svg").read_text().count("<svg") == 1
