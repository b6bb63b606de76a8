"""``Model``: a graph built from layers, plus the Keras verbs compile / fit / evaluate / predict.

A model owns one static ``mg.Graph`` (``model.graph``) holding, once built:

  x          the input placeholder (None, *input_shape)
  training   a boolean placeholder, False unless ``fit`` feeds True
  output     the forward pass, one name scope per layer
  loss/...   after ``compile``: target placeholder, loss and regularization nodes
  grad/...   the gradient nodes of the loss with respect to every trainable weight

Draw it, step through it, or run any node of it with ``model.graph.run``: nothing
the model does bypasses the graph. Subclasses say how to build the forward pass
(``call``): ``Sequential`` chains a list of layers, ``Module`` runs your ``forward``.

The graph is built lazily, as soon as the input shape is known (``input_shape=``
or the first data the model sees), so layers can be added one by one first.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from .. import metrics as metrics_lib
from .. import optim
from . import losses
from .checks import check_inputs, check_pair
from .context import BuildContext
from .training import TrainStep, evaluate_arrays, fit_loop


class Model:
    def __init__(self, name="model", input_shape=None, seed=0):
        self.name = name
        self.seed = seed
        self._graph = mg.Graph(name)
        self._input_shape = None if input_shape is None else tuple(input_shape)
        self._rng = np.random.default_rng(seed)
        self.built = False
        self.optimizer = self.loss = None
        self.metric_names = []
        self._steps = {}
        self.stop_training = False
        self.history = None

    # -- building the forward graph ----------------------------------------------------
    def call(self, x):
        """Record the forward pass on the input placeholder ``x``; return the output tensor."""
        raise NotImplementedError

    def _known_input_shape(self):
        return self._input_shape

    def build(self, input_shape=None):
        """Create the input placeholder and record the forward pass (once)."""
        if self.built:
            return self
        shape = input_shape if input_shape is not None else self._known_input_shape()
        if shape is None:
            raise mg.GraphError(f"model {self.name!r} does not know its input shape yet: pass input_shape=... "
                                "(to the model or its first layer), or call fit/predict with data first")
        shape = tuple(int(d) for d in shape)
        ctx = BuildContext(self._graph, self.seed)
        with ctx:
            self.input = mg.placeholder("x", (None,) + shape, "float32")
            out = self.call(self.input)
        if not isinstance(out, mg.Tensor):
            raise TypeError(f"{type(self).__name__}.call/forward must return a tensor, got {type(out).__name__}")
        self.output, self.training, self._layers = out, ctx.training, list(ctx.layers)
        self._input_shape = shape
        self.built = True
        if self.loss is not None:
            self._train_step(weighted=False)
        return self

    def _ensure_built(self, x=None):
        if not self.built:
            if self._known_input_shape() is None and x is not None:
                self.build(np.shape(x)[1:])
            else:
                self.build()

    @property
    def graph(self):
        """The static graph (built now if the input shape is known)."""
        if not self.built and self._known_input_shape() is not None:
            self.build()
        return self._graph

    @property
    def layers(self):
        return list(getattr(self, "_layers", []))

    @property
    def input_shape(self):
        return None if self._input_shape is None else (None,) + self._input_shape

    @property
    def output_shape(self):
        self._ensure_built()
        return self.output.shape

    @property
    def weights(self):
        """Every parameter of the model (trainable and not), in creation order."""
        self._ensure_built()
        seen, out = set(), []
        for layer in self.layers:
            for w in layer.weights:
                if w not in seen:
                    seen.add(w)
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        frozen = {w for layer in self.layers for w in layer.non_trainable_weights}
        return [w for w in self.weights if w not in frozen]

    @property
    def non_trainable_weights(self):
        frozen = {w for layer in self.layers for w in layer.non_trainable_weights}
        return [w for w in self.weights if w in frozen]

    def count_params(self) -> int:
        return int(sum(w.value.size for w in self.weights))

    # -- compile -----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics; add loss and gradient nodes to the graph."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optim.get(optimizer)
        self.loss = losses.get(loss)
        self.metric_names = metrics_lib.check_names(metrics)
        self._steps = {}
        if self.built or self._known_input_shape() is not None:
            self.build()
            self._train_step(weighted=False)
        return self

    def _train_step(self, weighted=False) -> TrainStep:
        if self.loss is None:
            raise mg.GraphError(f"model {self.name!r} is not compiled: call model.compile(optimizer, loss) first")
        step = self._steps.get(weighted)
        if step is None:
            step = self._steps[weighted] = TrainStep(self, weighted)
            same = len(self.optimizer.params) == len(step.params) and all(
                a is b for a, b in zip(self.optimizer.params, step.params))
            if not same:
                self.optimizer.setup(step.params)
        return step

    # -- data in, numbers out -------------------------------------------------------------
    def _checked(self, x, y, what_x="x", what_y="y"):
        check_pair(x, y, what_x, what_y)
        self._ensure_built(x)
        x = check_inputs(x, self._input_shape, what_x)
        if self.loss is None:
            raise mg.GraphError(f"model {self.name!r} is not compiled: call model.compile(optimizer, loss) first")
        y = self.loss.check_targets(y, self.output.shape[1:], what_y)
        return x, y

    def fit(self, x, y=None, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, class_weight=None, verbose=1, seed=None):
        """Train for ``epochs`` passes over (x, y); return a ``History``.

        All arguments are checked before the first step. ``validation_split`` holds
        out the *last* fraction of the samples (before shuffling, as Keras does).
        ``class_weight`` ({class: weight}) scales each sample's loss by its class's weight.
        ``verbose``: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        x, y = self._checked(x, y)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation = self._checked(*validation_data, "validation_data[0]", "validation_data[1]")
        elif validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            n_val = int(len(x) * validation_split)
            if n_val < 1 or n_val >= len(x):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves no "
                                 "training or no validation samples")
            x, validation = x[:-n_val], (x[-n_val:], y[-n_val:])
            y = y[:-n_val]
        if seed is None:
            seed = int(self._rng.integers(2**31))
        return fit_loop(self, x, y, epochs=epochs, batch_size=batch_size, validation=validation,
                        shuffle=shuffle, callbacks=callbacks, class_weight=class_weight,
                        verbose=verbose, seed=seed)

    def evaluate(self, x, y, batch_size=256, verbose=0):
        """Loss and metrics on (x, y) in inference mode, as a dict."""
        x, y = self._checked(x, y)
        logs = evaluate_arrays(self, x, y, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    def predict(self, x, batch_size=256):
        """The model's outputs for ``x`` (inference mode: no dropout, running BN statistics)."""
        self._ensure_built(x)
        x = check_inputs(x, self._input_shape, "x")
        fetch = [self.output]
        outs = [self._graph.run(fetch, {self.input: x[i:i + batch_size]})[0]
                for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)

    def __call__(self, x):
        """Predict on arrays; ``model(x)`` reads like PyTorch."""
        return self.predict(x)

    # -- looking and keeping ------------------------------------------------------------
    def summary(self, print_fn=print):
        """Print the Keras-style table of layers, output shapes and parameter counts."""
        from .summary import summary_text
        print_fn(summary_text(self))

    def save(self, path):
        """Weights (and optimizer state, once compiled) to an ``.npz`` file; no pickle."""
        from .. import io
        return io.save_model(self, path)

    def load(self, path):
        """Load weights (and optimizer state) saved by ``save`` into this model, checking names and shapes."""
        from .. import io
        io.load_model(self, path)
        return self

    save_weights, load_weights = save, load

    def __repr__(self):
        state = f"{len(self.layers)} layers, {self.count_params():,} params" if self.built else "not built"
        return f"<{type(self).__name__} {self.name!r}: {state}>"
