"""Rendering: every renderer writes a readable file; the choice and the forcing work."""

import os

import numpy as np
import pytest
from PIL import Image

import viz
from viz import renderers as render_mod
from golden.viz_graphs import mlp, scalar_expression

HAVE = viz.available_renderers()
ALL = [pytest.param(r, marks=pytest.mark.skipif(r not in HAVE, reason=f"{r} not installed"))
       for r in viz.RENDERERS]


def _check_png(path, min_w=200, min_h=100):
    with Image.open(path) as im:
        im.load()
        assert im.width >= min_w and im.height >= min_h
        assert im.width <= 40000 and im.height <= 40000
        pixels = np.asarray(im.convert("L"))
    assert pixels.min() < 100 and pixels.max() > 200         # there is ink on paper


@pytest.mark.parametrize("renderer", ALL)
def test_png_with_each_renderer(renderer, tmp_path):
    g, loss, feed, params, grads = mlp()
    out = viz.render(g, tmp_path / "mlp.png", renderer=renderer, show="both", feed=feed)
    assert out.renderer == renderer and out == str(tmp_path / "mlp.png")
    _check_png(out, 600, 200)
    flow = viz.render(viz.to_dot(g, feed=feed, gradient_flow=True, collapse=True),
                      tmp_path / "flow.png", renderer=renderer)
    _check_png(flow)


@pytest.mark.parametrize("renderer", ALL)
def test_svg_and_pdf_with_each_renderer(renderer, tmp_path):
    g, *_ = scalar_expression()
    svg = viz.render(g, tmp_path / "g.svg", renderer=renderer)
    text = open(svg).read()
    assert "<svg" in text
    pdf = viz.render(g, tmp_path / "g.pdf", renderer=renderer)
    assert open(pdf, "rb").read(5) == b"%PDF-"


def test_dot_format_needs_no_renderer(tmp_path):
    g, *_ = scalar_expression()
    out = viz.render(g, tmp_path / "g.dot")
    assert out.renderer == "source" and open(out).read().startswith("digraph")


def test_environment_variable_forces_renderer(monkeypatch, tmp_path):
    g, *_ = scalar_expression()
    monkeypatch.setenv("MINIGRAD_RENDERER", "matplotlib")
    assert viz.render(g, tmp_path / "a.png").renderer == "matplotlib"
    monkeypatch.setenv("MINIGRAD_RENDERER", "nonsense")
    with pytest.raises(ValueError):
        viz.render(g, tmp_path / "b.png")


def test_automatic_order_and_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("MINIGRAD_RENDERER", raising=False)
    g, *_ = scalar_expression()
    assert viz.render(g, tmp_path / "a.png").renderer == HAVE[0]
    # no Graphviz at all: the matplotlib drawing still works
    monkeypatch.setattr(render_mod, "find_binary", lambda name: None)
    assert viz.available_renderers() == ["matplotlib"]
    out = viz.render(g, tmp_path / "b.png")
    assert out.renderer == "matplotlib"
    _check_png(out)
    with pytest.raises(RuntimeError):
        viz.render(g, tmp_path / "c.png", renderer="dot")


def test_graphviz_pure_found_next_to_python(monkeypatch):
    beside = os.path.join(os.path.dirname(os.sys.executable), "graphviz-pure")
    if not os.path.exists(beside):
        pytest.skip("graphviz-pure is not installed in this environment")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert render_mod.find_binary("graphviz-pure") == beside


def test_broken_binary_falls_through(monkeypatch, tmp_path):
    monkeypatch.delenv("MINIGRAD_RENDERER", raising=False)
    monkeypatch.setattr(render_mod, "find_binary", lambda name: "/bin/false" if name == "dot" else None)
    g, *_ = scalar_expression()
    with pytest.warns(UserWarning, match="failed"):
        out = viz.render(g, tmp_path / "a.png")
    assert out.renderer == "matplotlib"


def test_large_graph_collapsed_matplotlib(tmp_path):
    from golden.viz_graphs import deep_sigmoid
    g, loss, feed, *_ = deep_sigmoid(depth=30)
    out = viz.render(g, tmp_path / "deep.png", renderer="matplotlib", collapse=True, show="both")
    _check_png(out)
    out = viz.render(g, tmp_path / "deep_full.png", renderer="matplotlib", show="both")
    _check_png(out)
