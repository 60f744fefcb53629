"""Analytic infinite-width kernels: closed forms and identities of shared/science.md §1.3."""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.integrate
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.kernels import fc_kernels
from deeptheory.testing import assert_close, assert_psd, assert_symmetric
from deeptheory.testing.strategies import random_inputs, seeds

EXACT = dict(rtol=1e-12, atol=1e-14)

# shared/science.md §1.3, computed there with an independent numpy script: NTK entries at
# cos(x, y) = 1, 0.5, 0, −0.5, −1 for ‖x‖² = ‖y‖² = d, and Σ(x, x) of the output.
TABLE = [
    ("relu", 0.0, 1, [1.0000, 0.4712, 0.1592, -0.0288, 0.0000], 0.5),
    ("relu", 0.0, 2, [0.7500, 0.3379, 0.1714, 0.0860, 0.0796], 0.25),
    ("relu", 0.0, 3, [0.5000, 0.2172, 0.1325, 0.0928, 0.0857], 0.125),
    ("relu", 0.1, 1, [1.0200, 0.4897, 0.1758, -0.0154, -0.0210], 0.515),
    ("relu", 0.1, 3, [0.5325, 0.2463, 0.1589, 0.1170, 0.1064], 0.1437),
    ("sqrt2_relu", 0.0, 1, [2.0000, 0.9423, 0.3183, -0.0577, 0.0000], 1.0),
    ("sqrt2_relu", 0.0, 2, [3.0000, 1.3515, 0.6857, 0.3439, 0.3183], 1.0),
    ("sqrt2_relu", 0.0, 3, [4.0000, 1.7378, 1.0604, 0.7422, 0.6857], 1.0),
    ("sqrt2_relu", 0.1, 2, [3.0600, 1.4022, 0.7281, 0.3777, 0.3140], 1.03),
    ("sqrt2_relu", 0.1, 3, [4.1000, 1.8186, 1.1280, 0.7994, 0.7166], 1.04),
]


def pair_at_cosines(cosines, d=2):
    """x₀ = √d e₁ and points x with cos(x₀, x) = cosines, all with ‖x‖² = d."""
    angle = torch.arccos(torch.tensor(cosines, dtype=torch.float64))
    x = math.sqrt(d) * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return x[:1] * 0 + x.new_tensor([[math.sqrt(d), 0.0]]), x


@pytest.mark.parametrize(("activation", "beta", "hidden", "row", "sigma_out"), TABLE)
def test_reference_table(activation, beta, hidden, row, sigma_out):
    x0, x = pair_at_cosines([1.0, 0.5, 0.0, -0.5, -1.0])
    nngp, ntk = fc_kernels(
        x0, x, hidden_layers=hidden, bias_std=beta, activation=activation
    )
    assert np.allclose(
        ntk[0].numpy(), row, atol=5.1e-5, rtol=0
    )  # the table has 4 decimals
    assert abs(float(nngp[0, 0]) - sigma_out) < 5.1e-5


@given(st.integers(0, 5), st.sampled_from([0.0, 0.1, 0.7]), st.integers(1, 6), seeds())
def test_sqrt2_relu_diagonal_is_layer_count(hidden, beta, d, seed):
    """Θ(x, x) = L + β² L (L + 1)/2 with L = hidden + 1 weight layers, when ‖x‖² = d."""
    x = random_inputs(4, d, seed=seed)
    x = x / x.norm(dim=1, keepdim=True) * math.sqrt(d)
    nngp, ntk = fc_kernels(
        x, hidden_layers=hidden, bias_std=beta, activation="sqrt2_relu"
    )
    n_layers = hidden + 1
    expected = n_layers + beta**2 * n_layers * (n_layers + 1) / 2
    assert_close(ntk.diagonal(), torch.full((4,), expected, dtype=x.dtype), **EXACT)
    assert_close(
        nngp.diagonal(),
        torch.full((4,), 1 + n_layers * beta**2, dtype=x.dtype),
        **EXACT,
    )


@given(st.integers(1, 6), seeds())
def test_one_hidden_layer_relu_closed_form(d, seed):
    """Θ(x, y) = (x·y k₀(φ) + ‖x‖‖y‖ k₁(φ)) / (2d): shared/science.md §1.3 (regressionsphere)."""
    x, y = random_inputs(3, d, seed=seed), random_inputs(4, d, seed=seed + 1)
    _, ntk = fc_kernels(x, y, hidden_layers=1)
    dot = x @ y.T
    norms = x.norm(dim=1)[:, None] * y.norm(dim=1)[None, :]
    # Kahan's angle formula, accurate also for (anti)parallel vectors, where arccos is not
    xn = (x / x.norm(dim=1, keepdim=True))[:, None, :]
    yn = (y / y.norm(dim=1, keepdim=True))[None, :, :]
    phi = 2 * torch.atan2((xn - yn).norm(dim=-1), (xn + yn).norm(dim=-1))
    k0 = (math.pi - phi) / math.pi
    k1 = (torch.sin(phi) + (math.pi - phi) * torch.cos(phi)) / math.pi
    assert_close(ntk, (dot * k0 + norms * k1) / (2 * d), rtol=1e-10)


def test_one_hidden_layer_relu_vanishes_on_opposite_points():
    x = torch.tensor([[1.0, 2.0, -0.5]], dtype=torch.float64)
    _, ntk = fc_kernels(x, -x, hidden_layers=1)
    assert abs(float(ntk)) < 1e-15


@given(st.integers(0, 4), st.sampled_from(["relu", "sqrt2_relu", "linear"]), seeds())
def test_homogeneity_without_bias(hidden, activation, seed):
    """All layers are 1-homogeneous: Θ(c x, c' y) = c c' Θ(x, y) for c, c' > 0."""
    x, y = random_inputs(3, 4, seed=seed), random_inputs(2, 4, seed=seed + 1)
    base = fc_kernels(x, y, hidden_layers=hidden, activation=activation)
    scaled = fc_kernels(2.5 * x, 0.3 * y, hidden_layers=hidden, activation=activation)
    for a, b in zip(scaled, base, strict=True):
        assert_close(a, 0.75 * b, rtol=1e-10)


@given(st.integers(0, 4), st.sampled_from([0.0, 0.5]), seeds())
def test_rotation_invariance_symmetry_and_psd(hidden, beta, seed):
    x = random_inputs(7, 3, seed=seed)
    q, _ = torch.linalg.qr(random_inputs(3, 3, seed=seed + 1))
    nngp, ntk = fc_kernels(x, hidden_layers=hidden, bias_std=beta)
    rotated = fc_kernels(x @ q.T, hidden_layers=hidden, bias_std=beta)
    assert_close(rotated[0], nngp, rtol=1e-10)
    assert_close(rotated[1], ntk, rtol=1e-10)
    for k in (nngp, ntk):
        assert_symmetric(k, rtol=0.0)
        assert_psd(k)


def test_symmetric_call_agrees_with_two_argument_call():
    x = random_inputs(6, 3, seed=0)
    one = fc_kernels(x, hidden_layers=3, bias_std=0.2)
    two = fc_kernels(x, x, hidden_layers=3, bias_std=0.2)
    for a, b in zip(one, two, strict=True):
        assert_close(a, b, rtol=1e-12)


def _mpmath_kernels(x, y, *, hidden, sw, sb, sqrt2):
    """The recursion of shared/science.md §1.2 in 50-digit arithmetic with plain arccos."""
    mp.mp.dps = 50
    x, y = [mp.mpf(float(v)) for v in x], [mp.mpf(float(v)) for v in y]
    d, sw2, sb2 = len(x), mp.mpf(sw) ** 2, mp.mpf(sb) ** 2
    dot = lambda u, v: mp.fsum(p * q for p, q in zip(u, v, strict=True))  # noqa: E731
    a, b, c = (sw2 * dot(u, v) / d + sb2 for u, v in [(x, x), (y, y), (x, y)])
    theta = c
    gain = 2 if sqrt2 else 1
    for _ in range(hidden):
        t = mp.acos(max(min(c / mp.sqrt(a * b), 1), -1))
        e_phi = (
            gain * mp.sqrt(a * b) / (2 * mp.pi) * (mp.sin(t) + (mp.pi - t) * mp.cos(t))
        )
        e_dphi = gain * (mp.pi - t) / (2 * mp.pi)
        theta = sw2 * e_dphi * theta + sw2 * e_phi + sb2
        c = sw2 * e_phi + sb2
        a, b = sw2 * gain * a / 2 + sb2, sw2 * gain * b / 2 + sb2
    return float(c), float(theta)


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-8, 1e-5, 1e-2, 1.0, math.pi])
@pytest.mark.parametrize(("hidden", "sb", "sqrt2"), [(1, 0.0, False), (3, 0.3, True)])
def test_nearly_parallel_inputs_are_accurate(angle, hidden, sb, sqrt2):
    """Against 50-digit arithmetic: no loss of accuracy at the cusp θ → 0 (Kahan + det)."""
    x = torch.tensor([[1.3, 0.0, 0.0]], dtype=torch.float64)
    y = 0.7 * torch.tensor(
        [[math.cos(angle), math.sin(angle), 0.0]], dtype=torch.float64
    )
    activation = "sqrt2_relu" if sqrt2 else "relu"
    kw = dict(hidden_layers=hidden, weight_std=1.1, bias_std=sb, activation=activation)
    nngp, ntk = fc_kernels(x, y, **kw)
    ref_nngp, ref_ntk = _mpmath_kernels(
        x[0], y[0], hidden=hidden, sw=1.1, sb=sb, sqrt2=sqrt2
    )
    assert abs(float(nngp) - ref_nngp) <= 1e-13 * abs(ref_nngp) + 1e-15
    assert abs(float(ntk) - ref_ntk) <= 1e-13 * abs(ref_ntk) + 1e-15


def test_linear_network_closed_form():
    """φ(z) = z, σ_w = 1: Σ^l = x·y/d + l σ_b², Θ^{L+1} = Σ_{l ≤ L+1} Σ^l."""
    x, y = random_inputs(3, 5, seed=1), random_inputs(4, 5, seed=2)
    hidden, beta = 3, 0.4
    nngp, ntk = fc_kernels(
        x, y, hidden_layers=hidden, bias_std=beta, activation="linear"
    )
    dot = x @ y.T / 5
    n_layers = hidden + 1
    assert_close(nngp, dot + n_layers * beta**2, **EXACT)
    assert_close(ntk, n_layers * dot + beta**2 * n_layers * (n_layers + 1) / 2, **EXACT)


def test_relu_variance_halves_each_layer():
    x = random_inputs(5, 3, seed=3)
    for hidden in range(5):
        nngp, _ = fc_kernels(x, hidden_layers=hidden, weight_std=1.0)
        expected = (x * x).sum(1) / 3 / 2**hidden
        assert_close(nngp.diagonal(), expected, **EXACT)


def _relu_expectations_numerically(a, b, c):
    """E[relu(u)relu(v)] and E[1{u>0}1{v>0}] by adaptive quadrature over the quadrant."""
    cov_inv = np.linalg.inv([[a, c], [c, b]])
    norm = 1 / (2 * math.pi * math.sqrt(a * b - c * c))
    lim = 12 * math.sqrt(max(a, b))

    def integrate(fn):
        def integrand(v, u):
            w = np.array([u, v])
            return fn(u, v) * norm * math.exp(-0.5 * w @ cov_inv @ w)

        return scipy.integrate.dblquad(integrand, 0, lim, 0, lim, epsabs=1e-12)[0]

    return integrate(lambda u, v: u * v), integrate(lambda u, v: 1.0)


def test_deep_recursion_matches_an_independent_numerical_oracle():
    """The recursion of shared/science.md §1.2 with expectations integrated numerically."""
    sw, sb, hidden, d = 1.3, 0.4, 2, 3
    x = np.array([1.0, -0.5, 2.0])
    y = np.array([0.3, 1.2, -0.7])
    sxx, syy, sxy = (sw**2 * u @ v / d + sb**2 for u, v in [(x, x), (y, y), (x, y)])
    theta = sxy
    for _ in range(hidden):
        e_phi, e_dphi = _relu_expectations_numerically(sxx, syy, sxy)
        sxx = sw**2 * sxx / 2 + sb**2  # E[relu(u)²] = a/2
        syy = sw**2 * syy / 2 + sb**2
        sxy = sw**2 * e_phi + sb**2
        theta = sw**2 * e_dphi * theta + sxy
    t = lambda v: torch.from_numpy(v)[None]  # noqa: E731
    nngp, ntk = fc_kernels(t(x), t(y), hidden_layers=hidden, weight_std=sw, bias_std=sb)
    assert abs(float(nngp) - sxy) < 1e-8
    assert abs(float(ntk) - theta) < 1e-8


def test_follows_input_dtype():
    x = random_inputs(3, 2, seed=0, dtype=torch.float32)
    nngp, ntk = fc_kernels(x, hidden_layers=2)
    assert nngp.dtype == ntk.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(hidden_layers=-1), ValueError, "hidden_layers must be >= 0"),
        (dict(hidden_layers=1.0), TypeError, "hidden_layers must be an int"),
        (
            dict(hidden_layers=1, activation="tanh"),
            ValueError,
            "activation must be one of",
        ),
        (dict(hidden_layers=1, weight_std=-1.0), ValueError, "weight_std must be >= 0"),
        (
            dict(hidden_layers=1, bias_std=float("nan")),
            ValueError,
            "bias_std must be finite",
        ),
    ],
)
def test_bad_options_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        fc_kernels(random_inputs(2, 3, seed=0), **kwargs)


def test_bad_inputs_name_the_argument():
    x = random_inputs(2, 3, seed=0)
    with pytest.raises(ValueError, match="x2 must have last dimension 3"):
        fc_kernels(x, random_inputs(2, 4, seed=0), hidden_layers=1)
    with pytest.raises(ValueError, match="x1 must have 2 dimensions"):
        fc_kernels(x[0], hidden_layers=1)
    with pytest.raises(ValueError, match="x1 contains non-finite"):
        fc_kernels(x * math.inf, hidden_layers=1)
    with pytest.raises(TypeError, match="x2 has dtype"):
        fc_kernels(x, x.float(), hidden_layers=1)
