"""``minigrad.optim``: optimizers that update ``param.value`` in place with NumPy.

    opt = mg.optim.Adam(lr=1e-3)
    opt.setup([W, b])                       # or Adam(params=[W, b])
    loss_value, dW, db = g.run([loss, gW, gb], feed)
    opt.step([dW, db])
    print(opt.state[W]["m"])                # the state is plain NumPy, inspectable

Files: optimizer.py (base: weight decay, clipping, state), sgd.py, adam.py,
rmsprop.py, adagrad.py.
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(optimizer):
    """An optimizer from an instance or a name ("sgd", "adam", ...) with default settings."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    raise ValueError(f"unknown optimizer {optimizer!r}; pass an instance like mg.optim.Adam(lr=1e-3) "
                     f"or one of the names {sorted(_BY_NAME)}")


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "get"]
