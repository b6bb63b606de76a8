"""Plots for training and for looking inside a network (matplotlib, no display needed).

Every function builds a ``matplotlib.figure.Figure`` directly (never pyplot), so it
works with ``MPLBACKEND=Agg``, on a server, in a test, and leaves no global state
behind. Each returns its Figure (or the Axes it drew on, when given ``ax=``) and
writes a file when given ``path=``; ``save(fig, path)`` does the same afterwards.
Jupyter shows a returned Figure inline.
"""

from ._figure import new_axes, save
from .history import plot_history
from .gradients import plot_gradient_flow, plot_histograms
from .images import plot_feature_maps, plot_filters, plot_saliency, saliency_map
from .classify import plot_confusion_matrix, plot_decision_boundary
from .landscape import plot_loss_path

__all__ = ["save", "new_axes", "plot_history", "plot_gradient_flow", "plot_histograms",
           "plot_filters", "plot_feature_maps", "plot_saliency", "saliency_map",
           "plot_confusion_matrix", "plot_decision_boundary", "plot_loss_path"]
