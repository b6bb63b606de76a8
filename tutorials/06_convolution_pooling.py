# %% [markdown]
# # 06 · Convolution and pooling, from one dot product to a CNN on real digits
#
# A convolution layer slides a small kernel over the image and, at every position,
# takes the dot product of the kernel with the patch under it. That is all. We compute
# one output by hand, then all of them as **one matrix product** (im2col: how fast
# frameworks do it), look at pooling, apply hand-made edge filters to a digit, and
# finally train a CNN with `mg.nn` on the 8x8 handwritten digits.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, show, step

import minigrad as mg
import viz
from minigrad import data, nn, optim
from minigrad.kernels.pool import max_pool2d_2x2_winners

args = setup(__file__, "06 · Convolution and pooling")
(x_train, y_train), (x_test, y_test) = data.load_digits()

# %% [markdown]
# ## 1. What the kernel computes
# Output pixel (i, j) = sum over the 3x3 window starting at (i, j) of patch * kernel.
# (Deep learning's "convolution" does not flip the kernel: it is a cross-correlation.)

# %%
step("1. One output pixel, by hand and by mg.conv2d")
img = np.arange(25, dtype="float64").reshape(1, 1, 5, 5) % 7           # a 5x5 toy image
kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], "float64").reshape(1, 1, 3, 3)  # Sobel
g = mg.Graph("conv")
with g:
    x = mg.placeholder("x", shape=(None, 1, 5, 5), dtype="float64")
    w = mg.parameter("w", kernel)
    y = mg.conv2d(x, w)
out = g.run(y, feed={x: img})
i, j = 1, 2
patch = img[0, 0, i:i + 3, j:j + 3]
show("image =", img[0, 0], 0)
show("kernel (a vertical-edge detector) =", kernel[0, 0], 0)
show(f"patch at ({i}, {j}) =", patch, 0)
print(f"  sum(patch * kernel) = {np.sum(patch * kernel[0, 0]):g};  mg.conv2d output[{i}, {j}] = {out[0, 0, i, j]:g}")
show("whole output (3x3: a 3x3 window fits 3 times across 5 pixels) =", out[0, 0], 0)
print()

fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), gridspec_kw={"width_ratios": [5, 3, 3]})
for ax, arr, title in zip(axes, [img[0, 0], kernel[0, 0], out[0, 0]], ["input 5x5", "kernel 3x3", "output 3x3"]):
    ax.imshow(arr, cmap="RdBu_r" if "input" not in title else "Greys", vmin=-abs(arr).max() if "input" not in title else None)
    for (r, c), v in np.ndenumerate(arr):
        dark = v >= 4 if "input" in title else abs(v) > 0.6 * abs(arr).max()
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=12, color="white" if dark else "black")
    ax.set_title(title); ax.set_xticks([]); ax.set_yticks([])
axes[0].add_patch(plt.Rectangle((j - 0.5, i - 0.5), 3, 3, fill=False, ec="#f59e0b", lw=3))
axes[2].add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#f59e0b", lw=3))
fig.suptitle(f"the amber 3x3 patch, multiplied by the kernel and summed, gives the amber output pixel ({out[0, 0, i, j]:g})", y=1.04)
savefig(fig, "conv_one_pixel.png", "one output pixel = patch . kernel")

# %% [markdown]
# ## 2. im2col: every window as a row, the whole convolution as one matrix product
# Copy each 3x3 window into one row of a matrix (9 columns). Then output = rows @
# kernel.ravel(): one matrix product does all the multiply-adds, and a matrix product
# is the fastest thing a computer does (tutorial 10). With C_out kernels it is a
# (windows x 9) @ (9 x C_out) product.

# %%
step("2. im2col")


def im2col(image, k):
    """(H, W) image -> (number of windows, k*k) matrix, one flattened window per row."""
    h, w_ = image.shape
    return np.array([image[r:r + k, c:c + k].ravel() for r in range(h - k + 1) for c in range(w_ - k + 1)])


cols = im2col(img[0, 0], 3)
via_matmul = (cols @ kernel.ravel()).reshape(3, 3)
print(f"  im2col matrix: {cols.shape[0]} windows x {cols.shape[1]} pixels;  (cols @ kernel) == conv2d: "
      f"{np.array_equal(via_matmul, out[0, 0])}\n")
fig, axes = plt.subplots(1, 4, figsize=(13, 4.6), gridspec_kw={"width_ratios": [5, 9, 1.2, 1.2]})
axes[0].imshow(img[0, 0], cmap="Greys")
axes[0].set_title("input; window (1, 2) in amber")
axes[0].add_patch(plt.Rectangle((j - 0.5, i - 0.5), 3, 3, fill=False, ec="#f59e0b", lw=3))
axes[1].imshow(cols, cmap="Greys", aspect="auto")
row = i * 3 + j
axes[1].add_patch(plt.Rectangle((-0.5, row - 0.5), 9, 1, fill=False, ec="#f59e0b", lw=3))
axes[1].set_title("im2col: 9 windows x 9 pixels")
axes[1].set_ylabel("window (row-major)")
axes[1].set_xlabel("pixel within the window")
axes[2].imshow(kernel.reshape(9, 1), cmap="RdBu_r", aspect="auto")
axes[2].set_title("@ kernel")
axes[3].imshow(via_matmul.reshape(9, 1), cmap="RdBu_r", aspect="auto")
axes[3].add_patch(plt.Rectangle((-0.5, row - 0.5), 1, 1, fill=False, ec="#f59e0b", lw=3))
axes[3].set_title("= output")
for ax in axes:
    ax.set_xticks([]); ax.set_yticks([])
for r in range(9):
    v = via_matmul.ravel()[r]
    axes[3].text(0, r, f"{v:g}", ha="center", va="center", fontsize=10, color="white" if abs(v) > 4 else "black")
    axes[2].text(0, r, f"{kernel.ravel()[r]:g}", ha="center", va="center", fontsize=10)
for (r, c), v in np.ndenumerate(cols):
    axes[1].text(c, r, f"{v:g}", ha="center", va="center", fontsize=9, color="white" if v >= 4 else "black")
for (r, c), v in np.ndenumerate(img[0, 0]):
    axes[0].text(c, r, f"{v:g}", ha="center", va="center", fontsize=10, color="white" if v >= 4 else "black")
savefig(fig, "im2col.png", "windows unrolled into rows; the convolution becomes one matrix product")
say("""
    The price of im2col is memory: every pixel is copied into up to 9 rows. minigrad's
    kernel (minigrad/kernels/conv.py) uses direct loops written for the CPU's vector
    units for stride-1 convolutions with few channels (no copies at all), Winograd's
    method for 3x3 kernels over many channels (fewer multiplies; tutorial 10), im2col
    for the rest, and plain loops only when nothing else fits in memory.
""")

# %% [markdown]
# ## 3. Pooling
# Max pooling keeps the largest value of each 2x2 block: a smaller map that says "the
# feature is somewhere around here". Its gradient goes only to the maximum of each
# block (tutorial 03).

# %%
step("3. 2x2 max pooling and its gradient")
fm = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 1, 5, 6], [2, 2, 7, 1]], "float64").reshape(1, 1, 4, 4)
gp = mg.Graph("pool")
with gp:
    xp = mg.placeholder("x", shape=(1, 1, 4, 4), dtype="float64")
    pooled = mg.max_pool2d(xp, 2)
    dx = mg.grad(mg.sum(pooled), xp)
pv, dv = gp.run([pooled, dx], feed={xp: fm})
show("feature map =", fm[0, 0], 0)
show("max_pool2d(2) =", pv[0, 0], 0)
show("d sum(pooled) / d map: a 1 at each block's maximum =", dv[0, 0], 0)
print()

# %% [markdown]
# How does the backward know *where* each maximum was? It can compare the map with
# the pooled values again (the first equal pixel of each block gets the gradient), or
# the forward can write the positions down -- each block's "winner" -- so the
# backward only has to scatter. Frameworks call this saving the indices; minigrad's
# 2x2 kernels do it inside a training run (`minigrad/kernels/pool_2x2.py`), and both ways
# pick the same pixel. (Images as narrow as this one -- a row of windows fits in one
# vector register -- go to `pool_2x2_narrow.py` instead, where finding the winners
# again from whole vectors is cheaper than storing them.) Here are the winners of the
# map above, as flat positions (row * 4 + column):

# %%
_, winners = max_pool2d_2x2_winners(fm)
print("winners (flat positions):", winners, "-> rows", winners // 4, "columns", winners % 4)
print()

# %% [markdown]
# ## 4. Filters and feature maps on a real digit
# Four hand-made 3x3 filters (vertical and horizontal edges, a blur, a corner) applied
# to one digit, then ReLU and pooling, the way a CNN's first layer would.

# %%
step("4. Hand-made filters on a digit")
digit = x_test[:1]
filters = np.array([
    [[1, 0, -1], [2, 0, -2], [1, 0, -1]],                       # vertical edges
    [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],                       # horizontal edges
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]],                          # blur
    [[0, 1, 0], [1, -4, 1], [0, 1, 0]],                         # spots (Laplacian)
], "float32")[:, None]
gd = mg.Graph("filters")
with gd:
    xd = mg.placeholder("x", shape=(None, 1, 8, 8))
    maps = mg.relu(mg.conv2d(xd, mg.constant(filters), padding=1))
    pooled_maps = mg.max_pool2d(maps, 2)
m_v, p_v = gd.run([maps, pooled_maps], feed={xd: digit})
fig, axes = plt.subplots(3, 5, figsize=(12, 7.5))
axes[0, 0].imshow(digit[0, 0], cmap="Greys"); axes[0, 0].set_title(f"digit ({y_test[0]})")
names = ["vertical edges", "horizontal edges", "blur", "spots"]
for k in range(4):
    axes[0, k + 1].imshow(filters[k, 0], cmap="RdBu_r", vmin=-4, vmax=4); axes[0, k + 1].set_title(f"filter: {names[k]}")
    axes[1, k + 1].imshow(m_v[0, k], cmap="viridis"); axes[1, k + 1].set_title("relu(conv) 8x8")
    axes[2, k + 1].imshow(p_v[0, k], cmap="viridis"); axes[2, k + 1].set_title("max-pooled 4x4")
for ax in axes.ravel():
    ax.set_xticks([]); ax.set_yticks([])
axes[1, 0].axis("off"); axes[2, 0].axis("off")
savefig(fig, "handmade_filters.png", "filters (top), feature maps (middle), pooled (bottom)")

# %% [markdown]
# ## 5. A CNN on the real digits
# Conv(32, 3x3) - MaxPool - Conv(64, 3x3) - MaxPool - Dense(128) - Dropout - Dense(10),
# written as in Keras. Each epoch sees the training images shifted by up to one pixel
# (augmentation, tutorial 09), and the learning rate follows a cosine from 0.002 to 0.

# %%
step("5. Train a CNN with mg.nn")
EPOCHS = 3 if args.fast else 20
n_train = len(x_train)
model = nn.Sequential([
    nn.Conv2D(32, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
    nn.MaxPool2D(2),
    nn.Conv2D(64, 3, padding="same", activation="relu"),
    nn.MaxPool2D(2),
    nn.Flatten(),
    nn.Dense(128, activation="relu"),
    nn.Dropout(0.3, seed=0),
    nn.Dense(10, activation="softmax"),
], seed=0)
opt = optim.Adam(lr=0.002)
model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
rng = np.random.default_rng(0)
history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
t0 = time.perf_counter()
for epoch in range(EPOCHS):
    opt.lr = 0.002 * (1 + np.cos(np.pi * epoch / EPOCHS)) / 2          # cosine schedule
    shifted = data.random_shift(x_train[:n_train], 1, rng)             # fresh augmentation each epoch
    h = model.fit(shifted, y_train[:n_train], epochs=1, batch_size=32, validation_data=(x_test, y_test),
                  verbose=0, seed=epoch)
    for k in history:
        history[k] += h.history[k]
    print(f"  epoch {epoch + 1:2d}/{EPOCHS}  lr {opt.lr:.5f}  loss {history['loss'][-1]:.4f}  "
          f"test accuracy {history['val_accuracy'][-1]:.2%}")
seconds = time.perf_counter() - t0
test = model.evaluate(x_test, y_test)
print(f"\n  test accuracy {test['accuracy']:.2%} on {len(x_test)} digits never seen in training "
      f"({seconds:.0f} s of training)\n")
say(f"""
    {'(Fast mode trains for 3 epochs only; the full run reaches about 98%.) ' if args.fast else ''}The network
    has {model.count_params():,} parameters and gets {round(test['accuracy'] * len(x_test))} of the {len(x_test)} test digits right. The
    training loss stays above the test loss because training sees dropout and shifted
    images, the test does not.
""")
fig = viz.plot_history(history)
savefig(fig, "cnn_history.png", "loss and accuracy per epoch, train vs test")
pred = model.predict(x_test)
ax = viz.plot_confusion_matrix(y_test, pred)
savefig(ax.figure, "cnn_confusion.png", "which digits are confused with which")

# %% [markdown]
# ## 6. What the network learned
# The first layer's 32 filters, the feature maps they produce on one test digit, and a
# saliency map: the gradient of the winning class score with respect to the input
# pixels (which pixels would change the decision most).

# %%
step("6. Learned filters, feature maps, saliency")
saved(viz.render(model, path("cnn_graph.png"), collapse=True),
      "the whole model, each layer as one box")
conv1 = model.layers[0]
savefig(viz.plot_filters(conv1.kernel, title="first-layer filters (3x3, red excites, blue inhibits)"),
        "cnn_filters.png", "the 32 learned 3x3 filters")
maps1 = model.graph.run(conv1.output, feed={model.input: x_test[:1]})
savefig(viz.plot_feature_maps(maps1, max_maps=16, title=f"conv1 feature maps for a test digit ({y_test[0]})"),
        "cnn_feature_maps.png", "what the first layer sees in one digit")
logits = model.layers[-1].output
with model.graph:
    score = mg.log(logits[0, int(y_test[0])])
sal = viz.saliency_map(score, model.input, {model.input: x_test[:1]})
savefig(viz.plot_saliency(x_test[0], sal, title=f"saliency of class {y_test[0]}"),
        "cnn_saliency.png", "which pixels the class score is most sensitive to")

finish()
