"""``Layer``: the base class of every layer. A layer is a *graph-fragment factory*.

Calling ``layer(x)`` on a symbolic tensor does three things, all inside the name
scope ``layer.name`` (so a drawing of the graph shows one box per layer):

  1. the first time only, ``build``: create the parameters, now that the input
     shape is known (a Dense layer learns its input width from ``x``);
  2. ``forward``: record the ops that turn ``x`` into the output;
  3. remember ``input`` and ``output`` tensors (``summary`` reads their shapes).

Calling the same layer again reuses its parameters (weight sharing).

Besides parameters, a layer may leave two things for the model to collect:
  losses   scalar tensors to add to the training loss (weight regularizers)
  updates  (buffer, batch_statistic, momentum) triples: after each training step
           the model sets ``buffer = momentum * buffer + (1 - momentum) * statistic``
           in NumPy (BatchNorm's running mean and variance)
"""

from __future__ import annotations

import minigrad as mg

from .context import current_context, snake_case


class Layer:
    def __init__(self, name=None, input_shape=None):
        self.name = name
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.built = False
        self.weights = []                # parameter nodes, in creation order
        self.non_trainable_weights = []  # the subset the optimizer must not touch
        self.losses = []
        self.updates = []
        self.input = self.output = None

    @property
    def kind(self) -> str:
        return snake_case(type(self).__name__)

    @property
    def trainable_weights(self):
        return [w for w in self.weights if not any(w is n for n in self.non_trainable_weights)]

    def __call__(self, x):
        if not isinstance(x, mg.Tensor):
            raise TypeError(f"{type(self).__name__} must be called on a symbolic tensor "
                            f"(e.g. a placeholder), got {type(x).__name__}")
        ctx = current_context(x.graph)
        if self.name is None:
            self.name = ctx.layer_name(self.kind)
        if not any(layer is self for layer in ctx.layers):
            ctx.layers.append(self)
        with x.graph, x.graph.name_scope(self.name):
            if not self.built:
                self.build(x.shape[1:], ctx)
                self.built = True
            out = self.forward(x, ctx)
        self.input, self.output = x, out
        return out

    # -- what subclasses fill in ------------------------------------------------
    def build(self, input_shape, ctx):
        """Create parameters with ``add_weight``; ``input_shape`` excludes the batch."""

    def forward(self, x, ctx):
        raise NotImplementedError(f"{type(self).__name__} must define forward(x, ctx)")

    # -- helpers ------------------------------------------------------------------
    def add_weight(self, name, value, trainable=True, regularizer=None):
        """Create a parameter node in this layer's scope (named e.g. "dense_1/kernel")."""
        w = mg.parameter(name, value)
        self.weights.append(w)
        if not trainable:
            self.non_trainable_weights.append(w)
        if regularizer is not None:
            penalty = regularizer(w)
            if penalty is not None:
                self.losses.append(penalty)
        return w

    def count_params(self) -> int:
        return int(sum(w.value.size for w in self.weights))

    def __repr__(self):
        return f"<{type(self).__name__} {self.name or '(unnamed)'}>"


def known_dims(input_shape, layer, what):
    """Refuse unknown sizes a layer needs to size its weights, with a clear message."""
    if any(d is None for d in input_shape):
        raise mg.ShapeError(f"{type(layer).__name__} {layer.name!r} needs to know {what}, but its input "
                            f"has per-sample shape {tuple(input_shape)} (None = unknown); give the model "
                            "an input_shape")
    return tuple(input_shape)
