"""Colours, shapes and fonts: the visual vocabulary every viz picture shares.

Why a module of its own: the DOT writer and the matplotlib fallback must draw a
placeholder, a parameter or a gradient node the *same* way, so a learner who has
seen one picture can read the next. Both read their styles from ``KINDS`` below,
and both draw the legend from the same entries.

Legend of node kinds (also drawn on every picture):

  placeholder  blue box, rounded      a value fed at run time (``mg.placeholder``)
  parameter    green box, bold edge   a trainable array (``mg.parameter``)
  constant     grey box, dashed edge  a fixed array baked into the graph
  op           white rounded box      an op's output (matmul, add, relu, ...)
  output       orange rounded box     a result: nothing else in the picture reads it
  gradient     purple rounded box     a node of the backward pass (made by ``mg.grad``)
  forward value  faint dotted box     (backward-only view) a forward value the
                                      backward pass reads
  layer        light-blue 3-D box     (collapse=True) a whole name scope as one box

Highlights drawn over those: a thick amber border (``highlight=``), red fill "first
NaN/Inf" (a ``NumericsError``), red dashed border "gradcheck failed", and heat
colours from white to red for run time.
"""

from __future__ import annotations

from dataclasses import dataclass

FONT = "Helvetica"          # for Graphviz; every Graphviz install maps it to a sans font
MPL_FONT = "DejaVu Sans Mono"  # ships with matplotlib; monospace makes text widths predictable
TITLE_PT = 14               # bold first line of a node label
DETAIL_PT = 11              # op / shape / value lines
EDGE_PT = 10                # edge labels (gradient magnitudes)


@dataclass(frozen=True)
class Look:
    """How one kind of node is drawn."""
    fill: str
    border: str
    text: str = "#111827"
    penwidth: float = 1.2
    dashed: bool = False
    dotted: bool = False
    rounded: bool = True
    legend: str = ""        # the legend's words for it


KINDS: dict[str, Look] = {
    "placeholder": Look("#dbeafe", "#1d4ed8", legend="placeholder (fed at run time)"),
    "parameter": Look("#dcfce7", "#15803d", penwidth=2.2, rounded=False, legend="parameter (trainable)"),
    "constant": Look("#f3f4f6", "#6b7280", dashed=True, rounded=False, legend="constant"),
    "op": Look("#ffffff", "#374151", legend="op"),
    "output": Look("#ffedd5", "#c2410c", penwidth=2.5, legend="output"),
    "gradient": Look("#f3e8ff", "#7e22ce", legend="gradient node (backward pass)"),
    "ghost": Look("#fafafa", "#9ca3af", text="#6b7280", dotted=True, legend="forward value read by backward"),
    "layer": Look("#e0f2fe", "#0369a1", penwidth=1.8, rounded=False, legend="layer (collapsed name scope)"),
}

# Highlights override parts of a node's look; their legend entries appear only when used.
HIGHLIGHTS: dict[str, Look] = {
    "highlight": Look("", "#f59e0b", penwidth=4.5, legend="highlighted"),
    "nan": Look("#fecaca", "#dc2626", penwidth=4.5, legend="first NaN/Inf"),
    "gradcheck": Look("#fee2e2", "#dc2626", penwidth=4.0, dashed=True, legend="gradcheck failed"),
    "current": Look("#fef08a", "#dc2626", penwidth=4.5, legend="current step"),
    "done": Look("#e5e7eb", "#4b5563", legend="finished"),
    "pending": Look("#ffffff", "#9ca3af", text="#6b7280", legend="pending"),
}

# Edge colours.
EDGE_DATA = "#4b5563"        # a forward value flowing into an op
EDGE_GRAD = "#9333ea"        # a gradient flowing between backward nodes
EDGE_READS = "#c4b5fd"       # a backward node reading a forward value
EDGE_TIE = "#9333ea"         # dashed: forward node -> the node holding its gradient
EDGE_NOGRAD = "#d1d5db"      # gradient flow view: no gradient along this edge
EDGE_DEAD = "#111827"        # gradient flow view: the gradient is exactly zero
EDGE_STEP = "#dc2626"        # step-through: what the current node sends back

EDGE_LEGEND = {
    "data": (EDGE_DATA, "solid", "value flows forward"),
    "grad": (EDGE_GRAD, "solid", "gradient flows"),
    "reads": (EDGE_READS, "solid", "backward reads a forward value"),
    "tie": (EDGE_TIE, "dashed", "node -> its gradient dL/dnode"),
    "nograd": (EDGE_NOGRAD, "dotted", "no gradient on this edge"),
    "dead": (EDGE_DEAD, "dashed", "gradient exactly 0 (dead)"),
    "step": (EDGE_STEP, "solid", "gradient sent back this step"),
}

GRAD_CMAP = "turbo"          # gradient magnitude: dark blue (vanishing) .. red (exploding)
TIME_CMAP = "YlOrRd"         # run time: pale yellow (fast) .. red (slow)


def cmap_hex(name: str, t: float) -> str:
    """The colour at ``t`` in [0, 1] of a matplotlib colormap, as ``#rrggbb``.

    Only ``matplotlib.colormaps`` is touched, never pyplot, so building a DOT picture
    does not start a plotting backend.
    """
    from matplotlib import colormaps
    r, g, b, _ = colormaps[name](min(1.0, max(0.0, float(t))))
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def text_on(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (for heat-coloured boxes)."""
    if not fill or not fill.startswith("#") or len(fill) != 7:
        return "#111827"
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
