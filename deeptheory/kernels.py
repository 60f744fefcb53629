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
from deeptheory.activations import KERNEL_ACTIVATIONS, gaussian_expectations

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
      x2: (n2, d) inputs; None means x2 = x1 (then the diagonal is exact: Θ(x, x)
        goes through θ = 0 rather than an arccos of a rounded 1).
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
    d = x1.shape[1]

    # Σ¹ on the pairs and on each point's diagonal.
    q1 = sw2 * (x1 * x1).sum(-1) / d + sb2  # (n1,)
    q2 = q1 if symmetric else sw2 * (x2 * x2).sum(-1) / d + sb2  # (n2,)
    sigma = sw2 * (x1 @ x2.T) / d + sb2  # (n1, n2)
    if symmetric:
        sigma.diagonal().copy_(q1)
    theta = sigma
    for _ in range(hidden_layers):
        e_phi, e_dphi = gaussian_expectations(activation, q1[:, None], q2[None, :], sigma)
        theta = sw2 * e_dphi * theta
        sigma = sw2 * e_phi + sb2
        theta = theta + sigma
        # the diagonals follow their own recursion with a = b = c
        e1, _ = gaussian_expectations(activation, q1, q1, q1)
        new_q1 = sw2 * e1 + sb2
        if symmetric:
            q1 = q2 = new_q1
            sigma.diagonal().copy_(q1)
        else:
            e2, _ = gaussian_expectations(activation, q2, q2, q2)
            q1, q2 = new_q1, sw2 * e2 + sb2
    return sigma, theta
