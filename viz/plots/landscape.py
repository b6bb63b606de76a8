"""``plot_loss_path``: an optimizer's steps drawn on the loss surface of two parameters.

Contours are the loss landscape; the path shows how the optimizer moved: plain SGD
zig-zags across a narrow valley, momentum overshoots and comes back, Adam takes
steps of similar size in every direction.
"""

from __future__ import annotations

import numpy as np

from ._figure import finish, new_axes


def plot_loss_path(loss_fn, paths, path=None, ax=None, xlim=None, ylim=None, resolution=120,
                   levels=30, title="loss along the optimizer's path"):
    """Contours of ``loss_fn(w0, w1)`` and one or more optimizer paths on top.

    ``loss_fn`` takes two arrays (a meshgrid) or two floats; ``paths`` is an array
    (T, 2) of visited points or a dict {label: array} to compare optimizers.
    Returns the Axes.
    """
    runs = paths if isinstance(paths, dict) else {"path": paths}
    runs = {k: np.asarray(v, dtype=np.float64).reshape(-1, 2) for k, v in runs.items()}
    every = np.concatenate(list(runs.values()))
    span = every.max(axis=0) - every.min(axis=0) + 1e-9
    xlim = xlim or (every[:, 0].min() - 0.3 * span[0], every[:, 0].max() + 0.3 * span[0])
    ylim = ylim or (every[:, 1].min() - 0.3 * span[1], every[:, 1].max() + 0.3 * span[1])
    xs, ys = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    try:
        z = np.asarray(loss_fn(xs, ys), dtype=np.float64)
        if z.shape != xs.shape:
            raise ValueError
    except Exception:  # not vectorised: evaluate point by point
        z = np.array([[float(loss_fn(a, b)) for a, b in zip(rx, ry)] for rx, ry in zip(xs, ys)])
    fig, ax = new_axes(ax, 6.4, 5.2)
    if np.all(z > 0) and z.max() / z.min() > 100:
        lv = np.geomspace(z.min(), z.max(), levels)
    else:
        lv = levels
    cs = ax.contourf(xs, ys, z, levels=lv, cmap="viridis", alpha=0.85)
    ax.contour(xs, ys, z, levels=lv, colors="white", linewidths=0.4, alpha=0.6)
    fig.colorbar(cs, ax=ax, shrink=0.85, label="loss")
    colors = ["#f97316", "#ef4444", "#e5e7eb", "#22d3ee", "#a3e635"]
    for (label, pts), color in zip(runs.items(), colors * 4):
        ax.plot(pts[:, 0], pts[:, 1], "-o", color=color, markersize=3, linewidth=1.8, label=label)
        ax.plot(*pts[0], "s", color=color, markersize=8, markeredgecolor="black")
        ax.plot(*pts[-1], "*", color=color, markersize=14, markeredgecolor="black")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("w0", fontsize=11)
    ax.set_ylabel("w1", fontsize=11)
    ax.set_title(title + " (square: start, star: end)", fontsize=11)
    ax.legend(fontsize=9, loc="upper right")
    return finish(fig, ax, path)
