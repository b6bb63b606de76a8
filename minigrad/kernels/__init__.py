"""Fast loops for minigrad's heavy ops: matmul, conv2d, pooling, softmax, elementwise.

The graph/autodiff core decides *what* to compute; this package decides *how* to
compute it quickly.  Everything here takes and returns plain NumPy arrays (NCHW
images, C-contiguous, float32 or float64) and plain ints/tuples, and never imports the
graph, ops or autodiff (only ``minigrad.memory``, a malloc setting), so each kernel can
be read, tested and benchmarked on its own.  ``reuse.py`` lets the kernels of one run
share a rearranged input (the executor opens its scope); ``parallel.py`` splits big
convolutions and products over the cores: chunks that are each one compiled call on
Numba's OpenMP threads, the rest on minigrad's own.
Every kernel has a ``*_reference`` twin written in plain NumPy: the tests check the
fast version against it, and a learner can read the twin first.

**Lazy loading.**  Numba takes about a second to import and compiles each kernel the
first time it is called.  A program that only adds two tensors should pay for none of
that, so this ``__init__`` imports nothing heavy: the public names below are resolved
on first use by the module-level ``__getattr__`` (PEP 562), which imports the
submodule that defines them.  Only the kernels a graph actually runs get compiled.

The submodules are ``gemm`` (matrix products) with ``gemm_simd`` (a register-blocked
micro-kernel on the whole-vector operations of ``simd``) and ``gemm_nt`` (``a @ b.T``
as register-tiled dot products, for long sums), ``conv`` (with ``direct`` for the
register-blocked loops, ``implicit`` for the implicit GEMM, and ``winograd`` and
``winograd4`` for 3x3 kernels), ``pool`` (with ``pool_2x2``
for the common 2x2 windows and ``pool_2x2_narrow`` for images whose rows of windows
fit in a vector), ``softmax_loss`` and ``elementwise``; ``parallel`` (with ``spin``),
and ``reuse`` are the plumbing.  Their names differ from the functions' names, so
``kernels.matmul`` is always the function.
"""

from __future__ import annotations

import importlib

# public name -> submodule that defines it
_WHERE = {
    "matmul": "gemm",
    "matmul_path": "gemm",
    "matmul_blocked": "gemm",
    "matmul_reference": "gemm",
    "matmul_nt": "gemm_nt",
    "matmul_nt_path": "gemm_nt",
    "matmul_nt_reference": "gemm_nt",
    "conv2d_forward": "conv",
    "conv2d_grad_input": "conv",
    "conv2d_grad_weight": "conv",
    "conv2d_backward": "conv",
    "conv2d_grad_bias": "conv",
    "conv2d_path": "conv",
    "conv2d_forward_reference": "conv",
    "conv2d_grad_input_reference": "conv",
    "conv2d_grad_weight_reference": "conv",
    "conv2d_grad_bias_reference": "conv",
    "winograd_forward": "winograd",
    "winograd_grad_input": "winograd",
    "winograd_grad_weight": "winograd",
    "winograd_backward": "winograd",
    "winograd4_forward": "winograd4",
    "winograd4_grad_input": "winograd4",
    "winograd4_grad_weight": "winograd4",
    "winograd4_backward": "winograd4",
    "max_pool2d_forward": "pool",
    "max_pool2d_backward": "pool",
    "max_pool2d_2x2_winners": "pool",
    "avg_pool2d_forward": "pool",
    "avg_pool2d_backward": "pool",
    "max_pool2d_forward_reference": "pool",
    "max_pool2d_backward_reference": "pool",
    "avg_pool2d_forward_reference": "pool",
    "avg_pool2d_backward_reference": "pool",
    "log_softmax": "softmax_loss",
    "softmax": "softmax_loss",
    "softmax_cross_entropy": "softmax_loss",
    "cross_entropy_grad": "softmax_loss",
    "cross_entropy_grad_reference": "softmax_loss",
    "log_softmax_reference": "softmax_loss",
    "softmax_reference": "softmax_loss",
    "softmax_cross_entropy_reference": "softmax_loss",
    "softmax_cross_entropy_backward_reference": "softmax_loss",
    "relu_backward": "elementwise",
    "sigmoid": "elementwise",
    "tanh_backward": "elementwise",
    "sigmoid_backward": "elementwise",
    "relu_backward_reference": "elementwise",
    "sigmoid_reference": "elementwise",
    "tanh_backward_reference": "elementwise",
    "sigmoid_backward_reference": "elementwise",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    """Import the submodule defining ``name`` on first access, then cache the function."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{_WHERE[name]}", __name__)
    value = getattr(module, name)
    globals()[name] = value  # next access is a plain dict lookup
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
