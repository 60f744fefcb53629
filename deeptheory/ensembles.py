"""Fluctuations over initialisations, and ensemble averaging of trained networks.

Geiger, Jacot, Spigler, Gabriel, Sagun, d'Ascoli, Biroli, Hongler & Wyart, "Scaling
description of generalization with number of parameters in deep learning", J. Stat. Mech.
(2020) 023401, arXiv:1901.01608; shared/science.md §2.4 R3 and §3.1.

**What is measured.** E networks with the same architecture and the same training set,
differing only in the initialisation seed, are trained; F_e(x) is the learned function of
member e on n test points, an (E, n) tensor. Here F is the α-scaled output
F = α (f − f₀) of :mod:`deeptheory.alpha`. :func:`train_width_sweep` uses the **NTK
parametrisation with α = 1**, i.e. F = f − f₀ and the loss 1/p Σ l(y F): this is the
article's convention at α_a = 1 (the regime of 1901.01608: standard NTK training, whose
large-h limit is the frozen-kernel one), equivalently α = √h in the code convention.
Subtracting f₀ matters: without it the trained output keeps an O(1) random part of the
initial function (the NNGP fluctuation) at every width.

* :func:`output_variance` — the authors' estimator (``figures.py`` ``var``)

      Var F = 1/(E − 1) Σ_e ⟨(F_e(x) − F̄(x))²⟩_x,     F̄ = (1/E) Σ_e F_e,

  the unbiased variance over seeds, averaged over the test points; predicted ∝ 1/h.
* :func:`ensemble_average` — F̄, the seed average of the outputs (not of the signs).
* :func:`ensemble_error` — the test error of sign F̄ (the authors' ``enserr``); with enough
  members it approaches the error of the h → ∞ network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deeptheory._validation import check_int, check_tensor
from deeptheory.models import FCNet
from deeptheory.observables import classification_error
from deeptheory.train import TrainConfig, run

Tensor = torch.Tensor

__all__ = [
    "WidthSweep",
    "ensemble_average",
    "ensemble_error",
    "loglog_slope",
    "output_variance",
    "train_width_sweep",
]


def _check_ensemble(F: Tensor, minimum: int) -> Tensor:
    check_tensor("F", F, ndim=2)
    if F.shape[0] < minimum:
        raise ValueError(
            f"F must have at least {minimum} ensemble members on its first axis; "
            f"got shape {tuple(F.shape)}"
        )
    return F


def output_variance(F: Tensor, *, per_point: bool = False) -> Tensor:
    """The variance over seeds of the learned function, averaged over the test points.

    Args:
      F: (E, n) outputs of E ≥ 2 independently initialised networks on n points.
      per_point: return the (n,) variance at every point instead of its mean.

    Returns:
      A 0-d tensor 1/(E − 1) Σ_e ⟨(F_e − F̄)²⟩_x (unbiased in E), or (n,); dtype of F.

    Example:
      >>> output_variance(torch.tensor([[0.0, 2.0], [2.0, 0.0]]))
      tensor(2.)
    """
    _check_ensemble(F, 2)
    var = F.var(dim=0, correction=1)  # (n,)
    return var if per_point else var.mean()


def ensemble_average(F: Tensor) -> Tensor:
    """F̄(x) = (1/E) Σ_e F_e(x): (E, n) → (n,)."""
    return _check_ensemble(F, 1).mean(dim=0)


def ensemble_error(F: Tensor, y: Tensor) -> Tensor:
    """Test error of the ensemble, the fraction of points with y F̄ ≤ 0: F (E, n), y (n,)."""
    return classification_error(ensemble_average(F), y)


def loglog_slope(x: Tensor | list[float], v: Tensor | list[float]) -> float:
    """Least-squares slope of log v against log x (e.g. −1 for Var ∝ 1/h)."""
    lx = torch.log(torch.as_tensor(x, dtype=torch.float64))
    lv = torch.log(torch.as_tensor(v, dtype=torch.float64))
    if lx.shape != lv.shape or lx.ndim != 1 or len(lx) < 2:
        raise ValueError("x and v must be 1-d with the same length >= 2")
    lx, lv = lx - lx.mean(), lv - lv.mean()
    return float((lx * lv).sum() / (lx * lx).sum())


@dataclass(frozen=True)
class WidthSweep:
    """E seeds trained at each of W widths; tensors on the CPU."""

    widths: tuple[int, ...]  # (W,) h
    num_params: tuple[int, ...]  # (W,) N of one network
    F_test: Tensor  # (W, E, n_test) learned F = f − f₀ on the test points
    train_error: Tensor  # (W, E)
    steps: Tensor  # (W, E) accepted steps
    converged: Tensor  # (W, E) every margin reached (not stopped by the budget)

    def variance(self) -> Tensor:
        """(W,) :func:`output_variance` at each width."""
        return torch.stack([output_variance(F) for F in self.F_test])

    def test_errors(self, y_test: Tensor) -> Tensor:
        """(W, E) test error of every single network."""
        return classification_error(self.F_test, y_test.to(self.F_test.dtype))

    def ensemble_errors(self, y_test: Tensor) -> Tensor:
        """(W,) test error of each width's ensemble average."""
        return torch.stack([ensemble_error(F, y_test.to(F.dtype)) for F in self.F_test])


def train_width_sweep(
    x: Tensor,
    y: Tensor,
    x_test: Tensor,
    widths: tuple[int, ...] | list[int],
    *,
    seeds: int,
    hidden_layers: int = 1,
    bias_std: float = 1.0,
    activation: str = "relu",
    config: TrainConfig | None = None,
    seed_init: int = 0,
    progress: bool = False,
) -> WidthSweep:
    """Train ``seeds`` NTK-parametrised networks (α = 1, F = f − f₀) at every width.

    Each width is one batched ensemble (one seed axis); the init generator of width h is
    seeded with ``seed_init + h`` so that adding a width leaves the others unchanged.

    Args:
      x, y: training set (p, d), labels ±1 (p,).
      x_test: (n, d) points where F is recorded.
      widths: the hidden widths h.
      seeds: E ≥ 2 initialisations per width.
      config: default: the authors' flow on the hinge loss (output criterion only,
        science.md §10) until every margin y F ≥ 1, at most 200 000 steps.
    """
    check_int("seeds", seeds, minimum=2)
    if config is None:
        config = TrainConfig(
            method="flow", loss="hinge", max_dgrad=None, max_steps=200_000
        )
    F_tests, train_err, steps, conv, counts = [], [], [], [], []
    for h in widths:
        net = FCNet(
            input_dim=x.shape[1],
            width=check_int("width", h, minimum=1),
            hidden_layers=hidden_layers,
            activation=activation,
            bias_std=bias_std,
        )
        generator = torch.Generator(x.device).manual_seed(seed_init + h)
        params0 = net.init(
            generator=generator, ensemble=seeds, dtype=x.dtype, device=x.device
        )
        snaps = run(net, params0, x, y, alpha=1.0, config=config, progress=progress)
        last = snaps[-1]
        with torch.no_grad():
            F_test = net(last.params, x_test) - net(params0, x_test)
        F_tests.append(F_test.cpu())
        train_err.append(classification_error(last.F, y).cpu())
        steps.append(last.step.cpu())
        conv.append((y * last.F >= 1).all(dim=1).cpu())
        counts.append(net.num_params())
    return WidthSweep(
        widths=tuple(int(h) for h in widths),
        num_params=tuple(counts),
        F_test=torch.stack(F_tests),
        train_error=torch.stack(train_err),
        steps=torch.stack(steps),
        converged=torch.stack(conv),
    )
