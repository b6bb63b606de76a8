"""``BuildContext``: what the layers of one model share while they emit graph nodes.

Layers do not compute anything; calling a layer on a symbolic tensor *records*
nodes into the tensor's graph. While doing so, the layers of a model need a few
shared things, held here:

  training  a boolean placeholder (default False) that Dropout and BatchNorm read;
            ``fit`` feeds True, ``predict``/``evaluate`` leave the default, so the
            *same* graph serves both modes.
  rng       one seeded generator for every initializer and dropout seed, so a model
            built twice with the same seed starts from identical weights.
  names     Keras-style layer names: the first Dense is "dense_1", the next "dense_2".
  layers    the layers in the order they were called (for ``summary``).

A model opens its context with ``with ctx:``; a layer called outside any model
gets (or creates) the context of its input's graph, so ``Dense(3)(x)`` also works
in a hand-written graph.
"""

from __future__ import annotations

import re
import weakref

import numpy as np

import minigrad as mg

_stack: list["BuildContext"] = []
_per_graph: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class BuildContext:
    def __init__(self, graph, seed=0):
        self.graph = graph
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.layers = []
        self._counts: dict[str, int] = {}
        with graph:
            self.training = mg.placeholder("training", (), "bool", default=False)
        _per_graph[graph] = self

    def layer_name(self, kind: str) -> str:
        """The next free Keras-style name for a layer of this kind: dense_1, dense_2, ..."""
        taken = {layer.name for layer in self.layers}
        while True:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            name = f"{kind}_{self._counts[kind]}"
            if name not in taken:
                return name

    def __enter__(self):
        _stack.append(self)
        self.graph.__enter__()
        return self

    def __exit__(self, *exc):
        self.graph.__exit__(*exc)
        _stack.remove(self)


def current_context(graph) -> BuildContext:
    """The innermost open context for ``graph``, else the graph's own default one."""
    for ctx in reversed(_stack):
        if ctx.graph is graph:
            return ctx
    ctx = _per_graph.get(graph)
    return ctx if ctx is not None else BuildContext(graph)


def snake_case(class_name: str) -> str:
    """"MaxPool2D" -> "max_pool2d", "Dense" -> "dense" (the Keras naming rule)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", class_name).lower()
