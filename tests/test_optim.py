"""Each optimizer against a hand-written NumPy version of its formula, step by step."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

STEPS = 5


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    g = mg.Graph()
    with g:
        W = mg.parameter("W", rng.standard_normal((3, 4)).astype("float64"))
        b = mg.parameter("b", rng.standard_normal(4).astype("float64"))
    grads = [[rng.standard_normal((3, 4)), rng.standard_normal(4)] for _ in range(STEPS)]
    return [W, b], grads


def _run(opt, reference, **ref_kwargs):
    params, grads = _setup()
    start = [p.value.copy() for p in params]
    opt.setup(params)
    expected = reference(start, grads, **ref_kwargs)
    for step, gs in enumerate(grads):
        opt.step([g.copy() for g in gs])
        for p, want in zip(params, expected[step]):
            np.testing.assert_allclose(p.value, want, rtol=1e-12, atol=1e-12, err_msg=f"step {step + 1}")
    return opt, params


def ref_sgd(params, grads, lr, momentum=0.0, nesterov=False, wd=0.0):
    params = [p.copy() for p in params]
    bufs = [np.zeros_like(p) for p in params]
    out = []
    for gs in grads:
        for i, g in enumerate(gs):
            g = g + wd * params[i]
            if momentum:
                bufs[i] = momentum * bufs[i] + g
                g = g + momentum * bufs[i] if nesterov else bufs[i]
            params[i] = params[i] - lr * g
        out.append([p.copy() for p in params])
    return out


def ref_adam(params, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    out = []
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            g = g + wd * params[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1 ** t)
            v_hat = v[i] / (1 - b2 ** t)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append([p.copy() for p in params])
    return out


def ref_rmsprop(params, grads, lr, rho=0.9, eps=1e-7):
    params = [p.copy() for p in params]
    v = [np.zeros_like(p) for p in params]
    out = []
    for gs in grads:
        for i, g in enumerate(gs):
            v[i] = rho * v[i] + (1 - rho) * g * g
            params[i] = params[i] - lr * g / (np.sqrt(v[i]) + eps)
        out.append([p.copy() for p in params])
    return out


def ref_adagrad(params, grads, lr, init=0.0, eps=1e-10):
    params = [p.copy() for p in params]
    s = [np.full_like(p, init) for p in params]
    out = []
    for gs in grads:
        for i, g in enumerate(gs):
            s[i] = s[i] + g * g
            params[i] = params[i] - lr * g / (np.sqrt(s[i]) + eps)
        out.append([p.copy() for p in params])
    return out


def test_sgd_plain():
    _run(optim.SGD(lr=0.1), ref_sgd, lr=0.1)


def test_sgd_momentum():
    opt, params = _run(optim.SGD(lr=0.05, momentum=0.9), ref_sgd, lr=0.05, momentum=0.9)
    assert opt.state[params[0]]["momentum"].shape == (3, 4)


def test_sgd_nesterov_and_weight_decay():
    _run(optim.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), ref_sgd,
         lr=0.05, momentum=0.9, nesterov=True, wd=0.01)


def test_adam():
    opt, params = _run(optim.Adam(lr=0.01), ref_adam, lr=0.01)
    # the state a learner prints is the real m and v
    W = params[0]
    assert set(opt.state[W]) == {"m", "v"} and opt.iterations == STEPS
    assert np.abs(opt.state[W]["m"]).sum() > 0


def test_adam_weight_decay_and_betas():
    _run(optim.Adam(lr=0.003, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1), ref_adam,
         lr=0.003, b1=0.8, b2=0.99, eps=1e-6, wd=0.1)


def test_adamw_decouples_decay():
    params, grads = _setup()
    start = [p.value.copy() for p in params]
    opt = optim.AdamW(lr=0.01, weight_decay=0.1).setup(params)
    m = [np.zeros_like(p) for p in start]
    v = [np.zeros_like(p) for p in start]
    ref = [p.copy() for p in start]
    for t, gs in enumerate(grads, start=1):
        opt.step(gs)
        for i, g in enumerate(gs):
            ref[i] = ref[i] * (1 - 0.01 * 0.1)
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            ref[i] = ref[i] - 0.01 * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
            np.testing.assert_allclose(params[i].value, ref[i], rtol=1e-12)


def test_rmsprop():
    _run(optim.RMSprop(lr=0.01, rho=0.95), ref_rmsprop, lr=0.01, rho=0.95)


def test_adagrad():
    _run(optim.Adagrad(lr=0.1, initial_accumulator_value=0.1), ref_adagrad, lr=0.1, init=0.1)


def test_clipnorm_per_tensor_and_global():
    params, _ = _setup()
    start = [p.value.copy() for p in params]
    big = [np.full((3, 4), 10.0), np.full(4, 0.01)]
    optim.SGD(lr=1.0, clipnorm=1.0, params=params).step([g.copy() for g in big])
    step0 = start[0] - params[0].value
    np.testing.assert_allclose(np.linalg.norm(step0), 1.0)          # clipped to norm 1
    np.testing.assert_allclose(start[1] - params[1].value, big[1])   # small one untouched

    params, _ = _setup()
    optim.SGD(lr=1.0, global_clipnorm=2.0, params=params).step([g.copy() for g in big])
    total = np.sqrt(sum(np.sum((s - p.value) ** 2) for s, p in zip(start, params)))
    np.testing.assert_allclose(total, 2.0)
    # global clipping keeps the direction: both gradients scaled by the same factor
    ratio = (start[1] - params[1].value) / big[1]
    np.testing.assert_allclose(ratio, ratio[0])


def test_get_by_name_and_errors():
    assert isinstance(optim.get("adam"), optim.Adam)
    assert isinstance(optim.get("SGD"), optim.SGD)
    opt = optim.RMSprop(learning_rate=0.5)
    assert optim.get(opt) is opt and opt.lr == 0.5
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.get("adamm")
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.SGD(lr=0)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD(nesterov=True)
    params, _ = _setup()
    with pytest.raises(ValueError, match="1 gradients for 2 parameters"):
        optim.SGD(params=params).step([np.zeros((3, 4))])


def test_optimizer_trains_a_graph():
    """The optimizer closes the loop: g.run gives gradients, step updates in place."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3)).astype("float32")
    w_true = np.array([[1.0], [-2.0], [0.5]], "float32")
    Y = X @ w_true
    g = mg.Graph()
    with g:
        x = mg.placeholder("x", (None, 3))
        t = mg.placeholder("t", (None, 1))
        W = mg.parameter("W", np.zeros((3, 1), "float32"))
        loss = mg.mse_loss(x @ W, t)
        gW = mg.grad(loss, W)
    opt = optim.SGD(lr=0.1, momentum=0.9, params=[W])
    fetches = [loss, gW]
    for _ in range(200):
        value, grad = g.run(fetches, {x: X, t: Y})
        opt.step([grad])
    np.testing.assert_allclose(W.value, w_true, atol=1e-3)


def test_flat_buffer_is_invisible_to_the_user():
    """Parameters share one flat buffer (a speed trick); values, state and replacing still work."""
    params, grads = _setup()
    W, b = params
    opt = optim.Adam(lr=0.1).setup(params)
    assert W.value.base is opt._flat and W.value.shape == (3, 4)
    opt.step(grads[0])
    assert np.abs(opt.state[W]["m"]).sum() > 0 and opt.state[W]["m"].shape == (3, 4)
    W.value = np.zeros((3, 4))                 # a user replaces the array: the next step uses it
    opt.step(grads[1])
    assert np.abs(W.value).max() > 0 and W.value.base is opt._flat

    g = mg.Graph()
    with g:
        a = mg.parameter("a", np.ones(3, "float32"))
        c = mg.parameter("c", np.ones(3, "float64"))
    opt = optim.SGD(lr=0.5).setup([a, c])      # mixed dtypes: per-parameter updates
    opt.step([np.ones(3, "float32"), np.ones(3)])
    np.testing.assert_allclose(a.value, 0.5) and np.testing.assert_allclose(c.value, 0.5)
    assert a.value.dtype == np.float32
