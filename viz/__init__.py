"""viz: pictures of what happens inside minigrad.

Graph drawings
    to_dot(graph, show=..., values=..., collapse=..., gradient_flow=..., ...) -> GraphPicture
    to_networkx(graph) -> networkx.DiGraph
    render(graph_or_picture, "out.png", renderer=None) -> Rendered (a path with .renderer)
Step-through
    step_through(loss, feed, out_dir)          one PNG per backprop step + GIF + log
    step_through_forward(fetches, feed, out_dir)
Plots (matplotlib, Agg-safe)
    plot_history, plot_gradient_flow, plot_histograms, plot_filters, plot_feature_maps,
    plot_saliency, saliency_map, plot_confusion_matrix, plot_decision_boundary,
    plot_loss_path

viz reads minigrad graphs and never changes how they run; minigrad never imports viz.
Start reading at api.py (to_dot), then scene.py (what a picture shows), dot.py and
mpl_draw.py (two ways to draw it), render.py (which one runs).
"""

from .api import to_dot
from .nxgraph import to_networkx
from .picture import GraphPicture
from .renderers import RENDERERS, Rendered, available_renderers, render
from .scene import Scene, build_scene
from .source import evaluate
from .stepper import StepThrough, step_through, step_through_forward
from .plots import (plot_confusion_matrix, plot_decision_boundary, plot_feature_maps, plot_filters,
                    plot_gradient_flow, plot_histograms, plot_history, plot_loss_path, plot_saliency,
                    saliency_map, save)

__all__ = ["to_dot", "to_networkx", "render", "Rendered", "RENDERERS", "available_renderers",
           "GraphPicture", "Scene", "build_scene", "evaluate",
           "step_through", "step_through_forward", "StepThrough",
           "plot_history", "plot_gradient_flow", "plot_histograms", "plot_filters",
           "plot_feature_maps", "plot_saliency", "saliency_map", "plot_confusion_matrix",
           "plot_decision_boundary", "plot_loss_path", "save"]
