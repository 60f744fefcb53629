"""α-scaled training: the one convention deeptheory uses, and the crosswalk to the article's.

Geiger, Spigler, Jacot & Wyart, "Disentangling feature and lazy training in deep neural
networks", J. Stat. Mech. (2020) 113301, arXiv:1906.08034; the same scaling drives the
feature/lazy comparison of Paccolat et al. (2021, arXiv:2007.11471).

**The convention here (the authors' code convention).** The network has a mean-field
readout, f(x) = (1/h) Σ_i W^L_i φ(z^L_i(x)) (``FCNet(parametrization="mean_field")``), and

    F(x) = α (f(x) − f₀(x)),      L(w) = 1/(α p) Σ_μ l(y_μ F(x_μ)),      ẇ = −∇_w L,

with f₀ the output at initialisation, so F ≡ 0 at t = 0. α is then the single control
parameter at any width: α ≪ 1 is the feature regime, α ≫ 1 the lazy one (crossover at
α = O(1)). Time t is measured in these units; the lazy runs at different α collapse in t/h.

**The article's convention.** f_a(x) = (1/√h) Σ_i … (NTK readout,
``parametrization="ntk"``), F = α_a (f_a − f₀), L_a = 1/(α_a² p) Σ_μ l(y_μ F(x_μ)).

**Crosswalk** (README of the authors' ``article`` branch). With the same weights, f = f_a/√h,
so F is the same function when α = √h α_a; then L = (α_a/√h) L_a and ∇L = (α/h) ∇L_a, and
gradient flow gives the same trajectory w(t) = w_a(t_a) with

    α = √h · α_a,        t_a = (α/h) · t        (equivalently t/h = t_a/(√h α_a)).

The crosswalk needs the readout without a bias (a readout bias enters f and f_a alike,
not scaled by 1/√h): use ``bias_std=0`` for exact comparisons with the article.
"""

from __future__ import annotations

import math

import torch

from deeptheory._validation import check_float, check_int, check_same_kind, check_tensor
from deeptheory.losses import SOFT_HINGE_BETA, margin_loss

Tensor = torch.Tensor

__all__ = [
    "alpha_from_article",
    "alpha_to_article",
    "scaled_loss",
    "scaled_output",
    "time_from_article",
    "time_to_article",
]


def _alpha_like(alpha: float | Tensor, out: Tensor) -> float | Tensor:
    """A float, or a tensor of shape out.shape[:k] broadcast over the remaining axes."""
    if isinstance(alpha, torch.Tensor):
        check_tensor("alpha", alpha)
        check_same_kind("alpha", alpha, "the outputs", out)
        if alpha.ndim > out.ndim or tuple(out.shape[: alpha.ndim]) != tuple(
            alpha.shape
        ):
            raise ValueError(
                f"alpha of shape {tuple(alpha.shape)} must match the leading axes of the "
                f"outputs, shape {tuple(out.shape)} (one α per ensemble member)"
            )
        if not bool((alpha > 0).all()):
            raise ValueError("alpha must be > 0")
        return alpha.reshape(*alpha.shape, *([1] * (out.ndim - alpha.ndim)))
    if check_float("alpha", alpha) <= 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    return float(alpha)


def scaled_output(f: Tensor, f0: Tensor, alpha: float | Tensor) -> Tensor:
    """F = α (f − f₀).

    Args:
      f, f0: outputs now and at initialisation, same shape, e.g. (p,) or (E, p).
      alpha: a float, or a tensor matching the leading axes of ``f`` (e.g. (E,): one α per
        ensemble member).
    """
    check_tensor("f", f, finite=False)
    check_tensor("f0", f0, finite=False)
    check_same_kind("f0", f0, "f", f)
    if f0.shape != f.shape:
        raise ValueError(
            f"f0 must have the shape of f {tuple(f.shape)}; got {tuple(f0.shape)}"
        )
    return _alpha_like(alpha, f) * (f - f0)


def scaled_loss(
    F: Tensor,
    y: Tensor,
    alpha: float | Tensor,
    *,
    loss: str = "hinge",
    beta: float = SOFT_HINGE_BETA,
) -> Tensor:
    """L = 1/(α p) Σ_μ l(y_μ F_μ): the training loss of the code convention.

    Args:
      F: α-scaled outputs on the p training points, (p,) or (E, p) for an ensemble.
      y: labels ±1, (p,).
      alpha: as in :func:`scaled_output`.
      loss, beta: the margin loss (:mod:`deeptheory.losses`).

    Returns:
      A 0-d tensor, or (E,) for an ensemble.
    """
    check_tensor("F", F, finite=False)
    check_tensor("y", y, ndim=1)
    check_same_kind("y", y, "F", F)
    if F.ndim == 0 or F.shape[-1] != y.shape[0]:
        raise ValueError(
            f"F must end with the number of labels {y.shape[0]}; got {tuple(F.shape)}"
        )
    a = _alpha_like(alpha, F)
    if isinstance(a, torch.Tensor):
        a = a[..., 0]
    return margin_loss(y * F, loss=loss, beta=beta).mean(dim=-1) / a


def alpha_from_article(alpha_article: float, *, width: int) -> float:
    """α = √h · α_a."""
    check_int("width", width, minimum=1)
    if check_float("alpha_article", alpha_article) <= 0:
        raise ValueError(f"alpha_article must be > 0; got {alpha_article}")
    return math.sqrt(width) * alpha_article


def alpha_to_article(alpha: float, *, width: int) -> float:
    """α_a = α / √h."""
    check_int("width", width, minimum=1)
    if check_float("alpha", alpha) <= 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    return alpha / math.sqrt(width)


def time_to_article(t: float, *, alpha: float, width: int) -> float:
    """t_a = (α/h) · t, for α in this (code) convention."""
    check_int("width", width, minimum=1)
    if check_float("alpha", alpha) <= 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    return alpha / width * check_float("t", t, minimum=0.0)


def time_from_article(t_article: float, *, alpha: float, width: int) -> float:
    """t = (h/α) · t_a, for α in this (code) convention."""
    check_int("width", width, minimum=1)
    if check_float("alpha", alpha) <= 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    return width / alpha * check_float("t_article", t_article, minimum=0.0)
