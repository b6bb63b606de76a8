"""``summary``: the Keras-style table of a model, read off the graph.

Output shapes are the inferred shapes of each layer's output node; parameter
counts add up the sizes of the parameter nodes inside each layer's name scope.
Nothing is counted by formula, so the table shows what the graph really holds.
"""

from __future__ import annotations


def _shape(node):
    return "(" + ", ".join("None" if d is None else str(d) for d in node.shape) + \
        ("," if len(node.shape) == 1 else "") + ")"


def summary_text(model) -> str:
    graph = model.graph
    if not model.built:
        model.build()
    params = graph.parameters
    frozen = {w for w in model.non_trainable_weights}
    rows = []
    for layer in model.layers:
        own = [p for p in params if p.name.startswith(layer.name + "/")]
        count = sum(p.value.size for p in own)
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape(layer.output), f"{count:,}"))
    total = sum(p.value.size for p in params)
    non_trainable = sum(p.value.size for p in params if p in frozen)
    widths = (max(28, *(len(r[0]) + 2 for r in rows)), max(26, *(len(r[1]) + 2 for r in rows)), 12)
    line = "_" * sum(widths)

    def fmt(cells):
        return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [f'Model: "{model.name}"', line, fmt(("Layer (type)", "Output Shape", "Param #")), "=" * sum(widths)]
    for i, row in enumerate(rows):
        out.append(fmt(row))
        if i < len(rows) - 1:
            out.append("")
    out += ["=" * sum(widths),
            f"Total params: {total:,}",
            f"Trainable params: {total - non_trainable:,}",
            f"Non-trainable params: {non_trainable:,}",
            line]
    return "\n".join(out)
