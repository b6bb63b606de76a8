"""Classifier pictures: the confusion matrix and the decision boundary of 2-D data."""

from __future__ import annotations

import numpy as np

from ._figure import finish, new_axes


def plot_confusion_matrix(y_true, y_pred, labels=None, normalize=False, path=None, ax=None,
                          title="confusion matrix"):
    """Rows are the true class, columns the predicted one; the diagonal is what is right.

    ``y_pred`` may be class indices or scores (N, K), which are arg-maxed.
    ``normalize=True`` shows each row as fractions (recall per class). Returns the Axes.
    """
    t = np.asarray(y_true).astype(int).ravel()
    p = np.asarray(y_pred)
    p = (p.argmax(axis=1) if p.ndim == 2 else p).astype(int).ravel()
    k = max(int(t.max(initial=0)), int(p.max(initial=0))) + 1
    if labels is not None:
        k = max(k, len(labels))
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (t, p), 1)
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    fig, ax = new_axes(ax, 1.0 + 0.55 * k + 1.5, 1.0 + 0.55 * k + 1.0)
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    names = [str(x) for x in (labels if labels is not None else range(k))]
    ax.set_xticks(range(k), names, fontsize=10)
    ax.set_yticks(range(k), names, fontsize=10)
    ax.set_xlabel("predicted", fontsize=11)
    ax.set_ylabel("true", fontsize=11)
    limit = shown.max() or 1
    if k <= 20:
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else str(m[i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=9,
                        color="white" if shown[i, j] > limit / 2 else "#111827")
    ax.set_title(f"{title} (accuracy {np.trace(m) / max(m.sum(), 1):.1%})", fontsize=12)
    return finish(fig, ax, path)


def plot_decision_boundary(predict, X, y, path=None, ax=None, resolution=200, title="decision boundary"):
    """Colour the plane by ``predict``'s answer and scatter the data on top.

    ``predict(points)`` takes an (M, 2) array and returns class indices (M,),
    class scores (M, K) (arg-maxed), or probabilities of class 1 (M,) floats in
    [0, 1] (then the 0.5 line is drawn). Returns the Axes.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points (N, 2), got shape {X.shape}")
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0) + 1e-9)
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    out = np.asarray(predict(grid))
    fig, ax = new_axes(ax, 6.0, 5.0)
    if out.ndim == 2:
        z = out.argmax(axis=1).reshape(xs.shape)
        ax.contourf(xs, ys, z, levels=np.arange(z.max() + 2) - 0.5, cmap="tab10", alpha=0.3)
    elif out.dtype.kind == "f" and out.min() >= 0 and out.max() <= 1 and not np.all(out == out.round()):
        z = out.reshape(xs.shape)
        cs = ax.contourf(xs, ys, z, levels=20, cmap="RdBu_r", alpha=0.45)
        ax.contour(xs, ys, z, levels=[0.5], colors="#111827", linewidths=2)
        fig.colorbar(cs, ax=ax, shrink=0.8, label="P(class 1)")
    else:
        z = out.astype(int).reshape(xs.shape)
        ax.contourf(xs, ys, z, levels=np.arange(z.max() + 2) - 0.5, cmap="tab10", alpha=0.3)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10" if out.ndim == 2 or y.max() > 1 else "RdBu_r",
               edgecolors="white", linewidths=0.6, s=28, vmin=0, vmax=9 if out.ndim == 2 or y.max() > 1 else 1)
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("x0", fontsize=11)
    ax.set_ylabel("x1", fontsize=11)
    return finish(fig, ax, path)
