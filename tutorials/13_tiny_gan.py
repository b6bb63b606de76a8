# %% [markdown]
# # 13 · A tiny GAN on 2-D data
#
# A generator G turns random noise z into points; a discriminator D tries to tell real
# points from generated ones. They are trained against each other:
#
#     D minimises  BCE(D(real), 1) + BCE(D(G(z)), 0)     (spot the fakes)
#     G minimises  BCE(D(G(z)), 1)                       (fool D)
#
# Both live in **one static graph**, with two losses and two gradient lists: each
# optimizer only updates its own network's parameters. `mg.stop_gradient` marks where
# D's loss must not send gradient into G.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, step

import minigrad as mg
import viz
from minigrad import data, optim

args = setup(__file__, "13 · A tiny GAN on 2-D data")
STEPS = 250 if args.fast else 3000
rng = np.random.default_rng(0)


def real_batch(n):
    """The 'real' distribution: two moons, centred and scaled."""
    x, _ = data.make_moons(n, noise=0.05, seed=int(rng.integers(1 << 30)))
    return ((x - [0.5, 0.25]) * 1.2).astype("float32")


def dense_params(prefix, sizes):
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params.append(mg.parameter(f"{prefix}W{i}", rng.normal(0, np.sqrt(2 / a), (a, b)).astype("float32")))
        params.append(mg.parameter(f"{prefix}b{i}", np.zeros(b, "float32")))
    return params


def mlp(x, params, last_activation=None):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = mg.leaky_relu(h, 0.2)
    return h if last_activation is None else last_activation(h)


# %% [markdown]
# ## 1. One graph, two networks, two losses

# %%
step("1. Build G and D in one graph")
g = mg.Graph("gan")
with g:
    z = mg.placeholder("z", shape=(None, 2))
    real = mg.placeholder("real", shape=(None, 2))
    ones = mg.placeholder("ones", shape=(None, 1))
    zeros = mg.placeholder("zeros", shape=(None, 1))
    with mg.name_scope("generator"):
        G = dense_params("G", [2, 64, 64, 2])
        fake = mlp(z, G)
    with mg.name_scope("discriminator"):
        D = dense_params("D", [2, 64, 64, 1])
        d_real = mlp(real, D)                                   # logits
        d_fake_for_D = mlp(mg.stop_gradient(fake), D)          # D's view: fake is just data
        d_fake_for_G = mlp(fake, D)                             # G's view: gradient flows into G
    with mg.name_scope("loss_D"):
        loss_D = mg.binary_cross_entropy(d_real, ones, from_logits=True) + \
            mg.binary_cross_entropy(d_fake_for_D, zeros, from_logits=True)
    with mg.name_scope("loss_G"):
        loss_G = mg.binary_cross_entropy(d_fake_for_G, ones, from_logits=True)
    grads_D = mg.grad(loss_D, D)                                # gradients for D only
    grads_G = mg.grad(loss_G, G)                                # gradients for G only (through D)
opt_D, opt_G = optim.Adam(lr=0.001, beta1=0.5, params=D), optim.Adam(lr=0.001, beta1=0.5, params=G)
say(f"""
    The graph has {len(g.nodes)} nodes. D appears three times (on real points, on fakes for
    its own loss, on fakes for G's loss), always with the same parameters. Two calls of
    mg.grad give two gradient lists; opt_D updates D from the first, opt_G updates G
    from the second. G's gradient flows *through* D (D tells G which way is 'more
    real') but only G moves.
""")
N = 256
feed0 = {z: rng.normal(size=(64, 2)).astype("float32"), real: real_batch(64),
         ones: np.ones((64, 1), "float32"), zeros: np.zeros((64, 1), "float32")}
saved(viz.render([loss_D, loss_G], path("gan_graph.png"), collapse=True, feed=feed0),
      "generator, discriminator and the two losses, each as one box")

# %% [markdown]
# ## 2. Train: one D step, one G step, repeat

# %%
step(f"2. Train for {STEPS} steps")
snap_at = sorted(set(np.linspace(0, STEPS, 6).astype(int)))
z_fixed = rng.normal(size=(500, 2)).astype("float32")              # the same noise for every snapshot
snaps, hist_D, hist_G = {}, [], []
one, zero = np.ones((N, 1), "float32"), np.zeros((N, 1), "float32")
for it in range(STEPS + 1):
    if it in snap_at:
        snaps[it] = g.run(fake, feed={z: z_fixed})
    if it == STEPS:
        break
    feed = {z: rng.normal(size=(N, 2)).astype("float32"), real: real_batch(N), ones: one, zeros: zero}
    out = g.run([loss_D] + grads_D, feed=feed)
    opt_D.step(out[1:])
    feed[z] = rng.normal(size=(N, 2)).astype("float32")
    out_G = g.run([loss_G] + grads_G, feed=feed)
    opt_G.step(out_G[1:])
    hist_D.append(float(out[0])); hist_G.append(float(out_G[0]))
    if (it + 1) % (STEPS // 4) == 0:
        print(f"  step {it + 1:5d}: loss_D {np.mean(hist_D[-50:]):.3f}   loss_G {np.mean(hist_G[-50:]):.3f}")
print()
say(f"""
    At balance D cannot tell real from fake and outputs 1/2 everywhere: loss_D = 2 log 2 =
    {2 * np.log(2):.3f} and loss_G = log 2 = {np.log(2):.3f}. The two losses wander around those values
    instead of decreasing: a GAN is a game, not a minimisation.
""")

# %%
fig, axes = plt.subplots(1, len(snaps), figsize=(3.2 * len(snaps), 3.4), sharex=True, sharey=True)
ref = real_batch(500)
for ax, (it, pts) in zip(axes, snaps.items()):
    ax.scatter(ref[:, 0], ref[:, 1], s=4, c="#9ca3af", label="real")
    ax.scatter(pts[:, 0], pts[:, 1], s=4, c="#dc2626", label="generated")
    ax.set_title(f"step {it}")
    ax.set_xlim(-2.2, 2.2); ax.set_ylim(-1.8, 1.8)
    ax.set_xticks([]); ax.set_yticks([])
axes[0].legend(loc="lower left", fontsize=8, markerscale=3)
fig.suptitle("the generator's points (red) for the same 500 noise vectors, as training goes on", y=1.04)
savefig(fig, "gan_progress.png", "generated distribution vs real, at 6 moments")
say("""
    In gan_progress.png the red cloud starts as a blob (G is random), is pushed around as D
    finds where it differs from the real data, and in the full run ends on both moons.
    Points left on a bridge between the moons are typical: G is a continuous map of
    one connected cloud of noise, so it can only thin out the gap, never cut it.
""")
fig, ax = plt.subplots(figsize=(8, 3.6))
k = 25
ax.plot(np.convolve(hist_D, np.ones(k) / k, "valid"), label="loss_D")
ax.plot(np.convolve(hist_G, np.ones(k) / k, "valid"), label="loss_G")
ax.axhline(2 * np.log(2), color="C0", ls=":", lw=1); ax.axhline(np.log(2), color="C1", ls=":", lw=1)
ax.set_xlabel("step"); ax.set_ylabel(f"loss (moving average of {k})"); ax.legend(); ax.grid(alpha=0.3)
ax.set_title("the two losses (dotted: the values at balance)")
savefig(fig, "gan_losses.png", "D and G losses")

finish()
