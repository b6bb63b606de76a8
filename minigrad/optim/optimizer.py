"""``Optimizer``: the base class. An optimizer turns gradients into parameter updates.

The graph computes gradients; it does not change parameters. After each
``g.run`` of the training step, the optimizer updates every ``param.value`` *in
place* with plain NumPy. Nothing is rebuilt, and the next run reads the new values.

What the base class does, in order, for every step:

  1. clip the gradients, if asked (see ``clip_gradients``);
  2. add ``weight_decay * param`` to each gradient: the gradient of the L2 penalty
     ``weight_decay/2 * ||param||**2``, so weights are pulled towards zero;
  3. call the subclass's ``update(value, grad, state)``: the formula, on arrays.

State (momentum buffers, Adam's m and v, ...) lives in ``opt.state[param]``, a
dict per parameter, so a learner can print it: ``opt.state[W]["m"]``.
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    slots: tuple = ()   # names of the per-parameter state arrays, e.g. ("m", "v")

    def __init__(self, lr=0.01, weight_decay=0.0, clipnorm=None, global_clipnorm=None,
                 params=None, learning_rate=None):
        if learning_rate is not None:  # the Keras spelling
            lr = learning_rate
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got {weight_decay}")
        for name, v in (("clipnorm", clipnorm), ("global_clipnorm", global_clipnorm)):
            if v is not None and not v > 0:
                raise ValueError(f"{type(self).__name__}: {name} must be > 0, got {v}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.clipnorm, self.global_clipnorm = clipnorm, global_clipnorm
        self.params: list = []
        self.state: dict = {}
        self.iterations = 0
        if params is not None:
            self.setup(params)

    def setup(self, params):
        """Take the parameters to train and create their (zeroed) state arrays.

        Speed trick: when all parameters share a dtype, their values are moved into
        one flat buffer and each ``param.value`` becomes a *view* of its slice (same
        shape, same numbers). The update formula then runs once on the flat arrays
        instead of once per parameter: a dozen NumPy calls per step instead of a
        dozen per parameter. ``state[param]`` holds views too, so it still reads
        per parameter.
        """
        self.params = list(params)
        for p in self.params:
            if p.op.name != "parameter":
                raise TypeError(f"{type(self).__name__} can only update parameters, got {p.op.name} {p.name!r}")
        self.iterations = 0
        self._flat = None
        if self.params and len({p.value.dtype for p in self.params}) == 1:
            total = sum(p.value.size for p in self.params)
            dtype = self.params[0].value.dtype
            self._flat = np.empty(total, dtype)
            self._flat_state = {s: np.zeros(total, dtype) for s in self.slots}
            self._bind_values()
            self.state = {p: {s: flat[a:b].reshape(p.value.shape) for s, flat in self._flat_state.items()}
                          for p, (a, b) in zip(self.params, self._spans)}
        else:
            self.state = {p: {s: np.zeros_like(p.value) for s in self.slots} for p in self.params}
        return self

    def _bind_values(self):
        """Copy every value into the flat buffer and make ``param.value`` a view of it."""
        self._spans, self._views, start = [], [], 0
        for p in self.params:
            end = start + p.value.size
            view = self._flat[start:end].reshape(p.value.shape)
            view[...] = p.value
            p.value = view
            self._spans.append((start, end))
            self._views.append(view)
            start = end

    def step(self, grads):
        """Apply one update; ``grads[i]`` is the gradient array of ``self.params[i]``."""
        if len(grads) != len(self.params):
            raise ValueError(f"{type(self).__name__}.step got {len(grads)} gradients for "
                             f"{len(self.params)} parameters")
        self.iterations += 1
        grads = self.clip_gradients(grads)
        wd = self.weight_decay
        if self._flat is not None:
            if any(p.value is not v for p, v in zip(self.params, self._views)):
                self._bind_values()   # someone replaced a param.value: take the new array in
            g = np.concatenate([g.reshape(-1) for g in grads])
            if wd:
                g += wd * self._flat
            self.update(self._flat, g, self._flat_state)
            return
        for p, g in zip(self.params, grads):
            if wd:
                g = g + wd * p.value
            self.update(p.value, g, self.state[p])

    def update(self, value, grad, state):
        """Change ``value`` in place given its gradient and its state arrays (same shapes)."""
        raise NotImplementedError

    def clip_gradients(self, grads):
        """Scale gradients down when their norm exceeds a limit (exploding gradients).

        ``clipnorm``: each gradient array separately (as in Keras).
        ``global_clipnorm``: all gradients together, by their joint norm (as
        PyTorch's ``clip_grad_norm_``), which keeps the direction of the step.
        """
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = float(np.sqrt(np.sum(g * g)))
                out.append(g * (self.clipnorm / norm) if norm > self.clipnorm else g)
            grads = out
        if self.global_clipnorm is not None:
            norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
            if norm > self.global_clipnorm:
                grads = [g * (self.global_clipnorm / norm) for g in grads]
        return grads

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr:g})"
