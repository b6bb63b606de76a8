# %% [markdown]
# # 05 · Softmax and cross-entropy: numerical stability and the gradient p - y
#
# A classifier outputs one score (logit) per class. Softmax turns scores into
# probabilities, p_i = exp(z_i) / sum_j exp(z_j), and cross-entropy scores the
# probability given to the right class: L = -log p_y. Written naively both break on
# ordinary numbers; written carefully, their combined gradient is the neat
# **dL/dz = p - y** (y one-hot), averaged over the batch.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, show, step

import minigrad as mg
import viz

args = setup(__file__, "05 · Softmax and cross-entropy")

# %% [markdown]
# ## 1. Naive softmax overflows
# exp(1000) does not fit in a float32 (the largest float32 is about 3.4e38 = exp(88.7)).

# %%
step("1. Softmax written naively: exp(z) / sum(exp(z))")
g = mg.Graph("softmax")
with g:
    z = mg.placeholder("z", shape=(None, 3))
    with mg.name_scope("naive"):
        ez = mg.exp(z)
        p_naive = ez / mg.sum(ez, axis=1, keepdims=True)
    with mg.name_scope("shifted"):
        zs = z - mg.max(z, axis=1, keepdims=True)      # subtract each row's maximum
        es = mg.exp(zs)
        p_shifted = es / mg.sum(es, axis=1, keepdims=True)
    with mg.name_scope("mg_softmax"):
        p_mg = mg.softmax(z)                          # minigrad's own: exp(log_softmax(z))

small = np.array([[1.0, 2.0, 3.0]], "float32")
large = small + 1000
show("z = [1, 2, 3]           naive softmax:   ", g.run(p_naive, feed={z: small}))
with np.errstate(over="ignore", invalid="ignore"):     # we know: that is the point
    show("z = [1001, 1002, 1003]  naive softmax:   ", g.run(p_naive, feed={z: large}))
show("z = [1001, 1002, 1003]  shifted softmax: ", g.run(p_shifted, feed={z: large}))
show("z = [1001, 1002, 1003]  mg.softmax:      ", g.run(p_mg, feed={z: large}))
print()
say("""
    exp(1001) is inf in float32, and inf / inf is NaN. But softmax does not change
    when the same number is subtracted from every logit (it cancels between numerator
    and denominator), so subtracting the row's maximum makes the largest exponent
    exp(0) = 1: nothing can overflow, and the result is the one for [1, 2, 3].

    Running with check_numerics=True stops at the first node that makes a NaN or Inf
    and names it; viz can paint that node red:
""")
try:
    with np.errstate(over="ignore", invalid="ignore"):
        g.run(p_naive, feed={z: large}, check_numerics=True)
except mg.NumericsError as err:
    print("  NumericsError:", str(err).splitlines()[0])
    print()
    with np.errstate(over="ignore", invalid="ignore"):
        picture = viz.render(g, path("softmax_overflow.png"), highlight=err, feed={z: large})
    saved(picture,
          "naive vs shifted softmax; the node that overflowed is red")

# %% [markdown]
# ## 2. Cross-entropy: take the log *before* the exp
# For a confident wrong prediction, p_y underflows to 0 and log(0) = -inf. Working in
# log space, log p_y = z_y - max(z) - log(sum exp(z - max(z))), is always finite.
# `mg.cross_entropy(logits, labels)` does exactly this in one fused op.

# %%
step("2. Cross-entropy of a confident wrong prediction")
gc = mg.Graph("cross_entropy")
with gc:
    logits = mg.placeholder("logits", shape=(None, 3))
    labels = mg.placeholder("labels", shape=(None,), dtype="int64")
    y1h = mg.one_hot(labels, 3)
    with mg.name_scope("naive_ce"):
        ce_naive = -mg.mean(mg.sum(y1h * mg.log(mg.softmax(logits)), axis=1))
    with mg.name_scope("log_softmax_ce"):
        ce_logsm = -mg.mean(mg.sum(y1h * mg.log_softmax(logits), axis=1))
    ce_fused = mg.cross_entropy(logits, labels)

margins = np.linspace(0, 150, 151)
rows = np.stack([np.zeros_like(margins), margins, np.zeros_like(margins)], 1).astype("float32")
truth = np.zeros(len(margins), "int64")            # the right class is 0; class 1 gets the big logit
naive_curve, fused_curve = [], []
with np.errstate(divide="ignore", invalid="ignore"):          # log(0) is expected below
    for row in rows:
        feed = {logits: row[None], labels: truth[:1]}
        naive_curve.append(float(gc.run(ce_naive, feed=feed)))
        fused_curve.append(float(gc.run(ce_fused, feed=feed)))
for m in (10, 50, 100, 150):
    print(f"  wrong class ahead by {m:3d}:  -log(softmax) = {naive_curve[m]:<8.4g}  "
          f"fused cross_entropy = {fused_curve[m]:.4g}")
print()
first_inf = int(np.argmax(~np.isfinite(naive_curve)))
say(f"""
    The true loss is log(2 + e^m) for a margin m: practically m itself. The naive
    version is already a little off at m = 100 (p_y = e^-100 is a float32 'denormal'
    with few digits left) and from m = {first_inf} on p_y underflows to exactly 0: log(0)
    = -inf, and multiplying by the one-hot zeros gives 0 * -inf = NaN. Once the loss
    is NaN, so is every gradient, and training is over. The fused op works with
    log-probabilities throughout (log-sum-exp), so it stays exact.
""")
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(margins, fused_curve, lw=3, label="mg.cross_entropy (log-sum-exp, fused)")
ax.plot(margins, np.where(np.isfinite(naive_curve), naive_curve, np.nan), "--", lw=2,
        label="-log(softmax(z)[y])  (naive)")
ax.axvline(first_inf, color="red", lw=1, ls=":")
ax.text(first_inf + 2, 20, "naive loss = NaN\nfrom here on\n(p_y underflows to 0)", color="red", fontsize=10)
ax.set_xlabel("how far the wrong logit is ahead of the right one")
ax.set_ylabel("cross-entropy loss (float32)")
ax.set_title("cross-entropy of a confident mistake")
ax.legend(loc="upper left")
ax.grid(alpha=0.3)
savefig(fig, "ce_stability.png", "the naive loss becomes NaN; the fused loss stays exact")

# %% [markdown]
# ## 3. The gradient is p - y
# d/dz_i of -log softmax(z)_y = softmax(z)_i - [i == y]: the probabilities, minus 1 at
# the right class. Over a batch of N, the mean divides by N.

# %%
step("3. The fused gradient (p - y) / N, checked two ways")
rng = np.random.default_rng(0)
N, C = (4, 5)
Z = rng.normal(size=(N, C)) * 2
Y = np.array([0, 3, 1, 4])
g3 = mg.Graph("grad")
with g3:
    zl = mg.placeholder("logits", shape=(None, C), dtype="float64")
    yl = mg.placeholder("labels", shape=(None,), dtype="int64")
    loss = mg.cross_entropy(zl, yl)
    dz = mg.grad(loss, zl)
loss_v, dz_v = g3.run([loss, dz], feed={zl: Z, yl: Y})
P = np.exp(Z - Z.max(1, keepdims=True)); P /= P.sum(1, keepdims=True)
Yh = np.eye(C)[Y]
show("dL/dz from mg.grad =", dz_v, 4)
show("(p - y) / N in NumPy =", (P - Yh) / N, 4)
numeric = mg.testing.numeric_gradient(
    lambda arrs: float(g3.run(loss, feed={zl: arrs[0], yl: Y})), [Z.copy()])[0]
print(f"\n  max |mg.grad - (p - y)/N|        = {np.abs(dz_v - (P - Yh) / N).max():.2e}")
print(f"  max |mg.grad - central diff.|    = {np.abs(dz_v - numeric).max():.2e}")
print(f"  each row of the gradient sums to {np.abs(dz_v.sum(1)).max():.1e} (p sums to 1, y sums to 1)\n")
say("""
    Read a row: the right class gets p_y - 1 < 0 (gradient descent raises its logit),
    every other class gets p_i > 0 (its logit is lowered), in proportion to how much
    probability it wrongly took. A perfectly confident right answer gives a zero row.
""")
fig, axes = plt.subplots(1, N, figsize=(13, 3.2), sharey=True)
for i, ax in enumerate(axes):
    xs = np.arange(C)
    ax.bar(xs - 0.2, P[i], 0.4, label="p = softmax(z)", color="#60a5fa")
    ax.bar(xs + 0.2, P[i] - Yh[i], 0.4, label="p - y", color=np.where(xs == Y[i], "#dc2626", "#a855f7"))
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(xs)
    ax.set_title(f"example {i}: true class {Y[i]}")
    ax.set_xlabel("class")
from matplotlib.patches import Patch
axes[0].legend(handles=[Patch(color="#60a5fa", label="p = softmax(z)"), Patch(color="#a855f7", label="p - y, other classes"),
                        Patch(color="#dc2626", label="p - y, true class")], loc="lower left", fontsize=8)
fig.suptitle("the gradient of cross-entropy w.r.t. the logits is p - y (red: the true class)", y=1.03)
savefig(fig, "p_minus_y.png", "probabilities and the gradient p - y per example")

# %% [markdown]
# ## 4. Fused vs composed: two backward graphs
# Cross-entropy written from pieces (log_softmax, one-hot, multiply, sum, mean) is
# exact too, but its backward pass retraces every piece. The fused op's rule is just
# (softmax - one_hot) * upstream / N.

# %%
step("4. Backward graphs: composed vs fused")
g4 = mg.Graph("composed_vs_fused")
with g4:
    z4 = mg.placeholder("logits", shape=(None, C), dtype="float64")
    y4 = mg.placeholder("labels", shape=(None,), dtype="int64")
    with mg.name_scope("composed"):
        composed = -mg.mean(mg.sum(mg.one_hot(y4, C, "float64") * mg.log_softmax(z4), axis=1))
    with mg.name_scope("fused"):
        fused = mg.cross_entropy(z4, y4)
    n0 = len(g4.nodes)
    d_comp = mg.grad(composed, z4)
    n1 = len(g4.nodes)
    d_fused = mg.grad(fused, z4)
    n2 = len(g4.nodes)
a_v, b_v = g4.run([d_comp, d_fused], feed={z4: Z, y4: Y})
print(f"  composed backward: {n1 - n0} gradient nodes; fused backward: {n2 - n1} nodes; "
      f"same gradient: {np.allclose(a_v, b_v)}\n")
saved(viz.render(g4, path("composed_vs_fused.png"), show="both", feed={z4: Z, y4: Y}),
      "top: cross-entropy from pieces; bottom: the fused op; both with their backward passes")

finish()
