"""Softmax, log-softmax and the fused softmax + cross-entropy loss.

**Numerical stability.**  ``exp`` overflows float32 above ~88, so ``exp(x) / sum(exp(x))``
fails for logits like 100.  Softmax does not change if a constant is subtracted from
every input, so we subtract the maximum first: the largest exponent becomes
``exp(0) = 1`` and nothing can overflow.  For the log, ``log_softmax(x) = (x - m) -
log(sum(exp(x - m)))`` never takes the log of an underflowed 0.

**Why fuse softmax and cross-entropy.**  The loss ``-log softmax(z)[label]`` and its
gradient ``softmax(z) - onehot(label)`` (divided by the batch size for a mean) are
each one pass over a row: its max, the exponentials, their sum, then the loss or the
gradient.  Neither takes the log of a tiny number, and neither is a chain of
log_softmax, gather and mean nodes.  The backward (``cross_entropy_grad``) starts
again from the logits rather than keeping the forward's probabilities: a static
graph passes values between nodes, and recomputing 64 x 10 exponentials is cheaper
than an extra node output.

``log_softmax`` / ``softmax`` along an arbitrary axis are written with NumPy ufuncs:
each step is already one vectorised C loop, and a Numba version measured no faster
for the sizes a classifier head has.  The fused loss and its gradient are serial Numba
kernels (a classifier head is too small to be worth waking threads); the mean over
rows is summed in one fixed order, so the loss is bit-identical on every run.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "log_softmax", "softmax", "softmax_cross_entropy",
    "log_softmax_reference", "softmax_reference", "softmax_cross_entropy_reference",
    "softmax_cross_entropy_backward_reference", "cross_entropy_grad", "cross_entropy_grad_reference",
]


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)``, computed stably (see module docstring)."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``, computed stably (see module docstring)."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


@jit
def _exp_shifted_row(row, out):
    """out = exp(row - max(row)); returns (max, sum of out). The shared first half
    of softmax: subtracting the max first is what keeps exp from overflowing."""
    m = row[0]
    for j in range(1, row.shape[0]):
        if row[j] > m:
            m = row[j]
    total = 0.0
    for j in range(row.shape[0]):
        e = np.exp(row[j] - m)
        out[j] = e
        total += e
    return m, total


@jit
def _softmax_xent_rows(z, labels, probs, losses):
    """Per row: probabilities and ``-log p[label]``, in one pass over the logits.

    Returns the first row whose label is out of range (then stops), or -1, so the
    labels are checked in the same pass instead of two extra NumPy reductions.
    Serial on purpose: a batch of logits is tiny (64 x 10), and waking a thread pool
    for it costs more than the work (measured: 12 ms per call on a busy machine).
    """
    n, k = z.shape
    for r in range(n):
        label = labels[r]
        if label < 0 or label >= k:
            return r
        m, total = _exp_shifted_row(z[r], probs[r])
        probs[r] *= 1.0 / total
        # -log p[label] = log(total) - (z[label] - m): no log of a tiny probability
        losses[r] = np.log(total) - (z[r, label] - m)
    return -1


@jit
def _xent_grad_rows(z, labels, scale, out):
    """``(softmax(z) - onehot(labels)) * scale`` per row, straight from the logits."""
    for r in range(z.shape[0]):
        _, total = _exp_shifted_row(z[r], out[r])
        out[r] *= scale / total
        out[r, labels[r]] -= scale


def _as_labels(logits, labels):
    if logits.ndim != 2:
        raise ValueError(f"softmax_cross_entropy needs 2-D logits (batch, classes), got {logits.shape}")
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be {logits.shape[0]} integers, got {labels.dtype} {labels.shape}")
    return labels.astype(np.int64, copy=False)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of integer ``labels`` under ``softmax(logits)``.

    Returns ``(loss, probs)``: ``loss`` is a 0-d array of the logits' dtype, ``probs``
    the softmax probabilities (computed on the way; useful for inspection and tests).
    """
    labels = _as_labels(logits, labels)
    z = np.ascontiguousarray(logits)
    probs = np.empty_like(z)
    losses = np.empty(z.shape[0], dtype=np.float64)
    bad = _softmax_xent_rows(z, labels, probs, losses)
    if bad >= 0:
        raise ValueError(f"label {labels[bad]} is outside [0, {z.shape[1]})")
    # np.sum's pairwise order is fixed for a given length: deterministic
    loss = np.sum(losses) / max(len(losses), 1)
    return np.asarray(loss, dtype=z.dtype), probs


def cross_entropy_grad(logits, labels, scale):
    """``(softmax(logits) - onehot(labels)) * scale`` in one pass from the logits.

    The backward of the mean cross-entropy (``scale`` = upstream / batch size): no
    probabilities need to be kept from the forward pass. Labels were checked there.
    """
    labels = _as_labels(logits, labels)
    z = np.ascontiguousarray(logits)
    out = np.empty_like(z)
    _xent_grad_rows(z, labels, float(scale), out)
    return out


def cross_entropy_grad_reference(logits, labels, scale):
    return softmax_cross_entropy_backward_reference(softmax_reference(logits, axis=1), labels, scale)


# -------------------------------------------------------------- NumPy reference twins

def log_softmax_reference(x, axis=-1):
    """Textbook definition in float64 via logsumexp, cast back."""
    x64 = x.astype(np.float64)
    m = np.max(x64, axis=axis, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x64 - m), axis=axis, keepdims=True))
    return (x64 - lse).astype(x.dtype)


def softmax_reference(x, axis=-1):
    """``exp(log_softmax(x))``."""
    return np.exp(log_softmax_reference(x, axis)).astype(x.dtype)


def softmax_cross_entropy_reference(logits, labels):
    """Unfused: mean of ``-log_softmax(logits)[row, label]``, plus the softmax."""
    labels = np.asarray(labels)
    logp = log_softmax_reference(logits, axis=1)
    loss = -np.mean(logp[np.arange(len(labels)), labels].astype(np.float64))
    return np.asarray(loss, dtype=logits.dtype), np.exp(logp).astype(logits.dtype)


def softmax_cross_entropy_backward_reference(probs, labels, scale):
    """``(probs - onehot) * scale`` with an explicit one-hot matrix."""
    onehot = np.zeros_like(probs)
    onehot[np.arange(probs.shape[0]), np.asarray(labels)] = 1
    return ((probs - onehot) * scale).astype(probs.dtype)
