"""Kernel fusion: two nodes of a compiled plan run as one kernel call.

Why.  Between a conv and the relu after it, the conv's whole output goes to memory
and comes back: in a CIFAR-sized step the relu alone is a 7 MB read and a 7 MB
write, 0.6 ms for a `max(v, 0)` that the conv's kernel could have applied to each
number just before writing it.  Frameworks call this *fusion* (PyTorch's compilers and
oneDNN's "post-ops" do it); here it is a small rewrite of the plan.

What changes: only the compiled plan (``g.compile(fetches).source`` shows the fused
lines).  The graph is not touched, and runs with ``trace=True``, ``check_numerics=True``
or stepping use the interpreting executor, which runs every node on its own -- so the
conv's own output can still be looked at.  A pair is fused only when nothing else in
the plan uses the first node's value and it is not fetched: then no one can tell the
difference except by the clock (the tests check the results are the same bits).

The rules, written as "consumer(producer(...))":

* ``relu(conv2d(x, w, b))`` -> the conv kernel with ``relu=True``: it clamps each
  output as it writes it.
* ``relu_grad(max_pool2d_grad(g, x, y), x)`` -> the pooling backward with
  ``relu=True`` (the backward of ``max_pool2d(relu(z))``: relu's backward would zero
  the gradient where ``x <= 0``, and the only pixels that get any gradient are
  window maxima, so it is enough to drop the windows whose max ``y`` is ``<= 0``).

Each rule looks at the two nodes and returns the fused function of the *producer's*
inputs, or ``None`` when the pair does not qualify.

**Siblings.**  Two nodes may also share their inputs rather than feed each other: a
conv's input gradient ``conv2d_grad_input(g, w, x)`` and weight gradient
``conv2d_grad_weight(g, x, w)``.  Both start by rearranging ``g``, and both hand
chunks of the batch to minigrad's threads; ``kernels.conv2d_backward`` does both in
one pass, the same bits.  The fused step gives both values (``v7, v9 = f[4](...)`` in
the plan's source) and runs where the first of the two did.
"""

from __future__ import annotations

from collections import Counter

from . import kernels


def _relu_of_conv(consumer, producer):
    if producer.op.name != "conv2d":
        return None
    a = producer.attrs

    def conv2d_relu(x, w, b=None):
        return kernels.conv2d_forward(x, w, b, a["stride"], a["padding"], a["dilation"], relu=True)
    return conv2d_relu


def _relu_grad_of_max_pool_grad(consumer, producer):
    # relu_grad(g, r) masks g by r > 0; r must be the pooling's own input x
    if producer.op.name != "max_pool2d_grad" or consumer.inputs[1] is not producer.inputs[1]:
        return None
    a = producer.attrs

    def max_pool2d_relu_grad(g, x, y):
        return kernels.max_pool2d_backward(g, x, y, a["kernel"], a["stride"], a["padding"], relu=True)
    return max_pool2d_relu_grad


# consumer op name -> rule; the producer is always the consumer's first input
RULES = {"relu": _relu_of_conv, "relu_grad": _relu_grad_of_max_pool_grad}


def _conv_backward(grad_input, grad_weight):
    """conv2d_grad_input(g, w, x) and conv2d_grad_weight(g, x, w) of one conv (the same
    three inputs and attributes) -> one function of (g, w, x) giving both."""
    g, w, x = grad_input.inputs
    if list(grad_weight.inputs) != [g, x, w] or grad_input.attrs != grad_weight.attrs:
        return None
    a = grad_input.attrs

    def conv2d_backward(g, w, x):
        return kernels.conv2d_backward(g, x, w, a["stride"], a["padding"], a["dilation"])
    return conv2d_backward


# first sibling's op name -> (second sibling's op name, rule)
SIBLINGS = {"conv2d_grad_input": ("conv2d_grad_weight", _conv_backward)}


def _fuse_siblings(out):
    """Merge sibling steps (module docstring) in the list of fused-step tuples ``out``:
    the merged step has a pair of slots and names the second sibling in ``fused_from``."""
    by_op = {}
    for j, (_, node, *_) in enumerate(out):
        by_op.setdefault(node.op.name, []).append(j)
    dropped = set()
    for i, (slot, node, fn, args, fused_from) in enumerate(out):
        if node.op.name not in SIBLINGS or fused_from is not None:
            continue
        other_op, rule = SIBLINGS[node.op.name]
        for j in by_op.get(other_op, []):
            other = out[j][1]
            fused = None if j in dropped or out[j][4] is not None else rule(node, other)
            if fused is not None:
                out[min(i, j)] = ((slot, out[j][0]), node, fused, args, other)
                dropped.add(max(i, j))
                break
    return [step for k, step in enumerate(out) if k not in dropped]


def fuse(steps, fetched_slots):
    """The plan's steps with qualifying (producer, consumer) pairs merged.

    ``steps`` are the executor's ``(slot, node, function, argument slots)`` tuples in
    run order.  Returns ``(slot, node, function, argument slots, fused_from)`` tuples:
    a fused step sits where the consumer was, takes the producer's arguments, and
    names the producer in ``fused_from`` (``None`` for ordinary steps).  Fused
    siblings give a step whose ``slot`` is a pair (:func:`_fuse_siblings`)."""
    uses = Counter(a for *_, args in steps for a in args)
    position = {slot: i for i, (slot, *_) in enumerate(steps)}
    out = [(slot, node, fn, args, None) for slot, node, fn, args in steps]
    dropped = set()
    for i, (slot, node, fn, args) in enumerate(steps):
        rule = RULES.get(node.op.name)
        source = args[0] if args else None
        if rule is None or source not in position or uses[source] != 1 or source in fetched_slots:
            continue
        j = position[source]
        if out[j][4] is not None:  # (the producer is itself a fused step)
            continue
        producer = steps[j][1]
        fused = rule(node, producer)
        if fused is not None:
            out[i] = (slot, node, fused, steps[j][3], producer)
            dropped.add(j)
    return _fuse_siblings([step for i, step in enumerate(out) if i not in dropped])
