# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Homework 3 — Geometric compression of invariant manifolds
#
# Many tasks depend on few directions of their input. In the **stripe model** of Paccolat,
# Petrini, Geiger, Tyloo & Wyart ("Geometric compression of invariant manifolds in neural
# networks", J. Stat. Mech. (2021) 044001, arXiv:2007.11471) the inputs are Gaussian,
# $x \sim \mathcal N(0, I_d)$, and the label depends on $x_1$ alone: $d_\parallel = 1$
# informative direction, $d_\perp = d - 1$ useless ones. The network has one hidden layer of
# $h$ ReLU neurons with biases and a mean-field readout,
#
# $$f(x) = \frac1h \sum_{n=1}^h \beta_n\, \mathrm{relu}\!\Big(\frac{w_n\cdot x}{\sqrt d} + b_n\Big),
#   \qquad w_n, b_n, \beta_n \sim \mathcal N(0, 1),$$
#
# and is trained in the α-scaled convention of Geiger, Spigler, Jacot & Wyart (2020,
# arXiv:1906.08034), the code convention of `deeptheory.alpha`:
#
# $$F(x) = \alpha\,\big(f(x) - f_0(x)\big), \qquad
#   \mathcal L = \frac{1}{\alpha p} \sum_{\mu=1}^p l\big(y_\mu F(x_\mu)\big), \qquad
#   \dot w = -\nabla_w \mathcal L, \qquad l(z) = \max(0, 1 - z).$$
#
# For $\alpha \gg 1$ the weights barely move and the network is a kernel machine with its
# neural tangent kernel at initialisation $\Theta_0$ (Jacot, Gabriel & Hongler 2018,
# arXiv:1806.07572): the **lazy** regime. For $\alpha \ll 1$ the weights must move by
# $O(1)$ or more: the **feature** regime. There, Paccolat et al. show that the first-layer
# weights align with the informative direction — the network *compresses* the
# $d_\perp$ invariant directions by a factor $\Lambda \sim \sqrt p$ — that the ReLU kinks
# collapse onto a few points of the informative axis, and that the NTK at the end of
# training is a better kernel than the one at the start.
#
# You will write the pieces of that experiment: the data (1), the compression $\Lambda$
# (2), the kinks (3), a kernel machine (4) and a spectral diagnostic of a kernel (5), then
# run it in both regimes (6). Everything is float64 and batch-first: inputs `(n, d)`,
# first-layer weights `(h, d)`, with an optional leading ensemble axis `E`.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch

import deeptheory
from deeptheory import FCNet

torch.set_num_threads(1)
print("deeptheory", deeptheory.__version__)

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The stripe model
#
# Interfaces $c_1 < c_2 < \dots < c_m$ cut the $x_1$ axis into regions of alternating
# label, starting with $y = +1$ on the left:
#
# $$y(x) = (-1)^{\#\{i\,:\, x_1 > c_i\}} .$$
#
# The authors' single stripe is $m = 2$, $c = (-0.3,\ 1.18549\ldots)$ (`y = −1` inside,
# chosen so that both labels have probability exactly 1/2;
# `deeptheory.tasks.STRIPE_INTERFACES`). Optionally the perpendicular coordinates are
# stretched *after* labelling, $x_\perp \to s\, x_\perp$ (the authors'
# `x[:, d_par:] *= stretching`): the labels do not change, the geometry does.
#
# **`stripe_sample`** returns `(x, y)`, shapes `(n, d)` and `(n,)`, both float64, labels
# $\pm 1$. Follow this protocol exactly, so that your points are the grader's:
#
# ```python
# x = torch.randn(n, d, generator=generator, dtype=torch.float64)  # one call, nothing else random
# y = ...                                                            # from x₁ = x[:, 0]
# x[:, 1:] *= stretch                                                # after labelling
# ```
#
# (Draw training and test sets from two separately seeded generators.)


# %% nbgrader={"grade": false, "grade_id": "stripe_sample", "locked": false, "schema_version": 3, "solution": true, "task": false}
def stripe_sample(n, d, *, interfaces, stretch, generator):
    """n points of the stripe model: x (n, d) and labels y = ±1 (n,), float64."""
    ### BEGIN SOLUTION
    x = torch.randn(n, d, generator=generator, dtype=torch.float64)
    crossed = (x[:, :1] > torch.tensor(interfaces, dtype=x.dtype)).sum(dim=1)
    y = 1.0 - 2.0 * (crossed % 2).to(x.dtype)
    x[:, 1:] *= stretch
    return x, y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "stripe_sample_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Types and shapes; one interface at 0; stretch; the generator protocol."""
_out = stripe_sample(
    500, 3, interfaces=(0.0,), stretch=1.0, generator=torch.Generator().manual_seed(0)
)
assert isinstance(_out, tuple) and len(_out) == 2, "return a tuple (x, y)"
_x, _y = _out
assert isinstance(_x, torch.Tensor) and isinstance(_y, torch.Tensor), (
    "x and y must be torch.Tensors"
)
assert _x.shape == (500, 3) and _y.shape == (500,), (
    f"expected shapes (500, 3) and (500,), got {tuple(_x.shape)} and {tuple(_y.shape)}"
)
assert _x.dtype == torch.float64 and _y.dtype == torch.float64, (
    f"x and y must be float64, got {_x.dtype} and {_y.dtype}"
)
_draw = torch.randn(
    500, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64
)
assert torch.equal(_x, _draw), (
    "with stretch = 1, x must be exactly "
    "torch.randn(n, d, generator=generator, dtype=torch.float64)"
)
assert torch.equal(_y, torch.where(_x[:, 0] > 0, -1.0, 1.0).double()), (
    "with one interface at 0 the label is +1 for x₁ < 0 and −1 for x₁ > 0 "
    "(x₁ is x[:, 0])"
)
_x3, _y3 = stripe_sample(
    500, 3, interfaces=(0.0,), stretch=3.0, generator=torch.Generator().manual_seed(0)
)
assert torch.equal(_y3, _y), "stretching must not change the labels"
assert torch.allclose(_x3[:, 0], _x[:, 0]) and torch.allclose(
    _x3[:, 1:], 3.0 * _x[:, 1:]
), "stretch multiplies x₂ … x_d (x[:, 1:]) and leaves x₁ alone"

# %% nbgrader={"grade": true, "grade_id": "stripe_sample_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, for several interfaces, stretches, sizes and seeds."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.tasks
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _stripe_cases(draw):
    n, d = draw(_st.integers(1, 12)), draw(_st.integers(1, 5))
    cuts = _st.lists(_st.integers(-15, 15), min_size=1, max_size=4, unique=True)
    interfaces = draw(
        _st.one_of(
            _st.just(deeptheory.tasks.STRIPE_INTERFACES),
            cuts.map(lambda c: tuple(v / 10 for v in sorted(c))),
        )
    )
    stretch, seed = draw(_st.sampled_from([1.0, 3.0, 0.5])), draw(seeds())
    options = dict(interfaces=interfaces, stretch=stretch)
    label = f"n={n}, d={d}, {options}, generator seeded with {seed}"
    generator = torch.Generator().manual_seed(seed)
    return Case((n, d), dict(options, generator=generator), label=label)


def _stripe_reference(n, d, *, interfaces, stretch, generator):
    task = deeptheory.tasks.Stripe(d=d, interfaces=interfaces, stretch=stretch)
    return task.sample(n, generator=generator)


def _part(function, index):
    def part(*args, **kwargs):
        out = function(*args, **kwargs)
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise TypeError(f"return a tuple (x, y), not {type(out).__name__}")
        return out[index]

    return part


for _index, _name in (
    (0, "stripe_sample [checking x]"),
    (1, "stripe_sample [checking y]"),
):
    check_against_reference(
        _part(stripe_sample, _index),
        _part(_stripe_reference, _index),
        _stripe_cases(),
        name=_name,
        forbid=[deeptheory.tasks],
    )
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The compression $\Lambda$
#
# How much do the first-layer weights $w_n \in \mathbb R^d$ still look at the
# perpendicular directions? Compare the mean square of their informative components
# (the first $d_\parallel$) with that of the others, **per component**:
#
# $$\Lambda = \sqrt{\frac{\langle w_\parallel^2\rangle}{\langle w_\perp^2\rangle}}, \qquad
#   \langle w_\parallel^2\rangle = \frac{1}{h\, d_\parallel} \sum_{n=1}^h \sum_{i \le d_\parallel} w_{n,i}^2,
#   \qquad
#   \langle w_\perp^2\rangle = \frac{1}{h\, (d - d_\parallel)} \sum_{n=1}^h \sum_{i > d_\parallel} w_{n,i}^2 .$$
#
# With i.i.d. weights (at initialisation) $\Lambda \approx 1$; in the feature regime
# Paccolat et al. predict $\Lambda \sim \sqrt p$ (the perpendicular components only grow
# from the $O(p^{-1/2})$ fluctuations of the training set), while in the lazy regime
# $\Lambda$ stays at 1. This is the normalisation of the paper's animations. (The authors'
# code *sums* over the $d - 1$ perpendicular components instead, so its $\Lambda(0) \approx
# 1/\sqrt{d-1}$: not what is asked here.)
#
# **`compression`** takes weights `(h, d)` and returns a 0-d tensor, or `(E, h, d)` and
# returns `(E,)`: one $\Lambda$ per network. Keep the dtype of `weights`; $1 \le
# d_\parallel < d$.


# %% nbgrader={"grade": false, "grade_id": "compression", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compression(weights, *, d_par=1):
    """Λ = √(⟨w_∥²⟩/⟨w_⊥²⟩), per-component averages: (h, d) → (), (E, h, d) → (E,)."""
    ### BEGIN SOLUTION
    sq = weights**2
    par = sq[..., :d_par].mean(dim=(-1, -2))
    perp = sq[..., d_par:].mean(dim=(-1, -2))
    return torch.sqrt(par / perp)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "compression_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Closed forms: equal components give 1, a parallel component 3 times larger gives 3."""
_w = torch.ones(4, 11, dtype=torch.float64)
_lam = compression(_w)
assert isinstance(_lam, torch.Tensor), "return a torch.Tensor"
assert _lam.shape == (), (
    f"weights (h, d) give a 0-d tensor, got shape {tuple(_lam.shape)}"
)
assert _lam.dtype == torch.float64, f"expected float64, got {_lam.dtype}"
assert abs(float(_lam) - 1.0) < 1e-12, (
    f"equal weights on every component give Λ = 1, got {float(_lam):.4f}: average over "
    "the perpendicular components (a sum gives 1/√10 here)"
)
_w[:, 0] = 3.0
assert abs(float(compression(_w)) - 3.0) < 1e-12, (
    "w_∥ = 3 and w_⊥ = 1 on every neuron give Λ = √(9/1) = 3"
)
_w2 = torch.ones(2, 4, 11, dtype=torch.float64)
_w2[1, :, :2] = 2.0
_lam2 = compression(_w2, d_par=2)
assert _lam2.shape == (2,), (
    f"weights (E, h, d) give one Λ per network, shape (E,); got {tuple(_lam2.shape)}"
)
assert torch.allclose(_lam2, torch.tensor([1.0, 2.0], dtype=torch.float64)), (
    "with d_par = 2 the first two components are the parallel ones"
)

# %% nbgrader={"grade": true, "grade_id": "compression_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on single networks and ensembles, for several d and d_par."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.observables
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _weight_cases(draw):
    ensemble = draw(_st.sampled_from([None, 1, 3]))
    h, d_par = draw(_st.integers(1, 8)), draw(_st.integers(1, 3))
    d = draw(_st.integers(d_par + 1, d_par + 4))
    factor, seed = draw(_st.sampled_from([1.0, 5.0, 0.3])), draw(seeds())
    lead = () if ensemble is None else (ensemble,)
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(*lead, h, d, generator=g, dtype=torch.float64)
    weights[..., :d_par] *= factor
    kwargs = {} if d_par == 1 and draw(_st.booleans()) else dict(d_par=d_par)
    label = (
        f"weights of shape {tuple(weights.shape)} from seed {seed}, the first {d_par} "
        f"column(s) times {factor}, {kwargs or 'd_par left at its default'}"
    )
    return Case((weights,), kwargs, label=label)


check_against_reference(
    compression,
    deeptheory.observables.compression,
    _weight_cases(),
    name="compression",
    forbid=[deeptheory.observables],
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. Where the neurons bend: kink points
#
# Neuron $n$ of an `FCNet` hidden layer computes $\mathrm{relu}(c\, w_n\cdot x + \sigma_b
# b_n)$ with $c$ = `net.scale(0)` ($1/\sqrt d$ here) and $\sigma_b$ = `net.bias_std`. It
# bends on the hyperplane $c\, w_n\cdot x + \sigma_b b_n = 0$, whose point closest to the
# origin is
#
# $$x^*_n = -\frac{\sigma_b\, b_n}{c\, \lVert w_n\rVert^2}\, w_n .$$
#
# In the feature regime on the stripe model the kinks of the neurons that matter (large
# $|\beta_n|$) collapse onto a few fixed points on the $x_1$ axis, in and around the
# stripe (Paccolat et al., animations of the compressing regime): the network carves the
# stripe with a few parallel planes. The label flips where $F$ changes sign, which need
# not be at a kink: $F$ is a sum of ReLUs, without readout bias. In the lazy regime the
# kinks stay where the initialisation put them.
#
# **`kink_points`** takes `weights` `(h, d)` and `bias` `(h,)` (or `(E, h, d)` and `(E, h)`)
# and returns $x^*$, `(h, d)` (or `(E, h, d)`), in the dtype of `weights`.


# %% nbgrader={"grade": false, "grade_id": "kink_points", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kink_points(weights, bias, *, input_scale, bias_scale):
    """x*_n = −σ_b b_n w_n / (c ‖w_n‖²) for each neuron: (…, h, d)."""
    ### BEGIN SOLUTION
    norm2 = (weights**2).sum(dim=-1, keepdim=True)
    return -bias_scale * bias[..., None] * weights / (input_scale * norm2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "kink_points_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""One neuron 2x₁ + 1 in closed form; random neurons: on the hyperplane, along w."""
_k = kink_points(
    torch.tensor([[2.0, 0.0]], dtype=torch.float64),
    torch.tensor([1.0], dtype=torch.float64),
    input_scale=1.0,
    bias_scale=1.0,
)
assert isinstance(_k, torch.Tensor), "return a torch.Tensor"
assert _k.shape == (1, 2), f"expected shape (h, d) = (1, 2), got {tuple(_k.shape)}"
assert _k.dtype == torch.float64, f"expected float64, got {_k.dtype}"
assert torch.allclose(_k, torch.tensor([[-0.5, 0.0]], dtype=torch.float64)), (
    "relu(2 x₁ + 1) bends at x₁ = −0.5: the closest point is (−0.5, 0)"
)
_g = torch.Generator().manual_seed(4)
_w = torch.randn(2, 5, 3, generator=_g, dtype=torch.float64)
_b = torch.randn(2, 5, generator=_g, dtype=torch.float64)
_k = kink_points(_w, _b, input_scale=3**-0.5, bias_scale=0.7)
assert _k.shape == (2, 5, 3), (
    f"expected shape (E, h, d) = (2, 5, 3), got {tuple(_k.shape)}"
)
_on_plane = 3**-0.5 * (_w * _k).sum(-1) + 0.7 * _b
assert bool((_on_plane.abs() < 1e-10).all()), (
    "each x*_n must lie on its neuron's hyperplane c w_n·x + σ_b b_n = 0"
)
_along = _k - ((_k * _w).sum(-1, keepdim=True) / (_w**2).sum(-1, keepdim=True)) * _w
assert bool((_along.abs() < 1e-10).all()), (
    "the point of a hyperplane closest to the origin is along its normal w_n"
)

# %% nbgrader={"grade": true, "grade_id": "kink_points_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, for several scales, shapes and ensembles."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import math

import torch
from hypothesis import strategies as _st

import deeptheory.observables
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _kink_cases(draw):
    ensemble = draw(_st.sampled_from([None, 1, 3]))
    h, d, seed = draw(_st.integers(1, 6)), draw(_st.integers(1, 5)), draw(seeds())
    input_scale = draw(_st.sampled_from([1 / math.sqrt(d), 0.5, 2.0]))
    bias_scale = draw(_st.sampled_from([1.0, 0.1, 3.0]))
    lead = () if ensemble is None else (ensemble,)
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(*lead, h, d, generator=g, dtype=torch.float64)
    bias = torch.randn(*lead, h, generator=g, dtype=torch.float64)
    options = dict(input_scale=input_scale, bias_scale=bias_scale)
    label = (
        f"weights {tuple(weights.shape)} and bias {tuple(bias.shape)} from seed {seed}, "
        f"{options}"
    )
    return Case((weights, bias), options, label=label)


check_against_reference(
    kink_points,
    deeptheory.observables.kink_points,
    _kink_cases(),
    name="kink_points",
    forbid=[deeptheory.observables],
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. A kernel machine: kernel ridge regression
#
# To ask "is this NTK a good kernel?" we need a kernel machine. Given the $(p, p)$ Gram
# matrix $K_{\mu\nu} = K(x_\mu, x_\nu)$ of the training points, labels $y \in \{\pm1\}^p$
# and a ridge $\lambda > 0$, kernel ridge regression predicts $F(x) = \sum_\nu
# K(x, x_\nu)\, c_\nu$ with the dual coefficients that minimise
# $\frac1p \sum_\mu (y_\mu - F(x_\mu))^2 + \lambda \lVert F\rVert_K^2$:
#
# $$c = (K + p\lambda I)^{-1} y, \qquad F_\text{test} = K_\text{test}\, c,$$
#
# where $K_\text{test}$ is the $(n, p)$ block $K(x^\text{test}_i, x_\nu)$ (test rows,
# training columns); the predicted label is $\operatorname{sign} F_\text{test}$. (As
# $\lambda \to 0$ this is what a lazy network trained on the square loss converges to,
# with $K = \Theta_0$ — Jacot et al. 2018; Paccolat et al. train their kernel machines
# with the hinge loss instead, `deeptheory.kernel_machines.kernel_flow`; ridge regression
# is the cheap stand-in here.)
#
# **`kernel_ridge`** returns `(c, F_test)`, shapes `(p,)` and `(n,)`, in the dtype of `K`.
# Solve the linear system (`torch.linalg.solve`) rather than inverting the matrix, in
# float64.


# %% nbgrader={"grade": false, "grade_id": "kernel_ridge", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kernel_ridge(K, y, K_test, *, ridge):
    """c = (K + p λ I)⁻¹ y and F_test = K_test c: shapes (p,) and (n,)."""
    ### BEGIN SOLUTION
    p = len(y)
    A = K + p * ridge * torch.eye(p, dtype=K.dtype)
    c = torch.linalg.solve(A, y)
    return c, K_test @ c
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "kernel_ridge_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""With K = I the coefficients are y / (1 + p λ); predictions are K_test c."""
_y = torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
_K_test = torch.randn(
    3, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64
)
_out = kernel_ridge(torch.eye(4, dtype=torch.float64), _y, _K_test, ridge=0.5)
assert isinstance(_out, tuple) and len(_out) == 2, "return a tuple (c, F_test)"
_c, _F = _out
assert isinstance(_c, torch.Tensor) and isinstance(_F, torch.Tensor), (
    "c and F_test must be torch.Tensors"
)
assert _c.shape == (4,) and _F.shape == (3,), (
    f"expected shapes (p,) = (4,) and (n,) = (3,), got {tuple(_c.shape)} and "
    f"{tuple(_F.shape)}"
)
assert _c.dtype == torch.float64 and _F.dtype == torch.float64, "expected float64"
assert torch.allclose(_c, _y / (1 + 4 * 0.5)), (
    "with K = I, c = y / (1 + p λ): the ridge added to K is p λ I"
)
assert torch.allclose(_F, _K_test @ _c), "the test predictions are K_test c"

# %% nbgrader={"grade": true, "grade_id": "kernel_ridge_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on Gaussian-kernel Gram matrices of random points."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.kernel_machines
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _ridge_cases(draw):
    p, n, d = (
        draw(_st.integers(1, 8)),
        draw(_st.integers(1, 5)),
        draw(_st.integers(1, 4)),
    )
    ridge, seed = draw(_st.sampled_from([1e-3, 0.1, 1.0])), draw(seeds())
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(p + n, d, generator=g, dtype=torch.float64)
    gram = torch.exp(-(torch.cdist(z, z) ** 2) / 2)
    y = torch.randn(p, generator=g, dtype=torch.float64)
    y = torch.where(y > 0, 1.0, -1.0).to(torch.float64)
    label = (
        f"Gaussian-kernel Gram matrices K ({p}, {p}) and K_test ({n}, {p}) of points in "
        f"dimension {d} and labels from seed {seed}, ridge={ridge}"
    )
    return Case((gram[:p, :p], y, gram[p:, :p]), dict(ridge=ridge), label=label)


def _part(function, index):
    def part(*args, **kwargs):
        out = function(*args, **kwargs)
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise TypeError(f"return a tuple (c, F_test), not {type(out).__name__}")
        return out[index]

    return part


for _index, _name in (
    (0, "kernel_ridge [checking c]"),
    (1, "kernel_ridge [checking F_test]"),
):
    check_against_reference(
        _part(kernel_ridge, _index),
        _part(deeptheory.kernel_machines.kernel_ridge, _index),
        _ridge_cases(),
        name=_name,
        forbid=[deeptheory.kernel_machines],
        rtol=1e-8,
    )
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex5_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. How much of the labels lies on the top of a kernel's spectrum?
#
# Write the Gram matrix as $K = \sum_j \lambda_j v_j v_j^\top$ with $\lambda_1 \ge
# \lambda_2 \ge \dots$ and orthonormal eigenvectors $v_j$. Kernel regression learns the
# components of the labels along the top eigenvectors first and with the fewest data
# (Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561): a kernel is good for a task when
# the labels lie on its top eigenvectors. Measure this by the fraction of $\lVert y
# \rVert^2$ carried by the top $k$:
#
# $$\pi_k(K, y) = \sum_{j=1}^{k} \frac{(v_j \cdot y)^2}{\lVert y\rVert^2} \in [0, 1] .$$
#
# (Squares make it independent of the sign of each $v_j$.) Paccolat et al. show that
# after feature training the top eigenvectors of the NTK carry much more of the labels
# than at initialisation, and that the NTK after lazy training is unchanged.
#
# **`top_label_fraction`** takes a symmetric `kernel` `(p, p)`, a vector `y` `(p,)` (labels
# $\pm 1$, or any nonzero vector) and $1 \le k \le p$, and returns $\pi_k$ as a 0-d tensor
# in the dtype of `kernel`. Careful: `torch.linalg.eigh` returns the eigenvalues in
# *ascending* order, and the eigenvectors as the *columns* of its second output.


# %% nbgrader={"grade": false, "grade_id": "top_label_fraction", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_label_fraction(kernel, y, k):
    """Σ_{j ≤ k} (v_j·y)²/‖y‖² over the k eigenvectors of largest eigenvalue: 0-d."""
    ### BEGIN SOLUTION
    _, vectors = torch.linalg.eigh(kernel)
    top = vectors[:, -k:]
    return (top.T @ y).square().sum() / y.square().sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_label_fraction_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""A diagonal kernel: its top eigenvector is the last axis; all k give 1."""
_K = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
_y = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
_pi = top_label_fraction(_K, _y, 1)
assert isinstance(_pi, torch.Tensor), "return a torch.Tensor"
assert _pi.shape == (), f"return a 0-d tensor, got shape {tuple(_pi.shape)}"
assert _pi.dtype == torch.float64, f"expected float64, got {_pi.dtype}"
assert abs(float(_pi) - 4 / 6) < 1e-12, (
    f"the top eigenvector of diag(1, 2, 3) is e₃, so π₁ = y₃²/‖y‖² = 4/6; got "
    f"{float(_pi):.4f} (largest eigenvalue first: eigh sorts in ascending order)"
)
assert abs(float(top_label_fraction(_K, _y, 3)) - 1.0) < 1e-12, (
    "all p eigenvectors together carry all of ‖y‖²: π_p = 1"
)

# %% nbgrader={"grade": true, "grade_id": "top_label_fraction_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference (built from label_projections), on random Gram matrices."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.observables
from deeptheory.grading import Case, check_against_reference
from deeptheory.testing.strategies import seeds


@_st.composite
def _spectrum_cases(draw):
    p, seed = draw(_st.integers(1, 8)), draw(seeds())
    k = draw(_st.integers(1, p))
    labels = draw(_st.booleans())
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(p, p + 3, generator=g, dtype=torch.float64)
    kernel = a @ a.T
    kernel = (kernel + kernel.T) / 2
    y = torch.randn(p, generator=g, dtype=torch.float64)
    if labels:
        y = torch.where(y > 0, 1.0, -1.0).to(torch.float64)
    kind = "labels ±1" if labels else "a Gaussian vector y"
    label = f"a random Wishart kernel ({p}, {p}) and {kind} from seed {seed}, k={k}"
    return Case((kernel, y, k), label=label)


def _top_reference(kernel, y, k):
    _, _, projections = deeptheory.observables.label_projections(kernel, y)
    return projections[:k].square().sum()


check_against_reference(
    top_label_fraction,
    _top_reference,
    _spectrum_cases(),
    name="top_label_fraction",
    forbid=[deeptheory.observables],
    rtol=1e-8,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. The experiment: feature vs lazy on the stripe
#
# One initialisation of the network above ($d = 5$, $h = 100$) is trained on $p = 128$
# stripe points at $\alpha = 10^{-2}$ (feature) and $\alpha = 10^{2}$ (lazy), as one
# batched ensemble, with the authors' adaptive gradient flow on the hinge loss
# (`deeptheory.train.run`). To stay fast it uses a coarser step than the authors
# (`max_dout=1` instead of 0.1) and stops after 1000 steps, before every margin is reached
# in the feature regime. Then, with your functions:
#
# * the test error of both networks, and their compression $\Lambda$;
# * the kinks $x^*_{n,1}$ along $x_1$, each neuron weighted by $|\beta_n|$, against the
#   interfaces;
# * the NTK $\Theta$ (`deeptheory.empirical_ntk`) at initialisation and at the end of each
#   run, used as the kernel of a ridge regression (each Gram matrix divided by its mean
#   diagonal, so that the same $\lambda = 10^{-3}$ means the same for all), and
#   $\pi_5(\Theta, y)$ on the training set.
#
# What to expect (Paccolat et al.; shared numbers at $h = 500$ in the course notes): the
# feature network generalises better than the lazy one; $\Lambda \gg 1$ (here around
# 10–20) in the feature regime and $\Lambda \approx 1$ in the lazy one; the feature kinks
# pile up at two or three points in and around the stripe $-0.3 < x_1 < 1.185$ (dashed),
# the lazy ones stay spread out as at initialisation; the NTK after
# feature training is a better kernel (lower error, larger $\pi_5$) than the initial NTK,
# while the NTK after lazy training is almost the initial one. At $p = 128$ and one seed
# these numbers are noisy: change the seeds (`_seed`), $p$ or the α's and see what is
# robust.

# %% nbgrader={"grade": false, "grade_id": "experiment", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

from deeptheory.observables import classification_error
from deeptheory.tasks import STRIPE_INTERFACES
from deeptheory.train import TrainConfig, run

_d, _h, _p, _p_test, _seed = 5, 100, 128, 2000, 0
_alphas = torch.tensor([1e-2, 1e2], dtype=torch.float64)  # feature, lazy
_stripe = dict(interfaces=STRIPE_INTERFACES, stretch=1.0)
_x, _y = stripe_sample(
    _p, _d, **_stripe, generator=torch.Generator().manual_seed(10 * _seed + 1)
)
_x_test, _y_test = stripe_sample(
    _p_test, _d, **_stripe, generator=torch.Generator().manual_seed(10 * _seed + 2)
)
_net = FCNet(
    input_dim=_d,
    width=_h,
    hidden_layers=1,
    activation="relu",
    bias_std=1.0,
    parametrization="mean_field",
    readout_bias=False,
)
_one = _net.init(generator=torch.Generator().manual_seed(_seed))
_params0 = {k: v.expand(len(_alphas), *v.shape).clone() for k, v in _one.items()}
_config = TrainConfig(
    method="flow", loss="hinge", max_dgrad=None, max_dout=1.0, max_steps=1000
)
_final = run(_net, _params0, _x, _y, alpha=_alphas, config=_config)[-1].params
_F_test = _alphas[:, None] * (_net(_final, _x_test) - _net(_params0, _x_test))
_net_error = classification_error(_F_test, _y_test)
_lambda = compression(_final["w0"])
_kinks = kink_points(
    _final["w0"], _final["b0"], input_scale=_net.scale(0), bias_scale=_net.bias_std
)


def _as_kernel(params):
    """Test error of ridge regression with this network's NTK, and π₅ of the NTK."""
    K = deeptheory.empirical_ntk(_net, params, _x)
    K_test = deeptheory.empirical_ntk(_net, params, _x_test, _x)
    scale = K.diagonal().mean()
    _, F = kernel_ridge(K / scale, _y, K_test / scale, ridge=1e-3)
    return float(classification_error(F, _y_test)), float(top_label_fraction(K, _y, 5))


_kernels = {"initial NTK": _as_kernel(_one)}
for _i, _name in enumerate(["feature", "lazy"]):
    _kernels[f"final NTK, {_name}"] = _as_kernel(FCNet.member(_final, _i))
    print(
        f"{_name:>7} (α = {float(_alphas[_i]):g}): network test error "
        f"{float(_net_error[_i]):.3f}, Λ = {float(_lambda[_i]):.2f}"
    )
for _name, (_error, _pi5) in _kernels.items():
    print(f"ridge with the {_name:<19}: test error {_error:.3f}, π₅ = {_pi5:.3f}")

_fig, (_ax, _bx) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
for _i, _name in enumerate(["feature", "lazy"]):
    _beta = _final["w1"][_i, 0].abs()
    _ax.hist(
        _kinks[_i, :, 0].clamp(-4, 4).numpy(),
        bins=64,
        range=(-4, 4),
        weights=(_beta / _beta.sum()).numpy(),
        alpha=0.6,
        label=f"{_name}, α = {float(_alphas[_i]):g}",
    )
for _c in STRIPE_INTERFACES:
    _ax.axvline(_c, color="k", ls="--", lw=1)
_ax.set(xlabel="kink x*₁ (clipped to ±4)", ylabel="share of |β|", title="kinks")
_ax.legend()
_labels = [
    "network\nfeature",
    "network\nlazy",
    *[n.replace(", ", "\n") for n in _kernels],
]
_values = [*_net_error.tolist(), *[e for e, _ in _kernels.values()]]
_bx.bar(_labels, _values, color=["C0", "C1", "0.5", "C0", "C1"])
_bx.set(ylabel="test error", title=f"p = {_p}: networks and ridge with their NTK")

# %% [markdown] nbgrader={"grade": false, "grade_id": "questions", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### To think about (not graded)
#
# * Why does the NTK after lazy training give almost the same kernel machine as the
#   initial one? How does $\lVert w - w_0\rVert / \lVert w_0\rVert$ scale with α there?
# * The compression predicted by Paccolat et al. is $\Lambda \sim \sqrt p$. What limits
#   it, and why can the perpendicular weights not be driven exactly to 0 by a finite
#   training set?
# * Shrink the perpendicular directions of the *inputs* by the measured $\Lambda$
#   (`stretch` $= 1/\Lambda$) and use the initial NTK on them: how close is it to the
#   final feature NTK as a kernel machine? (This is the authors' "stretched kernel".)

# %% [markdown] nbgrader={"grade": false, "grade_id": "widget_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Explore (not graded)
#
# The same network on a two-dimensional stripe ($d = 2$), trained at nine values of α, so
# that the whole decision function can be drawn: $F > 0$ red, $F < 0$ blue, the kink line
# of each neuron darker when it matters more. Start at α = 0.01 and move α up to 100:
# watch the kink lines turn from vertical (they ignore $x_2$: $\Lambda \gg 1$) to the
# random directions of the initialisation ($\Lambda \approx 1$), and the test error rise.
# Then change the width: in this convention the crossover stays near α = 1. (The first
# view of a width trains its networks, a few seconds.)

# %% nbgrader={"grade": false, "grade_id": "widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
from deeptheory.widgets import stripe_explorer

ui, _ = stripe_explorer()
ui
