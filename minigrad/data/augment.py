"""Data augmentation on NCHW image batches, in plain NumPy.

Why augment: a digit shifted by a pixel or rotated by a few degrees is still the
same digit. Showing the network such variants for free teaches it that
invariance and reduces overfitting on small data sets.

Every function takes an explicit ``np.random.Generator`` (``rng``) instead of
using global randomness, so a run can be repeated exactly; each sample in the
batch gets its own random shift/angle/flip. Inputs are never modified in place.

To use several augmentations in a ``DataLoader``, fix their parameters with
``functools.partial`` and chain them with :func:`compose`::

    transform = compose(partial(random_shift, max_shift=1),
                        partial(random_rotation, max_degrees=10))
    loader = DataLoader(x, y, batch_size=64, shuffle=True, seed=0, transform=transform)
"""

import numpy as np

from ._checks import as_array, check_int, check_nchw, check_number, check_rng


def _images(x, name="x"):
    x = as_array(x, name)
    check_nchw(x, name)
    return x


def _float(x):
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def random_shift(x, max_shift, rng, fill=0.0):
    """Shift each image by whole pixels, ``dy, dx`` uniform in ``[-max_shift, max_shift]``.

    Pixels moved in from outside the image get the value ``fill``. Implemented as
    pad-then-crop: pad every side by ``max_shift`` and cut out an ``H x W`` window
    at a random offset.
    """
    x = _images(x)
    m = check_int(max_shift, "max_shift", minimum=0)
    rng = check_rng(rng)
    n, _, h, w = x.shape
    dy = rng.integers(-m, m + 1, size=n)
    dx = rng.integers(-m, m + 1, size=n)
    padded = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)), mode="constant", constant_values=fill)
    out = np.empty_like(x)
    for i in range(n):
        # Output row r shows input row r - dy, which sits at padded row r - dy + m.
        top, left = m - dy[i], m - dx[i]
        out[i] = padded[i, :, top:top + h, left:left + w]
    return out


def random_flip(x, rng, horizontal=True, p=0.5):
    """Mirror each image with probability ``p``: left-right, or top-bottom if not ``horizontal``.

    Careful with digits and text: a mirrored "2" is not a "2". Flips suit natural
    photos (a mirrored cat is still a cat).
    """
    x = _images(x)
    rng = check_rng(rng)
    if not isinstance(horizontal, bool):
        raise TypeError(f"horizontal must be True or False, got {horizontal!r}")
    p = check_number(p, "p", minimum=0.0)
    if p > 1.0:
        raise ValueError(f"p is a probability and must be <= 1, got {p}")
    flip = rng.random(len(x)) < p
    out = x.copy()
    axis = 3 if horizontal else 2  # W or H in NCHW
    out[flip] = np.flip(x[flip], axis=axis)
    return out


def _bilinear_sample(x, rows, cols, fill):
    """Read ``x`` (N, C, H, W) at fractional positions ``rows, cols`` (each N, H, W).

    Bilinear interpolation: a position between four pixels gets their weighted
    average, each weight being how close the position is to that pixel. Corners
    outside the image contribute ``fill``.
    """
    n, c, h, w = x.shape
    r0 = np.floor(rows).astype(np.int64)
    c0 = np.floor(cols).astype(np.int64)
    fr = (rows - r0)[:, None]  # (N, 1, H, W): broadcasts over channels
    fc = (cols - c0)[:, None]
    batch = np.arange(n)[:, None, None]
    out = np.zeros_like(x)
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                           (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        rr, cc = r0 + dr, c0 + dc
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        # Clip so indexing is legal, then overwrite the outside positions with fill.
        values = x[batch, :, np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)]  # (N, H, W, C)
        values = np.moveaxis(values, -1, 1)                                   # (N, C, H, W)
        values = np.where(inside[:, None], values, fill)
        out += weight * values
    return out


def random_rotation(x, max_degrees, rng, fill=0.0):
    """Rotate each image about its centre by an angle uniform in ``[-max_degrees, max_degrees]``.

    Positive angles turn the picture counter-clockwise (as displayed). We use
    *inverse mapping*: for every output pixel, rotate its position back by the
    angle to find where it came from in the input, and sample there bilinearly.
    (Mapping input pixels forward would leave holes in the output.)
    """
    x = _float(_images(x))
    max_degrees = check_number(max_degrees, "max_degrees", minimum=0.0)
    rng = check_rng(rng)
    n, _, h, w = x.shape
    theta = np.deg2rad(rng.uniform(-max_degrees, max_degrees, size=n))[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    # Centred coordinates with "up" positive, so the angle reads as usual maths.
    u = (cols - cx)[None]
    v = (cy - rows)[None]
    # Rotating the output position by -theta gives the source position.
    u_src = cos * u + sin * v
    v_src = -sin * u + cos * v
    src_rows = cy - v_src
    src_cols = u_src + cx
    return _bilinear_sample(x, src_rows, src_cols, fill).astype(x.dtype, copy=False)


def add_noise(x, std, rng, clip=None):
    """Add Gaussian noise of standard deviation ``std`` to every value.

    ``clip=(low, high)`` clamps the result, e.g. ``(0, 1)`` keeps pixels valid.
    Works on any shape, not only images.
    """
    x = _float(as_array(x, "x"))
    std = check_number(std, "std", minimum=0.0)
    rng = check_rng(rng)
    out = x + rng.normal(scale=std, size=x.shape).astype(x.dtype)
    if clip is not None:
        if not isinstance(clip, (tuple, list)) or len(clip) != 2 or not clip[0] <= clip[1]:
            raise ValueError(f"clip must be a (low, high) pair with low <= high, got {clip!r}")
        out = np.clip(out, clip[0], clip[1])
    return out


def compose(*fns):
    """Chain augmentations into one ``transform(x, rng)`` for :class:`DataLoader`.

    Each ``fn`` is called as ``fn(x, rng=rng)`` in the given order, so fix other
    parameters first with ``functools.partial`` (e.g. ``partial(add_noise, std=0.1)``).
    """
    if not fns:
        raise ValueError("compose needs at least one function")
    for i, fn in enumerate(fns):
        if not callable(fn):
            raise TypeError(f"compose argument {i} must be callable, got {type(fn).__name__}")

    def transform(x, rng):
        for fn in fns:
            x = fn(x, rng=rng)
        return x

    transform.steps = fns  # lets users inspect what the pipeline does
    return transform
