"""Images of a convolutional network: filters, feature maps and saliency maps.

Filters show what each first-layer kernel responds to (edges, colour blobs);
feature maps show where in the image it responded; a saliency map shows which
input pixels the class score is most sensitive to (|d score / d pixel|): why
the model said "3".
"""

from __future__ import annotations

import numpy as np

import minigrad as mg

from ._figure import finish, new_figure


def _grid(images, titles, path, title, cmap, symmetric):
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = new_figure(1.7 * cols + 0.6, 1.8 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, im, name in zip(axes, images, titles):
        if im.ndim == 3:                                   # RGB: scale to 0..1 for display
            lo, hi = im.min(), im.max()
            ax.imshow((im - lo) / (hi - lo) if hi > lo else np.zeros_like(im))
        else:
            lim = np.abs(im).max() or 1.0
            ax.imshow(im, cmap=cmap, vmin=-lim if symmetric else None, vmax=lim if symmetric else None,
                      interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=12)
    return finish(fig, fig, path)


def plot_filters(weights, path=None, max_filters=64, title="conv filters"):
    """Conv kernels (out, in, kh, kw) as a grid: RGB when in == 3, else the mean over inputs.

    Grey-scale filters use a red-blue map centred on zero: red excites, blue inhibits.
    Accepts an array or a parameter tensor (its ``.value``). Returns the Figure.
    """
    w = np.asarray(getattr(weights, "value", weights), dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"plot_filters expects (out, in, kh, kw) weights, got shape {w.shape}")
    w = w[:max_filters]
    images = [f.transpose(1, 2, 0) if f.shape[0] == 3 else f.mean(axis=0) for f in w]
    return _grid(images, [f"filter {i}" for i in range(len(images))], path, title, "RdBu_r", True)


def plot_feature_maps(maps, path=None, max_maps=32, title="feature maps"):
    """Activations (C, H, W), or (N, C, H, W) showing the first sample, one panel per channel."""
    a = np.asarray(maps, dtype=np.float64)
    if a.ndim == 4:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"plot_feature_maps expects (C, H, W) or (N, C, H, W), got shape {maps.shape}")
    a = a[:max_maps]
    return _grid(list(a), [f"channel {i}" for i in range(len(a))], path, title, "viridis", False)


def _as_hw(image):
    """(H, W), (C, H, W), (H, W, C) or with a batch of 1 -> (H, W) or (H, W, C) for imshow."""
    a = np.asarray(image, dtype=np.float64)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


def saliency_map(score, x, feed):
    """|d score / d x| for one input: builds ``mg.grad(score, x)`` and runs it.

    ``score`` is a scalar tensor (e.g. ``logits[0, 3]``, the class score), ``x`` the
    input placeholder. Channels are reduced by their max. Note: adds the gradient
    nodes to the graph, as ``mg.grad`` does. Returns an (H, W) array.
    """
    g = mg.grad(score, x)
    value = np.abs(np.asarray(score.graph.run(g, feed)))
    value = _as_hw(value)
    return value.max(axis=-1) if value.ndim == 3 else value


def plot_saliency(image, saliency, path=None, title="saliency: where the score is sensitive"):
    """Three panels: the input image, |gradient| as heat, and the heat over the image."""
    img = _as_hw(image)
    sal = _as_hw(np.abs(np.asarray(saliency, dtype=np.float64)))
    if sal.ndim == 3:
        sal = sal.max(axis=-1)
    fig = new_figure(10.0, 3.8)
    axes = fig.subplots(1, 3)
    gray = img.ndim == 2
    shown = img if gray else (img - img.min()) / (np.ptp(img) or 1.0)
    axes[0].imshow(shown, cmap="gray" if gray else None)
    axes[0].set_title("input", fontsize=11)
    im = axes[1].imshow(sal, cmap="inferno")
    axes[1].set_title("|d score / d pixel|", fontsize=11)
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    axes[2].imshow(shown, cmap="gray" if gray else None)
    axes[2].imshow(sal, cmap="inferno", alpha=0.55)
    axes[2].set_title("overlay", fontsize=11)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=12)
    return finish(fig, fig, path)
