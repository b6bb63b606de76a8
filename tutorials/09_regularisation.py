# %% [markdown]
# # 09 · Overfitting and regularisation
#
# A big enough network can memorise its training set: the training loss keeps falling
# while the loss on new data turns back up. We provoke that on purpose (a wide MLP,
# only 200 training digits), then try the four classic cures one at a time:
# **L2 weight penalty**, **dropout**, **early stopping** and **data augmentation**,
# and compare train vs validation curves.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, step

import viz
from minigrad import data, nn, optim

args = setup(__file__, "09 · Overfitting and regularisation")
(x_all, y_all), (x_val, y_val) = data.load_digits()
N_TRAIN = 200
x_train, y_train = x_all[:N_TRAIN], y_all[:N_TRAIN]
EPOCHS = 10 if args.fast else 200


def make_model(dropout=0.0, l2=None):
    layers = [nn.Flatten(input_shape=(1, 8, 8)),
              nn.Dense(128, activation="relu", kernel_regularizer=l2)]
    if dropout:
        layers.append(nn.Dropout(dropout, seed=0))
    layers += [nn.Dense(128, activation="relu", kernel_regularizer=l2)]
    if dropout:
        layers.append(nn.Dropout(dropout, seed=1))
    layers.append(nn.Dense(10, activation="softmax"))
    model = nn.Sequential(layers, seed=0)
    model.compile(optimizer=optim.Adam(lr=0.001), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def shifted_copies(rng):
    """Fresh augmentation: each training image moved by up to 1 pixel and slightly rotated."""
    x = data.random_shift(x_train, 1, rng)
    return data.random_rotation(x, 10, rng)


# %% [markdown]
# ## 1. Train five versions

# %%
step(f"1. Five runs on {N_TRAIN} training digits, {EPOCHS} epochs each")
runs = {}
runs["no regularisation"] = make_model().fit(x_train, y_train, epochs=EPOCHS, batch_size=32,
                                             validation_data=(x_val, y_val), verbose=0, seed=0).history
runs["L2 (0.001)"] = make_model(l2=nn.regularizers.l2(0.001)).fit(
    x_train, y_train, epochs=EPOCHS, batch_size=32, validation_data=(x_val, y_val), verbose=0, seed=0).history
runs["dropout 0.5"] = make_model(dropout=0.5).fit(x_train, y_train, epochs=EPOCHS, batch_size=32,
                                                  validation_data=(x_val, y_val), verbose=0, seed=0).history
stopper = nn.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
early_model = make_model()
runs["early stopping"] = early_model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32,
                                         validation_data=(x_val, y_val), verbose=0, seed=0,
                                         callbacks=[stopper]).history
aug_model, rng = make_model(), np.random.default_rng(0)
aug = {}
for epoch in range(EPOCHS):                                     # a new random copy every epoch
    h = aug_model.fit(shifted_copies(rng), y_train, epochs=1, batch_size=32,
                      validation_data=(x_val, y_val), verbose=0, seed=epoch).history
    for k, v in h.items():
        aug.setdefault(k, []).extend(v)
runs["augmentation"] = aug

print(f"  {'':20s} {'epochs':>6s} {'train loss':>10s} {'val loss':>9s} {'train acc':>9s} {'val acc':>8s} "
      f"{'gap':>6s} {'best val acc':>12s}")
for name, h in runs.items():
    gap = h["accuracy"][-1] - h["val_accuracy"][-1]
    print(f"  {name:20s} {len(h['loss']):6d} {h['loss'][-1]:10.4f} {h['val_loss'][-1]:9.4f} "
          f"{h['accuracy'][-1]:9.1%} {h['val_accuracy'][-1]:8.1%} {gap:6.1%} {max(h['val_accuracy']):12.1%}")
print()
base, l2r, drop, es, au = (runs[k] for k in runs)
best_epoch = int(np.argmin(base["val_loss"])) + 1
rose = base["val_loss"][-1] > min(base["val_loss"]) * 1.05
say(f"""
    Read the gap between training and validation. Without regularisation the training
    loss falls to {base['loss'][-1]:.4f} and the training accuracy reaches {base['accuracy'][-1]:.0%}: the net has memorised
    the {N_TRAIN} images. The validation loss was lowest ({min(base['val_loss']):.3f}) at epoch {best_epoch}
    {f"and then rose again to {base['val_loss'][-1]:.3f}" if rose else f"and ended at {base['val_loss'][-1]:.3f}"} while the training loss kept falling: that
    divergence is overfitting.
""")
print(f"""  - Dropout: final validation loss {drop['val_loss'][-1]:.3f} (vs {base['val_loss'][-1]:.3f}), accuracy gap {drop['accuracy'][-1] - drop['val_accuracy'][-1]:+.1%}
    (vs {base['accuracy'][-1] - base['val_accuracy'][-1]:+.1%}): each step trains a random half of the units, so no unit can
    rely on the others to memorise an example.
  - L2: its losses include the penalty on the weights, so compare accuracies: best
    validation accuracy {max(l2r['val_accuracy']):.1%} vs {max(base['val_accuracy']):.1%} without.
  - Early stopping: stopped after {len(es['loss'])} of {EPOCHS} epochs, when the validation loss had not
    improved for 5 epochs, and restored the weights of its best epoch (validation loss
    {min(es['val_loss']):.3f}; the plain run's best over all {EPOCHS} epochs is {min(base['val_loss']):.3f}): nearly the best
    the plain run ever gets, for a fraction of the work and without the overfitting.
  - Augmentation: best validation accuracy {max(au['val_accuracy']):.1%} vs {max(base['val_accuracy']):.1%} without.""")
if max(au["val_accuracy"]) < max(base["val_accuracy"]):
    print("""    Here it hurts: on 8x8 images a 1-pixel shift moves the digit by 12% of the image and
    a 10 degree turn smears it, and a dense layer, unlike a convolution, has to learn
    each shifted copy as a new pattern. Augmentation must produce images that still
    look like the real ones to the model; in tutorial 06 the same shifts help a CNN.
""")
else:
    print("""    It keeps the training set from being memorised: the same digit never comes back
    exactly the same.
""")

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
colors = ["#111827", "#2563eb", "#16a34a", "#ea580c", "#9333ea"]
for (name, h), c in zip(runs.items(), colors):
    ep = np.arange(1, len(h["loss"]) + 1)
    axes[0].plot(ep, h["loss"], "-", color=c, lw=1.5, label=f"{name}: train")
    axes[0].plot(ep, h["val_loss"], "--", color=c, lw=2, label=f"{name}: validation")
    axes[1].plot(ep, h["val_accuracy"], "-", color=c, lw=2, label=name)
axes[0].set_yscale("log"); axes[0].set_xlabel("epoch"); axes[0].set_ylabel("loss (log scale)")
axes[0].set_title("solid: training loss, dashed: validation loss")
axes[0].legend(fontsize=7, ncol=2); axes[0].grid(alpha=0.3, which="both")
axes[1].set_xlabel("epoch"); axes[1].set_ylabel("validation accuracy")
axes[1].set_title("validation accuracy"); axes[1].legend(fontsize=8); axes[1].grid(alpha=0.3)
savefig(fig, "overfitting_curves.png", "train vs validation for the five runs")
savefig(viz.plot_history(runs["no regularisation"], title="no regularisation"), "history_plain.png",
        "the overfitting run alone")

# %% [markdown]
# ## 2. Where each cure lives in the graph
# L2 adds a penalty node per kernel to the loss; dropout adds a random mask node that
# is active only while training (a boolean `training` placeholder switches it).

# %%
step("2. The graphs of the L2 and dropout models")
saved(viz.render(make_model(l2=nn.regularizers.l2(0.001)), path("graph_l2.png"), collapse=True),
      "L2: the penalty terms join the loss")
saved(viz.render(make_model(dropout=0.5), path("graph_dropout.png"), collapse=True),
      "dropout layers read the 'training' placeholder")
say("""
    In graph_l2.png dense_1 and dense_2 each send a second arrow straight into the loss
    box: their penalty 0.001 * sum(kernel^2) (the mul and sum nodes inside them), added
    to the cross-entropy, so mg.grad pulls every weight towards zero as well.

    In graph_dropout.png the 'training' placeholder feeds both dropout boxes: fit() feeds
    True, predict() and evaluate() leave it at its default False, so the mask is used
    only while learning.
""")

finish()
