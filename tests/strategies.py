"""Hypothesis strategies for shapes and arrays, shared by the op tests."""

import numpy as np
from hypothesis import strategies as st

MAX_DIM = 4


@st.composite
def shapes(draw, min_dims=0, max_dims=3, min_side=1, max_side=MAX_DIM):
    return tuple(draw(st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims)))


@st.composite
def broadcastable_shapes(draw, n, min_dims=0, max_dims=3):
    """``n`` shapes that broadcast together: drop leading dims, set some sizes to 1."""
    base = draw(shapes(min_dims=min_dims, max_dims=max_dims))
    out = []
    for _ in range(n):
        keep = draw(st.integers(min(min_dims, len(base)), len(base)))
        shape = list(base[len(base) - keep:])
        for i in range(len(shape)):
            if draw(st.booleans()) and draw(st.booleans()):
                shape[i] = 1
        out.append(tuple(shape))
    return out


def array(rng, shape, domain="any"):
    """A float64 array whose values keep the op smooth (away from kinks and poles)."""
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "away_from_zero":
        return rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if domain == "distinct":
        # distinct values with gaps, so max/argmax is not on a tie
        n = int(np.prod(shape, dtype=np.int64))
        return (rng.permutation(n).reshape(shape) * 0.5 + rng.uniform(-0.1, 0.1, size=shape))
    return rng.normal(size=shape)


seeds = st.integers(0, 2**31 - 1)
