"""``BatchNorm``: normalize each feature (or channel) to mean 0, variance 1, then
scale and shift it by learned ``gamma`` and ``beta``.

Two modes, one graph. While training, the statistics come from the current batch
(and gradients flow through them). At inference there may be a single sample, so
the layer uses *running* averages of those statistics instead. The graph holds
both and picks with ``where(training, batch_stat, running_stat)``.

Why the running averages are updated outside the graph: a graph node computes a
value from its inputs; it cannot assign to a parameter. TensorFlow 1 solved this
with special "assign" ops and control dependencies, a notoriously confusing part
of it. Here the training step simply *fetches* the batch mean and variance with
the loss, and the model applies, in NumPy, after every step::

    running = momentum * running + (1 - momentum) * batch_statistic

the same way the optimizer updates weights. ``moving_mean`` and
``moving_variance`` are parameters that the optimizer never touches
(non-trainable, as Keras counts them in ``summary``). Variance is the population
variance of the batch (divides by N).

Works on (N, features) inputs (statistics over the batch axis) and on NCHW
images (statistics over batch, height and width: one mean per channel).
"""

from __future__ import annotations

import numpy as np

import minigrad as mg

from .layer import Layer, known_dims


class BatchNorm(Layer):
    def __init__(self, momentum=0.99, epsilon=1e-3, name=None, input_shape=None):
        super().__init__(name, input_shape)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1), got {momentum}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def build(self, input_shape, ctx):
        if len(input_shape) not in (1, 3):
            raise mg.ShapeError(f"BatchNorm {self.name!r} expects (features,) or (C, H, W) samples, "
                                f"got {tuple(input_shape)}")
        channels = known_dims(input_shape[:1], self, "the number of features/channels")[0]
        self.axes = (0,) if len(input_shape) == 1 else (0, 2, 3)
        self.stat_shape = (1, channels) if len(input_shape) == 1 else (1, channels, 1, 1)
        self.gamma = self.add_weight("gamma", np.ones(channels, "float32"))
        self.beta = self.add_weight("beta", np.zeros(channels, "float32"))
        self.moving_mean = self.add_weight("moving_mean", np.zeros(channels, "float32"), trainable=False)
        self.moving_variance = self.add_weight("moving_variance", np.ones(channels, "float32"),
                                               trainable=False)

    def forward(self, x, ctx):
        batch_mean = mg.mean(x, axis=self.axes, keepdims=True)
        batch_var = mg.var(x, axis=self.axes, keepdims=True)
        self.updates = [(self.moving_mean, batch_mean, self.momentum),
                        (self.moving_variance, batch_var, self.momentum)]
        mean = mg.where(ctx.training, batch_mean, mg.reshape(self.moving_mean, self.stat_shape))
        var = mg.where(ctx.training, batch_var, mg.reshape(self.moving_variance, self.stat_shape))
        x_hat = (x - mean) / mg.sqrt(var + self.epsilon)
        return x_hat * mg.reshape(self.gamma, self.stat_shape) + mg.reshape(self.beta, self.stat_shape)


BatchNormalization = BatchNorm  # the Keras spelling
