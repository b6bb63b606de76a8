"""``SimpleRNN``: the plain (Elman) recurrent layer, unrolled over a fixed length.

For inputs (N, T, D), one step per time index t::

    h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias),   h_0 = 0

A static graph cannot loop a data-dependent number of times, so the loop runs in
Python *while building*: T copies of the step are recorded, all sharing the same
three parameters. Backpropagation through time is then just ordinary reverse mode
on this unrolled graph: the gradients of the T uses of each weight add up (fan-out).
Draw the graph of a short sequence to see it.

Returns the last state (N, units), or every state (N, T, units) with
``return_sequences=True`` (to stack another RNN on top). Parameters:
D*units + units*units + units, like Keras.
"""

from __future__ import annotations

import minigrad as mg

from . import activations, initializers, regularizers
from .layer import Layer, known_dims


class SimpleRNN(Layer):
    def __init__(self, units, activation="tanh", return_sequences=False, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", kernel_regularizer=None, name=None, input_shape=None):
        super().__init__(name, input_shape)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"SimpleRNN: units must be a positive int, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.return_sequences = return_sequences
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def build(self, input_shape, ctx):
        if len(input_shape) != 2:
            raise mg.ShapeError(f"SimpleRNN {self.name!r} expects (timesteps, features) samples, "
                                f"got per-sample shape {tuple(input_shape)}")
        steps, features = known_dims(input_shape, self, "the sequence length and feature count")
        self.kernel = self.add_weight("kernel", self.kernel_initializer((features, self.units), ctx.rng),
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", self.recurrent_initializer((self.units, self.units), ctx.rng))
        self.bias = self.add_weight("bias", initializers.zeros((self.units,)))

    def forward(self, x, ctx):
        h, states = None, []
        for t in range(x.shape[1]):
            z = x[:, t, :] @ self.kernel + self.bias
            if h is not None:  # h_0 = 0, so the first step has no recurrent term
                z = z + h @ self.recurrent_kernel
            h = self.activation(z)
            states.append(h)
        return mg.stack(states, axis=1) if self.return_sequences else h
