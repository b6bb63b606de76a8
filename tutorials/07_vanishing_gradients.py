# %% [markdown]
# # 07 · Vanishing and exploding gradients
#
# Backprop multiplies: the gradient reaching layer 1 of a deep net is a product of one
# factor per layer above it (each activation's derivative times each weight matrix).
# If those factors are below 1 the product **vanishes**, above 1 it **explodes**. We
# build the same 10-layer network three ways and look at the gradient of every layer:
#
# * sigmoid units with weights drawn from N(0, 1): sigmoid' <= 0.25 and saturated units
#   give ~0, so the early layers get almost nothing;
# * ReLU units with weights from N(0, 1): each layer multiplies the signal by about
#   sqrt(fan_in / 2) = 4, so activations and gradients blow up;
# * ReLU units with He initialisation, N(0, 2 / fan_in): each layer keeps the scale.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, step

import minigrad as mg
import viz
from minigrad import data

args = setup(__file__, "07 · Vanishing and exploding gradients")
DEPTH, WIDTH = 10, 32
STEPS = 60 if args.fast else 400

(x_train, y_train), (x_test, y_test) = data.load_digits(flatten=True)
x_train = (x_train - x_train.mean(0)) / (x_train.std(0) + 1e-6)   # standardise the 64 pixels
x_test = (x_test - x_test.mean(0)) / (x_test.std(0) + 1e-6)


def build(activation, init_std, seed=0):
    """A DEPTH-layer MLP 64 -> 32 -> ... -> 32 -> 10; each layer in its own name scope."""
    rng = np.random.default_rng(seed)
    g = mg.Graph(f"deep_{activation}")
    with g:
        x = mg.placeholder("x", shape=(None, 64))
        y = mg.placeholder("y", shape=(None,), dtype="int64")
        h, weights, n_in = x, [], 64
        for i in range(1, DEPTH + 1):
            n_out = 10 if i == DEPTH else WIDTH
            with mg.name_scope(f"layer{i}"):
                W = mg.parameter("W", rng.normal(0, init_std(n_in), size=(n_in, n_out)).astype("float32"))
                b = mg.parameter("b", np.zeros(n_out, "float32"))
                h = h @ W + b
                if i < DEPTH:
                    h = mg.sigmoid(h) if activation == "sigmoid" else mg.relu(h)
            weights += [W, b]
            n_in = n_out
        loss = mg.cross_entropy(h, y)
        grads = mg.grad(loss, weights)
    return dict(g=g, x=x, y=y, loss=loss, params=weights, grads=grads, logits=h)


configs = {
    "sigmoid, N(0, 1)": build("sigmoid", lambda n: 1.0),
    "relu, N(0, 1)": build("relu", lambda n: 1.0),
    "relu, He N(0, 2/fan_in)": build("relu", lambda n: np.sqrt(2.0 / n)),
}

# %% [markdown]
# ## 1. The gradient of every layer at initialisation

# %%
step("1. Mean |dL/dW| per layer, before any training")
batch = {"x": x_train[:256], "y": y_train[:256]}
per_layer = {}
for name, m in configs.items():
    with np.errstate(all="ignore"):
        out = m["g"].run([m["loss"]] + m["grads"], feed={m["x"]: batch["x"], m["y"]: batch["y"]})
    gW = out[1::2]                                   # the W gradients (skip the biases)
    per_layer[name] = np.array([np.abs(gw).mean() for gw in gW])
    print(f"  {name:24s} loss {float(out[0]):10.4g}   mean |dL/dW|: layer 1 {per_layer[name][0]:9.2e}"
          f"   layer {DEPTH} {per_layer[name][-1]:9.2e}   ratio {per_layer[name][0] / per_layer[name][-1]:9.2e}")
print()
sig, big, he = (per_layer[k] for k in configs)
say(f"""
    Sigmoid net: the first layer gets only {sig[0] / sig[-1]:.0e} of the gradient of the last one
    (vanishing): a step size that suits the top layer leaves the bottom one untouched.

    ReLU net with N(0, 1) weights: the signal grows about 4x per layer, the initial loss is
    huge (see above) and every layer's gradient is between {big.min():.0e} and {big.max():.0e}
    (exploding): any sensible learning rate becomes a giant step.

    ReLU net with He initialisation: every layer's gradient is between {he.min():.0e} and
    {he.max():.0e}, within a factor {he.max() / he.min():.0f} of each other.
""")

fig, ax = plt.subplots(figsize=(8, 4.5))
layers = np.arange(1, DEPTH + 1)
for k, (name, vals) in enumerate(per_layer.items()):
    ax.bar(layers + (k - 1) * 0.27, vals, 0.27, label=name)
ax.set_yscale("log")
ax.set_xticks(layers)
ax.set_xlabel("layer (1 = next to the input, 10 = next to the loss)")
ax.set_ylabel("mean |dL/dW| (log scale)")
ax.set_title(f"gradient reaching each layer of a {DEPTH}-layer net at initialisation")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
ax.grid(alpha=0.3, axis="y", which="both")
savefig(fig, "gradient_per_layer.png", "the classic vanishing/exploding-gradient bar chart")

# %% [markdown]
# ## 2. The gradient flow on the graph itself
# `viz` can colour every edge by the gradient flowing back along it (log scale).
# Here each layer is collapsed into one box, so the whole depth fits.

# %%
step("2. Gradient flow drawn on the graph")
for key, fname in (("sigmoid, N(0, 1)", "flow_sigmoid.png"), ("relu, He N(0, 2/fan_in)", "flow_relu_he.png")):
    m = configs[key]
    saved(viz.render(m["loss"], path(fname), gradient_flow=True, collapse=True,
                     feed={m["x"]: batch["x"][:32], m["y"]: batch["y"][:32]}, title=key),
          f"{key}: edges coloured by |gradient|")
say("""
    In flow_sigmoid.png the edges change colour from orange next to the loss to green
    and blue at the input, and the numbers on them (mean |gradient|) fall by a factor of
    about 2 per layer: the gradient fades layer after layer. In flow_relu_he.png they
    keep roughly the same colour and size all the way down.
""")

# %% [markdown]
# ## 3. What it does to training
# Plain SGD (lr 0.05, batches of 64) on the digits, same steps for all three.

# %%
step(f"3. Train each for {STEPS} SGD steps")
histories = {}
rng = np.random.default_rng(1)
for name, m in configs.items():
    curve = []
    for it in range(STEPS):
        idx = rng.integers(0, len(x_train), 64)
        with np.errstate(all="ignore"):
            out = m["g"].run([m["loss"]] + m["grads"], feed={m["x"]: x_train[idx], m["y"]: y_train[idx]})
        curve.append(float(out[0]))
        for p, gr in zip(m["params"], out[1:]):
            p.value -= 0.05 * np.clip(gr, -1e3, 1e3)          # clip so a blow-up stays finite
    pred = m["g"].run(m["logits"], feed={m["x"]: x_test}).argmax(1)
    histories[name] = (curve, float((pred == y_test).mean()))
    print(f"  {name:24s} final loss {np.mean(curve[-20:]):10.4g}   test accuracy {histories[name][1]:.1%}")
print()
acc_sig, acc_big, acc_he = (histories[k][1] for k in configs)
say(f"""
    The sigmoid net learns very slowly ({acc_sig:.0%} test accuracy after {STEPS} steps): its lower
    layers barely change. The N(0, 1) ReLU net takes a few enormous steps that leave every
    ReLU dead (output 0 for every input): its loss sticks at log(10) = 2.303, the loss of a
    constant guess, and its accuracy at chance ({acc_big:.0%}). With He initialisation the same
    net trains normally ({acc_he:.0%}). Batch normalisation and residual connections are the
    other classic cures.
""")
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, (curve, acc) in histories.items():
    smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
    ax.plot(smooth, label=f"{name} (test acc {acc:.0%})", lw=2)
ax.set_yscale("log")
ax.set_xlabel("SGD step")
ax.set_ylabel("training loss (moving average of 10)")
ax.set_title(f"{DEPTH}-layer nets on the digits")
ax.legend()
ax.grid(alpha=0.3, which="both")
savefig(fig, "training_curves.png", "loss curves of the three nets")

finish()
