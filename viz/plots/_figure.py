"""Making and saving figures without pyplot (so nothing depends on a display)."""

from __future__ import annotations

import os

from matplotlib.figure import Figure

DPI = 110


def new_figure(width=6.4, height=4.2) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def new_axes(ax=None, width=6.4, height=4.2):
    """``(figure, axes)``: the given axes and its figure, or a fresh single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(width, height)
    return fig, fig.add_subplot()


def save(fig_or_ax, path, dpi=DPI) -> str:
    """Write a Figure (or the figure of an Axes) to ``path``; the format comes from the extension."""
    fig = getattr(fig_or_ax, "figure", None) if not isinstance(fig_or_ax, Figure) else fig_or_ax
    if fig is None:
        raise TypeError(f"save needs a matplotlib Figure or Axes, got {type(fig_or_ax).__name__}")
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    return os.fspath(path)


def finish(fig, result, path):
    """Save when ``path`` is given, then return ``result`` (a Figure or Axes)."""
    if path is not None:
        save(fig, path)
    return result


def name_of(key) -> str:
    """A dict key as a label: a tensor's name, or the key itself as text."""
    return getattr(key, "name", None) or str(key)
