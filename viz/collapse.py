"""``collapse=True``: draw each layer (top-level name scope) as one box.

A real network has thousands of nodes; what a learner wants first is the layer
diagram. This edits a Scene: every node inside a collapsed scope is replaced by the
scope's box, and the edges between boxes are merged (the strongest gradient wins,
so gradient-flow colours survive collapsing). A highlight inside a layer (say the
NaN) marks the whole box, so problems stay visible at this zoom level.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from . import style
from .scene import SceneNode, backward_pass, cluster_label, mark_node

MAX_NODES_WITH_READS = 30
_MARK_ORDER = ("nan", "gradcheck", "highlight", "current", "done", "pending")


def group_of(sn: SceneNode) -> tuple:
    """The layer a scene node belongs to: ("dense1",), ("grad", "dense1") or ()."""
    node = sn.node
    if node is None or not node.scope:
        return ()
    parts = node.scope.split("/")
    if backward_pass(parts[0]) is not None:  # ("grad", "dense1"), ("grad_1", ...)
        return tuple(parts[:2])
    return (parts[0],)


def collapse_scene(scene, which, show) -> None:
    """Replace the nodes of each chosen layer by one box (in place).

    ``which`` is True (every layer) or a collection of scope names to collapse.
    """
    chosen = None if which is True else set([which] if isinstance(which, str) else which)
    groups: dict = {}
    owner: dict = {}
    for key, sn in scene.nodes.items():
        group = group_of(sn)
        if not group or (chosen is not None and group[-1] not in chosen):
            continue
        groups.setdefault(group, []).append(sn)
        owner[key] = "layer_" + re.sub(r"\W", "_", "_".join(group))

    consumers: dict = {}
    for sn in scene.nodes.values():
        for i in sn.node.inputs if sn.node is not None else ():
            consumers.setdefault(i, []).append(sn.node)
    new_nodes = {}
    placed = set()
    for key, sn in scene.nodes.items():
        box_key = owner.get(key)
        if box_key is None:
            new_nodes[key] = sn
        elif box_key not in placed:
            group = group_of(sn)
            new_nodes[box_key] = _layer_box(box_key, group, groups[group], scene, show, consumers)
            placed.add(box_key)
    scene.nodes = new_nodes

    merged: dict = {}
    for edge in scene.edges:
        src, dst = owner.get(edge.src, edge.src), owner.get(edge.dst, edge.dst)
        if src == dst:
            continue
        edge.src, edge.dst = src, dst
        slot = (src, dst, edge.kind)
        old = merged.get(slot)
        if old is None or (edge.magnitude or 0) > (old.magnitude or 0):
            merged[slot] = edge
    scene.edges = list(merged.values())
    if len(scene.nodes) > MAX_NODES_WITH_READS and any(e.kind == "reads" for e in scene.edges):
        # Between many layer boxes these arrows all run the length of the picture;
        # they hide the layer structure (and make Graphviz's layout crawl).
        scene.edges = [e for e in scene.edges if e.kind != "reads"]
        scene.caption.append("(arrows from forward layers to the backward pass that reads them are hidden at this size)")
    _reheat(scene)
    used = {sn.cluster[:d] for sn in scene.nodes.values() for d in range(1, len(sn.cluster) + 1)}
    scene.clusters = {path: label for path, label in scene.clusters.items() if path in used}


def _layer_box(key, group, members, scene, show, consumers) -> SceneNode:
    nodes = [m.node for m in members]
    k = backward_pass(group[0])
    backward = k is not None
    if not backward:
        title = group[0]
    elif len(group) > 1:
        title = cluster_label(group, "both")  # "dense1 (backward)", "backward of backward pass"
    else:
        title = "top level (backward)" if k == 1 else f"top level (backward pass {k})"
    ops = list(dict.fromkeys(n.op.name for n in nodes if n.op.name not in ("parameter", "placeholder", "constant")))
    lines = [f"{len(nodes)} nodes: " + ", ".join(ops[:4]) + (", ..." if len(ops) > 4 else "")]
    params = [n for n in nodes if n.op.name == "parameter"]
    if params:
        count = sum(int(np.prod(n.shape)) for n in params)
        names = ", ".join(f"{n.name.rsplit('/', 1)[-1]} {n.shape_str()}" for n in params[:3])
        lines.append(f"params {names}" + (" ..." if len(params) > 3 else "") + f" = {count:,} weights")
    inside = set(nodes)
    read_outside = [n for n in nodes if n.inputs and
                    (not consumers.get(n) or any(c not in inside for c in consumers[n]))]
    if read_outside:
        out = read_outside[-1]
        lines.append(f"out {out.shape_str()} {out.dtype}")
    seconds = sum(m.seconds for m in members)
    look = style.KINDS["gradient" if backward else "layer"]
    if backward:
        look = style.Look(look.fill, look.border, penwidth=1.8, rounded=False, legend=look.legend)
    box = SceneNode(key, title, lines, "gradient" if backward else "layer", look,
                    (group[0],) if backward and (group[0],) in scene.clusters else (),
                    f"{title}: {len(nodes)} nodes" if scene.tooltips else "", None, nodes)
    if seconds:
        box.seconds = seconds
        lines.append(f"{seconds * 1e3:.3f} ms")
    marks = {m for sn in members for m in sn.marks}
    for mark in _MARK_ORDER:
        if mark in marks:
            mark_node(box, mark)
            if mark == "nan":
                lines.append("contains the first NaN/Inf")
            if mark == "gradcheck":
                lines.append("contains a gradcheck failure")
            break
    return box


def _reheat(scene) -> None:
    """Re-scale the run-time colours: a layer's time is the sum of its nodes' times."""
    bars = [b for b in scene.colorbars if b.cmap == style.TIME_CMAP]
    if not bars:
        return
    slowest = max(sn.seconds for sn in scene.nodes.values())
    bars[0].vmax = slowest * 1e3
    for sn in scene.nodes.values():
        if sn.seconds:
            fill = style.cmap_hex(style.TIME_CMAP, sn.seconds / slowest)
            sn.look = replace(sn.look, fill=fill, text=style.text_on(fill))
