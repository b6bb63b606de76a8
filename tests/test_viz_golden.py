"""Golden DOT files: the exact DOT text for a few small graphs must not change by accident.

A deliberate change of the pictures? Regenerate and review the diff:

    MINIGRAD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_viz_golden.py
"""

import os

import minigrad as mg
import pytest

import viz
from golden.viz_graphs import mlp, scalar_expression

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
UPDATE = os.environ.get("MINIGRAD_UPDATE_GOLDEN") == "1"


def _scalar_forward():
    g, *_ = scalar_expression()
    return viz.to_dot(g, tooltips=False)


def _scalar_steps_values():
    g, y, feed, params = scalar_expression()
    mg.grad(y, params)
    return viz.to_dot(g, show="both", feed=feed, tooltips=False, title="y = relu(a*x + b) * a")


def _mlp_both():
    g, *_ = mlp()
    return viz.to_dot(g, show="both", tooltips=False)


def _mlp_collapsed_tb():
    g, *_ = mlp()
    return viz.to_dot(g, collapse=True, rankdir="TB", tooltips=False)


def _mlp_backward():
    g, *_ = mlp()
    return viz.to_dot(g, show="backward", tooltips=False)


CASES = {
    "scalar_forward.dot": _scalar_forward,
    "scalar_both_values.dot": _scalar_steps_values,
    "mlp_both.dot": _mlp_both,
    "mlp_collapsed_tb.dot": _mlp_collapsed_tb,
    "mlp_backward.dot": _mlp_backward,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_dot(name):
    source = CASES[name]().source
    path = os.path.join(GOLDEN, name)
    if UPDATE or not os.path.exists(path):
        with open(path, "w") as f:
            f.write(source)
        if not UPDATE:
            pytest.fail(f"golden file {name} was missing and has been written; review and rerun")
    with open(path) as f:
        expected = f.read()
    assert source == expected, (f"{name} changed; if intended, regenerate with "
                                "MINIGRAD_UPDATE_GOLDEN=1 and review the diff")


def test_same_graph_same_text():
    assert _mlp_both().source == _mlp_both().source
