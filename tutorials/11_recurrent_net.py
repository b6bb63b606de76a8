# %% [markdown]
# # 11 · A recurrent net, unrolled
#
# A recurrent net reads a sequence one step at a time, carrying a state:
#
#     h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b),   h_0 = 0
#
# A static graph cannot loop a data-dependent number of times, so for a fixed length T
# the Python loop runs *while building*: T copies of the step, all sharing Wx, Wh, b.
# Backpropagation through time is then ordinary reverse mode on the unrolled graph, and
# the T gradients of each shared weight add up (fan-out, tutorial 02).
#
# Task: read 12 samples of a sine wave (random frequency and phase) and predict the next.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, step

import minigrad as mg
import viz
from minigrad import nn, optim

args = setup(__file__, "11 · A recurrent net on a sequence task, unrolled and drawn")
T = 12


def make_waves(n, seed):
    """n sequences of T+1 samples of sin(freq * t + phase); inputs the first T, target the last."""
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.3, 0.9, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    waves = np.sin(freq * np.arange(T + 1) + phase).astype("float32")
    return waves[:, :T, None], waves[:, T:]                     # (n, T, 1) and (n, 1)


# %% [markdown]
# ## 1. The unrolled graph, drawn
# A hand-written RNN over 4 steps, each step in its own name scope, so the picture
# shows the chain of states and the same three parameters feeding every step.

# %%
step("1. Unroll 4 steps by hand and draw them")
rng = np.random.default_rng(0)
g = mg.Graph("rnn_unrolled")
with g:
    xs = mg.placeholder("x", shape=(None, 4, 1))
    target = mg.placeholder("y", shape=(None, 1))
    Wx = mg.parameter("Wx", rng.normal(0, 0.5, size=(1, 3)).astype("float32"))
    Wh = mg.parameter("Wh", rng.normal(0, 0.5, size=(3, 3)).astype("float32"))
    b = mg.parameter("b", np.zeros(3, "float32"))
    Wo = mg.parameter("Wo", rng.normal(0, 0.5, size=(3, 1)).astype("float32"))
    h = None
    for t in range(4):                                          # the loop runs while building
        with mg.name_scope(f"step{t}"):
            pre = xs[:, t, :] @ Wx + b
            h = mg.tanh(pre if h is None else pre + h @ Wh)
    with mg.name_scope("output"):
        loss = mg.mse_loss(h @ Wo, target)
    grads = mg.grad(loss, [Wx, Wh, b, Wo])
X4, Y4 = make_waves(8, 1)
X4 = X4[:, :4]
saved(viz.render(loss, path("rnn_unrolled.png"), feed={xs: X4, target: Y4}),
      "4 copies of the step, sharing Wx, Wh and b")
saved(viz.render(g, path("rnn_unrolled_collapsed.png"), collapse=True, show="both", feed={xs: X4, target: Y4}),
      "each time step as one box, forward and backward")
say("""
    In rnn_unrolled.png the four 'step' boxes form a chain through h; Wx, Wh and b each
    have an arrow into every step. In the collapsed picture the backward pass runs the
    chain the other way: output, step3, step2, step1, step0.
""")

# %% [markdown]
# ## 2. Backprop through time: how much gradient reaches each step

# %%
step("2. The gradient reaching each input x_t")
with g:
    dx = mg.grad(loss, xs)
dx_v = np.abs(g.run(dx, feed={xs: X4, target: Y4})).mean(axis=(0, 2))
for t, v in enumerate(dx_v):
    print(f"  mean |dL/dx_{t}| = {v:.2e}")
print()
say("""
    The further back a step, the more tanh derivatives and Wh factors its gradient
    passes through: early inputs get a smaller share. Over long sequences this is the
    vanishing gradient of tutorial 07 in time, and the reason LSTMs and GRUs exist.
""")

# %% [markdown]
# ## 3. Train a SimpleRNN (Keras-style) on the waves

# %%
step("3. Train mg.nn.SimpleRNN(32) + Dense(1) to predict the next sample")
x_train, y_train = make_waves(2000 if not args.fast else 400, seed=2)
x_test, y_test = make_waves(300, seed=3)
EPOCHS = 30 if not args.fast else 4
model = nn.Sequential([nn.SimpleRNN(32, input_shape=(T, 1)), nn.Dense(1)], seed=0)
model.compile(optimizer=optim.Adam(lr=0.005), loss="mse")
model.summary()
hist = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, validation_data=(x_test, y_test),
                 verbose=0, seed=0)
pred = model.predict(x_test)
baseline = float(np.mean((x_test[:, -1] - y_test) ** 2))      # "next = last" guess
print(f"  test MSE {hist.history['val_loss'][-1]:.5f}   (guessing 'the next sample equals the last': "
      f"{baseline:.5f})\n")
say(f"""
    After {EPOCHS} epochs the RNN predicts the next sample with a mean squared error of
    {hist.history['val_loss'][-1]:.4f}, against {baseline:.4f} for the lazy guess: to do better than copying,
    it had to infer each wave's frequency and phase from the 12 samples it read.
""")
savefig(viz.plot_history(hist), "rnn_history.png", "train and test MSE per epoch")
fig, axes = plt.subplots(2, 3, figsize=(12, 5.5), sharex=True, sharey=True)
for k, ax in enumerate(axes.ravel()):
    ax.plot(range(T), x_test[k, :, 0], "o-", color="#2563eb", label="input (12 samples)")
    ax.plot(T, y_test[k, 0], "s", color="black", ms=9, label="true next")
    ax.plot(T, pred[k, 0], "*", color="#dc2626", ms=14, label="predicted")
    ax.axvline(T - 0.5, color="grey", lw=0.8, ls=":")
    ax.grid(alpha=0.3)
axes[0, 0].legend(fontsize=8, loc="lower left")
fig.suptitle("test waves: the RNN reads 12 samples and predicts the 13th")
savefig(fig, "rnn_predictions.png", "six test sequences with the predicted next value")
saved(viz.render(model, path("simple_rnn_model.png"), collapse=True),
      f"the trained model: SimpleRNN unrolled over {T} steps, collapsed to one box")

finish()
