"""The jamming transition on random data, and the test-error cusp, at CPU scale.

Spigler et al. (2019, arXiv:1810.09665) and Geiger et al. (2020, arXiv:1901.01608);
shared/science.md §3.2, §3.1. One-hidden-layer ReLU nets (NTK parametrisation, biases,
F = f − f₀) of N parameters are trained by full-batch GD on the quadratic hinge, E seeds per
size as one batched ensemble, until every Δ_μ ≤ 10⁻² or a budget of steps
(:func:`deeptheory.jamming.jamming_sweep`).

* Random data (x ~ N(0, I_d), labels ±1 at random) at two values of P: N_Δ/P against N/P
  and N* where half of the seeds satisfy every constraint (:func:`jamming_point`).
* A teacher task with 10 % of the labels flipped (so that fitting is hard, as for the
  paper's MNIST), same sweep with a test set: the mean test error against N/P, which
  should peak near that task's N* (a cusp) and decrease beyond. At this scale the cusp is
  noisy (a few seeds, one training set): read it from the seed average.

Caveats: the budget of GD steps is finite, so just below N* some runs counted as jammed
may be slow rather than stuck; the paper uses Adam for 10⁶-10⁷ steps on N ~ 10⁴.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from deeptheory.experiments import save_figure
from deeptheory.jamming import (
    JammingSweep,
    jamming_sweep,
    quadratic_hinge_gd,
    random_data,
    teacher_data,
)

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class JammingConfig:
    """Settings of the reproduction."""

    d: int = 10  # input dimension
    sizes: tuple[int, ...] = (64, 128)  # P of the random-data sweeps
    widths: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32)
    seeds: int = 6  # E per width
    max_steps: int = 10_000  # GD budget
    teacher_train: int = 128  # P of the teacher task
    teacher_test: int = 2000
    teacher_flip: float = 0.1  # fraction of flipped training labels
    teacher_widths: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 32, 48, 64)
    seed_data: int = 1
    seed_test: int = 2
    seed_init: int = 0
    device: str = "cpu"

    @classmethod
    def quick(cls) -> JammingConfig:
        """~20 s of CPU: smaller P, fewer widths and seeds, a shorter budget."""
        return cls(
            sizes=(24, 48), widths=(1, 2, 3, 4, 6, 8, 12), seeds=4,
            max_steps=3000, teacher_train=48, teacher_test=1000,
            teacher_widths=(1, 2, 4, 8, 16, 32),
        )  # fmt: skip


@dataclass(frozen=True)
class JammingResult:
    config: JammingConfig
    random: dict[int, JammingSweep]  # P → sweep on random labels
    teacher: JammingSweep  # with test errors


def run_jamming(
    cfg: JammingConfig = JammingConfig(), *, progress: bool = True
) -> JammingResult:
    random = {}
    for P in cfg.sizes:
        gen = torch.Generator(cfg.device).manual_seed(cfg.seed_data)
        x, y = random_data(P, cfg.d, generator=gen, device=cfg.device)
        random[P] = jamming_sweep(
            x, y, cfg.widths, seeds=cfg.seeds, config=quadratic_hinge_gd(cfg.max_steps),
            seed_init=cfg.seed_init, progress=progress,
        )  # fmt: skip
    gen = torch.Generator(cfg.device).manual_seed(cfg.seed_data)
    x, y = teacher_data(
        cfg.teacher_train,
        cfg.d,
        generator=gen,
        flip=cfg.teacher_flip,
        device=cfg.device,
    )
    gen = torch.Generator(cfg.device).manual_seed(cfg.seed_test)
    x_test, y_test = teacher_data(
        cfg.teacher_test, cfg.d, generator=gen, device=cfg.device
    )
    teacher = jamming_sweep(
        x, y, cfg.teacher_widths, seeds=cfg.seeds, config=quadratic_hinge_gd(cfg.max_steps),
        x_test=x_test, y_test=y_test, seed_init=cfg.seed_init, progress=progress,
    )  # fmt: skip
    return JammingResult(cfg, random, teacher)


def cusp(sweep: JammingSweep) -> tuple[float, float]:
    """(N at the largest mean test error, that error) of a sweep with a test set."""
    assert sweep.test_error is not None
    mean = sweep.test_error.mean(dim=1)
    k = int(mean.argmax())
    return float(sweep.num_params[k]), float(mean[k])


def summary(result: JammingResult) -> list[str]:
    lines = []
    for P, sweep in result.random.items():
        lines.append(f"random data, P = {P}, d = {result.config.d}:")
        lines.append(
            f"  {'h':>4} {'N':>6} {'N/P':>6} {'N_D/P':>7} {'sat.':>5} {'steps':>7}"
        )
        frac, sat = sweep.fraction(), sweep.satisfied()
        for i, h in enumerate(sweep.widths):
            N = sweep.num_params[i]
            lines.append(
                f"  {h:>4} {N:>6} {N / P:>6.2f} {float(frac[i]):>7.3f} "
                f"{float(sat[i]):>5.2f} {float(sweep.steps[i].double().mean()):>7.0f}"
            )
        n_star = sweep.n_star()
        lines.append(f"  N* = {n_star:.1f}, N*/P = {n_star / P:.2f}")
    t = result.teacher
    n_cusp, err = cusp(t)
    errors = t.test_error.mean(dim=1)  # type: ignore[union-attr]
    lines.append(
        f"teacher task, P = {t.P}, {result.config.teacher_flip:.0%} labels flipped: "
        f"N* = {t.n_star():.1f}; largest mean test error {err:.3f} at N = {n_cusp:.0f}; "
        f"at the smallest N {float(errors[0]):.3f}, at the largest N {float(errors[-1]):.3f}"
    )
    return lines


def plot_jamming(result: JammingResult, path: str | Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for P, sweep in result.random.items():
        N = torch.tensor(sweep.num_params, dtype=torch.float64) / P
        (line,) = ax1.plot(N.numpy(), sweep.fraction().numpy(), "o-", label=f"P = {P}")
        ax1.axvline(sweep.n_star() / P, color=line.get_color(), ls="--", lw=1)
    ax1.set_xscale("log")
    ax1.set(xlabel="N / P", ylabel="N_Δ / P (mean over seeds)",
            title="random data: unsatisfied constraints (dashed: N*)")  # fmt: skip
    ax1.legend()
    t = result.teacher
    N = torch.tensor(t.num_params, dtype=torch.float64) / t.P
    err = t.test_error
    assert err is not None
    ax2.errorbar(N.numpy(), err.mean(dim=1).numpy(), yerr=err.std(dim=1).numpy(),
                 fmt="o-", capsize=3, label="test error (mean ± std)")  # fmt: skip
    ax2.axvline(t.n_star() / t.P, color="k", ls="--", lw=1, label="N*")
    ax2.set_xscale("log")
    ax2.set(xlabel="N / P", ylabel="test error",
            title=f"teacher, P = {t.P}, {result.config.teacher_flip:.0%} flipped")  # fmt: skip
    ax2.legend()
    fig.suptitle("Jamming: one-hidden-layer ReLU nets, quadratic hinge, GD")
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce jamming``."""
    config = JammingConfig.quick() if quick else JammingConfig()
    result = run_jamming(replace(config, device=device), progress=progress)
    return summary(result), plot_jamming(result, out)
