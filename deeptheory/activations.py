"""Activation functions, their derivatives and their Gaussian expectations.

One registry serves the finite networks (:mod:`deeptheory.models`), the structured NTK path
(:mod:`deeptheory.ntk`) and the infinite-width kernels (:mod:`deeptheory.kernels`), so the
three always agree on what e.g. ``"softplus"`` means.

Names (``ACTIVATIONS``):

============== ============================================== ================================
name           φ(z)                                           source
============== ============================================== ================================
``relu``       max(0, z)                                      Jacot et al. 2018
``sqrt2_relu`` √2 · max(0, z)  (E φ(z)² = 1 for z ~ N(0, 1))  Geiger et al. 2019 (``act``)
``softplus``   c · log(1 + e^{5z}) / 5, c such that E φ² = 1  Geiger et al. 2019 (spbeta = 5)
``tanh``       tanh(z)
``linear``     z
============== ============================================== ================================

The derivative of ReLU at 0 is taken to be 0, as torch's autograd does.

Gaussian expectations: for (u, v) ~ N(0, [[a, c], [c, b]]) the kernels need
``E[φ(u) φ(v)]`` and ``E[φ'(u) φ'(v)]``. ReLU and linear have closed forms (the arc-cosine
kernels of Cho & Saul 2009, with θ = arccos(c/√(ab))):

    E[relu(u) relu(v)] = √(ab)/(2π) · (sin θ + (π − θ) cos θ),   E[1{u>0} 1{v>0}] = (π − θ)/(2π)

``tanh`` and ``softplus`` have no closed form. A tensor-product Gauss–Hermite rule was tried
and rejected: E[φ'(u)φ'(v)] for softplus (curvature on the scale 1/5) was off by 1e-3 with 96
nodes per dimension and still by 3e-8 with 800, at correlations near 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.integrate
import torch
import torch.nn.functional as F

from deeptheory._validation import check_choice

Tensor = torch.Tensor

#: Sharpness of the softplus activation, as in Geiger et al. 2019 (``--spbeta 5``).
SOFTPLUS_BETA = 5.0


def _unit_second_moment_scale(fn: Callable[[float], float]) -> float:
    """1/√E[fn(z)²] for z ~ N(0, 1), by adaptive quadrature (relative error ~1e-13)."""
    integrand = lambda z: fn(z) ** 2 * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    moment, _ = scipy.integrate.quad(
        integrand, -40.0, 40.0, epsabs=0, epsrel=1e-13, limit=500
    )
    return 1.0 / math.sqrt(moment)


#: c such that E[(c softplus_5(z))²] = 1 for z ~ N(0, 1) (≈ 1.40438).
SOFTPLUS_SCALE = _unit_second_moment_scale(
    lambda z: float(np.logaddexp(0.0, SOFTPLUS_BETA * z)) / SOFTPLUS_BETA
)


@dataclass(frozen=True)
class HomogeneousKernel:
    """Gaussian expectations of a positively 1-homogeneous φ (φ(λz) = λφ(z), λ > 0).

    For (u, v) ~ N(0, [[a, c], [c, b]]) with angle θ = atan2(√(ab − c²), c):

        E[φ(u) φ(v)] = m √(ab) ρ₁(θ),        E[φ'(u) φ'(v)] = κ(θ),

    where m = E[φ(z)²] for z ~ N(0, 1) and ρ₁(0) = 1. ``correlation`` also returns
    1 − ρ₁(θ) computed without cancellation, so that kernels stay accurate for nearly
    parallel inputs (where ρ₁ → 1 and the arc-cosine kernels have their cusp).

    Attributes:
      second_moment: m.
      correlation: θ ↦ (ρ₁(θ), 1 − ρ₁(θ)).
      derivative_kernel: θ ↦ κ(θ).
      degenerate_derivative: E[φ'(u)φ'(v)] when a variance is 0 (u ≡ 0): φ'(0) E[φ'(v)].
    """

    second_moment: float
    correlation: Callable[[Tensor], tuple[Tensor, Tensor]]
    derivative_kernel: Callable[[Tensor], Tensor]
    degenerate_derivative: float

    def moments(self, a: Tensor, b: Tensor, c: Tensor, det: Tensor) -> GaussianMoments:
        """The expectations for variances a, b, covariance c and det = ab − c² ≥ 0.

        ``det`` is passed in, not recomputed, so that a caller holding it more
        accurately than ``ab − c*c`` (the kernel recursion) keeps that accuracy.
        """
        theta = torch.atan2(torch.sqrt(det), c)
        rho, one_minus_rho = self.correlation(theta)
        ab = a * b
        e_dphi = torch.where(
            ab > 0,
            self.derivative_kernel(theta),
            torch.full_like(ab, self.degenerate_derivative),
        )
        e_phi = self.second_moment * torch.sqrt(ab) * rho
        return GaussianMoments(e_phi, e_dphi, rho, one_minus_rho)


class GaussianMoments(NamedTuple):
    """E[φ(u)φ(v)], E[φ'(u)φ'(v)], and the correlation ρ₁(θ) with 1 − ρ₁(θ)."""

    e_phi: Tensor
    e_dphi: Tensor
    rho: Tensor
    one_minus_rho: Tensor


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity with what the NTK machinery needs to know about it.

    Attributes:
      name: registry name.
      fn: φ, elementwise on tensors.
      derivative: φ', elementwise on tensors.
      kernel: closed-form Gaussian expectations, or None where there are none.
      derivative_: φ' computed in the buffer of its argument (which it overwrites), or
        None to fall back on ``derivative``; saves a temporary in the structured NTK.
    """

    name: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    kernel: HomogeneousKernel | None = None
    derivative_: Callable[[Tensor], Tensor] | None = None

    def derivative_overwriting(self, z: Tensor) -> Tensor:
        """φ'(z), possibly written over z (do not use z afterwards)."""
        return self.derivative(z) if self.derivative_ is None else self.derivative_(z)


def _theta_minus_sin(theta: Tensor) -> Tensor:
    """θ − sin θ without cancellation (Taylor series below θ = 0.5, error < 1e-15)."""
    t2 = theta * theta
    series = (
        theta * t2 / 6 * (1 - t2 / 20 * (1 - t2 / 42 * (1 - t2 / 72 * (1 - t2 / 110))))
    )
    return torch.where(theta < 0.5, series, theta - torch.sin(theta))


def _arccos_correlation(theta: Tensor) -> tuple[Tensor, Tensor]:
    """ρ₁ = (sin θ + (π − θ) cos θ)/π (Cho & Saul's J₁/π), and 1 − ρ₁ as a sum of positives."""
    rho = (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / math.pi
    half = torch.sin(theta / 2)
    complement = (
        (math.pi - theta) * 2 * half * half + _theta_minus_sin(theta)
    ) / math.pi
    return rho, complement


def _cos_correlation(theta: Tensor) -> tuple[Tensor, Tensor]:
    half = torch.sin(theta / 2)
    return torch.cos(theta), 2 * half * half


RELU_KERNEL = HomogeneousKernel(
    second_moment=0.5,
    correlation=_arccos_correlation,
    derivative_kernel=lambda theta: (math.pi - theta) / (2 * math.pi),
    degenerate_derivative=0.0,  # relu'(0) = 0
)
SQRT2_RELU_KERNEL = HomogeneousKernel(
    second_moment=1.0,
    correlation=_arccos_correlation,
    derivative_kernel=lambda theta: (math.pi - theta) / math.pi,
    degenerate_derivative=0.0,
)
LINEAR_KERNEL = HomogeneousKernel(
    second_moment=1.0,
    correlation=_cos_correlation,
    derivative_kernel=torch.ones_like,
    degenerate_derivative=1.0,
)


def _relu_derivative(z: Tensor) -> Tensor:
    return (z > 0).to(z.dtype)


def _softplus(z: Tensor) -> Tensor:
    return SOFTPLUS_SCALE * F.softplus(z, beta=SOFTPLUS_BETA)


def _softplus_derivative(z: Tensor) -> Tensor:
    return SOFTPLUS_SCALE * torch.sigmoid(SOFTPLUS_BETA * z)


def _tanh_derivative(z: Tensor) -> Tensor:
    return 1 - torch.tanh(z) ** 2


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        "relu", torch.relu, _relu_derivative, RELU_KERNEL, lambda z: z.gt_(0)
    ),
    "sqrt2_relu": Activation(
        "sqrt2_relu",
        lambda z: math.sqrt(2.0) * torch.relu(z),
        lambda z: math.sqrt(2.0) * _relu_derivative(z),
        SQRT2_RELU_KERNEL,
        lambda z: z.gt_(0).mul_(math.sqrt(2.0)),
    ),
    "softplus": Activation("softplus", _softplus, _softplus_derivative),
    "tanh": Activation("tanh", torch.tanh, _tanh_derivative),
    "linear": Activation("linear", lambda z: z, torch.ones_like, LINEAR_KERNEL),
}


def get_activation(name: str) -> Activation:
    """Look up an activation by name; raise ``ValueError`` listing the names otherwise."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


KERNEL_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.kernel)


def gaussian_expectations(
    activation: Activation | str, a: Tensor, b: Tensor, c: Tensor
) -> tuple[Tensor, Tensor]:
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for (u, v) ~ N(0, [[a, c], [c, b]]), elementwise.

    Args:
      activation: an :class:`Activation` with a closed form, or its name
        (one of ``KERNEL_ACTIVATIONS``).
      a, b, c: broadcastable tensors of variances (a, b ≥ 0) and covariances.

    Returns:
      Two tensors of the broadcast shape, dtype and device of the inputs.
    """
    act = get_activation(activation) if isinstance(activation, str) else activation
    if act.kernel is None:
        raise ValueError(
            f"activation {act.name!r} has no closed-form Gaussian expectations; "
            f"analytic kernels are available for {', '.join(KERNEL_ACTIVATIONS)} "
            "(for others, average the empirical NTK of wide networks)"
        )
    a, b, c = torch.broadcast_tensors(a, b, c)
    moments = act.kernel.moments(a, b, c, torch.clamp(a * b - c * c, min=0.0))
    return moments.e_phi, moments.e_dphi
