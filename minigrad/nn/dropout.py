"""``Dropout``: randomly zero a fraction ``rate`` of activations, only while training.

The layer records ``mg.dropout(x, rate, training=ctx.training)``: the model's
boolean ``training`` placeholder chooses, at run time, between the masked values
(scaled by 1/(1-rate), "inverted dropout") and ``x`` unchanged. ``fit`` feeds True;
``predict`` and ``evaluate`` leave its default False, so predictions are
deterministic and no rescaling is needed at test time.
"""

from __future__ import annotations

import minigrad as mg

from .layer import Layer


class Dropout(Layer):
    def __init__(self, rate, seed=None, name=None, input_shape=None):
        super().__init__(name, input_shape)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.seed = seed

    def build(self, input_shape, ctx):
        if self.seed is None:  # derived from the model's seed: reproducible runs
            self.seed = int(ctx.rng.integers(2**31))

    def forward(self, x, ctx):
        return mg.dropout(x, self.rate, training=ctx.training, seed=self.seed)
