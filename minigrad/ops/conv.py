"""Convolution and pooling on NCHW images.

conv2d's gradients are convolutions too: with respect to the input it is a
"transposed" convolution of the upstream gradient with the same weights, with respect
to the weights it correlates the input with the upstream gradient. They are ops of
their own (``conv2d_grad_input``, ``conv2d_grad_weight``) whose gradients are again
conv ops, so second derivatives work. The loops live in ``minigrad.kernels``.
"""

from __future__ import annotations

import numbers

from .. import kernels
from ..errors import DTypeError, ShapeError
from .reduce import expand_reduced
from .registry import Op, register, require_float


def _pair(v, what):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    v = tuple(int(x) for x in v)
    if len(v) != 2:
        raise ValueError(f"{what} must be an int or a pair of ints, got {v}")
    return v


def conv_out_size(size, k, stride, pad, dil):
    if size is None:
        return None
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _check_image(x, op):
    if len(x.shape) != 4:
        raise ShapeError(f"expects an NCHW image batch (4 dimensions), got {x.shape_str()}")
    require_float(x, op)


class Conv2d(Op):
    name = "conv2d"
    uses_own_threads = True  # chunks of images on minigrad's threads (kernels/parallel.py)
    rule = ("dL/d{a} = conv_transpose(dL/d{out}, {b});  dL/d{b} = correlate({a}, dL/d{out});"
            "  dL/dbias = sum of dL/d{out} over N, H, W")

    def infer(self, x, w, *b, stride, padding, dilation):
        _check_image(x, self.name)
        if len(w.shape) != 4:
            raise ShapeError(f"weights must be (C_out, C_in, KH, KW), got {w.shape_str()}")
        n, c, h, wd = x.shape
        cout, cin, kh, kw = w.shape
        if c is not None and c != cin:
            raise ShapeError(f"input has {c} channels but the weights expect {cin} (weights {w.shape_str()})")
        if b and b[0].shape != (cout,):
            raise ShapeError(f"bias must have shape ({cout},), got {b[0].shape_str()}")
        oh = conv_out_size(h, kh, stride[0], padding[0], dilation[0])
        ow = conv_out_size(wd, kw, stride[1], padding[1], dilation[1])
        if (oh is not None and oh < 1) or (ow is not None and ow < 1):
            raise ShapeError(f"the {kh}x{kw} kernel (dilation {dilation}) does not fit the "
                             f"{h}x{wd} image with padding {padding}")
        if x.dtype != w.dtype:
            raise DTypeError(f"input is {x.dtype} but weights are {w.dtype}; cast one so they match")
        return (n, cout, oh, ow), x.dtype

    def forward(self, x, w, b=None, *, stride, padding, dilation):
        return kernels.conv2d_forward(x, w, b, stride, padding, dilation)

    def kernel_path(self, node, x, w, *b):
        """Which algorithm ran (shown in traces): "winograd", "blocked", "im2col" or "direct"."""
        return kernels.conv2d_path(x.shape, w.shape, **node.attrs)

    def vjp(self, node, g):
        x, w = node.inputs[:2]
        a = node.attrs
        gx = conv2d_grad_input(g, w, x, **a)
        gw = conv2d_grad_weight(g, x, w, **a)
        if len(node.inputs) == 3:
            return gx, gw, conv2d_grad_bias(g)
        return gx, gw


class Conv2dGradBias(Op):
    """dL/dbias of a conv2d: ``g`` summed over images and pixels, one number per channel.

    The same numbers as ``sum(g, axis=(0, 2, 3))``, but an op of its own so that its
    kernel can pick up the sums that the conv's gradient kernels make on the way while
    they read all of ``g`` (kernels/reuse.py): one pass over ``g`` instead of two."""
    name = "conv2d_grad_bias"
    shares_kernel_work = True
    rule = "{a} summed over N, H and W: one number per channel"

    def infer(self, g):
        if len(g.shape) != 4:
            raise ShapeError(f"expects an NCHW gradient (4 dimensions), got {g.shape_str()}")
        require_float(g, self.name)
        return (g.shape[1],), g.dtype

    def forward(self, g):
        return kernels.conv2d_grad_bias(g)

    def vjp(self, node, gg):
        g = node.inputs[0]  # linear: each summed element gets its channel's gradient
        return (expand_reduced(gg, g, (0, 2, 3), False),)


class Conv2dGradInput(Op):
    """dL/dx of a conv2d: ``g`` convolved back through ``w``; ``x`` gives only its shape."""
    name = "conv2d_grad_input"
    shares_kernel_work = True  # with the weight gradient: g's rearranged layout
    uses_own_threads = True
    rule = "linear in both inputs: its gradients are conv2d and conv2d_grad_weight"

    def infer(self, g, w, x, *, stride, padding, dilation):
        return x.shape, g.dtype

    def forward(self, g, w, x, *, stride, padding, dilation):
        return kernels.conv2d_grad_input(g, w, x.shape, stride, padding, dilation)

    def kernel_path(self, node, g, w, x):
        """Which algorithm ran (shown in traces); per pass, see ``conv2d_path``."""
        return kernels.conv2d_path(x.shape, w.shape, **node.attrs, op="grad_input")

    def vjp(self, node, gg):
        g, w, x = node.inputs
        a = node.attrs
        # <gg, G_in(g, w)> = <conv2d(gg, w), g>: so d/dg = conv2d(gg, w), d/dw = G_w(g, gg)
        return conv2d(gg, w, **a), conv2d_grad_weight(g, gg, w, **a), None


class Conv2dGradWeight(Op):
    """dL/dw of a conv2d: the input correlated with ``g``; ``w`` gives only its shape."""
    name = "conv2d_grad_weight"
    shares_kernel_work = True  # with the forward conv: x's rearranged layout
    uses_own_threads = True
    rule = "linear in both inputs: its gradients are conv2d and conv2d_grad_input"

    def infer(self, g, x, w, *, stride, padding, dilation):
        return w.shape, g.dtype

    def forward(self, g, x, w, *, stride, padding, dilation):
        return kernels.conv2d_grad_weight(g, x, w.shape, stride, padding, dilation)

    def kernel_path(self, node, g, x, w):
        """Which algorithm ran (shown in traces); per pass, see ``conv2d_path``."""
        return kernels.conv2d_path(x.shape, w.shape, **node.attrs, op="grad_weight")

    def vjp(self, node, gg):
        g, x, w = node.inputs
        a = node.attrs
        # <gg, G_w(g, x)> = <conv2d(x, gg), g>: so d/dg = conv2d(x, gg), d/dx = G_in(g, gg)
        return conv2d(x, gg, **a), conv2d_grad_input(g, gg, x, **a), None


def _pool_out(x, kernel, stride, padding):
    n, c, h, w = x.shape
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ShapeError(f"padding {padding} must be at most half the kernel {kernel}")
    oh = conv_out_size(h, kernel[0], stride[0], padding[0], 1)
    ow = conv_out_size(w, kernel[1], stride[1], padding[1], 1)
    if (oh is not None and oh < 1) or (ow is not None and ow < 1):
        raise ShapeError(f"the {kernel} window does not fit the {h}x{w} image")
    return (n, c, oh, ow)


class MaxPool2d(Op):
    name = "max_pool2d"
    rule = "dL/d{out} of each window goes to the window's maximum (first one on ties)"

    def infer(self, x, *, kernel, stride, padding):
        _check_image(x, self.name)
        return _pool_out(x, kernel, stride, padding), x.dtype

    def forward(self, x, *, kernel, stride, padding):
        return kernels.max_pool2d_forward(x, kernel, stride, padding)

    def vjp(self, node, g):
        return (max_pool2d_grad(g, node.inputs[0], node, **node.attrs),)


class MaxPool2dGrad(Op):
    """Route each window's gradient to where ``x`` equals the window's max ``y``."""
    name = "max_pool2d_grad"
    rule = "scatter dL/d{a} to the max positions"
    shares_kernel_work = True  # the forward's winners, when it recorded them (kernels/pool_2x2.py)

    def infer(self, g, x, y, *, kernel, stride, padding):
        return x.shape, g.dtype

    def forward(self, g, x, y, *, kernel, stride, padding):
        return kernels.max_pool2d_backward(g, x, y, kernel, stride, padding)

    def vjp(self, node, gg):
        from ..errors import GraphError
        raise GraphError("the second derivative of max_pool2d is not implemented "
                         f"(asked while differentiating {node.name!r})")


class AvgPool2d(Op):
    name = "avg_pool2d"
    rule = "dL/d{out} of each window is shared equally by its k*k inputs"

    def infer(self, x, *, kernel, stride, padding):
        _check_image(x, self.name)
        return _pool_out(x, kernel, stride, padding), x.dtype

    def forward(self, x, *, kernel, stride, padding):
        return kernels.avg_pool2d_forward(x, kernel, stride, padding)

    def vjp(self, node, g):
        return (avg_pool2d_grad(g, node.inputs[0], **node.attrs),)


class AvgPool2dGrad(Op):
    name = "avg_pool2d_grad"
    rule = "linear: its gradient is avg_pool2d of the upstream gradient"

    def infer(self, g, x, *, kernel, stride, padding):
        return x.shape, g.dtype

    def forward(self, g, x, *, kernel, stride, padding):
        return kernels.avg_pool2d_backward(g, x.shape, kernel, stride, padding)

    def vjp(self, node, gg):
        return _avg_pool2d(gg, **node.attrs), None


_conv2d = register(Conv2d)
_conv2d_grad_input, _conv2d_grad_weight = register(Conv2dGradInput), register(Conv2dGradWeight)
conv2d_grad_bias = register(Conv2dGradBias)
_max_pool2d, _max_pool2d_grad = register(MaxPool2d), register(MaxPool2dGrad)
_avg_pool2d, _avg_pool2d_grad = register(AvgPool2d), register(AvgPool2dGrad)


def _conv_attrs(w_shape, stride, padding, dilation):
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is supported for stride 1 only")
            kh, kw = w_shape[-2:]
            if (dilation[0] * (kh - 1)) % 2 or (dilation[1] * (kw - 1)) % 2:
                raise ValueError("padding='same' needs an odd kernel size")
            padding = (dilation[0] * (kh - 1) // 2, dilation[1] * (kw - 1) // 2)
        else:
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    padding = _pair(padding, "padding")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"stride and dilation must be >= 1 and padding >= 0, got {stride}, {dilation}, {padding}")
    return dict(stride=stride, padding=padding, dilation=dilation)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, name=None):
    """2-D cross-correlation (what deep learning calls convolution), NCHW.

    x (N, C_in, H, W), w (C_out, C_in, KH, KW), optional bias b (C_out,).
    """
    attrs = _conv_attrs(w.shape, stride, padding, dilation)
    inputs = (x, w) if b is None else (x, w, b)
    return _conv2d(*inputs, **attrs, name=name)


def conv2d_grad_input(g, w, x, stride, padding, dilation):
    return _conv2d_grad_input(g, w, x, stride=stride, padding=padding, dilation=dilation)


def conv2d_grad_weight(g, x, w, stride, padding, dilation):
    return _conv2d_grad_weight(g, x, w, stride=stride, padding=padding, dilation=dilation)


def _pool_attrs(kernel_size, stride, padding):
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"kernel and stride must be >= 1, padding >= 0; got {kernel}, {stride}, {padding}")
    return dict(kernel=kernel, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0, name=None):
    """Max over each window; stride defaults to the window size (as in PyTorch)."""
    return _max_pool2d(x, **_pool_attrs(kernel_size, stride, padding), name=name)


def max_pool2d_grad(g, x, y, kernel, stride, padding):
    return _max_pool2d_grad(g, x, y, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0, name=None):
    return _avg_pool2d(x, **_pool_attrs(kernel_size, stride, padding), name=name)


def avg_pool2d_grad(g, x, kernel, stride, padding):
    return _avg_pool2d_grad(g, x, kernel=kernel, stride=stride, padding=padding)
