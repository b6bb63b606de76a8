"""Step-through pictures: one frame per step of the backward (or forward) pass.

Backward (``step_through``), from ``mg.backprop_steps``: each frame shows the forward
graph with

  * the current node in yellow with a red border, its upstream gradient dL/dnode,
  * red arrows pointing *back* to each input, labelled with the gradient sent,
  * nodes already handled shaded grey (with their gradients), pending ones plain,
  * the rule in words and the numbers in the caption above the graph.

Forward (``step_through_forward``), from a trace of ``g.run``: the same picture with
the values appearing node by node in execution order.

Files are named deterministically (``step_000.png``, ``forward_000.png`` ...) next to
an animated GIF of all frames and a text log of the same steps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import minigrad as mg

from . import style
from .dot import scene_to_dot
from .renderers import render
from .scene import SceneEdge, build_scene
from .summary import summarize


@dataclass
class StepThrough:
    frames: list                      # PNG paths, in order
    gif: str | None
    log: str
    renderer: str
    steps: list = field(default_factory=list)   # the BackpropSteps (or trace entries)


def step_through(loss, feed, out_dir, wrt=None, *, direction="backward", renderer=None,
                 rankdir="LR", frame_ms=1500, gif=True) -> StepThrough:
    """Write one PNG per backprop step of ``loss`` to ``out_dir``, plus a GIF and a log.

    ``wrt`` as in ``mg.backprop_steps`` (default: every parameter and float placeholder).
    ``direction="forward"`` steps through the forward pass instead (see
    ``step_through_forward``). Note: like ``mg.grad``, this adds the gradient nodes
    to ``loss``'s graph if they were not there yet.
    """
    if direction == "forward":
        return step_through_forward(loss, feed, out_dir, renderer=renderer, rankdir=rankdir,
                                    frame_ms=frame_ms, gif=gif)
    if direction != "backward":
        raise ValueError(f"direction must be 'backward' or 'forward', got {direction!r}")
    steps = list(mg.backprop_steps(loss, feed, wrt))
    position = {s.node: s.index for s in steps}
    frames, used = [], None
    os.makedirs(out_dir, exist_ok=True)
    for step in steps:
        scene = build_scene(loss, show="forward", rankdir=rankdir, tooltips=False,
                            title=f"Backprop step {step.index + 1} of {len(steps)}: {step.node.name}")
        for done in steps[:step.index]:
            sn = scene.find(done.node)
            sn.lines += ["= " + summarize(done.value), "grad " + summarize(done.upstream)]
            scene.mark(sn.key, "done")
        for sn in scene.nodes.values():
            if position.get(sn.node, -1) > step.index:
                scene.mark(sn.key, "pending")
        current = scene.find(step.node)
        current.lines += ["= " + summarize(step.value), "upstream " + summarize(step.upstream)]
        scene.mark(current.key, "current")
        for inp, g in step.sent:
            for edge in scene.edges:
                if edge.src == scene.key_of(inp) and edge.dst == current.key:
                    _as_step_edge(edge, "sends " + summarize(g))
        scene.caption = _backward_caption(step)
        path = render(scene_to_dot(scene), os.path.join(out_dir, f"step_{step.index:03d}.png"), renderer)
        frames.append(path)
        used = path.renderer
    log = os.path.join(out_dir, "steps.txt")
    with open(log, "w") as f:
        f.write(f"Backprop through {loss.name}: {len(steps)} steps, loss first.\n\n")
        f.write("\n\n".join(str(s) for s in steps) + "\n")
    gif_path = _write_gif(frames, os.path.join(out_dir, "backprop.gif"), frame_ms) if gif and frames else None
    return StepThrough(frames, gif_path, log, used, steps)


def _as_step_edge(edge: SceneEdge, label: str) -> None:
    edge.kind, edge.color, edge.width, edge.style = "step", style.EDGE_STEP, 3.0, "solid"
    edge.back, edge.label = True, label


def _backward_caption(step) -> list:
    node = step.node
    lines = [f"{node.name} = {node.op.name}({', '.join(i.name for i in node.inputs)})"
             if node.inputs else f"{node.name} is a {node.op.name}: its gradient is what arrived",
             f"upstream  dL/d({node.name}) = {summarize(step.upstream)}"]
    if step.rule:
        lines.append(f"rule      {step.rule}")
    for inp, g in step.sent:
        lines.append(f"sends     dL/d({inp.name}) += {summarize(g)}")
    return lines


def step_through_forward(fetches, feed, out_dir, *, renderer=None, rankdir="LR", frame_ms=1200,
                         gif=True) -> StepThrough:
    """One PNG per executed op of ``g.run(fetches, feed)``: values appear in execution order.

    Frame 0 shows the leaves (fed placeholders, parameters, constants) loaded; each
    following frame computes one node from its inputs.
    """
    targets = [fetches] if isinstance(fetches, mg.Tensor) else list(fetches)
    graph = targets[0].graph
    _, trace = graph.run(targets, feed, trace=True)
    leaves = [e for e in trace if not e.node.inputs]
    ops = [e for e in trace if e.node.inputs]
    frames, used = [], None
    os.makedirs(out_dir, exist_ok=True)
    for k in range(len(ops) + 1):
        current = ops[k - 1] if k else None
        title = (f"Forward step {k} of {len(ops)}: {current.node.name}" if current
                 else f"Forward step 0 of {len(ops)}: load the leaves")
        scene = build_scene(targets, show="forward", rankdir=rankdir, tooltips=False, title=title)
        finished = leaves + ops[:max(0, k - 1)]
        for entry in finished:
            sn = scene.find(entry.node)
            if sn is not None:
                sn.lines.append("= " + summarize(entry.value))
                scene.mark(sn.key, "done")
        for entry in ops[k:]:
            sn = scene.find(entry.node)
            if sn is not None:
                scene.mark(sn.key, "pending")
        if current is not None:
            sn = scene.find(current.node)
            sn.lines.append("= " + summarize(current.value))
            scene.mark(sn.key, "current")
            for edge in scene.edges:
                if edge.dst == sn.key:
                    edge.kind, edge.color, edge.width = "step", style.EDGE_STEP, 3.0
            values = {e.node: e.value for e in trace}
            node = current.node
            scene.caption = [f"{node.name} = {node.op.name}({', '.join(i.name for i in node.inputs)})",
                             f"value     {summarize(current.value)}"]
            scene.caption += [f"input     {i.name} = {summarize(values[i])}" for i in node.inputs if i in values]
        else:
            scene.caption = ["placeholders are fed, parameters and constants hold their arrays"]
        path = render(scene_to_dot(scene), os.path.join(out_dir, f"forward_{k:03d}.png"), renderer)
        frames.append(path)
        used = path.renderer
    log = os.path.join(out_dir, "forward.txt")
    with open(log, "w") as f:
        for k, entry in enumerate(ops, 1):
            node = entry.node
            f.write(f"step {k}: {node.name} = {node.op.name}({', '.join(i.name for i in node.inputs)})"
                    f"  ->  {summarize(entry.value)}  ({entry.seconds * 1e3:.3f} ms)\n")
    gif_path = _write_gif(frames, os.path.join(out_dir, "forward.gif"), frame_ms) if gif and frames else None
    return StepThrough(frames, gif_path, log, used, ops)


def _write_gif(frames, path, frame_ms) -> str:
    """An animated GIF of the frames, each padded onto a white canvas of the largest size."""
    from PIL import Image
    images = [Image.open(p).convert("RGB") for p in frames]
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    scale = min(1.0, 1600 / width)             # keep the GIF a reasonable size
    canvas = []
    for im in images:
        page = Image.new("RGB", (width, height), "white")
        page.paste(im, (0, 0))
        if scale < 1:
            page = page.resize((int(width * scale), int(height * scale)), Image.LANCZOS)
        canvas.append(page.convert("P", palette=Image.ADAPTIVE, colors=255))
    canvas[0].save(path, save_all=True, append_images=canvas[1:], duration=frame_ms, loop=0)
    return path
