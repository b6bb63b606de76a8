"""Convolution as one matrix product: conv2d forward via im2col, in NumPy.

Exercise 3. Check your work with

    python -m minigrad.exercises check conv2d_im2col

What to implement
-----------------
Images are NCHW: x has shape (N, C, H, W); weights w have shape (C_out, C, KH, KW).

1. ``output_size(n, k, stride, padding)``: how many positions a kernel of size k fits
   along an input of size n.
2. ``im2col(x, kh, kw, stride, padding)``: unfold every receptive field into a column.
   Returns ``cols`` of shape (N, C*KH*KW, OH*OW) where

       cols[n, (c*KH + i)*KW + j, oh*OW + ow] = x_padded[n, c, oh*stride + i, ow*stride + j]

   (rows ordered by channel, then kernel row i, then kernel column j, exactly the order
   of ``w.reshape(C_out, -1)``; columns ordered by output row, then output column).
3. ``conv2d(x, w, b, stride, padding)``: the cross-correlation (what deep learning calls
   convolution)

       y[n, o, oh, ow] = b[o] + sum_{c,i,j} w[o, c, i, j] * x_padded[n, c, oh*s + i, ow*s + j]

   computed as one matrix product per image: ``w.reshape(C_out, -1) @ cols[n]`` gives
   (C_out, OH*OW); reshape to (C_out, OH, OW). Your conv2d must call your im2col.

The math
--------
    output_size = (n + 2*padding - k) // stride + 1
A convolution is a dot product of the kernel with every patch; stacking the patches
as columns turns all those dot products into a single GEMM, which is how most
frameworks (and ``minigrad.kernels``) compute it fast. The cost: cols is KH*KW times
larger than x.

Hints
-----
* Pad once: ``np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))``.
* Two loops over (i, j) of the kernel are enough: the slice
  ``xp[:, :, i : i + s*(OH-1) + 1 : s, j : j + s*(OW-1) + 1 : s]`` has shape
  (N, C, OH, OW) and holds kernel tap (i, j) for every output position.
* ``np.einsum("ok,nkp->nop", w2, cols)`` or ``w2 @ cols`` (matmul broadcasts over n).
* ``b`` may be None (no bias).
"""

import numpy as np


def output_size(n, k, stride=1, padding=0):
    """Number of kernel positions along one axis."""
    raise NotImplementedError("TODO: output_size: (n + 2*padding - k) // stride + 1")


def im2col(x, kh, kw, stride=1, padding=0):
    """(N, C, H, W) -> cols (N, C*kh*kw, OH*OW), see the statement for the order."""
    raise NotImplementedError("TODO: im2col: unfold each kh x kw patch into a column")


def conv2d(x, w, b=None, stride=1, padding=0):
    """(N, C, H, W) conv (C_out, C, KH, KW) -> (N, C_out, OH, OW), via im2col and one matmul."""
    raise NotImplementedError("TODO: conv2d: w.reshape(C_out, -1) @ im2col(x, ...), reshape, add b")
