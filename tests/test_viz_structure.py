"""viz structure: what to_dot / to_networkx put in a picture (nodes, edges, labels, styles)."""

import re

import networkx as nx
import numpy as np
import pytest

import minigrad as mg
import viz
from viz import style
from golden.viz_graphs import deep_sigmoid, mlp, scalar_expression


def _node_lines(pic):
    return {m.group(1): m.group(0) for m in re.finditer(r"^\s*(n\d+|layer_\w+) \[.*$", pic.source, re.M)}


def _edges(pic):
    return re.findall(r"^\s*(\w+) -> (\w+)", pic.source, re.M)


def test_forward_nodes_edges_and_labels():
    g, y, feed, _ = scalar_expression()
    pic = viz.to_dot(g)
    assert isinstance(pic, viz.GraphPicture)
    lines = _node_lines(pic)
    forward = [n for n in g.nodes if not n.is_gradient]
    assert set(lines) == {f"n{n.id}" for n in forward}
    expected = {(f"n{i.id}", f"n{n.id}") for n in forward for i in n.inputs}
    assert set(_edges(pic)) == expected
    a = g.by_name("a")
    assert "<b>a</b>" in lines[f"n{a.id}"] and "parameter () float32" in lines[f"n{a.id}"]
    assert style.KINDS["parameter"].fill in lines[f"n{a.id}"]
    assert style.KINDS["placeholder"].fill in lines[f"n{g.by_name('x').id}"]
    assert style.KINDS["output"].fill in lines[f"n{y.id}"]      # nothing reads y: an output
    assert "legend" in pic.source


def test_values_and_gradients_in_labels():
    g, y, feed, params = scalar_expression()
    mg.grad(y, params)
    pic = viz.to_dot(g, feed=feed)
    line = _node_lines(pic)[f"n{y.id}"]
    assert "= 10" in line and "grad 1" in line
    a_line = _node_lines(pic)[f"n{params[0].id}"]
    assert "= 2" in a_line and "grad 13<" in a_line     # dy/da = relu(ax+b) + a*x = 5 + 8


def test_both_backward_and_clusters():
    g, loss, feed, params, grads = mlp()
    both = viz.to_dot(g, show="both")
    src = both.source
    assert "cluster_" in src and "label=dense1" in src and '"dense1 (backward)"' in src
    assert "dL/d(W)" in src and style.KINDS["gradient"].fill in src
    assert len(_node_lines(both)) == len(g.nodes)
    back = viz.to_dot(g, show="backward")
    lines = _node_lines(back)
    grad_nodes = {f"n{n.id}" for n in g.nodes if n.is_gradient}
    assert grad_nodes <= set(lines)
    ghosts = set(lines) - grad_nodes
    assert ghosts and all(style.KINDS["ghost"].fill in lines[k] for k in ghosts)
    ties = viz.to_dot(g, show="both", ties=True).source
    assert "style=dashed" in ties


def test_collapse_makes_one_box_per_layer():
    g, loss, feed, params, grads = mlp()
    pic = viz.to_dot(g, collapse=True)
    lines = _node_lines(pic)
    assert {"layer_dense1", "layer_dense2"} <= set(lines)
    assert "W (3, 4), b (4,) = 16 weights" in lines["layer_dense1"]
    assert ("layer_dense1", "layer_dense2") in set(_edges(pic))
    both = viz.to_dot(g, collapse=True, show="both")
    assert "layer_grad_dense1" in _node_lines(both)
    only_one = viz.to_dot(g, collapse=["dense2"])
    assert "layer_dense2" in _node_lines(only_one) and "layer_dense1" not in _node_lines(only_one)


def test_gradient_flow_colours_edges_and_adds_colorbar():
    g, loss, feed, params, grads = deep_sigmoid(depth=6)
    scene = viz.build_scene(g, feed=feed, gradient_flow=True)
    assert scene.colorbars and scene.colorbars[0].log
    mags = {}
    for e in scene.edges:
        node = scene.nodes[e.dst].node
        if e.magnitude and node.op.name == "matmul" and node.inputs[1].op.name == "parameter":
            mags[node.scope] = e.magnitude
    # vanishing gradients: the first layer receives much less than the last
    assert mags["layer1"] < mags["layer6"] / 10
    widths = {e.width for e in scene.edges if e.magnitude}
    assert len(widths) > 3
    pic = viz.to_dot(g, feed=feed, gradient_flow=True)
    assert "log scale" in pic.source


def test_gradient_flow_marks_dead_relu():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (2, 2))
        W = mg.parameter("W", -np.ones((2, 2), "float32"))
        mg.relu(x @ W).sum()
    pic = viz.to_dot(g, feed={x: np.ones((2, 2), "float32")}, gradient_flow=True)   # builds mg.grad
    assert style.EDGE_DEAD in pic.source and "zeros: 100%" in pic.source


def test_highlights_nan_gradcheck_and_timing():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (3,))
        y = mg.log(x)
        z = (y * 2).sum()
    with pytest.raises(mg.NumericsError) as info:
        g.run(z, {x: np.array([1, 0, -1], "float32")}, check_numerics=True)
    pic = viz.to_dot(g, highlight=info.value, gradcheck_failures=["mul"])
    lines = _node_lines(pic)
    assert style.HIGHLIGHTS["nan"].fill in lines[f"n{info.value.node.id}"]
    assert "first NaN/Inf here" in lines[f"n{info.value.node.id}"]
    assert "gradcheck FAILED" in lines[f"n{g.by_name('mul').id}"]
    assert "first NaN/Inf" in pic.source and "gradcheck failed" in pic.source   # legend
    _, trace = g.run(z, {x: np.array([1, 2, 3], "float32")}, trace=True)
    timed = viz.to_dot(g, values=trace, timing=True)
    assert "run time (ms)" in timed.source and " ms" in _node_lines(timed)[f"n{y.id}"]
    plain = viz.to_dot(g, highlight=["log"])
    assert style.HIGHLIGHTS["highlight"].border in _node_lines(plain)[f"n{y.id}"]


def test_tensors_and_rankdir():
    g, loss, feed, params, grads = mlp()
    pic = viz.to_dot(grads[0], rankdir="TB")           # just dL/dW1 and what it needs
    assert "rankdir=TB" in pic.source
    assert len(_node_lines(pic)) == len(g.topo_order([grads[0]]))
    with pytest.raises(ValueError):
        viz.to_dot(g, show="sideways")


def test_to_networkx_attributes():
    g, loss, feed, params, grads = mlp()
    d = viz.to_networkx(g)
    assert isinstance(d, nx.DiGraph) and d.number_of_nodes() == len(g.nodes)
    assert nx.is_directed_acyclic_graph(d)
    w = d.nodes["dense1/W"]
    assert w["op"] == "parameter" and w["shape"] == (3, 4) and w["dtype"] == "float32" and w["kind"] == "parameter"
    assert w["origin"] is None and w["scope"] == "dense1"
    dw = d.nodes[grads[0].name]
    assert dw["kind"] == "gradient" and dw["origin"] == "dense1/matmul" and dw["is_gradient"]
    assert d.edges["x", "dense1/matmul"]["index"] == 0 and d.edges["x", "dense1/matmul"]["kind"] == "data"
    fwd = viz.to_networkx(g, show="forward")
    assert not any(a["is_gradient"] for _, a in fwd.nodes(data=True))


def test_jupyter_repr(monkeypatch):
    monkeypatch.setenv("MINIGRAD_RENDERER", "matplotlib")
    g, y, feed, _ = scalar_expression()
    pic = viz.to_dot(g)
    assert pic._repr_svg_().lstrip().startswith(("<?xml", "<svg"))
    assert pic._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/svg+xml" in pic._repr_mimebundle_()


def test_viz_is_not_imported_by_minigrad():
    import subprocess
    import sys
    code = "import sys, minigrad; assert 'viz' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def _second_order_graph():
    g = mg.Graph("hvp")
    with g:
        x = mg.placeholder("x", (3,), "float64")
        v = mg.placeholder("v", (3,), "float64")
        with mg.name_scope("layer"):
            y = (mg.tanh(x) * x).sum()
        gx = mg.grad(y, x)
        hv = mg.grad((gx * v).sum(), x)
    return g, x, v, gx, hv


def test_each_grad_call_is_its_own_backward_pass():
    """Two mg.grad calls (here a gradient of a gradient) are two passes, scoped grad and
    grad_2, drawn as two clusters; the derivative of the first pass's nodes sits
    inside the second, labelled as such; so in the backward view and collapsed."""
    g, x, v, gx, hv = _second_order_graph()
    assert gx.name.startswith("grad/") and hv.name.startswith("grad_2/")
    scopes = {n.scope.split("/")[0] for n in g.nodes if n.is_gradient}
    assert scopes == {"grad", "grad_2"}
    assert any(n.scope.startswith("grad_2/grad") for n in g.nodes)
    for show in ("both", "backward"):
        src = viz.to_dot(g, show=show).source
        assert "label=\"backward pass\"" in src and "label=\"backward pass 2\"" in src, show
        assert "label=\"backward of backward pass\"" in src, show
    collapsed = _node_lines(viz.to_dot(g, collapse=True, show="both"))
    assert {"layer_grad_layer", "layer_grad_2_layer", "layer_grad_2_grad"} <= set(collapsed)
    assert "backward of backward pass" in collapsed["layer_grad_2_grad"]
    assert "top level (backward pass 2)" in " ".join(collapsed.values())
    hv_value = g.run(hv, {x: np.ones(3), v: np.ones(3)})
    assert np.all(np.isfinite(hv_value))


def test_one_backward_pass_needs_no_pass_box_in_the_backward_view():
    g, loss, feed, params, grads = mlp()
    src = viz.to_dot(g, show="backward").source
    assert "label=\"backward pass" not in src and '"dense1 (backward)"' in src


def test_backward_pass_scopes_with_grad_output_and_cache():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (2,), "float64")
        y = (x * x).sum()
        first = mg.grad(y, x)
        again = mg.grad(y, x)                               # cached: no new pass
        seeded = mg.grad(y, x, grad_output=np.array(2.0))   # a new pass
    assert again is first or again.name == first.name
    assert first.name.startswith("grad/") and seeded.name.startswith("grad_2/")
