"""Whole vector registers in Numba, for a matrix-product micro-kernel and Winograd's transforms.

A Numba loop becomes SIMD code only when LLVM's loop vectoriser can prove it safe and
worth it; it cannot be told "keep these 16 sums in 16 registers".  The fastest
matrix products are written the other way round, as BLAS libraries write them in
assembly: a fixed block of the output lives in vector registers while the loop walks
along the summed axis, and every step is spelled out -- load a vector, broadcast a
number, fused multiply-add.  This module gives Numba code those steps:

* :func:`zeros` -- a vector of zeros, with the lanes and dtype of an array's numbers;
* :func:`load` / :func:`store` -- the ``lanes`` consecutive numbers ``a[i, j:j+lanes]``
  of a 2-D array whose rows are contiguous;
* :func:`splat` -- one number copied into every lane (a "broadcast");
* :func:`fma` -- ``x * y + acc`` lane by lane, rounded once (a fused multiply-add);
* and the operators ``x + y``, ``x - y`` and ``-x``, lane by lane, so that a jitted
  function written for numbers (Winograd's tile transforms) also runs on vectors.

A vector is 64 bytes -- 16 float32 or 8 float64, the width of an AVX-512 register --
and :func:`lanes` says how many numbers that is for an array.  The vector type is an
LLVM vector (``<16 x float>``): on a CPU without AVX-512, LLVM splits each operation
into two AVX2 (or four SSE) instructions, so the code is correct everywhere and fast
where the registers are that wide.

How it works: each operation is a Numba ``@intrinsic``, a function whose body is
written in LLVM's intermediate language through ``llvmlite``, and :class:`Vector` is a
Numba type whose values are LLVM vectors, so they can be local variables of a jitted
function (and LLVM keeps them in registers).  There is no bounds check: the caller
must stay inside the array.

With ``NUMBA_DISABLE_JIT=1`` the same names are plain Python functions on small NumPy
arrays, so the kernels that use them still run (slowly) as ordinary Python.
"""

from __future__ import annotations

import operator

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

from ._jit import jit

__all__ = ["VECTOR_BYTES", "WIDE_VECTORS", "lanes", "lanes_of", "zeros", "load", "store", "splat", "fma"]

VECTOR_BYTES = 64  # one AVX-512 register


def _has_512_bit_vectors() -> bool:
    """Does the machine code Numba generates here have AVX-512 registers?  Read from
    the feature string Numba compiles with: ``NUMBA_CPU_FEATURES`` when set (empty for
    ``NUMBA_CPU_NAME=generic``), else the host's, as Numba itself reads them (which
    also applies ``NUMBA_ENABLE_AVX=0``).  Later flags override earlier ones; any
    enabled AVX-512 extension implies the foundation (``avx512f``)."""
    features = numba.config.CPU_FEATURES
    if features is None:
        try:
            from numba.core.codegen import get_host_cpu_features
            features = get_host_cpu_features()
        except Exception:  # no feature list on this platform: assume the narrow case
            return False
    foundation = None
    extensions = False
    for flag in features.split(","):
        flag = flag.strip()
        if flag[1:] == "avx512f":
            foundation = flag.startswith("+")
        elif flag.startswith("+avx512"):
            extensions = True
    return foundation if foundation is not None else extensions


# Where the matrix-product kernels built on these vectors beat NumPy's BLAS.  Compiled
# for AVX2 only (NUMBA_CPU_FEATURES without avx512*), a vector is split into two
# 256-bit halves, the micro-kernel's 16 accumulators need 32 of AVX2's 16 registers,
# and it ran at 0.7x BLAS's speed (Winograd's 16 products 1.23 vs 0.85 ms; tiled dots
# 80-84 vs 113-126 GFLOP/s): the callers then keep BLAS.  (The Winograd transforms on
# these vectors still won there, 0.29 / 0.21 vs 0.37 / 0.35 ms, and always run.)
WIDE_VECTORS = _has_512_bit_vectors()


def lanes(dtype) -> int:
    """Numbers of ``dtype`` in one vector: 16 float32, 8 float64."""
    return VECTOR_BYTES // np.dtype(dtype).itemsize


@jit
def lanes_of(array):
    """:func:`lanes` inside jitted code: the numbers of ``array``'s dtype in one vector."""
    return VECTOR_BYTES // array.itemsize


class Vector(types.Type):
    """Numba type of a vector of ``lanes`` numbers of ``dtype`` (float32 or float64)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = VECTOR_BYTES * 8 // dtype.bitwidth
        super().__init__(name=f"Vector({dtype} x {self.lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    """A Vector value is an LLVM vector, e.g. ``<16 x float>``."""

    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _vector_pointer(context, builder, array_type, array, i, j, vector_type):
    """Address of ``array[i, j]``, typed as a pointer to a whole vector."""
    element = cgutils.get_item_pointer(context, builder, array_type,
                                       context.make_array(array_type)(context, builder, array),
                                       [i, j], wraparound=False)
    return builder.bitcast(element, context.get_value_type(vector_type).as_pointer())


def _float_matrix(array):
    """Typing check: a 2-D array of float32 or float64 (anything else: no match, and
    Numba reports the call as unsupported instead of miscompiling it)."""
    return isinstance(array, types.Array) and array.ndim == 2 and isinstance(array.dtype, types.Float)


@intrinsic
def _zeros(typingctx, array):
    if not (isinstance(array, types.Array) and isinstance(array.dtype, types.Float)):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vector), None)  # all bits zero
    return vector(array), codegen


@intrinsic
def _load(typingctx, array, i, j):
    if not (_float_matrix(array) and isinstance(i, types.Integer) and isinstance(j, types.Integer)):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], args[0], args[1], args[2], vector)
        return builder.load(pointer, align=array.dtype.bitwidth // 8)  # any alignment
    return vector(array, i, j), codegen


@intrinsic
def _store(typingctx, array, i, j, value):
    # the vector must hold the array's own dtype: a float64 vector stored into float32
    # numbers would write its bits unconverted
    if not (_float_matrix(array) and isinstance(i, types.Integer) and isinstance(j, types.Integer)
            and value == Vector(array.dtype)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], args[0], args[1], args[2],
                                  signature.args[3])
        builder.store(args[3], pointer, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.void(array, i, j, value), codegen


@intrinsic
def _splat(typingctx, x):
    if not isinstance(x, types.Float):
        return None
    vector = Vector(x)

    def codegen(context, builder, signature, args):
        llvm_vector = context.get_value_type(vector)
        one = builder.insert_element(ir.Constant(llvm_vector, ir.Undefined), args[0],
                                     ir.Constant(ir.IntType(32), 0))
        lane_zero = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), [0] * vector.lanes)
        return builder.shuffle_vector(one, ir.Constant(llvm_vector, ir.Undefined), lane_zero)
    return vector(x), codegen


@intrinsic
def _fma(typingctx, x, y, acc):
    if not (isinstance(acc, Vector) and x == y == acc):
        return None

    def codegen(context, builder, signature, args):
        llvm_vector = context.get_value_type(acc)
        name = f"llvm.fma.v{acc.lanes}{'f32' if acc.dtype.bitwidth == 32 else 'f64'}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(llvm_vector, [llvm_vector] * 3),
                                            name)
        return builder.call(fn, args)
    return acc(x, y, acc), codegen


@intrinsic
def _add(typingctx, x, y):
    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])
    return x(x, y), codegen


@intrinsic
def _sub(typingctx, x, y):
    def codegen(context, builder, signature, args):
        return builder.fsub(args[0], args[1])
    return x(x, y), codegen


@intrinsic
def _neg(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.fneg(args[0])
    return x(x), codegen


# ``x + y``, ``x - y`` and ``-x`` on two Vectors of one type: lane by lane.  With these,
# a jitted function written for numbers -- winograd.py's tile transforms -- also
# compiles for Vectors, and then transforms 16 tiles at once.
@overload(operator.add)
def _vector_add(x, y):
    if isinstance(x, Vector) and x == y:
        return lambda x, y: _add(x, y)


@overload(operator.sub)
def _vector_sub(x, y):
    if isinstance(x, Vector) and x == y:
        return lambda x, y: _sub(x, y)


@overload(operator.neg)
def _vector_neg(x):
    if isinstance(x, Vector):
        return lambda x: _neg(x)


# ---- the same operations in plain Python, for NUMBA_DISABLE_JIT=1

def _py_zeros(array):
    return np.zeros(lanes(array.dtype), array.dtype)


def _check(array, i, j):
    # the bounds check the jitted intrinsics do not have: NUMBA_DISABLE_JIT runs find it
    if not (0 <= i < array.shape[0] and 0 <= j and j + lanes(array.dtype) <= array.shape[1]):
        raise IndexError(f"vector [{i}, {j}:{j + lanes(array.dtype)}] outside an array of shape {array.shape}")


def _py_load(array, i, j):
    _check(array, i, j)
    return array[i, j:j + lanes(array.dtype)].copy()


def _py_store(array, i, j, value):
    _check(array, i, j)
    array[i, j:j + len(value)] = value


def _py_splat(x):
    return np.full(lanes(type(x)), x)


def _py_fma(x, y, acc):
    return (x * y + acc).astype(acc.dtype)


if numba.config.DISABLE_JIT:
    zeros, load, store, splat, fma = _py_zeros, _py_load, _py_store, _py_splat, _py_fma
else:
    zeros, load, store, splat, fma = _zeros, _load, _store, _splat, _fma
