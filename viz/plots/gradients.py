"""Gradient-flow bars and histograms: is every layer still learning?

In a deep sigmoid network the gradient shrinks layer by layer on its way back to
the input (vanishing gradients): the bars of the first layers are orders of
magnitude shorter than the last. A log axis makes that visible.
"""

from __future__ import annotations

import numpy as np

from ._figure import finish, name_of, new_axes, new_figure

VANISHING = 1e-6


def plot_gradient_flow(grads, path=None, ax=None, title="gradient flow (per parameter)"):
    """Mean and max |gradient| per parameter as bars on a log scale, in the order given.

    ``grads`` is a dict {parameter (or name): gradient array} or a list of
    (name, array). The shaded band marks |grad| below 1e-6, where learning stalls;
    a parameter whose gradient is exactly zero gets a red "0" (dead). Returns the Axes.
    """
    items = list(grads.items()) if isinstance(grads, dict) else list(grads)
    if not items:
        raise ValueError("plot_gradient_flow needs at least one (parameter, gradient)")
    names = [name_of(k) for k, _ in items]
    arrays = [np.abs(np.asarray(g, dtype=np.float64)) for _, g in items]
    means = np.array([a.mean() if a.size else 0.0 for a in arrays])
    maxes = np.array([a.max() if a.size else 0.0 for a in arrays])
    fig, ax = new_axes(ax, max(6.0, 0.55 * len(items) + 2.5), 4.6)
    x = np.arange(len(items))
    floor = min([v for v in np.concatenate([means, maxes]) if v > 0] or [1e-12]) / 10
    ax.bar(x - 0.2, np.where(maxes > 0, maxes, floor), width=0.4, color="#93c5fd", label="max |grad|", zorder=2)
    ax.bar(x + 0.2, np.where(means > 0, means, floor), width=0.4, color="#1d4ed8", label="mean |grad|", zorder=2)
    for i, m in enumerate(maxes):
        if m == 0:
            ax.text(i, floor, "0", color="#dc2626", ha="center", va="bottom", fontsize=11, weight="bold")
    ax.set_yscale("log")
    low = min(floor, VANISHING / 10)
    ax.axhspan(low, VANISHING, color="#fecaca", alpha=0.6, zorder=0, label=f"vanishing (< {VANISHING:g})")
    ax.set_ylim(bottom=low)
    ax.set_xticks(x, names, rotation=45 if len(items) > 4 else 0, ha="right" if len(items) > 4 else "center",
                  fontsize=10)
    ax.set_ylabel("|gradient| (log scale)", fontsize=11)
    ax.set_title(title, fontsize=12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9)
    return finish(fig, ax, path)


def plot_histograms(arrays, path=None, bins=40, title=None, columns=4):
    """A histogram per array: weights, activations or gradients of each layer.

    ``arrays`` is a dict {name or tensor: array}. Each panel notes mean, std and the
    share of exact zeros (many zeros after a ReLU: dead units). Returns the Figure.
    """
    items = list(arrays.items())
    if not items:
        raise ValueError("plot_histograms needs at least one array")
    cols = min(columns, len(items))
    rows = -(-len(items) // cols)
    fig = new_figure(3.4 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (key, value) in zip(axes, items):
        a = np.asarray(value, dtype=np.float64).ravel()
        a = a[np.isfinite(a)]
        ax.hist(a, bins=bins, color="#3b82f6", edgecolor="white", linewidth=0.3)
        ax.set_title(name_of(key), fontsize=11)
        if a.size:
            ax.text(0.98, 0.95, f"mean {a.mean():.3g}\nstd {a.std():.3g}\nzeros {np.mean(a == 0):.0%}",
                    transform=ax.transAxes, ha="right", va="top", fontsize=9,
                    bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
        ax.tick_params(labelsize=9)
    for ax in axes[len(items):]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=13)
    return finish(fig, fig, path)
