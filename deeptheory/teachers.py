"""Inputs and teachers of the teacher-student setting (shared/science.md §5.1–5.3).

* :func:`sample_inputs` — n points uniform on the unit sphere S^{d−1} (intrinsic dimension
  d − 1), uniform in the cube [0, 1]^d, or standard Gaussian in R^d, from an explicit
  ``torch.Generator``.
* :func:`gaussian_field` — draws of a centred Gaussian vector with covariance K, sampled
  jointly on all the points (train + test): y = L z with K + ε I = L Lᵀ (Cholesky, jitter
  ε = ``jitter`` · mean diag K, default 1e-10 as in the authors' code); if the Cholesky
  fails (K numerically singular, e.g. a Gaussian kernel on many points), the factor is
  L = V diag(√max(λ, 0)) from ``eigh`` instead, which adds no noise. Which one was used
  is returned.
* :func:`kernel_teacher` — the Gaussian-random-field teacher of any kernel: K = kernel(x)
  then :func:`gaussian_field`. With :func:`deeptheory.local_kernels.local_kernel` or
  ``conv_kernel`` as the kernel this is the local / convolutional teacher of Favero et al.
  (2021): Σ_i g_i(x_i)/√d, Σ_i g(x_i)/d with Gaussian fields g_i, g.
* :func:`random_network_teacher` — y(x) = h^(−1/2) Σ_n a_n relu(w_n·x)^k with a_n ~ N(0, 1),
  w_n ~ N(0, I_d), streamed over the h neurons: for h → ∞ a Gaussian field of covariance
  ½ k_k (the arc-cosine kernel of :func:`deeptheory.stationary_kernels.arccos_kernel`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from deeptheory._validation import check_choice, check_float, check_int, check_tensor

Tensor = torch.Tensor

__all__ = [
    "DOMAINS",
    "FieldSample",
    "gaussian_field",
    "kernel_teacher",
    "random_network_teacher",
    "sample_inputs",
]

DOMAINS = ("sphere", "cube", "gaussian")


def sample_inputs(
    n: int,
    d: int,
    *,
    domain: str = "sphere",
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """n points in R^d: uniform on the unit sphere, uniform in [0, 1]^d, or N(0, I_d)."""
    check_int("n", n, minimum=0)
    check_int("d", d, minimum=1)
    check_choice("domain", domain, DOMAINS)
    if domain == "cube":
        return torch.rand(n, d, generator=generator, dtype=dtype, device=device)
    x = torch.randn(n, d, generator=generator, dtype=dtype, device=device)
    if domain == "sphere":
        x = x / x.norm(dim=1, keepdim=True)
    return x


@dataclass(frozen=True)
class FieldSample:
    """Draws of a Gaussian field: ``values`` (n, draws); ``method`` "cholesky" or "eigh"."""

    values: Tensor
    method: str


def gaussian_field(
    K: Tensor, *, draws: int = 1, generator: torch.Generator, jitter: float = 1e-10
) -> FieldSample:
    """``draws`` samples of N(0, K) on the n points of the (n, n) covariance K.

    Cholesky of K + jitter·mean(diag K)·I first; ``eigh`` with negative eigenvalues set
    to zero when that fails (module docstring). Values are (n, draws), dtype/device of K.
    """
    check_tensor("K", K, ndim=2)
    n = K.shape[0]
    if K.shape != (n, n):
        raise ValueError(f"K must be square; got shape {tuple(K.shape)}")
    check_int("draws", draws, minimum=1)
    check_float("jitter", jitter, minimum=0.0)
    z = torch.randn(n, draws, generator=generator, dtype=K.dtype, device=K.device)
    if n == 0:
        return FieldSample(z, "cholesky")
    eps = jitter * float(K.diagonal().mean())
    A = K + eps * torch.eye(n, dtype=K.dtype, device=K.device)
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) == 0:
        return FieldSample(L @ z, "cholesky")
    lam, V = torch.linalg.eigh(0.5 * (K + K.T))
    return FieldSample(V @ (lam.clamp(min=0).sqrt()[:, None] * z), "eigh")


def kernel_teacher(
    kernel: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    draws: int = 1,
    generator: torch.Generator,
    jitter: float = 1e-10,
) -> FieldSample:
    """A Gaussian-random-field teacher of covariance ``kernel(x)`` on the points x."""
    check_tensor("x", x, ndim=2)
    return gaussian_field(kernel(x), draws=draws, generator=generator, jitter=jitter)


def random_network_teacher(
    x: Tensor,
    *,
    width: int,
    degree: int = 1,
    draws: int = 1,
    generator: torch.Generator,
    batch: int = 4096,
) -> Tensor:
    """y(x) = h^(−1/2) Σ_n a_n relu(w_n·x)^k, (n, draws); covariance → ½ k_k as h → ∞.

    The ``width`` h neurons are generated ``batch`` at a time, so h may be large (the
    PCSL teacher streams 1e4 at a time); each draw has its own neurons.
    """
    x = check_tensor("x", x, ndim=2)
    check_int("width", width, minimum=1)
    check_int("degree", degree, minimum=0)
    check_int("draws", draws, minimum=1)
    check_int("batch", batch, minimum=1)
    d = x.shape[1]
    y = x.new_zeros(len(x), draws)
    for r in range(draws):
        for start in range(0, width, batch):
            h = min(batch, width - start)
            w = torch.randn(d, h, generator=generator, dtype=x.dtype, device=x.device)
            a = torch.randn(h, generator=generator, dtype=x.dtype, device=x.device)
            z = x @ w
            phi = (z > 0).to(x.dtype) if degree == 0 else torch.relu(z) ** degree
            y[:, r] += phi @ a
    return y / math.sqrt(width)
