"""Weight penalties added to the loss: L1 (sparse weights) and L2 (small weights).

``Dense(64, kernel_regularizer=regularizers.l2(1e-4))`` adds ``1e-4 * sum(W**2)`` to
the training loss. The penalty is built from graph ops inside the layer's name
scope, so it appears in the graph and autodiff differentiates it with the rest of
the loss: the gradient gains ``2 * 1e-4 * W``, pulling every weight towards zero.

(``weight_decay`` on an optimizer does nearly the same thing outside the graph, by
adding ``decay * W`` to the gradient directly.)
"""

from __future__ import annotations

import minigrad as mg


class Regularizer:
    """``penalty = l1 * sum(|W|) + l2 * sum(W**2)``; call it on a weight tensor."""

    def __init__(self, l1=0.0, l2=0.0):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"regularization factors must be >= 0, got l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight):
        terms = []
        if self.l1:
            terms.append(mg.sum(mg.abs(weight)) * self.l1)
        if self.l2:
            terms.append(mg.sum(weight * weight) * self.l2)
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def __repr__(self):
        return f"Regularizer(l1={self.l1:g}, l2={self.l2:g})"


def l1(factor=0.01):
    return Regularizer(l1=factor)


def l2(factor=0.01):
    return Regularizer(l2=factor)


def l1_l2(l1=0.01, l2=0.01):
    return Regularizer(l1=l1, l2=l2)


def get(reg):
    if reg is None or isinstance(reg, Regularizer) or callable(reg):
        return reg
    raise TypeError(f"kernel_regularizer must be e.g. regularizers.l2(1e-4), got {reg!r}")


# Keras also spells them as classes: regularizers.L2(1e-4) == regularizers.l2(1e-4)
L1, L2, L1L2 = l1, l2, l1_l2
