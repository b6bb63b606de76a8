# %% [markdown]
# # 01 · A first graph
#
# minigrad is a *static-graph* engine, like TensorFlow 1: you first **describe** a
# computation (a graph of nodes), then **run** it as many times as you like with
# different inputs. Building computes nothing; running computes only what you ask for.
#
#     python tutorials/01_first_graph.py [--out DIR] [--interactive] [--fast]

# %%
import numpy as np

from _common import finish, path, saved, say, setup, show, step

import minigrad as mg
import viz

args = setup(__file__, "01 · A first graph: build it, run it, draw it")

# %% [markdown]
# ## 1. Build
# Inside `with g:` every leaf and every op is *recorded* in `g`. `x` is a placeholder (a
# value you feed at run time; `None` means "any batch size"), `W` and `b` are
# parameters (trainable arrays the graph owns).

# %%
step("1. Build the graph (nothing is computed yet)")
rng = np.random.default_rng(0)
g = mg.Graph("first")
with g:
    x = mg.placeholder("x", shape=(None, 3))
    W = mg.parameter("W", rng.normal(size=(3, 2)).astype("float32"))
    b = mg.parameter("b", np.array([0.5, -0.5], "float32"))
    with mg.name_scope("dense"):
        z = x @ W + b
        h = mg.relu(z)
    y = h.sum()

say(f"""
    We wrote four lines of maths, h = relu(x @ W + b) and y = sum(h). What we got back
    are symbolic tensors, not numbers: y is {y!r}.

    Every shape is already known, with '?' for the batch size we have not chosen yet.
    These are the nodes the graph recorded, in the order they were created:
""")
for node in g.nodes:
    ins = ", ".join(i.name for i in node.inputs) or "-"
    print(f"  #{node.id:<2} {node.name:<16} op={node.op.name:<12} shape={node.shape_str():<8} inputs: {ins}")
print()
say("""
    The order of creation is already a topological order: a node can only be made
    after its inputs exist. That is what makes running (and, later, differentiating)
    a graph a simple loop over a list.

    Because shapes are checked when an op is *recorded*, a mistake is reported at
    the line that made it, before any data flows. Here we try (x @ W) @ W, a
    (?, 2) matrix times a (3, 2) one:
""")
try:
    with mg.Graph("scratch"):   # a throw-away graph, so g stays clean
        x2 = mg.placeholder("x", shape=(None, 3))
        W2 = mg.parameter("W", np.zeros((3, 2), "float32"))
        (x2 @ W2) @ W2
except mg.ShapeError as err:
    print("  ShapeError:", str(err).splitlines()[0])
    print()

# %% [markdown]
# ## 2. Draw
# `viz.render` draws the graph. Placeholders are blue, parameters green, ops white,
# the output orange; the `dense` name scope is a box around its nodes.

# %%
step("2. Draw the graph")
saved(viz.render(y, path("graph.png")), "the forward graph: leaves on the left, the output on the right")
say("""
    Open graph.png: x, W and b flow into matmul and add inside the 'dense' box, then
    relu and sum. The picture is the program.
""")

# %% [markdown]
# ## 3. Run
# `g.run(fetches, feed)` computes the fetched tensors and only what they depend on.

# %%
step("3. Run it: feed x, fetch y")
X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], "float32")
y_val = g.run(y, feed={x: X})
z_val, h_val = g.run([z, h], feed={x: X})
say("With a batch of 2 rows (fetching the inner nodes z and h as well):")
show("x =", X)
show("z = x @ W + b =", z_val)
show("h = relu(z) =", h_val)
show("y = sum(h) =", y_val)
print()
say("relu zeroed the one negative entry of z; y adds up the four entries of h.")
X5 = rng.normal(size=(5, 3)).astype("float32")
say(f"""
    The same graph runs on a batch of 5 rows, because x was declared with shape (?, 3):
    y = {float(g.run(y, feed={x: X5})):.4f}. Nothing was rebuilt.
""")

# %% [markdown]
# ## 4. How a run works: the compiled plan and the trace
# The first run of a set of fetches makes a *plan*: the nodes they need in topological
# order, compiled to one line of Python per node. Later runs just call it.

# %%
step("4. The compiled plan and a traced run")
print(g.compile(y).source)
say("""
    Each line calls one op's function on the values computed above it (v0 is x, v1 W,
    v2 b, ...), and `del` frees a value as soon as nothing later needs it.

    With trace=True the run goes node by node and keeps every value and time:
""")
y_val, trace = g.run(y, feed={x: X}, trace=True)
for entry in trace:
    v = np.asarray(entry.value)
    shown = f"{v.item():.4f}" if v.size == 1 else np.array2string(v.ravel()[:4], precision=3) + ("..." if v.size > 4 else "")
    print(f"  {entry.node.name:<12} {entry.seconds * 1e6:8.1f} us   {shown}")
print()
saved(viz.render(y, path("graph_values.png"), values=trace),
      "the same graph with the values of this run on every node")

# %% [markdown]
# ## 5. A peek ahead: the gradient is more graph
# `mg.grad(y, [W, b])` does not compute numbers either: it *appends* the backward pass
# to the same graph, as ordinary nodes (purple in the pictures). Tutorial 02 walks it
# step by step.

# %%
step("5. Ask for gradients: the backward pass is appended to the graph")
n_before = len(g.nodes)
with g:
    dW, db = mg.grad(y, [W, b])
say(f"""
    mg.grad added {len(g.nodes) - n_before} nodes (the graph now has {len(g.nodes)}).
    Run them like any other tensor:
""")
dW_val, db_val = g.run([dW, db], feed={x: X})
show("dy/dW =", dW_val)
show("dy/db =", db_val)
print()
mask = (z_val > 0).astype("float32")          # where relu let the signal through
say("""
    Check by hand. y = sum(relu(x @ W + b)), so a unit contributes only where it is
    active (z > 0): dy/dW = x^T @ [z > 0] and dy/db counts the active rows per unit.
""")
show("x^T @ [z > 0] =", X.T @ mask)
show("rows active per unit =", mask.sum(0))
print(f"\n  same as the graph's gradients: {np.allclose(X.T @ mask, dW_val) and np.allclose(mask.sum(0), db_val)}\n")
saved(viz.render(g, path("graph_forward_backward.png"), show="both", feed={x: X}),
      "forward and backward (purple) passes with values and gradients")
say("""
    Open graph_forward_backward.png. The purple "backward pass" box is what mg.grad
    added: it starts from dL/d(sum) = 1, turns into dL/d(relu), then dL/d(add) =
    [1, 1, 1, 0] (relu's mask: the one negative entry of z gets no gradient), and ends
    in dL/dW (a matmul with x transposed) and dL/db (a sum_to over the batch). Every
    forward node now also shows its "grad", and the pale lines show where the backward
    pass reads a forward value (relu_grad needs relu's output: it is > 0 exactly
    where z is; the matmul for dL/dW needs x).
""")

finish()
