"""Losses and the ops around them (one-hot, dropout masks).

Cross-entropy from logits is one fused primitive: computing log(softmax(x)) as two
steps underflows to log(0) = -inf for confident wrong predictions, and its gradient
is the famous ``(softmax(logits) - one_hot(labels)) / N``.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..errors import DTypeError, ShapeError
from .activations import log_softmax, softmax, relu
from .elementwise import abs, exp, log, maximum, mul, neg, sub, where, add
from .reduce import mean, size_of, sum
from .registry import Op, composite, register, require_float


class OneHot(Op):
    name = "one_hot"
    differentiable = False
    rule = "integer labels: no gradient"

    def infer(self, labels, *, num_classes, dtype):
        if labels.dtype.kind not in "iu":
            raise DTypeError(f"labels must be integers, got {labels.dtype}")
        return labels.shape + (num_classes,), np.dtype(dtype)

    def forward(self, labels, *, num_classes, dtype):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            bad = labels[(labels < 0) | (labels >= num_classes)][0]
            raise ValueError(f"label {bad} is outside [0, {num_classes})")
        out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
        np.put_along_axis(out, labels[..., None].astype(np.intp), 1, axis=-1)
        return out

    def vjp(self, node, g):
        return (None,)


class CrossEntropy(Op):
    """Mean over the batch of -log softmax(logits)[label], computed stably in one op."""
    name = "cross_entropy"
    rule = "dL/d{a} = dL/d{out} * (softmax({a}) - one_hot({b})) / N"

    def infer(self, logits, labels):
        require_float(logits, self.name)
        if labels.dtype.kind not in "iu":
            raise DTypeError(f"labels must be integer class ids, got {labels.dtype} "
                             "(for one-hot or probability targets pass a float array of shape (N, C))")
        if len(logits.shape) != 2 or len(labels.shape) != 1:
            raise ShapeError(f"expects logits (N, C) and labels (N,), got {logits.shape_str()} and {labels.shape_str()}")
        n, m = logits.shape[0], labels.shape[0]
        if n is not None and m is not None and n != m:
            raise ShapeError(f"batch sizes differ: {n} logits rows vs {m} labels")
        return (), logits.dtype

    def forward(self, logits, labels):
        loss, _ = kernels.softmax_cross_entropy(logits, labels)  # checks the labels' range
        return loss

    def vjp(self, node, g):
        logits, labels = node.inputs
        return cross_entropy_grad(g, logits, labels), None


class CrossEntropyGrad(Op):
    """dL/dlogits of the mean cross-entropy: (softmax(logits) - one_hot(labels)) * g / N.

    Fused into one kernel pass for speed (the composed version is seven nodes:
    log_softmax, exp, one_hot, sub, size_of, div, mul). Its own gradient, for second
    derivatives, is written with ops below.
    """
    name = "cross_entropy_grad"
    rule = "dL/d{b} = dL/d{a} * (softmax({b}) - one_hot({c})) / N"

    def infer(self, g, logits, labels):
        return logits.shape, logits.dtype

    def forward(self, g, logits, labels):
        return kernels.cross_entropy_grad(logits, labels, float(g) / max(logits.shape[0], 1))

    def vjp(self, node, gg):
        g, logits, labels = node.inputs
        n = size_of(logits, axis=0)
        p = softmax(logits, axis=-1)
        p_minus_y = sub(p, one_hot(labels, logits.shape[1], dtype=logits.dtype))
        # d/dg: <gg, (p - y)/N>;  d/dlogits: (g/N) * (p*gg - p*sum(p*gg)), the softmax Jacobian
        d_g = sum(mul(gg, p_minus_y)) / n
        p_gg = mul(p, gg)
        d_logits = mul(sub(p_gg, mul(p, sum(p_gg, axis=-1, keepdims=True))), g / n)
        return d_g, d_logits, None


class BernoulliMask(Op):
    """A fresh random keep-mask on every run, scaled by 1/keep (inverted dropout).

    The mask is a node of its own, so the forward and the backward of one run see
    the same mask, and a drawing shows where the randomness enters.
    """
    name = "bernoulli_mask"
    differentiable = False
    rule = "random: no gradient flows back"

    def infer(self, x, *, rate, seed):
        return x.shape, x.dtype

    def forward(self, x, *, rate, seed):
        return self.prepare_rng(x.dtype, rate, np.random.default_rng(seed))(x)

    @staticmethod
    def prepare_rng(dtype, rate, rng):
        keep = 1.0 - rate
        scale = np.asarray(1.0 / keep, dtype=dtype)

        def mask(x):
            return (rng.random(x.shape, dtype=np.float32) < keep).astype(dtype) * scale
        return mask

    def prepare(self, node):
        return self.prepare_rng(node.dtype, node.attrs["rate"], np.random.default_rng(node.attrs["seed"]))

    def vjp(self, node, g):
        return (None,)


_one_hot, _cross_entropy, _bernoulli_mask = register(OneHot), register(CrossEntropy), register(BernoulliMask)
cross_entropy_grad = register(CrossEntropyGrad)


def one_hot(labels, num_classes, dtype="float32", name=None):
    return _one_hot(labels, num_classes=int(num_classes), dtype=np.dtype(dtype), name=name)


def cross_entropy(logits, labels):
    """Mean cross-entropy of ``logits`` (N, C) against integer labels (N,) or
    probability / one-hot targets (N, C)."""
    if labels.dtype.kind == "f":
        if labels.shape[-1:] != logits.shape[-1:]:
            raise ShapeError(f"cross_entropy: probability targets {labels.shape_str()} must match logits {logits.shape_str()}")
        return _soft_cross_entropy(logits, labels)
    return _cross_entropy(logits, labels)


@composite("cross_entropy")
def _soft_cross_entropy(logits, targets):
    """-mean over the batch of sum(targets * log_softmax(logits))."""
    return neg(mean(sum(mul(targets, log_softmax(logits, axis=-1)), axis=-1)))


@composite("nll_loss")
def nll_loss(log_probs, labels):
    """Negative log-likelihood of integer labels given log-probabilities (N, C)."""
    return neg(mean(sum(mul(one_hot(labels, log_probs.shape[-1], log_probs.dtype), log_probs), axis=-1)))


@composite("mse_loss")
def mse_loss(pred, target):
    """mean((pred - target)**2)"""
    diff = sub(pred, target)
    return mean(mul(diff, diff))


@composite("l1_loss")
def l1_loss(pred, target):
    return mean(abs(sub(pred, target)))


@composite("binary_cross_entropy")
def binary_cross_entropy(pred, target, from_logits=False, eps=1e-7):
    """Mean binary cross-entropy.

    From logits it uses max(x, 0) - x*t + log(1 + exp(-|x|)), which never takes the
    log of 0 or exp of a large number; from probabilities it clips to [eps, 1-eps].
    """
    if from_logits:
        return mean(add(sub(relu(pred), mul(pred, target)), log(add(exp(neg(abs(pred))), 1.0))))
    from .elementwise import minimum
    p = minimum(maximum(pred, eps), 1.0 - eps)
    return neg(mean(add(mul(target, log(p)), mul(sub(1.0, target), log(sub(1.0, p))))))


@composite("hinge_loss")
def hinge_loss(scores, target):
    """mean(max(0, 1 - t * s)) with targets in {-1, +1}."""
    return mean(relu(sub(1.0, mul(target, scores))))


def dropout(x, rate=0.5, training=True, seed=None):
    """Zero each element with probability ``rate`` while training, scale the rest by
    1/(1-rate) so the expected value is unchanged; identity at inference.

    ``training`` may be a Python bool or a boolean scalar tensor (a placeholder that
    a model feeds True while fitting and leaves at its default False otherwise).
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if training is False or rate == 0.0:
        return x
    dropped = mul(x, _bernoulli_mask(x, rate=float(rate), seed=seed))
    if training is True:
        return dropped
    return where(training, dropped, x)
