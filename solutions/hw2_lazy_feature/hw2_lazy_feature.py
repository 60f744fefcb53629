# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Homework 2 — Lazy and feature training
#
# The same network can learn in two very different ways. Scale its output by a factor
# $\alpha$ and subtract the output at initialisation,
#
# $$F(x) = \alpha\,\big(f(x; w) - f(x; w_0)\big), \qquad
#   L(w) = \frac{1}{\alpha\, p} \sum_{\mu=1}^{p} \ell\big(y_\mu F(x_\mu)\big), \qquad
#   \dot w = -\nabla_w L .$$
#
# For $\alpha \gg 1$ a tiny move of the weights changes $F$ by $O(1)$: the network fits
# the data while its weights and its neural tangent kernel barely move, and it trains like
# the kernel machine of its initial NTK — the **lazy** regime (Jacot et al. 2018,
# arXiv:1806.07572; Chizat, Oyallon & Bach 2019, arXiv:1812.07956). For $\alpha \ll 1$
# the weights must travel far: the neurons re-orient towards the task and the kernel
# changes — the **feature** regime. Geiger, Spigler, Jacot & Wyart (2020,
# arXiv:1906.08034) map the crossover between the two.
#
# **Conventions** (`deeptheory.alpha`). The network has a mean-field readout,
# $f(x) = \frac1h \sum_{n} \beta_n\, \varphi(w_n\cdot x/\sqrt d + b_n)$
# (`FCNet(parametrization="mean_field", readout_bias=False)`), and the formulas above are
# the authors' *code convention*: there $\alpha$ is the control parameter at every width
# and the crossover sits at $\alpha = O(1)$. The article writes the same dynamics with a
# $1/\sqrt h$ readout and a $1/\alpha_a^2$ loss; the two are related by
# $\alpha = \sqrt h\,\alpha_a$ (`deeptheory.alpha.alpha_from_article`), so in the article's
# units the crossover moves as $\alpha_a^* \propto 1/\sqrt h$. Inputs are batch-first,
# everything float64.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch

import deeptheory
from deeptheory import FCNet

torch.set_num_threads(1)
print("deeptheory", deeptheory.__version__)

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The α-scaled output
#
# $F = \alpha\,(f - f_0)$, so that $F \equiv 0$ at initialisation whatever the random
# $f_0$ (without the subtraction, a lazy network would start from an output of size
# $\alpha f_0 \gg 1$). `f` and `f0` have shape `(p,)` or, for an ensemble of $E$
# networks, `(E, p)`. `alpha` is a float, or a tensor of shape `(E,)` giving each member
# its own $\alpha$ (then member $e$ is scaled by `alpha[e]` on all its points).


# %% nbgrader={"grade": false, "grade_id": "scaled_output", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scaled_output(f, f0, alpha):
    """F = α (f − f₀): (p,) or (E, p); α a float or an (E,) tensor."""
    ### BEGIN SOLUTION
    if isinstance(alpha, torch.Tensor):
        alpha = alpha.reshape(*alpha.shape, *([1] * (f.ndim - alpha.ndim)))
    return alpha * (f - f0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "scaled_output_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""F vanishes at initialisation, and is linear in α."""
_g = torch.Generator().manual_seed(0)
_f0 = torch.randn(5, dtype=torch.float64, generator=_g)
_f = _f0 + 0.1
_F = scaled_output(_f0, _f0, 7.0)
assert isinstance(_F, torch.Tensor), "return a torch.Tensor"
assert _F.shape == (5,), f"expected shape (5,), got {tuple(_F.shape)}"
assert bool((_F == 0).all()), "F must be 0 when f = f0 (did you subtract f0?)"
assert torch.allclose(scaled_output(_f, _f0, 3.0), torch.full_like(_f, 0.3)), (
    "F = α (f − f0): with f − f0 = 0.1 and α = 3, F should be 0.3 everywhere"
)

# %% nbgrader={"grade": true, "grade_id": "scaled_output_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference: single networks and ensembles, α a float or one per member."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.alpha
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _output_cases(draw):
    p, members = draw(_st.integers(1, 6)), draw(_st.sampled_from([None, 1, 2, 3, 5]))
    per_member = members is not None and draw(_st.booleans())
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    shape = (p,) if members is None else (members, p)
    f = torch.randn(shape, dtype=torch.float64, generator=g)
    f0 = torch.randn(shape, dtype=torch.float64, generator=g)
    if per_member:
        alpha = 10 ** (4 * torch.rand(members, dtype=torch.float64, generator=g) - 2)
        what = f"alpha a tensor of shape ({members},)"
    else:
        alpha = draw(_st.sampled_from([1e-3, 0.1, 1.0, 2.5, 1e3]))
        what = f"alpha={alpha}"
    label = f"f and f0 of shape {shape}, {what}, seed {seed}"
    return Case((f, f0, alpha), label=label)


check_against_reference(
    scaled_output,
    deeptheory.alpha.scaled_output,
    _output_cases(),
    name="scaled_output",
    forbid=[deeptheory.alpha],
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The α-scaled loss
#
# $L = \frac{1}{\alpha\,p}\sum_\mu \ell(y_\mu F_\mu)$ with the margin $z = yF$ and
#
# | `loss` | $\ell(z)$ |
# | --- | --- |
# | `"hinge"` | $\max(0,\, 1 - z)$ |
# | `"soft_hinge"` | $\frac1\beta \log\big(1 + e^{\beta(1 - z)}\big)$ (sharpness $\beta$, default 20) |
# | `"quadratic"` | $\frac12 \max(0,\, 1 - z)^2$ |
# | `"mse"` | $\frac12 (1 - z)^2 = \frac12 (y - F)^2$ for $y = \pm 1$ |
#
# Why $1/\alpha$? The gradient is then $\nabla_w L = \frac1p \sum_\mu \ell'(z_\mu)\, y_\mu
# \nabla_w f(x_\mu)$, of the same size at every $\alpha$: only the *output* is
# amplified, so one step size serves both regimes. (The article's $1/\alpha_a^2$ belongs
# with its $1/\sqrt h$ readout; do not mix the conventions.)
#
# `F` is `(p,)` or `(E, p)`, `y` is `(p,)`; return a 0-d tensor, or `(E,)` for an
# ensemble (with `alpha` a float or `(E,)`). For the soft hinge use
# `torch.logaddexp(torch.zeros_like(u), beta * u) / beta`: `torch.nn.functional.softplus`
# switches to the linear branch at $\beta u > 20$, off by $e^{-20}/\beta$.


# %% nbgrader={"grade": false, "grade_id": "scaled_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scaled_loss(F, y, alpha, *, loss="hinge", beta=20.0):
    """L = 1/(α p) Σ_μ ℓ(y_μ F_μ): 0-d, or (E,) for F of shape (E, p)."""
    ### BEGIN SOLUTION
    z = y * F
    if loss == "hinge":
        ell = torch.clamp(1 - z, min=0)
    elif loss == "soft_hinge":
        ell = torch.logaddexp(torch.zeros_like(z), beta * (1 - z)) / beta
    elif loss == "quadratic":
        ell = 0.5 * torch.clamp(1 - z, min=0) ** 2
    elif loss == "mse":
        ell = 0.5 * (1 - z) ** 2
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return ell.mean(dim=-1) / alpha
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "scaled_loss_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""At initialisation (F = 0) every margin is 0, so the hinge loss is 1/α."""
_y = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
_L = scaled_loss(torch.zeros(4, dtype=torch.float64), _y, 4.0)
assert isinstance(_L, torch.Tensor), "return a torch.Tensor"
assert _L.shape == (), f"expected a 0-d tensor, got shape {tuple(_L.shape)}"
assert abs(float(_L) - 0.25) < 1e-12, (
    f"hinge at F = 0 with α = 4: expected 1/α = 0.25, got {float(_L)}"
)
_F = torch.tensor([2.0, -3.0, 1.0, -1.5], dtype=torch.float64)
assert float(scaled_loss(_F, _y, 1.0)) == 0.0, (
    "every margin yF is >= 1 here: the hinge loss must be 0"
)

# %% nbgrader={"grade": true, "grade_id": "scaled_loss_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference: the four losses, sharpness β, ensembles, α per member."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.alpha
import deeptheory.losses
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _loss_cases(draw):
    p, members = draw(_st.integers(1, 8)), draw(_st.sampled_from([None, 1, 3]))
    loss = draw(_st.sampled_from(["hinge", "soft_hinge", "quadratic", "mse"]))
    beta = draw(_st.sampled_from([20.0, 1.0, 5.0]))
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    shape = (p,) if members is None else (members, p)
    F = 2 * torch.randn(shape, dtype=torch.float64, generator=g)
    y = torch.where(torch.rand(p, generator=g) < 0.5, -1.0, 1.0).double()
    if members is not None and draw(_st.booleans()):
        alpha = 10 ** (4 * torch.rand(members, dtype=torch.float64, generator=g) - 2)
        what = f"alpha a tensor of shape ({members},)"
    else:
        alpha = draw(_st.sampled_from([1e-2, 0.5, 1.0, 30.0]))
        what = f"alpha={alpha}"
    label = f"F of shape {shape}, y of shape ({p},), {what}, loss={loss!r}, beta={beta}, seed {seed}"
    return Case((F, y, alpha), dict(loss=loss, beta=beta), label=label)


check_against_reference(
    scaled_loss,
    deeptheory.alpha.scaled_loss,
    _loss_cases(),
    name="scaled_loss",
    forbid=[deeptheory.alpha, deeptheory.losses],
    rtol=1e-8,
    max_examples=40,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Training: gradient descent on the α-scaled loss
#
# Gradient flow $\dot w = -\nabla_w L$, discretised with a fixed step `lr`:
#
# $$w_{k+1} = w_k - \mathrm{lr}\;\nabla_w L(w_k), \qquad k = 0, \dots, \mathrm{steps} - 1,$$
#
# with $L$ from your `scaled_loss` and $F$ from your `scaled_output`, where
# $f_0 = $ `model(params, x)` is computed **once**, from the initial parameters.
# `model(params, x)` returns `(p,)` (e.g. an `FCNet`); `params` is a dict of tensors that
# you must not modify; return a new dict with the same keys holding the parameters after
# `steps` steps (detached tensors). Use `torch.autograd.grad`. (The library trains with the
# authors' *adaptive* integrator, `deeptheory.train.run`, which takes large steps where it
# can; the grader compares you with its fixed-step mode `method="gd"`.)


# %% nbgrader={"grade": false, "grade_id": "gradient_descent", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_descent(model, params, x, y, *, alpha, lr, steps, loss="hinge"):
    """`steps` steps w ← w − lr ∇L(w) from `params`; returns the final parameters."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        f0 = model(params, x)
    w = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    for _ in range(steps):
        F = scaled_output(model(w, x), f0, alpha)
        L = scaled_loss(F, y, alpha, loss=loss)
        grads = torch.autograd.grad(L, list(w.values()))
        with torch.no_grad():
            for v, g in zip(w.values(), grads, strict=True):
                v -= lr * g
    return {k: v.detach() for k, v in w.items()}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gradient_descent_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""A few steps on a small network: same keys and shapes, inputs untouched, loss down."""
_net = FCNet(
    input_dim=2, width=8, bias_std=1.0, parametrization="mean_field", readout_bias=False
)
_p0 = _net.init(generator=torch.Generator().manual_seed(1))
_x = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
_y = torch.sign(_x[:, 0])
_copy = {k: v.clone() for k, v in _p0.items()}
_p = gradient_descent(_net, _p0, _x, _y, alpha=1.0, lr=2.0, steps=20)
assert isinstance(_p, dict) and set(_p) == set(_p0), (
    f"return a dict with the keys {sorted(_p0)}"
)
for _k in _p0:
    assert _p[_k].shape == _p0[_k].shape, f"{_k}: shape {tuple(_p[_k].shape)}"
    assert torch.equal(_p0[_k], _copy[_k]), "do not modify the initial parameters"
_loss = lambda q: float(  # noqa: E731
    scaled_loss(scaled_output(_net(q, _x), _net(_p0, _x), 1.0), _y, 1.0)
)
assert _loss(_p) < _loss(_p0), (
    f"the loss should decrease: {_loss(_p0):.4f} at the start, {_loss(_p):.4f} after"
)

# %% nbgrader={"grade": true, "grade_id": "gradient_descent_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the library's fixed-step trainer, on networks, α, losses and step counts."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.train
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import fc_nets


def _flat(params, keys):
    if not isinstance(params, dict) or set(params) != set(keys):
        raise TypeError(f"return a dict of parameters with the keys {sorted(keys)}")
    return torch.cat([params[k].reshape(-1) for k in sorted(keys)])


def _library(model, params, x, y, *, alpha, lr, steps, loss="hinge"):
    config = deeptheory.train.TrainConfig(
        method="gd", lr=lr, max_steps=steps, stop_margin=None, loss=loss
    )
    final = deeptheory.train.run(model, params, x, y, alpha=alpha, config=config)[-1]
    return _flat(final.params, params)


def _student(model, params, x, y, **kwargs):
    return _flat(gradient_descent(model, params, x, y, **kwargs), params)


@_st.composite
def _training_cases(draw):
    net = draw(
        fc_nets(
            max_input_dim=3,
            max_width=10,
            min_hidden_layers=1,
            max_hidden_layers=2,
            out_dims=[None],
            bias_stds=[0.0, 1.0],
            parametrizations=["mean_field"],
            readout_biases=[False, True],
        )
    )
    p, steps = draw(_st.integers(1, 8)), draw(_st.integers(1, 12))
    alpha = draw(_st.sampled_from([0.1, 1.0, 10.0]))
    loss = draw(_st.sampled_from(["hinge", "soft_hinge", "quadratic", "mse"]))
    lr = min(draw(_st.sampled_from([0.1, 0.5, 2.0])), net.width / (4 * alpha))
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    params = net.init(generator=g)
    x = torch.randn(p, net.input_dim, dtype=torch.float64, generator=g)
    y = torch.where(torch.rand(p, generator=g) < 0.5, -1.0, 1.0).double()
    options = dict(alpha=alpha, lr=lr, steps=steps, loss=loss)
    label = f"{net}, p = {p}, {options}, seed {seed}"
    return Case((net, params, x, y), options, label=label)


check_against_reference(
    _student,
    _library,
    _training_cases(),
    name="gradient_descent",
    forbid=[deeptheory.train],
    rtol=1e-8,
    max_examples=15,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. How far did the weights move?
#
# $$\Delta w = \frac{\lVert w - w_0 \rVert}{\lVert w_0 \rVert}, \qquad
#   \lVert w \rVert^2 = \sum_{\text{all parameters}} w_i^2 ,$$
#
# one norm over **every** parameter of the network together (not layer by layer).
# In the lazy regime $\Delta w \propto 1/\alpha$ (Geiger et al. 2020, result R1): to move
# $F$ by $O(1)$ the weights need to move by $O(1/\alpha)$. `params` and `params0` are
# dicts with the same keys and shapes; return a 0-d tensor.


# %% nbgrader={"grade": false, "grade_id": "relative_weight_change", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relative_weight_change(params, params0):
    """‖w − w₀‖ / ‖w₀‖ over all parameters together: a 0-d tensor."""
    ### BEGIN SOLUTION
    diff = sum(((params[k] - params0[k]) ** 2).sum() for k in params0)
    norm = sum((params0[k] ** 2).sum() for k in params0)
    return torch.sqrt(diff / norm)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relative_weight_change_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Zero without training; w = 2 w₀ moved by exactly its own norm."""
_w0 = {
    "a": torch.tensor([3.0, 0.0], dtype=torch.float64),
    "b": torch.tensor([[4.0]], dtype=torch.float64),
}
_c = relative_weight_change(_w0, _w0)
assert isinstance(_c, torch.Tensor) and _c.shape == (), "return a 0-d torch.Tensor"
assert float(_c) == 0.0, "untrained weights have not moved"
_twice = {k: 2 * v for k, v in _w0.items()}
assert abs(float(relative_weight_change(_twice, _w0)) - 1.0) < 1e-12, (
    "w = 2 w0 gives ‖w − w0‖/‖w0‖ = 1"
)

# %% nbgrader={"grade": true, "grade_id": "relative_weight_change_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on networks moved by small and large amounts."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.observables
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import fc_nets


@_st.composite
def _moved_cases(draw):
    net = draw(fc_nets(max_width=6, bias_stds=[0.0, 1.0]))
    scale = draw(_st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    params0 = net.init(generator=g)
    params = {
        k: v + scale * torch.randn(v.shape, dtype=v.dtype, generator=g)
        for k, v in params0.items()
    }
    label = f"parameters of {net}, moved by {scale} × N(0, 1) noise, seed {seed}"
    return Case((params, params0), label=label)


check_against_reference(
    relative_weight_change,
    deeptheory.observables.relative_weight_change,
    _moved_cases(),
    name="relative_weight_change",
    forbid=[deeptheory.observables],
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex5_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. How far did the kernel move?
#
# On a *kernel set* of inputs $x$ (n, d), the relative change of the empirical NTK,
#
# $$\Delta\Theta = \frac{\lVert \Theta_w - \Theta_{w_0} \rVert_F}
#   {\lVert \Theta_{w_0} \rVert_F}, \qquad
#   \Theta_w(x_i, x_j) = \nabla_w f(x_i)\cdot\nabla_w f(x_j),$$
#
# in the Frobenius norm, relative to the kernel **at initialisation**. Small
# $\Delta\Theta$ means the network is (close to) the kernel machine of $\Theta_{w_0}$.
# Compute the kernels with `deeptheory.empirical_ntk(net, params, x)` (you wrote it in
# Homework 1); return a 0-d tensor.


# %% nbgrader={"grade": false, "grade_id": "relative_ntk_change", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relative_ntk_change(net, params, params0, x):
    """‖Θ_w − Θ_w₀‖_F / ‖Θ_w₀‖_F on the kernel set x (n, d): a 0-d tensor."""
    ### BEGIN SOLUTION
    theta0 = deeptheory.empirical_ntk(net, params0, x)
    theta = deeptheory.empirical_ntk(net, params, x)
    return torch.linalg.norm(theta - theta0) / torch.linalg.norm(theta0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relative_ntk_change_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Zero for unchanged weights; scaling the readout by 2 scales part of Θ by 4."""
_net = FCNet(input_dim=2, width=8, parametrization="mean_field")
_p0 = _net.init(generator=torch.Generator().manual_seed(1))
_x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
_c = relative_ntk_change(_net, _p0, _p0, _x)
assert isinstance(_c, torch.Tensor) and _c.shape == (), "return a 0-d torch.Tensor"
assert float(_c) == 0.0, "the kernel of the initial parameters has not changed"
_moved = dict(_p0, w1=2 * _p0["w1"])
assert float(relative_ntk_change(_net, _moved, _p0, _x)) > 0, (
    "doubling the readout weights changes the kernel"
)

# %% nbgrader={"grade": true, "grade_id": "relative_ntk_change_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on moved networks and kernel sets."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory
import deeptheory.experiments.lazy_feature
import deeptheory.observables
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import fc_nets


def _reference(net, params, params0, x):
    return deeptheory.observables.relative_distance(
        deeptheory.empirical_ntk(net, params, x),
        deeptheory.empirical_ntk(net, params0, x),
    )


@_st.composite
def _kernel_cases(draw):
    # a readout bias keeps Θ₀ ≥ σ_b² > 0 (a dead ReLU network has Θ₀ = 0)
    net = draw(fc_nets(max_width=6, out_dims=[None], bias_stds=[0.1, 1.0]))
    scale = draw(_st.sampled_from([1e-3, 0.1, 1.0]))
    n, seed = draw(_st.integers(2, 5)), draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    params0 = net.init(generator=g)
    params = {
        k: v + scale * torch.randn(v.shape, dtype=v.dtype, generator=g)
        for k, v in params0.items()
    }
    x = torch.randn(n, net.input_dim, dtype=torch.float64, generator=g)
    label = f"{net} moved by {scale} × N(0, 1) noise, x of shape {(n, net.input_dim)}, seed {seed}"
    return Case((net, params, params0, x), label=label)


check_against_reference(
    relative_ntk_change,
    _reference,
    _kernel_cases(),
    name="relative_ntk_change",
    forbid=[deeptheory.observables, deeptheory.experiments.lazy_feature],
    rtol=1e-8,
    max_examples=15,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex6_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Locating the crossover
#
# Train one initialisation at many values of $\alpha$ and measure $\Delta w(\alpha)$: on
# the lazy side it falls as $1/\alpha$, on the feature side it is large. Define the
# crossover $\alpha^*$ as where $\Delta w$ drops below a `level` (1 below: the weights
# moved by as much as their own norm) for the last time. With $k$ the **largest** index
# such that `values[k] >= level`, interpolate linearly in log–log between
# $(\alpha_k, v_k)$ and $(\alpha_{k+1}, v_{k+1})$:
#
# $$\log \alpha^* = \log \alpha_k + \frac{\log \mathrm{level} - \log v_k}
#   {\log v_{k+1} - \log v_k}\,(\log \alpha_{k+1} - \log \alpha_k).$$
#
# `alphas` (A,) is increasing, `values` (A,) positive. Return a 0-d tensor in the dtype of
# `values`; return `torch.tensor(float("nan"), dtype=values.dtype)` if no value is
# `>= level` or if the last one still is (the sweep never reached the lazy side).


# %% nbgrader={"grade": false, "grade_id": "crossover_alpha", "locked": false, "schema_version": 3, "solution": true, "task": false}
def crossover_alpha(alphas, values, *, level):
    """α* where `values` drops below `level` for the last time (log–log interpolation)."""
    ### BEGIN SOLUTION
    above = torch.nonzero(values >= level).flatten()
    if len(above) == 0 or int(above[-1]) == len(values) - 1:
        return torch.tensor(float("nan"), dtype=values.dtype)
    k = int(above[-1])
    la, lv = torch.log(alphas[k : k + 2].to(values.dtype)), torch.log(values[k : k + 2])
    s = (math.log(level) - lv[0]) / (lv[1] - lv[0])
    return torch.exp(la[0] + s * (la[1] - la[0]))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "crossover_alpha_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""An exact 1/α law crosses level 1 at α = 1; a sweep that stays above has none."""
_a = torch.logspace(-2, 2, 9, dtype=torch.float64)
_star = crossover_alpha(_a, 1 / _a, level=1.0)
assert isinstance(_star, torch.Tensor) and _star.shape == (), "return a 0-d tensor"
assert abs(float(_star) - 1.0) < 1e-9, f"1/α = 1 at α = 1; got {float(_star)}"
assert abs(float(crossover_alpha(_a, 3 / _a, level=0.1)) - 30.0) < 1e-8, (
    "3/α = 0.1 at α = 30"
)
assert math.isnan(float(crossover_alpha(_a, 1e3 / _a, level=1.0))), (
    "1000/α stays above 1 on this grid: return nan"
)

# %% nbgrader={"grade": true, "grade_id": "crossover_alpha_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on noisy and non-monotone curves."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import math

import torch
from hypothesis import strategies as _st

import deeptheory.experiments.lazy_feature
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _curves(draw):
    count, seed = draw(_st.integers(2, 8)), draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    steps = 0.1 + torch.rand(count, dtype=torch.float64, generator=g)
    alphas = 10 ** (torch.cumsum(steps, 0) - 3)
    values = 10 ** (6 * torch.rand(count, dtype=torch.float64, generator=g) - 3)
    head, last = float(values[:-1].max()), float(values[-1])
    if last >= head:  # make the last point the smallest: the sweep ends lazy
        values[-1] = last = float(values.min()) / 10
    level = math.sqrt(head * last) * draw(_st.sampled_from([1.0, 0.3, 3.0]))
    level = min(max(level, last * 1.01), head)
    label = f"{count} values of α and of the curve from seed {seed}, level={level:.6g}"
    return Case((alphas, values), dict(level=level), label=label)


check_against_reference(
    crossover_alpha,
    deeptheory.experiments.lazy_feature.crossover_alpha,
    _curves(),
    name="crossover_alpha",
    forbid=[deeptheory.experiments.lazy_feature],
    rtol=1e-9,
    max_examples=30,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### The experiment: one network, α from 10⁻² to 10³
#
# The stripe model of Paccolat et al. (2021, arXiv:2007.11471): $x \sim \mathcal N(0,
# I_5)$, label $-1$ on the stripe $-0.3 < x_1 < 1.18549$ and $+1$ outside. For two widths,
# one initialisation of the paper's softplus network is trained at every $\alpha$ as one
# batched ensemble by the library's adaptive flow on the hinge loss (until every margin
# $yF \ge 1$, or 2000 steps) — your `gradient_descent` does the same thing with small
# fixed steps. Your functions then measure $\Delta w$, $\Delta\Theta$ and the test error,
# and locate $\alpha^*$.
#
# What to look for: the lazy side falls as $1/\alpha$; the curves of the two widths
# nearly coincide (in this convention $\alpha^*$ does not depend on $h$; in the
# article's, $\alpha_a^* = \alpha^*/\sqrt h$); the test error is lower on the feature
# side for this task. With 32 training points the error curves are noisy: rerun with
# other seeds before you believe a difference of a few percent.

# %% nbgrader={"grade": false, "grade_id": "experiment", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

from deeptheory.tasks import Stripe, train_test
from deeptheory.train import TrainConfig, run

_x, _y, _xt, _yt = train_test(Stripe(d=5), 32, 1000, seed_train=1, seed_test=2)
_alphas = torch.logspace(-2, 3, 6, dtype=torch.float64)
_config = TrainConfig(method="flow", loss="hinge", max_dgrad=None, max_steps=2000)
_fig, _axes = plt.subplots(1, 3, figsize=(12, 3.5), layout="constrained")
for _h in (32, 128):
    _net = FCNet(
        input_dim=5,
        width=_h,
        activation="softplus",
        bias_std=1.0,
        parametrization="mean_field",
        readout_bias=False,
    )
    _one = _net.init(generator=torch.Generator().manual_seed(0))
    _start = {k: v.expand(len(_alphas), *v.shape).clone() for k, v in _one.items()}
    _final = run(_net, _start, _x, _y, alpha=_alphas, config=_config)[-1].params
    _dw, _dk, _err = [], [], []
    for _i, _a in enumerate(_alphas):
        _w = FCNet.member(_final, _i)
        _dw.append(float(relative_weight_change(_w, _one)))
        _dk.append(float(relative_ntk_change(_net, _w, _one, _xt[:40])))
        _F = scaled_output(_net(_w, _xt), _net(_one, _xt), float(_a))
        _err.append(float((_yt * _F <= 0).double().mean()))
    _star = float(crossover_alpha(_alphas, torch.tensor(_dw), level=1.0))
    print(f"h = {_h:>3}: α* = {_star:.3g}   Δw: " + " ".join(f"{v:.3g}" for v in _dw))
    for _ax, _v in zip(_axes, (_dw, _dk, _err), strict=True):
        _ax.plot(_alphas, _v, "o-", label=f"h = {_h}")
    _axes[0].axvline(_star, color=_axes[0].lines[-1].get_color(), ls=":")
_axes[0].plot(_alphas[2:], 1 / _alphas[2:], "k--", lw=1, label="1/α")
for _ax, _title in zip(_axes, ("Δw", "ΔΘ (40 test points)", "test error"), strict=True):
    _ax.set_xscale("log")
    _ax.set_yscale("log" if _title != "test error" else "linear")
    _ax.set(xlabel="α", title=_title)
    _ax.legend()

# %% [markdown] nbgrader={"grade": false, "grade_id": "widget_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Explore (not graded)
#
# A network trained on a two-dimensional stripe at each α (the first view of a width
# takes a few seconds). Left: the decision function $F$ and each neuron's kink line;
# right: the compression $\Lambda$ (Homework 3) and the test error across α. Move α from
# 0.01 to 100 and watch the kinks: in the feature regime they turn to face the
# informative direction $x_1$; in the lazy regime they stay where initialisation put
# them. Then change the width: does the crossover move?

# %% nbgrader={"grade": false, "grade_id": "widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
from deeptheory.widgets import stripe_explorer

ui, _ = stripe_explorer()
ui
