"""Convergence of the empirical NTK to its infinite-width limit (Jacot et al. 2018, Fig. 1).

Inputs on the unit circle, x(γ) = (cos γ, sin γ), and x₀ = (1, 0). For networks of several
widths h and several initialisation seeds we compute Θ(x₀, x(γ)) with the exact structured
NTK and compare it with the analytic limit of :func:`deeptheory.kernels.fc_kernels`. The
paper's setting is 4 weight layers (3 hidden), ReLU, bias scale β = 0.1, widths 500 and
10 000, 10 seeds. The seed-to-seed spread, and so the relative error
‖Θ_h − Θ_∞‖/‖Θ_∞‖, falls as h^{-1/2}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk

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
        diff = self.empirical[width] - self.analytic
        return diff.norm(dim=-1) / self.analytic.norm()

    def slope(self) -> float:
        """Log-log slope of the mean relative error against the width (theory: −1/2)."""
        widths = sorted(self.empirical)
        errors = [float(self.relative_errors(h).mean()) for h in widths]
        return float(np.polyfit(np.log(widths), np.log(errors), 1)[0])


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
