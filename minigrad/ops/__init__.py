"""Every op minigrad records, as functions with NumPy names and meanings.

One module per family; each op is one class (shape rule, forward, VJP side by side)
registered in ``REGISTRY`` so tests and drawings can find all of them.
"""

from .registry import REGISTRY, Op, register, record, as_tensor
from .leaves import placeholder, parameter, constant
from .elementwise import (add, sub, mul, div, pow, neg, exp, log, sqrt, abs, sign, square,
                          maximum, minimum, where, cast, stop_gradient, zeros_like,
                          greater, greater_equal, less, less_equal, equal, not_equal)
from .reduce import sum, mean, max, min, var, size_of
from .shape import (reshape, reshape_like, transpose, swapaxes, broadcast_to, broadcast_like,
                    sum_to, concatenate, stack, expand_dims, getitem, flatten)
from .linalg import matmul, dot
from .activations import relu, sigmoid, tanh, leaky_relu, softmax, log_softmax
from .losses import (one_hot, cross_entropy, nll_loss, mse_loss, l1_loss,
                     binary_cross_entropy, hinge_loss, dropout)
from .conv import conv2d, max_pool2d, avg_pool2d
