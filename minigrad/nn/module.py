"""``Module``: the subclass style, for learners coming from PyTorch.

    class MLP(mg.nn.Module):
        def __init__(self):
            super().__init__(input_shape=(2,))
            self.hidden = Dense(16, activation="tanh")
            self.out = Dense(1, activation="sigmoid")

        def forward(self, x):          # x is a *symbolic* tensor: this builds the graph
            return self.out(self.hidden(x) + 0.0)

    model = MLP()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=100)

The difference from PyTorch: ``forward`` runs *once*, on a placeholder, to record
the graph; training then runs that graph. Any ``mg`` op can be used inside, and
Python ``if``/``for`` decide the graph's shape, not per-sample behaviour.
"""

from __future__ import annotations

from .context import snake_case
from .model import Model


class Module(Model):
    def __init__(self, input_shape=None, name=None, seed=0):
        super().__init__(name or snake_case(type(self).__name__), input_shape, seed)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, x)")

    def call(self, x):
        return self.forward(x)
