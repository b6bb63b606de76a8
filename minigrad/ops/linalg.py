"""Matrix multiplication, batched as in NumPy: (..., n, k) @ (..., k, m) -> (..., n, m).

Its gradient is two more matmuls: dL/dA = dL/dC @ B^T and dL/dB = A^T @ dL/dC,
summed over any batch axes that were broadcast.
"""

from __future__ import annotations

from .. import kernels
from ..errors import ShapeError
from .registry import Op, broadcast_shapes, register, result_dtype
from .shape import getitem, sum_to, swapaxes


class MatMul(Op):
    name = "matmul"
    rule = "dL/d{a} = dL/d{out} @ {b}^T;  dL/d{b} = {a}^T @ dL/d{out}"

    def infer(self, a, b):
        if len(a.shape) < 2 or len(b.shape) < 2:
            raise ShapeError("the matmul primitive needs 2-D or batched operands (mg.matmul handles 1-D)")
        n, k = a.shape[-2:]
        k2, m = b.shape[-2:]
        if k is not None and k2 is not None and k != k2:
            raise ShapeError(f"inner dimensions differ: {a.shape_str()} @ {b.shape_str()} "
                             f"needs a's last size ({k}) == b's second-to-last size ({k2})")
        try:
            batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ShapeError:
            raise ShapeError(f"batch dimensions {a.shape[:-2]} and {b.shape[:-2]} do not broadcast") from None
        return batch + (n, m), result_dtype(a, b)

    def forward(self, a, b):
        return kernels.matmul(a, b)

    def prepare(self, node):
        return kernels.matmul

    def kernel_path(self, node, a, b):
        """Which kernel variant ran (shown in traces): e.g. "blas"."""
        b_rows_contiguous = b.ndim >= 1 and b.strides[-1] == b.itemsize
        b_transposed = b.ndim == 2 and b.T.flags.c_contiguous
        return kernels.matmul_path(a.shape, b.shape, a.dtype, b_rows_contiguous, b.dtype, b_transposed)

    def vjp(self, node, g):
        a, b = node.inputs
        return (sum_to(matmul(g, swapaxes(b, -1, -2)), a),
                sum_to(matmul(swapaxes(a, -1, -2), g), b))


_matmul = register(MatMul)


def matmul(a, b, name=None):
    """``a @ b`` with NumPy's rules, 1-D operands included (treated as a row / column)."""
    from .registry import _graph_of, as_tensor
    graph = _graph_of([a, b])
    a, b = as_tensor(a, graph), as_tensor(b, graph)
    if len(a.shape) == 0 or len(b.shape) == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got {a.shape_str()} @ {b.shape_str()}")
    a2 = getitem(a, (None, slice(None))) if len(a.shape) == 1 else a
    b2 = getitem(b, (slice(None), None)) if len(b.shape) == 1 else b
    out = _matmul(a2, b2, name=name if len(a.shape) > 1 and len(b.shape) > 1 else None)
    if len(b.shape) == 1:
        out = getitem(out, (Ellipsis, 0))
    if len(a.shape) == 1:
        out = getitem(out, (Ellipsis, 0, slice(None)) if len(b.shape) > 1 else (Ellipsis, 0))
    return out


def dot(a, b):
    return matmul(a, b)
