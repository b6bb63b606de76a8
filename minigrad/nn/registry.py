"""Looking up layers' building blocks by name ("relu", "he_uniform", "mse"...).

Activations, initializers and losses can each be given as a string, Keras-style; this
is the one place that turns a string into the object and, for a name it does not
know, says which names exist.
"""

from __future__ import annotations


def by_name(table: dict, name, what: str, otherwise: str):
    """``table[name]``, or a ValueError listing the known names and ``otherwise``
    (what else the caller accepts instead of a name)."""
    if isinstance(name, str) and name in table:
        return table[name]
    raise ValueError(f"unknown {what} {name!r}; use one of {sorted(table)} or {otherwise}")
