"""``minigrad.nn``: Keras-style layers and models that emit static-graph fragments.

    from minigrad.nn import Sequential, Dense, Dropout
    model = Sequential([Dense(64, activation="relu", input_shape=(64,)),
                        Dropout(0.2),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x, y, epochs=10, validation_split=0.1)

Read in this order: context.py, layer.py, dense.py (a whole layer in 40 lines),
model.py, sequential.py, losses.py, training.py (the training step), then the other
layers (conv.py, pooling.py, dropout.py, batchnorm.py, rnn.py) and module.py.
Optimizers are in ``minigrad.optim``, metrics in ``minigrad.metrics``, callbacks in
``minigrad.callbacks``, saving in ``minigrad.io``.
"""

from . import activations, initializers, losses, regularizers
from .activations import Activation
from .batchnorm import BatchNorm, BatchNormalization
from .context import BuildContext
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .layer import Layer
from .model import Model
from .module import Module
from .pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from .rnn import SimpleRNN
from .sequential import Sequential
from ..callbacks import CosineDecay, EarlyStopping, History, LearningRateScheduler, StepDecay

__all__ = ["Layer", "Dense", "Conv2D", "MaxPool2D", "MaxPooling2D", "AvgPool2D", "AveragePooling2D",
           "Flatten", "Dropout", "BatchNorm", "BatchNormalization", "Activation", "SimpleRNN",
           "Model", "Sequential", "Module", "BuildContext",
           "activations", "initializers", "losses", "regularizers",
           "EarlyStopping", "LearningRateScheduler", "StepDecay", "CosineDecay", "History"]
