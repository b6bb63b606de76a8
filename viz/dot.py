"""Writing a Scene as Graphviz DOT (a ``graphviz.Digraph``).

Graphviz does the layout; this file only translates: a scene node becomes a DOT
node with an HTML-like label (bold name, then small lines), each name-scope path a
nested ``cluster_`` subgraph, and the legend plus colour bars an HTML table used as
the graph's label, so it is part of the picture without disturbing the layout.

The output is deterministic (same graph, same text), which the golden-file tests rely on.
"""

from __future__ import annotations

import html
import re

from . import style
from .picture import GraphPicture

LEGEND_PER_ROW = 4
MAX_EDGE_LABELS = 300       # past this many edges, labels only clutter


def scene_to_dot(scene) -> GraphPicture:
    pic = GraphPicture(
        name="minigrad",
        graph_attr={"rankdir": scene.rankdir, "fontname": style.FONT, "bgcolor": "white",
                    "pad": "0.3", "nodesep": "0.3", "ranksep": "0.5",
                    "labelloc": "t", "labeljust": "l"},
        node_attr={"fontname": style.FONT, "fontsize": str(style.TITLE_PT), "shape": "box",
                   "margin": "0.12,0.06"},
        edge_attr={"fontname": style.FONT, "fontsize": str(style.EDGE_PT), "arrowsize": "0.8",
                   "fontcolor": "#374151"})
    pic.scene = scene
    header = _header(scene)
    if header:
        pic.attr(label=header)
    members: dict = {}
    for key, sn in scene.nodes.items():
        members.setdefault(sn.cluster if sn.cluster in scene.clusters else (), []).append(key)
    names = {path: f"cluster_{i}_" + re.sub(r"\W", "_", "_".join(path))
             for i, path in enumerate(sorted(scene.clusters))}
    _emit(pic, (), scene, members, names)
    labels = len(scene.edges) <= MAX_EDGE_LABELS
    for e in scene.edges:
        attrs = {"color": e.color, "penwidth": f"{e.width:.2f}"}
        if e.style != "solid":
            attrs["style"] = e.style
        if e.label and labels:
            attrs["label"] = e.label
        if not e.constraint:
            attrs["constraint"] = "false"
        if e.back:
            attrs["dir"] = "back"
        pic.edge(e.src, e.dst, **attrs)
    return pic


def _emit(target, path, scene, members, names):
    """Write the nodes of cluster ``path``, then its child clusters, recursively."""
    for key in members.get(path, ()):
        _node(target, scene.nodes[key], scene.tooltips)
    children = sorted(p for p in scene.clusters if len(p) == len(path) + 1 and p[:len(path)] == path)
    for child in children:
        backward = "backward" in scene.clusters[child]
        with target.subgraph(name=names[child]) as sub:
            sub.attr(label=scene.clusters[child], style="rounded,filled",
                     color="#c4b5fd" if backward else "#93c5fd",
                     fillcolor="#faf5ff" if backward else "#f0f7ff",
                     fontsize=str(style.TITLE_PT), fontcolor="#1f2937")
            _emit(sub, child, scene, members, names)


def _node(target, sn, tooltips):
    look = sn.look
    styles = ["filled"] + (["rounded"] if look.rounded else [])
    if look.dashed:
        styles.append("dashed")
    elif look.dotted:
        styles.append("dotted")
    attrs = {"label": label_html(sn.title, sn.lines), "style": ",".join(styles),
             "fillcolor": look.fill, "color": look.border, "fontcolor": look.text,
             "penwidth": f"{look.penwidth:g}"}
    if tooltips and sn.tooltip:
        attrs["tooltip"] = sn.tooltip
    target.node(sn.key, **attrs)


def label_html(title, lines) -> str:
    """``<<b>title</b><br/><font point-size="11">line</font>...>``: Graphviz HTML-like text."""
    parts = [f"<b>{html.escape(title)}</b>"]
    for line in lines:
        parts.append(f'<br/><font point-size="{style.DETAIL_PT}">{html.escape(line)}</font>')
    return "<" + "".join(parts) + ">"


def _header(scene) -> str:
    """Title, caption, legend and colour bars as one HTML table (the graph label)."""
    rows = []
    if scene.title:
        rows.append(f'<tr><td align="left"><font point-size="18"><b>{html.escape(scene.title)}</b></font></td></tr>')
    for line in scene.caption:
        rows.append(f'<tr><td align="left"><font point-size="13">{html.escape(line)}</font></td></tr>')
    if scene.legend:
        looks, edges = scene.legend_entries()
        cells = [_swatch(look) + f'<td align="left">{html.escape(text)}</td>' for text, look in looks]
        cells += [f'<td bgcolor="{color}" width="26" height="4" fixedsize="true"></td>'
                  f'<td align="left">{html.escape(text)}{" (dashed)" if how == "dashed" else ""}'
                  f'{" (dotted)" if how == "dotted" else ""}</td>'
                  for text, color, how in edges]
        if cells:
            inner = "".join("<tr>" + "".join(cells[i:i + LEGEND_PER_ROW]) + "</tr>"
                            for i in range(0, len(cells), LEGEND_PER_ROW))
            rows.append('<tr><td align="left"><table border="0" cellspacing="4" cellpadding="2">'
                        f'<tr><td align="left" colspan="{2 * LEGEND_PER_ROW}"><b>legend</b></td></tr>'
                        f'{inner}</table></td></tr>')
        for bar in scene.colorbars:
            rows.append(f'<tr><td align="left">{_colorbar(bar)}</td></tr>')
    if not rows:
        return ""
    return '<<table border="0" cellspacing="2" cellpadding="2">' + "".join(rows) + "</table>>"


def _swatch(look) -> str:
    return (f'<td bgcolor="{look.fill or "#ffffff"}" color="{look.border}" border="{2 if look.penwidth > 2 else 1}"'
            f' width="26" height="14" fixedsize="true"></td>')


def _colorbar(bar) -> str:
    ticks = bar.ticks(6)
    colors = "".join(f'<td bgcolor="{style.cmap_hex(bar.cmap, t)}" width="54" height="12" fixedsize="true"></td>'
                     for t, _ in ticks)
    labels = "".join(f'<td><font point-size="10">{html.escape(text)}</font></td>' for _, text in ticks)
    return ('<table border="0" cellspacing="0" cellpadding="1">'
            f'<tr><td colspan="{len(ticks)}" align="left"><b>{html.escape(bar.title)}</b>'
            f'{" (log scale)" if bar.log else ""}</td></tr><tr>{colors}</tr><tr>{labels}</tr></table>')
