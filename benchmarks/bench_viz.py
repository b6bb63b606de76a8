"""Benchmark: drawing a 2,000-node graph (a deep MLP, forward + backward pass).

Targets (issue #5): collapse=True renders in under 10 s, the full graph in under 60 s.
Each renderer available on this machine is timed (dot, graphviz-pure, matplotlib),
from the minigrad graph to a PNG on disk: building the scene, the DOT text, the
layout and painting the bitmap all count.

    .venv/bin/python -m benchmarks.bench_viz          # full run, prints medians
    .venv/bin/python -m benchmarks.bench_viz --quick  # one repeat, collapsed + auto renderer
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import minigrad as mg
import viz

TARGET_S = {True: 10.0, False: 60.0}


def deep_mlp(target_nodes=2000, width=8, seed=0):
    """A stack of dense+sigmoid layers in name scopes, with its gradient: ~``target_nodes`` nodes."""
    rng = np.random.default_rng(seed)
    g = mg.Graph("bench")
    with g:
        h = mg.placeholder("x", (None, width))
        t = mg.placeholder("t", (None, width))
        params = []
        depth = 0
        while True:
            depth += 1
            with mg.name_scope(f"layer{depth}"):
                W = mg.parameter("W", rng.normal(0, 0.5, (width, width)).astype("float32"))
                b = mg.parameter("b", np.zeros(width, "float32"))
                h = mg.sigmoid(h @ W + b)
                params += [W, b]
            # forward adds 5 nodes per layer, the backward pass about 9 more
            if len(g.nodes) + 9 * depth >= target_nodes - 20:
                break
        loss = mg.mse_loss(h, t)
        mg.grad(loss, params)
    return g


def _time_render(graph, collapse, renderer, folder, repeats):
    times = []
    for k in range(repeats):
        path = os.path.join(folder, f"bench_{renderer}_{collapse}_{k}.png")
        start = time.perf_counter()
        out = viz.render(graph, path, renderer=renderer, collapse=collapse, show="both")
        times.append(time.perf_counter() - start)
        assert out.renderer == renderer
    return times


def run(quick=False) -> list:
    """Time each (renderer, collapse) case; return one dict per case with the median seconds."""
    graph = deep_mlp()
    renderers = viz.available_renderers()
    cases = [(True, renderers[0])] if quick else [(c, r) for c in (True, False) for r in renderers]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for collapse, renderer in cases:
            repeats = 1 if quick or not collapse else 3
            times = _time_render(graph, collapse, renderer, folder, repeats)
            median = statistics.median(times)
            # row format of benchmarks/run.py; there is no reference implementation to compare
            results.append({"case": f"viz.render {len(graph.nodes)} nodes collapse={collapse} [{renderer}]",
                            "minigrad_ms": round(median * 1e3, 1), "ref_name": "-", "ref_ms": None,
                            "ratio": None, "renderer": renderer, "nodes": len(graph.nodes),
                            "repeats": repeats, "target_s": TARGET_S[collapse],
                            "ok": median < TARGET_S[collapse]})
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for r in run(quick=args.quick):
        status = "ok" if r["ok"] else "SLOW"
        print(f"{r['case']:<52} median {r['minigrad_ms'] / 1e3:7.2f} s "
              f"(target < {r['target_s']:.0f} s, {r['repeats']} runs)  {status}")


if __name__ == "__main__":
    main()
