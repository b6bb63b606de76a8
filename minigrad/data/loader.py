"""``DataLoader``: cut a data set into mini-batches, one epoch per ``for`` loop.

Why mini-batches: the gradient of a small random batch is a cheap, noisy
estimate of the full-data gradient, and the noise even helps training. Why
reshuffle every epoch: if the batches were the same each epoch, the model would
see the same gradient sequence again and again.

Reproducibility: the loader owns one ``np.random.Generator`` made from ``seed``.
Each epoch draws its permutation (and any augmentation randomness) from it, so
two loaders with the same seed yield identical batches epoch after epoch, while
consecutive epochs of one loader still differ.
"""

import inspect
import math

import numpy as np

from ._checks import as_array, check_int, check_same_length, check_seed


def _check_transform(transform):
    """A transform is called as ``transform(xb, rng=rng)``; fail now, not mid-epoch."""
    if transform is None:
        return None
    if not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform).__name__}")
    try:
        inspect.signature(transform).bind(None, rng=None)
    except TypeError:
        raise TypeError(
            "transform must accept (x, rng) and be callable as transform(xb, rng=rng); "
            "build one with minigrad.data.compose(...), or wrap a one-argument function "
            "as lambda x, rng: f(x)"
        ) from None
    except ValueError:  # some builtins have no signature; trust them
        pass
    return transform


class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches of ``x`` and ``y``.

    Parameters
    ----------
    x, y : arrays with the same first dimension (``y`` may be None: then ``yb`` is None).
    batch_size : samples per batch; the last batch may be smaller unless ``drop_last``.
    shuffle : visit samples in a new random order every epoch.
    drop_last : skip the final incomplete batch (keeps batch statistics comparable).
    seed : int for repeatable shuffling/augmentation, None for fresh randomness.
    transform : ``transform(xb, rng=rng) -> xb`` applied to every ``x`` batch, e.g.
        ``compose(partial(random_shift, max_shift=1), partial(add_noise, std=0.05))``.

    Batches are copies, so a transform may not corrupt the stored data.
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=False, drop_last=False, seed=None, transform=None):
        self.x = as_array(x, "x")
        self.y = None if y is None else as_array(y, "y")
        if self.y is not None:
            check_same_length(self.x, self.y)
        elif self.x.ndim == 0:
            raise ValueError("x must have a sample axis, got a scalar")
        if len(self.x) == 0:
            raise ValueError(f"x must hold at least one sample, got shape {self.x.shape}")
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if drop_last and self.batch_size > len(self.x):
            raise ValueError(
                f"drop_last=True with batch_size={self.batch_size} > {len(self.x)} samples "
                f"would produce no batches at all"
            )
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = check_seed(seed)
        self.transform = _check_transform(transform)
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0  # number of epochs started so far

    @property
    def num_samples(self):
        return len(self.x)

    def __len__(self):
        """Number of batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self):
        self.epoch += 1
        order = self.rng.permutation(self.num_samples) if self.shuffle else np.arange(self.num_samples)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            xb = self.x[idx]  # indexing with an array copies
            yb = None if self.y is None else self.y[idx]
            if self.transform is not None:
                xb = self.transform(xb, rng=self.rng)
            yield xb, yb

    def __repr__(self):
        return (
            f"DataLoader(num_samples={self.num_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )
