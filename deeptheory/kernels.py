"""Infinite-width NNGP and NTK of fully connected networks.

Convention (neural-tangents' ``stax.Dense(..., W_std=σ_w, b_std=σ_b,
parameterization="ntk")``, and :class:`deeptheory.models.FCNet` with ``"ntk"``): with
W, b ~ N(0, 1),

    z¹ = σ_w/√d · W x + σ_b b,      z^{l+1} = σ_w/√n_l · W φ(z^l) + σ_b b.

As every width n_l → ∞ (Jacot, Gabriel, Hongler 2018, arXiv 1806.07572, Thm 1):

    Σ¹(x, x')      = σ_w² x·x'/d + σ_b²                               Θ¹ = Σ¹
    Σ^{l+1}(x, x') = σ_w² E[φ(u) φ(v)] + σ_b²
    Θ^{l+1}(x, x') = σ_w² E[φ'(u) φ'(v)] Θ^l(x, x') + Σ^{l+1}(x, x')

with (u, v) ~ N(0, [[Σ^l(x,x), Σ^l(x,x')], [Σ^l(x,x'), Σ^l(x',x')]]). For L hidden layers
the network output has NNGP Σ^{L+1} and NTK Θ^{L+1}. For ReLU the expectations are the
arc-cosine kernels of Cho & Saul 2009 (see :mod:`deeptheory.activations`); activations
without a closed form (tanh, softplus) are refused rather than approximated.

Accuracy: the arc-cosine kernels have a cusp at θ = 0 (E[φ'φ'] is linear in θ ≈ √(2(1 − ρ))),
so computing θ from a rounded correlation ρ = c/√(ab) would cost ~1e-8 near the diagonal. The
recursion therefore carries the determinant a b − c² of each pair's covariance, computed
without cancellation (Kahan's angle formula at the first layer, then a closed-form update), and
θ = atan2(√(ab − c²), c) is accurate to rounding for every pair, parallel inputs included.

A network with k outputs has kernel Θ ⊗ I_k, so the *trace* returned by
:func:`deeptheory.ntk.empirical_ntk` converges to k Θ.
"""

from __future__ import annotations

import torch

from deeptheory._validation import (
    check_choice,
    check_float,
    check_int,
    check_same_kind,
    check_tensor,
)
from deeptheory.activations import KERNEL_ACTIVATIONS, get_activation

Tensor = torch.Tensor


def fc_kernels(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    hidden_layers: int,
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    activation: str = "relu",
) -> tuple[Tensor, Tensor]:
    """Infinite-width (NNGP, NTK) of a fully connected network, in the NTK convention.

    Args:
      x1: (n1, d) inputs.
      x2: (n2, d) inputs; None means x2 = x1 (half the pairs; exactly symmetric).
      hidden_layers: L ≥ 0 hidden layers (L + 1 weight layers).
      weight_std: σ_w. bias_std: σ_b. activation: ``"relu"``, ``"sqrt2_relu"`` or
        ``"linear"`` (those with closed forms, ``KERNEL_ACTIVATIONS``).

    Returns:
      ``(nngp, ntk)``, each (n1, n2), dtype and device of ``x1``.

    Example:
      >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64) * 2**0.5
      >>> nngp, ntk = fc_kernels(x, hidden_layers=1, activation="sqrt2_relu")
      >>> ntk.diagonal()  # Θ(x, x) = L + 1 when ‖x‖² = d
      tensor([2., 2.], dtype=torch.float64)
    """
    check_int("hidden_layers", hidden_layers, minimum=0)
    sw2 = check_float("weight_std", weight_std, minimum=0.0) ** 2
    sb2 = check_float("bias_std", bias_std, minimum=0.0) ** 2
    check_choice("activation", activation, KERNEL_ACTIVATIONS)
    x1 = check_tensor("x1", x1, ndim=2)
    symmetric = x2 is None
    if x2 is None:
        x2 = x1
    else:
        x2 = check_tensor("x2", x2, ndim=2, last_dim=x1.shape[1])
        check_same_kind("x2", x2, "x1", x1)
    kernel = get_activation(activation).kernel
    assert kernel is not None  # KERNEL_ACTIVATIONS have one
    m = kernel.second_moment

    # Layer 1: Σ¹ = s x·x' + σ_b² with s = σ_w²/d, each point's variance, and the
    # determinant a b − c² of every pair's 2×2 covariance, without cancellation.
    s = sw2 / x1.shape[1]
    a = s * (x1 * x1).sum(-1) + sb2  # (n1,)
    b = a if symmetric else s * (x2 * x2).sum(-1) + sb2  # (n2,)
    sigma = s * (x1 @ x2.T) + sb2  # (n1, n2)
    det = _first_layer_det(x1, x2, a, b, sigma, s, sb2)
    if symmetric:
        sigma.diagonal().copy_(a)
        det.diagonal().zero_()
    theta = sigma
    for _ in range(hidden_layers):
        moments = kernel.moments(a[:, None], b[None, :], sigma, det)
        sigma = sw2 * moments.e_phi + sb2
        theta = sw2 * moments.e_dphi * theta + sigma
        # with A = σ_w² m a and B = σ_w² m b, so that Σ' = √(AB) ρ₁ + σ_b²:
        # a'b' − c'² = AB(1 − ρ₁)(1 + ρ₁) + σ_b² ((√A − √B)² + 2√(AB)(1 − ρ₁)) ≥ 0
        big_a, big_b = sw2 * m * a[:, None], sw2 * m * b[None, :]
        one_minus_rho = moments.one_minus_rho
        gap = (torch.sqrt(big_a) - torch.sqrt(big_b)) ** 2 + 2 * torch.sqrt(
            big_a * big_b
        ) * one_minus_rho
        det = big_a * big_b * one_minus_rho * (1 + moments.rho) + sb2 * gap
        a = sw2 * m * a + sb2
        b = a if symmetric else sw2 * m * b + sb2
        if symmetric:
            sigma.diagonal().copy_(a)
            det.diagonal().zero_()
    return sigma, theta


#: Pairs whose determinant is below this fraction of a·b are recomputed from the vectors.
_NEAR_PARALLEL = 1e-4


def _first_layer_det(
    x1: Tensor, x2: Tensor, a: Tensor, b: Tensor, c: Tensor, s: float, sb2: float
) -> Tensor:
    """det = a b − c² = s² (‖x‖²‖x'‖² − (x·x')²) + s σ_b² ‖x − x'‖², accurately.

    The matmul form a b − c² cancels for nearly parallel pairs (it would move θ by ~1e-8
    there); those pairs are recomputed from the vectors with Kahan's angle
    φ = 2 atan2(‖x̂ − x̂'‖, ‖x̂ + x̂'‖), so ‖x‖²‖x'‖² − (x·x')² = (‖x‖‖x'‖ sin φ)².
    """
    ab = a[:, None] * b[None, :]
    det = torch.clamp(ab - c * c, min=0.0)
    rows, cols = torch.nonzero(det <= _NEAR_PARALLEL * ab, as_tuple=True)
    for start in range(0, len(rows), 65536):
        i, j = rows[start : start + 65536], cols[start : start + 65536]
        u, v = x1[i], x2[j]  # (K, d)
        nu, nv = u.norm(dim=-1), v.norm(dim=-1)
        nonzero = (nu > 0) & (nv > 0)
        safe_u = u / torch.where(nonzero, nu, 1.0)[:, None]
        safe_v = v / torch.where(nonzero, nv, 1.0)[:, None]
        phi = 2 * torch.atan2(
            (safe_u - safe_v).norm(dim=-1), (safe_u + safe_v).norm(dim=-1)
        )
        cross = torch.where(nonzero, nu * nv * torch.sin(phi), torch.zeros_like(nu))
        det[i, j] = s * s * cross * cross + s * sb2 * ((u - v) ** 2).sum(-1)
    return det
