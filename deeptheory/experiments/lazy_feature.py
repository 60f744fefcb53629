"""The feature-to-lazy crossover and its time scales, for several widths.

Geiger, Spigler, Jacot & Wyart (2020, arXiv:1906.08034), results R1, R4 and R5 of
shared/science.md §2.4, at CPU scale on the stripe model (their figures use image data and
deeper softplus nets; the scalings are the point here). For each width h, one
initialisation is trained at every α of a sweep (a batched ensemble, the authors' adaptive
flow, hinge loss, until every margin is reached), in the code convention of
:mod:`deeptheory.alpha`, where α is the control parameter at every width (α = √h α_a).

Measured per (h, α): test error; relative weight change ‖w − w₀‖/‖w₀‖; relative NTK change
‖Θ − Θ₀‖_F/‖Θ₀‖_F on a kernel set (the first ``kernel_points`` test points); t½/h, the
first time the loss halves, in units of t/h. Expected: the curves of different widths
collapse when plotted against α; on the lazy side (α ≫ 1) the weight and kernel changes
and t½/h fall as 1/α; on the feature side t½/h grows only slowly (t₁ ∼ √h α_a in article
units, up to a log).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from deeptheory._validation import check_float, check_tensor
from deeptheory.experiments import save_figure
from deeptheory.experiments._alpha_runs import paper_network, train_over_alphas
from deeptheory.ntk import empirical_ntk
from deeptheory.observables import (
    classification_error,
    half_loss_time,
    relative_distance,
    relative_weight_change,
)
from deeptheory.tasks import Stripe, train_test

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class AlphaSweepConfig:
    """Settings of the sweep (one hidden layer, biases inside, mean-field readout)."""

    d: int = 5
    # the paper's nets are softplus; with ReLU the NTK change falls only as α^(-1/2) on
    # the lazy side (activation flips: a sum of ~h·δz terms of random sign)
    activation: str = "softplus"
    widths: tuple[int, ...] = (50, 200, 800)
    alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 1e2, 1e3, 1e4)
    train: int = 64
    test: int = 2000
    kernel_points: int = 200
    seed_init: int = 0
    seed_train: int = 1
    seed_test: int = 2
    max_steps: int = 200_000
    device: str = "cpu"

    @classmethod
    def quick(cls) -> AlphaSweepConfig:
        """~20 s on 2 cores."""
        return cls(
            widths=(40, 160),
            alphas=(1e-3, 1e-1, 10.0, 1e2, 1e3),
            train=32,
            test=500,
            kernel_points=100,
        )


@dataclass(frozen=True)
class AlphaSweepResult:
    """Per width h: (A,) tensors over the α of the config (CPU)."""

    config: AlphaSweepConfig
    test_error: dict[int, Tensor]
    weight_change: dict[int, Tensor]
    kernel_change: dict[int, Tensor]
    t_half: dict[int, Tensor]  # in units of t/h

    def lazy_slope(self, quantity: str, width: int) -> float:
        """Log-log slope over the two largest α (theory: −1 for every quantity here)."""
        values = getattr(self, quantity)[width][-2:].double().log()
        alphas = torch.tensor(self.config.alphas[-2:], dtype=torch.float64).log()
        return float((values[1] - values[0]) / (alphas[1] - alphas[0]))


def run_alpha_sweep(
    cfg: AlphaSweepConfig = AlphaSweepConfig(), *, progress: bool = True
) -> AlphaSweepResult:
    """Train every (h, α) and measure (see the module docstring)."""
    x, y, x_test, y_test = train_test(
        Stripe(d=cfg.d),
        cfg.train,
        cfg.test,
        seed_train=cfg.seed_train,
        seed_test=cfg.seed_test,
        device=cfg.device,
    )
    kernel_set = x_test[: cfg.kernel_points]
    alphas = torch.tensor(cfg.alphas, dtype=x.dtype, device=x.device)
    out: dict[str, dict[int, Tensor]] = {
        "test_error": {},
        "weight_change": {},
        "kernel_change": {},
        "t_half": {},
    }
    for h in cfg.widths:
        net = paper_network(cfg.d, h, cfg.activation)
        one = net.init(generator=torch.Generator(cfg.device).manual_seed(cfg.seed_init))
        runs = train_over_alphas(
            net, one, x, y, x_test, alphas, max_steps=cfg.max_steps, progress=progress
        )
        theta0 = empirical_ntk(net, one, kernel_set)
        theta = empirical_ntk(net, runs.final.params, kernel_set)  # (A, n, n)
        out["test_error"][h] = classification_error(runs.F_test, y_test).cpu()
        out["weight_change"][h] = relative_weight_change(
            runs.final.params, runs.params0, ensemble=True
        ).cpu()
        out["kernel_change"][h] = relative_distance(theta, theta0).cpu()
        out["t_half"][h] = (half_loss_time(runs.times, runs.losses) / h).cpu()
    return AlphaSweepResult(config=cfg, **out)


def crossover_alpha(alphas: Tensor, values: Tensor, *, level: float) -> Tensor:
    """α*, where a quantity that falls on the lazy side drops below ``level``.

    With k the largest index such that values[k] ≥ level, α* interpolates linearly in
    log–log between (α_k, v_k) and (α_{k+1}, v_{k+1}):

        log α* = log α_k + (log level − log v_k) / (log v_{k+1} − log v_k)
                 · (log α_{k+1} − log α_k).

    E.g. with the relative weight change and ``level = 1``: the α above which training
    moves the weights by less than their own norm. In the code convention the curves of
    all widths cross near the same α* = O(1) (α*_article ∝ 1/√h; Geiger et al. 2020).

    Args:
      alphas: (A,) increasing, > 0.
      values: (A,) > 0, e.g. ``relative_weight_change`` per α.
      level: > 0.

    Returns:
      A 0-d tensor in the dtype of ``values``: nan if no value is ≥ level, or if the last
      one still is (the sweep does not reach the lazy side).
    """
    check_tensor("alphas", alphas, ndim=1)
    check_tensor("values", values, ndim=1)
    if alphas.shape != values.shape:
        raise ValueError(
            f"alphas and values must have the same shape; got {tuple(alphas.shape)} "
            f"and {tuple(values.shape)}"
        )
    if len(alphas) < 2 or not bool((alphas[1:] > alphas[:-1]).all()):
        raise ValueError("alphas must be increasing, with at least two values")
    if not bool((alphas > 0).all()) or not bool((values > 0).all()):
        raise ValueError("alphas and values must be > 0 (they are interpolated in log)")
    if not check_float("level", level) > 0:
        raise ValueError(f"level must be > 0; got {level}")
    above = (values >= level).nonzero().flatten()
    if len(above) == 0 or int(above[-1]) == len(values) - 1:
        return torch.tensor(float("nan"), dtype=values.dtype, device=values.device)
    k = int(above[-1])
    la, lv = alphas[k : k + 2].to(values.dtype).log(), values[k : k + 2].log()
    s = (math.log(level) - lv[0]) / (lv[1] - lv[0])
    return torch.exp(la[0] + s * (la[1] - la[0]))


def summary(result: AlphaSweepResult) -> list[str]:
    """The key numbers: a table per width and the lazy-side slopes."""
    lines = []
    for h in result.config.widths:
        lines.append(f"width h = {h}")
        lines.append(
            f"{'alpha':>8} {'test err':>8} {'rel dw':>9} {'rel dTheta':>10} {'t1/2/h':>9}"
        )
        for i, a in enumerate(result.config.alphas):
            lines.append(
                f"{a:>8.0e} {float(result.test_error[h][i]):>8.3f} "
                f"{float(result.weight_change[h][i]):>9.3g} "
                f"{float(result.kernel_change[h][i]):>10.3g} "
                f"{float(result.t_half[h][i]):>9.3g}"
            )
        slopes = ", ".join(
            f"{name} {result.lazy_slope(name, h):+.2f}"
            for name in ("weight_change", "kernel_change", "t_half")
        )
        lines.append(f"lazy-side slopes (theory −1): {slopes}")
        alphas = torch.tensor(result.config.alphas, dtype=torch.float64)
        star = crossover_alpha(alphas, result.weight_change[h].double(), level=1.0)
        lines.append(f"crossover: relative weight change = 1 at α* = {float(star):.3g}")
    return lines


def _guide(ax, alphas: np.ndarray, values: np.ndarray) -> None:
    lazy = alphas >= 10
    if lazy.any():
        anchor = values[lazy][0] * alphas[lazy][0]
        ax.loglog(alphas[lazy], anchor / alphas[lazy], "k--", lw=1, label="∝ 1/α")


def plot_lazy_feature(result: AlphaSweepResult, path: str | Path) -> Path:
    """Test error, weight change and NTK change against α, one curve per width."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    a = np.array(result.config.alphas)
    for h in result.config.widths:
        axes[0].semilogx(a, result.test_error[h].numpy(), "o-", label=f"h = {h}")
        axes[1].loglog(a, result.weight_change[h].numpy(), "o-", label=f"h = {h}")
        axes[2].loglog(a, result.kernel_change[h].numpy(), "o-", label=f"h = {h}")
    widest = max(result.config.widths)
    _guide(axes[1], a, result.weight_change[widest].numpy())
    _guide(axes[2], a, result.kernel_change[widest].numpy())
    titles = ("test error", "‖w − w₀‖ / ‖w₀‖", "‖Θ − Θ₀‖ / ‖Θ₀‖ (kernel set)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set(xlabel="α (code units: √h · α_article)", title=title)
        ax.legend()
    fig.suptitle(
        "Feature (small α) to lazy (large α): curves of all widths collapse in α"
    )
    return save_figure(fig, path)


def plot_time_scales(result: AlphaSweepResult, path: str | Path) -> Path:
    """t½/h against α, one curve per width."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    a = np.array(result.config.alphas)
    for h in result.config.widths:
        ax.loglog(a, result.t_half[h].numpy(), "o-", label=f"h = {h}")
    _guide(ax, a, result.t_half[max(result.config.widths)].numpy())
    ax.set(
        xlabel="α (code units)",
        ylabel="t½ / h",
        title="time for the loss to halve: ∝ 1/α lazy, slow growth feature",
    )
    ax.legend()
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce lazy-feature | time-scales``: the sweep, and its figure."""
    config = AlphaSweepConfig.quick() if quick else AlphaSweepConfig()
    result = run_alpha_sweep(replace(config, device=device), progress=progress)
    plot = plot_lazy_feature if name == "lazy-feature" else plot_time_scales
    return summary(result), plot(result, out)
