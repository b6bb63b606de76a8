"""Drawing a Scene with matplotlib: the renderer that works everywhere.

Used when no Graphviz binary is installed (or when forced). Positions come from
``layout.py``; this file paints them: cluster boxes first, then arrows (smooth
curves along their dummy-node lanes, one PathCollection for speed), then boxes
and their text, then the header (title, caption, legend, colour bars) above it all.

Units are points (1/72 inch) throughout, with y growing downward like the
picture is read; the figure is sized so 1 point of layout is 1 point on paper, so
fonts come out at their stated size in the PNG.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PatchCollection, PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.path import Path

from . import style
from .layout import RANKSEP, layered_layout

TITLE_PT = 11.0
DETAIL_PT = 9.5
CHAR_W = 0.602             # DejaVu Sans Mono advance width, in em
PAD_X, PAD_Y = 9.0, 6.0
LINE = 1.3                 # line height, in em
MARGIN = 24.0
MAX_PIXELS = 30_000        # per side: Agg refuses images much larger than 2**16
MAX_AREA = 40e6            # pixels in all: past this a PNG takes longer to encode than to draw
DPI = 100
MAX_EDGE_LABELS = 300
EDGE_LABEL_PT = 8.0


def box_size(title, lines) -> tuple:
    chars = max([len(title) * TITLE_PT] + [len(line) * DETAIL_PT for line in lines])
    w = chars * CHAR_W + 2 * PAD_X
    h = TITLE_PT * LINE + len(lines) * DETAIL_PT * LINE + 2 * PAD_Y
    return w, h


def draw_scene(scene) -> Figure:
    keys = list(scene.nodes)
    sizes = {k: box_size(sn.title, sn.lines) for k, sn in scene.nodes.items()}
    clusters = {k: sn.cluster for k, sn in scene.nodes.items() if sn.cluster in scene.clusters}
    edges = [(e.src, e.dst, e.constraint) for e in scene.edges]
    labels = [len(e.label) for e in scene.edges if e.label] if len(scene.edges) <= MAX_EDGE_LABELS else []
    horizontal = scene.rankdir in ("LR", "RL")
    # room between layers for the edge labels, so they do not hide their own arrows
    ranksep = max(RANKSEP, (max(labels) * EDGE_LABEL_PT * CHAR_W + 36) if labels and horizontal else
                  (3 * EDGE_LABEL_PT if labels else 0))
    lay = layered_layout(keys, sizes, edges, scene.rankdir, dict(clusters), ranksep)

    shapes = _cluster_boxes(scene, lay, clusters)
    header = _header_lines(scene)
    top = MARGIN + _header_height(header, scene)
    bx0, by0, bx1, by1 = _bounds(shapes) or (0.0, 0.0, 0.0, 0.0)
    x0, y0 = min(0.0, bx0), min(0.0, by0)
    content_w = max(lay.width, bx1) - x0
    content_h = max(lay.height, by1) - y0
    width = max(content_w, _header_width(header, scene)) + 2 * MARGIN
    height = top + content_h + MARGIN
    dx, dy = MARGIN - x0, top - y0

    dpi = min(DPI, MAX_PIXELS * 72 / max(width, height), 72 * (MAX_AREA / (width * height)) ** 0.5)
    fig = Figure(figsize=(width / 72, height / 72), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()

    def at(p):
        return p[0] + dx, p[1] + dy

    _draw_clusters(ax, scene, shapes, dx, dy)
    _draw_edges(ax, scene, lay, at)
    _draw_nodes(ax, scene, lay, at)
    _draw_header(ax, scene, header)
    ax.set_xlim(0, width)          # last: imshow (colour bars) resets the limits
    ax.set_ylim(height, 0)
    return fig


# -- clusters ------------------------------------------------------------------------

def _cluster_boxes(scene, lay, clusters) -> dict:
    """The outline of each cluster as a polygon, and its bounding box.

    Within a layer the layout keeps a cluster's members next to each other, so the
    cluster is drawn as one rectangle per layer (covering just its members) joined
    across the gaps between layers: a "staircase" that never covers other nodes,
    which a plain bounding box would. Outer clusters get more padding.
    """
    deepest = max((len(p) for p in scene.clusters), default=0)
    shapes = {}
    for path in sorted(scene.clusters, key=len, reverse=True):
        members = [k for k, c in clusters.items() if c[:len(path)] == path]
        if not members:
            continue
        pad = 7.0 + 7.0 * (deepest - len(path))
        per_layer = {}
        for k in members:
            c = lay.pos[k][1] if lay.horizontal else lay.pos[k][0]
            half = (lay.size[k][1] if lay.horizontal else lay.size[k][0]) / 2
            lo, hi = per_layer.get(lay.layer[k], (np.inf, -np.inf))
            per_layer[lay.layer[k]] = (min(lo, c - half), max(hi, c + half))
        runs, run = [], []
        for li in sorted(per_layer):
            if run and li != run[-1] + 1:
                runs.append(run)
                run = []
            run.append(li)
        runs.append(run)
        polygons = []
        for run in runs:
            top, bottom = [], []
            for li in run:
                m0, m1 = lay.spans[li]
                lo, hi = per_layer[li]
                top += [(m0 - pad, lo - pad - 16.0), (m1 + pad, lo - pad - 16.0)]
                bottom += [(m0 - pad, hi + pad), (m1 + pad, hi + pad)]
            pts = top + bottom[::-1]
            polygons.append([(m, c) if lay.horizontal else (c, m) for m, c in pts])
        shapes[path] = polygons
    return shapes


def _bounds(shapes):
    pts = [p for polys in shapes.values() for poly in polys for p in poly]
    if not pts:
        return None
    xs, ys = zip(*pts)
    return min(xs), min(ys), max(xs), max(ys)


def _draw_clusters(ax, scene, shapes, dx, dy):
    from matplotlib.patches import Polygon
    for path in sorted(shapes, key=len):
        backward = "backward" in scene.clusters[path]
        for i, poly in enumerate(shapes[path]):
            pts = [(x + dx, y + dy) for x, y in poly]
            ax.add_patch(Polygon(pts, closed=True, joinstyle="round",
                                 facecolor="#faf5ff" if backward else "#f0f7ff",
                                 edgecolor="#c4b5fd" if backward else "#93c5fd",
                                 linewidth=1.2, zorder=0.1 * len(path)))
            if i == 0:
                x0, y0 = pts[0]
                ax.text(x0 + 6, y0 + 3, scene.clusters[path], fontsize=TITLE_PT, va="top", ha="left",
                        family=style.MPL_FONT, color="#1f2937", zorder=0.5)


# -- edges ---------------------------------------------------------------------------

def _bezier_path(pts, horizontal):
    verts, codes = [pts[0]], [Path.MOVETO]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if horizontal:
            mid = (x1 - x0) / 2
            verts += [(x0 + mid, y0), (x1 - mid, y1), (x1, y1)]
        else:
            mid = (y1 - y0) / 2
            verts += [(x0, y0 + mid), (x1, y1 - mid), (x1, y1)]
        codes += [Path.CURVE4] * 3
    return Path(verts, codes)


def _clip(p_from, p_to, size):
    """The point where the line from the centre ``p_from`` towards ``p_to`` leaves the box."""
    (x, y), (tx, ty) = p_from, p_to
    w, h = size[0] / 2, size[1] / 2
    vx, vy = tx - x, ty - y
    if vx == 0 and vy == 0:
        return p_from
    t = min(w / abs(vx) if vx else np.inf, h / abs(vy) if vy else np.inf)
    return x + vx * t, y + vy * t


def _arrowhead(tip, direction, width):
    d = np.asarray(direction, dtype=float)
    n = np.hypot(*d)
    d = d / n if n else np.array([1.0, 0.0])
    length = 7.0 + 1.2 * width
    half = 3.0 + 0.6 * width
    back = np.asarray(tip) - d * length
    normal = np.array([-d[1], d[0]])
    return [tuple(tip), tuple(back + normal * half), tuple(back - normal * half)]


def _draw_edges(ax, scene, lay, at):
    horizontal = scene.rankdir in ("LR", "RL")
    paths, colors, widths, styles, heads, head_colors = [], [], [], [], [], []
    labels = len(scene.edges) <= MAX_EDGE_LABELS
    for e, route, curved in zip(scene.edges, lay.routes, lay.curved):
        if route is None:
            continue
        pts = [at(p) for p in route]
        if curved:
            path = _bezier_path(pts, horizontal)
            axis = (1.0, 0.0) if horizontal else (0.0, 1.0)
            end_dir, start_dir = axis, (-axis[0], -axis[1])
        else:
            a = _clip(pts[0], pts[-1], lay.size[e.src])
            b = _clip(pts[-1], pts[0], lay.size[e.dst])
            pts = [a, b]
            path = Path(pts, [Path.MOVETO, Path.LINETO])
            end_dir = (b[0] - a[0], b[1] - a[1])
            start_dir = (-end_dir[0], -end_dir[1])
        paths.append(path)
        colors.append(e.color)
        widths.append(e.width)
        styles.append({"solid": "-", "dashed": (0, (5, 3)), "dotted": (0, (1.5, 2))}[e.style])
        tip, direction = (pts[0], start_dir) if e.back else (pts[-1], end_dir)
        heads.append(_arrowhead(tip, direction, e.width))
        head_colors.append(e.color)
        if e.label and labels:
            p0, p1 = pts[0], pts[1] if len(pts) > 1 else pts[0]
            ax.text((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2, e.label, fontsize=EDGE_LABEL_PT, ha="center",
                    va="center", family=style.MPL_FONT, color="#374151", zorder=3,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    if paths:
        ax.add_collection(PathCollection(paths, facecolors="none", edgecolors=colors, linewidths=widths,
                                         linestyles=styles, zorder=1, capstyle="butt"))
        ax.add_collection(PolyCollection(heads, facecolors=head_colors, edgecolors=head_colors,
                                         linewidths=0.5, zorder=1.5))


# -- nodes ---------------------------------------------------------------------------

def _draw_nodes(ax, scene, lay, at):
    patches = []
    for key, sn in scene.nodes.items():
        (x, y), (w, h) = at(lay.pos[key]), lay.size[key]
        look = sn.look
        patches.append(FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h,
            boxstyle="round,pad=0,rounding_size=7" if look.rounded else "square,pad=0",
            facecolor=look.fill or "white", edgecolor=look.border, linewidth=look.penwidth * 0.9,
            linestyle=(0, (4, 2.5)) if look.dashed else (0, (1.2, 1.8)) if look.dotted else "-"))
        top = y - h / 2 + PAD_Y
        ax.text(x, top, sn.title, fontsize=TITLE_PT, weight="bold", ha="center", va="top",
                family=style.MPL_FONT, color=look.text, zorder=4)
        for i, line in enumerate(sn.lines):
            ax.text(x, top + TITLE_PT * LINE + i * DETAIL_PT * LINE, line, fontsize=DETAIL_PT,
                    ha="center", va="top", family=style.MPL_FONT, color=look.text, zorder=4)
    ax.add_collection(PatchCollection(patches, match_original=True, zorder=2))


# -- header: title, caption, legend, colour bars -----------------------------------------

def _header_lines(scene):
    looks, edges = scene.legend_entries() if scene.legend else ([], [])
    return looks, edges


LEGEND_ROW = 17.0
LEGEND_COL = 290.0
COLORBAR_H = 44.0


def _legend_columns(scene) -> int:
    return 3


def _header_height(header, scene) -> float:
    looks, edges = header
    h = 0.0
    if scene.title:
        h += 26
    h += len(scene.caption) * 16 + (8 if scene.caption else 0)
    entries = len(looks) + len(edges)
    if entries:
        h += 18 + LEGEND_ROW * -(-entries // _legend_columns(scene)) + 8
    h += COLORBAR_H * len(scene.colorbars) if scene.legend else 0
    return h + 10


def _header_width(header, scene) -> float:
    looks, edges = header
    w = LEGEND_COL * _legend_columns(scene) if (looks or edges) else 0.0
    if scene.title:
        w = max(w, len(scene.title) * 15 * CHAR_W)
    for line in scene.caption:
        w = max(w, len(line) * 11 * CHAR_W)
    return w


def _draw_header(ax, scene, header):
    looks, edges = header
    y = MARGIN
    if scene.title:
        ax.text(MARGIN, y, scene.title, fontsize=15, weight="bold", va="top", ha="left",
                family=style.MPL_FONT, color="#111827")
        y += 26
    for line in scene.caption:
        ax.text(MARGIN, y, line, fontsize=11, va="top", ha="left", family=style.MPL_FONT, color="#111827")
        y += 16
    if scene.caption:
        y += 8
    if looks or edges:
        ax.text(MARGIN, y, "legend", fontsize=10, weight="bold", va="top", ha="left", family=style.MPL_FONT)
        y += 18
        cols = _legend_columns(scene)
        entries = [("box", t, look) for t, look in looks] + [("line", t, (c, s)) for t, c, s in edges]
        for i, (what, text, how) in enumerate(entries):
            cx = MARGIN + (i % cols) * LEGEND_COL
            cy = y + (i // cols) * LEGEND_ROW
            if what == "box":
                ax.add_patch(FancyBboxPatch((cx, cy), 24, 12, boxstyle="square,pad=0",
                                            facecolor=how.fill or "white", edgecolor=how.border,
                                            linewidth=min(how.penwidth, 2.5),
                                            linestyle="--" if how.dashed else ":" if how.dotted else "-"))
            else:
                color, kind = how
                ax.plot([cx, cx + 24], [cy + 6, cy + 6], color=color, linewidth=2.5,
                        linestyle={"solid": "-", "dashed": "--", "dotted": ":"}[kind])
            ax.text(cx + 32, cy + 6, text, fontsize=9.5, va="center", ha="left", family=style.MPL_FONT)
        y += LEGEND_ROW * -(-len(entries) // cols) + 8
    if scene.legend:
        for bar in scene.colorbars:
            _draw_colorbar(ax, bar, MARGIN, y)
            y += COLORBAR_H


def _draw_colorbar(ax, bar, x, y):
    title = bar.title + (" (log scale)" if bar.log else "")
    ax.text(x, y, title, fontsize=9.5, weight="bold", va="top", ha="left", family=style.MPL_FONT)
    length, height = 360.0, 10.0
    gradient = np.linspace(0, 1, 256)[None, :]
    ax.imshow(gradient, cmap=bar.cmap, aspect="auto", extent=(x, x + length, y + 16 + height, y + 16),
              zorder=3, interpolation="bilinear")
    for t, text in bar.ticks(5):
        tx = x + t * length
        ax.plot([tx, tx], [y + 16 + height, y + 16 + height + 3], color="#111827", linewidth=0.8)
        ax.text(tx, y + 16 + height + 4, text, fontsize=8, va="top", ha="center", family=style.MPL_FONT)
