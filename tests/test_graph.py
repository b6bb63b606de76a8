"""Building graphs: names, scopes, locations, leaves, and the errors of misuse."""

import numpy as np
import pytest

import minigrad as mg


def test_nodes_record_op_inputs_shape_dtype_and_user_location():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", shape=(None, 3))
        W = mg.parameter("W", np.ones((3, 4), "float32"))
        y = x @ W  # this line is the location
    assert y.op.name == "matmul" and y.inputs == (x, W)
    assert y.shape == (None, 4) and y.dtype == np.float32
    assert y.location.endswith(f"test_graph.py:{_line_of('y = x @ W')}")
    assert [n.id for n in g.nodes] == list(range(len(g.nodes)))


def _line_of(text):
    import inspect
    src = inspect.getsource(test_nodes_record_op_inputs_shape_dtype_and_user_location).splitlines()
    start = test_nodes_record_op_inputs_shape_dtype_and_user_location.__code__.co_firstlineno
    return start + next(i for i, line in enumerate(src) if text in line)


def test_names_are_unique_and_scoped():
    g = mg.Graph()
    with g:
        a = mg.placeholder("a", ())
        with mg.name_scope("dense1"):
            b = a + 1
            c = a + 2
            with mg.name_scope("inner"):
                d = a * 3
        e = a + 4
    assert b.name == "dense1/add" and c.name == "dense1/add_1"
    assert d.name == "dense1/inner/mul" and d.scope == "dense1/inner"
    assert e.name == "add"
    assert len({n.name for n in g.nodes}) == len(g.nodes)


def test_python_numbers_become_constants_of_the_tensor_dtype():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (2,), "float32")
        y = 2 * x + 1.5
        z = 10.0 / x
    assert y.dtype == np.float32 and z.dtype == np.float32
    consts = [n for n in g.nodes if n.op.name == "constant"]
    assert all(c.dtype == np.float32 for c in consts)
    np.testing.assert_allclose(g.run(z, {x: [2.0, 4.0]}), [5.0, 2.5])


def test_numpy_array_on_the_left_defers_to_the_tensor():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (3,), "float64")
        y = np.array([1.0, 2.0, 3.0]) * x
    assert isinstance(y, mg.Tensor)
    np.testing.assert_allclose(g.run(y, {x: np.ones(3)}), [1, 2, 3])


def test_leaves_outside_a_graph_raise_graph_error_saying_what_to_do():
    with pytest.raises(mg.GraphError, match="with g:"):
        mg.placeholder("x", (3,))


def test_mixing_graphs_is_a_graph_error_naming_both():
    g1, g2 = mg.Graph("first"), mg.Graph("second")
    with g1:
        a = mg.placeholder("a", ())
    with g2:
        b = mg.placeholder("b", ())
    with pytest.raises(mg.GraphError, match="first.*second|second.*first"):
        a + b


def test_ops_on_tensors_work_outside_the_with_block():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", ())
    y = x * 3  # the graph comes from x
    assert y.graph is g
    assert float(g.run(y, {x: 2.0})) == 6.0


def test_symbolic_tensors_refuse_bool_and_iteration():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (3,))
    with pytest.raises(TypeError, match="mg.where"):
        bool(x > 0)
    with pytest.raises(TypeError):
        list(x)


def test_parameter_values_are_owned_copies():
    g = mg.Graph()
    arr = np.zeros(3, "float32")
    with g:
        w = mg.parameter("w", arr)
    arr[0] = 5
    assert w.value[0] == 0


def test_topological_order_of_a_10000_node_chain_needs_no_recursion():
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (), "float64")
        y = x
        for _ in range(10_000):
            y = y * 1.0001 + 0.0
        dx = mg.grad(y, x)
    order = g.topo_order([y, dx])
    assert order.index(x) < order.index(y) < order.index(dx)
    val, gval = g.run([y, dx], {x: 1.0})
    np.testing.assert_allclose(val, 1.0001 ** 10_000, rtol=1e-9)
    np.testing.assert_allclose(gval, 1.0001 ** 10_000, rtol=1e-9)
