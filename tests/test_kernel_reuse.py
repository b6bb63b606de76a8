"""The run scope of minigrad/kernels/reuse.py: work is shared only inside a scope,
only for the very same array object, and a training step gives the same numbers with
and without it."""

from __future__ import annotations

import contextlib
from collections import Counter

import numpy as np

import minigrad as mg
from minigrad import kernels as K
from minigrad.kernels import reuse


def test_remember_computes_once_per_array_inside_a_scope():
    calls = []
    a, b = np.ones(3), np.ones(3)

    def compute():
        calls.append(1)
        return len(calls)

    with reuse.run_scope():
        assert reuse.remember("k", (a,), (1,), compute) == 1
        assert reuse.remember("k", (a,), (1,), compute) == 1      # reused
        assert reuse.remember("k", (b,), (1,), compute) == 2      # equal content, other array
        assert reuse.remember("k", (a,), (2,), compute) == 3      # other parameters
        assert reuse.remember("other", (a,), (1,), compute) == 4  # other kind
    assert reuse.remember("k", (a,), (1,), compute) == 5          # no scope: always computed
    assert reuse.remember("k", (a,), (1,), compute) == 6


def test_scopes_nest_and_forget():
    a = np.ones(2)
    with reuse.run_scope():
        first = reuse.remember("k", (a,), (), lambda: object())
        with reuse.run_scope():
            assert reuse.remember("k", (a,), (), lambda: object()) is not first
        assert reuse.remember("k", (a,), (), lambda: object()) is first
    with reuse.run_scope():
        assert reuse.remember("k", (a,), (), lambda: object()) is not first


def test_conv_kernels_outside_a_scope_see_in_place_changes():
    """A finite-difference check changes x in place between calls: nothing may be stale."""
    rng = np.random.default_rng(0)
    for shape, w_shape in [((2, 8, 6, 6), (3, 8, 3, 3)), ((2, 2, 6, 6), (3, 2, 3, 3))]:
        x, w = rng.standard_normal(shape), rng.standard_normal(w_shape)
        gy = rng.standard_normal((2, 3, 4, 4))
        args = ((1, 1), (0, 0), (1, 1))
        before = K.conv2d_grad_weight(gy, x, w.shape, *args)
        x += 1.0
        after = K.conv2d_grad_weight(gy, x, w.shape, *args)
        np.testing.assert_allclose(after, K.conv2d_grad_weight_reference(gy, x, w.shape, *args), rtol=1e-10)
        assert not np.allclose(before, after)


def test_training_step_same_with_and_without_reuse(monkeypatch):
    rng = np.random.default_rng(1)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 20, 7, 7), "float64")
        x3 = mg.placeholder("x3", (None, 3, 7, 7), "float64")
        w1 = mg.parameter("w1", rng.standard_normal((8, 20, 3, 3)) * 0.1)  # Winograd path
        w2 = mg.parameter("w2", rng.standard_normal((4, 8, 2, 2)) * 0.1)   # im2col path (strided)
        w3 = mg.parameter("w3", rng.standard_normal((4, 3, 3, 3)) * 0.1)   # blocked path
        h = mg.relu(mg.conv2d(x, w1, padding=1))
        loss = mg.conv2d(h, w2, stride=2).sum() + mg.conv2d(x3, w3, padding=1).sum()
        grads = mg.grad(loss, [w1, w2, w3, x, x3])
    feed = {x: rng.standard_normal((3, 20, 7, 7)), x3: rng.standard_normal((3, 3, 7, 7))}
    asked, computed = [], []
    remember = reuse.remember

    def spy(kind, arrays, params, compute, uses=2):
        asked.append(kind)
        return remember(kind, arrays, params, lambda: computed.append(kind) or compute(), uses)

    monkeypatch.setattr(reuse, "remember", spy)
    with_reuse = g.run(grads, feed)
    # all three convs: the input rearranged (or padded) once for forward + weight
    # gradient, the output gradient once for both gradients; each broadcast gradient
    # of sum() made contiguous once for both.  The Winograd and im2col convs compute
    # both gradients in one call (fusion.py), which asks for the output gradient's
    # rearrangement (and a contiguous gy) once; the blocked one runs them one by one.
    # Where Winograd's chunks run as compiled code (gemm_simd.all_compiled) they keep no
    # input tiles: they work on groups of images and transform each group again.
    from minigrad.kernels import gemm_simd
    tiles = 3 * 4 * 4  # 3 images of 4x4 tiles
    compiled_forward = gemm_simd.all_compiled(tiles, np.float64)
    from minigrad.kernels import winograd
    compiled_backward = winograd._gradients_compiled([(0, 3)], 4, 4, 20, 8, np.float64)
    winograd_input = (0 if compiled_forward else 1) + (0 if compiled_backward else 1)
    winograd_output = 0 if compiled_backward else 1
    columns = 3 * 3 * 3  # 3 images of 3x3 outputs (the strided im2col conv)
    im2col_backward = gemm_simd.all_compiled(columns, np.float64, dots=((4, columns), (8 * 2 * 2, columns)))
    assert sorted(computed) == sorted(["contiguous", "contiguous", "direct padded input", "im2col"]
                                      + ["gradient columns"] * (not im2col_backward)
                                      + ["winograd input"] * (winograd_input > 0)
                                      + ["winograd output gradient"] * winograd_output)
    assert Counter(asked) == Counter({"winograd input": winograd_input, "im2col": 2, "direct padded input": 2,
                                      "winograd output gradient": winograd_output,
                                      "gradient columns": 0 if im2col_backward else 1, "contiguous": 3})
    monkeypatch.setattr(reuse, "run_scope", contextlib.nullcontext)
    import minigrad.executor as executor
    monkeypatch.setattr(executor, "run_scope", contextlib.nullcontext)
    without = g.run(grads, feed)
    for a, b in zip(with_reuse, without):
        np.testing.assert_array_equal(a, b)


def test_mixed_paths_leave_nothing_behind():
    """A 5x5 conv: blocked forward and weight gradient, im2col input gradient.  The
    input gradient's rearranged gy has no second user then, so it is not kept."""
    from minigrad import kernels as K
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 13, 13)), rng.standard_normal((4, 3, 5, 5))
    args = ((1, 1), (0, 0), (1, 1))
    paths = [K.conv2d_path(x.shape, w.shape, *args, op=op) for op in ("forward", "grad_input", "grad_weight")]
    assert paths == ["blocked", "im2col", "blocked"]
    with reuse.run_scope():
        y = K.conv2d_forward(x, w, None, *args)
        K.conv2d_grad_input(y, w, x.shape, *args)
        K.conv2d_grad_weight(y, x, w.shape, *args)
        left = [key[0] for key in reuse.current_table()]
    assert "gradient columns" not in left and "direct padded input" not in left


def test_entries_are_forgotten_after_their_uses():
    a = np.ones(2)
    calls = []
    with reuse.run_scope():
        for _ in range(3):
            reuse.remember("k", (a,), (), lambda: calls.append(1) or len(calls), uses=2)
    assert len(calls) == 2  # computed, reused once, then forgotten and computed again


def test_one_input_into_two_convs_with_different_geometry():
    """The same x feeds a padded and an unpadded conv in one run: the rearranged
    inputs are keyed by geometry, so each conv gets its own (checked against the
    reference, gradients included); a non-contiguous x goes through the contiguous
    copy that is shared too."""
    rng = np.random.default_rng(2)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 8, 7, 7), "float64")
        w = mg.parameter("w", rng.standard_normal((3, 8, 3, 3)))
        w5 = mg.parameter("w5", rng.standard_normal((3, 8, 3, 3)))
        a = mg.conv2d(x, w, padding=1)                 # Winograd, padding 1
        b = mg.conv2d(x, w5)                           # Winograd, no padding
        c = mg.conv2d(x, w, stride=2)                  # im2col, stride 2
        loss = a.sum() + (b * b).sum() + c.sum()
        grads = mg.grad(loss, [w, w5, x])
    X = np.asfortranarray(rng.standard_normal((2, 8, 7, 7)))  # not C-contiguous
    got = g.run(grads, {x: X})
    one, zero, two = (1, 1), (0, 0), (2, 2)
    Xc = np.ascontiguousarray(X)
    ya = np.ones((2, 3, 7, 7))
    yb = 2 * K.conv2d_forward_reference(Xc, w5.value, None, one, zero, one)
    yc = np.ones((2, 3, 3, 3))
    gw = (K.conv2d_grad_weight_reference(ya, Xc, w.value.shape, one, one, one)
          + K.conv2d_grad_weight_reference(yc, Xc, w.value.shape, two, zero, one))
    gw5 = K.conv2d_grad_weight_reference(yb, Xc, w5.value.shape, one, zero, one)
    gx = (K.conv2d_grad_input_reference(ya, w.value, Xc.shape, one, one, one)
          + K.conv2d_grad_input_reference(yb, w5.value, Xc.shape, one, zero, one)
          + K.conv2d_grad_input_reference(yc, w.value, Xc.shape, two, zero, one))
    for value, want in zip(got, [gw, gw5, gx]):
        np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-9)


def test_forward_only_runs_open_no_scope(monkeypatch):
    """Only plans with conv gradients share work: a forward pass keeps no columns alive."""
    opened = []
    import minigrad.executor as executor
    real = executor.run_scope

    def counting():
        opened.append(1)
        return real()

    monkeypatch.setattr(executor, "run_scope", counting)
    rng = np.random.default_rng(3)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 8, 5, 5), "float64")
        w = mg.parameter("w", rng.standard_normal((2, 8, 3, 3)))
        y = mg.conv2d(x, w)
        gw = mg.grad(y.sum(), w)
    X = rng.standard_normal((1, 8, 5, 5))
    g.run(y, {x: X})
    assert opened == []
    g.run(gw, {x: X})
    assert opened == [1]


def test_bias_gradient_comes_from_the_gradient_kernels(monkeypatch):
    """In a step the bias gradient is the by-product of rearranging the output gradient
    (im2col and Winograd paths), with the reference's value; asked alone, it is summed."""
    conv_module = __import__("minigrad.kernels.conv", fromlist=["_channel_sums"])
    summed = []
    channel_sums = conv_module._channel_sums
    monkeypatch.setattr(conv_module, "_channel_sums", lambda *a: summed.append(1) or channel_sums(*a))
    rng = np.random.default_rng(4)
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 8, 7, 7), "float32")
        w1 = mg.parameter("w1", (rng.standard_normal((8, 8, 3, 3)) * 0.1).astype("float32"))  # Winograd
        w2 = mg.parameter("w2", (rng.standard_normal((4, 8, 2, 2)) * 0.1).astype("float32"))  # im2col
        b1 = mg.parameter("b1", np.zeros(8, "float32"))
        b2 = mg.parameter("b2", np.zeros(4, "float32"))
        h = mg.conv2d(x, w1, b1, padding=1)
        y = mg.conv2d(h * h, w2, b2)
        loss = (y * y).sum()
        grads = mg.grad(loss, [w1, w2, b1, b2])
        (b_only,) = mg.grad(loss, [b2])
    feed = {x: rng.standard_normal((3, 8, 7, 7)).astype("float32")}
    dy, dh = g.run(mg.grad(loss, [y, h]), feed)  # (a plan without the conv weight gradients)
    summed.clear()
    got = g.run(grads, feed)
    assert summed == []  # both sums came from the gradient kernels
    for bias_grad, upstream in [(got[2], dh), (got[3], dy)]:
        assert bias_grad.dtype == np.float32
        np.testing.assert_allclose(bias_grad, upstream.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-5)
    alone = g.run(b_only, feed)  # no conv gradient in this plan: summed by its own kernel
    assert summed == [1]
    np.testing.assert_allclose(alone, got[3], rtol=1e-6)


def test_an_offer_nobody_takes_does_not_keep_its_array_alive():
    """Conv gradient kernels offer bias sums even for convs without a bias: the offer
    must not keep the (big) output gradient alive until the end of the run."""
    import gc
    import weakref
    with reuse.run_scope():
        gy = np.ones((4, 3, 5, 5))
        alive = weakref.ref(gy)
        reuse.offer_bias_gradient(gy, np.ones(3))
        del gy
        gc.collect()
        assert alive() is None
        other = np.zeros((4, 3, 5, 5))  # may get the dead array's id: must not see its sums
        got = reuse.remember("bias gradient", (other,), (), lambda: "computed", uses=1)
        assert got == "computed"


def test_a_stale_entry_for_a_reused_id_is_not_taken():
    """An entry made for one array, found under another array's id, is not handed out."""
    import weakref
    gone, asked = np.ones(3), np.zeros(3)
    with reuse.run_scope():
        table = reuse.current_table()
        table[("bias gradient", (id(asked),), ())] = [(weakref.ref(gone),), "stale", 1]
        assert reuse.remember("bias gradient", (asked,), (), lambda: "fresh", uses=1) == "fresh"
        reuse.offer("k", (np.float64(2.0),), (), "scalars cannot be weakly referenced")  # no TypeError
