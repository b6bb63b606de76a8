"""Losses by name, built as graph nodes from the model's output and a target placeholder.

    name                               targets                      last layer
    "mse"  / "mae"                     same shape as the output     any
    "categorical_crossentropy"         one-hot / probability rows   softmax
    "sparse_categorical_crossentropy"  integer class ids (N,)       softmax
    "binary_crossentropy"              0/1 (or probabilities)       sigmoid
    "hinge"                            -1/+1 (0/1 are converted)    linear / tanh

**Fused softmax + cross-entropy.** When the output is ``softmax(z)``, the loss is
not computed as ``-log(softmax(z)[label])``: for a confident wrong answer the
probability underflows to 0 and the log gives -inf (NaN gradients follow). The
loss finds ``z`` (the *logits*) in the graph (the node softmax was applied to) and
uses ``log_softmax(z) = z - logsumexp(z)``, which never takes the log of 0; its
gradient is the simple ``softmax(z) - one_hot(label)``. The same holds for a
sigmoid output with binary cross-entropy. ``predict`` still returns probabilities,
because the model's output node is unchanged: only the loss reads the logits.

Each loss also checks the targets *before* training (shape, range, dtype) and
says exactly what is wrong, instead of failing in the middle of an epoch.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from .. import metrics
from .registry import by_name

_EPS = 1e-7


def logits_before(output, activation):
    """The tensor ``z`` if ``output`` is ``softmax(z)`` / ``sigmoid(z)``, else None.

    minigrad's softmax is ``exp(log_softmax(z))``, so that is the pattern looked for.
    """
    if activation == "softmax" and output.op.name == "exp":
        inner = output.inputs[0]
        if inner.op.name == "log_softmax" and inner.attrs.get("axis") == len(inner.shape) - 1:
            return inner.inputs[0]
    if activation == "sigmoid" and output.op.name == "sigmoid":
        return output.inputs[0]
    return None


def _rest_axes(t):
    return tuple(range(1, len(t.shape)))


def _per_sample_mean(t):
    """Average over everything but the batch axis: one value per sample."""
    return mg.mean(t, axis=_rest_axes(t)) if len(t.shape) > 1 else t


class Loss:
    name = ""
    target_dtype = "float32"

    def target_shape(self, output):
        return output.shape

    def build(self, output, target, sample_weight=None):
        """The scalar loss node; with ``sample_weight`` (N,), mean of weight * per-sample loss."""
        if sample_weight is None:
            return self.mean(output, target)
        return mg.mean(self.per_sample(output, target) * sample_weight)

    def mean(self, output, target):
        return mg.mean(self.per_sample(output, target))

    def per_sample(self, output, target):
        raise NotImplementedError

    # -- targets -------------------------------------------------------------------
    def check_targets(self, y, out_shape, what="y"):
        """Validate targets against the model output (per-sample ``out_shape``); return them fixed up."""
        y = _numeric(y, what)
        y = _match_shape(y, out_shape, what, self.name)
        return y.astype(np.float32, copy=False)

    def target_labels(self, targets):
        """Class ids of (checked) targets: for class weights and metrics."""
        return metrics.as_labels(targets)

    def to_labels(self, targets, outputs):
        """(true class ids, predicted class ids) of a batch, for the classification metrics."""
        return self.target_labels(targets), metrics.as_labels(outputs)


def _numeric(y, what):
    y = np.asarray(y)
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).all(axis=1))
        raise ValueError(f"{what} contains NaN or Inf in {len(bad)} sample(s) (first at index {bad[0]}); "
                         "clean the targets before training")
    return y


def _match_shape(y, out_shape, what, loss_name):
    want = tuple(out_shape)
    if y.shape[1:] == want:
        return y
    if y.size == len(y) * int(np.prod(want, dtype=np.int64)) and int(np.prod(want, dtype=np.int64)) == 1:
        return y.reshape((len(y),) + want)  # (N,) targets for a (N, 1) output
    raise mg.ShapeError(f"{what} has shape {y.shape}, but loss {loss_name!r} needs targets shaped like the "
                        f"model output: (N, {', '.join(map(str, want))})")


def _check_range(y, low, high, what, meaning):
    if y.size and (y.min() < low or y.max() > high):
        flat = y.reshape(len(y), -1)
        bad = np.flatnonzero(((flat < low) | (flat > high)).any(axis=1))[0]
        raise ValueError(f"{what} must be {meaning} in [{low}, {high}], but sample {bad} has "
                         f"{flat[bad].tolist() if flat.shape[1] > 1 else flat[bad, 0]}")


class MeanSquaredError(Loss):
    name = "mse"

    def mean(self, output, target):
        return mg.mse_loss(output, target)

    def per_sample(self, output, target):
        d = output - target
        return _per_sample_mean(d * d)


class MeanAbsoluteError(MeanSquaredError):
    name = "mae"

    def mean(self, output, target):
        return mg.l1_loss(output, target)

    def per_sample(self, output, target):
        return _per_sample_mean(mg.abs(output - target))


class CategoricalCrossentropy(Loss):
    """``from_logits=True``: the model's output are raw scores (no softmax layer).

    Left at None, the output must come from a softmax: a plain ``Dense(10)`` under
    this loss would be read as probabilities and train to nonsense (a negative loss),
    so that is an error naming both ways out. ``from_logits=False`` says "these are
    probabilities from elsewhere" and clips them before the log.
    """
    name = "categorical_crossentropy"

    def __init__(self, from_logits=None):
        self.from_logits = from_logits

    def _logits(self, output):
        if self.from_logits:
            return output
        z = logits_before(output, "softmax")
        if z is None and self.from_logits is None:
            raise ValueError(
                f"'{self.name}' expects probabilities, but the model's output ({output.op.name}) is not a "
                "softmax. Add activation='softmax' to the last layer, or pass "
                f"loss=mg.nn.losses.{type(self).__name__}(from_logits=True) for raw scores.")
        return z

    def _log_probs(self, output):
        z = self._logits(output)
        if z is not None:
            return mg.log_softmax(z, axis=-1)
        return mg.log(mg.maximum(output, _EPS))  # probabilities from elsewhere: clip, then log

    def mean(self, output, target):
        z = self._logits(output)
        if z is not None:
            return mg.cross_entropy(z, target)
        return super().mean(output, target)

    def per_sample(self, output, target):
        return -mg.sum(target * self._log_probs(output), axis=-1)

    def check_targets(self, y, out_shape, what="y"):
        y = _numeric(y, what)
        if y.ndim == 1 and y.dtype.kind in "iu" and len(out_shape) == 1:
            raise mg.ShapeError(f"{what} holds integer class ids {y.shape}, but 'categorical_crossentropy' "
                                f"needs one-hot rows (N, {out_shape[0]}): use "
                                "loss='sparse_categorical_crossentropy', or mg.data.one_hot(y)")
        y = _match_shape(y, out_shape, what, self.name)
        _check_range(y, 0, 1, what, "one-hot / probability values")
        return y.astype(np.float32, copy=False)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    name = "sparse_categorical_crossentropy"
    target_dtype = "int64"

    def target_shape(self, output):
        return output.shape[:1]

    def mean(self, output, target):
        z = self._logits(output)
        if z is not None:
            return mg.cross_entropy(z, target)  # the fused, stable primitive
        return mg.nll_loss(self._log_probs(output), target)

    def per_sample(self, output, target):
        log_probs = self._log_probs(output)
        return -mg.sum(mg.one_hot(target, output.shape[-1], log_probs.dtype) * log_probs, axis=-1)

    def check_targets(self, y, out_shape, what="y"):
        y = _numeric(y, what)
        if len(out_shape) != 1:
            raise mg.ShapeError(f"'sparse_categorical_crossentropy' needs a (N, classes) output, "
                                f"the model's is (N, {', '.join(map(str, out_shape))})")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise mg.ShapeError(f"{what} has shape {y.shape}, but 'sparse_categorical_crossentropy' needs "
                                "integer class ids (N,); for one-hot rows use 'categorical_crossentropy'")
        if y.dtype.kind == "f":
            if not np.all(y == np.round(y)):
                raise ValueError(f"{what} must be integer class ids, got non-integer values such as "
                                 f"{y[y != np.round(y)][0]}")
        classes = out_shape[0]
        if y.size and (y.min() < 0 or y.max() >= classes):
            bad = int(np.flatnonzero((y < 0) | (y >= classes))[0])
            raise ValueError(f"{what} has label {y[bad]:g} at index {bad}, but the model has {classes} outputs, "
                             f"so labels must be in 0..{classes - 1}")
        return y.astype(np.int64)

    def target_labels(self, targets):
        return targets

    def to_labels(self, targets, outputs):
        return targets, outputs.argmax(axis=1)


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def mean(self, output, target):
        z = logits_before(output, "sigmoid")
        if z is not None:
            return mg.binary_cross_entropy(z, target, from_logits=True)
        return mg.binary_cross_entropy(output, target)

    def per_sample(self, output, target):
        z = logits_before(output, "sigmoid")
        if z is not None:  # max(z, 0) - z*t + log(1 + exp(-|z|)), elementwise
            each = mg.relu(z) - z * target + mg.log(mg.exp(-mg.abs(z)) + 1.0)
        else:
            p = mg.minimum(mg.maximum(output, _EPS), 1.0 - _EPS)
            each = -(target * mg.log(p) + (1.0 - target) * mg.log(1.0 - p))
        return _per_sample_mean(each)

    def check_targets(self, y, out_shape, what="y"):
        y = super().check_targets(y, out_shape, what)
        _check_range(y, 0, 1, what, "binary targets (0/1 or probabilities)")
        return y


class Hinge(Loss):
    name = "hinge"

    def mean(self, output, target):
        return mg.hinge_loss(output, target)

    def per_sample(self, output, target):
        return _per_sample_mean(mg.relu(1.0 - target * output))

    def check_targets(self, y, out_shape, what="y"):
        y = super().check_targets(y, out_shape, what)
        values = np.unique(y)
        if not set(values.tolist()) <= {-1.0, 0.0, 1.0}:
            raise ValueError(f"{what} for 'hinge' must be -1/+1 (or 0/1), found values {values[:5].tolist()}")
        return np.where(y == 0, -1.0, y).astype(np.float32)  # 0/1 -> -1/+1, as Keras does

    def target_labels(self, targets):
        return metrics.as_labels(targets, threshold=0.0)

    def to_labels(self, targets, outputs):
        return self.target_labels(targets), metrics.as_labels(outputs, threshold=0.0)


_BY_NAME = {cls.name: cls for cls in (MeanSquaredError, MeanAbsoluteError, CategoricalCrossentropy,
                                      SparseCategoricalCrossentropy, BinaryCrossentropy, Hinge)}
_BY_NAME.update(mean_squared_error=MeanSquaredError, mean_absolute_error=MeanAbsoluteError)


def get(loss) -> Loss:
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    return by_name(_BY_NAME, loss, "loss", "a Loss instance")()
