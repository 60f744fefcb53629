# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Homework 4 — Saddle-to-saddle dynamics
#
# A deep **linear** network computes a linear map, $A = W_L \cdots W_2 W_1$, so it can only
# represent what one matrix can. Yet training it is a non-convex problem with a rich
# landscape of saddles, and from a small initialisation gradient descent walks from one saddle
# to the next: the loss shows long **plateaus** separated by sudden drops, and at each drop the
# rank of $A$ grows by one. Saxe, McClelland & Ganguli (2014, arXiv:1312.6120) solved the
# two-layer dynamics exactly; Jacot, Ged, Şimşek, Hongler & Gabriel (2021, arXiv:2106.15933)
# describe the small-initialisation limit at any depth as a *saddle-to-saddle* path through
# maps of rank 0, 1, 2, … The same happens, coordinate by coordinate, in **diagonal** linear
# networks, where the path ends at the minimum-$\ell_1$ interpolator (Woodworth et al. 2020,
# arXiv:2002.09277; Pesme, Pillaud-Vivien & Flammarion 2021, arXiv:2106.09524; Pesme &
# Flammarion 2023, arXiv:2304.00488).
#
# You will write the gradient of a deep linear network (1), gradient descent on it (2),
# Saxe's exact solution (3), a plateau detector for loss curves (4), then the implicit bias of
# diagonal networks: the hyperbolic-entropy potential (5) and the interpolator it selects (6).
# The experiment (7) puts them together.
#
# **Conventions** (`deeptheory.linear_nets`). `weights = [W_1, …, W_L]`, a Python list, with
# $W_l$ of shape $(d_l, d_{l-1})$: $d_0$ is the input dimension, $d_L$ the output dimension.
# The target is a matrix $T$ of shape $(d_L, d_0)$ and the loss is
#
# $$\mathcal L(W_1, \dots, W_L) = \tfrac12 \lVert W_L \cdots W_1 - T \rVert_F^2 .$$
#
# With whitened inputs ($\frac1P \sum_\mu x_\mu x_\mu^\top = I$) Saxe's regression loss
# $\frac1{2P}\sum_\mu \lVert y_\mu - A x_\mu \rVert^2$ equals this one with
# $T = \frac1P\sum_\mu y_\mu x_\mu^\top$, up to a constant, so both have the same gradient.
# Gradient flow is $\dot W_l = -\partial\mathcal L/\partial W_l$ (Saxe's time constant
# $\tau = 1$). The weights may carry leading axes, $(\dots, d_l, d_{l-1})$, for an ensemble of
# networks trained together: write everything with `@` and `.mT` (the transpose of the last
# two axes), and it works for both. Everything is float64.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch

import deeptheory

torch.set_num_threads(1)
print("deeptheory", deeptheory.__version__)

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The gradient of a deep linear network
#
# With $A = W_L \cdots W_1$ and the residual $R = A - T$, the chain rule gives, for every
# layer $l = 1, \dots, L$,
#
# $$\frac{\partial \mathcal L}{\partial W_l}
#   = (W_L \cdots W_{l+1})^\top \,(A - T)\, (W_{l-1} \cdots W_1)^\top ,$$
#
# where an empty product is the identity (for $l = L$ the left factor is $I_{d_L}$, for
# $l = 1$ the right one is $I_{d_0}$). Computing each product from scratch costs $O(L^2)$
# matrix products; back-propagation needs $O(L)$: first the prefixes
# $P_l = W_l \cdots W_1$ (so $A = P_L$), then walk down from $l = L$ carrying
# $B_l = (W_L \cdots W_{l+1})^\top (A - T)$, with $B_L = A - T$,
# $\partial\mathcal L/\partial W_l = B_l P_{l-1}^\top$ and $B_{l-1} = W_l^\top B_l$.
# Note the order: $(A - T)$, not $(T - A)$ — this is the gradient, the direction of
# steepest *ascent*.
#
# **`gradients`** takes `weights` $[W_1, \dots, W_L]$ (each `(…, d_l, d_{l-1})`) and `target`
# `(d_L, d_0)` and returns the list $[\partial\mathcal L/\partial W_1, \dots,
# \partial\mathcal L/\partial W_L]$, each of the shape and dtype of its $W_l$. (You may check
# yourself against `torch.autograd`; the grader compares with the library's hand-written
# gradient.)


# %% nbgrader={"grade": false, "grade_id": "gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradients(weights, target):
    """[∂L/∂W_1, …, ∂L/∂W_L] for L = ½‖W_L⋯W_1 − T‖_F², each shaped like its W_l."""
    ### BEGIN SOLUTION
    prefix = [weights[0]]  # prefix[l] = W_{l+1} ⋯ W_1 (0-based l)
    for W in weights[1:]:
        prefix.append(W @ prefix[-1])
    back = prefix[-1] - target  # (W_L ⋯ W_{l+1})ᵀ (A − T), starting at the last layer
    grads = [None] * len(weights)
    for k in range(len(weights) - 1, 0, -1):  # layer k + 1, from the top
        grads[k] = back @ prefix[k - 1].mT
        back = weights[k].mT @ back
    grads[0] = back
    return grads
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gradients_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""One layer: the gradient is W − T; scalars in closed form; three layers against autograd."""
_T = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)
_W = torch.ones(3, 2, dtype=torch.float64)
_G = gradients([_W], _T)
assert isinstance(_G, list) and len(_G) == 1, (
    "return a list with one gradient per layer"
)
assert isinstance(_G[0], torch.Tensor), "each gradient must be a torch.Tensor"
assert _G[0].shape == (3, 2), (
    f"∂L/∂W_1 has the shape of W_1, (3, 2); got {tuple(_G[0].shape)}"
)
assert torch.allclose(_G[0], _W - _T), "with one layer A = W_1 and ∂L/∂W_1 = A − T"
_G = gradients(
    [
        torch.tensor([[2.0]], dtype=torch.float64),
        torch.tensor([[3.0]], dtype=torch.float64),
    ],
    torch.tensor([[1.0]], dtype=torch.float64),
)
assert [float(g) for g in _G] == [15.0, 10.0], (
    "w_1 = 2, w_2 = 3, t = 1: L = ½(w_2 w_1 − t)², so ∂L/∂w_1 = w_2 (w_2 w_1 − t) = 15 and "
    f"∂L/∂w_2 = w_1 (w_2 w_1 − t) = 10; got {[float(g) for g in _G]}"
)
_g = torch.Generator().manual_seed(0)
_ws = [
    torch.randn(4, 3, dtype=torch.float64, generator=_g),
    torch.randn(5, 4, dtype=torch.float64, generator=_g),
    torch.randn(2, 5, dtype=torch.float64, generator=_g),
]
_T = torch.randn(2, 3, dtype=torch.float64, generator=_g)
_leaves = [w.clone().requires_grad_(True) for w in _ws]
(0.5 * (_leaves[2] @ _leaves[1] @ _leaves[0] - _T).square().sum()).backward()
_G = gradients(_ws, _T)
assert [tuple(g.shape) for g in _G] == [(4, 3), (5, 4), (2, 5)], (
    f"gradients of shapes (4, 3), (5, 4), (2, 5) expected; got {[tuple(g.shape) for g in _G]}"
)
for _l in range(3):
    assert torch.allclose(_G[_l], _leaves[_l].grad, rtol=1e-10, atol=1e-12), (
        f"∂L/∂W_{_l + 1} differs from autograd's on a random 3-layer network "
        "(check the order of the products and the transposes)"
    )

# %% nbgrader={"grade": true, "grade_id": "gradients_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference: depths 1 to 4, rectangular layers, ensembles."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.linear_nets
import deeptheory.saxe
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


def _flat(grads, weights):
    shapes = [tuple(w.shape) for w in weights]
    if not isinstance(grads, list | tuple) or len(grads) != len(weights):
        raise TypeError(f"return a list of {len(weights)} tensors, one per layer")
    for i, g in enumerate(grads):
        if not isinstance(g, torch.Tensor) or tuple(g.shape) != shapes[i]:
            got = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise TypeError(
                f"gradient {i + 1} must be a tensor of shape {shapes[i]}; got {got}"
            )
    return torch.cat([g.reshape(-1) for g in grads])


def _student(weights, target):
    return _flat(gradients(weights, target), weights)


def _library(weights, target):
    return _flat(deeptheory.linear_nets.gradients(weights, target), weights)


@_st.composite
def _network_cases(draw):
    depth = draw(_st.integers(1, 4))
    dims = draw(_st.lists(_st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    ensemble = draw(_st.sampled_from([None, None, 2]))
    scale, seed = draw(_st.sampled_from([0.1, 1.0, 2.0])), draw(seeds())
    g = torch.Generator().manual_seed(seed)
    lead = () if ensemble is None else (ensemble,)
    weights = [
        scale
        * torch.randn(*lead, dims[i + 1], dims[i], dtype=torch.float64, generator=g)
        for i in range(depth)
    ]
    target = torch.randn(dims[-1], dims[0], dtype=torch.float64, generator=g)
    what = (
        "one network"
        if ensemble is None
        else f"an ensemble of {ensemble} (leading axis)"
    )
    label = (
        f"depth {depth}, dims (d_0, …, d_L) = {tuple(dims)}, {what}, weights "
        f"N(0, {scale}²) and target N(0, 1) from seed {seed}"
    )
    return Case((weights, target), label=label)


check_against_reference(
    _student,
    _library,
    _network_cases(),
    name="gradients (all layers, flattened)",
    forbid=[deeptheory.linear_nets, deeptheory.saxe],
    max_examples=30,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Gradient descent: the flow, discretised
#
# Gradient flow $\dot W_l = -\partial\mathcal L/\partial W_l$ with a fixed step `lr`:
#
# $$W_l^{(k+1)} = W_l^{(k)} - \mathrm{lr}\; \frac{\partial\mathcal L}{\partial W_l}
#   \big(W_1^{(k)}, \dots, W_L^{(k)}\big), \qquad l = 1, \dots, L, \quad
#   k = 0, \dots, \mathrm{steps} - 1 .$$
#
# All layers move **simultaneously**: every gradient of step $k$ is evaluated at the weights
# of step $k$, before any layer is updated. Step $k$ stands for time $t = k\,\mathrm{lr}$ of
# the flow (the two agree as $\mathrm{lr} \to 0$). Use your `gradients`.
#
# **`gradient_descent`** takes `weights` (a list as above), `target`, `lr` and `steps` (≥ 0)
# and returns the list of weights after `steps` steps: new tensors, each of the shape and
# dtype of its $W_l$; do not modify the tensors you were given. (The library's
# `deeptheory.linear_nets.gradient_descent` also records the loss, the singular values and
# the mode strengths along the way; the grader compares its final weights with yours.)


# %% nbgrader={"grade": false, "grade_id": "gradient_descent", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_descent(weights, target, *, lr, steps):
    """`steps` simultaneous steps W_l ← W_l − lr ∂L/∂W_l; returns the final [W_1, …, W_L]."""
    ### BEGIN SOLUTION
    current = [W.clone() for W in weights]
    for _ in range(steps):
        grads = gradients(current, target)
        current = [W - lr * G for W, G in zip(current, grads, strict=True)]
    return current
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gradient_descent_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Zero steps change nothing; one step by hand; the inputs are untouched; the loss falls."""
_g = torch.Generator().manual_seed(1)
_ws = [
    0.5 * torch.randn(4, 3, dtype=torch.float64, generator=_g),
    0.5 * torch.randn(2, 4, dtype=torch.float64, generator=_g),
]
_T = torch.randn(2, 3, dtype=torch.float64, generator=_g)
_copy = [w.clone() for w in _ws]
_out = gradient_descent(_ws, _T, lr=0.1, steps=0)
assert isinstance(_out, list) and len(_out) == 2, "return a list [W_1, W_2]"
assert all(torch.equal(a, b) for a, b in zip(_out, _ws, strict=True)), (
    "zero steps must return the initial weights"
)
_one = gradient_descent(_ws, _T, lr=0.1, steps=1)
_R = _ws[1] @ _ws[0] - _T
assert torch.allclose(_one[0], _ws[0] - 0.1 * _ws[1].T @ _R), (
    "after one step W_1 = W_1 − lr W_2ᵀ (W_2 W_1 − T)"
)
assert torch.allclose(_one[1], _ws[1] - 0.1 * _R @ _ws[0].T), (
    "after one step W_2 = W_2 − lr (W_2 W_1 − T) W_1ᵀ, with the *old* W_1: the layers "
    "move simultaneously"
)
_many = gradient_descent(_ws, _T, lr=0.05, steps=200)
assert all(torch.equal(a, b) for a, b in zip(_ws, _copy, strict=True)), (
    "do not modify the weights you were given"
)
_loss = lambda ws: float(0.5 * (ws[1] @ ws[0] - _T).square().sum())  # noqa: E731
assert _loss(_many) < 0.5 * _loss(_ws), (
    f"200 steps should reduce the loss a lot: {_loss(_ws):.4f} at the start, "
    f"{_loss(_many):.4f} after"
)

# %% nbgrader={"grade": true, "grade_id": "gradient_descent_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the library's gradient descent: final weights, depths 1 to 3, ensembles."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.linear_nets
import deeptheory.saxe
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


def _flat(final, weights):
    shapes = [tuple(w.shape) for w in weights]
    if not isinstance(final, list | tuple) or len(final) != len(weights):
        raise TypeError(f"return a list of {len(weights)} tensors, one per layer")
    for i, w in enumerate(final):
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != shapes[i]:
            got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            raise TypeError(
                f"W_{i + 1} must be a tensor of shape {shapes[i]}; got {got}"
            )
    return torch.cat([w.reshape(-1) for w in final])


def _student(weights, target, *, lr, steps):
    return _flat(gradient_descent(weights, target, lr=lr, steps=steps), weights)


def _library(weights, target, *, lr, steps):
    run = deeptheory.linear_nets.gradient_descent(
        weights, target, lr=lr, steps=steps, record=[steps]
    )
    return _flat(run.weights, weights)


@_st.composite
def _descent_cases(draw):
    depth = draw(_st.integers(1, 3))
    dims = draw(_st.lists(_st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    ensemble = draw(_st.sampled_from([None, None, 2]))
    scale, seed = draw(_st.sampled_from([0.1, 0.5])), draw(seeds())
    lr, steps = draw(_st.sampled_from([0.01, 0.05])), draw(_st.integers(1, 30))
    g = torch.Generator().manual_seed(seed)
    lead = () if ensemble is None else (ensemble,)
    weights = [
        scale
        * torch.randn(*lead, dims[i + 1], dims[i], dtype=torch.float64, generator=g)
        for i in range(depth)
    ]
    target = torch.randn(dims[-1], dims[0], dtype=torch.float64, generator=g)
    what = (
        "one network"
        if ensemble is None
        else f"an ensemble of {ensemble} (leading axis)"
    )
    label = (
        f"depth {depth}, dims {tuple(dims)}, {what}, weights N(0, {scale}²) and target "
        f"N(0, 1) from seed {seed}, lr={lr}, steps={steps}"
    )
    return Case((weights, target), dict(lr=lr, steps=steps), label=label)


check_against_reference(
    _student,
    _library,
    _descent_cases(),
    name="gradient_descent (final weights, flattened)",
    forbid=[deeptheory.linear_nets, deeptheory.saxe],
    rtol=1e-9,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Saxe's exact solution
#
# Take two layers and the target's singular value decomposition $T = \sum_i s_i\, u_i v_i^\top$.
# Saxe et al. start from a *decoupled, balanced* initialisation,
# $W_1 = R\,\mathrm{diag}(\sqrt{u_0})\, V^\top$, $W_2 = U \mathrm{diag}(\sqrt{u_0}) R^\top$ ($R$
# with orthonormal columns): then $U^\top A V$ stays diagonal and each **mode strength**
# $u = u_i^\top A\, v_i$ evolves on its own. With the balanced factors $a = \sqrt u$ on both
# layers the flow is $\dot a = a\,(s - a^2)$, so
#
# $$\tau\,\frac{du}{dt} = 2u\,(s - u), \qquad
#   u(t) = \frac{s\, e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0}
#        = \frac{s}{1 + (s/u_0 - 1)\, e^{-2st/\tau}}$$
#
# (Saxe et al., eq. 6; here $\tau = 1$ unless given). A logistic curve: the mode sleeps near
# $u_0$, then switches on in a time of order $1/s$ and saturates at $s$. It reaches $s/2$ at
# the **half-learning time** $t_{1/2} = \frac{\tau}{2s} \ln(s/u_0 - 1)$: stronger modes are
# learned first, and a smaller initialisation makes every plateau longer, logarithmically.
#
# **`saxe_mode_strength`** takes tensors `t` (times ≥ 0), `s` (singular values > 0) and `u0`
# (initial strengths, $0 < u_0$) that broadcast together (e.g. `t[:, None]` of shape
# `(T, 1)` against `s` and `u0` of shape `(r,)` give `(T, r)`), and `tau` > 0, and returns
# $u(t)$ with the broadcast shape. It must stay finite at large $t$: $e^{2st}$ overflows
# float64 once $2st \gtrsim 709$, so use the second form, with $e^{-2st/\tau}$.


# %% nbgrader={"grade": false, "grade_id": "saxe_mode_strength", "locked": false, "schema_version": 3, "solution": true, "task": false}
def saxe_mode_strength(t, s, u0, *, tau=1.0):
    """u(t) = s / (1 + (s/u₀ − 1) e^{−2st/τ}), broadcast over t, s, u₀."""
    ### BEGIN SOLUTION
    decay = torch.exp(-2 * s * t / tau)
    return s / (1 + (s / u0 - 1) * decay)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "saxe_mode_strength_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""u(0) = u₀; half the way at t½; the broadcast shape; no overflow at large t."""
_s = torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)
_u0 = torch.tensor([1e-4, 1e-4, 1e-2], dtype=torch.float64)
_t = torch.linspace(0, 10, 6, dtype=torch.float64)
_u = saxe_mode_strength(_t[:, None], _s, _u0)
assert isinstance(_u, torch.Tensor), "return a torch.Tensor"
assert _u.shape == (6, 3), (
    f"t (6, 1) against s and u0 (3,) must give shape (6, 3); got {tuple(_u.shape)}"
)
assert _u.dtype == torch.float64, f"expected float64, got {_u.dtype}"
assert torch.allclose(_u[0], _u0), "at t = 0 every mode has its initial strength u0"
_half = torch.log(_s / _u0 - 1) / (2 * _s)
assert torch.allclose(saxe_mode_strength(_half, _s, _u0), _s / 2), (
    "at t½ = ln(s/u0 − 1)/(2s) the strength is s/2 (t½ = 1.7182 for s = 3, u0 = 1e-4)"
)
assert torch.allclose(saxe_mode_strength(2 * _half, _s, _u0, tau=2.0), _s / 2), (
    "with a time constant τ the whole curve is stretched: u(t; τ) = u(t/τ; 1)"
)
_late = saxe_mode_strength(torch.tensor(1e4, dtype=torch.float64), _s, _u0)
assert bool(torch.isfinite(_late).all()) and torch.allclose(_late, _s), (
    "at t = 1e4 every mode has converged to s; do not compute e^{2st} (it overflows)"
)

# %% nbgrader={"grade": true, "grade_id": "saxe_mode_strength_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference: many modes, initial strengths from 1e-8 to near s, τ ≠ 1."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.saxe
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _mode_cases(draw):
    modes, times, seed = (
        draw(_st.integers(1, 5)),
        draw(_st.integers(1, 8)),
        draw(seeds()),
    )
    horizon, tau = (
        draw(_st.sampled_from([3.0, 30.0, 500.0])),
        draw(_st.sampled_from([1.0, 1.0, 0.5, 2.0])),
    )
    g = torch.Generator().manual_seed(seed)
    s = 10 ** (2 * torch.rand(modes, dtype=torch.float64, generator=g) - 1)
    u0 = s * 10 ** (-8 * torch.rand(modes, dtype=torch.float64, generator=g))
    t = horizon * torch.rand(times, 1, dtype=torch.float64, generator=g)
    label = (
        f"t of shape ({times}, 1) in [0, {horizon}], s and u0 of shape ({modes},) with "
        f"s in [0.1, 10] and u0/s in [1e-8, 1] from seed {seed}, tau={tau}"
    )
    return Case((t, s, u0), dict(tau=tau), label=label)


check_against_reference(
    saxe_mode_strength,
    deeptheory.saxe.saxe_mode_strength,
    _mode_cases(),
    name="saxe_mode_strength",
    forbid=[deeptheory.saxe],
    rtol=1e-9,
    max_examples=30,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Finding the plateaus of a loss curve
#
# From a small random initialisation the loss of a deep linear network stays near the value
# of a saddle for a long time, then drops to the next saddle: on log–log axes the curve is a
# staircase. Each plateau is a saddle where $A$ has rank $k$ and the loss is
# $\frac12\sum_{i > k} s_i^2$ (Jacot et al. 2021). To find them automatically, look for
# stretches where the curve is flat **on log–log axes**. Follow this definition exactly
# (it is the library's, `deeptheory.linear_nets.plateaus`):
#
# 1. Drop the samples with $t \le 0$ (log time); everything below refers to the remaining
#    samples $(t_0, L_0), \dots, (t_{n-1}, L_{n-1})$, numbered from 0.
# 2. Sample $j$ is *alive* if $L_j >$ `floor` $\times \max_i L_i$ (a loss that reached 0, to
#    rounding, is not a plateau).
# 3. Segment $j$ joins samples $j$ and $j + 1$; its slope is
#    $g_j = \dfrac{\ln L_{j+1} - \ln L_j}{\ln t_{j+1} - \ln t_j}$
#    (use $\ln \max(L, 10^{-300})$ so that a zero loss gives no error). It is *flat* if
#    $|g_j| \le$ `max_slope` and both of its samples are alive.
# 4. A *run* is a maximal sequence of consecutive flat segments, from sample $a$ (the first
#    sample of its first segment) to sample $b$ (the last sample of its last segment).
#    Keep only the runs with $t_b / t_a \ge$ `min_ratio`.
# 5. Going through the kept runs in time order, merge a run into the previous plateau if the
#    loss at the end of that plateau is less than $(1 + \text{min\_drop})$ times the loss at
#    the start of the run, $L_{b_\text{prev}} < (1 + \text{min\_drop})\, L_a$ (a wiggle, not
#    a drop); the merged plateau goes from the previous start to this run's end, and can
#    absorb the next run in turn. Otherwise the run starts a new plateau.
# 6. For each plateau from sample $a$ to sample $b$: `start` $= t_a$, `end` $= t_b$,
#    `level` $= \sqrt{L_k L_{k+1}}$ with $k$ the segment of smallest $|g_k|$ among the
#    segments $a, \dots, b - 1$ (those of a merged gap included; the first one if tied),
#    and `closed` $= (b < n - 1)$: the plateau ends with a drop before the end of the record.
#
# **`plateaus`** takes `t` and `loss` of shape `(n,)` ($t$ increasing, the loss positive
# and finite) and returns a tuple `(start, end, level, closed)` of four tensors of shape
# `(K,)`, one entry per plateau in time order: the first three in the dtype of `t` (for
# $K = 0$, too: `torch.tensor([])` would be float32, `t.new_tensor(values)` is not), and
# `closed` of dtype `torch.bool`.


# %% nbgrader={"grade": false, "grade_id": "plateaus", "locked": false, "schema_version": 3, "solution": true, "task": false}
def plateaus(t, loss, *, max_slope=0.25, min_ratio=1.1, min_drop=0.05, floor=1e-8):
    """Flat stretches of the loss on log-log axes: (start, end, level, closed), each (K,)."""
    ### BEGIN SOLUTION
    keep = t > 0
    t, loss = t[keep], loss[keep]
    alive = loss > floor * loss.max()
    x, y = torch.log(t), torch.log(loss.clamp_min(1e-300))
    slope = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
    flat = (slope.abs() <= max_slope) & alive[1:] & alive[:-1]
    runs = []
    for j in range(len(slope)):
        if not flat[j]:
            continue
        if runs and runs[-1][1] == j:
            runs[-1][1] = j + 1
        else:
            runs.append([j, j + 1])
    runs = [[a, b] for a, b in runs if t[b] / t[a] >= min_ratio]
    merged = []
    for a, b in runs:
        if merged and loss[merged[-1][1]] < (1 + min_drop) * loss[a]:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    level = []
    for a, b in merged:
        k = a + int(slope[a:b].abs().argmin())
        level.append(math.sqrt(float(loss[k]) * float(loss[k + 1])))
    start = t.new_tensor([float(t[a]) for a, _ in merged])
    end = t.new_tensor([float(t[b]) for _, b in merged])
    closed = torch.tensor([b < len(t) - 1 for _, b in merged], dtype=torch.bool)
    return start, end, t.new_tensor(level), closed
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "plateaus_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""A two-step staircase by hand; a loss that reaches the floor; t = 0 is ignored."""
_t = torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], dtype=torch.float64)
_L = torch.tensor([1.0, 1.0, 1.0, 0.01, 0.01, 0.01], dtype=torch.float64)
_out = plateaus(_t, _L)
assert isinstance(_out, tuple) and len(_out) == 4, (
    "return a tuple (start, end, level, closed)"
)
_start, _end, _level, _closed = _out
assert all(isinstance(v, torch.Tensor) for v in _out), "return four torch.Tensors"
assert _start.shape == (2,), (
    f"this staircase has 2 plateaus (t = 1…4 and t = 8…32); got {_start.shape[0]}"
)
assert _start.dtype == _end.dtype == _level.dtype == torch.float64, (
    "start, end and level must have the dtype of t (float64)"
)
assert _closed.dtype == torch.bool, f"closed must be torch.bool, got {_closed.dtype}"
assert _start.tolist() == [1.0, 8.0] and _end.tolist() == [4.0, 32.0], (
    f"plateaus from t = 1 to 4 and from 8 to 32; got starts {_start.tolist()}, "
    f"ends {_end.tolist()}"
)
assert torch.allclose(_level, torch.tensor([1.0, 0.01], dtype=torch.float64)), (
    f"levels 1 and 0.01 expected; got {_level.tolist()}"
)
assert _closed.tolist() == [True, False], (
    "the first plateau ends with a drop (closed), the second lasts to the end (open)"
)
_L2 = torch.tensor([1.0, 1.0, 1.0, 1e-12, 1e-12, 1e-12], dtype=torch.float64)
assert plateaus(_t, _L2)[0].tolist() == [1.0], (
    "a loss below floor × max L counts as converged: 1e-12 is not a plateau"
)
_t0 = torch.cat([_t.new_zeros(1), _t])
_L0 = torch.cat([_L.new_full((1,), 50.0), _L])
assert plateaus(_t0, _L0)[0].tolist() == [1.0, 8.0], (
    "samples with t <= 0 must be dropped first (they have no log time)"
)
assert plateaus(_t, torch.tensor([1.0, 0.5, 0.25, 0.1, 0.01, 1e-3]).double())[
    0
].shape == (0,), (
    "a loss that keeps falling steeply has no plateau: return tensors of shape (0,)"
)

# %% nbgrader={"grade": true, "grade_id": "plateaus_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on noisy staircases with spikes, floors and other parameters."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.linear_nets
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _curve_cases(draw):
    seed, n = draw(seeds()), draw(_st.sampled_from([20, 60, 200]))
    drops, sharpness = (
        draw(_st.integers(0, 4)),
        draw(_st.sampled_from([2.0, 6.0, 20.0])),
    )
    noise = draw(_st.sampled_from([0.0, 1e-3, 1e-2]))
    tail = draw(_st.sampled_from([0.0, 1e-3, 1e-12, 1e-12]))
    spikes, from_zero = draw(_st.integers(0, 3)), draw(_st.booleans())
    g = torch.Generator().manual_seed(seed)
    uniform = lambda k: torch.rand(k, dtype=torch.float64, generator=g)  # noqa: E731
    t = torch.logspace(-2, 3, n, dtype=torch.float64)
    if from_zero:
        t[0] = 0.0
    centres = torch.sort(10 ** (3.5 * uniform(drops) - 1)).values
    heights = torch.sort(10 ** (2 * uniform(drops) - 1), descending=True).values
    loss = torch.full_like(t, tail * float(heights.sum()) if drops else 1.0)
    for c, h in zip(centres, heights, strict=True):
        loss = loss + h / (1 + (t / c) ** sharpness)
    for _ in range(spikes):  # one sample too high: steep segments, but no drop
        j = int(torch.randint(1, n - 1, (1,), generator=g))
        loss[j] = loss[j] * (1 + draw(_st.sampled_from([0.5, 1.0])))
    loss = loss * torch.exp(noise * torch.randn(n, dtype=torch.float64, generator=g))
    options = draw(
        _st.sampled_from(
            [
                {},
                dict(max_slope=0.1),
                dict(min_ratio=2.0),
                dict(min_drop=0.5),
                dict(max_slope=0.5, min_drop=0.0),
            ]
        )
    )
    label = (
        f"{n} log-spaced times in [0.01, 1000]{' with t[0] = 0' if from_zero else ''}, "
        f"a loss with {drops} drops of sharpness {sharpness}, final level {tail} × the "
        f"first, {spikes} one-sample spikes, noise {noise}, from seed {seed}; "
        f"{options or 'default parameters'}"
    )
    return Case((t, loss), options, label=label)


def _part(function, fields):
    def part(*args, **kwargs):
        out = function(*args, **kwargs)
        if not (isinstance(out, tuple | list) and len(out) == 4):
            raise TypeError("return a tuple (start, end, level, closed)")
        if not all(isinstance(v, torch.Tensor) for v in out):
            raise TypeError("start, end, level and closed must be torch.Tensors")
        if len(fields) == 1:
            return out[fields[0]]
        return torch.stack([out[i] for i in fields], dim=-1)

    return part


def _reference(t, loss, **options):
    found = deeptheory.linear_nets.plateaus(t, loss, **options)
    return found.start, found.end, found.level, found.closed


for _fields, _name in (
    ((0, 1), "plateaus [checking (start, end)]"),
    ((2,), "plateaus [checking level]"),
    ((3,), "plateaus [checking closed]"),
):
    check_against_reference(
        _part(plateaus, _fields),
        _part(_reference, _fields),
        _curve_cases(),
        name=_name,
        forbid=[deeptheory.linear_nets],
        rtol=1e-9,
        max_examples=30,
    )
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex5_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Diagonal linear networks: the hyperbolic-entropy potential
#
# A diagonal linear network predicts $x \mapsto x^\top \beta$ with $\beta = u \odot v$
# (elementwise), trained on $\mathcal L(\beta) = \frac1{2n}\lVert X\beta - y\rVert^2$, $X$ of
# shape $(n, d)$, from $u_0 = \sqrt2\,\alpha\,\mathbf 1$, $v_0 = 0$: a scale $\alpha > 0$ and
# $\beta_0 = 0$ (the convention of Pesme & Flammarion 2023; `deeptheory.diagonal_nets`, the
# `"uv"` parametrisation). Gradient flow $\dot u = -v \odot \nabla\mathcal L$,
# $\dot v = -u \odot \nabla\mathcal L$ conserves $u_i^2 - v_i^2 = 2\alpha^2$, so
# $u = \sqrt2\alpha\cosh\theta$, $v = \sqrt2\alpha\sinh\theta$ and
#
# $$\beta = \alpha^2 \sinh 2\theta, \qquad \dot\theta = -\nabla\mathcal L(\beta) .$$
#
# This is a **mirror flow**: $\theta = \nabla\phi_\alpha(\beta) = \frac12
# \operatorname{arcsinh}(\beta/\alpha^2)$ moves along $-\nabla\mathcal L$, for the
# hyperbolic-entropy potential (Woodworth et al. 2020)
#
# $$\phi_\alpha(\beta) = k \sum_{i=1}^d \Big[\beta_i \operatorname{arcsinh}\frac{\beta_i}{c}
#   - \sqrt{\beta_i^2 + c^2} + c\Big], \qquad k = \tfrac12,\quad c = \alpha^2 .$$
#
# It interpolates between two norms: $\phi_\alpha(\beta) \approx \ln(1/\alpha)\,\lVert\beta
# \rVert_1$ as $\alpha \to 0$ (the *rich* regime) and $\phi_\alpha(\beta) \approx
# \lVert\beta\rVert_2^2 / (4\alpha^2)$ as $\alpha \to \infty$ (the *kernel* regime).
#
# **`potential`** takes `beta` of shape `(…, d)` and `alpha` > 0 and returns $\phi_\alpha$
# summed over the last axis, shape `(…)`, in the dtype of `beta`. For large $\alpha$ the
# terms $-\sqrt{\beta^2 + c^2} + c$ cancel catastrophically (two numbers of size $c$ whose
# difference is $\approx \beta^2/(2c)$): write them as
# $-\beta^2 / (\sqrt{\beta^2 + c^2} + c)$, which is the same number without the
# cancellation. The grader uses $\alpha$ from $10^{-3}$ to $10^{3}$.


# %% nbgrader={"grade": false, "grade_id": "potential", "locked": false, "schema_version": 3, "solution": true, "task": false}
def potential(beta, *, alpha):
    """φ_α(β) = ½ Σ_i [β_i arcsinh(β_i/α²) − √(β_i² + α⁴) + α²] over the last axis."""
    ### BEGIN SOLUTION
    c = alpha**2
    terms = beta * torch.asinh(beta / c) - beta**2 / (torch.sqrt(beta**2 + c**2) + c)
    return 0.5 * terms.sum(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "potential_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""A closed form at β = α² sinh 1; φ(0) = 0; the kernel limit at large α, to 1e-8."""
_alpha = 0.3
_beta = torch.full((2, 4), _alpha**2 * math.sinh(1.0), dtype=torch.float64)
_beta[1] *= -1
_phi = potential(_beta, alpha=_alpha)
assert isinstance(_phi, torch.Tensor), "return a torch.Tensor"
assert _phi.shape == (2,), (
    f"beta (2, 4) gives one value per row, (2,); got {tuple(_phi.shape)}"
)
assert _phi.dtype == torch.float64, f"expected float64, got {_phi.dtype}"
_exact = 4 * 0.5 * _alpha**2 * (1 - math.exp(-1))
assert torch.allclose(_phi, torch.full((2,), _exact, dtype=torch.float64)), (
    f"with β_i = ±α² sinh 1 each term is ½ α² (sinh 1 − cosh 1 + 1) = ½ α² (1 − 1/e): "
    f"expected {_exact:.6f} for the 4 coordinates, got {_phi.tolist()}"
)
assert float(potential(torch.zeros(3, dtype=torch.float64), alpha=2.0)) == 0.0, (
    "φ_α(0) = 0"
)
_b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
_ratio = float(4 * 1e3**2 * potential(_b, alpha=1e3) / _b.square().sum())
assert abs(_ratio - 1) < 1e-8, (
    f"at α = 1000, 4α² φ_α(β) = ‖β‖² to 1e-8; got the ratio {_ratio:.10f}: write "
    "−√(β² + c²) + c as −β²/(√(β² + c²) + c) to avoid the cancellation"
)

# %% nbgrader={"grade": true, "grade_id": "potential_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, for α from 1e-3 to 1e3 and β of several sizes and shapes."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.diagonal_nets
import deeptheory.implicit_bias
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _potential_cases(draw):
    lead = draw(_st.sampled_from([(), (), (3,), (2, 2)]))
    d, seed = draw(_st.integers(1, 6)), draw(seeds())
    alpha = draw(_st.sampled_from([1e-3, 0.1, 0.5, 1.0, 3.0, 10.0, 1e3]))
    size = draw(_st.sampled_from([1e-3, 1.0, 100.0]))
    g = torch.Generator().manual_seed(seed)
    beta = size * torch.randn(*lead, d, dtype=torch.float64, generator=g)
    label = f"beta of shape {(*lead, d)}, entries {size} × N(0, 1) from seed {seed}, alpha={alpha}"
    return Case((beta,), dict(alpha=alpha), label=label)


def _reference(beta, *, alpha):
    return deeptheory.implicit_bias.potential(beta, alpha=alpha, parametrization="uv")


check_against_reference(
    potential,
    _reference,
    _potential_cases(),
    name="potential",
    forbid=[deeptheory.implicit_bias, deeptheory.diagonal_nets],
    rtol=1e-9,
    max_examples=30,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex6_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Which interpolator? The implicit bias
#
# Take fewer equations than unknowns, $n < d$, with $X$ of full row rank: infinitely many
# $\beta$ interpolate, $X\beta = y$. Which one does the network find? Along the flow
# $\theta(t) = -\int_0^t \nabla\mathcal L = -X^\top \int_0^t r/n$ stays in the row space of
# $X$ (the span of the columns of $X^\top$), so if the flow interpolates at the end,
# $\beta_\infty$ satisfies $\nabla\phi_\alpha(\beta_\infty) \in \operatorname{span}(X^\top)$
# and $X\beta_\infty = y$: the KKT conditions of
#
# $$\beta_\alpha = \operatorname*{argmin}_{\beta}\ \phi_\alpha(\beta) \quad\text{subject to}
#   \quad X\beta = y$$
#
# (Woodworth et al. 2020, Thm. 1). As $\alpha \to 0$, $\beta_\alpha$ tends to the
# minimum-$\ell_1$ interpolator (sparse), as $\alpha \to \infty$ to the minimum-$\ell_2$ one,
# $X^+ y$ (Pesme, Pillaud-Vivien & Flammarion 2021).
#
# **How to compute it.** Write $\nabla\phi_\alpha(\beta) = \frac12\operatorname{arcsinh}
# (\beta/\alpha^2) = X^\top\mu$ for some $\mu \in \mathbb R^n$: then
# $\beta(\mu) = \alpha^2 \sinh(2 X^\top\mu)$, and the constraint leaves $n$ equations for $n$
# unknowns,
#
# $$F(\mu) = X\,\beta(\mu) - y = 0, \qquad
#   J(\mu) = X \operatorname{diag}\!\big(2\alpha^2 \cosh(2X^\top\mu)\big) X^\top
#   \ (\text{positive definite}).$$
#
# Newton's method from $\mu = 0$ converges, provided each step is *damped*: at small $\alpha$
# a full step can overshoot by far (the $\sinh$ grows exponentially), so halve the step until
# $\lVert F\rVert$ decreases. (Equivalently, $\mu$ maximises the concave dual
# $y^\top\mu - \frac{\alpha^2}2\sum_i(\cosh(2(X^\top\mu)_i) - 1)$, and you may hand it to a
# scipy optimiser, or minimise $\phi_\alpha$ under the constraint with
# `scipy.optimize.minimize(method="SLSQP")`: any method that gets there.)
#
# **`implicit_bias`** takes `X` `(n, d)`, `y` `(n,)` and `alpha` and returns $\beta_\alpha$,
# shape `(d,)`, dtype of `X`. It is graded to **1e-5 relative to the largest
# $|\beta_i|$**, for $\alpha$ from 0.05 to 3, $n < d \le 12$: a converged Newton gets
# ~1e-13, but scipy's default tolerances give only ~1e-6 — tighten them (e.g. `gtol`,
# `ftol`) if you use an optimiser.


# %% nbgrader={"grade": false, "grade_id": "implicit_bias", "locked": false, "schema_version": 3, "solution": true, "task": false}
def implicit_bias(X, y, *, alpha):
    """β_α = argmin φ_α(β) subject to Xβ = y: shape (d,)."""
    ### BEGIN SOLUTION
    c = alpha**2

    def beta_of(mu):
        return c * torch.sinh(2 * (X.T @ mu))

    mu = X.new_zeros(X.shape[0])
    F = X @ beta_of(mu) - y
    for _ in range(200):
        if float(F.abs().max()) <= 1e-12 * max(1.0, float(y.abs().max())):
            break
        J = (X * (2 * c * torch.cosh(2 * (X.T @ mu)))) @ X.T
        step = torch.linalg.solve(J, -F)
        size = 1.0
        while size > 1e-12:
            trial = mu + size * step
            F_trial = X @ beta_of(trial) - y
            if bool(torch.isfinite(F_trial).all()) and F_trial.norm() < F.norm():
                break
            size /= 2
        else:
            break  # no decrease left: converged to rounding
        mu, F = trial, F_trial
    return beta_of(mu)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "implicit_bias_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Symmetry; interpolation; ∇φ in the row space of X; between min-ℓ1 and min-ℓ2."""
_beta = implicit_bias(
    torch.tensor([[1.0, 1.0]], dtype=torch.float64),
    torch.tensor([2.0], dtype=torch.float64),
    alpha=0.5,
)
assert isinstance(_beta, torch.Tensor), "return a torch.Tensor"
assert _beta.shape == (2,), (
    f"X (1, 2) gives β of shape (d,) = (2,); got {tuple(_beta.shape)}"
)
assert _beta.dtype == torch.float64, f"expected float64, got {_beta.dtype}"
assert torch.allclose(_beta, torch.ones(2, dtype=torch.float64)), (
    f"β_1 + β_2 = 2 with a symmetric potential: β = (1, 1); got {_beta.tolist()}"
)
_g = torch.Generator().manual_seed(2)
_X = torch.randn(3, 7, dtype=torch.float64, generator=_g)
_y = _X[:, :2] @ torch.tensor([2.0, -1.0], dtype=torch.float64)
for _a in (0.1, 1.0):
    _beta = implicit_bias(_X, _y, alpha=_a)
    assert torch.allclose(_X @ _beta, _y, atol=1e-8), (
        f"α = {_a}: β must interpolate, Xβ = y (residual "
        f"{float((_X @ _beta - _y).abs().max()):.2e})"
    )
    _theta = 0.5 * torch.asinh(_beta / _a**2)
    _Q = torch.linalg.qr(_X.T)[0]  # orthonormal basis of the row space of X
    _outside = _theta - _Q @ (_Q.T @ _theta)
    assert float(_outside.abs().max()) < 1e-6 * max(1.0, float(_theta.abs().max())), (
        f"α = {_a}: ∇φ_α(β) = ½ arcsinh(β/α²) must lie in the row space of X (the "
        "optimality condition); it does not"
    )
_l2 = torch.linalg.pinv(_X) @ _y
_big = implicit_bias(_X, _y, alpha=3.0)
assert float((_big - _l2).norm()) < 0.05 * float(_l2.norm()), (
    "at α = 3 β_α is close to the minimum-ℓ2 interpolator X⁺y"
)
_small = implicit_bias(_X, _y, alpha=0.05)
assert float(_small.abs().sum()) < float(_l2.abs().sum()), (
    "at α = 0.05 β_α has a smaller ℓ1 norm than the minimum-ℓ2 interpolator"
)

# %% nbgrader={"grade": true, "grade_id": "implicit_bias_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference (Newton on the dual), to 1e-5, sparse and dense targets."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.diagonal_nets
import deeptheory.implicit_bias
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _regression_cases(draw):
    n = draw(_st.integers(1, 6))
    d, seed = draw(_st.integers(n + 2, n + 6)), draw(seeds())
    alpha = draw(_st.sampled_from([0.05, 0.1, 0.3, 0.5, 2.0, 3.0]))
    sparse = draw(_st.booleans())
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, dtype=torch.float64, generator=g)
    if sparse:
        beta_star = torch.zeros(d, dtype=torch.float64)
        beta_star[: min(n, 2)] = torch.tensor([2.0, -1.0], dtype=torch.float64)[
            : min(n, 2)
        ]
        y = X @ beta_star
    else:
        y = torch.randn(n, dtype=torch.float64, generator=g)
    what = "y = X β* with β* = (2, −1, 0, …)" if sparse else "y ~ N(0, 1)"
    label = f"X ({n}, {d}) ~ N(0, 1) and {what}, from seed {seed}, alpha={alpha}"
    return Case((X, y), dict(alpha=alpha), label=label)


def _reference(X, y, *, alpha):
    return deeptheory.implicit_bias.implicit_bias(
        X, y, alpha=alpha, parametrization="uv"
    )


check_against_reference(
    implicit_bias,
    _reference,
    _regression_cases(),
    name="implicit_bias",
    forbid=[deeptheory.implicit_bias, deeptheory.diagonal_nets],
    rtol=1e-5,
    atol=0.0,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7. The experiment: from saddle to saddle
#
# **Deep linear networks.** A target $T = U \operatorname{diag}(4, 1.5, 0.5) V^\top$ in a
# random basis of $\mathbb R^5$ (rank 3), learned by a two-layer network (width 10, entries
# $\mathcal N(0, \sigma^2)$ with $\sigma = 10^{-6}$) and by a three-layer one ($\sigma = 0.02$),
# both by your `gradient_descent` with $\mathrm{lr} = 0.01$, run in chunks so that the loss
# can be recorded at log-spaced times. Your `plateaus` finds the staircase; the rank of $A$
# on each plateau (`deeptheory.linear_nets.rank_at_plateaus`, singular values above 10 % of
# the largest) should read 0, 1, 2. The dashed lines are the saddle levels
# $\frac12\sum_{i>k} s_i^2$.
#
# Middle panel: the mode strengths $u_i = u_i^\top A v_i$ of the two-layer network against
# your `saxe_mode_strength`. A random initialisation is not Saxe's decoupled one, but near the
# origin the dynamics is linear and each mode escapes like Saxe's solution from an
# *effective* strength $u_{0,i}$: the part of the initial weights along that mode, minus what
# the stronger modes already took (`deeptheory.saxe.effective_strengths`). Right panel: the
# singular values of $A$ for the three-layer network: at depth $L \ge 3$ the escape time
# grows like a power of $1/\sigma$ instead of a logarithm (Jacot et al. 2021), and the
# modes still switch on one at a time, strongest first.
#
# **Diagonal networks.** $n = 15$ observations of a 3-sparse $\beta^*$ in dimension
# $d = 30$. Left: the flow (`deeptheory.diagonal_nets.mirror_flow`) at $\alpha = 10^{-6}$ in
# the accelerated time $\tilde t = t / \ln(1/\alpha)$: the coordinates switch on one at a
# time and the path visits the saddles of Pesme & Flammarion's limiting process (dotted,
# `deeptheory.diagonal_nets.limiting_process`) before it lands on min-$\ell_1$. Right: your
# `implicit_bias` across $\alpha$, its distance to the minimum-$\ell_1$ and the
# minimum-$\ell_2$ interpolators, and your `potential` checking that the flow's end point is
# the minimiser it should be.

# %% nbgrader={"grade": false, "grade_id": "experiment_linear", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
import numpy as np

from deeptheory.linear_nets import (
    Plateaus,
    end_to_end,
    init_linear,
    mode_strengths,
    rank_at_plateaus,
    switch_on_times,
)
from deeptheory.saxe import effective_strengths

_g = torch.Generator().manual_seed(0)
_d, _s = 5, torch.tensor([4.0, 1.5, 0.5], dtype=torch.float64)
_U = torch.linalg.qr(torch.randn(_d, 3, dtype=torch.float64, generator=_g))[0]
_V = torch.linalg.qr(torch.randn(_d, 3, dtype=torch.float64, generator=_g))[0]
_T = (_U * _s) @ _V.T
_saddles = [0.5 * float(_s[k:].square().sum()) for k in range(3)]


def _train(weights, *, lr, steps, points=120):
    """Your gradient descent, recorded at log-spaced steps: times (T,), products (T, d, d)."""
    marks = np.unique(np.geomspace(1, steps, points).round().astype(int))
    products, done = [end_to_end(weights)], 0
    for k in marks:
        weights = gradient_descent(weights, _T, lr=lr, steps=int(k) - done)
        products.append(end_to_end(weights))
        done = int(k)
        if not bool(torch.isfinite(products[-1]).all()):
            raise FloatingPointError(
                f"your gradient_descent diverged by step {done}: check exercises 1 and 2"
            )
    return lr * torch.tensor([0, *marks], dtype=torch.float64), torch.stack(products)


_runs = {}
for _depth, _scale, _steps in ((2, 1e-6, 4000), (3, 0.02, 7000)):
    _w0 = init_linear(
        [_d, *[10] * (_depth - 1), _d],
        scale=_scale,
        generator=torch.Generator().manual_seed(1),
    )
    _t, _A = _train(_w0, lr=0.01, steps=_steps)
    _loss = 0.5 * (_A - _T).square().sum(dim=(-2, -1))
    _found = plateaus(_t, _loss)
    _ranks = rank_at_plateaus(Plateaus(*_found), _t, torch.linalg.svdvals(_A))
    _runs[_depth] = (_w0, _t, _A, _loss, _found)
    print(
        f"depth {_depth}, σ = {_scale:g}: {len(_found[0])} plateaus, rank of A on each "
        f"{_ranks.tolist()}, levels "
        + ", ".join(f"{float(v):.3g}" for v in _found[2])
        + f" (saddles {', '.join(f'{v:.3g}' for v in _saddles)})"
    )

_w0, _t, _A, _, _ = _runs[2]
_u0 = effective_strengths(_w0, _T)
_measured = switch_on_times(_t, mode_strengths(_A, _T), _s)
_predicted = torch.log(_s / _u0 - 1) / (2 * _s)
print(
    "depth 2, half-learning times: measured "
    + ", ".join(f"{float(v):.3f}" for v in _measured)
    + " vs Saxe "
    + ", ".join(f"{float(v):.3f}" for v in _predicted)
    + " (gradient descent with lr = 0.01 runs a little behind the flow)"
)

_fig, _axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
for _depth, (_, _t, _, _loss, _found) in _runs.items():
    (_line,) = _axes[0].loglog(_t[1:], _loss[1:], label=f"depth {_depth}")
    _axes[0].hlines(
        _found[2], _found[0], _found[1], color=_line.get_color(), lw=8, alpha=0.3
    )
for _v in _saddles:
    _axes[0].axhline(_v, color="k", ls="--", lw=0.8)
_axes[0].set(
    xlabel="t = lr × step", ylabel="loss", title="loss, and the plateaus found (bands)"
)
_axes[0].legend()
_, _t, _A, _, _ = _runs[2]
_saxe = saxe_mode_strength(_t[:, None], _s, _u0)
for _i in range(3):
    (_line,) = _axes[1].plot(
        _t, mode_strengths(_A, _T)[:, _i], label=f"s = {float(_s[_i]):g}"
    )
    _axes[1].plot(_t, _saxe[:, _i], "k:", lw=1.5)
_axes[1].set(xlabel="t", ylabel="u_i = u_iᵀ A v_i", title="depth 2 vs Saxe (dotted)")
_axes[1].legend()
_, _t, _A, _, _ = _runs[3]
_axes[2].semilogx(_t[1:], torch.linalg.svdvals(_A[1:]))
for _v in _s:
    _axes[2].axhline(float(_v), color="k", ls="--", lw=0.8)
_axes[2].set(xlabel="t", ylabel="singular values of A", title="depth 3, σ = 0.02")

# %% nbgrader={"grade": false, "grade_id": "experiment_diagonal", "locked": true, "schema_version": 3, "solution": false, "task": false}
from deeptheory.diagonal_nets import limiting_process, mirror_flow
from deeptheory.implicit_bias import min_l1, min_l2

_g = torch.Generator().manual_seed(4)
_n, _dd = 15, 30
_X = torch.randn(_n, _dd, dtype=torch.float64, generator=_g)
_beta_star = torch.zeros(_dd, dtype=torch.float64)
_beta_star[:3] = torch.tensor([2.0, -1.5, 1.0], dtype=torch.float64)
_y = _X @ _beta_star
_l1, _l2 = min_l1(_X, _y), min_l2(_X, _y)
_process = limiting_process(_X, _y)
_alpha = 1e-6
_log = math.log(1 / _alpha)
_tt = torch.linspace(0, 1.5 * float(_process.times[-1]), 300, dtype=torch.float64)
_traj = mirror_flow(_X, _y, alpha=_alpha, times=_tt * _log)
_mine = implicit_bias(_X, _y, alpha=0.5)
_flow_end = mirror_flow(
    _X, _y, alpha=0.5, times=torch.tensor([0.0, 200.0], dtype=torch.float64)
).beta[-1]
print(
    f"α = 0.5: |flow end − your implicit_bias| = {float((_flow_end - _mine).abs().max()):.1e}; "
    f"φ_α at the flow's end {float(potential(_flow_end, alpha=0.5)):.6f}, at min-ℓ2 "
    f"{float(potential(_l2, alpha=0.5)):.6f}, at min-ℓ1 {float(potential(_l1, alpha=0.5)):.6f}"
)
_alphas = 10 ** torch.linspace(-4, 0.5, 13, dtype=torch.float64)
_biases = torch.stack([implicit_bias(_X, _y, alpha=float(a)) for a in _alphas])
print(
    "limiting process: coordinate "
    + ", ".join(
        f"{a[0]} at t̃ = {float(v):.3f}"
        for a, v in zip(_process.activated[1:], _process.times[1:], strict=True)
    )
    + f"; its last saddle is min-ℓ1 to {float((_process.saddles[-1] - _l1).norm()):.0e}, "
    f"and min-ℓ1 = β* to {float((_l1 - _beta_star).norm()):.0e}"
)

_fig, (_ax, _bx) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
_active = sorted({i for k in range(len(_process.times)) for i in _process.support(k)})
for _i in _active:
    (_line,) = _ax.plot(_tt, _traj.beta[:, _i], label=f"β_{_i}")
    _ax.step(
        _process.times,
        _process.saddles[:, _i],
        where="post",
        color=_line.get_color(),
        ls=":",
    )
_ax.set(
    xlabel="t̃ = t / ln(1/α)",
    ylabel="β_i",
    title=f"diagonal net, α = {_alpha:g}: flow (solid), limit (dotted)",
)
_ax.legend(fontsize=8)
_bx.loglog(_alphas, (_biases - _l1).norm(dim=-1), "o-", label="‖β_α − min-ℓ1‖")
_bx.loglog(_alphas, (_biases - _l2).norm(dim=-1), "s-", label="‖β_α − min-ℓ2‖")
_bx.set(xlabel="α", ylabel="distance", title="your implicit_bias across α")
_bx.legend()

# %% [markdown] nbgrader={"grade": false, "grade_id": "questions", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### To think about (not graded)
#
# * Halve $\sigma$ for the two-layer network: by how much does each plateau get longer?
#   Do the same at depth 3. Which law do you see, $\ln(1/\sigma)$ or $\sigma^{-1}$?
# * The plateaus sit at the loss of the best rank-$k$ approximation of $T$ (Eckart–Young).
#   Why is the saddle at rank $k$ a saddle and not a minimum? Which direction leads down?
# * Change `lr` in the depth-2 run: which way do the measured half-learning times move?
#   Why does gradient descent lag behind the flow by a fraction of about
#   $\mathrm{lr}\cdot s/2$ of $t_{1/2}$ (compare $(1 + \mathrm{lr}\,s)^2$ with
#   $e^{2\,\mathrm{lr}\,s}$)?
# * In the diagonal network, a smaller $\alpha$ gives a sparser $\beta_\alpha$ but a longer
#   training (each plateau lasts $\propto \ln(1/\alpha)$). Where is the catch if the true
#   $\beta^*$ is not sparse?

# %% [markdown] nbgrader={"grade": false, "grade_id": "widget_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Explore (not graded)
#
# A deep linear network learning a target of distinct singular values: move the
# initialisation scale and the depth, and watch the loss curve and the singular values of
# $A$ over time. Small scales make long plateaus and a clean staircase, one singular value
# at a time; large scales learn all modes together, in the lazy way. At depth 2 the plateaus
# grow like $\ln(1/\sigma)$, at depth 3 and more like a power of $1/\sigma$.

# %% nbgrader={"grade": false, "grade_id": "widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
from deeptheory.widgets import linear_explorer

ui, _ = linear_explorer()
ui
