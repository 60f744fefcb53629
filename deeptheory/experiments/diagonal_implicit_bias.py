"""Implicit bias and saddle-to-saddle dynamics of diagonal linear networks.

Woodworth et al. (2020, arXiv:2002.09277), Pesme, Pillaud-Vivien & Flammarion (2021,
arXiv:2106.09524), Pesme & Flammarion (2023, arXiv:2304.00488); shared/science.md §6.3–6.4.
Sparse regression, n < d: Gaussian X (n, d), a k-sparse β*, y = Xβ*, the loss
L(β) = 1/(2n)‖Xβ − y‖², the network β = u ⊙ v started at u = √2 α, v = 0.

What it computes:

1. the gradient flow (:func:`~deeptheory.diagonal_nets.mirror_flow`) at several small α
   in accelerated time t̃ = t / ln(1/α), against the α → 0 limiting process
   (:func:`~deeptheory.diagonal_nets.limiting_process`): its jump times, saddles and
   (de)activated coordinates; the largest error of the dual s = θ/ln(1/α) over the path and
   of β at the middle of the plateaus longer than 3/ln(1/α), both in units of 1/ln(1/α);
2. the implicit bias β_α = argmin φ_α s.t. Xβ = y over α = 10⁻¹⁶ … 10²: its distance to the
   min-ℓ1 (α → 0) and min-ℓ2 (α → ∞) interpolators, and its ℓ1 norm;
3. GD against SGD (batch 1, same step size, several seeds) from the same α: the ℓ1 norm
   and the distance to β* of the end points, and the α whose implicit bias has the same ℓ1
   norm (the "fitted α"; smaller means sparser).

Expected: the flow's β(t̃) approaches the staircase as α → 0 with errors O(1/ln(1/α)); β_α
→ min-ℓ1 (here equal to β*) as α → 0 and → min-ℓ2 as α⁻⁴; SGD ends sparser than GD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from deeptheory.diagonal_nets import (
    LimitingProcess,
    descent,
    limiting_process,
    mirror_flow,
)
from deeptheory.diagonal_nets import loss as _loss
from deeptheory.experiments import save_figure
from deeptheory.implicit_bias import implicit_bias, min_l1, min_l2

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class DiagonalImplicitBiasConfig:
    """Settings of the reproduction (defaults: the full run, ~1 min on 2 cores)."""

    n: int = 20
    d: int = 40
    target: tuple[float, ...] = (2.0, -1.5, 1.0, -0.75)  # the first k entries of β*
    seed_data: int = 14  # an instance with 7 jumps and 3 deactivations
    alphas: tuple[float, ...] = (1e-2, 1e-4, 1e-8, 1e-16)  # trajectories
    points: int = 1500  # time grid of the trajectories
    horizon: float = 1.6  # trajectories up to horizon × the last jump time
    bias_alphas: tuple[float, ...] = tuple(10.0 ** (k / 4) for k in range(-64, 9))
    sgd_alphas: tuple[float, ...] = (0.03, 0.1, 0.3)
    lr: float = 0.05
    steps: int = 20_000
    batch_size: int = 1
    seeds: int = 16
    seed_sgd: int = 0
    device: str = "cpu"

    @classmethod
    def quick(cls) -> DiagonalImplicitBiasConfig:
        """A few seconds: fewer α, points, SGD seeds and steps (same instance)."""
        return cls(
            alphas=(1e-2, 1e-8),
            points=400,
            bias_alphas=tuple(10.0 ** (k / 2) for k in range(-32, 5)),
            sgd_alphas=(0.1,),
            steps=10_000,
            seeds=8,
        )


@dataclass(frozen=True)
class DescentSummary:
    """End points of GD and of SGD (one per seed) at one α."""

    alpha: float
    gd_beta: Tensor  # (d,)
    sgd_beta: Tensor  # (seeds, d)
    gd_loss: float
    sgd_loss: float  # the largest over the seeds
    gd_fitted_alpha: float
    sgd_fitted_alpha: Tensor  # (seeds,)


@dataclass(frozen=True)
class DiagonalImplicitBiasResult:
    """Everything the figure shows; tensors on the CPU, float64."""

    config: DiagonalImplicitBiasConfig
    X: Tensor  # (n, d)
    y: Tensor  # (n,)
    beta_star: Tensor  # (d,)
    l1: Tensor  # (d,) min-ℓ1 interpolator
    l2: Tensor  # (d,) min-ℓ2 interpolator
    process: LimitingProcess
    t_tilde: Tensor  # (T,) accelerated time
    beta: dict[float, Tensor]  # α → (T, d) flow in accelerated time
    dual: dict[float, Tensor]  # α → (T, d) θ / ln(1/α)
    loss: dict[float, Tensor]  # α → (T,)
    dual_error: dict[float, float]  # α → max |θ/ln(1/α) − s| · ln(1/α)
    plateau_error: dict[
        float, float
    ]  # α → max relative β error at long plateaus · ln(1/α)
    bias_alphas: Tensor  # (A,)
    bias: Tensor  # (A, d) β_α
    descent: tuple[DescentSummary, ...]


def sparse_instance(
    cfg: DiagonalImplicitBiasConfig,
) -> tuple[Tensor, Tensor, Tensor]:
    """X (n, d) Gaussian from ``seed_data``, β* = (target, 0, …), y = Xβ*."""
    g = torch.Generator().manual_seed(cfg.seed_data)
    X = torch.randn(cfg.n, cfg.d, generator=g, dtype=torch.float64)
    beta_star = torch.zeros(cfg.d, dtype=torch.float64)
    beta_star[: len(cfg.target)] = torch.tensor(cfg.target, dtype=torch.float64)
    return X.to(cfg.device), (X @ beta_star).to(cfg.device), beta_star.to(cfg.device)


def _fitted_alpha(norms: Tensor, alphas: Tensor, target: Tensor) -> Tensor:
    """The α at which ‖β_α‖₁ (increasing in α) equals ``target``: log-linear interpolation."""
    x = np.log(alphas.numpy())
    return torch.as_tensor(np.exp(np.interp(target.numpy(), norms.numpy(), x)))


def run_diagonal_implicit_bias(
    cfg: DiagonalImplicitBiasConfig = DiagonalImplicitBiasConfig(),
    *,
    progress: bool = True,
) -> DiagonalImplicitBiasResult:
    """Flows, limiting process, implicit bias over α, GD vs SGD (module docstring)."""
    from tqdm.auto import tqdm

    X, y, beta_star = sparse_instance(cfg)
    process = limiting_process(X, y)
    last = float(process.times[-1])
    t_tilde = torch.linspace(
        0, cfg.horizon * last, cfg.points, dtype=X.dtype, device=X.device
    )
    s_path = process.dual_at(t_tilde)
    long = process.times.diff()
    mids = (process.times[1:] + process.times[:-1]) / 2
    beta, dual, loss, dual_error, plateau_error = {}, {}, {}, {}, {}
    for alpha in tqdm(cfg.alphas, desc="flows", disable=not progress):
        L = math.log(1 / alpha)
        run = mirror_flow(X, y, alpha=alpha, times=t_tilde * L)
        beta[alpha], dual[alpha], loss[alpha] = (
            run.beta.cpu(),
            (run.theta / L).cpu(),
            run.loss.cpu(),
        )
        dual_error[alpha] = float((run.theta / L - s_path).abs().max()) * L
        keep = long > 3 / L
        if bool(keep.any()):
            at = mirror_flow(X, y, alpha=alpha, times=mids[keep] * L).beta
            saddles = process.saddles[:-1][keep]
            scale = saddles.abs().max(dim=-1).values.clamp(min=1)
            err = (at - saddles).abs().max(dim=-1).values / scale
            plateau_error[alpha] = float(err.max()) * L
        else:
            plateau_error[alpha] = math.nan

    bias_alphas = torch.tensor(cfg.bias_alphas, dtype=torch.float64)
    bias = torch.stack(
        [
            implicit_bias(X, y, alpha=a).cpu()
            for a in tqdm(cfg.bias_alphas, desc="implicit bias", disable=not progress)
        ]
    )
    norms = bias.abs().sum(-1)

    summaries = []
    for i, alpha in enumerate(
        tqdm(cfg.sgd_alphas, desc="GD vs SGD", disable=not progress)
    ):
        gd = descent(
            X, y, alpha=alpha, lr=cfg.lr, steps=cfg.steps, record_every=cfg.steps
        )
        sgd = descent(
            X,
            y,
            alpha=alpha,
            lr=cfg.lr,
            steps=cfg.steps,
            batch_size=cfg.batch_size,
            generator=torch.Generator(cfg.device).manual_seed(cfg.seed_sgd + i),
            ensemble=cfg.seeds,
            record_every=cfg.steps,
        )
        gd_beta, sgd_beta = gd.beta.cpu(), sgd.beta.cpu()
        summaries.append(
            DescentSummary(
                alpha=alpha,
                gd_beta=gd_beta,
                sgd_beta=sgd_beta,
                gd_loss=float(gd.losses[-1]),
                sgd_loss=float(sgd.losses[-1].max()),
                gd_fitted_alpha=float(
                    _fitted_alpha(norms, bias_alphas, gd_beta.abs().sum()[None])[0]
                ),
                sgd_fitted_alpha=_fitted_alpha(
                    norms, bias_alphas, sgd_beta.abs().sum(-1)
                ),
            )
        )
    return DiagonalImplicitBiasResult(
        config=cfg,
        X=X.cpu(),
        y=y.cpu(),
        beta_star=beta_star.cpu(),
        l1=min_l1(X, y).cpu(),
        l2=min_l2(X, y).cpu(),
        process=process,
        t_tilde=t_tilde.cpu(),
        beta=beta,
        dual=dual,
        loss=loss,
        dual_error=dual_error,
        plateau_error=plateau_error,
        bias_alphas=bias_alphas,
        bias=bias,
        descent=tuple(summaries),
    )


def _distance(result: DiagonalImplicitBiasResult, target: Tensor) -> Tensor:
    return (result.bias - target).abs().max(dim=-1).values


def summary(result: DiagonalImplicitBiasResult) -> list[str]:
    """The key numbers, one line each."""
    cfg, p = result.config, result.process
    lines = [
        f"sparse regression n = {cfg.n}, d = {cfg.d}, beta* = {list(cfg.target)} + zeros "
        f"(seed {cfg.seed_data}); min-l1 = beta* to "
        f"{float((result.l1 - result.beta_star).abs().max()):.1e}, "
        f"||min-l1||_1 = {float(result.l1.abs().sum()):.4f}",
        "limiting process (accelerated time t~ = t / ln(1/alpha)):",
    ]
    for k in range(1, len(p.times)):
        lines.append(
            f"  jump {k}: t~ = {float(p.times[k]):.4f}  +{list(p.activated[k])} "
            f"-{list(p.deactivated[k])}  support {list(p.support(k))}  "
            f"loss {float(p.losses[k]):.4g}"
        )
    lines.append(
        f"  last saddle = min-l1 to {float((p.saddles[-1] - result.l1).abs().max()):.1e}"
    )
    lines.append(
        "flow vs process, errors x ln(1/alpha): dual s over the path | beta mid-plateau"
    )
    for a in cfg.alphas:
        lines.append(
            f"  alpha {a:.0e} (ln 1/alpha = {math.log(1 / a):5.1f}): "
            f"{result.dual_error[a]:.2f} | {result.plateau_error[a]:.2f}"
        )
    to_l1, to_l2 = _distance(result, result.l1), _distance(result, result.l2)
    grid = np.array(cfg.bias_alphas)
    pick, index = [], []
    for a in (1e-16, 1e-8, 1e-4, 1e-2, 1.0, 10.0, 100.0):
        near = np.flatnonzero(np.isclose(grid, a, rtol=1e-9, atol=0.0))
        if near.size:
            pick.append(a)
            index.append(int(near[0]))
    lines.append(
        "implicit bias, max|beta_alpha - min-l1|: "
        + ", ".join(
            f"{a:.0e}: {float(to_l1[i]):.1e}" for a, i in zip(pick, index, strict=True)
        )
    )
    lines.append(
        "implicit bias, max|beta_alpha - min-l2|: "
        + ", ".join(
            f"{a:.0e}: {float(to_l2[i]):.1e}" for a, i in zip(pick, index, strict=True)
        )
    )
    small = [i for i, a in enumerate(cfg.bias_alphas) if a <= 1e-4]
    if len(small) >= 2:
        i, j = small[0], small[-1]
        slope = math.log(float(to_l1[j] / to_l1[i])) / math.log(
            cfg.bias_alphas[j] / cfg.bias_alphas[i]
        )
        lines.append(f"  log-log slope to min-l1 for alpha <= 1e-4: {slope:.2f}")
    big = [i for i, a in enumerate(cfg.bias_alphas) if a >= 10]
    if len(big) >= 2:
        i, j = big[0], big[-1]
        slope = math.log(float(to_l2[j] / to_l2[i])) / math.log(
            cfg.bias_alphas[j] / cfg.bias_alphas[i]
        )
        lines.append(
            f"  log-log slope to min-l2 for alpha >= 10: {slope:.2f} (theory -4)"
        )
    lines.append(
        f"GD vs SGD (lr {cfg.lr}, batch {cfg.batch_size}, {cfg.steps} steps, "
        f"{cfg.seeds} seeds): ||beta||_1 | max|beta - beta*| | fitted alpha"
    )
    for s in result.descent:
        sgd_l1 = s.sgd_beta.abs().sum(-1)
        sgd_dist = (s.sgd_beta - result.beta_star).abs().max(dim=-1).values
        lines.append(
            f"  alpha {s.alpha:g}: GD {float(s.gd_beta.abs().sum()):.3f} | "
            f"{float((s.gd_beta - result.beta_star).abs().max()):.3f} | "
            f"{s.gd_fitted_alpha:.3g};  SGD {float(sgd_l1.mean()):.3f} "
            f"[{float(sgd_l1.min()):.3f}, {float(sgd_l1.max()):.3f}] | "
            f"{float(sgd_dist.mean()):.3f} | {float(s.sgd_fitted_alpha.mean()):.3g} "
            f"(final losses {s.gd_loss:.0e}, {s.sgd_loss:.0e})"
        )
    return lines


def plot_diagonal_implicit_bias(
    result: DiagonalImplicitBiasResult, path: str | Path
) -> Path:
    """Save the figure: trajectories vs the staircase per α; loss; dual; limits; GD vs SGD."""
    from matplotlib.figure import Figure

    cfg, p = result.config, result.process
    cols = max(len(cfg.alphas), 4)
    fig = Figure(figsize=(4.2 * cols, 8.4), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False)
    t = result.t_tilde.numpy()
    ever = sorted({i for k in range(len(p.times)) for i in p.support(k)})
    colors = {i: f"C{n % 10}" for n, i in enumerate(ever)}
    stairs = p.beta_at(result.t_tilde).numpy()
    for ax, alpha in zip(axes[0], cfg.alphas, strict=False):
        b = result.beta[alpha].numpy()
        for i in ever:
            ax.plot(t, b[:, i], color=colors[i], lw=1.4, label=f"β_{i}")
            ax.plot(t, stairs[:, i], color=colors[i], ls="--", lw=0.9)
        for tk in p.times[1:].tolist():
            ax.axvline(tk, color="0.8", lw=0.6, zorder=0)
        ax.set(
            xlabel="t̃ = t / ln(1/α)",
            title=f"α = {alpha:.0e}: flow (solid) vs limit (dashed)",
        )
    for ax in axes[0, len(cfg.alphas) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("β_i")
    axes[0, 0].legend(fontsize=7, ncol=2)

    ax = axes[1, 0]
    for n, alpha in enumerate(cfg.alphas):
        ax.semilogy(
            t, result.loss[alpha].numpy(), color=f"C{n}", label=f"α = {alpha:.0e}"
        )
    limit_loss = _loss(result.X, result.y, p.beta_at(result.t_tilde)).numpy()
    ax.semilogy(t, np.maximum(limit_loss, 1e-12), "k--", lw=1, label="limit")
    ax.set(xlabel="t̃", ylabel="L(β)", title="training loss", ylim=(1e-6, None))
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    alpha = cfg.alphas[-1]
    s = p.dual_at(result.t_tilde).numpy()
    for i in ever:
        ax.plot(t, result.dual[alpha].numpy()[:, i], color=colors[i], lw=2.2, alpha=0.5)
        ax.plot(t, s[:, i], color="k", ls="--", lw=0.8)
    ax.axhline(1, color="k", lw=0.6)
    ax.axhline(-1, color="k", lw=0.6)
    ax.set(
        xlabel="t̃",
        ylabel="s = θ / ln(1/α)",
        title=f"dual variable, α = {alpha:.0e} (black dashed: limit)",
    )

    ax = axes[1, 2]
    a = result.bias_alphas.numpy()
    ax.loglog(a, _distance(result, result.l1).numpy(), "o-", ms=3, label="to min-ℓ1")
    ax.loglog(a, _distance(result, result.l2).numpy(), "s-", ms=3, label="to min-ℓ2")
    big = a >= 10
    if big.any():
        ref = _distance(result, result.l2).numpy()[big][0] * a[big][0] ** 4
        ax.loglog(a[big], ref / a[big] ** 4, "k--", lw=1, label="∝ α⁻⁴")
    ax.set(
        xlabel="α",
        ylabel="max |β_α − β_lim|",
        title="implicit bias β_α = argmin φ_α s.t. Xβ = y",
    )
    ax.legend(fontsize=7)

    ax = axes[1, 3]
    ax.semilogx(a, result.bias.abs().sum(-1).numpy(), "k-", lw=1, label="‖β_α‖₁ (flow)")
    ax.axhline(float(result.l1.abs().sum()), color="k", ls=":", lw=1, label="min-ℓ1")
    for n, s in enumerate(result.descent):
        sgd = s.sgd_beta.abs().sum(-1).numpy()
        ax.plot([s.alpha], [float(s.gd_beta.abs().sum())], "o", color="C0",
                label="GD" if n == 0 else None)  # fmt: skip
        ax.plot(
            [s.alpha] * len(sgd), sgd, "x", color="C3", label="SGD" if n == 0 else None
        )
        ax.plot(s.sgd_fitted_alpha.numpy(), sgd, ".", color="C3", alpha=0.4,
                label="SGD at its fitted α" if n == 0 else None)  # fmt: skip
    ax.set(
        xlabel="α",
        ylabel="‖β‖₁ at the end",
        title=f"GD vs SGD (batch {cfg.batch_size}, lr {cfg.lr})",
        xlim=(1e-3, 10),
    )
    ax.legend(fontsize=7)
    for ax in axes[1, 4:]:
        ax.axis("off")
    fig.suptitle(
        f"Diagonal linear network β = u⊙v, sparse regression n = {cfg.n}, d = {cfg.d}, "
        f"{len(cfg.target)}-sparse β*: saddle-to-saddle limit (Pesme & Flammarion 2023) "
        "and implicit bias"
    )
    return save_figure(fig, path, dpi=100)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce diagonal-implicit-bias``: the runs, and their figure."""
    config = (
        DiagonalImplicitBiasConfig.quick() if quick else DiagonalImplicitBiasConfig()
    )
    result = run_diagonal_implicit_bias(
        replace(config, device=device), progress=progress
    )
    return summary(result), plot_diagonal_implicit_bias(result, out)
