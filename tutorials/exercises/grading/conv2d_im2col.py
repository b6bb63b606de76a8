"""Grading for conv2d_im2col: against naive loops written here and, when it imports,
the NumPy reference kernel of minigrad.kernels."""

ORDER = 3

import numpy as np

from minigrad.exercises import expect_close, expect_shape, fail

RNG = np.random.default_rng(3)
X = RNG.normal(size=(2, 3, 7, 6))
W = RNG.normal(size=(4, 3, 3, 2))
B = RNG.normal(size=4)


def _naive_conv(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    cout, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    y = np.zeros((n, cout, oh, ow))
    for s in range(n):
        for o in range(cout):
            for r in range(oh):
                for q in range(ow):
                    patch = xp[s, :, r * stride: r * stride + kh, q * stride: q * stride + kw]
                    y[s, o, r, q] = (patch * w[o]).sum() + (b[o] if b is not None else 0.0)
    return y


def _naive_cols(x, kh, kw, stride, padding):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    cols = np.zeros((n, c * kh * kw, oh * ow))
    for s in range(n):
        for r in range(oh):
            for q in range(ow):
                patch = xp[s, :, r * stride: r * stride + kh, q * stride: q * stride + kw]
                cols[s, :, r * ow + q] = patch.reshape(-1)
    return cols


def check_output_size(ex):
    """output_size follows (n + 2p - k) // s + 1"""
    for n, k, s, p in [(7, 3, 1, 0), (7, 3, 2, 1), (28, 5, 1, 2), (6, 2, 2, 0), (5, 5, 1, 0), (8, 3, 3, 1)]:
        got = ex.output_size(n, k, s, p)
        want = (n + 2 * p - k) // s + 1
        if got != want:
            fail(f"output_size(n={n}, k={k}, stride={s}, padding={p}) = {got!r}, expected {want}")


def check_im2col_shape(ex):
    """im2col returns (N, C*KH*KW, OH*OW)"""
    cols = ex.im2col(X, 3, 2, 1, 0)
    expect_shape(cols, (2, 3 * 3 * 2, 5 * 5), "im2col(x, 3, 2) for x of shape (2, 3, 7, 6)")
    cols = ex.im2col(X, 3, 3, 2, 1)
    expect_shape(cols, (2, 27, 4 * 3), "im2col(x, 3, 3, stride=2, padding=1)")


def check_im2col_values(ex):
    """im2col puts every patch in its column, rows in (c, i, j) order"""
    expect_close(ex.im2col(X, 3, 2, 1, 0), _naive_cols(X, 3, 2, 1, 0), "im2col(x, 3, 2)")
    expect_close(ex.im2col(X, 3, 3, 2, 1), _naive_cols(X, 3, 3, 2, 1),
                 "im2col(x, 3, 3, stride=2, padding=1)")


def check_conv2d_plain(ex):
    """conv2d (stride 1, no padding, no bias) matches a naive loop"""
    y = ex.conv2d(X, W, None, 1, 0)
    expect_close(y, _naive_conv(X, W, None, 1, 0), "conv2d(x, w)", rtol=1e-6, atol=1e-9)


def check_conv2d_stride_padding_bias(ex):
    """conv2d with stride 2, padding 1 and a bias matches a naive loop"""
    w = RNG.normal(size=(5, 3, 3, 3))
    b = RNG.normal(size=5)
    y = ex.conv2d(X, w, b, 2, 1)
    expect_close(y, _naive_conv(X, w, b, 2, 1), "conv2d(x, w, b, stride=2, padding=1)",
                 rtol=1e-6, atol=1e-9)


def check_conv2d_against_kernels(ex):
    """conv2d matches minigrad.kernels' reference convolution on a digit-sized batch"""
    try:
        from minigrad.kernels import conv2d_forward_reference as ref
    except Exception:  # the kernels package is optional for this check
        ref = lambda x, w, b, s, p, d: _naive_conv(x, w, b, s[0], p[0])  # noqa: E731
    x = RNG.normal(size=(4, 1, 8, 8)).astype(np.float32)
    w = RNG.normal(size=(6, 1, 3, 3)).astype(np.float32)
    b = RNG.normal(size=6).astype(np.float32)
    y = ex.conv2d(x, w, b, 1, 1)
    expect_close(y, ref(x, w, b, (1, 1), (1, 1), (1, 1)), "conv2d on (4, 1, 8, 8) float32 images",
                 rtol=1e-4, atol=1e-5)


def check_conv2d_uses_im2col(ex):
    """conv2d calls im2col (one matmul, not four loops)"""
    calls = []
    original = ex.im2col

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)
    ex.im2col = spy
    try:
        ex.conv2d(X, W, B, 1, 0)
    finally:
        ex.im2col = original
    if not calls:
        fail("conv2d never called im2col: build the columns with im2col and do one matmul")
