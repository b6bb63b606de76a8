"""``viz.to_dot``: the one call that turns a minigrad graph into a picture.

    pic = viz.to_dot(g)                                  # forward pass
    pic = viz.to_dot(g, show="both", feed=feed)          # + backward pass, with values
    pic = viz.to_dot(g, feed=feed, gradient_flow=True)   # edges coloured by |gradient|
    viz.render(pic, "mlp.png")                           # png / svg / pdf / dot

Everything a picture shows is decided in ``scene.py``; this module only documents the
options and hands the scene to the DOT writer.
"""

from __future__ import annotations

from .dot import scene_to_dot
from .scene import build_scene


def to_dot(graph_or_tensors, *, show=None, values=None, feed=None, collapse=False,
           rankdir="LR", highlight=None, gradcheck_failures=None, gradient_flow=False,
           timing=False, clusters=True, title=None, tooltips=True, legend=True, ties=False):
    """Draw a graph as a ``GraphPicture`` (a ``graphviz.Digraph`` that Jupyter shows inline).

    graph_or_tensors  a ``mg.Graph`` (all of it), a tensor or list of tensors (what they
                      depend on; they are drawn as outputs), or a model with ``.graph``.
                      Outputs are the nodes nothing else in the picture reads.
    show              "forward" (the default, unless a tensor to draw is a gradient:
                      then "both"), "both" (forward + gradient nodes; a gradient
                      node holding dL/df is titled "dL/d(f)" and sits in the cluster
                      "<scope> (backward)") or "backward" (gradient nodes only; the
                      forward values they read appear as faint dotted boxes).
    ties              with show="both": also draw a dashed purple edge from each forward
                      node to the node holding its gradient (busy on big graphs).
    values            a ``Trace`` from ``g.run(..., trace=True)`` or a dict {node: array}:
                      adds "= value" lines and, on forward nodes, "grad ..." lines.
    feed              instead of ``values``: viz runs the graph on this feed itself.
    collapse          True: each top-level name scope (layer) becomes one box; or a list
                      of scope names to collapse only those.
    rankdir           "LR" (left to right) or "TB" (top to bottom).
    highlight         node(s) or name(s) to outline in amber; or a ``mg.NumericsError``
                      to paint its ``.node`` (the first NaN/Inf) red.
    gradcheck_failures  names or nodes whose gradient failed a gradcheck (red dashed).
    gradient_flow     colour and thicken every edge by the mean |gradient| flowing back
                      along it, log scale, with a colour bar: vanishing gradients are thin
                      and blue, exploding ones thick and red, exactly-zero ones (dead
                      ReLUs) black dashed. Calls ``mg.grad`` first if it never ran.
    timing            True (with a Trace in ``values``) or a Trace: heat colour per node
                      for its run time, with a colour bar in ms.
    clusters          draw name scopes as boxes around their nodes (default True).
    title, legend, tooltips   the picture's title; the legend; hover text in SVG.

    Legend (drawn on every picture): placeholder = blue, parameter = green with bold
    border, constant = grey dashed, op = white, output = orange, gradient node =
    purple, layer (collapsed) = light-blue box, forward value read by the backward
    pass = faint dotted box; highlights: amber border, red fill
    (first NaN/Inf), red dashed (gradcheck failed). Arrows: grey = value flows
    forward, purple = gradient flows, light purple = backward reads a forward value,
    dashed purple = forward node to the node holding its gradient.
    """
    scene = build_scene(graph_or_tensors, show=show, values=values, feed=feed, collapse=collapse,
                        rankdir=rankdir, highlight=highlight, gradcheck_failures=gradcheck_failures,
                        gradient_flow=gradient_flow, timing=timing, clusters=clusters, title=title,
                        tooltips=tooltips, legend=legend, ties=ties)
    return scene_to_dot(scene)
