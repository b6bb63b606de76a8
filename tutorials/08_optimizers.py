# %% [markdown]
# # 08 · Optimizers: SGD, momentum, RMSprop, Adam
#
# The graph gives gradients; an optimizer decides how far to move each parameter.
#
#     SGD        p -= lr * g
#     momentum   v = mu * v + g;            p -= lr * v          (a heavy ball: keeps going)
#     RMSprop    s = rho * s + (1-rho) g^2;  p -= lr * g / sqrt(s) (per-parameter step size)
#     Adam       m, v = running means of g and g^2 (bias-corrected); p -= lr * m / sqrt(v)
#
# We watch them on a 2-D surface, where the path can be drawn, then on a real model.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, savefig, say, setup, show, step

import minigrad as mg
from minigrad import data, nn, optim

args = setup(__file__, "08 · Optimizers on a 2-D surface and on the digits")

# %% [markdown]
# ## 1. The Rosenbrock valley
# f(x, y) = (1 - x)^2 + 10 (y - x^2)^2 has its minimum 0 at (1, 1) at the bottom of a
# curved, narrow valley: steep across, almost flat along. Hard for plain gradient descent.

# %%
step("1. Four optimizers on the Rosenbrock valley")
STEPS = 300 if args.fast else 1000
START = np.array([-1.5, 1.5], "float64")
g = mg.Graph("rosenbrock")
with g:
    p = mg.parameter("p", START)
    x, y = p[0], p[1]
    f = (1 - x) ** 2 + 10 * (y - x * x) ** 2
    dp = mg.grad(f, p)

runs = {
    "SGD lr 0.01": optim.SGD(lr=0.01),
    "momentum 0.9, lr 0.002": optim.SGD(lr=0.002, momentum=0.9),
    "RMSprop lr 0.01": optim.RMSprop(lr=0.01),
    "Adam lr 0.05": optim.Adam(lr=0.05),
}
paths, losses = {}, {}
for name, opt in runs.items():
    p.value[...] = START
    opt.setup([p])
    trail, curve = [p.value.copy()], []
    for _ in range(STEPS):
        f_v, dp_v = g.run([f, dp])
        opt.step([dp_v])
        trail.append(p.value.copy())
        curve.append(float(f_v))
    paths[name], losses[name] = np.array(trail), np.array(curve)
    print(f"  {name:24s} after {STEPS} steps: (x, y) = ({trail[-1][0]:6.3f}, {trail[-1][1]:6.3f}), "
          f"f = {curve[-1]:.2e}")
print()
say("""
    Plain SGD must use a small step: on the steep walls of the valley lr 0.03 already
    bounces around and lr 0.05 diverges to NaN. With lr 0.01 it drops into the valley
    quickly and then crawls along the nearly flat floor. Momentum gathers speed along
    the floor (its path overshoots and swings at first). RMSprop divides each step by
    the recent size of the gradient, so its steps stay about lr long even next to the
    minimum: it stalls, jittering (the wiggles in its loss curve). Adam adds momentum
    to that scaling; here it is slow at first and ends closest. Which optimizer wins
    depends on the surface and on the learning rate at least as much as on the formula.
""")

a0, a1 = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
F = (1 - a0) ** 2 + 10 * (a1 - a0 ** 2) ** 2
fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.2))
ax.contour(a0, a1, np.log10(F + 1e-3), levels=25, cmap="Greys", linewidths=0.8)
colors = ["#2563eb", "#16a34a", "#ea580c", "#dc2626"]
for (name, trail), c in zip(paths.items(), colors):
    ax.plot(trail[:, 0], trail[:, 1], "-", color=c, lw=1.8, label=name)
    ax.plot(trail[-1, 0], trail[-1, 1], "o", color=c, ms=7)
ax.plot(*START, "ks", ms=8, label="start")
ax.plot(1, 1, "k*", ms=15, label="minimum (1, 1)")
ax.set_xlabel("x"); ax.set_ylabel("y")
ax.set_title("paths on f = (1-x)^2 + 10 (y-x^2)^2 (contours of log f)")
ax.legend(loc="lower left", fontsize=9)
for (name, curve), c in zip(losses.items(), colors):
    bx.plot(curve, color=c, lw=2, label=name)
bx.set_yscale("log")
bx.set_xlabel("step"); bx.set_ylabel("f (log scale)")
bx.set_title("loss per step")
bx.grid(alpha=0.3, which="both")
bx.legend(fontsize=9)
savefig(fig, "rosenbrock_paths.png", "four optimizers on the same surface, and their loss")

# %% [markdown]
# ## 2. The state an optimizer keeps
# Momentum, RMSprop and Adam remember something about past gradients. In minigrad it
# is plain NumPy in `opt.state[param]`, so you can look at it.

# %%
step("2. Inside Adam: m and v")
adam = runs["Adam lr 0.05"]
show("p =", p.value, 4)
show("m (running mean of g)   =", adam.state[p]["m"], 4)
show("v (running mean of g^2) =", adam.state[p]["v"], 6)
print(f"  iterations: {adam.iterations}\n")
say("""
    Near the minimum m (the direction) is tiny, and so is v; their ratio m / sqrt(v)
    is what sets the step, which is why Adam's step size is roughly lr in every
    coordinate, whatever the scale of the gradient.
""")

# %% [markdown]
# ## 3. On a real model: an MLP on the digits
# The same four optimizers (Keras-style learning rates) train the same 64-64-10 MLP
# from the same initial weights.

# %%
step("3. The same MLP trained with each optimizer")
(x_train, y_train), (x_test, y_test) = data.load_digits(flatten=True)
EPOCHS = 4 if args.fast else 25
real_runs = {
    "SGD lr 0.05": optim.SGD(lr=0.05),
    "momentum 0.9, lr 0.05": optim.SGD(lr=0.05, momentum=0.9),
    "RMSprop lr 0.001": optim.RMSprop(lr=0.001),
    "Adam lr 0.001": optim.Adam(lr=0.001),
}
hist = {}
for name, opt in real_runs.items():
    model = nn.Sequential([nn.Dense(64, activation="relu", input_shape=(64,)),
                           nn.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, validation_data=(x_test, y_test),
                  verbose=0, seed=0)
    hist[name] = h.history
    print(f"  {name:24s} val loss {h.history['val_loss'][-1]:.4f}   val accuracy "
          f"{h.history['val_accuracy'][-1]:.1%}   (after epoch 1: {h.history['val_accuracy'][0]:.1%})")
print()
best_first = max(hist, key=lambda k: hist[k]["val_accuracy"][0])
best_last = max(hist, key=lambda k: hist[k]["val_accuracy"][-1])
say(f"""
    After one epoch the leader is {best_first}; after {EPOCHS} epochs it is {best_last}. On this
    small, well-scaled problem every optimizer gets to a good model; with the usual
    default learning rates (0.001 for RMSprop and Adam) the adaptive methods are not
    automatically faster than SGD with momentum. Adam's strength is that its default
    works acceptably almost everywhere, not that it always wins.
""")
fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2))
for (name, hh), c in zip(hist.items(), colors):
    ep = np.arange(1, len(hh["loss"]) + 1)
    ax.plot(ep, hh["loss"], "-", color=c, lw=2, label=f"{name} (train)")
    ax.plot(ep, hh["val_loss"], "--", color=c, lw=1.5)
    bx.plot(ep, hh["val_accuracy"], "-o", color=c, ms=3, lw=2, label=name)
ax.set_yscale("log"); ax.set_xlabel("epoch"); ax.set_ylabel("loss (solid train, dashed test)")
ax.set_title("loss"); ax.legend(fontsize=8); ax.grid(alpha=0.3, which="both")
bx.set_xlabel("epoch"); bx.set_ylabel("test accuracy"); bx.set_title("test accuracy")
bx.grid(alpha=0.3); bx.legend(fontsize=8)
savefig(fig, "digits_optimizers.png", "train/test loss and test accuracy per epoch")

finish()
