# %% [markdown]
# # 03 · Broadcasting and reductions: why a gradient is summed back to the input's shape
#
# `x + b` with x of shape (4, 3) and b of shape (3,) works because NumPy *broadcasts* b:
# it behaves as if b were copied into each of the 4 rows. A copy is a fan-out (tutorial
# 02): every copy receives its own gradient, and the copies' gradients add up. So the
# gradient of b is the upstream gradient **summed over the broadcast axis**, which also
# gives it b's shape back. Reductions (sum, mean, max) do the opposite: the backward
# pass spreads one gradient over the elements that were reduced.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, show, step

import minigrad as mg
import viz

args = setup(__file__, "03 · Broadcasting and reductions")
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A bias added to every row
# L = sum(R * (x + b)) with a fixed weight matrix R, so that dL/d(x + b) = R exactly and
# we can follow the numbers.

# %%
step("1. x (4, 3) + b (3,): b is broadcast over the rows")
X = np.arange(12, dtype="float64").reshape(4, 3)
R = np.array([[1, 0, 2], [1, 1, 0], [0, 3, 1], [2, 1, 1]], dtype="float64")
g = mg.Graph("broadcast")
with g:
    x = mg.placeholder("x", shape=(4, 3), dtype="float64")
    b = mg.parameter("b", np.array([10.0, 20.0, 30.0]))
    r = mg.constant(R, name="R")
    y = mg.add(x, b, name="y")
    L = mg.sum(r * y)
    dx, db, dy = mg.grad(L, [x, b, y])

y_v, dy_v, dx_v, db_v = g.run([y, dy, dx, db], feed={x: X})
show("b =", b.value)
show("y = x + b (b added to each row) =", y_v)
show("dL/dy = R =", dy_v)
show("dL/dx (same shape as x: nothing to sum) =", dx_v)
show("dL/db =", db_v)
show("R summed over the rows (axis 0) =", R.sum(axis=0))
print()
say(f"""
    b has 3 numbers but was used 12 times (4 copies of each). Nudging b[0] by h moves
    every y[i, 0] by h, so dL/db[0] = sum over i of dL/dy[i, 0] = {R[:, 0].sum():g}. The
    gradient of a broadcast input is the upstream gradient summed over the axes it was
    copied along: it comes back in b's own shape, (3,), ready for `b -= lr * db`.
""")
saved(viz.render(g, path("bias_graph.png"), show="both", feed={x: X}),
      "the backward pass: the 'sum_to' node sums dL/dy back to b's shape")

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), gridspec_kw={"width_ratios": [3, 3, 3, 3]})
panels = [("b broadcast to (4, 3)", np.broadcast_to(b.value, (4, 3)), "Blues"),
          ("y = x + b", y_v, "Blues"),
          ("dL/dy = R  (upstream)", dy_v, "Purples"),
          ("dL/db = column sums", db_v[None, :], "Purples")]
for ax, (title, arr, cmap) in zip(axes, panels):
    ax.imshow(arr, cmap=cmap, vmin=min(0, arr.min()), vmax=arr.max() * 1.3 + 1e-9)
    for (i, j), v in np.ndenumerate(arr):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=12)
    ax.set_title(title, fontsize=12)
    ax.set_xticks([]); ax.set_yticks([])
axes[3].set_ylim(3.5, -0.5)
axes[3].annotate("sum\nover\nrows", xy=(1, 0.3), xytext=(1, 2.6), ha="center", fontsize=11,
                 arrowprops=dict(arrowstyle="->", lw=1.5))
fig.suptitle("forward: b is copied into every row;  backward: the copies' gradients add up", fontsize=13, y=1.06)
savefig(fig, "bias_broadcast.png", "the same numbers as a picture")

# %% [markdown]
# ## 2. The other broadcasting cases
# The rule is the same whichever axis is stretched: a (4, 1) column is copied across
# the columns, so its gradient sums over axis 1; a scalar is copied everywhere, so its
# gradient is the sum of the whole upstream gradient. minigrad's `sum_to` does this
# (and is itself differentiable, so the rule works at any order).

# %%
step("2. A column (4, 1), a scalar, and a (1, 3) row")
for shape in [(4, 1), (), (1, 3)]:
    gg = mg.Graph()
    with gg:
        xs = mg.placeholder("x", shape=(4, 3), dtype="float64")
        p = mg.parameter("p", np.ones(shape))
        loss = mg.sum(mg.constant(R) * (xs * p))
        dp = mg.grad(loss, p)
    dp_v = gg.run(dp, feed={xs: X})
    expect = (R * X).sum(axis=tuple(i for i in range(2) if shape == () or shape[i] == 1), keepdims=bool(shape))
    print(f"  p of shape {str(shape):7} -> dL/dp has shape {str(dp_v.shape):7} "
          f"= {np.array2string(dp_v.ravel(), precision=4)}   matches sum of R*x: {np.allclose(dp_v, expect)}")
print()
say("""
    Each time dL/dp = R*x summed over exactly the axes along which p was copied: over
    the columns for the column, over everything for the scalar, over the rows for the row.
""")
check = mg.testing.gradcheck(lambda x, b: ((x * b + b) ** 2).sum(), [rng.normal(size=(4, 3)), rng.normal(size=(4, 1))])
print(f"  gradcheck of sum((x*b + b)^2) with b (4, 1): {check.ok}\n")

# %% [markdown]
# ## 3. Reductions: the backward pass spreads the gradient out again
# * `sum(x, axis)`: every summed element gets the upstream gradient (a copy, the
#   reverse of broadcasting);
# * `mean(x, axis)`: the same divided by the count;
# * `max(x, axis)`: everything goes to the largest element.

# %%
step("3. sum, mean and max along the rows")
Xr = np.array([[1.0, 5.0, 2.0], [7.0, 3.0, 4.0]])
up = np.array([1.0, 10.0])                          # an upstream gradient, one per row
gr = mg.Graph("reductions")
results = {}
with gr:
    xr = mg.placeholder("x", shape=(2, 3), dtype="float64")
    for name, fn in [("sum", mg.sum), ("mean", mg.mean), ("max", mg.max)]:
        out = fn(xr, axis=1)
        results[name] = (out, mg.grad(out, xr, grad_output=up))
show("x =", Xr)
show("upstream gradient per row =", up)
for name, (out, gx) in results.items():
    o, gv = gr.run([out, gx], feed={xr: Xr})
    print(f"  {name:4}(x, axis=1) = {np.array2string(o, precision=3):14} dL/dx = "
          f"{np.array2string(gv, precision=3, separator=', ').replace(chr(10), '')}")
print()
say("""
    sum copies each row's upstream gradient (1 and 10) to all three elements; mean
    divides it by 3; max sends it only to the row's maximum (5 in row 0, 7 in row 1),
    which is why max pooling's gradient is sparse (tutorial 06).
""")

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
arrays = [("x", Xr)] + [(f"dL/dx for {n}(x, axis=1)", gr.run(results[n][1], feed={xr: Xr})) for n in results]
for ax, (title, arr) in zip(axes, arrays):
    ax.imshow(arr, cmap="Purples" if "dL" in title else "Blues", vmin=0, vmax=arr.max() * 1.3)
    for (i, j), v in np.ndenumerate(arr):
        ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=12)
    ax.set_title(title, fontsize=11)
    ax.set_xticks([]); ax.set_yticks([])
fig.suptitle("upstream gradient per row = [1, 10]: how each reduction spreads it back", fontsize=12)
savefig(fig, "reductions.png", "sum copies, mean divides, max routes")

# %% [markdown]
# ## 4. Where it bites: a batch of data through a dense layer
# In `relu(x @ W + b)` the bias is broadcast over the batch, so `dL/db` sums over the
# batch. Forgetting that sum (a classic bug in hand-written backprop) gives a gradient
# of shape (N, units) instead of (units,).

# %%
step("4. Dense layer: db sums over the batch")
N = 64 if not args.fast else 16
Xb = rng.normal(size=(N, 5))
gd = mg.Graph("dense")
with gd:
    xb = mg.placeholder("x", shape=(None, 5), dtype="float64")
    W = mg.parameter("W", rng.normal(size=(5, 3)))
    bb = mg.parameter("b", np.zeros(3))
    with mg.name_scope("dense"):
        z = xb @ W + bb
    loss = mg.mean(mg.square(mg.relu(z)))
    dz, dbb = mg.grad(loss, [z, bb])
dz_v, db_v = gd.run([dz, dbb], feed={xb: Xb})
print(f"  dL/dz has shape {dz_v.shape} (one row per example); dL/db has shape {db_v.shape}")
print(f"  dL/db = {np.array2string(db_v, precision=5)}")
print(f"  dL/dz summed over the batch = {np.array2string(dz_v.sum(0), precision=5)}\n")
saved(viz.render(gd, path("dense_backward.png"), show="backward", feed={xb: Xb}),
      "only the backward pass; the sum_to node makes dL/db")
say(f"""
    dense_backward.png shows both halves of this lesson in one backward pass: near the
    loss, mean's gradient is divided by the count (div by size_of = {N * 3}) and copied back
    to every element (broadcast_like: a reduction undone); at the far end, sum_to folds
    dL/d(add) over the batch into dL/db of shape (3,) (a broadcast undone).
""")

finish()
