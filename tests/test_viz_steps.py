"""Step-through frames: one PNG per step, deterministic names, a GIF and a log."""

import os

import pytest
from PIL import Image

import viz
from golden.viz_graphs import mlp, scalar_expression


@pytest.mark.parametrize("renderer", ["matplotlib", None])
def test_backprop_frames(tmp_path, renderer):
    g, y, feed, params = scalar_expression()
    result = viz.step_through(y, feed, tmp_path, renderer=renderer)
    names = sorted(os.listdir(tmp_path))
    steps = len(result.steps)
    assert steps == 7
    assert [os.path.basename(f) for f in result.frames] == [f"step_{i:03d}.png" for i in range(steps)]
    assert "backprop.gif" in names and "steps.txt" in names
    with Image.open(result.gif) as gif:
        assert gif.n_frames == steps
    log = open(result.log).read()
    assert "step 0: mul_1" in log and "rule" in log and "sends" in log
    with Image.open(result.frames[2]) as im:
        assert im.width > 400 and im.height > 200


def test_forward_frames_and_wrt(tmp_path):
    g, loss, feed, params, grads = mlp()
    fwd = viz.step_through_forward(loss, feed, tmp_path / "f", renderer="matplotlib")
    ops = [n for n in g.topo_order([loss]) if n.inputs]
    assert len(fwd.frames) == len(ops) + 1
    assert os.path.basename(fwd.frames[-1]) == f"forward_{len(ops):03d}.png"
    assert os.path.exists(fwd.gif) and "step 1:" in open(fwd.log).read()
    back = viz.step_through(loss, feed, tmp_path / "b", wrt=params[2:], renderer="matplotlib", gif=False)
    assert back.gif is None and len(back.frames) == len(back.steps)
    via_arg = viz.step_through(loss, feed, tmp_path / "c", direction="forward", renderer="matplotlib", gif=False)
    assert len(via_arg.frames) == len(fwd.frames)
