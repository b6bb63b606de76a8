"""The scene: *what* a picture shows, decided once, before anyone draws it.

A ``Scene`` is plain data: boxes with text lines and a look, arrows with a colour
and a width, name-scope clusters, a legend and colour bars. ``build_scene`` turns a
minigrad graph (plus optional values, gradients, timings and highlights) into one.
Then ``dot.py`` writes it as Graphviz DOT and ``mpl_draw.py`` draws it with
matplotlib: two renderers, one set of decisions, so the pictures agree.

Keeping decisions here and drawing elsewhere also makes features easy to read:
collapsing layers (``collapse.py``) and the step-through frames (``stepper.py``)
are just functions that edit a Scene.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from . import style
from .source import (as_values, ensure_gradients, evaluate, gradients_of, kind_of,
                     resolve, timings)
from .summary import magnitude, number, summarize, zero_fraction


@dataclass
class SceneNode:
    key: str                    # unique id in the picture ("n12", "layer:dense1")
    title: str                  # bold first line
    lines: list                 # smaller lines under it
    kind: str                   # a key of style.KINDS (for the legend)
    look: style.Look            # how it is drawn, after highlights
    cluster: tuple = ()         # the name-scope path it is drawn inside
    tooltip: str = ""
    node: object = None         # the minigrad node (None for a collapsed layer)
    members: list = field(default_factory=list)  # collapsed layer: its nodes
    marks: list = field(default_factory=list)    # highlight keys applied
    seconds: float = 0.0


@dataclass
class SceneEdge:
    src: str
    dst: str
    kind: str = "data"          # a key of style.EDGE_LEGEND
    color: str = style.EDGE_DATA
    width: float = 1.2
    style: str = "solid"        # solid, dashed, dotted
    label: str = ""
    constraint: bool = True     # False: does not push the layout apart (ties)
    back: bool = False          # draw the arrowhead at src (gradient flowing backward)
    magnitude: float | None = None


@dataclass
class ColorBar:
    title: str
    cmap: str
    vmin: float                 # in data units (seconds, |grad|)
    vmax: float
    log: bool

    def position(self, v: float) -> float:
        """Where ``v`` falls on the bar, 0..1."""
        if self.log:
            lo, hi, v = math.log10(self.vmin), math.log10(self.vmax), math.log10(max(v, 1e-300))
        else:
            lo, hi = self.vmin, self.vmax
        return 0.0 if hi <= lo else min(1.0, max(0.0, (v - lo) / (hi - lo)))

    def ticks(self, n: int = 5) -> list:
        """``n`` evenly spaced (position, label) pairs along the bar."""
        out = []
        for k in range(n):
            t = k / (n - 1)
            if self.log:
                v = 10 ** (math.log10(self.vmin) + t * (math.log10(self.vmax) - math.log10(self.vmin)))
            else:
                v = self.vmin + t * (self.vmax - self.vmin)
            out.append((t, number(v)))
        return out


@dataclass
class Scene:
    nodes: dict = field(default_factory=dict)       # key -> SceneNode, in drawing order
    edges: list = field(default_factory=list)
    clusters: dict = field(default_factory=dict)    # path tuple -> label
    rankdir: str = "LR"
    title: str = ""
    caption: list = field(default_factory=list)     # lines under the picture
    colorbars: list = field(default_factory=list)
    legend: bool = True
    tooltips: bool = True

    def key_of(self, node) -> str:
        return f"n{node.id}"

    def find(self, node) -> SceneNode | None:
        return self.nodes.get(self.key_of(node))

    def mark(self, key: str, how: str) -> None:
        """Apply highlight ``how`` (a key of style.HIGHLIGHTS) to scene node ``key``."""
        mark_node(self.nodes[key], how)

    def legend_entries(self):
        """(node looks, edge kinds) present in the picture, in a fixed order."""
        kinds = {n.kind for n in self.nodes.values()}
        marks = {m for n in self.nodes.values() for m in n.marks}
        looks = [(style.KINDS[k].legend, style.KINDS[k]) for k in style.KINDS if k in kinds]
        looks += [(style.HIGHLIGHTS[m].legend, style.HIGHLIGHTS[m]) for m in style.HIGHLIGHTS if m in marks]
        used = {e.kind for e in self.edges}
        edges = [(style.EDGE_LEGEND[k][2], style.EDGE_LEGEND[k][0], style.EDGE_LEGEND[k][1])
                 for k in style.EDGE_LEGEND if k in used]
        return looks, edges


def mark_node(sn: SceneNode, how: str) -> None:
    """Draw ``sn`` with highlight ``how`` over its own look, and remember it (legend)."""
    hl = style.HIGHLIGHTS[how]
    sn.look = replace(sn.look, fill=hl.fill or sn.look.fill, border=hl.border,
                      penwidth=hl.penwidth, dashed=hl.dashed or sn.look.dashed,
                      text=hl.text if how == "pending" else sn.look.text)
    if how not in sn.marks:
        sn.marks.append(how)


SHOWS = ("forward", "both", "backward")


def build_scene(obj, *, show=None, values=None, feed=None, collapse=False, rankdir="LR",
                highlight=None, gradcheck_failures=None, gradient_flow=False, timing=False,
                clusters=True, title=None, tooltips=True, legend=True, ties=False) -> Scene:
    """Decide everything a picture of ``obj`` shows; see ``viz.to_dot`` for the arguments."""
    src = resolve(obj)
    if show is None:   # a gradient tensor asked for by name is drawn with its backward pass
        show = "both" if any(t.is_gradient for t in src.targets) else "forward"
    if show not in SHOWS:
        raise ValueError(f"show must be one of {SHOWS}, got {show!r}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR' or 'TB' (or 'RL', 'BT'), got {rankdir!r}")
    graph = src.graph
    grads = ensure_gradients(graph, src.targets[0] if len(src.targets) == 1 else None) \
        if gradient_flow else gradients_of(graph)
    drawn, ghosts = _select(graph, src.targets, show)

    trace = timing if isinstance(timing, list) else values
    if values is None and feed is not None:
        wanted = set(drawn) | set(ghosts) | set(grads.total.values()) | set(grads.sent.values())
        values = trace = evaluate(graph, feed, wanted) if not isinstance(timing, list) else timing
    vals = as_values(values)
    secs = timings(trace) if timing is not False and timing is not None else {}
    if timing and not secs:
        raise ValueError("timing=True needs a Trace: pass values=trace from g.run(..., trace=True)")

    scene = Scene(rankdir=rankdir, legend=legend, tooltips=tooltips,
                  title=title if title is not None else "")
    outputs = _outputs(drawn, src.targets)
    totals = _total_names(grads, clusters)
    # The backward view of a single backward pass needs no box around the whole pass;
    # with several passes (two losses, a gradient of a gradient) each keeps its box.
    passes = {n.scope.split("/")[0] for n in drawn if n.is_gradient and n.scope}
    strip_pass = show == "backward" and passes == {"grad"}
    for node in drawn:
        scene.nodes[scene.key_of(node)] = _scene_node(node, strip_pass, clusters, vals, grads, totals,
                                                      node in outputs, tooltips, show)
    for node in ghosts:
        sn = _scene_node(node, strip_pass, False, vals, grads, totals, False, tooltips, show)
        sn.kind, sn.look, sn.cluster = "ghost", style.KINDS["ghost"], ()
        scene.nodes[scene.key_of(node)] = sn
    if clusters:
        for sn in scene.nodes.values():
            for depth in range(1, len(sn.cluster) + 1):
                path = sn.cluster[:depth]
                scene.clusters.setdefault(path, cluster_label(path, show))
    _add_edges(scene, drawn, grads, ties and show == "both")

    if gradient_flow:
        _color_by_gradient(scene, grads, vals)
    if secs:
        _heat_by_time(scene, secs)
    _apply_highlights(scene, graph, highlight, gradcheck_failures)
    if collapse:
        from .collapse import collapse_scene
        collapse_scene(scene, collapse, show)
    return scene


# -- which nodes -------------------------------------------------------------------

def _select(graph, targets, show):
    """The nodes to draw, in id order, and (backward view) the forward values they read."""
    if targets:
        base = graph.topo_order(targets)
        if show != "forward" and not any(t.is_gradient for t in targets):
            have = set(base)    # the loss with show="both": add the backward pass it has
            extra = [n for n in graph.nodes if n.is_gradient and n.origin in have]
            base = graph.topo_order(list(base) + extra) if extra else base
    else:
        base = list(graph.nodes)
    if show == "forward":
        return [n for n in base if not n.is_gradient], []
    if show == "both":
        return base, []
    drawn = [n for n in base if n.is_gradient]
    have = set(drawn)
    ghosts = sorted({i for n in drawn for i in n.inputs if i not in have}, key=lambda n: n.id)
    return drawn, ghosts


def _outputs(drawn, targets):
    if targets:
        return {t for t in targets if not t.is_gradient}
    read = {i for n in drawn for i in n.inputs}
    return {n for n in drawn if n not in read and n.inputs and not n.is_gradient}


# -- labels --------------------------------------------------------------------------

_SUFFIX = re.compile(r"_\d+$")


def _short(node, in_cluster: bool) -> str:
    if in_cluster and node.scope and node.name.startswith(node.scope + "/"):
        return node.name[len(node.scope) + 1:]
    return node.name


def _total_names(grads, clusters) -> dict:
    """For each gradient node that holds some dL/df: the names f, nearest the loss first."""
    names: dict = {}
    for f, g in sorted(grads.total.items(), key=lambda item: -item[0].id):
        short = f.name.rsplit("/", 1)[-1] if clusters else f.name
        names.setdefault(g, []).append(short)
    return names


def _scene_node(node, strip_pass, clusters, vals, grads, totals, is_output, tooltips, show) -> SceneNode:
    kind = kind_of(node)
    cluster = tuple(node.scope.split("/")) if (clusters and node.scope) else ()
    if strip_pass and cluster[:1] == ("grad",):
        cluster = cluster[1:]
    short = _short(node, bool(cluster) or (show == "backward" and node.is_gradient and clusters))
    lines = []
    describes = totals.get(node)
    op_part = node.op.name
    if describes:
        title = f"dL/d({describes[0]})"
        if len(describes) > 1:
            lines.append("= " + " = ".join(f"dL/d({d})" for d in describes[1:3]))
    else:
        title = short
        if _SUFFIX.sub("", short.rsplit("/", 1)[-1]) == node.op.name:
            op_part = ""
    lines.append(" ".join(p for p in (op_part, node.shape_str(), str(node.dtype)) if p))
    if node in vals:
        lines.append("= " + summarize(vals[node]))
        if node.op.name == "relu" and zero_fraction(vals[node]) >= 0.5:
            lines.append(f"zeros: {zero_fraction(vals[node]):.0%} (dying ReLU?)")
    g = grads.total.get(node)
    if g is not None and g in vals and not node.is_gradient:
        lines.append("grad " + summarize(vals[g]))
    look = style.KINDS[kind]
    if is_output:
        kind, look = "output", style.KINDS["output"]
    tip = ""
    if tooltips:
        where = node.location.rsplit("/", 1)[-1]
        args = ", ".join(i.name for i in node.inputs)
        tip = f"{node.name} = {node.op.name}({args})  at {where}"
        if node.origin is not None:
            tip += f"  [backprop step of {node.origin.name}]"
    return SceneNode(f"n{node.id}", title, lines, kind, look, cluster, tip, node)


def backward_pass(scope_name: str):
    """1 for "grad" (the first backward pass built on a graph), k for "grad_k", None
    for any other scope (see ``Graph.backward_pass_scope``)."""
    match = re.fullmatch(r"grad(?:_(\d+))?", scope_name)
    if match is None:
        return None
    return 1 if match.group(1) is None else int(match.group(1))


def cluster_label(path, show) -> str:
    """The label of the name-scope box ``path`` (a tuple of scope names)."""
    k = backward_pass(path[0])
    if k is None:
        return path[-1] + " (backward)" if show == "backward" else path[-1]
    if len(path) == 1:
        return "backward pass" if k == 1 else f"backward pass {k}"
    if backward_pass(path[-1]) is not None:  # a gradient of a gradient
        return f"backward of {cluster_label(path[-1:], show)}"
    return path[-1] + " (backward)"


# -- edges ---------------------------------------------------------------------------

def _add_edges(scene, drawn, grads, ties):
    for node in drawn:
        dst = scene.key_of(node)
        for inp in node.inputs:
            src = scene.key_of(inp)
            if src not in scene.nodes:
                continue
            if node.is_gradient and inp.is_gradient:
                edge = SceneEdge(src, dst, "grad", style.EDGE_GRAD, 1.6)
            elif node.is_gradient:
                edge = SceneEdge(src, dst, "reads", style.EDGE_READS, 1.0)
            else:
                edge = SceneEdge(src, dst)
            scene.edges.append(edge)
    if ties:
        for f, g in grads.total.items():
            a, b = scene.key_of(f), scene.key_of(g)
            if a in scene.nodes and b in scene.nodes and a != b:
                scene.edges.append(SceneEdge(a, b, "tie", style.EDGE_TIE, 1.0, "dashed",
                                             constraint=False))


def _color_by_gradient(scene, grads, vals):
    """Colour and thicken each edge by the gradient flowing back along it (log scale)."""
    carried = []
    for edge in scene.edges:
        if edge.kind == "tie" or edge.kind == "reads":
            continue
        src, dst = scene.nodes[edge.src].node, scene.nodes[edge.dst].node
        if edge.kind == "grad":
            g = src                          # a gradient node's value is the gradient
        else:
            g = None
            for i, inp in enumerate(dst.inputs):
                if inp is src and (dst, i) in grads.sent:
                    g = grads.sent[(dst, i)]
                    break
            if g is None:
                edge.kind, edge.color, edge.style, edge.width = "nograd", style.EDGE_NOGRAD, "dotted", 1.0
                continue
        if g in vals:
            edge.magnitude = magnitude(vals[g])
            carried.append(edge)
    mags = [e.magnitude for e in carried if e.magnitude > 0 and math.isfinite(e.magnitude)]
    if not mags:
        return
    lo, hi = math.log10(min(mags)), math.log10(max(mags))
    if hi - lo < 2:                           # always span at least two decades
        mid = (hi + lo) / 2
        lo, hi = mid - 1, mid + 1
    bar = ColorBar("mean |gradient| along the edge", style.GRAD_CMAP, 10 ** lo, 10 ** hi, True)
    scene.colorbars.append(bar)
    for edge in carried:
        m = edge.magnitude
        if m == 0:
            edge.kind, edge.color, edge.style, edge.width, edge.label = "dead", style.EDGE_DEAD, "dashed", 1.6, "0"
            continue
        if not math.isfinite(m):
            edge.color, edge.width, edge.label = "#dc2626", 6.0, number(m)
            continue
        t = bar.position(m)
        edge.color = style.cmap_hex(style.GRAD_CMAP, t)
        edge.width = 1.0 + 5.0 * t
        edge.label = number(m)
        if edge.kind == "data":
            edge.kind = "grad"


def _heat_by_time(scene, secs):
    """Fill each node with a heat colour for its run time (from a trace)."""
    slowest = max(secs.values(), default=0.0)
    if slowest <= 0:
        return
    bar = ColorBar("run time (ms)", style.TIME_CMAP, 0.0, slowest * 1e3, False)
    scene.colorbars.append(bar)
    for sn in scene.nodes.values():
        s = secs.get(sn.node)
        if s is None:
            continue
        sn.seconds = s
        fill = style.cmap_hex(style.TIME_CMAP, s / slowest)
        sn.look = replace(sn.look, fill=fill, text=style.text_on(fill))
        sn.lines.append(f"{s * 1e3:.3f} ms")


def _apply_highlights(scene, graph, highlight, gradcheck_failures):
    """Mark user-chosen nodes, the NaN/Inf node of a NumericsError, gradcheck failures."""
    def key_for(item):
        if isinstance(item, str):
            item = graph.by_name(item)
        return scene.key_of(item)

    items = highlight
    if items is not None and not isinstance(items, (list, tuple, set, frozenset)):
        items = [items]
    for item in items or ():
        how = "highlight"
        bad = getattr(item, "node", None)
        if isinstance(item, BaseException):
            if bad is None:
                continue
            item, how = bad, "nan"
        key = key_for(item)
        if key in scene.nodes:
            scene.mark(key, how)
            if how == "nan":
                scene.nodes[key].lines.append("first NaN/Inf here")
    for item in gradcheck_failures or ():
        key = key_for(item)
        if key in scene.nodes:
            scene.mark(key, "gradcheck")
            scene.nodes[key].lines.append("gradcheck FAILED")
