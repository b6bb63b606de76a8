"""``plot_history``: loss and metrics per epoch, training next to validation.

The gap between the two curves is the picture of overfitting: training keeps
improving while validation stalls or gets worse.
"""

from __future__ import annotations

import numpy as np

from ._figure import finish, new_figure


def plot_history(history, path=None, metrics=None, title="training history"):
    """One panel per metric (loss first): training solid, validation ("val_" prefix) dashed.

    ``history`` is a dict {name: list of per-epoch values} or an object with a
    ``.history`` dict (as ``Model.fit`` returns). ``metrics`` picks and orders the
    panels (default: every name without the "val_" prefix). Returns the Figure.
    """
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not data:
        raise TypeError("plot_history needs a dict {metric: [values per epoch]} or an object with .history")
    names = metrics or [k for k in data if not k.startswith("val_")] or \
        [k[4:] for k in data if k.startswith("val_")]
    names = sorted(names, key=lambda k: (k != "loss", list(data).index(k) if k in data else 0))
    fig = new_figure(min(5.0 * len(names), 15.0), 4.0)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, label, style in ((name, "train", "-"), ("val_" + name, "validation", "--")):
            values = data.get(key)
            if values is None or len(values) == 0:
                continue
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, marker="o", markersize=3, label=label, linewidth=2)
        ax.set_title(name, fontsize=12)
        ax.set_xlabel("epoch", fontsize=11)
        ax.grid(alpha=0.3)
        positive = [v for k in (name, "val_" + name) for v in data.get(k, []) if v is not None]
        if "loss" in name and positive and min(positive) > 0 and max(positive) / min(positive) > 50:
            ax.set_yscale("log")
        ax.legend(fontsize=10)
    fig.suptitle(title, fontsize=13)
    return finish(fig, fig, path)
