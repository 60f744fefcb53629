"""Kernels of the teacher-student papers: Laplace, Gaussian, Matérn-ν and arc-cosine.

All are batched functions ``kernel(x1, x2=None, ...) -> (n1, n2)`` of two input sets
(``x2=None``: x2 = x1, exactly symmetric with the exact diagonal), in the dtype and on the
device of ``x1``. With r = ‖x − x'‖ and a length scale σ (Spigler, Geiger & Wyart 2020,
arXiv:1905.10843; shared/science.md §5.1):

* Laplace      k(r) = exp(−r/σ)                     Fourier tail ‖w‖^(−α), α = d + 1
* Gaussian     k(r) = exp(−r²/(2σ²))                α = ∞ (faster than any power)
* Matérn-ν     k(r) = 2^(1−ν)/Γ(ν) (√(2ν) r/σ)^ν K_ν(√(2ν) r/σ)     α = d + 2ν
  (ν = ½ is Laplace, ν = 3/2 is (1 + √3 r/σ) e^(−√3 r/σ), ν → ∞ is Gaussian)
* arc-cosine of degree n (Cho & Saul 2009):
  k_n(x, x') = (1/π) ‖x‖ⁿ ‖x'‖ⁿ J_n(θ), θ = angle(x, x'), with
  J₀ = π − θ, J₁ = sin θ + (π − θ) cos θ, J₂ = 3 sin θ cos θ + (π − θ)(1 + 2 cos² θ);
  k_n = 2 E_w[relu(w·x)ⁿ relu(w·x')ⁿ] for w ~ N(0, I_d).

Accuracy: for d ≤ 64 distances are computed from the differences (``torch.cdist``
without the matmul form). Above, they come from the matmul form ‖x‖² + ‖x'‖² − 2 x·x',
which cancels for nearby pairs (Laplace has a cusp at r = 0, so an error ε in r² would
cost √ε in k); pairs with r² below 1e-4 (‖x‖² + ‖x'‖²) are then recomputed from the
differences, so every entry is accurate to rounding either way. Angles use Kahan's
θ = 2 atan2(‖x̂ − x̂'‖, ‖x̂ + x̂'‖).

Example:
  >>> x = torch.zeros(2, 3, dtype=torch.float64); x[1, 0] = 1.0
  >>> laplace_kernel(x)
  tensor([[1.0000, 0.3679],
          [0.3679, 1.0000]], dtype=torch.float64)
"""

from __future__ import annotations

import math

import torch

from deeptheory._validation import (
    check_float,
    check_int,
    check_same_kind,
    check_tensor,
)

Tensor = torch.Tensor

__all__ = [
    "arccos_kernel",
    "gaussian_kernel",
    "laplace_kernel",
    "matern_kernel",
    "pairwise_distances",
]

#: Pairs with r² below this fraction of ‖x‖² + ‖x'‖² are recomputed from the differences.
_NEAR = 1e-4
_CHUNK = 65536
#: Up to this input dimension distances are computed from the differences directly.
_DIRECT_MAX_D = 64


def _inputs(x1: Tensor, x2: Tensor | None) -> tuple[Tensor, Tensor, bool]:
    x1 = check_tensor("x1", x1, ndim=2)
    if x2 is None:
        return x1, x1, True
    x2 = check_tensor("x2", x2, ndim=2, last_dim=x1.shape[1])
    check_same_kind("x2", x2, "x1", x1)
    return x1, x2, False


def _squared_distances(x1: Tensor, x2: Tensor, symmetric: bool) -> Tensor:
    """‖x − x'‖², (n1, n2), accurate to rounding for every pair (see the docstring)."""
    n1, n2 = (x1 * x1).sum(-1), (x2 * x2).sum(-1)
    scale = n1[:, None] + n2[None, :]
    sq = torch.clamp(scale - 2 * (x1 @ x2.T), min=0.0)
    rows, cols = torch.nonzero(sq <= _NEAR * scale, as_tuple=True)
    for start in range(0, len(rows), _CHUNK):
        i, j = rows[start : start + _CHUNK], cols[start : start + _CHUNK]
        sq[i, j] = ((x1[i] - x2[j]) ** 2).sum(-1)
    if symmetric:
        sq.diagonal().zero_()
        sq = 0.5 * (sq + sq.T)  # exactly symmetric
    return sq


def pairwise_distances(x1: Tensor, x2: Tensor | None = None) -> Tensor:
    """Euclidean distances ‖x1_a − x2_b‖, (n1, n2), accurate for nearby pairs too.

    For d ≤ ``_DIRECT_MAX_D`` straight from the differences (``torch.cdist`` without the
    matmul form: one fused pass, exactly symmetric, ~10× faster than the matmul path at
    d = 3); above it the matmul form with nearby pairs recomputed.
    """
    x1, x2, symmetric = _inputs(x1, x2)
    if x1.shape[1] <= _DIRECT_MAX_D:
        return torch.cdist(x1, x2, compute_mode="donot_use_mm_for_euclid_dist")
    return _squared_distances(x1, x2, symmetric).sqrt()


def laplace_kernel(
    x1: Tensor, x2: Tensor | None = None, *, sigma: float = 1.0
) -> Tensor:
    """exp(−‖x − x'‖/σ), (n1, n2)."""
    sigma = _positive("sigma", sigma)
    return torch.exp(-pairwise_distances(x1, x2) / sigma)


def gaussian_kernel(
    x1: Tensor, x2: Tensor | None = None, *, sigma: float = 1.0
) -> Tensor:
    """exp(−‖x − x'‖²/(2σ²)), (n1, n2)."""
    sigma = _positive("sigma", sigma)
    return torch.exp(-pairwise_distances(x1, x2).square() / (2 * sigma**2))


def matern_kernel(
    x1: Tensor, x2: Tensor | None = None, *, nu: float, sigma: float = 1.0
) -> Tensor:
    """Matérn-ν kernel (module docstring), (n1, n2).

    ν ∈ {½, 3/2, 5/2} and ν = ∞ (``math.inf``: the Gaussian kernel) use closed forms in
    torch; any other ν > 0 evaluates K_ν with ``scipy.special.kv`` on the CPU in float64
    and returns the result in the dtype and on the device of ``x1``.
    """
    sigma = _positive("sigma", sigma)
    if isinstance(nu, bool) or not isinstance(nu, int | float) or not nu > 0:
        raise ValueError(f"nu must be a positive number (or math.inf); got {nu!r}")
    if math.isinf(nu):
        return gaussian_kernel(x1, x2, sigma=sigma)
    z = math.sqrt(2 * nu) * pairwise_distances(x1, x2) / sigma
    if nu == 0.5:
        return torch.exp(-z)
    if nu == 1.5:
        return (1 + z) * torch.exp(-z)
    if nu == 2.5:
        return (1 + z + z * z / 3) * torch.exp(-z)
    import numpy as np
    import scipy.special

    zn = z.detach().cpu().double().numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        k = 2 ** (1 - nu) / scipy.special.gamma(nu) * zn**nu * scipy.special.kv(nu, zn)
    k = np.where(zn == 0, 1.0, np.nan_to_num(k, nan=1.0))  # z → 0: k → 1
    k = np.where(zn > 700, 0.0, k)  # K_ν underflows
    return torch.as_tensor(k, dtype=z.dtype, device=z.device)


def arccos_kernel(x1: Tensor, x2: Tensor | None = None, *, degree: int = 1) -> Tensor:
    """Cho & Saul's arc-cosine kernel k_n(x, x') = (1/π) ‖x‖ⁿ‖x'‖ⁿ J_n(θ), n ∈ {0, 1, 2}.

    k_n = 2 E_w[relu(w·x)ⁿ relu(w·x')ⁿ], w ~ N(0, I_d); k₁ is the NNGP of a one-hidden-
    layer ReLU net up to the scale: k₁(x, x') = 2d Σ²(x, x') of
    :func:`deeptheory.kernels.fc_kernels` (σ_w = 1, no bias). A zero input has θ = π/2
    by convention (it only matters for n = 0, where k₀(0, x') = ½).
    """
    check_int("degree", degree, minimum=0)
    if degree > 2:
        raise ValueError(f"degree must be 0, 1 or 2; got {degree}")
    x1, x2, symmetric = _inputs(x1, x2)
    r1, r2 = x1.norm(dim=-1), x2.norm(dim=-1)
    u = x1 / torch.where(r1 > 0, r1, 1.0)[:, None]
    v = x2 / torch.where(r2 > 0, r2, 1.0)[:, None]
    # ‖û − v̂‖², ‖û + v̂‖² for unit vectors: 2 ∓ 2 û·v̂, accurate where each is not small
    dot = u @ v.T
    minus = torch.clamp(2 - 2 * dot, min=0.0)
    plus = torch.clamp(2 + 2 * dot, min=0.0)
    for sq, sign in ((minus, -1.0), (plus, 1.0)):
        rows, cols = torch.nonzero(sq <= 1e-2, as_tuple=True)
        for start in range(0, len(rows), _CHUNK):
            i, j = rows[start : start + _CHUNK], cols[start : start + _CHUNK]
            sq[i, j] = ((u[i] + sign * v[j]) ** 2).sum(-1)
    theta = 2 * torch.atan2(minus.sqrt(), plus.sqrt())
    zero = (r1 == 0)[:, None] | (r2 == 0)[None, :]
    theta = torch.where(zero, torch.full_like(theta, math.pi / 2), theta)
    if symmetric:
        theta.diagonal().copy_(torch.where(r1 == 0, math.pi / 2, 0.0))
    s, c, rest = torch.sin(theta), torch.cos(theta), math.pi - theta
    if degree == 0:
        j = rest
    elif degree == 1:
        j = s + rest * c
    else:
        j = 3 * s * c + rest * (1 + 2 * c * c)
    k = (r1[:, None] * r2[None, :]) ** degree * j / math.pi
    if symmetric:
        k = 0.5 * (k + k.T)
    return k


def _positive(name: str, value: float) -> float:
    value = check_float(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value
