"""Whole vector registers in Numba, for a matrix-product micro-kernel and Winograd's transforms.

A Numba loop becomes SIMD code only when LLVM's loop vectoriser can prove it safe and
worth it; it cannot be told "keep these 16 sums in 16 registers".  The fastest
matrix products are written the other way round, as BLAS libraries write them in
assembly: a fixed block of the output lives in vector registers while the loop walks
along the summed axis, and every step is spelled out -- load a vector, broadcast a
number, fused multiply-add.  This module gives Numba code those steps:

* :func:`zeros` -- a vector of zeros, with the lanes and dtype of an array's numbers;
* :func:`load` / :func:`store` -- the ``lanes`` consecutive numbers ``a[i, j:j+lanes]``
  of a 2-D array whose rows are contiguous; :func:`load_first` / :func:`store_first`
  read or write only the first ``count`` of them (masked: the rest reads as 0, or is
  left alone), for the last, partial vector of an array, and :func:`keep_first`
  zeroes the lanes after the first ``count`` of a vector.  (Masked loads and stores
  can be slow: with them in every row, Winograd's input transform took 0.3 ms in
  some processes and 1.4 ms in others, depending on where its arrays happened to lie
  -- most likely when the left-out lanes fall on another memory page.  So the
  kernels mask only at the very end of an array, where a whole vector would reach
  past it, and elsewhere read whole vectors and :func:`keep_first` what they need);
* :func:`splat` -- one number copied into every lane (a "broadcast");
* :func:`fma` -- ``x * y + acc`` lane by lane, rounded once (a fused multiply-add);
* and the operators ``x + y``, ``x - y``, ``-x`` and ``k * x`` (a number times a
  vector), lane by lane, so that a jitted function written for numbers (Winograd's
  tile transforms) also runs on vectors.

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

from ._jit import has_512_bit_vectors, jit

__all__ = ["VECTOR_BYTES", "WIDE_VECTORS", "lanes", "lanes_of", "zeros", "load", "store", "load_first", "store_first", "keep_first",
           "splat", "fma",
           "select", "unzip_even", "unzip_odd", "zip_low", "zip_high", "shift_in", "transpose_into"]

VECTOR_BYTES = 64  # one AVX-512 register


# Where the matrix-product kernels built on these vectors beat NumPy's BLAS.  Compiled
# for AVX2 only (NUMBA_CPU_FEATURES without avx512*), a vector is split into two
# 256-bit halves, the micro-kernel's 16 accumulators need 32 of AVX2's 16 registers,
# and it ran at 0.7x BLAS's speed (Winograd's 16 products 1.23 vs 0.85 ms; tiled dots
# 80-84 vs 113-126 GFLOP/s): the callers then keep BLAS.  (The Winograd transforms on
# these vectors still won there, 0.29 / 0.21 vs 0.37 / 0.35 ms, and always run.)
WIDE_VECTORS = has_512_bit_vectors()


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


def _first_lanes(builder, lanes, count):
    """The mask of lanes ``0..count-1`` (``count`` an LLVM integer)."""
    i32 = ir.IntType(32)
    width = count.type.width
    n = builder.trunc(count, i32) if width > 32 else builder.sext(count, i32) if width < 32 else count
    limit = builder.insert_element(ir.Constant(ir.VectorType(i32, lanes), ir.Undefined), n, ir.Constant(i32, 0))
    limit = builder.shuffle_vector(limit, ir.Constant(ir.VectorType(i32, lanes), ir.Undefined),
                                   ir.Constant(ir.VectorType(i32, lanes), [0] * lanes))
    return builder.icmp_signed("<", ir.Constant(ir.VectorType(i32, lanes), list(range(lanes))), limit)


def _masked(vector):
    """Name suffix of LLVM's masked load and store for ``vector`` (a Vector type)."""
    return f"v{vector.lanes}{'f32' if vector.dtype.bitwidth == 32 else 'f64'}.p0"


@intrinsic
def _keep_first(typingctx, value, count):
    # lanes 0..count-1 of value, zeros after them (a select: no memory touched)
    if not (isinstance(value, Vector) and isinstance(count, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        mask = _first_lanes(builder, value.lanes, args[1])
        return builder.select(mask, args[0], ir.Constant(args[0].type, None))
    return value(value, count), codegen


@intrinsic
def _load_first(typingctx, array, i, j, count):
    # like _load, but only lanes 0..count-1 are read, the others are 0 (a masked
    # load): a row's last, partial vector, without reading beyond it
    if not (_float_matrix(array) and isinstance(i, types.Integer) and isinstance(j, types.Integer)
            and isinstance(count, types.Integer)):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], args[0], args[1], args[2], vector)
        llvm_vector = context.get_value_type(vector)
        mask = _first_lanes(builder, vector.lanes, args[3])
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(llvm_vector, [pointer.type, i32, mask.type, llvm_vector]),
            f"llvm.masked.load.{_masked(vector)}")
        return builder.call(fn, [pointer, ir.Constant(i32, vector.dtype.bitwidth // 8), mask,
                                 ir.Constant(llvm_vector, None)])
    return vector(array, i, j, count), codegen


@intrinsic
def _store_first(typingctx, array, i, j, value, count):
    # like _store, but only lanes 0..count-1 are written (an AVX-512 masked store): the
    # last, partial vector of a row, without touching what lies beyond it
    if not (_float_matrix(array) and isinstance(i, types.Integer) and isinstance(j, types.Integer)
            and value == Vector(array.dtype) and isinstance(count, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], args[0], args[1], args[2],
                                  signature.args[3])
        mask = _first_lanes(builder, value.lanes, args[4])
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [context.get_value_type(value), pointer.type, i32,
                                                            mask.type]),
            f"llvm.masked.store.{_masked(value)}")
        builder.call(fn, [args[3], pointer, ir.Constant(i32, value.dtype.bitwidth // 8), mask])
        return context.get_dummy_value()
    return types.void(array, i, j, value, count), codegen


def _every_lane(context, builder, vector, number):
    """LLVM code for a Vector with ``number`` (already of its dtype) in every lane."""
    llvm_vector = context.get_value_type(vector)
    one = builder.insert_element(ir.Constant(llvm_vector, ir.Undefined), number, ir.Constant(ir.IntType(32), 0))
    lane_zero = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), [0] * vector.lanes)
    return builder.shuffle_vector(one, ir.Constant(llvm_vector, ir.Undefined), lane_zero)


@intrinsic
def _splat(typingctx, x):
    if not isinstance(x, types.Float):
        return None
    vector = Vector(x)

    def codegen(context, builder, signature, args):
        return _every_lane(context, builder, vector, args[0])
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


@intrinsic
def _scaled(typingctx, k, v):
    """``k * v`` for a number ``k`` (converted to the vector's dtype) and a Vector."""
    if not (isinstance(v, Vector) and isinstance(k, types.Number)):
        return None

    def codegen(context, builder, signature, args):
        number = context.cast(builder, args[0], signature.args[0], v.dtype)
        return builder.fmul(_every_lane(context, builder, v, number), args[1])
    return v(k, v), codegen


# ``k * v``, a number times a Vector, so that transforms with coefficients
# (winograd4.py's ``4 * z0 - 5 * z2 + z4``) run on vectors as they are written.
@overload(operator.mul)
def _vector_scaled(k, v):
    if isinstance(v, Vector) and isinstance(k, types.Number):
        return lambda k, v: _scaled(k, v)


# ---- comparisons, masks and selects: branch-free choices, lane by lane
#
# ``x > y``, ``x == y`` and ``x != y`` on two Vectors give a Mask, one truth value per
# lane (LLVM's ``<16 x i1>``); masks combine with ``&``, ``|`` and ``~``, and
# :func:`select` picks lane by lane.  ``x != x`` is the NaN test, as for numbers.


class Mask(types.Type):
    """Numba type of ``lanes`` truth values, one per lane of a Vector."""

    def __init__(self, lanes):
        self.lanes = lanes
        super().__init__(name=f"Mask(x {lanes})")


@register_model(Mask)
class _MaskModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(ir.IntType(1), fe_type.lanes))


def _comparison(predicate):
    """An intrinsic comparing two Vectors of one type with an LLVM ``fcmp``: ordered
    (false when either lane is NaN) except ``!=``, which is true there."""
    @intrinsic
    def compare(typingctx, x, y):
        if not (isinstance(x, Vector) and x == y):
            return None

        def codegen(context, builder, signature, args):
            if predicate == "!=":
                return builder.fcmp_unordered(predicate, args[0], args[1])
            return builder.fcmp_ordered(predicate, args[0], args[1])
        return Mask(x.lanes)(x, y), codegen
    return compare


_greater, _equal, _not_equal = _comparison(">"), _comparison("=="), _comparison("!=")


@intrinsic
def _and(typingctx, m, n):
    if not (isinstance(m, Mask) and m == n):
        return None
    return m(m, n), lambda context, builder, signature, args: builder.and_(args[0], args[1])


@intrinsic
def _or(typingctx, m, n):
    if not (isinstance(m, Mask) and m == n):
        return None
    return m(m, n), lambda context, builder, signature, args: builder.or_(args[0], args[1])


@intrinsic
def _invert(typingctx, m):
    if not isinstance(m, Mask):
        return None

    def codegen(context, builder, signature, args):
        return builder.xor(args[0], ir.Constant(args[0].type, [1] * m.lanes))
    return m(m), codegen


@intrinsic
def _select(typingctx, mask, x, y):
    if not (isinstance(mask, Mask) and isinstance(x, Vector) and x == y and mask.lanes == x.lanes):
        return None
    return x(mask, x, y), lambda context, builder, signature, args: builder.select(*args)


def _overload_on(operator_, intrinsic_, kind):
    """Make ``operator_`` on two values of one ``kind`` (Vector or Mask) call ``intrinsic_``."""
    def typer(x, y):
        if isinstance(x, kind) and x == y:
            return lambda x, y: intrinsic_(x, y)
    overload(operator_)(typer)


_overload_on(operator.gt, _greater, Vector)
_overload_on(operator.eq, _equal, Vector)
_overload_on(operator.ne, _not_equal, Vector)
_overload_on(operator.and_, _and, Mask)
_overload_on(operator.or_, _or, Mask)


@overload(operator.invert)
def _mask_invert(m):
    if isinstance(m, Mask):
        return lambda m: _invert(m)


# ---- moving lanes: zip and unzip (LLVM ``shufflevector``; AVX-512's ``vpermt2ps``)
#
# Read two vectors ``a``, ``b`` as one row of 2 x lanes numbers cut into groups of
# ``size`` lanes.  ``unzip_even`` keeps the even-numbered groups, ``unzip_odd`` the odd
# ones; ``zip_low`` / ``zip_high`` undo that, taking groups from ``a`` and ``b`` in turn
# (the first and second half of the result).  With size 1 and 16 float32 lanes:
#
#     unzip_even(a, b, 1) = a0 a2 ... a14 b0 b2 ... b14     zip_low(a, b, 1)  = a0 b0 a1 b1 ... a7 b7
#     unzip_odd(a, b, 1)  = a1 a3 ... a15 b1 b3 ... b15     zip_high(a, b, 1) = a8 b8 ... a15 b15
#
# ``size`` must be a constant (the lane order is compiled in) that divides the lanes;
# ``size == lanes`` moves whole vectors (``unzip_even(a, b, lanes)`` is ``a``).
#
# ``shift_in(carry, v)``: ``v``'s lanes moved up by one, with ``carry``'s last lane in
# lane 0 -- the vector of "each lane's left neighbour", when the neighbour of lane 0
# is the last lane of the vector before.


def _unzip_order(n, size, odd):
    return [2 * size * (i // size) + size * odd + i % size for i in range(n)]


def _zip_order(n, size, high):
    lanes = []
    for i in range(high * n, (high + 1) * n):
        group, within = divmod(i, 2 * size)
        lanes.append(group * size + within % size + n * (within >= size))
    return lanes


def _shuffle(order):
    """An intrinsic ``f(a, b, size)`` putting lanes of ``a ++ b`` in ``order(lanes, size)``."""
    @intrinsic
    def shuffle(typingctx, a, b, size):
        if not (isinstance(a, Vector) and a == b and isinstance(size, types.IntegerLiteral)
                and 0 < size.literal_value <= a.lanes and a.lanes % size.literal_value == 0):
            return None
        lanes = order(a.lanes, size.literal_value)

        def codegen(context, builder, signature, args):
            mask = ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), lanes)
            return builder.shuffle_vector(args[0], args[1], mask)
        return a(a, b, size), codegen
    return shuffle


_unzip_even = _shuffle(lambda n, size: _unzip_order(n, size, 0))
_unzip_odd = _shuffle(lambda n, size: _unzip_order(n, size, 1))
_zip_low = _shuffle(lambda n, size: _zip_order(n, size, 0))
_zip_high = _shuffle(lambda n, size: _zip_order(n, size, 1))


def _shift_in_order(n):
    return [n - 1] + [n + i for i in range(n - 1)]


@intrinsic
def _shift_in(typingctx, carry, v):
    if not (isinstance(v, Vector) and carry == v):
        return None
    lanes = _shift_in_order(v.lanes)

    def codegen(context, builder, signature, args):
        return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), lanes))
    return v(carry, v), codegen


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


def _py_keep_first(value, count):
    out = value.copy()
    out[max(0, count):] = 0
    return out


def _py_load_first(array, i, j, count):
    count = max(0, min(count, lanes(array.dtype)))
    if not (0 <= i < array.shape[0] and 0 <= j and j + count <= array.shape[1]):
        raise IndexError(f"vector [{i}, {j}:{j + count}] outside an array of shape {array.shape}")
    out = np.zeros(lanes(array.dtype), array.dtype)
    out[:count] = array[i, j:j + count]
    return out


def _py_store_first(array, i, j, value, count):
    count = max(0, min(count, len(value)))
    if not (0 <= i < array.shape[0] and 0 <= j and j + count <= array.shape[1]):
        raise IndexError(f"vector [{i}, {j}:{j + count}] outside an array of shape {array.shape}")
    array[i, j:j + count] = value[:count]


def _py_splat(x):
    return np.full(lanes(type(x)), x)


def _py_fma(x, y, acc):
    return (x * y + acc).astype(acc.dtype)


def _py_select(mask, x, y):
    return np.where(mask, x, y)


def _py_shuffle(order):
    def shuffle(a, b, size):
        if not (0 < size <= len(a) and len(a) % size == 0):
            raise ValueError(f"group size {size} does not divide {len(a)} lanes")
        return np.concatenate([a, b])[order(len(a), size)]
    return shuffle


def _py_shift_in(carry, v):
    return np.concatenate([carry, v])[_shift_in_order(len(v))]


if numba.config.DISABLE_JIT:
    # (NumPy arrays already compare into boolean masks and combine with & | ~)
    zeros, load, store, splat, fma, select = _py_zeros, _py_load, _py_store, _py_splat, _py_fma, _py_select
    load_first, store_first, keep_first = _py_load_first, _py_store_first, _py_keep_first
    unzip_even = _py_shuffle(lambda n, size: _unzip_order(n, size, 0))
    unzip_odd = _py_shuffle(lambda n, size: _unzip_order(n, size, 1))
    zip_low = _py_shuffle(lambda n, size: _zip_order(n, size, 0))
    zip_high = _py_shuffle(lambda n, size: _zip_order(n, size, 1))
    shift_in = _py_shift_in
else:
    zeros, load, store, splat, fma, select = _zeros, _load, _store, _splat, _fma, _select
    load_first, store_first, keep_first = _load_first, _store_first, _keep_first
    unzip_even, unzip_odd, zip_low, zip_high, shift_in = _unzip_even, _unzip_odd, _zip_low, _zip_high, _shift_in


# ---- a transpose built on the shuffles above

@jit(nogil=True, inline="always")
def _interleave_16(v):
    """One round of a 16x16 transpose of the 16 vectors ``v``: vectors 2i and 2i+1
    interleave the lanes of vectors i and i+8.  Four rounds turn rows into columns."""
    return (zip_low(v[0], v[8], 1), zip_high(v[0], v[8], 1),
            zip_low(v[1], v[9], 1), zip_high(v[1], v[9], 1),
            zip_low(v[2], v[10], 1), zip_high(v[2], v[10], 1),
            zip_low(v[3], v[11], 1), zip_high(v[3], v[11], 1),
            zip_low(v[4], v[12], 1), zip_high(v[4], v[12], 1),
            zip_low(v[5], v[13], 1), zip_high(v[5], v[13], 1),
            zip_low(v[6], v[14], 1), zip_high(v[6], v[14], 1),
            zip_low(v[7], v[15], 1), zip_high(v[7], v[15], 1))


@jit(nogil=True, inline="always")
def _interleave_8(v):
    """:func:`_interleave_16` for 8 vectors of 8 lanes (float64): three rounds."""
    return (zip_low(v[0], v[4], 1), zip_high(v[0], v[4], 1), zip_low(v[1], v[5], 1),
            zip_high(v[1], v[5], 1), zip_low(v[2], v[6], 1), zip_high(v[2], v[6], 1),
            zip_low(v[3], v[7], 1), zip_high(v[3], v[7], 1))


@jit(nogil=True, inline="always")
def _row(a, i, j):
    """``a[i, j:j+lanes]``, or zeros for a row past the last (the padding of
    :func:`transpose_into`'s output)."""
    return load(a, i, j) if i < a.shape[0] else zeros(a)


@jit(nogil=True)
def _transposed_16(a, out, i, j):
    """out[j:j+16, i:i+16] = a[i:i+16, j:j+16].T (float32: 16 lanes)."""
    v = (_row(a, i, j), _row(a, i + 1, j), _row(a, i + 2, j), _row(a, i + 3, j),
         _row(a, i + 4, j), _row(a, i + 5, j), _row(a, i + 6, j), _row(a, i + 7, j),
         _row(a, i + 8, j), _row(a, i + 9, j), _row(a, i + 10, j), _row(a, i + 11, j),
         _row(a, i + 12, j), _row(a, i + 13, j), _row(a, i + 14, j), _row(a, i + 15, j))
    v = _interleave_16(_interleave_16(_interleave_16(_interleave_16(v))))
    for k in range(16):
        store(out, j + k, i, v[k])


@jit(nogil=True)
def _transposed_8(a, out, i, j):
    """out[j:j+8, i:i+8] = a[i:i+8, j:j+8].T (float64: 8 lanes)."""
    v = (_row(a, i, j), _row(a, i + 1, j), _row(a, i + 2, j), _row(a, i + 3, j),
         _row(a, i + 4, j), _row(a, i + 5, j), _row(a, i + 6, j), _row(a, i + 7, j))
    v = _interleave_8(_interleave_8(_interleave_8(v)))
    for k in range(8):
        store(out, j + k, i, v[k])


@jit(nogil=True)
def transpose_into(a, out):
    """``out[j, i] = a[i, j]`` for an (m, n) matrix ``a`` and an (n, m') ``out`` whose
    m' >= m columns are m rounded up to whole vectors (zeros go to the extra
    columns); the rows of both contiguous.  Square blocks of a vector's lanes are
    turned around in registers (rounds of :func:`_interleave_16`: a 16x16 block in 64
    shuffles; the output gradient of a 6->16 5x5 conv, 16 x 2048, in 4 us where one
    number at a time took 11), the last few columns of ``a`` one number at a time.
    Used where a product wants the other orientation of a matrix (conv.py's implicit
    GEMM, winograd.py)."""
    m, n = a.shape
    lanes = lanes_of(out)
    whole = n - n % lanes
    for i in range(0, out.shape[1], lanes):
        for j in range(0, whole, lanes):
            if lanes == 16:
                _transposed_16(a, out, i, j)
            else:
                _transposed_8(a, out, i, j)
    for j in range(whole, n):  # (the last few columns, one number at a time)
        for i in range(out.shape[1]):
            out[j, i] = a[i, j] if i < m else 0
