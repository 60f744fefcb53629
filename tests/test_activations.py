"""Activations: derivatives, normalisations, and the Gaussian expectations of the kernels."""

import math

import numpy as np
import pytest
import scipy.integrate
import torch

from deeptheory.activations import (
    ACTIVATIONS,
    KERNEL_ACTIVATIONS,
    SOFTPLUS_SCALE,
    gaussian_expectations,
    get_activation,
)
from deeptheory.testing import assert_close


def _gaussian_moment(fn, order=2):
    """E[fn(z)^order], z ~ N(0, 1), by the trapezoid rule on a fine grid (numpy)."""
    z = np.linspace(-12, 12, 400_001)
    return np.trapezoid(fn(z) ** order * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), z)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivative_matches_autograd(name):
    act = get_activation(name)
    z = torch.linspace(-3, 3, 601, dtype=torch.float64)
    z = z[z != 0].requires_grad_(True)  # relu' at 0 is a convention, tested below
    (grad,) = torch.autograd.grad(act.fn(z).sum(), z)
    assert_close(act.derivative(z.detach()), grad)


def test_relu_derivative_at_zero_follows_autograd():
    z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch.relu(z).sum(), z)
    assert float(get_activation("relu").derivative(z.detach())) == float(grad) == 0.0


def test_softplus_has_unit_second_moment():
    beta = 5.0
    moment = _gaussian_moment(
        lambda z: SOFTPLUS_SCALE * np.logaddexp(0, beta * z) / beta
    )
    assert abs(moment - 1.0) < 1e-10
    assert abs(SOFTPLUS_SCALE - 1.40438) < 1e-5  # the constant quoted in the docstring


def test_sqrt2_relu_has_unit_second_moment():
    moment = _gaussian_moment(lambda z: math.sqrt(2) * np.maximum(z, 0))
    assert abs(moment - 1.0) < 1e-9


def _expectation_by_quadrature(fn, a, b, c):
    """E[fn(u) fn(v)], (u, v) ~ N(0, [[a, c], [c, b]]), by adaptive 2-D quadrature."""
    cov_inv = np.linalg.inv([[a, c], [c, b]])
    norm = 1 / (2 * math.pi * math.sqrt(a * b - c * c))

    def density(v, u):
        w = np.array([u, v])
        return norm * math.exp(-0.5 * w @ cov_inv @ w)

    lim = 12 * math.sqrt(max(a, b))
    value, _ = scipy.integrate.dblquad(
        lambda v, u: fn(u) * fn(v) * density(v, u), 0, lim, 0, lim, epsabs=1e-12
    )
    return value


@pytest.mark.parametrize(
    ("a", "b", "c"), [(1.0, 1.0, 0.3), (2.0, 0.5, -0.6), (3.0, 2.0, 2.3)]
)
def test_relu_closed_forms_match_quadrature(a, b, c):
    """Cho & Saul's arc-cosine formulas against direct integration over the quadrant."""

    def t(v):
        return torch.tensor(v, dtype=torch.float64)

    e_phi, e_dphi = gaussian_expectations("relu", t(a), t(b), t(c))
    assert abs(float(e_phi) - _expectation_by_quadrature(lambda u: u, a, b, c)) < 1e-8
    assert (
        abs(float(e_dphi) - _expectation_by_quadrature(lambda u: 1.0, a, b, c)) < 1e-8
    )


def test_relu_expectations_on_the_diagonal_are_exact():
    a = torch.tensor([0.3, 1.0, 7.5], dtype=torch.float64)
    e_phi, e_dphi = gaussian_expectations("relu", a, a, a)
    assert_close(e_phi, a / 2)  # E[relu(u)²] = a/2
    assert_close(e_dphi, torch.full_like(a, 0.5))


def test_expectations_follow_dtype():
    a = torch.ones(3, dtype=torch.float32)
    for name in KERNEL_ACTIVATIONS:
        e_phi, e_dphi = gaussian_expectations(name, a, a, 0.5 * a)
        assert e_phi.dtype == e_dphi.dtype == torch.float32


@pytest.mark.parametrize("name", ["tanh", "softplus"])
def test_no_closed_form_is_refused(name):
    one = torch.ones(1, dtype=torch.float64)
    with pytest.raises(ValueError, match="no closed-form"):
        gaussian_expectations(name, one, one, one)


def test_unknown_activation_names_the_argument():
    with pytest.raises(ValueError, match="activation must be one of"):
        get_activation("gelu")
