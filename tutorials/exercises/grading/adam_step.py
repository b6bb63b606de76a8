"""Grading for adam_step: against the update written out here, and on a real problem."""

ORDER = 4

import numpy as np

from minigrad.exercises import expect_close, fail

RNG = np.random.default_rng(4)


def _step(p, g, m, v, t, lr, b1, b2, eps):
    m2 = b1 * m + (1 - b1) * g
    v2 = b2 * v + (1 - b2) * g ** 2
    mh, vh = m2 / (1 - b1 ** t), v2 / (1 - b2 ** t)
    return p - lr * mh / (np.sqrt(vh) + eps), m2, v2


def _call(ex, *args, **kw):
    out = ex.adam_step(*args, **kw)
    if out is None:
        fail("adam_step returned None: return (new_param, new_m, new_v)")
    if not isinstance(out, tuple) or len(out) != 3:
        fail(f"adam_step should return a tuple (new_param, new_m, new_v), got {type(out).__name__}"
             + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return out


def check_first_step(ex):
    """the first step (t=1) moves each coordinate by about lr against the gradient"""
    p = np.array([1.0, -2.0, 0.5, 3.0])
    g = np.array([0.3, -40.0, 1e-3, 0.0])
    z = np.zeros(4)
    new_p, m, v = _call(ex, p.copy(), g.copy(), z.copy(), z.copy(), 1, lr=0.01)
    expect_close(m, 0.1 * g, "m after step 1 (= (1 - beta1) * grad)")
    expect_close(v, 0.001 * g ** 2, "v after step 1 (= (1 - beta2) * grad**2)")
    want = p - 0.01 * np.sign(g) * (np.abs(g) / (np.abs(g) + 1e-8))
    if np.allclose(new_p, p - 0.01 * 0.1 * g / (np.sqrt(0.001 * g ** 2) + 1e-8)):
        fail("the parameter moved by lr * m / sqrt(v): bias-correct first, m_hat = m / (1 - beta1**t), "
             "v_hat = v / (1 - beta2**t)")
    expect_close(new_p, want, "the parameter after step 1 (about p - lr * sign(grad))")


def check_matches_formula_over_steps(ex):
    """20 steps with changing gradients follow the Adam update exactly"""
    shape = (3, 4)
    p = RNG.normal(size=shape)
    m = np.zeros(shape)
    v = np.zeros(shape)
    pw, mw, vw = p.copy(), m.copy(), v.copy()
    kw = dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)
    for t in range(1, 21):
        g = RNG.normal(size=shape) * (t % 5 + 0.1)
        p, m, v = _call(ex, p, g.copy(), m, v, t, **kw)
        pw, mw, vw = _step(pw, g, mw, vw, t, kw["lr"], kw["beta1"], kw["beta2"], kw["eps"])
        expect_close(m, mw, f"m after step {t}", rtol=1e-9, atol=1e-12)
        expect_close(v, vw, f"v after step {t}", rtol=1e-9, atol=1e-12)
        expect_close(p, pw, f"the parameter after step {t}", rtol=1e-9, atol=1e-12)


def check_eps_outside_sqrt(ex):
    """eps is added to sqrt(v_hat), not inside the square root"""
    p, g = np.array([0.0]), np.array([1e-6])
    new_p, _, _ = _call(ex, p, g, np.zeros(1), np.zeros(1), 1, lr=1.0, eps=1e-6)
    inside = -1e-6 / np.sqrt(1e-12 + 1e-6)
    if np.allclose(new_p, inside, rtol=1e-6):
        fail("eps went inside the square root: use m_hat / (np.sqrt(v_hat) + eps)")
    expect_close(new_p, np.array([-0.5]), "a step with grad = eps = 1e-6 (lr = 1)", rtol=1e-6)


def check_zero_gradient_is_safe(ex):
    """a zero gradient at step 1 gives no NaN and no move"""
    p = np.array([1.0, 2.0])
    with np.errstate(all="ignore"):
        new_p, m, v = _call(ex, p.copy(), np.zeros(2), np.zeros(2), np.zeros(2), 1)
    expect_close(new_p, p, "the parameter after a zero gradient")


def check_inputs_not_modified(ex):
    """adam_step returns new arrays and leaves its inputs alone"""
    p, g, m, v = RNG.normal(size=5), RNG.normal(size=5), RNG.normal(size=5) * 0.1, np.abs(RNG.normal(size=5))
    saved = [a.copy() for a in (p, g, m, v)]
    _call(ex, p, g, m, v, 3)
    for name, a, s in zip(("param", "grad", "m", "v"), (p, g, m, v), saved):
        if not np.array_equal(a, s):
            fail(f"adam_step modified its `{name}` argument in place; return new arrays instead "
                 "(write `param - ...`, not `param -= ...`)")


def check_minimises_a_badly_scaled_bowl(ex):
    """500 steps minimise f(x) = 100 x0^2 + 0.01 x1^2 + (x2 - 3)^2 near the optimum"""
    x = np.array([2.0, 2.0, -1.0])
    m, v = np.zeros(3), np.zeros(3)
    scale = np.array([100.0, 0.01, 1.0])
    target = np.array([0.0, 0.0, 3.0])
    for t in range(1, 501):
        g = 2 * scale * (x - target)
        x, m, v = _call(ex, x, g, m, v, t, lr=0.05)
    if not np.all(np.isfinite(x)):
        fail(f"x became {x} after 500 steps")
    err = np.abs(x - target)
    if err.max() > 0.1:
        fail(f"after 500 steps x = {np.round(x, 4)}; expected within 0.1 of {target}")
