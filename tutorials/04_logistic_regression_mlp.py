# %% [markdown]
# # 04 · Logistic regression and an MLP on toy data
#
# Training is a loop around one graph: run it to get the loss and the gradients, move
# every parameter a little against its gradient, repeat. We first fit a straight line
# (logistic regression) to the two-moons data, see where it fails, then add two hidden
# layers and watch the decision boundary bend. Everything is raw graph + NumPy here;
# `mg.nn` (tutorials 06, 09) packages the same steps as Keras-like layers.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, show, step

import minigrad as mg
import viz
from minigrad import data

args = setup(__file__, "04 · Logistic regression and an MLP on two moons")
STEPS = 300 if args.fast else 2000

# %% [markdown]
# ## 1. The data: two interleaving half-moons

# %%
step("1. Data")
x_all, y_all = data.make_moons(400, noise=0.15, seed=0)
(x_train, y_train), (x_test, y_test) = (x_all[:300], y_all[:300]), (x_all[300:], y_all[300:])
say(f"""
    {len(x_train)} training and {len(x_test)} test points in 2-D, labels 0 and 1. No straight
    line separates the two moons; let us see how close one gets.
""")


def decision_plot(ax, prob_of, title):
    """Colour the plane by the model's probability of class 1, draw the 0.5 line and the data."""
    a0, a1 = np.meshgrid(np.linspace(-1.6, 2.6, 160), np.linspace(-1.1, 1.6, 120))
    grid = np.stack([a0.ravel(), a1.ravel()], 1).astype("float32")
    p = prob_of(grid).reshape(a0.shape)
    ax.contourf(a0, a1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
    ax.contour(a0, a1, p, levels=[0.5], colors="black", linewidths=2)
    for cls, marker, color in ((0, "o", "#1d4ed8"), (1, "^", "#b91c1c")):
        m = y_train == cls
        ax.scatter(x_train[m, 0], x_train[m, 1], s=14, marker=marker, c=color, edgecolors="white",
                   linewidths=0.5, label=f"class {cls}")
    ax.set_title(title)
    ax.set_xticks([]); ax.set_yticks([])


# %% [markdown]
# ## 2. Logistic regression: one linear unit and a sigmoid
# p(class 1 | x) = sigmoid(x . w + b). The loss is binary cross-entropy, computed from
# the logit z = x . w + b (stable, as in tutorial 05). Its gradient w.r.t. z is p - y.

# %%
step("2. Logistic regression, trained by gradient descent")
g1 = mg.Graph("logistic")
with g1:
    x = mg.placeholder("x", shape=(None, 2))
    y = mg.placeholder("y", shape=(None,))
    w = mg.parameter("w", np.zeros((2, 1), "float32"))
    b = mg.parameter("b", np.zeros(1, "float32"))
    with mg.name_scope("linear"):
        z = mg.reshape(x @ w + b, (-1,))
    prob = mg.sigmoid(z)
    loss = mg.binary_cross_entropy(z, y, from_logits=True)
    dw, db = mg.grad(loss, [w, b])

lr = 1.0
curve_lr = []
for it in range(STEPS):
    loss_v, dw_v, db_v = g1.run([loss, dw, db], feed={x: x_train, y: y_train})
    w.value -= lr * dw_v                       # the whole of "training": move against the gradient
    b.value -= lr * db_v
    curve_lr.append(float(loss_v))


def accuracy(graph, prob_node, x_node, xs, ys):
    """Share of points whose predicted class (p > 0.5) is the label."""
    return float(((graph.run(prob_node, feed={x_node: xs}) > 0.5) == ys).mean())


acc_lr = accuracy(g1, prob, x, x_train, y_train), accuracy(g1, prob, x, x_test, y_test)
print(f"  after {STEPS} steps: loss {curve_lr[-1]:.4f}, train accuracy {acc_lr[0]:.1%}, "
      f"test accuracy {acc_lr[1]:.1%}")
show("w =", w.value.ravel()); show("b =", b.value)
print()
say("""
    The boundary sigmoid(x . w + b) = 0.5 is the line x . w + b = 0: a straight cut
    through the moons. Their tips are on the wrong side, whatever w and b are.
""")

# %% [markdown]
# ## 3. An MLP: 2 -> 16 -> 16 -> 1
# Two hidden layers of tanh units let the boundary bend. Each layer has its own name
# scope, so the pictures group its nodes.

# %%
step("3. A 2-16-16-1 MLP on the same data")
rng = np.random.default_rng(0)


def glorot(n_in, n_out):
    limit = np.sqrt(6 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype("float32")


g2 = mg.Graph("mlp")
with g2:
    x2 = mg.placeholder("x", shape=(None, 2))
    y2 = mg.placeholder("y", shape=(None,))
    params = []
    h = x2
    for i, (n_in, n_out) in enumerate([(2, 16), (16, 16), (16, 1)], start=1):
        name = f"dense{i}" if i < 3 else "output"
        with mg.name_scope(name):
            W = mg.parameter("W", glorot(n_in, n_out))
            bb = mg.parameter("b", np.zeros(n_out, "float32"))
            h = h @ W + bb
            if i < 3:
                h = mg.tanh(h)
        params += [W, bb]
    with mg.name_scope("output"):
        z2 = mg.reshape(h, (-1,))
        prob2 = mg.sigmoid(z2)
    with mg.name_scope("loss"):
        loss2 = mg.binary_cross_entropy(z2, y2, from_logits=True)
    grads2 = mg.grad(loss2, params)

# %% [markdown]
# Before training, look at the graph we are about to run: forward, loss and backward.
# Drawn three ways: each layer collapsed to one box; every node with its value and
# gradient on a batch of 4 points; and edges coloured by how much gradient flows back.

# %%
feed4 = {x2: x_train[:4], y2: y_train[:4]}
saved(viz.render(g2, path("mlp_layers.png"), collapse=True, show="both", feed=feed4),
      "each layer (name scope) as one box, forward and backward")
saved(viz.render(g2, path("mlp_forward_backward.png"), show="both", feed=feed4, collapse=["loss"]),
      "every node, with values and gradients on 4 points")
saved(viz.render(loss2, path("mlp_gradient_flow.png"), gradient_flow=True, feed=feed4, collapse=["loss"]),
      "edges coloured and thickened by |gradient| (at initialisation)")
say("""
    In mlp_forward_backward.png each forward node shows its value and its gradient
    ("grad ...") for these 4 points, and every purple node belongs to the backward
    pass mg.grad appended. The training loop below runs exactly this graph, once per
    step. In mlp_gradient_flow.png the gradient is largest near the loss and shrinks
    layer by layer on its way back to dense1 (tutorial 07 is about that).
""")

# Plain gradient descent with momentum: v <- 0.9 v + g;  p <- p - lr v
velocity = [np.zeros_like(p.value) for p in params]
curve_mlp = []
for it in range(STEPS):
    out = g2.run([loss2] + grads2, feed={x2: x_train, y2: y_train})
    curve_mlp.append(float(out[0]))
    for p, v, gr in zip(params, velocity, out[1:]):
        v *= 0.9
        v += gr
        p.value -= 0.1 * v
acc_mlp = accuracy(g2, prob2, x2, x_train, y_train), accuracy(g2, prob2, x2, x_test, y_test)
print(f"  after {STEPS} steps: loss {curve_mlp[-1]:.4f}, train accuracy {acc_mlp[0]:.1%}, "
      f"test accuracy {acc_mlp[1]:.1%}")
print(f"  {sum(p.value.size for p in params)} parameters, {len(g2.nodes)} nodes in the graph "
      f"(forward and backward)\n")

# %% [markdown]
# ## 4. Pictures: loss curves and decision boundaries

# %%
step("4. Loss curves and decision boundaries")
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(curve_lr, label=f"logistic regression (final {curve_lr[-1]:.3f})", lw=2)
ax.plot(curve_mlp, label=f"MLP 2-16-16-1 (final {curve_mlp[-1]:.3f})", lw=2)
ax.set_xlabel("gradient-descent step (full batch)")
ax.set_ylabel("training loss (binary cross-entropy)")
ax.set_yscale("log")
ax.grid(alpha=0.3, which="both")
ax.legend()
ax.set_title("training loss")
savefig(fig, "loss_curves.png", "loss per step for both models")

fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
decision_plot(axes[0], lambda G: g1.run(prob, feed={x: G}),
              f"logistic regression: train {acc_lr[0]:.0%}, test {acc_lr[1]:.0%}")
decision_plot(axes[1], lambda G: g2.run(prob2, feed={x2: G}),
              f"MLP 2-16-16-1: train {acc_mlp[0]:.0%}, test {acc_mlp[1]:.0%}")
axes[0].legend(loc="lower left")
fig.suptitle("colour = predicted probability of class 1; black line = decision boundary (p = 0.5)")
savefig(fig, "decision_boundaries.png", "a straight line vs a bent boundary")
say(f"""
    In decision_boundaries.png the line of logistic regression cuts the tips of both
    moons ({acc_lr[0]:.0%} right); the MLP's boundary bends between them ({acc_mlp[0]:.0%} on the
    training points, {acc_mlp[1]:.0%} on the {len(x_test)} test points it never saw).
""")

finish()
