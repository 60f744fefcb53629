"""Fluctuations of the learned function over initialisations, and ensemble averaging.

Geiger et al., "Scaling description of generalization with number of parameters in deep
learning" (2020, arXiv:1901.01608); shared/science.md §3.1 and §2.4 R3. E networks per
width h differ only in their initialisation seed; they are trained on one teacher task
(:func:`deeptheory.jamming.teacher_data`, no label noise) in the NTK parametrisation with
F = f − f₀ (α_a = 1), quadratic hinge, full-batch GD with a fixed step budget
(:func:`deeptheory.ensembles.train_width_sweep`).

Measured per h: Var F over the seeds on the test points (:func:`output_variance`,
predicted ∝ 1/h: the log-log slope is checked against −1 ± 0.2, science.md §7 item 13),
the mean test error of single networks, and the test error of the ensemble average
sign(F̄), which should sit below the single-net error and close to the largest width's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from deeptheory.ensembles import WidthSweep, loglog_slope, train_width_sweep
from deeptheory.experiments import save_figure
from deeptheory.jamming import teacher_data
from deeptheory.train import TrainConfig

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class FluctuationsConfig:
    """Settings of the reproduction."""

    d: int = 5  # input dimension
    train: int = 128  # p
    test: int = 2000
    widths: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)
    seeds: int = 8  # E
    lr: float = 1.0  # GD step on the quadratic hinge
    max_steps: int = 3000  # GD budget (stops earlier once every margin ≥ 0.99)
    seed_init: int = 0
    seed_train: int = 1
    seed_test: int = 2
    device: str = "cpu"

    @classmethod
    def quick(cls) -> FluctuationsConfig:
        """~20 s on 2 cores."""
        return cls(train=64, test=1000, widths=(16, 64, 256), max_steps=1500)


@dataclass(frozen=True)
class FluctuationsResult:
    config: FluctuationsConfig
    sweep: WidthSweep
    variance: Tensor  # (W,)
    slope: float  # log-log slope of the variance against h
    single_error: Tensor  # (W,) mean over seeds
    single_error_std: Tensor  # (W,) std over seeds
    ensemble_error: Tensor  # (W,)


def run_fluctuations(
    cfg: FluctuationsConfig = FluctuationsConfig(), *, progress: bool = True
) -> FluctuationsResult:
    x, y = teacher_data(
        cfg.train, cfg.d, generator=torch.Generator(cfg.device).manual_seed(cfg.seed_train),
        device=cfg.device,
    )  # fmt: skip
    x_test, y_test = teacher_data(
        cfg.test, cfg.d, generator=torch.Generator(cfg.device).manual_seed(cfg.seed_test),
        device=cfg.device,
    )  # fmt: skip
    config = TrainConfig(
        method="gd", loss="quadratic", lr=cfg.lr, max_steps=cfg.max_steps,
        stop_margin=0.99,
    )  # fmt: skip
    sweep = train_width_sweep(
        x, y, x_test, cfg.widths, seeds=cfg.seeds, config=config,
        seed_init=cfg.seed_init, progress=progress,
    )  # fmt: skip
    variance = sweep.variance()
    errors = sweep.test_errors(y_test.cpu())
    return FluctuationsResult(
        config=cfg,
        sweep=sweep,
        variance=variance,
        slope=loglog_slope(list(cfg.widths), variance),
        single_error=errors.mean(dim=1),
        single_error_std=errors.std(dim=1),
        ensemble_error=sweep.ensemble_errors(y_test.cpu()),
    )


def summary(result: FluctuationsResult) -> list[str]:
    lines = [
        f"{'h':>6} {'N':>7} {'Var F':>9} {'h Var F':>8} {'single err':>14} {'ens. err':>8}"
    ]
    for i, h in enumerate(result.config.widths):
        var = float(result.variance[i])
        lines.append(
            f"{h:>6} {result.sweep.num_params[i]:>7} {var:>9.4g} {h * var:>8.3g} "
            f"{float(result.single_error[i]):>7.3f} ± {float(result.single_error_std[i]):.3f} "
            f"{float(result.ensemble_error[i]):>8.3f}"
        )
    lines.append(
        f"log-log slope of Var F against h: {result.slope:+.3f} (theory −1; science.md "
        "§7 item 13: −1 ± 0.2)"
    )
    cfg, mid = result.config, len(result.config.widths) // 2
    lines.append(
        f"ensemble of {cfg.seeds} at h = {cfg.widths[mid]}: "
        f"{float(result.ensemble_error[mid]):.3f}; single net at h = {cfg.widths[mid]}: "
        f"{float(result.single_error[mid]):.3f}; single net at the largest h = "
        f"{cfg.widths[-1]}: {float(result.single_error[-1]):.3f}"
    )
    return lines


def plot_fluctuations(result: FluctuationsResult, path: str | Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    h = torch.tensor(result.config.widths, dtype=torch.float64).numpy()
    var = result.variance.numpy()
    ax1.loglog(h, var, "o-", label="Var F over seeds")
    ax1.loglog(h, var[0] * h[0] / h, "k--", label="∝ 1/h")
    ax1.set(xlabel="width h", ylabel="Var F (test points)",
            title=f"fluctuations, slope {result.slope:+.2f}")  # fmt: skip
    ax1.legend()
    ax2.errorbar(h, result.single_error.numpy(), yerr=result.single_error_std.numpy(),
                 fmt="o-", capsize=3, label="single network (mean ± std)")  # fmt: skip
    ax2.plot(h, result.ensemble_error.numpy(), "s-",
             label=f"ensemble average of {result.config.seeds}")  # fmt: skip
    ax2.set_xscale("log")
    ax2.set(xlabel="width h", ylabel="test error", title="ensembles vs single nets")
    ax2.legend()
    cfg = result.config
    fig.suptitle(
        f"ReLU teacher, d = {cfg.d}, p = {cfg.train}; NTK parametrisation, F = f − f₀, "
        "quadratic hinge, GD"
    )
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce fluctuations``."""
    config = FluctuationsConfig.quick() if quick else FluctuationsConfig()
    result = run_fluctuations(replace(config, device=device), progress=progress)
    return summary(result), plot_fluctuations(result, out)
