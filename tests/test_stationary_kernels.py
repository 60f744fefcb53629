"""Laplace, Gaussian, Matérn-ν and arc-cosine kernels against slow obvious oracles."""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.special
import torch

from deeptheory.kernels import fc_kernels
from deeptheory.stationary_kernels import (
    arccos_kernel,
    gaussian_kernel,
    laplace_kernel,
    matern_kernel,
    pairwise_distances,
)
from deeptheory.testing import assert_psd

EXACT = dict(rtol=0, atol=1e-13)


def points(n=7, d=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype)


def loop(kernel_of_pair, x1, x2):
    """The oracle: one pair at a time, in float64 numpy."""
    a, b = x1.double().numpy(), x2.double().numpy()
    return torch.tensor(
        [[float(kernel_of_pair(u, v)) for v in b] for u in a], dtype=torch.float64
    )


def matern_pair(nu, sigma=1.0):
    def k(u, v):
        r = np.linalg.norm(u - v)
        if r == 0:
            return 1.0
        z = math.sqrt(2 * nu) * r / sigma
        return 2 ** (1 - nu) / math.gamma(nu) * z**nu * scipy.special.kv(nu, z)

    return k


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_laplace_and_gaussian_against_loops(sigma):
    x1, x2 = points(), points(5, seed=1)
    lap = loop(lambda u, v: math.exp(-np.linalg.norm(u - v) / sigma), x1, x2)
    gau = loop(lambda u, v: math.exp(-((u - v) ** 2).sum() / (2 * sigma**2)), x1, x2)
    assert torch.allclose(laplace_kernel(x1, x2, sigma=sigma), lap, **EXACT)
    assert torch.allclose(gaussian_kernel(x1, x2, sigma=sigma), gau, **EXACT)


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5, 0.8, 3.7])
def test_matern_against_the_bessel_formula(nu):
    x1, x2 = points(), points(5, seed=1)
    want = loop(matern_pair(nu, 0.7), x1, x2)
    assert torch.allclose(matern_kernel(x1, x2, nu=nu, sigma=0.7), want, atol=1e-12)


def test_matern_limits():
    """ν = ½ is Laplace exactly; ν → ∞ tends to the Gaussian (error ~ 1/ν)."""
    x = points()
    assert torch.equal(matern_kernel(x, nu=0.5), laplace_kernel(x))
    assert torch.equal(matern_kernel(x, nu=math.inf), gaussian_kernel(x))
    errs = [
        float((matern_kernel(x, nu=nu) - gaussian_kernel(x)).abs().max())
        for nu in (20.0, 80.0)
    ]
    assert errs[1] < errs[0] / 3 and errs[1] < 5e-3


@pytest.mark.parametrize("degree", [0, 1, 2])
def test_arccos_against_monte_carlo(degree):
    """k_n = 2 E_w[relu(w·x)ⁿ relu(w·x')ⁿ]: 4e5 samples, tolerance 5 standard errors."""
    x = points(4, 3, seed=2)
    g = torch.Generator().manual_seed(3)
    w = torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    z = x @ w.T
    phi = (z > 0).double() if degree == 0 else torch.relu(z) ** degree
    samples = 2 * phi[:, None, :] * phi[None, :, :]
    mc, se = samples.mean(-1), samples.std(-1) / math.sqrt(w.shape[0])
    assert ((arccos_kernel(x, degree=degree) - mc).abs() <= 5 * se + 1e-12).all()


def test_arccos_degree_one_is_the_relu_nngp():
    """k₁(x, x') = 2d Σ²(x, x') of one hidden ReLU layer (σ_w = 1, no bias)."""
    x1, x2 = points(6, 4), points(5, 4, seed=1)
    nngp, _ = fc_kernels(x1, x2, hidden_layers=1, activation="relu")
    assert torch.allclose(arccos_kernel(x1, x2, degree=1), 2 * 4 * nngp, atol=1e-13)


def test_arccos_closed_form_values():
    """On the unit circle: θ = 0, π/2, π give J₁ = π, 1, 0 and J₀ = π, π/2, 0."""
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    k1, k0 = arccos_kernel(x, degree=1)[0], arccos_kernel(x, degree=0)[0]
    assert torch.allclose(
        k1, torch.tensor([1.0, 1 / math.pi, 0.0], dtype=torch.float64), atol=1e-15
    )
    assert torch.allclose(
        k0, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64), atol=1e-15
    )


def test_matmul_path_for_large_d_agrees_with_the_differences():
    """d = 100 > 64 takes the matmul path: nearby pairs recomputed, exact zeros."""
    x = points(30, 100)
    y = torch.cat([x[:10] + 1e-9, points(5, 100, seed=4)])
    want = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")
    assert torch.allclose(pairwise_distances(x, y), want, rtol=1e-12, atol=1e-20)
    assert torch.equal(pairwise_distances(x).diagonal(), torch.zeros(30).double())


def test_nearby_pairs_are_accurate():
    """A pair at distance ~1e-9 from large points: distance and angle to rounding
    against 50-digit mpmath (the matmul form alone would be off by ~1e-8 in r)."""
    x = torch.tensor([[1e3, 2e3, -1e3]], dtype=torch.float64)
    y = x + torch.tensor([[1e-9, 0.0, 0.0]], dtype=torch.float64)
    u, v = [mp.matrix(t[0].tolist()) for t in (x, y)]
    with mp.workdps(50):
        r = mp.norm(u - v)
        theta = mp.acos(
            sum(a * b for a, b in zip(u, v, strict=True)) / (mp.norm(u) * mp.norm(v))
        )
    assert abs(float(pairwise_distances(x, y)[0, 0]) - float(r)) < 1e-22
    got = math.pi - math.pi * float(arccos_kernel(x, y, degree=0)[0, 0])
    assert abs(got - float(theta)) < 1e-15 + 1e-6 * float(theta)


@pytest.mark.parametrize(
    "kernel",
    [
        laplace_kernel,
        gaussian_kernel,
        lambda x, y=None: matern_kernel(x, y, nu=1.5),
        lambda x, y=None: matern_kernel(x, y, nu=0.8),
        arccos_kernel,
        lambda x, y=None: arccos_kernel(x, y, degree=2),
    ],
)
def test_psd_symmetric_and_follows_dtype(kernel):
    x = points(40, 3)
    K = kernel(x)
    assert torch.equal(K, K.T)
    assert_psd(K, rtol=1e-12)
    K32 = kernel(x.float())
    assert K32.dtype == torch.float32
    assert torch.allclose(K32.double(), K, atol=1e-5)
    assert torch.allclose(kernel(x, x[:5]), K[:, :5], atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_kernels_on_cuda_equal_cpu():
    """Device following: the same code on CUDA (skipped on these CPU-only machines)."""
    from deeptheory.local_kernels import conv_kernel, local_kernel

    x = points(20, 6)
    for kernel in (
        laplace_kernel,
        gaussian_kernel,
        lambda x: matern_kernel(x, nu=1.5),
        lambda x: matern_kernel(x, nu=0.8),
        arccos_kernel,
        lambda x: local_kernel(x, patch_size=2),
        lambda x: conv_kernel(x, patch_size=3),
    ):
        on_gpu = kernel(x.cuda())
        assert on_gpu.device.type == "cuda"
        assert torch.allclose(on_gpu.cpu(), kernel(x), atol=1e-12)


def test_errors_name_the_argument():
    x = points()
    with pytest.raises(ValueError, match="sigma"):
        laplace_kernel(x, sigma=0.0)
    with pytest.raises(ValueError, match="nu"):
        matern_kernel(x, nu=-1.0)
    with pytest.raises(ValueError, match="degree"):
        arccos_kernel(x, degree=3)
    with pytest.raises(ValueError, match="x2"):
        laplace_kernel(x, points(3, 4))
    with pytest.raises(TypeError, match="x2"):
        laplace_kernel(x, x.float())
