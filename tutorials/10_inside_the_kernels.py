# %% [markdown]
# # 10 · Inside the kernels: why the same arithmetic runs 1000x faster
#
# A matrix product C = A @ B of two N x N matrices is 2 N^3 floating-point operations
# however you write it. What changes is how well the code feeds the CPU: interpreted
# Python pays for every single multiply; compiled loops in the wrong order wait for
# memory; a good kernel keeps data in cache and uses SIMD instructions; BLAS adds
# hand-tuned assembly and all cores. We time all of them, then look at how minigrad
# picks a kernel for each op and how to see it in a trace.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, step

import minigrad as mg
import viz
from minigrad import kernels

args = setup(__file__, "10 · Inside the kernels: naive loops vs Numba vs BLAS")
N = 128 if args.fast else 512
N_PY = 48 if args.fast else 96          # pure Python is so slow we use a smaller matrix


def best_time(fn, *a, repeat=7):
    """The fastest of a few runs (the least disturbed by other programs)."""
    fn(*a)                                                   # warm up (compiles Numba code)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*a)
        times.append(time.perf_counter() - t0)
    return min(times)


# %% [markdown]
# ## 1. Six ways to multiply matrices

# %%
step("1. The contenders")


def matmul_python(a, b):
    """Three nested Python loops: every multiply-add is several interpreted bytecodes."""
    n, k, m = a.shape[0], a.shape[1], b.shape[1]
    a, b = a.tolist(), b.tolist()
    c = [[0.0] * m for _ in range(n)]
    for i in range(n):
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += a[i][p] * b[p][j]
            c[i][j] = s
    return c


import numba  # noqa: E402  (after the Python version, so it reads in order)


@numba.njit(cache=True)
def matmul_numba_ijk(a, b):
    """The textbook i-j-k loop, compiled: b[p, j] jumps a whole row of B per step."""
    n, k, m = a.shape[0], a.shape[1], b.shape[1]
    c = np.zeros((n, m), a.dtype)
    for i in range(n):
        for j in range(m):
            s = 0.0
            for p in range(k):
                s += a[i, p] * b[p, j]
            c[i, j] = s
    return c


@numba.njit(cache=True)
def matmul_numba_ikj(a, b):
    """Same sums, i-k-j order: the inner loop walks rows of B and C contiguously (SIMD)."""
    n, k, m = a.shape[0], a.shape[1], b.shape[1]
    c = np.zeros((n, m), a.dtype)
    for i in range(n):
        for p in range(k):
            aip = a[i, p]
            for j in range(m):
                c[i, j] += aip * b[p, j]
    return c


say("""
    1. matmul_python: three nested Python loops.
    2. matmul_numba_ijk: the same loops compiled to machine code by Numba.
    3. matmul_numba_ikj: the loops swapped so the innermost one reads memory in order.
    4. kernels.matmul_blocked: minigrad's study kernel: i-k-j order plus cache
       blocking (tiles of A, B, C that fit in the L2 cache) and both cores (prange).
    5. gemm_simd's micro-kernel: BLAS's central idea written in Numba: an 8 x 32 block of C
       kept in 16 vector registers while the loop walks along k (load 2 vectors of
       B, broadcast 8 numbers of A, 16 fused multiply-adds); one core.
       (minigrad/kernels/gemm_simd.py, with the vector operations of simd.py.)
    6. np.matmul: NumPy's matmul, i.e. BLAS (OpenBLAS): hand-written assembly
       micro-kernels, packed panels, all cores.
""")

# %%
step(f"2. Timings (float32, N = {N}; pure Python at N = {N_PY})")
rng = np.random.default_rng(0)
A = rng.normal(size=(N, N)).astype("float32")
B = rng.normal(size=(N, N)).astype("float32")
ref = kernels.matmul_reference(A, B)
from minigrad.kernels import gemm_simd  # noqa: E402


def matmul_registers(a, b):
    """gemm_simd's micro-kernel itself (kernels.matmul picks it only where it wins)."""
    return gemm_simd.matmul_into(a, b, np.empty((a.shape[0], b.shape[1]), a.dtype))


for name, fn in [("numba ijk", matmul_numba_ijk), ("numba ikj", matmul_numba_ikj),
                 ("blocked", kernels.matmul_blocked), ("registers", matmul_registers),
                 ("blas", np.matmul)]:
    assert np.allclose(fn(A, B), ref, atol=1e-3, rtol=1e-3), name   # all compute the same thing
small_a, small_b = A[:N_PY, :N_PY].astype("float64"), B[:N_PY, :N_PY].astype("float64")
results = {"pure Python": (best_time(matmul_python, small_a, small_b, repeat=1), N_PY)}
for name, fn in [("Numba, i-j-k", matmul_numba_ijk), ("Numba, i-k-j", matmul_numba_ikj),
                 ("Numba, blocked, 2 cores", kernels.matmul_blocked),
                 ("Numba, vector registers, 1 core", matmul_registers),
                 ("BLAS (np.matmul)", np.matmul)]:
    results[name] = (best_time(fn, A, B), N)
print(f"  {'implementation':34s} {'N':>5s} {'time':>11s} {'GFLOP/s':>9s}")
gflops = {}
for name, (t, n) in results.items():
    gflops[name] = 2 * n ** 3 / t / 1e9
    print(f"  {name:34s} {n:5d} {t * 1e3:9.3f} ms {gflops[name]:9.3f}")
print()
speedup = gflops["BLAS (np.matmul)"] / gflops["pure Python"]
blocked_gain = gflops["Numba, blocked, 2 cores"] / gflops["Numba, i-k-j"]
per_core = gflops["Numba, vector registers, 1 core"] / (gflops["BLAS (np.matmul)"] / 2)
per_core_note = (f"{per_core:.1f}x BLAS's speed per core: NumPy's OpenBLAS\n"
                 "      runs AVX2 code here (8 floats per instruction), while Numba's vectors are\n"
                 "      64 bytes (16 floats: AVX-512, on CPUs that have it)" if per_core > 1.1 else
                 f"{per_core:.1f}x BLAS's speed per core: BLAS also packs panels of A\n"
                 "      and B into the order its kernel reads them, and blocks k for the caches")
blocked_note = ("more: tiles that stay in cache, and a second core" if blocked_gain > 1.1 else
                "here, i.e. no gain: at this size the i-k-j loop already\n"
                "      finds B in the 1-2 MiB L2 cache, and starting threads costs about what the\n"
                "      second core saves (blocking pays off for matrices too big for the cache)")
say(f"""
    Per operation, BLAS is about {speedup:,.0f} times faster than the Python loops. Where the
    factors come from:

    - compiling (Python -> Numba i-j-k): no interpreter, no boxed floats: about
      {gflops['Numba, i-j-k'] / gflops['pure Python']:,.0f}x;
    - loop order (i-j-k -> i-k-j): the inner loop now reads B and C row by row, each
      cache line fully used, and the compiler can use SIMD (8 floats per instruction):
      {gflops['Numba, i-k-j'] / gflops['Numba, i-j-k']:.1f}x;
    - cache blocking and 2 cores (kernels.matmul_blocked):
      {blocked_gain:.1f}x {blocked_note};
    - BLAS (register tiling in assembly, packed panels): another
      {gflops['BLAS (np.matmul)'] / gflops['Numba, blocked, 2 cores']:.1f}x;
    - the same register tiling in Numba (gemm_simd.py), on ONE core:
      {gflops['Numba, vector registers, 1 core']:.0f} GFLOP/s, {per_core_note}.

    So kernels.matmul picks per product (a trace says which path ran): BLAS for
    big ones on their own (all cores at once), the register-blocked kernel on one
    core for mid-sized ones (2 to 34 million flops, where one core of it is as fast
    as BLAS on two), and inside a training run, where minigrad's own threads share
    out the work (section 4), the register-blocked kernel on each thread; the
    convolutions' products run on it too (gemm_nt.py for sums along rows). All of
    that on CPUs with AVX-512; without it, the kernel's 16-float vectors are split in
    two, it loses to BLAS, and BLAS runs instead (kernels/simd.py, WIDE_VECTORS).
    Convolutions over many channels
    are rewritten as matrix products (im2col, tutorial 06); the thin ones, where
    those products would be poor work, run register-blocked loops of their own
    (section 3). Timings vary with what else
    the machine is doing (each is the best of 7 runs); run it again on a quiet
    machine if a ratio looks odd.
""")
fig, ax = plt.subplots(figsize=(9, 4.2))
names = list(gflops)
bars = ax.barh(names, [gflops[n] for n in names], color=["#9ca3af", "#93c5fd", "#60a5fa", "#2563eb", "#1d4ed8", "#1e3a8a"])
ax.set_xscale("log")
ax.invert_yaxis()
for bar, n in zip(bars, names):
    ax.text(bar.get_width() * 1.1, bar.get_y() + bar.get_height() / 2, f"{gflops[n]:.3g} GFLOP/s",
            va="center", fontsize=10)
ax.set_xlim(min(gflops.values()) / 3, max(gflops.values()) * 20)
ax.set_xlabel("GFLOP/s (log scale; higher is faster)")
ax.set_title(f"matrix product speed, float32 (N = {N}; Python at N = {N_PY})")
savefig(fig, "matmul_speed.png", "GFLOP/s of each implementation")

# %% [markdown]
# ## 3. Convolution: the reference vs the kernel minigrad runs
# `conv2d_forward_reference` is the readable NumPy twin (one einsum per kernel
# offset). `conv2d_forward` picks a path per shape (`kernels.conv2d_path`):
# "im2col" copies every receptive field into a column and does all the multiply-adds
# in one BLAS matrix product; "winograd" (3x3 kernels, stride 1, many input
# channels) computes the same sums with fewer multiplies, and "winograd4" with fewer
# still, where the CPU has AVX-512 and the image is big enough; "blocked" (stride 1) runs
# the sums straight from the image, *register*-blocked -- 4 output channels x 3
# kernel taps per SIMD loop, kept in vector registers (minigrad/kernels/direct.py;
# section 2's matmul was *cache*-blocked) -- and wins where im2col's matrices are
# thin, as in a CNN's first layers, unless the rows are short (it computes whole
# padded rows and drops KW-1 numbers of each: a 5x5 kernel on 12-wide rows would
# waste a third); "implicit" (stride 1, kernels of 16 taps or more, on CPUs with
# AVX-512) does im2col's matrix product without writing the columns: each step reads
# the input number a column would have held straight from the image, with 16 output
# channels side by side in one vector (minigrad/kernels/implicit.py); "direct"
# loops are kept for when nothing else would fit in memory. The choice is made per
# pass: the input gradient may take another path than the forward.

# %%
step("3. conv2d: reference vs kernel")
for (n, c, h, cout, k, pad) in [(64, 1, 28, 16, 3, 1), (64, 32, 14, 32, 3, 1), (64, 6, 12, 16, 5, 0)]:
    x = rng.normal(size=(n, c, h, h)).astype("float32")
    w = rng.normal(size=(cout, c, k, k)).astype("float32")
    b = np.zeros(cout, "float32")
    conv_args = ((1, 1), (pad, pad), (1, 1))                 # stride, padding, dilation
    t_ref = best_time(kernels.conv2d_forward_reference, x, w, b, *conv_args)
    t_fast = best_time(kernels.conv2d_forward, x, w, b, *conv_args)
    same = np.allclose(kernels.conv2d_forward(x, w, b, *conv_args),
                       kernels.conv2d_forward_reference(x, w, b, *conv_args), atol=1e-3)
    print(f"  x {str(x.shape):18s} w {str(w.shape):15s} path {kernels.conv2d_path(x.shape, w.shape, *conv_args):9s} "
          f"reference {t_ref * 1e3:7.2f} ms   kernel {t_fast * 1e3:7.2f} ms   same result: {same}")
print()

# %% [markdown]
# ### Winograd in one dimension
# Two outputs of a 3-tap filter over four inputs take 6 multiplies the direct way.
# Winograd's F(2, 3) needs 4: transform the inputs with B^T and the filter with G,
# multiply element by element, transform back with A^T. In a CNN the filter transform
# is done once per call and the element-wise products, summed over input channels,
# become 16 matrix products (one per position of a 4x4 tile): 2.25x less arithmetic
# than im2col for a 3x3 kernel. Its backward pass is the same recipe run backwards
# (see `minigrad/kernels/winograd.py`).

# %%
from minigrad.kernels.winograd import A_T, B_T, G  # noqa: E402

d = np.array([1.0, 2.0, 3.0, 4.0])                        # four inputs
gf = np.array([0.5, -1.0, 2.0])                           # a 3-tap filter
direct = np.array([d[0:3] @ gf, d[1:4] @ gf])             # 6 multiplies
products = (G @ gf) * (B_T @ d)                           # the 4 multiplies that count
print(f"  direct:   {direct}  (6 multiplies)")
print(f"  Winograd: {A_T @ products}  (4 multiplies: {products})")
print(f"  B^T =\n{B_T}\n  G =\n{G}\n  A^T =\n{A_T}")

# %% [markdown]
# Bigger tiles save more. F(4, 3) gives 4 outputs from 6 inputs with 6 multiplies
# instead of 12; nested for rows and columns, a 4x4 output tile takes 36 instead of
# 144, 4x less arithmetic than im2col. The price: transforms with bigger numbers
# in them (4, 5, 8), so float32 rounding grows a little, and tiles that stick out of
# small images. minigrad's "winograd4" path (`minigrad/kernels/winograd4.py`) uses
# it, with 16 channels side by side in each vector.

# %%
from minigrad.kernels import winograd4  # noqa: E402

d6 = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])              # six inputs
direct4 = np.array([d6[k:k + 3] @ gf for k in range(4)])   # 12 multiplies
products4 = (winograd4.G @ gf) * (winograd4.B_T @ d6)      # 6 multiplies
print(f"  direct:   {direct4}  (12 multiplies)")
print(f"  Winograd: {winograd4.A_T @ products4}  (6 multiplies)")
print()

# %% [markdown]
# ## 4. Seeing it in a run: the trace
# `g.run(..., trace=True)` records each node's time and, for kernels that report it,
# the code path taken. viz can colour the graph by time.

# %%
step("4. Where the time goes in one training step of a small CNN")
g = mg.Graph("cnn_step")
with g:
    xph = mg.placeholder("x", shape=(None, 1, 28, 28))
    yph = mg.placeholder("y", shape=(None,), dtype="int64")
    with mg.name_scope("conv1"):
        w1 = mg.parameter("w", (rng.normal(size=(16, 1, 3, 3)) * 0.3).astype("float32"))
        h1 = mg.max_pool2d(mg.relu(mg.conv2d(xph, w1, padding=1)), 2)
    with mg.name_scope("conv2"):
        w2 = mg.parameter("w", (rng.normal(size=(32, 16, 3, 3)) * 0.1).astype("float32"))
        h2 = mg.max_pool2d(mg.relu(mg.conv2d(h1, w2, padding=1)), 2)
    with mg.name_scope("dense"):
        wd = mg.parameter("w", (rng.normal(size=(32 * 7 * 7, 10)) * 0.01).astype("float32"))
        logits = mg.reshape(h2, (-1, 32 * 7 * 7)) @ wd
    loss = mg.cross_entropy(logits, yph)
    grads = mg.grad(loss, [w1, w2, wd])
feed = {xph: rng.random((64, 1, 28, 28), dtype=np.float32), yph: rng.integers(0, 10, 64)}
g.run([loss] + grads, feed=feed)                              # warm-up (Numba compiles once)
g.run([loss] + grads, feed=feed, trace=True)                  # ... for the traced path too
_, trace = g.run([loss] + grads, feed=feed, trace=True)
total = trace.total_seconds()
print(f"  one step ({len(trace)} nodes) took {total * 1e3:.1f} ms; the five slowest nodes:")
for e in sorted(trace, key=lambda e: -e.seconds)[:5]:
    print(f"    {e.node.name:34s} {e.node.op.name:20s} {e.seconds * 1e3:7.2f} ms "
          f"({e.seconds / total:4.0%})" + (f"  path: {e.path}" if e.path else ""))
print()
families = {"conv2d (forward and gradients)": 0.0, "matmul": 0.0, "pooling (forward and gradients)": 0.0,
            "everything else (elementwise, reshape, loss...)": 0.0}
for e in trace:
    op = e.node.op.name
    key = ("conv2d (forward and gradients)" if op.startswith("conv2d") else "matmul" if op == "matmul"
           else "pooling (forward and gradients)" if "pool" in op else "everything else (elementwise, reshape, loss...)")
    families[key] += e.seconds
for k, v in families.items():
    print(f"    {k:48s} {v * 1e3:7.2f} ms ({v / total:4.0%})")
print()
heavy = 1 - families["everything else (elementwise, reshape, loss...)"] / total
say(f"""
    The few heavy ops (convolutions, matrix products and pooling, forward and backward)
    take {heavy:.0%} of the step; the many elementwise nodes share the rest. That is where a
    framework's kernel work goes. (Per-node times in a traced run are noisy: run it
    twice and the order of the top five changes, the split by family much less.)
""")
saved(viz.render(g, path("cnn_step_timing.png"), values=trace, timing=True, collapse=True, show="both"),
      "each layer coloured by its run time (heat colours, colour bar in ms)")

# %% [markdown]
# ## 5. Fusion: two nodes, one kernel call
# A relu right after a conv reads the conv's whole output back from memory only to
# clamp it. The compiled plan (not the graph, not the trace) runs such pairs as one
# kernel call -- see minigrad/fusion.py. A conv's two gradients are fused too: both
# start by rearranging the same output gradient.

# %%
step("5. Fused lines in the compiled plan")
for line in g.compile([loss] + grads).source.splitlines():
    if "fused" in line or "one kernel" in line:
        print("   ", line.strip())
plan_ms = best_time(lambda: g.run([loss] + grads, feed=feed)) * 1e3
say(f"""
    The conv kernel writes max(y, 0) as it writes each output ("conv2d + relu"), and
    the pooling backward drops the windows whose max is not positive, which is all
    relu's backward would have done to its result ("max_pool2d_grad + relu_grad").
    The second conv's input and weight gradients come out of one call, as two values
    ("conv2d_grad_input + conv2d_grad_weight, one kernel"): the output gradient is
    rearranged once, and the batch is handed to the other core once.
    Fusion happens only where nobody else needs the first node's value; the traced run
    above ran every node separately (that is why you could see the conv's own output).
    The compiled step takes {plan_ms:.1f} ms against the traced {total * 1e3:.1f} ms,
    which also pays for recording every value.
""")

# %% [markdown]
# ## 6. Using the cores: chunks of images, one per core
# A conv is a chain -- rearrange, multiply, rearrange. Rather than making each link
# parallel, minigrad gives each core a chunk of the batch and the whole chain
# (minigrad/kernels/parallel.py), with BLAS on one thread for the run. Where a chunk's
# chain is all compiled code, the two chunks are the two rounds of one Numba
# `prange` loop (a "pair" kernel); elsewhere they go to minigrad's own helper thread.

# %%
step("6. How the batch is split over the cores")
from minigrad.kernels import parallel  # noqa: E402
work = 32 * 16 * 3 * 3 * 64 * 14 * 14  # conv2's multiply-adds: Cout * Cin * 3 * 3 for
                                        # each output pixel, 64 images of 14x14
with parallel.own_threads():           # what g.run does for a plan with convolutions
    split = parallel.chunks(64, work)
step_fn = lambda: g.run([loss] + grads, feed=feed)  # noqa: E731
threaded_ms = best_time(step_fn) * 1e3
os.environ["MINIGRAD_NUM_THREADS"] = "1"              # no helpers: BLAS's threads instead
one_thread_ms = best_time(step_fn) * 1e3
del os.environ["MINIGRAD_NUM_THREADS"]
say(f"""
    This machine lets minigrad use {parallel.cores()} core(s). conv2 ({work / 1e6:.0f}M
    multiply-adds) is cut into the image ranges {split}; each range runs the conv's
    whole chain on one thread, the ranges at the same time: as one compiled call each,
    on Numba's OpenMP threads, which wait for work spinning and start within a
    microsecond (a Python thread that must first get the GIL takes 10-40 us). Why not
    let BLAS use all cores for the products instead? Its idle threads keep spinning
    for a while after each product, and next to ours they made a CIFAR step 1.6 times
    as slow: in a run with convolutions BLAS stays on one thread, and the dense layers'
    products are shared out on the same threads. (benchmarks/README.md has the
    measurements.) The CNN step above: {threaded_ms:.1f} ms this way, {one_thread_ms:.1f} ms
    with MINIGRAD_NUM_THREADS=1 (one chunk: BLAS then uses its own threads for
    each product, and everything else runs on one core).
""")

finish()
