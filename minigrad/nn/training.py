"""The training step and the epoch loop behind ``Model.fit``.

**One step = one ``g.run`` + NumPy updates.** ``TrainStep`` builds, once, the loss
and gradient nodes and a *fixed* fetch list ``[loss, output, *gradients,
*batch_statistics]``. The graph compiles a plan for that list the first time and
reuses it, so every later step is: fill the feed dict, run the plan, hand the
gradient arrays to the optimizer (in-place NumPy), update BatchNorm's running
averages. No graph is rebuilt and no new Python objects describe the step.
"""

from __future__ import annotations

import time

import numpy as np

import minigrad as mg
from .. import metrics as metrics_lib
from ..callbacks import CallbackList, History
from ..data import DataLoader
from .checks import sample_weights

_TRUE = np.array(True)


class TrainStep:
    """Loss, gradients and the fixed fetch lists of one compiled model."""

    def __init__(self, model, weighted=False):
        g, out, loss = model.graph, model.output, model.loss
        with g, g.name_scope("loss"):
            self.target = mg.placeholder("target", loss.target_shape(out), loss.target_dtype)
            self.weight = mg.placeholder("sample_weight", (None,), "float32") if weighted else None
            total = loss.build(out, self.target, self.weight)
            for penalty in (p for layer in model.layers for p in layer.losses):
                total = total + penalty   # kernel regularizers join the loss
        self.loss = total
        self.params = model.trainable_weights
        self.grads = mg.grad(total, self.params)
        self.updates = [u for layer in model.layers for u in layer.updates]
        self.fetches = [total, out] + self.grads + [stat for _, stat, _ in self.updates]
        self.eval_fetches = [total, out]
        self.model = model
        self.feed = {model.input: None, self.target: None, model.training: _TRUE}
        if weighted:
            self.feed[self.weight] = None
        self._n = len(self.grads)

    def train_batch(self, xb, yb, wb=None):
        """Run forward + backward on one batch, update the weights; return (loss, output)."""
        feed = self.feed
        feed[self.model.input] = xb
        feed[self.target] = yb
        if self.weight is not None:
            feed[self.weight] = wb
        values = self.model.graph.run(self.fetches, feed)
        self.model.optimizer.step(values[2:2 + self._n])
        for (buffer, _, momentum), stat in zip(self.updates, values[2 + self._n:]):
            buf = buffer.value
            buf *= momentum
            buf += (1.0 - momentum) * stat.reshape(buf.shape)
        return values[0], values[1]

    def eval_batch(self, xb, yb):
        """Loss and output in inference mode (training placeholder left at False)."""
        return self.model.graph.run(self.eval_fetches, {self.model.input: xb, self.target: yb})


def new_tracker(model):
    out_shape = model.output.shape[1:]
    num_classes = max(2, int(out_shape[-1])) if out_shape else 2
    return metrics_lib.MetricTracker(model.metric_names, num_classes, model.loss.to_labels)


def evaluate_arrays(model, x, y, batch_size):
    step = model._train_step(weighted=False)
    tracker = new_tracker(model)
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        loss, out = step.eval_batch(xb, yb)
        tracker.update(loss, yb, out)
    return tracker.result()


def _fmt(logs):
    return {k: f"{v:.4f}" for k, v in logs.items()}


def fit_loop(model, x, y, *, epochs, batch_size, validation, shuffle, callbacks, class_weight, verbose, seed):
    """The epoch loop: batches, progress bar, validation, callbacks. Returns a History."""
    from tqdm.auto import tqdm

    weights = None
    if class_weight is not None:
        labels = model.loss.target_labels(y)
        weights = sample_weights(labels, class_weight, new_tracker(model).num_classes)
    step = model._train_step(weighted=weights is not None)
    loader = DataLoader(np.arange(len(x)), batch_size=batch_size, shuffle=shuffle, seed=seed)
    history = History()
    cbs = CallbackList(list(callbacks or []) + [history], model)
    model.stop_training = False
    model.history = history
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        tracker = new_tracker(model)
        bar = tqdm(total=len(loader), desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=verbose != 1, leave=True, dynamic_ncols=True)
        start = time.perf_counter()
        for i, (idx, _) in enumerate(loader):
            yb = y[idx]
            loss, out = step.train_batch(x[idx], yb, None if weights is None else weights[idx])
            if loss != loss:  # NaN: stop now, with advice, instead of training on garbage
                bar.close()
                raise mg.NumericsError(
                    f"the loss became NaN at epoch {epoch + 1}, batch {i + 1}: the weights diverged. Try a "
                    "smaller learning rate, clipnorm=1.0 on the optimizer, or find the first bad node with "
                    "model.graph.run(..., check_numerics=True)")
            tracker.update(loss, yb, out)
            bar.update(1)
            if verbose == 1 and i % 10 == 0:
                bar.set_postfix(_fmt(tracker.result()), refresh=False)
        logs = tracker.result()
        if validation is not None:
            val = evaluate_arrays(model, validation[0], validation[1], max(batch_size, 256))
            logs.update({f"val_{k}": v for k, v in val.items()})
        bar.set_postfix(_fmt(logs))
        bar.close()
        if verbose == 2:
            items = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} - {time.perf_counter() - start:.2f}s - {items}")
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end()
    return history
