# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Homework 1 — Neural tangent kernels
#
# A network $f(x; w)$ trained by gradient flow on a loss $C$ moves its parameters by
# $\dot w = -\nabla_w C$, so its output on any input moves by
#
# $$\partial_t f(x) = -\sum_{\mu} \Theta(x, x_\mu)\, \partial_f C(x_\mu), \qquad
#   \Theta(x, x') = \sum_p \partial_{w_p} f(x)\, \partial_{w_p} f(x'),$$
#
# the **neural tangent kernel** (Jacot, Gabriel & Hongler 2018, arXiv:1806.07572). In the
# NTK parametrisation, as the width grows, $\Theta$ becomes deterministic at initialisation
# and stays constant during training: the network then trains like a kernel method, the
# *lazy* regime (Chizat, Oyallon & Bach 2019, arXiv:1812.07956).
#
# You will compute $\Theta$ in two ways. Conventions: `deeptheory.FCNet` (read its
# docstring): $z^1 = \sigma_w/\sqrt{d}\, W^0 x + \sigma_b b^0$, hidden layers
# $\sigma_w/\sqrt{h}$, all weights $\mathcal N(0, 1)$; inputs are batch-first `(n, d)`;
# everything in float64.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch

import deeptheory
from deeptheory import FCNet

torch.set_num_threads(1)
print("deeptheory", deeptheory.__version__)

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex1_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. The one-hidden-layer NTK by hand
#
# For one hidden layer, $f(x) = c_1 \sum_i v_i\, \varphi(z_i) + \sigma_b b_1$ with
# $z = c_0 W x + \sigma_b b_0$, $c_0 = \sigma_w/\sqrt d$ and $c_1 = \sigma_w/\sqrt h$
# (`net.scale(0)`, `net.scale(1)`; $1/h$ for `parametrization="mean_field"`).
# Differentiate with respect to $v$, $b_1$, $W$ and $b_0$ and show that
#
# $$\Theta(x, x') = c_1^2\, \varphi(z)\cdot\varphi(z') + \sigma_b^2
#   + c_1^2 \sum_i v_i^2\, \varphi'(z_i)\varphi'(z'_i)\,\big(c_0^2\, x\cdot x' + \sigma_b^2\big).$$
#
# Implement it with a few matrix products (no loops over neurons). `net.act.fn` and
# `net.act.derivative` are $\varphi$ and $\varphi'$; `params` holds `w0` (h, d), `w1`
# (1, h) and, if `net.bias_std > 0`, `b0` (h,) and `b1` (1,).


# %% nbgrader={"grade": false, "grade_id": "one_hidden_layer_ntk", "locked": false, "schema_version": 3, "solution": true, "task": false}
def one_hidden_layer_ntk(net, params, x1, x2):
    """Θ(x1, x2), (n1, n2), of a scalar one-hidden-layer FCNet, in closed form."""
    ### BEGIN SOLUTION
    c0, c1, sb = net.scale(0), net.scale(1), net.bias_std

    def pre(x):
        z = c0 * x @ params["w0"].T
        return z + sb * params["b0"] if sb else z

    z1, z2 = pre(x1), pre(x2)
    v = params["w1"][0]
    last = c1**2 * net.act.fn(z1) @ net.act.fn(z2).T + sb**2
    g1, g2 = net.act.derivative(z1) * v, net.act.derivative(z2) * v
    return last + c1**2 * (g1 @ g2.T) * (c0**2 * x1 @ x2.T + sb**2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "one_hidden_layer_ntk_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Shape, dtype and symmetry on a small network."""
_net = FCNet(input_dim=3, width=20, bias_std=0.5)
_params = _net.init(generator=torch.Generator().manual_seed(0))
_x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
_theta = one_hidden_layer_ntk(_net, _params, _x, _x)
assert isinstance(_theta, torch.Tensor), "return a torch.Tensor"
assert _theta.shape == (4, 4), f"expected shape (4, 4), got {tuple(_theta.shape)}"
assert _theta.dtype == torch.float64, f"expected float64, got {_theta.dtype}"
assert torch.allclose(_theta, _theta.T), "Θ(x, x) must be symmetric"

# %% nbgrader={"grade": true, "grade_id": "one_hidden_layer_ntk_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on networks and inputs drawn by hypothesis."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import deeptheory.ntk
import deeptheory.ntk_fc
from deeptheory.grading import check_against_reference, fc_model_cases
from deeptheory.testing.strategies import fc_nets

_nets = fc_nets(min_hidden_layers=1, max_hidden_layers=1, max_width=12, out_dims=[None])
check_against_reference(
    one_hidden_layer_ntk,
    deeptheory.ntk.empirical_ntk,
    fc_model_cases(nets=_nets),
    name="one_hidden_layer_ntk",
    forbid=[deeptheory.ntk, deeptheory.ntk_fc],
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex2_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. The empirical NTK of any model, with autograd
#
# For a model `model(params, x) -> (n,)` (a pure function of a dict of parameters, as in
# `torch.func`), compute $\Theta(x_1, x_2) = J(x_1)\, J(x_2)^\top$ where $J$ is the
# $(n, P)$ Jacobian of the outputs with respect to *all* parameters. Use
# `torch.autograd.grad` (or `torch.func`); keep float64.


# %% nbgrader={"grade": false, "grade_id": "autograd_ntk", "locked": false, "schema_version": 3, "solution": true, "task": false}
def autograd_ntk(model, params, x1, x2):
    """Θ(x1, x2), (n1, n2), of a scalar model, by automatic differentiation."""
    ### BEGIN SOLUTION
    names = list(params)
    leaves = [params[k].detach().requires_grad_(True) for k in names]

    def jacobian(x):
        rows = []
        for i in range(len(x)):
            out = model(dict(zip(names, leaves, strict=True)), x[i : i + 1]).reshape(())
            grads = torch.autograd.grad(out, leaves, allow_unused=True)
            rows.append(
                torch.cat(
                    [
                        (torch.zeros_like(p) if g is None else g).reshape(-1)
                        for g, p in zip(grads, leaves, strict=True)
                    ]
                )
            )
        return torch.stack(rows)

    return jacobian(x1) @ jacobian(x2).T
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "autograd_ntk_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""A linear model f(x) = w·x has Θ(x, x') = x·x'."""
# no hidden layer, no bias and σ_w = √d: the FCNet f(x) = w·x (w = params["w0"][0])
_linear = FCNet(
    input_dim=3, width=1, hidden_layers=0, bias_std=0.0, weight_std=math.sqrt(3)
)
_g = torch.Generator().manual_seed(3)
_w = _linear.init(generator=_g)
_x1 = torch.randn(4, 3, dtype=torch.float64, generator=_g)
_x2 = torch.randn(2, 3, dtype=torch.float64, generator=_g)
_theta = autograd_ntk(_linear, _w, _x1, _x2)
assert _theta.shape == (4, 2), f"expected shape (4, 2), got {tuple(_theta.shape)}"
assert torch.allclose(_theta, _x1 @ _x2.T), "for f(x) = w·x the NTK is x·x'"

# %% nbgrader={"grade": true, "grade_id": "autograd_ntk_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on fully connected networks of several depths."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import deeptheory.ntk
import deeptheory.ntk_fc
from deeptheory.grading import check_against_reference, fc_model_cases
from deeptheory.testing.strategies import fc_nets

check_against_reference(
    autograd_ntk,
    deeptheory.ntk.empirical_ntk,
    fc_model_cases(nets=fc_nets(max_width=6, out_dims=[None])),
    name="autograd_ntk",
    forbid=[deeptheory.ntk, deeptheory.ntk_fc],
    max_examples=15,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex3_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. The infinite-width ReLU NTK
#
# As every width $h \to \infty$ the NTK of a ReLU network with $L$ hidden layers
# ($\sigma_w = 1$, bias scale $\beta$) becomes deterministic (Jacot et al. 2018, Thm 1):
#
# $$\Sigma^1(x, x') = x\cdot x'/d + \beta^2, \qquad \Theta^1 = \Sigma^1,$$
# $$\Sigma^{l+1} = \mathbb E[\mathrm{relu}(u)\,\mathrm{relu}(v)] + \beta^2, \qquad
#   \Theta^{l+1} = \mathbb E[\mathbf 1_{u>0}\mathbf 1_{v>0}]\,\Theta^l + \Sigma^{l+1},$$
#
# with $(u, v)$ Gaussian of covariance $\begin{pmatrix} \Sigma^l(x,x) & \Sigma^l(x,x') \\
# \Sigma^l(x,x') & \Sigma^l(x',x') \end{pmatrix}$. For ReLU these are the arc-cosine
# kernels (Cho & Saul 2009): with $\theta$ the angle, $\cos\theta = \Sigma^l(x,x') /
# \sqrt{\Sigma^l(x,x)\,\Sigma^l(x',x')}$,
#
# $$\mathbb E[\mathrm{relu}(u)\mathrm{relu}(v)] = \frac{\sqrt{\Sigma^l(x,x)\Sigma^l(x',x')}}{2\pi}
#   \big(\sin\theta + (\pi - \theta)\cos\theta\big), \qquad
#   \mathbb E[\mathbf 1_{u>0}\mathbf 1_{v>0}] = \frac{\pi - \theta}{2\pi}.$$
#
# Implement $\Theta^{L+1}(x_1, x_2)$, shape (n1, n2). (Near $\theta = 0$, `arccos` of a
# rounded cosine costs ~1e-8: the grader allows 1e-7 relative error here.)


# %% nbgrader={"grade": false, "grade_id": "relu_ntk", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_ntk(x1, x2, *, hidden_layers, bias_std=0.0):
    """Infinite-width NTK of a ReLU network with σ_w = 1: (n1, d), (n2, d) -> (n1, n2)."""
    ### BEGIN SOLUTION
    d, b2 = x1.shape[1], bias_std**2
    a = (x1 * x1).sum(1) / d + b2
    b = (x2 * x2).sum(1) / d + b2
    sigma = x1 @ x2.T / d + b2
    theta = sigma
    for _ in range(hidden_layers):
        root = torch.sqrt(a[:, None] * b[None, :])
        cos = (sigma / root).clamp(-1.0, 1.0)
        angle = torch.arccos(cos)
        k0 = (math.pi - angle) / (2 * math.pi)
        sigma = root * (torch.sin(angle) + (math.pi - angle) * cos) / (2 * math.pi) + b2
        theta = k0 * theta + sigma
        a, b = a / 2 + b2, b / 2 + b2
    return theta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relu_ntk_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""One hidden layer, no bias, ‖x‖² = d: Θ(x, x) = 1 and Θ(x, y) = 1/(2π) for x ⊥ y."""
_x = torch.tensor([[2.0**0.5, 0.0], [0.0, 2.0**0.5]], dtype=torch.float64)
_theta = relu_ntk(_x, _x, hidden_layers=1)
assert _theta.shape == (2, 2), f"expected shape (2, 2), got {tuple(_theta.shape)}"
assert abs(float(_theta[0, 0]) - 1.0) < 1e-9, (
    f"Θ(x, x) should be 1, got {float(_theta[0, 0])}"
)
assert abs(float(_theta[0, 1]) - 1 / (2 * math.pi)) < 1e-9, (
    "Θ(x, y) should be 1/(2π) for x ⊥ y"
)

# %% nbgrader={"grade": true, "grade_id": "relu_ntk_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, for several depths, biases and inputs."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.kernels
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _kernel_cases(draw):
    n1, n2, d = (
        draw(_st.integers(1, 5)),
        draw(_st.integers(1, 5)),
        draw(_st.integers(1, 4)),
    )
    depth, beta = draw(_st.integers(1, 3)), draw(_st.sampled_from([0.0, 0.1, 0.5]))
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(n1, d, dtype=torch.float64, generator=g)
    x2 = torch.randn(n2, d, dtype=torch.float64, generator=g)
    label = f"x1 {(n1, d)}, x2 {(n2, d)}, hidden_layers={depth}, bias_std={beta}, seed {seed}"
    return Case((x1, x2), dict(hidden_layers=depth, bias_std=beta), label=label)


check_against_reference(
    relu_ntk,
    lambda x1, x2, **kw: deeptheory.kernels.fc_kernels(x1, x2, **kw)[1],
    _kernel_cases(),
    name="relu_ntk",
    forbid=[deeptheory.kernels, deeptheory.activations],
    rtol=1e-7,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "ex4_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. How fast does the kernel become deterministic?
#
# At finite width $h$ the NTK at initialisation is random. Jacot et al. (2018) prove that it
# converges to $\Theta_\infty$; its fluctuations are of order $h^{-1/2}$, as for any average
# over $h$ independent neurons (measured by Geiger et al. 2019, arXiv:1901.01608, §3;
# Hanin & Nica 2019, arXiv:1909.05989, show that they grow with depth/width). Measure it:
#
# $$e(h) = \frac{\lVert \Theta_h - \Theta_\infty \rVert_F}{\lVert \Theta_\infty \rVert_F},
#   \qquad \bar e(h) = \operatorname{mean}_{\text{networks}}\, e(h) \propto h^{\nu},
#   \quad \nu = -\tfrac12 .$$
#
# **`ntk_relative_errors`** returns $e$ for `ensemble` ReLU networks ($\sigma_w = 1$) of
# each width, shape `(len(widths), ensemble)`. Follow this protocol exactly, so that your
# random networks are the grader's: for each `h` in `widths`, in order,
#
# ```python
# net = FCNet(input_dim=d, width=h, hidden_layers=hidden_layers, bias_std=bias_std)
# params = net.init(generator=generator, ensemble=ensemble)  # one call per width
# ```
#
# `params` then holds `ensemble` networks stacked on a leading axis. For $\Theta_h$ use
# `deeptheory.empirical_ntk(net, params, x1, x2)` (it returns `(ensemble, n1, n2)`) or your
# `autograd_ntk` on each `FCNet.member(params, e)`; for $\Theta_\infty$ use
# `deeptheory.fc_kernels(x1, x2, hidden_layers=..., bias_std=...)[1]` or your `relu_ntk`
# (the grader allows 1e-6 relative error for that reason).
#
# **`width_exponent`** fits $\nu$: the least-squares slope of $\log \bar e$ against
# $\log h$ (the log of the mean over networks, not the mean of the logs), returned as a
# 0-d tensor in the dtype of `errors`.


# %% nbgrader={"grade": false, "grade_id": "ntk_relative_errors", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ntk_relative_errors(
    x1, x2, *, widths, ensemble, hidden_layers, bias_std, generator
):
    """‖Θ_h − Θ_∞‖_F / ‖Θ_∞‖_F for `ensemble` networks per width: (len(widths), ensemble)."""
    ### BEGIN SOLUTION
    _, limit = deeptheory.fc_kernels(
        x1, x2, hidden_layers=hidden_layers, bias_std=bias_std
    )
    rows = []
    for h in widths:
        net = FCNet(
            input_dim=x1.shape[1],
            width=h,
            hidden_layers=hidden_layers,
            bias_std=bias_std,
        )
        params = net.init(generator=generator, ensemble=ensemble)
        theta = deeptheory.empirical_ntk(net, params, x1, x2)
        rows.append((theta - limit).flatten(1).norm(dim=1) / limit.norm())
    return torch.stack(rows)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ntk_relative_errors_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Shape, dtype, positivity, and the generator is the only source of randomness."""
_x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
_kw = dict(widths=[16, 64], ensemble=3, hidden_layers=2, bias_std=0.1)
_e = ntk_relative_errors(_x, _x, generator=torch.Generator().manual_seed(0), **_kw)
assert isinstance(_e, torch.Tensor), "return a torch.Tensor"
assert _e.shape == (2, 3), (
    f"expected shape (len(widths), ensemble) = (2, 3), got {tuple(_e.shape)}"
)
assert _e.dtype == torch.float64, f"expected float64, got {_e.dtype}"
assert bool((_e > 0).all()), "relative errors of finite networks are positive"
_again = ntk_relative_errors(_x, _x, generator=torch.Generator().manual_seed(0), **_kw)
assert torch.equal(_e, _again), "draw every network from `generator`, and nothing else"

# %% nbgrader={"grade": true, "grade_id": "ntk_relative_errors_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on random inputs, widths, depths and biases."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.experiments.ntk_convergence
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _experiment_cases(draw):
    n1, n2, d = (
        draw(_st.integers(1, 4)),
        draw(_st.integers(1, 4)),
        draw(_st.integers(1, 3)),
    )
    widths = draw(_st.lists(_st.integers(1, 32), min_size=1, max_size=3))
    ensemble, depth = draw(_st.integers(1, 3)), draw(_st.integers(1, 2))
    beta = draw(_st.sampled_from([0.0, 0.1, 0.5]))
    seed = draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    x1 = torch.randn(n1, d, dtype=torch.float64, generator=g)
    x2 = torch.randn(n2, d, dtype=torch.float64, generator=g)
    options = dict(widths=widths, ensemble=ensemble, hidden_layers=depth, bias_std=beta)
    label = f"x1 {(n1, d)}, x2 {(n2, d)}, {options}, generator seeded with {seed + 1}"
    generator = torch.Generator().manual_seed(seed + 1)
    return Case((x1, x2), dict(options, generator=generator), label=label)


check_against_reference(
    ntk_relative_errors,
    deeptheory.experiments.ntk_convergence.ntk_relative_errors,
    _experiment_cases(),
    name="ntk_relative_errors",
    forbid=[deeptheory.experiments.ntk_convergence],
    rtol=1e-6,
    max_examples=15,
)
### END HIDDEN TESTS


# %% nbgrader={"grade": false, "grade_id": "width_exponent", "locked": false, "schema_version": 3, "solution": true, "task": false}
def width_exponent(widths, errors):
    """Least-squares slope ν of log(mean error) against log(width): a 0-d tensor."""
    ### BEGIN SOLUTION
    u = torch.log(torch.tensor(widths, dtype=errors.dtype))
    v = torch.log(errors.mean(dim=1))
    u, v = u - u.mean(), v - v.mean()
    return (u * v).sum() / (u * u).sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "width_exponent_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""An exact power law e = 3 h^(-1/2) has exponent −1/2."""
_h = [10, 100, 1000]
_e = 3.0 * torch.tensor(_h, dtype=torch.float64)[:, None].expand(3, 4) ** -0.5
_nu = width_exponent(_h, _e)
assert isinstance(_nu, torch.Tensor) and _nu.shape == (), (
    f"return a 0-d torch.Tensor, got {type(_nu).__name__} {getattr(_nu, 'shape', '')}"
)
assert abs(float(_nu) + 0.5) < 1e-9, f"expected −0.5 for e ∝ h^(−1/2), got {float(_nu)}"

# %% nbgrader={"grade": true, "grade_id": "width_exponent_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Against the reference, on noisy errors."""
### BEGIN HIDDEN TESTS
get_ipython().InteractiveTB.set_mode(mode="Minimal")  # noqa: F821
import torch
from hypothesis import strategies as _st

import deeptheory.experiments.ntk_convergence
from deeptheory.grading import Case, check_against_reference


@_st.composite
def _fit_cases(draw):
    widths = draw(
        _st.lists(_st.integers(1, 10**4), min_size=2, max_size=5, unique=True)
    )
    ensemble, seed = draw(_st.integers(1, 4)), draw(_st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    errors = 0.01 + torch.rand(len(widths), ensemble, dtype=torch.float64, generator=g)
    label = f"widths={widths}, errors of shape {tuple(errors.shape)} from seed {seed}"
    return Case((widths, errors), label=label)


check_against_reference(
    width_exponent,
    deeptheory.experiments.ntk_convergence.width_exponent,
    _fit_cases(),
    name="width_exponent",
    forbid=[deeptheory.experiments.ntk_convergence],
    atol=1e-10,
)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### The experiment
#
# Jacot et al.'s Figure 1 setting, smaller: inputs on the unit circle, two hidden layers,
# $\beta = 0.1$, eight networks per width from 16 to 1024. Is $\nu$ close to $-1/2$? Rerun with another
# seed to see how much $\nu$ itself fluctuates, and with `hidden_layers=4`: deeper
# networks are further from their limit at the same width.

# %% nbgrader={"grade": false, "grade_id": "experiment", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt

_gamma = torch.linspace(-math.pi, math.pi, 32, dtype=torch.float64)
_circle = torch.stack([torch.cos(_gamma), torch.sin(_gamma)], dim=1)
_widths = [16, 64, 256, 1024]
_errors = ntk_relative_errors(
    _circle,
    _circle,
    widths=_widths,
    ensemble=8,
    hidden_layers=2,
    bias_std=0.1,
    generator=torch.Generator().manual_seed(0),
)
_nu = float(width_exponent(_widths, _errors))
_fig, _ax = plt.subplots(figsize=(4.5, 3.5))
for _h, _row in zip(_widths, _errors, strict=True):
    _ax.loglog([_h] * len(_row), _row, ".", color="tab:blue", alpha=0.5)
_ax.loglog(
    _widths, _errors.mean(1), "o-", color="tab:blue", label=f"mean, ν = {_nu:.2f}"
)
_guide = float(_errors.mean(1)[0]) * (torch.tensor(_widths) / _widths[0]) ** -0.5
_ax.loglog(_widths, _guide, "k--", label="h^(−1/2)")
_ax.set_xlabel("width h")
_ax.set_ylabel("‖Θ_h − Θ_∞‖ / ‖Θ_∞‖")
_ax.legend()
print(f"fitted exponent ν = {_nu:.3f}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "widget_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Explore (not graded)
#
# Move the width up: the kernel of one random network settles on the infinite-width limit.
# At a small width, change the seed; then do the same at a large width.

# %% nbgrader={"grade": false, "grade_id": "widget", "locked": true, "schema_version": 3, "solution": false, "task": false}
from deeptheory.widgets import ntk_explorer

ui, _ = ntk_explorer()
ui
