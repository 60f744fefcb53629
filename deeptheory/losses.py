"""Margin losses l(z) of a binary classifier, z = y F(x) with labels y = ±1.

Geiger, Spigler, Jacot & Wyart (2020, arXiv:1906.08034) and Paccolat et al. (2021,
arXiv:2007.11471) train on these; every one is minimal (zero, or smallest) at margin z ≥ 1
except the MSE:

=================  =======================================  ==========================
``"hinge"``        l(z) = max(0, 1 − z)                      l'(z) = −1 if z < 1 else 0
``"soft_hinge"``   l(z) = softplus(β(1 − z)) / β  (β = 20)   l'(z) = −sigmoid(β(1 − z))
``"quadratic"``    l(z) = ½ max(0, 1 − z)²                   l'(z) = −max(0, 1 − z)
``"mse"``          l(z) = ½ (1 − z)²  = ½ (y − F)²            l'(z) = −(1 − z)
=================  =======================================  ==========================

The soft hinge tends to the hinge as β → ∞; the authors use β = 20 (``--lossbeta 20``).
At z = 1 the hinge's derivative is taken as 0: a point exactly at the margin no longer
pulls, which is what stopping "when every margin yF ≥ 1" needs.
"""

from __future__ import annotations

import torch

from deeptheory._validation import check_choice, check_float, check_tensor

Tensor = torch.Tensor

LOSSES = ("hinge", "soft_hinge", "quadratic", "mse")
SOFT_HINGE_BETA = 20.0

__all__ = ["LOSSES", "SOFT_HINGE_BETA", "margin_loss", "margin_loss_derivative"]


def _check(margin: Tensor, loss: str, beta: float) -> None:
    check_tensor("margin", margin, finite=False)
    check_choice("loss", loss, LOSSES)
    if check_float("beta", beta) <= 0:
        raise ValueError(f"beta must be > 0; got {beta}")


def margin_loss(
    margin: Tensor, *, loss: str = "hinge", beta: float = SOFT_HINGE_BETA
) -> Tensor:
    """l(z), elementwise, for margins z = y F of any shape; ``beta`` is the soft hinge's."""
    _check(margin, loss, beta)
    gap = 1.0 - margin
    if loss == "hinge":
        return gap.clamp(min=0)
    if loss == "soft_hinge":
        # log(1 + e^{βu})/β without overflow (torch's softplus switches to u at βu > 20,
        # an error of e^{-20}/β, too large for float64)
        return torch.logaddexp(torch.zeros_like(gap), beta * gap) / beta
    if loss == "quadratic":
        return 0.5 * gap.clamp(min=0) ** 2
    return 0.5 * gap**2


def margin_loss_derivative(
    margin: Tensor, *, loss: str = "hinge", beta: float = SOFT_HINGE_BETA
) -> Tensor:
    """l'(z) = dl/dz, elementwise (the hinge's is 0 at z = 1)."""
    _check(margin, loss, beta)
    gap = 1.0 - margin
    if loss == "hinge":
        return -(gap > 0).to(margin.dtype)
    if loss == "soft_hinge":
        return -torch.sigmoid(beta * gap)
    if loss == "quadratic":
        return -gap.clamp(min=0)
    return -gap
