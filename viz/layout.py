"""A layered graph layout (the Sugiyama method), for drawing without Graphviz.

Graphviz's ``dot`` solves the same problem much more thoroughly; this is the short
version a learner can read in one sitting. Four steps:

1. **Layers.** Each node goes one layer after its deepest input (longest path), so
   every arrow points forward. Then, walking back from the outputs, each node moves
   as late as its consumers allow (to the layer just before its first consumer):
   a leaf (placeholder, parameter, constant) sits next to the matmul that reads it
   instead of far away at the start, and a backward node that only reads a forward
   value (say the transpose of W) sits in the backward pass, next to its use.
2. **Dummy nodes.** An arrow spanning several layers is split by invisible points,
   one per layer it crosses. They take part in the ordering below like real nodes,
   so long arrows get their own lane and do not run through boxes.
3. **Order within layers.** Sweep down and up a few times, sorting each layer by
   the barycentre (mean position) of its neighbours in the previous layer: the
   classic heuristic to reduce crossings. Members of one name scope are kept
   together so cluster boxes do not overlap.
4. **Coordinates.** Layers are spaced by their widest box. Inside a layer, each
   node wants to sit at the mean position of its neighbours; boxes must keep
   their order and not overlap. The best compromise (least squares) is found
   exactly by isotonic regression ("pool adjacent violators").

Everything is computed along two axes, *main* (layer direction) and *cross*; for
rankdir "LR" main is x, for "TB" main is y.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RANKSEP = 48.0        # points between layers
NODESEP = 14.0        # points between boxes in a layer
CLUSTER_GAP = 30.0    # extra space where one name scope ends and another starts
DUMMY_SIZE = 6.0
MAX_DUMMIES = 30_000  # past this, the longest arrows are drawn straight, without lanes
SWEEPS = 6


@dataclass
class Layout:
    pos: dict                       # key -> (x, y) centre, points, y grows downward
    size: dict                      # key -> (w, h)
    routes: list                    # per edge: list of (x, y) points, or None if skipped
    curved: list                    # per edge: True for a smooth layered route
    width: float = 0.0
    height: float = 0.0
    layer: dict = field(default_factory=dict)        # key -> layer index
    spans: list = field(default_factory=list)        # per layer: (start, end) along the main axis
    horizontal: bool = True


def layered_layout(keys, sizes, edges, rankdir="LR", clusters=None, ranksep=RANKSEP) -> Layout:
    """Place ``keys`` (in topological order) with box ``sizes`` and ``edges`` (src, dst, constraint)."""
    clusters = clusters or {}
    horizontal = rankdir in ("LR", "RL")
    main_size = {k: (sizes[k][0] if horizontal else sizes[k][1]) for k in keys}
    cross_size = {k: (sizes[k][1] if horizontal else sizes[k][0]) for k in keys}
    index = {k: i for i, k in enumerate(keys)}

    layer = _assign_layers(keys, edges, index)
    chains = _insert_dummies(edges, layer, index, clusters, main_size, cross_size)
    up, down = _neighbours(chains)
    layers = _order(keys, layer, chains, up, down, clusters, index)
    cross = _place_cross(layers, up, down, cross_size, clusters)
    main = _place_main(layers, main_size, ranksep)
    spans = []
    for lay in layers:
        extent = max((main_size[v] for v in lay), default=0.0)
        centre = main[lay[0]] if lay else 0.0
        spans.append((centre - extent / 2, centre + extent / 2))

    def point(v, m=None):
        return (m if m is not None else main[v], cross[v]) if horizontal else (cross[v], m if m is not None else main[v])

    routes, curved = [], []
    for e, (src, dst, _) in enumerate(edges):
        chain = chains.get(e)
        if src == dst:
            routes.append(None)
            curved.append(False)
        elif chain is not None:
            pts = [point(src, main[src] + main_size[src] / 2)]
            pts += [point(d) for d in chain[1:-1]]
            pts.append(point(dst, main[dst] - main_size[dst] / 2))
            routes.append(pts)
            curved.append(True)
        else:
            routes.append([point(src), point(dst)])
            curved.append(False)
    pos = {k: point(k) for k in keys}
    width = max((pos[k][0] + sizes[k][0] / 2 for k in keys), default=0.0)
    height = max((pos[k][1] + sizes[k][1] / 2 for k in keys), default=0.0)
    return Layout(pos, {k: sizes[k] for k in keys}, routes, curved, width, height,
                  {k: layer[k] for k in keys}, spans, horizontal)


def _assign_layers(keys, edges, index) -> dict:
    preds = {k: [] for k in keys}
    succs = {k: [] for k in keys}
    for src, dst, constraint in edges:
        if constraint and index[src] < index[dst]:   # a later-to-earlier arrow would be a cycle
            preds[dst].append(src)
            succs[src].append(dst)
    layer = {}
    for k in keys:
        layer[k] = max((layer[p] + 1 for p in preds[k]), default=0)
    for k in reversed(keys):                         # then as late as the consumers allow
        if succs[k]:
            layer[k] = max(layer[k], min(layer[s] for s in succs[k]) - 1)
    return layer


def _insert_dummies(edges, layer, index, clusters, main_size, cross_size) -> dict:
    """For each layered edge: its chain [src, dummy..., dst]; dummies get sizes and clusters."""
    wanted = [(layer[d] - layer[s], e) for e, (s, d, c) in enumerate(edges)
              if c and index[s] < index[d] and layer[d] > layer[s]]
    budget = MAX_DUMMIES
    chains = {}
    for span, e in sorted(wanted):
        src, dst, _ = edges[e]
        if span - 1 > budget:
            continue
        budget -= span - 1
        chain = [src]
        shared = _common(clusters.get(src, ()), clusters.get(dst, ()))
        for j in range(layer[src] + 1, layer[dst]):
            d = ("dummy", e, j)
            layer[d] = j
            main_size[d] = 0.0
            cross_size[d] = DUMMY_SIZE
            clusters[d] = shared
            chain.append(d)
        chain.append(dst)
        chains[e] = chain
    return chains


def _common(a, b) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _neighbours(chains):
    up, down = {}, {}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:]):
            down.setdefault(a, []).append(b)
            up.setdefault(b, []).append(a)
    return up, down


def _order(keys, layer, chains, up, down, clusters, index) -> list:
    count = max(layer.values(), default=-1) + 1
    layers = [[] for _ in range(count)]
    rank = dict(index)
    for chain_id, chain in sorted(chains.items()):
        for d in chain[1:-1]:
            rank[d] = index[chain[0]] + 0.5
    for v in sorted(layer, key=lambda v: rank[v]):
        layers[layer[v]].append(v)
    position = {}
    for lay in layers:
        for i, v in enumerate(lay):
            position[v] = i
    for sweep in range(SWEEPS):
        going_down = sweep % 2 == 0
        span = range(1, count) if going_down else range(count - 2, -1, -1)
        for li in span:
            nbrs = up if going_down else down
            bary = {}
            for v in layers[li]:
                ns = nbrs.get(v)
                bary[v] = sum(position[n] for n in ns) / len(ns) if ns else position[v]
            layers[li] = _grouped_sort(layers[li], bary, clusters)
            for i, v in enumerate(layers[li]):
                position[v] = i
    return layers


def _grouped_sort(items, bary, clusters, depth=0) -> list:
    """Sort by barycentre, but keep the members of each cluster next to each other."""
    groups: dict = {}
    for v in items:
        path = clusters.get(v, ())
        key = path[depth] if len(path) > depth else ("solo", v)
        groups.setdefault(key, []).append(v)
    ordered = sorted(groups.items(), key=lambda kv: sum(bary[v] for v in kv[1]) / len(kv[1]))
    out = []
    for key, members in ordered:
        if isinstance(key, tuple) and key[:1] == ("solo",):
            out.extend(members)
        else:
            out.extend(_grouped_sort(members, bary, clusters, depth + 1))
    return out


def _gap(a, b, cross_size, clusters) -> float:
    ca, cb = clusters.get(a, ()), clusters.get(b, ())
    differ = max(len(ca), len(cb)) - len(_common(ca, cb))
    small = isinstance(a, tuple) or isinstance(b, tuple)
    return (cross_size[a] + cross_size[b]) / 2 + (NODESEP / 2 if small else NODESEP) + CLUSTER_GAP * differ


def _place_cross(layers, up, down, cross_size, clusters) -> dict:
    cross = {}
    for lay in layers:
        c = 0.0
        for i, v in enumerate(lay):
            if i:
                c += _gap(lay[i - 1], v, cross_size, clusters)
            cross[v] = c
    for sweep in range(2 * SWEEPS):
        going_down = sweep % 2 == 0
        for lay in (layers if going_down else reversed(layers)):
            desired = []
            for v in lay:
                ns = (up if going_down else down).get(v, []) + (down if going_down else up).get(v, []) \
                    if sweep == 2 * SWEEPS - 1 else (up if going_down else down).get(v, [])
                desired.append(sum(cross[n] for n in ns) / len(ns) if ns else cross[v])
            gaps = [0.0] + [_gap(a, b, cross_size, clusters) for a, b in zip(lay, lay[1:])]
            for v, c in zip(lay, _fit_in_order(desired, gaps)):
                cross[v] = c
    low = min((cross[v] - cross_size[v] / 2 for v in cross), default=0.0)
    return {v: c - low for v, c in cross.items()}


def _fit_in_order(desired, gaps) -> list:
    """Positions closest (least squares) to ``desired`` with pos[i] >= pos[i-1] + gaps[i].

    Subtracting the running sum of gaps turns it into isotonic regression, solved by
    pooling adjacent violators: neighbours that want to cross are merged into one
    block placed at their mean.
    """
    offset, total = [], 0.0
    for g in gaps:
        total += g
        offset.append(total)
    blocks = []                                      # [mean, count]
    for d, o in zip(desired, offset):
        blocks.append([d - o, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, n2 = blocks.pop()
            m1, n1 = blocks.pop()
            blocks.append([(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2])
    out, i = [], 0
    for mean, n in blocks:
        for _ in range(n):
            out.append(mean + offset[i])
            i += 1
    return out


def _place_main(layers, main_size, ranksep) -> dict:
    main, at = {}, 0.0
    for li, lay in enumerate(layers):
        extent = max((main_size[v] for v in lay), default=0.0)
        centre = at + extent / 2
        for v in lay:
            main[v] = centre
        at += extent + ranksep
    return main
