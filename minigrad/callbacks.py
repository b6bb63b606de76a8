"""Callbacks: code that ``fit`` calls at the start and end of training and of each epoch.

    model.fit(x, y, epochs=50, callbacks=[EarlyStopping(patience=5),
                                          CosineDecay(epochs=50)])

A callback sees the model (``self.model``) and the epoch's ``logs`` dict
({"loss": ..., "accuracy": ..., "val_loss": ...}). It can stop training by setting
``self.model.stop_training = True`` or change the optimizer's ``lr``.
Epoch numbers start at 0.
"""

from __future__ import annotations

import math

import numpy as np


class Callback:
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_end(self, logs=None): ...


class History(Callback):
    """Records every epoch's logs: ``history.history["val_accuracy"][-1]``."""

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items()}
        return f"<History {len(self.epoch)} epochs, last {last}>"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``mode`` "min" (losses) or "max" (accuracies); "auto" picks from the name.
    ``restore_best_weights=True`` copies back the weights of the best epoch, so the
    model ends at its best validation score rather than its last one.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False):
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "precision", "recall", "f1")) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, abs(min_delta), mode
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self.best_weights = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but the logs only have {sorted(logs or {})} "
                           "(val_* values need validation_data or validation_split)")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [w.value.copy() for w in self.model.weights]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            for w, best in zip(self.model.weights, self.best_weights):
                w.value[...] = best


class LearningRateScheduler(Callback):
    """Set ``optimizer.lr = schedule(epoch, lr)`` at the start of every epoch."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_train_begin(self, logs=None):
        self.initial_lr = self.model.optimizer.lr

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.lr = float(self.schedule(epoch, self.model.optimizer.lr))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.lr


class StepDecay(LearningRateScheduler):
    """Multiply the initial lr by ``factor`` every ``every`` epochs: lr0 * factor**(epoch // every)."""

    def __init__(self, every=10, factor=0.5):
        if every < 1 or not 0 < factor <= 1:
            raise ValueError(f"StepDecay: need every >= 1 and 0 < factor <= 1, got {every}, {factor}")
        super().__init__(lambda epoch, lr: self.initial_lr * factor ** (epoch // every))


class CosineDecay(LearningRateScheduler):
    """Follow half a cosine from the initial lr down to ``min_lr`` over ``epochs`` epochs.

    lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * epoch / epochs)) / 2: a gentle start,
    a fast middle, and a long, careful finish at small steps.
    """

    def __init__(self, epochs, min_lr=0.0):
        if epochs < 1:
            raise ValueError(f"CosineDecay: epochs must be >= 1, got {epochs}")
        super().__init__(lambda epoch, lr: min_lr + (self.initial_lr - min_lr)
                         * (1 + np.cos(np.pi * min(epoch, epochs) / epochs)) / 2)


class CallbackList:
    """Calls every callback in turn; ``fit`` talks only to this."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
            cb.set_model(model)

    def __getattr__(self, event):
        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, event)(*args, **kwargs)
        return call
