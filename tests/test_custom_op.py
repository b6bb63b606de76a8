"""A learner's custom op behaves like a built-in: recorded, differentiated, stepped
through, drawn and gradient-checked."""

import numpy as np
import pytest

import minigrad as mg


class Cube(mg.Op):
    """x ** 3, written as a learner would."""
    name = "cube_test"
    rule = "dL/d{a} = dL/d{out} * 3 * {a}**2"

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        return x * x * x

    def vjp(self, node, g):
        x = node.inputs[0]
        return (g * 3.0 * x * x,)


@pytest.fixture
def cube():
    fn = mg.register(Cube)
    yield fn
    mg.REGISTRY.pop("cube_test")


def test_custom_op_is_recorded_run_and_differentiated(cube, tmp_path):
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 2), "float64")
        y = cube(x * 2.0)
        loss = y.sum()
        dx = mg.grad(loss, x)
    assert y.op.name == "cube_test" and "test_custom_op.py:" in y.location
    X = np.array([[1.0, -2.0], [0.5, 3.0]])
    out, gx = g.run([loss, dx], {x: X})
    np.testing.assert_allclose(out, np.sum((2 * X) ** 3))
    np.testing.assert_allclose(gx, 3 * (2 * X) ** 2 * 2)
    # second derivative through the custom VJP (it is made of ops)
    ddx = mg.grad(dx.sum(), x)
    np.testing.assert_allclose(g.run(ddx, {x: X}), 6 * (2 * X) * 4)

    steps = list(mg.backprop_steps(loss, {x: X}))
    cube_step = next(s for s in steps if s.node is y)
    assert "dL/dmul = dL/dcube_test * 3 * mul**2" in cube_step.rule

    assert mg.testing.gradcheck(lambda a: cube(a).sum(), [X]).ok

    viz = pytest.importorskip("viz")
    dot = viz.to_dot(g, show="both")
    assert "cube_test" in dot.source
    png = viz.render(g, str(tmp_path / "cube.png"), renderer="matplotlib")
    assert (tmp_path / "cube.png").stat().st_size > 1000 and png.renderer == "matplotlib"


def test_a_custom_op_with_a_wrong_vjp_shape_is_caught_at_grad_time(cube):
    class Bad(Cube):
        name = "bad_shape_test"

        def vjp(self, node, g):
            return (g.sum(),)

    bad = mg.register(Bad)
    try:
        g = mg.Graph()
        with g:
            x = mg.placeholder("x", (3,), "float64")
            loss = bad(x).sum()
            with pytest.raises(mg.ShapeError, match=r"vjp of op 'bad_shape_test' returned a gradient of shape \(\)"):
                mg.grad(loss, x)
    finally:
        mg.REGISTRY.pop("bad_shape_test")
