"""Input samplers, Gaussian-field teachers (statistical, seeded) and students."""

import functools
import math

import pytest
import torch

from deeptheory.local_kernels import local_kernel
from deeptheory.stationary_kernels import arccos_kernel, gaussian_kernel, laplace_kernel
from deeptheory.students import kernel_regression, random_features_regression
from deeptheory.teachers import (
    gaussian_field,
    kernel_teacher,
    random_network_teacher,
    sample_inputs,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_sample_inputs_domains_and_reproducibility():
    x = sample_inputs(500, 4, domain="sphere", generator=gen())
    assert torch.allclose(x.norm(dim=1), torch.ones(500, dtype=torch.float64))
    assert torch.equal(x, sample_inputs(500, 4, domain="sphere", generator=gen()))
    c = sample_inputs(500, 4, domain="cube", generator=gen())
    assert float(c.min()) >= 0 and float(c.max()) <= 1
    g = sample_inputs(4000, 2, domain="gaussian", generator=gen(), dtype=torch.float32)
    assert g.dtype == torch.float32 and abs(float(g.std()) - 1) < 0.05
    with pytest.raises(ValueError, match="domain"):
        sample_inputs(3, 2, domain="ball", generator=gen())


def empirical_covariance_error(K, draws, seed=1):
    """max |Ĉ − K| over the entries with 'draws' samples, in units of the standard
    error of an entry, √((K_ij² + K_ii K_jj)/draws)."""
    y = gaussian_field(K, draws=draws, generator=gen(seed))
    C = y.values @ y.values.T / draws
    se = ((K**2 + K.diagonal()[:, None] * K.diagonal()[None, :]) / draws).sqrt()
    return float(((C - K).abs() / se).max()), y.method


@pytest.mark.parametrize(
    "kernel",
    [laplace_kernel, functools.partial(local_kernel, patch_size=2)],
)
def test_field_covariance_matches_the_kernel(kernel):
    """20000 draws on 12 points: every entry within 4.5 standard errors (78 entries)."""
    x = sample_inputs(12, 4, domain="cube", generator=gen())
    z, method = empirical_covariance_error(kernel(x), 20_000)
    assert method == "cholesky" and z < 4.5


def test_singular_covariance_falls_back_to_eigh():
    """A Gaussian kernel on 300 close points is singular to rounding: the Cholesky
    with jitter 0 fails, eigh is used, and the covariance is still right."""
    x = sample_inputs(300, 2, domain="cube", generator=gen()) * 0.1
    K = gaussian_kernel(x)
    y = gaussian_field(K, draws=4, generator=gen(), jitter=0.0)
    assert y.method == "eigh" and y.values.shape == (300, 4)
    z, _ = empirical_covariance_error(K[:10, :10], 20_000)
    assert z < 4.5


def test_kernel_teacher_follows_dtype():
    x = sample_inputs(20, 3, generator=gen(), dtype=torch.float32)
    y = kernel_teacher(laplace_kernel, x, draws=2, generator=gen())
    assert y.values.dtype == torch.float32 and y.values.shape == (20, 2)


def test_random_network_teacher_covariance_is_half_arccos():
    """h = 2000 neurons × 3000 draws on 5 points: covariance → ½ k₁; entries within
    5 standard errors (the finite h adds no bias: the field is exactly Gaussian-mixture
    with covariance ½ k₁ at every h)."""
    x = sample_inputs(5, 3, generator=gen())
    y = random_network_teacher(x, width=2000, draws=3000, generator=gen(1), batch=700)
    C = y @ y.T / 3000
    K = 0.5 * arccos_kernel(x)
    se = ((K**2 + K.diagonal()[:, None] * K.diagonal()[None, :]) / 3000).sqrt()
    assert float(((C - K).abs() / se).max()) < 5


def test_kernel_regression_interpolates_and_matches_a_dense_solve():
    x = sample_inputs(50, 3, generator=gen())
    K = laplace_kernel(x)
    y = torch.randn(50, 3, generator=gen(2), dtype=torch.float64)
    fit = kernel_regression(K, y, K[:7], jitter=0.0)
    assert fit.method == "cholesky"
    assert torch.allclose(fit.predictions, y[:7], atol=1e-10)
    ridge = kernel_regression(K, y[:, 0], ridge=0.1)
    want = torch.linalg.solve(K + 50 * 0.1 * torch.eye(50, dtype=K.dtype), y[:, 0])
    assert torch.allclose(ridge.coefficients, want, atol=1e-12)


def test_kernel_regression_of_a_singular_gram_uses_eigh():
    """Duplicated points: K singular; the pseudo-inverse still fits consistent labels."""
    x = sample_inputs(20, 3, generator=gen())
    x = torch.cat([x, x[:5]])
    K = laplace_kernel(x)
    y = torch.sin(x.sum(1))
    fit = kernel_regression(K, y, K, jitter=0.0)
    assert fit.method == "eigh"
    assert torch.allclose(fit.predictions, y, atol=1e-8)


def test_relu_random_features_tend_to_the_kernel_regression():
    """N = 40000 relu features ≈ kernel k₁/(2d): ridge predictions agree to ~1e-2."""
    x = sample_inputs(30, 3, generator=gen())
    xt = sample_inputs(10, 3, generator=gen(5))
    y = torch.cos(3 * x[:, 0])
    rf = random_features_regression(
        x, y, xt, features=40_000, generator=gen(1), ridge=1e-3
    )
    K, Kt = arccos_kernel(x) / 6, arccos_kernel(xt, x) / 6
    exact = kernel_regression(K, y, Kt, ridge=1e-3).predictions
    assert float((rf - exact).abs().max()) < 0.05 * float(exact.abs().max())


def test_fourier_features_interpolate_when_overparametrised():
    x = sample_inputs(20, 2, generator=gen())
    y = torch.randn(20, generator=gen(3), dtype=torch.float64)
    pred = random_features_regression(
        x, y, x, features=400, generator=gen(1), kind="fourier"
    )
    assert torch.allclose(pred, y, atol=1e-8)
    with pytest.raises(ValueError, match="kind"):
        random_features_regression(x, y, x, features=4, generator=gen(), kind="tanh")
    assert math.isfinite(float(pred.sum()))
