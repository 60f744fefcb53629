"""Convergence of the empirical NTK to its infinite-width limit (Jacot et al. 2018, Fig. 1).

Inputs on the unit circle, x(γ) = (cos γ, sin γ), and x₀ = (1, 0). For networks of several
widths h and several initialisation seeds we compute Θ(x₀, x(γ)) with the exact structured
NTK and compare it with the analytic limit of :func:`deeptheory.kernels.fc_kernels`. The
paper's setting is 4 weight layers (3 hidden), ReLU, bias scale β = 0.1, widths 500 and
10 000, 10 seeds. The seed-to-seed spread, and so the relative error
‖Θ_h − Θ_∞‖/‖Θ_∞‖, falls as h^{-1/2}.

The measurement itself, on any inputs, is :func:`ntk_relative_errors` (ensembles of
networks per width, the reference of Homework 1 exercise 4) and :func:`width_exponent`
(the fitted exponent); :func:`run_ntk_convergence` keeps whole curves for the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from deeptheory._validation import check_int, check_same_kind, check_tensor
from deeptheory.experiments import save_figure
from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.observables import relative_distance

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class NTKConvergenceConfig:
    """Settings of the convergence experiment (defaults: Jacot et al. Fig. 1)."""

    widths: tuple[int, ...] = (100, 1000, 10000)  # h, one run per width
    seeds: int = 10  # initialisations per width
    hidden_layers: int = 3  # L (the paper's "4 layers" are L + 1 weight layers)
    activation: str = "relu"
    bias_std: float = 0.1  # β
    points: int = 101  # grid of γ in [−π, π]
    seed: int = 0  # seeds the generator of all initialisations
    device: str = "cpu"  # "cuda" runs the same code on a GPU


@dataclass(frozen=True)
class NTKConvergenceResult:
    """Θ(x₀, x(γ)) for every width and seed, and the analytic limit."""

    config: NTKConvergenceConfig
    gamma: Tensor  # (m,)
    analytic: Tensor  # (m,)
    empirical: dict[int, Tensor] = field(default_factory=dict)  # h -> (seeds, m)

    def relative_errors(self, width: int) -> Tensor:
        """‖Θ_h − Θ_∞‖/‖Θ_∞‖ over the γ grid, one value per seed: (seeds,)."""
        return relative_distance(self.empirical[width], self.analytic)

    def slope(self) -> float:
        """Log-log slope of the mean relative error against the width (theory: −1/2)."""
        widths = sorted(self.empirical)
        errors = torch.stack([self.relative_errors(h) for h in widths])
        return float(width_exponent(widths, errors))


def ntk_relative_errors(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    widths: Sequence[int],
    ensemble: int,
    hidden_layers: int,
    generator: torch.Generator,
    bias_std: float = 0.0,
    activation: str = "relu",
) -> Tensor:
    """How far the empirical NTK of finite networks is from its infinite-width limit.

    For each width h, in the order given, draws ``ensemble`` networks
    ``FCNet(input_dim=d, width=h, hidden_layers=…, activation=…, bias_std=…)`` with one
    call ``net.init(generator=generator, ensemble=ensemble, dtype=x1.dtype)`` and returns
    ‖Θ_h − Θ_∞‖_F / ‖Θ_∞‖_F for each member, with Θ_h from :func:`empirical_ntk` and Θ_∞
    from :func:`fc_kernels` (NTK parametrisation, σ_w = 1). Jacot et al. (2018) show
    Θ_h → Θ_∞ as h → ∞; the fluctuations, hence these errors, scale as h^{-1/2}.

    Args:
      x1, x2: inputs (n1, d) and (n2, d); ``x2=None`` means ``x1``.
      widths: the widths h, each >= 1.
      ensemble: networks per width.
      hidden_layers: L >= 1.
      generator: draws every initialisation, consumed in the order of ``widths``; on the
        device of ``x1``.
      bias_std, activation: β and φ (an activation of ``KERNEL_ACTIVATIONS``).

    Returns:
      (len(widths), ensemble) relative errors, in the dtype and on the device of ``x1``.
    """
    check_tensor("x1", x1, ndim=2)
    x2 = x1 if x2 is None else check_tensor("x2", x2, ndim=2, last_dim=x1.shape[1])
    check_same_kind("x2", x2, "x1", x1)
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence | range):
        raise TypeError(
            f"widths must be a sequence of ints; got {type(widths).__name__}"
        )
    widths = [check_int("widths[i]", h, minimum=1) for h in widths]
    if not widths:
        raise ValueError("widths must not be empty")
    ensemble = check_int("ensemble", ensemble, minimum=1)
    check_int("hidden_layers", hidden_layers, minimum=1)
    _, limit = fc_kernels(
        x1, x2, hidden_layers=hidden_layers, bias_std=bias_std, activation=activation
    )
    errors = x1.new_empty(len(widths), ensemble)
    for i, h in enumerate(widths):
        net = FCNet(
            input_dim=x1.shape[1],
            width=h,
            hidden_layers=hidden_layers,
            activation=activation,
            bias_std=bias_std,
        )
        params = net.init(
            generator=generator, ensemble=ensemble, dtype=x1.dtype, device=x1.device
        )
        errors[i] = relative_distance(empirical_ntk(net, params, x1, x2), limit)
    return errors


def width_exponent(widths: Sequence[int] | Tensor, errors: Tensor) -> Tensor:
    """The exponent ν of errors ∝ h^ν: least-squares slope of log ē(h) against log h.

    ē(h) is the mean of ``errors`` over its last axis (the ensemble), so the fit is
    through the log of the mean error, not the mean of the logs.

    Args:
      widths: (W,) widths, at least two distinct, all > 0.
      errors: (W, E) positive errors, e.g. from :func:`ntk_relative_errors`.

    Returns:
      A 0-d tensor in the dtype and on the device of ``errors``; −1/2 in theory.
    """
    check_tensor("errors", errors, ndim=2)
    h = torch.as_tensor(widths, dtype=errors.dtype, device=errors.device)
    if h.ndim != 1 or len(h) != len(errors):
        raise ValueError(
            f"widths must have one entry per row of errors ({len(errors)}); "
            f"got shape {tuple(h.shape)}"
        )
    if not bool((h > 0).all()) or not bool((errors > 0).all()):
        raise ValueError("widths and errors must be positive (their logs are fitted)")
    u, v = torch.log(h), torch.log(errors.mean(dim=-1))
    u = u - u.mean()
    if not bool((u != 0).any()):
        raise ValueError("widths must contain at least two different values")
    return (u * (v - v.mean())).sum() / (u * u).sum()


def circle_inputs(points: int, *, dtype: torch.dtype = torch.float64) -> Tensor:
    """(points, 2) inputs (cos γ, sin γ), γ evenly spaced in [−π, π]."""
    gamma = torch.linspace(-math.pi, math.pi, points, dtype=dtype)
    return torch.stack([torch.cos(gamma), torch.sin(gamma)], dim=1)


def run_ntk_convergence(
    config: NTKConvergenceConfig = NTKConvergenceConfig(), *, progress: bool = True
) -> NTKConvergenceResult:
    """Compute the empirical NTKs of every width and seed, and the analytic limit."""
    x = circle_inputs(config.points).to(config.device)
    x0 = x.new_tensor([[1.0, 0.0]])
    _, analytic = fc_kernels(
        x0,
        x,
        hidden_layers=config.hidden_layers,
        bias_std=config.bias_std,
        activation=config.activation,
    )
    generator = torch.Generator(device=config.device).manual_seed(config.seed)
    empirical: dict[int, Tensor] = {}
    runs = [(h, s) for h in config.widths for s in range(config.seeds)]
    for h, s in tqdm(runs, desc="empirical NTK (width, seed)", disable=not progress):
        net = FCNet(
            input_dim=2,
            width=h,
            hidden_layers=config.hidden_layers,
            activation=config.activation,
            bias_std=config.bias_std,
        )
        params = net.init(generator=generator, device=config.device)
        theta = empirical_ntk(net, params, x0, x)[0]
        empirical.setdefault(h, x.new_empty(config.seeds, config.points))[s] = theta
    gamma = torch.atan2(x[:, 1], x[:, 0])
    cpu = {h: theta.cpu() for h, theta in empirical.items()}
    return NTKConvergenceResult(config, gamma.cpu(), analytic[0].cpu(), cpu)


def plot_ntk_convergence(result: NTKConvergenceResult, path: str | Path) -> Path:
    """Save the figure: kernels per width (left panels) and error vs width (right)."""
    from matplotlib.figure import Figure

    widths = sorted(result.empirical)
    fig = Figure(figsize=(4.0 * (len(widths) + 1), 3.6), layout="constrained")
    axes = fig.subplots(1, len(widths) + 1, sharey=False)
    gamma = result.gamma.numpy()
    curves = torch.cat([result.empirical[h] for h in widths] + [result.analytic[None]])
    low, high = float(curves.min()), float(curves.max())
    margin = 0.05 * (high - low)
    for ax, h in zip(axes[:-1], widths, strict=True):
        ax.set_ylim(low - margin, high + margin)
        for curve in result.empirical[h].numpy():
            ax.plot(gamma, curve, color="tab:blue", alpha=0.35, lw=1)
        ax.plot(gamma, result.analytic.numpy(), color="black", lw=2, label="h → ∞")
        ax.set_title(f"width h = {h}")
        ax.set_xlabel("γ")
        ax.set_ylabel("Θ(x₀, x(γ))")
    axes[0].legend(loc="upper right")
    ax = axes[-1]
    errors = [result.relative_errors(h) for h in widths]
    mean = np.array([float(e.mean()) for e in errors])
    ax.loglog(widths, mean, "o-", label=f"mean over seeds (slope {result.slope():.2f})")
    guide = mean[0] * (np.array(widths) / widths[0]) ** -0.5
    ax.loglog(widths, guide, "k--", label="h^(−1/2)")
    ax.set_xlabel("width h")
    ax.set_ylabel("‖Θ_h − Θ_∞‖ / ‖Θ_∞‖")
    ax.legend()
    cfg = result.config
    fig.suptitle(
        f"Empirical NTK → analytic limit: {cfg.hidden_layers} hidden layers, "
        f"{cfg.activation}, β = {cfg.bias_std}, {cfg.seeds} seeds"
    )
    return save_figure(fig, path, dpi=120)
