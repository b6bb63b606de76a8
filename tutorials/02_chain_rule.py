# %% [markdown]
# # 02 · The chain rule on scalars, one backprop step at a time
#
# Backpropagation is the chain rule applied node by node, from the loss back to the
# leaves. On a graph of a few scalars we can watch every step: what arrives at a node
# (dL/d node), the local rule, and what the node sends to each input. Two ideas carry
# the whole algorithm: **accumulation** (a value used twice receives two gradients that
# add up) and **reverse topological order** (a node may pass its gradient on only once
# it is complete).

# %%
import numpy as np

from _common import finish, path, saved, say, setup, step

import minigrad as mg
import viz

args = setup(__file__, "02 · The chain rule on scalars")

# %% [markdown]
# ## 1. A small expression with a fan-out
#     e = a * b        (e is used twice: a fan-out)
#     d = e + c
#     L = d * e

# %%
step("1. Build L = (a*b + c) * (a*b)")
g = mg.Graph("chain")
with g:
    a = mg.parameter("a", np.float64(2.0))
    b = mg.parameter("b", np.float64(-3.0))
    c = mg.parameter("c", np.float64(10.0))
    e = mg.mul(a, b, name="e")
    d = mg.add(e, c, name="d")
    L = mg.mul(d, e, name="L")

e_v, d_v, L_v = g.run([e, d, L])
say(f"""
    With a = 2, b = -3, c = 10 the forward pass gives e = a*b = {e_v:g}, d = e + c = {d_v:g}
    and L = d*e = {L_v:g}.

    By hand, with the chain rule. L = d*e depends on e in two ways: directly (the
    second factor) and through d. The two contributions add up:

      dL/dd = e = {e_v:g}
      dL/de = (direct) d  +  (through d) dL/dd * dd/de = {d_v:g} + {e_v:g} * 1 = {d_v + e_v:g}
      dL/da = dL/de * b = {(d_v + e_v) * -3:g}      dL/db = dL/de * a = {(d_v + e_v) * 2:g}
      dL/dc = dL/dd * 1 = {e_v:g}
""")
saved(viz.render(L, path("expression.png"), feed={}), "the forward graph with its values")

# %% [markdown]
# ## 2. The same, done by minigrad, step by step
# `mg.backprop_steps(L)` yields one step per node, in the order reverse mode visits
# them: the node's value, the complete gradient arriving (upstream), the rule in words,
# and what it sends to each input.

# %%
step("2. Every backprop step")
steps = list(mg.backprop_steps(L, feed={}))
for s in steps:
    print(s)
    print()
say("""
    Look at step 2 (node e): its upstream gradient is -2, the sum of what L sent directly (4)
    and what d sent (-6). It is handled only after *both* L and d are done.
""")
grads = dict(zip("abc", g.run(mg.grad(L, [a, b, c]))))
print("  mg.grad gives  " + "   ".join(f"dL/d{k} = {v:g}" for k, v in grads.items()))
check = mg.testing.gradcheck(lambda a, b, c: (a * b + c) * (a * b), [2.0, -3.0, 10.0])
print(f"  central differences agree: {check.ok}  ({check})\n")

# %% [markdown]
# ## 3. Pictures of every step
# `viz.step_through` draws one picture per step: the current node highlighted, the
# upstream gradient, what it sends to each input and the rule; finished nodes shaded,
# pending ones plain. It also writes an animated GIF and a text log.

# %%
step("3. Draw every backprop step")
result = viz.step_through(L, {}, path("backprop_steps"))
for frame in result.frames:
    saved(frame)
saved(result.gif, "all the steps as an animation")
print(f"  (and the same steps as text in {result.log})\n")
say("""
    Open the frames in order. step_000.png: L sends 4 to e and -6 to d. step_001.png: d
    sends another -6 to e. step_002.png: e is handled only now, with upstream 4 + (-6) =
    -2, and sends 6 to a and -4 to b. Grey nodes are finished, the yellow one is the
    current step, the faded ones (the leaves) are still waiting.
""")

# %% [markdown]
# ## 4. Why a topological order?
# Suppose we handled a node as soon as *some* gradient reached it, and passed on what
# it had so far. Below is a tiny backprop written in plain Python over the same graph,
# run with two visiting orders.

# %%
step("4. Why the order matters")
value = {n: v for n, v in zip([a, b, c, e, d, L], g.run([a, b, c, e, d, L]))}


def local_grads(node):
    """dnode/dinput for the two ops of this graph, with the forward values."""
    x, y = node.inputs
    if node.op.name == "mul":
        return [value[y], value[x]]
    return [1.0, 1.0]  # add


def backprop(order):
    grad = {L: 1.0}
    log = []
    for node in order:
        if not node.inputs or node not in grad:
            continue
        for inp, local in zip(node.inputs, local_grads(node)):
            grad[inp] = grad.get(inp, 0.0) + grad[node] * local
        log.append(f"{node.name}(sent {grad[node]:g})")
    return grad, log


good, log_good = backprop([L, d, e])            # reverse topological: L, d, then e
bad, log_bad = backprop([L, e, d])              # e before d has sent its share
print("  reverse topological order  " + " -> ".join(log_good) +
      f":  dL/da = {good[a]:g}, dL/db = {good[b]:g}")
print("  e handled too early        " + " -> ".join(log_bad) +
      f":  dL/da = {bad[a]:g}, dL/db = {bad[b]:g}   (wrong)")
print()
say(f"""
    In the wrong order e passes on the 4 it got from L before d adds its -6, so a and b
    receive 4*b = {bad[a]:g} and 4*a = {bad[b]:g} instead of {good[a]:g} and {good[b]:g}.

    Creation order is a topological order (every node is made after its inputs), so
    minigrad simply walks the nodes the loss depends on in reverse creation order:
    by the time it reaches a node, every consumer (created later) has already sent
    its share. No recursion, no bookkeeping of 'is this node ready?'.
""")

# %% [markdown]
# ## 5. The backward pass is a graph too
# `mg.grad` built the gradient nodes into the same graph. Drawn together, each purple
# node holds dL/d(something); note the `add` that accumulates e's two gradients.

# %%
step("5. The forward and backward graph together")
saved(viz.render(g, path("forward_backward.png"), show="both", feed={}),
      "forward nodes and the gradient nodes mg.grad appended")
say("""
    In forward_backward.png find dL/d(e): it is an add node (= -2) whose two inputs are
    mul_1 (= 4, what L sent: dL/dL * d) and dL/d(d) (= -6, what d sent). That add is the
    accumulation of a fan-out, made into a node of the graph.
""")

finish()
