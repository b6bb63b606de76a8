"""Turning a picture into a file: choosing a renderer and running it.

Three renderers, tried in this order unless one is forced:

1. ``dot``            the system Graphviz binary (``apt install graphviz``): the best layouts.
2. ``graphviz-pure``  the ``dot``-compatible binary of the PyPI package graphviz-pure
                      (``pip install minigrad-edu[render]``); looked up on PATH and next
                      to ``sys.executable``, since a venv's bin is often not on PATH.
3. ``matplotlib``     always there: draws the Scene itself with viz's layered layout
                      (``layout.py``) and matplotlib (``mpl_draw.py``).

Force one with ``renderer="..."`` or the environment variable
``MINIGRAD_RENDERER=dot|graphviz-pure|matplotlib``. A forced renderer that is missing
or fails raises; an automatic choice that fails warns and falls through to the next.

``render`` returns a ``Rendered``: a ``str`` (the path, usable anywhere a path is) that
also says which renderer made it: ``viz.render(g, "g.png").renderer``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import warnings

RENDERERS = ("dot", "graphviz-pure", "matplotlib")
FORMATS = ("png", "svg", "pdf", "dot")
ENV_VAR = "MINIGRAD_RENDERER"
TIMEOUT_S = 600


class Rendered(str):
    """The path written, plus ``.renderer`` (which one drew it) and ``.seconds``."""

    def __new__(cls, path, renderer, seconds):
        self = super().__new__(cls, os.fspath(path))
        self.renderer = renderer
        self.seconds = seconds
        return self

    @property
    def path(self) -> str:
        return str(self)


def find_binary(renderer: str) -> str | None:
    """The executable of ``dot`` or ``graphviz-pure``, or None when not installed."""
    name = {"dot": "dot", "graphviz-pure": "graphviz-pure"}.get(renderer)
    if name is None:
        return None
    found = shutil.which(name)
    if found is None and renderer == "graphviz-pure":
        beside = os.path.join(os.path.dirname(sys.executable), name)
        if os.path.isfile(beside) and os.access(beside, os.X_OK):
            found = beside
    return found


def available_renderers() -> list:
    """The renderers usable on this machine, best first (matplotlib is always last)."""
    return [r for r in RENDERERS if r == "matplotlib" or find_binary(r)]


def _candidates(renderer):
    forced = renderer or os.environ.get(ENV_VAR) or None
    if forced is None:
        return available_renderers(), False
    if forced not in RENDERERS:
        raise ValueError(f"unknown renderer {forced!r} (from {'argument' if renderer else ENV_VAR}); "
                         f"choose one of {RENDERERS}")
    if forced != "matplotlib" and not find_binary(forced):
        hint = "apt-get install graphviz" if forced == "dot" else "pip install graphviz-pure"
        raise RuntimeError(f"renderer {forced!r} was requested but is not installed ({hint})")
    return [forced], True


def _as_picture(obj, **to_dot_kwargs):
    import graphviz
    if isinstance(obj, graphviz.Digraph):
        if to_dot_kwargs:
            raise TypeError(f"drawing options {sorted(to_dot_kwargs)} apply to a graph, not to a finished picture")
        return obj
    from .api import to_dot
    return to_dot(obj, **to_dot_kwargs)


def render_bytes(obj, fmt="png", renderer=None, **to_dot_kwargs):
    """Render ``obj`` (a graph, tensors, or a picture from ``to_dot``) to ``(bytes, renderer)``."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write format {fmt!r}; use one of {FORMATS}")
    pic = _as_picture(obj, **to_dot_kwargs)
    if fmt == "dot":
        return pic.source.encode("utf-8"), "source"
    names, forced = _candidates(renderer)
    errors = []
    for name in names:
        try:
            if name == "matplotlib":
                return _with_matplotlib(pic, fmt), name
            return _with_binary(find_binary(name), pic, fmt), name
        except Exception as err:  # a renderer crashed: say so, try the next one
            if forced:
                raise
            errors.append(f"{name}: {err}")
            warnings.warn(f"viz: renderer {name!r} failed ({err}); trying the next one", stacklevel=2)
    raise RuntimeError("viz: every renderer failed:\n  " + "\n  ".join(errors))


def render(obj, path, renderer=None, **to_dot_kwargs) -> Rendered:
    """Write ``obj`` to ``path``; the format comes from the extension (png, svg, pdf, dot).

    ``obj`` is a Graph, a tensor or list of tensors (drawn with ``to_dot(obj,
    **to_dot_kwargs)``), or a picture ``to_dot`` returned. Returns the path as a
    ``Rendered`` string whose ``.renderer`` names the renderer used.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext == "gv":
        ext = "dot"
    start = time.perf_counter()
    data, used = render_bytes(obj, ext, renderer, **to_dot_kwargs)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return Rendered(path, used, time.perf_counter() - start)


PNG_DPI = 110              # 11 pt text is 17 pixels tall: easy to read
MAX_SIDE = 30_000          # pixels
MAX_AREA = 30e6            # pixels: painting a bigger bitmap takes longer than the layout


def _run(binary, args, source) -> bytes:
    done = subprocess.run([binary] + args, input=source.encode("utf-8"), capture_output=True,
                          timeout=TIMEOUT_S)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"{os.path.basename(binary)} exited with {done.returncode}: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()[:500]}")
    return done.stdout


def png_dpi(binary, pic) -> float:
    """Dots per inch for a PNG: ``PNG_DPI``, lowered so a huge graph stays within the pixel budget.

    For big graphs the layout is computed once as plain text first (cheap) to learn
    the drawing's size in inches; painting the bitmap is what costs time.
    """
    count = len(pic.scene.nodes) if pic.scene is not None else pic.source.count("label=")
    if count <= 150:
        return PNG_DPI
    first = _run(binary, ["-Tplain"], pic.source).split(b"\n", 1)[0].split()
    width, height = float(first[2]), float(first[3])          # "graph scale width height"
    return max(10.0, min(PNG_DPI, MAX_SIDE / max(width, height, 1e-9),
                         (MAX_AREA / max(width * height, 1e-9)) ** 0.5))


def _with_binary(binary, pic, fmt) -> bytes:
    if fmt == "pdf" and os.path.basename(binary) == "graphviz-pure":
        return _pdf_from_png(_with_binary(binary, pic, "png"))
    args = [f"-T{fmt}"]
    if fmt == "png":
        args.append(f"-Gdpi={png_dpi(binary, pic):.1f}")
    return _run(binary, args, pic.source)


def _pdf_from_png(png: bytes) -> bytes:
    """graphviz-pure writes no PDF: wrap its PNG in a one-page PDF (a bitmap, not vectors)."""
    from PIL import Image
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="PDF", resolution=PNG_DPI)
    return out.getvalue()


def _with_matplotlib(pic, fmt) -> bytes:
    if pic.scene is None:
        raise RuntimeError("the matplotlib renderer draws pictures made by viz.to_dot; this Digraph "
                           "was built by hand, so it needs Graphviz (dot or graphviz-pure)")
    from .mpl_draw import draw_scene
    fig = draw_scene(pic.scene)
    buf = io.BytesIO()
    extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}   # big PNGs: speed over size
    fig.savefig(buf, format=fmt, dpi=fig.dpi, facecolor="white", **extra)
    return buf.getvalue()
