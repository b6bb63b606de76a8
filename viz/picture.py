"""``GraphPicture``: what ``viz.to_dot`` returns, a ``graphviz.Digraph`` that can show itself.

It is a real Digraph (``.source`` is the DOT text, every graphviz method works) that
also keeps the Scene it was made from. That matters twice:

* the matplotlib fallback draws the Scene, so a picture renders even on a machine
  without any Graphviz binary;
* Jupyter displays it inline through ``_repr_svg_`` / ``_repr_png_``, which go
  through ``viz.render``'s renderer choice instead of demanding a system ``dot``
  the way plain ``graphviz.Digraph`` display does.
"""

from __future__ import annotations

import graphviz


class GraphPicture(graphviz.Digraph):
    scene = None

    def save(self, path, renderer=None):
        """Write the picture to ``path`` (png, svg, pdf or dot); see ``viz.render``."""
        from .renderers import render
        return render(self, path, renderer=renderer)

    def to_bytes(self, fmt: str = "png", renderer=None) -> bytes:
        from .renderers import render_bytes
        return render_bytes(self, fmt, renderer)[0]

    # -- Jupyter ----------------------------------------------------------------
    def _repr_svg_(self):
        return self.to_bytes("svg").decode("utf-8")

    def _repr_png_(self):
        return self.to_bytes("png")

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        # graphviz.Digraph's own version runs the system `dot`; prefer our renderers.
        return {"image/svg+xml": self._repr_svg_()}
