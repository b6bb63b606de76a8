"""Fusion in compiled plans (minigrad/fusion.py): the fused kernels give the same bits
as the two ops run one after the other, and pairs are fused only when nothing else
needs the first node's value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad import kernels as K

from test_kernels import PATHS, SMALL, conv_path


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_conv_with_fused_relu_is_relu_of_conv(path, dtype, bias):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 7, 6)).astype(dtype)  # 9 channels: Winograd applies
    w = rng.standard_normal((4, 9, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    x[0, 0, 2, 3] = np.nan  # NaN must come out as NaN, as np.maximum gives
    args = ((1, 1), (1, 0), (1, 1))
    with conv_path(path):
        plain = K.conv2d_forward(x, w, b, *args)
        fused = K.conv2d_forward(x, w, b, *args, relu=True)
    assert np.isnan(plain).any() and (plain < 0).any()
    np.testing.assert_array_equal(fused, np.maximum(plain, 0))


@SMALL
@given(seed=st.integers(0, 2**16), side=st.integers(2, 9), kernel=st.integers(1, 3),
       stride=st.integers(1, 3), dtype=st.sampled_from([np.float32, np.float64]))
def test_max_pool_backward_with_fused_relu_grad(seed, side, kernel, stride, dtype):
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal((2, 3, side, side)), 0).astype(dtype)  # a relu's output
    kernel = min(kernel, side)
    k, s, p = (kernel, kernel), (stride, stride), (0, 0)
    x.flat[rng.integers(x.size)] = np.nan  # a NaN window passes nothing on either way
    y = K.max_pool2d_forward(x, k, s, p)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gy[y == 0] = np.inf  # windows that relu zeroed: even an infinite gradient stops there
    plain = K.relu_backward(K.max_pool2d_backward(gy, x, y, k, s, p), x)
    fused = K.max_pool2d_backward(gy, x, y, k, s, p, relu=True)
    np.testing.assert_array_equal(fused, plain)


def _cnn(fetch_conv_output=False, reuse_conv_output=False):
    """conv -> relu -> max-pool -> dense -> loss, with gradients."""
    rng = np.random.default_rng(0)
    g = mg.Graph("cnn")
    with g:
        x = mg.placeholder("x", (None, 2, 8, 8))
        t = mg.placeholder("t", (None,), "int64")
        w = mg.parameter("w", (rng.standard_normal((4, 2, 3, 3)) * 0.5).astype("float32"))
        b = mg.parameter("b", rng.standard_normal(4).astype("float32"))
        z = mg.conv2d(x, w, b)
        h = mg.max_pool2d(mg.relu(z), 2)
        if reuse_conv_output:
            h = h + mg.max_pool2d(z, 2)
        W = mg.parameter("W", (rng.standard_normal((36, 3)) * 0.3).astype("float32"))
        loss = mg.cross_entropy(mg.flatten(h) @ W, t)
        grads = mg.grad(loss, [w, b, W])
    fetches = [loss] + grads + ([z] if fetch_conv_output else [])
    feed = {x: rng.standard_normal((5, 2, 8, 8)).astype("float32"), t: rng.integers(0, 3, 5)}
    return g, fetches, feed


def test_compiled_plan_fuses_and_matches_the_interpreter():
    g, fetches, feed = _cnn()
    source = g.compile(fetches).source
    assert "(conv2d 'conv2d' + relu, fused)" in source
    assert "+ relu_grad, fused)" in source
    fast = g.run(fetches, feed)
    slow, trace = g.run(fetches, feed, trace=True)  # the interpreter runs every node
    assert any(e.node.op.name == "conv2d" for e in trace)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("variant", ["fetch_conv_output", "reuse_conv_output"])
def test_no_fusion_when_the_first_value_is_needed(variant):
    g, fetches, feed = _cnn(**{variant: True})
    source = g.compile(fetches).source
    assert "conv2d 'conv2d' + relu" not in source
    fast = g.run(fetches, feed)
    slow, _ = g.run(fetches, feed, trace=True)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_relu_grad_after_pool_of_another_tensor_is_not_fused():
    """relu_grad(max_pool2d_grad(g, x, y), r) fuses only when r is the pool's own x."""
    rng = np.random.default_rng(1)
    g = mg.Graph()
    with g:
        a = mg.parameter("a", rng.standard_normal((1, 1, 4, 4)).astype("float32"))
        r = mg.relu(a)
        # the pool reads relu(a) + 1, not relu(a): its backward must not be masked by y > 0
        loss = mg.sum(mg.max_pool2d(r + 1.0, 2) * mg.constant(rng.standard_normal((1, 1, 2, 2)).astype("float32")))
        (da,) = mg.grad(loss, [a])
    assert "relu_grad, fused" not in g.compile([da]).source
    fast = g.run(da)
    slow, _ = g.run(da, trace=True)
    np.testing.assert_array_equal(fast, slow)


def _two_convs():
    """conv -> relu -> conv -> loss: the second conv needs both of its gradients."""
    rng = np.random.default_rng(2)
    g = mg.Graph("two convs")
    with g:
        x = mg.placeholder("x", (None, 2, 9, 9))
        w1 = mg.parameter("w1", (rng.standard_normal((9, 2, 3, 3)) * 0.5).astype("float32"))
        w2 = mg.parameter("w2", (rng.standard_normal((3, 9, 3, 3)) * 0.5).astype("float32"))
        h = mg.conv2d(mg.relu(mg.conv2d(x, w1)), w2, padding=1)
        loss = mg.sum(h * h)
        grads = mg.grad(loss, [w1, w2])
    return g, [loss] + grads, {x: rng.standard_normal((4, 2, 9, 9)).astype("float32")}


def test_conv_gradient_siblings_run_as_one_kernel():
    """conv2d_grad_input and conv2d_grad_weight of the second conv: one line of the
    plan gives both values (kernels.conv2d_backward), the same bits as the
    interpreter, which runs them one by one."""
    g, fetches, feed = _two_convs()
    source = g.compile(fetches).source
    fused = [line for line in source.splitlines() if "one kernel" in line]
    assert len(fused) == 1 and "conv2d_grad_input + conv2d_grad_weight" in fused[0]
    assert fused[0].split("=")[0].count(",") == 1  # two values
    fast = g.run(fetches, feed)
    slow, trace = g.run(fetches, feed, trace=True)
    assert [e.node.op.name for e in trace].count("conv2d_grad_weight") == 2
    for a, b in zip(fast, slow):
        assert a.tobytes() == b.tobytes()


def test_gradients_of_different_convs_are_not_siblings():
    """Only the input and weight gradients of one conv -- the same g, w and x, the same
    stride, padding and dilation -- are fused."""
    from minigrad.ops.conv import conv2d_grad_input, conv2d_grad_weight
    rng = np.random.default_rng(3)
    g = mg.Graph()
    one, zero = (1, 1), (0, 0)
    with g:
        x, x2 = mg.placeholder("x", (2, 3, 6, 6)), mg.placeholder("x2", (2, 3, 6, 6))
        gy = mg.placeholder("gy", (2, 4, 4, 4))
        w = mg.parameter("w", rng.standard_normal((4, 3, 3, 3)).astype("float32"))
        gx = conv2d_grad_input(gy, w, x, one, zero, one)
        other = conv2d_grad_weight(gy, x2, w, one, zero, one)  # another x
        gw = conv2d_grad_weight(gy, x, w, one, zero, one)
    source = g.compile([gx, other, gw]).source
    fused = [line for line in source.splitlines() if "one kernel" in line]
    assert len(fused) == 1 and repr(gw.name) in fused[0] and repr(other.name) not in fused[0]
    feed = {x: rng.standard_normal((2, 3, 6, 6)).astype("float32"),
            x2: rng.standard_normal((2, 3, 6, 6)).astype("float32"),
            gy: rng.standard_normal((2, 4, 4, 4)).astype("float32")}
    fast = g.run([gx, other, gw], feed)
    slow, _ = g.run([gx, other, gw], feed, trace=True)
    for a, b in zip(fast, slow):
        assert a.tobytes() == b.tobytes()
    assert not np.array_equal(fast[1], fast[2])
