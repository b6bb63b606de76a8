# %% [markdown]
# # 12 · Second derivatives: differentiate the gradient graph
#
# `mg.grad` does not return numbers: it appends the backward pass to the graph as
# ordinary nodes. So the gradient is itself a differentiable expression, and calling
# `mg.grad` on it gives second derivatives. For a function of many parameters the
# useful object is the **Hessian-vector product** H v = d/dw (grad f(w) . v): one more
# backward pass, never the full n x n Hessian.

# %%
import matplotlib.pyplot as plt
import numpy as np

from _common import finish, path, savefig, saved, say, setup, show, step

import minigrad as mg
import viz

args = setup(__file__, "12 · Second derivatives and Hessian-vector products")

# %% [markdown]
# ## 1. A scalar warm-up: f(x) = x^3
# f'(x) = 3x^2, f''(x) = 6x, f'''(x) = 6. Each derivative is a graph built from the one
# before.

# %%
step("1. d/dx, twice and three times, of x*x*x")
g = mg.Graph("cube")
with g:
    x = mg.placeholder("x", shape=(), dtype="float64")
    f = x * x * x
    n0 = len(g.nodes)
    d1 = mg.grad(f, x)
    n1 = len(g.nodes)
    d2 = mg.grad(d1, x)
    n2 = len(g.nodes)
    d3 = mg.grad(d2, x)
    n3 = len(g.nodes)
vals = g.run([f, d1, d2, d3], feed={x: 2.0})
print(f"  at x = 2:  f = {vals[0]:g}   f' = {vals[1]:g} (3x^2 = 12)   f'' = {vals[2]:g} (6x = 12)"
      f"   f''' = {vals[3]:g} (6)")
print(f"  graph sizes: f {n0} nodes, +{n1 - n0} for f', +{n2 - n1} for f'', +{n3 - n2} for f'''\n")
say("""
    Each call of mg.grad walks the graph built so far, including the previous
    backward pass, and appends a new one. The graph grows with each order (the
    gradient of a product rule is another product rule), which is why frameworks
    compute Hessian-vector products rather than towers of derivatives.
""")

# %% [markdown]
# ### The picture of a Hessian-vector product
# For the drawing we take a function small enough to read: f(w) = sum(tanh(w)) for a
# vector w of 3 numbers, whose Hessian is diagonal, H = diag(-2 tanh(w) (1 - tanh(w)^2)).

# %%
gs = mg.Graph("hvp_small")
with gs:
    ws = mg.placeholder("w", shape=(3,), dtype="float64")
    vs = mg.placeholder("v", shape=(3,), dtype="float64")
    with mg.name_scope("f"):
        fs = mg.sum(mg.tanh(ws))
    grad_s = mg.grad(fs, ws)                          # first backward pass
    with mg.name_scope("dot_v"):
        gvs = mg.sum(grad_s * vs)                      # grad f . v
    hvs = mg.grad(gvs, ws)                            # second backward pass: H v
w_s, v_s = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 0.0])
grad_v, hv_v = gs.run([grad_s, hvs], feed={ws: w_s, vs: v_s})
th = np.tanh(w_s)
show("grad f = 1 - tanh(w)^2 =", grad_v, 4)
show("H v (v = e_0) from the graph =", hv_v + 0.0, 4)
show("-2 tanh(w) (1 - tanh(w)^2) * v  =", -2 * th * (1 - th ** 2) * v_s + 0.0, 4)
print()
saved(viz.render(gs, path("hvp_graph.png"), show="both", feed={ws: w_s, vs: v_s},
                 highlight=[grad_s, hvs], title="f = sum(tanh(w)); amber: grad f and H v"),
      "f, its gradient, grad . v, and the gradient of that: H v (amber outlines)")
say(f"""
    Read hvp_graph.png from the top left. The forward f (blue box) is tanh then sum. The
    first backward pass (the 'backward pass' box) ends in dL/d(w) = 1 - tanh^2, outlined
    in amber. dot_v multiplies it by v and sums. Each mg.grad call is a pass of its own:
    the second one ('backward pass 2') walks back through dot_v ('dot_v (backward)'),
    through the nodes of the first pass ('backward of backward pass') and through tanh
    again (its own 'f (backward)' box), since the first pass read tanh's output. It ends
    in the second amber node: H v = [{hv_v[0]:.4f}, 0, 0].
""")

# %% [markdown]
# ## 2. A Hessian-vector product for logistic regression
# Loss f(w) = mean(log(1 + exp(-t * (X w)))) + (lam/2)|w|^2 with labels t in {-1, +1}.
# Its Hessian is known in closed form, H = X^T diag(s (1 - s)) X / N + lam I with
# s = sigmoid(X w), so we can check the graph's answer exactly.

# %%
step("2. Hv = d/dw (grad f . v): the gradient graph differentiated again")
rng = np.random.default_rng(0)
N, D, lam = 200, 2, 0.01
common = rng.normal(size=N)                     # two strongly correlated features:
Xd = np.stack([common + 0.3 * rng.normal(size=N), common + 0.3 * rng.normal(size=N)], 1) + [0.3, -0.2]
t = np.where(Xd @ np.array([2.0, -1.0]) + 0.5 * rng.normal(size=N) > 0, 1.0, -1.0)
gh = mg.Graph("hvp")
with gh:
    X = mg.constant(Xd, name="X")
    T = mg.constant(t, name="t")
    w = mg.placeholder("w", shape=(D,), dtype="float64")
    v = mg.placeholder("v", shape=(D,), dtype="float64")
    with mg.name_scope("loss"):
        margin = T * (X @ w)
        f = mg.mean(mg.log(1.0 + mg.exp(-margin))) + 0.5 * lam * mg.sum(w * w)
    grad_w = mg.grad(f, w)                       # first backward pass
    with mg.name_scope("dot_v"):
        gv = mg.sum(grad_w * v)                  # a scalar: grad f . v
    hv = mg.grad(gv, w)                          # second backward pass: H v


def hessian_exact(wv):
    s = 1 / (1 + np.exp(-(Xd @ wv)))
    return Xd.T @ (Xd * (s * (1 - s))[:, None]) / N + lam * np.eye(D)


w0, v0 = np.array([0.5, -0.5]), np.array([1.0, 2.0])
hv_graph = gh.run(hv, feed={w: w0, v: v0})
eps = 1e-5
fd = (gh.run(grad_w, feed={w: w0 + eps * v0}) - gh.run(grad_w, feed={w: w0 - eps * v0})) / (2 * eps)
show("Hv from the graph            =", hv_graph, 6)
show("H v with the closed-form H   =", hessian_exact(w0) @ v0, 6)
show("(grad(w+eps v)-grad(w-eps v))/2eps =", fd, 6)
print()
say("""
    Three ways, one answer. The graph never formed H: it ran one forward pass, one
    backward pass, and the backward pass of (grad . v), about three times the cost of
    the loss, whatever the number of parameters. The full Hessian, when it is small
    enough to want, is D Hessian-vector products with the unit vectors:
""")
H = np.stack([gh.run(hv, feed={w: w0, v: e}) for e in np.eye(D)], 1)
show("H (columns = H e_i) =", H, 5)
print(f"  symmetric: {np.allclose(H, H.T)};  matches the closed form: {np.allclose(H, hessian_exact(w0))}\n")

# %% [markdown]
# ## 3. What second derivatives buy: Newton's method
# Gradient descent takes w <- w - lr * g; Newton's method w <- w - H^-1 g uses the
# curvature to take the right-sized step in every direction. On this (convex) loss it
# converges in a handful of steps, where gradient descent crawls along the flat valley.

# %%
step("3. Newton's method vs gradient descent")
steps_gd = 300
path_gd, path_nt = [np.array([-2.0, 2.0])], [np.array([-2.0, 2.0])]
for _ in range(steps_gd):
    path_gd.append(path_gd[-1] - 1.0 * gh.run(grad_w, feed={w: path_gd[-1]}))
for _ in range(6):
    wc = path_nt[-1]
    gvec = gh.run(grad_w, feed={w: wc})
    Hc = np.stack([gh.run(hv, feed={w: wc, v: e}) for e in np.eye(D)], 1)
    path_nt.append(wc - np.linalg.solve(Hc, gvec))
loss_of = lambda wv: float(gh.run(f, feed={w: wv}))
w_star = path_nt[-1]
print(f"  minimum (Newton): w = {np.array2string(w_star, precision=4)}, loss {loss_of(w_star):.6f}")
for k in (1, 2, 3, 5):
    print(f"  after {k} steps:  Newton loss - min = {loss_of(path_nt[k]) - loss_of(w_star):.2e}   "
          f"gradient descent loss - min = {loss_of(path_gd[k]) - loss_of(w_star):.2e}")
gaps = np.array([loss_of(p) - loss_of(w_star) for p in path_gd])
needed = int(np.argmax(gaps < 1e-6)) if (gaps < 1e-6).any() else None
print(f"  gradient descent after {steps_gd} steps: loss - min = {gaps[-1]:.2e}"
      f" (within 1e-6 after {needed} steps; Newton after {int(np.argmax(np.array([loss_of(p) - loss_of(w_star) for p in path_nt]) < 1e-6))})\n")
eig = np.linalg.eigvalsh(hessian_exact(w_star))
say(f"""
    The two features are strongly correlated, so the loss is a long narrow valley
    (H's eigenvalues {eig[0]:.3f} and {eig[1]:.3f} differ by a factor {eig[1] / eig[0]:.1f}). Gradient descent
    must use a step small enough for the steep direction and then creeps along the flat
    one; Newton rescales each direction by its curvature.
""")

a0, a1 = np.meshgrid(np.linspace(-3, 4.5, 90), np.linspace(-3.5, 2.5, 90))
grid = np.stack([a0.ravel(), a1.ravel()], 1)
S = 1 / (1 + np.exp(-(grid @ Xd.T) * t))
Lgrid = (-np.log(S)).mean(1) + 0.5 * lam * (grid ** 2).sum(1)
fig, ax = plt.subplots(figsize=(6.5, 5.5))
cs = ax.contour(a0, a1, Lgrid.reshape(a0.shape), levels=np.quantile(Lgrid, np.linspace(0.01, 0.9, 14)),
                cmap="viridis")
ax.clabel(cs, fontsize=8, fmt="%.2f")
pg, pn = np.array(path_gd), np.array(path_nt)
ax.plot(pg[:, 0], pg[:, 1], ".-", color="#2563eb", ms=3, label=f"gradient descent (lr 1, {steps_gd} steps)")
ax.plot(pn[:, 0], pn[:, 1], "o-", color="#dc2626", ms=6, label="Newton (H from HVPs), 6 steps")
ax.plot(*w_star, "k*", ms=14, label="minimum")
ax.set_xlabel("w[0]"); ax.set_ylabel("w[1]")
ax.set_title("logistic-regression loss: Newton vs gradient descent")
ax.legend(loc="lower left", fontsize=9)
savefig(fig, "newton_vs_gd.png", "the two paths on the loss contours")

finish()
