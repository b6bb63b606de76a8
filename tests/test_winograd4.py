"""Winograd's F(4x4, 3x3) with channels in the vector lanes (minigrad/kernels/winograd4.py).

Its values against the reference run with every other conv path in test_kernels.py
(``conv_path("winograd4")``: random shapes, float32 and float64, central differences).
Here: the transform matrices, the 1-D transforms as compiled, the same bits whatever
the chunks and groups, the relu and bias, the rule that picks it, and its routing."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import kernels as K
from minigrad.kernels import parallel, reuse, simd, winograd4
from minigrad.kernels.winograd4 import A_T, B_T, G

# (garbage in a buffer's unused corner once reached a sum: NumPy's RuntimeWarning was
# the only sign)
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def test_transform_matrices_give_f4x3():
    """The 1-D identity: A^T [(G g) * (B^T d)] is the 4 outputs of the 3-tap correlation
    of 6 inputs d with g -- and nested, the 4x4 outputs of a 6x6 patch."""
    rng = np.random.default_rng(7)
    for _ in range(5):
        d, g = rng.standard_normal(6), rng.standard_normal(3)
        direct = np.array([d[k:k + 3] @ g for k in range(4)])
        np.testing.assert_allclose(A_T @ ((G @ g) * (B_T @ d)), direct, rtol=1e-12, atol=1e-12)
        d2, g2 = rng.standard_normal((6, 6)), rng.standard_normal((3, 3))
        direct2 = np.array([[np.sum(d2[i:i + 3, j:j + 3] * g2) for j in range(4)] for i in range(4)])
        np.testing.assert_allclose(A_T @ ((G @ g2 @ G.T) * (B_T @ d2 @ B_T.T)) @ A_T.T, direct2,
                                   rtol=1e-12, atol=1e-12)


def test_compiled_1d_transforms_are_the_matrices_and_their_adjoints():
    """_bt, _at (forward) and _b, _a (backward) spell out B^T, A^T and their transposes;
    a unit vector in gives a column of the matrix out."""
    for fn, matrix in ((winograd4._bt, B_T), (winograd4._b, B_T.T), (winograd4._at, A_T), (winograd4._a, A_T.T)):
        for k in range(matrix.shape[1]):
            unit = tuple(1.0 if i == k else 0.0 for i in range(matrix.shape[1]))
            np.testing.assert_array_equal(np.array(fn(unit)), matrix[:, k])


def _step(x, w, b, gy, padding, fused=True, relu=False):
    with reuse.run_scope():
        y = winograd4.winograd4_forward(x, w, b, padding, relu)
        if fused:
            gx, gw = winograd4.winograd4_backward(gy, x, w, padding)
        else:
            gw = winograd4.winograd4_grad_weight(gy, x, padding)
            gx = winograd4.winograd4_grad_input(gy, w, x.shape, padding)
        return y, gx, gw, K.conv2d_grad_bias(gy)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, padding", [((5, 17, 9, 14), (1, 2)),   # channels past a vector
                                            ((3, 32, 15, 15), (0, 0)),  # 13x13: tiles stick out
                                            ((4, 16, 6, 6), (1, 1))])   # exactly 4 tiles of 4x4
def test_same_bits_whatever_the_chunks_and_groups(monkeypatch, shape, padding, dtype):
    """y and dx are computed image by image, so one chunk or two, groups of one image or
    of all, give the same bits; dw and the bias gradient sum the groups and chunks in
    order (so their bits may differ between groupings, never between runs); fused and
    one by one are the same bits; each against the reference."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((20, shape[1], 3, 3)) / 10).astype(dtype)
    b = rng.standard_normal(20).astype(dtype)
    args = ((1, 1), padding, (1, 1))
    gy = rng.standard_normal(K.conv2d_forward_reference(x, w, None, *args).shape).astype(dtype)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    results = []
    for chunks, group_tiles in ((1, 10**6), (1, 1), (2, 10**6), (2, 20)):
        for name in ("MIN_PARALLEL_WORK", "MIN_PARALLEL_WORK_IN_RUN"):
            monkeypatch.setattr(parallel, name, 0 if chunks == 2 else 10**18)
        monkeypatch.setattr(winograd4, "_GROUP_TILES", group_tiles)
        results.append(_step(x, w, b, gy, padding))
        fused_off = _step(x, w, b, gy, padding, fused=False)
        assert all(a.tobytes() == c.tobytes() for a, c in zip(results[-1], fused_off))
    y, gx, gw, gb = results[0]
    for other in results[1:]:
        assert other[0].tobytes() == y.tobytes() and other[1].tobytes() == gx.tobytes()
        # (sums over chunks, added in chunk order: other chunks, other roundings; float32
        # sums over hundreds of tiles, grouped differently, are close to the size of gw)
        np.testing.assert_allclose(other[3], gb, rtol=1e-6 if dtype == np.float32 else 1e-13)
        assert np.abs(other[2] - gw).max() <= (2e-5 if dtype == np.float32 else 1e-12) * np.abs(gw).max()
    assert _step(x, w, b, gy, padding)[2].tobytes() == results[-1][2].tobytes()  # run again: same bits
    x64, w64, b64, gy64 = (a.astype(np.float64) for a in (x, w, b, gy))
    for got, want in ((y, K.conv2d_forward_reference(x64, w64, b64, *args)),
                      (gx, K.conv2d_grad_input_reference(gy64, w64, x.shape, *args)),
                      (gw, K.conv2d_grad_weight_reference(gy64, x64, w.shape, *args)),
                      (gb, K.conv2d_grad_bias_reference(gy64))):
        assert np.abs(got - want).max() <= (1e-5 if dtype == np.float32 else 1e-12) * np.abs(want).max()


def test_relu_is_applied_as_the_outputs_are_written():
    """relu=True: max(y, 0), with NaN kept (as np.maximum) and no -0.0."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 16, 10, 10)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    x[1, 3, 4, 4] = np.nan
    y = winograd4.winograd4_forward(x, w, b, (1, 1), relu=True)
    plain = winograd4.winograd4_forward(x, w, b, (1, 1))
    assert np.isnan(y).any()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(plain))
    assert np.array_equal(y, np.maximum(plain, 0), equal_nan=True)
    assert not np.signbit(y[~np.isnan(y)]).any()
    # A NaN in a tile's 6x6 input patch reaches all 16 outputs of the tile (the
    # transforms mix the patch), a few more than the 3x3 neighbours it reaches directly:
    # never fewer.
    ref = K.conv2d_forward_reference(x, w, b, (1, 1), (1, 1), (1, 1))
    assert np.all(np.isnan(plain) >= np.isnan(ref))
    finite = ~np.isnan(plain)
    np.testing.assert_allclose(plain[finite], ref[finite], rtol=1e-4, atol=1e-4)


def test_rule_counts_padded_products():
    """F(4x4) where its products, channels padded to whole vectors and tiles sticking
    out included, are at most 0.8 of F(2x2)'s, outputs 8x8 or more, on AVX-512."""
    if not simd.WIDE_VECTORS:
        assert not winograd4.winograd4_pays_off(32, 64, 13, 13)
        return
    assert winograd4.winograd4_pays_off(32, 64, 13, 13)    # 36*16 vs 16*49 tiles' products: 0.73
    assert winograd4.winograd4_pays_off(48, 96, 8, 8)      # 0.56
    assert not winograd4.winograd4_pays_off(20, 32, 13, 13)  # 20 channels computed as 32
    assert not winograd4.winograd4_pays_off(64, 64, 6, 6)  # as many products as F(2x2)
    assert not winograd4.winograd4_pays_off(128, 128, 4, 4)  # under 8x8


def test_chunks_run_as_compiled_calls(monkeypatch):
    """Routing: conv2d's entry points reach the compiled chunk functions (a fallback to
    another path would pass every value test; only a spy sees it)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 32, 13, 13)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    args = ((1, 1), (1, 1), (1, 1))
    monkeypatch.setattr(simd, "WIDE_VECTORS", True)
    assert K.conv2d_path(x.shape, w.shape, *args) == "winograd4"
    ran = []
    run_chunks = parallel.run_chunks
    monkeypatch.setattr(parallel, "run_chunks", lambda one, pair, chunk_args, *shared: ran.append(
        (one.__name__, shared[-2:])) or run_chunks(one, pair, chunk_args, *shared))
    y = K.conv2d_forward(x, w, None, *args)
    K.conv2d_backward(y, x, w, *args)
    K.conv2d_grad_input(y, w, x.shape, *args)
    K.conv2d_grad_weight(y, x, w.shape, *args)
    assert [name for name, _ in ran] == ["_forward_chunk"] + ["_gradients_chunk"] * 3
    assert [flags for _, flags in ran[1:]] == [(True, True), (True, False), (False, True)]  # (dx, dw)


def test_mixed_dtypes_are_refused_with_a_clear_error():
    x = np.zeros((1, 16, 8, 8), np.float32)
    with pytest.raises(ValueError, match="winograd4 needs float32 or float64 arrays of one dtype"):
        winograd4.winograd4_forward(x, np.zeros((16, 16, 3, 3), np.float64), None, (0, 0))


@pytest.mark.parametrize("rows, width, dtype", [(64, 32, np.float32), (64, 64, np.float32), (32, 64, np.float32),
                                                (63, 64, np.float32), (16, 1024, np.float32), (64, 16, np.float64)])
def test_planes_are_not_4k_apart(rows, width, dtype):
    """The 36 planes of a tile buffer, the filters' U and dU start at offsets spread over
    the 4 KiB page (planes 4 KiB apart fall in one L1 set: the transforms ran 3-5x
    slower), and each holds its rows."""
    stride = winograd4._plane_stride(rows, width, dtype)
    assert stride >= rows
    plane_bytes = stride * width * np.dtype(dtype).itemsize
    offsets = {xi * plane_bytes % 4096 for xi in range(36)}
    assert len(offsets) >= 4096 // max(256, width * np.dtype(dtype).itemsize) or len(offsets) == 36
