"""Saddle-to-saddle dynamics of deep linear networks from a small initialisation.

Saxe, McClelland & Ganguli (2014, arXiv 1312.6120) and Jacot, Ged, Şimşek, Hongler &
Gabriel (2021, arXiv 2106.15933); shared/science.md §6.1–§6.2. A linear network
A = W_L ⋯ W_1 (hidden width h, i.i.d. N(0, σ²) entries) learns a target T = U diag(s) Vᵀ of
rank r with distinct singular values in a random basis, by gradient flow on ½ ‖A − T‖_F²
(:func:`deeptheory.linear_nets.flow`, DOP853, rtol 1e-10).

What it computes:

1. depth 2 and depth 3 from a small init: the loss, its plateaus and the rank of A on each
   (:func:`~deeptheory.linear_nets.plateaus`), the half-learning time t½ of each mode;
   at depth 2 against Saxe's closed form from the effective strengths of the init
   (:func:`~deeptheory.saxe.effective_strengths`);
2. Saxe's decoupled setting of science.md §6.1 (n_in = 4, h = 6, n_out = 3,
   s = (3, 2, 1), u₀ = 1e-4): the largest deviation of the flow from the closed form;
3. the time t₁ for the first mode to be half learned against σ at depths 2, 3, 4.

Expected: r plateaus, at the loss ½ Σ_{i>k} s_i² of the saddle of rank k = 0 … r − 1, the
singular values of A switching on one at a time in decreasing order; at depth 2,
t½ = ln(s/u₀ − 1)/(2s) so t₁ grows like ln(1/σ)/s₁; at depth L ≥ 3, t₁ ∝ σ^{−(L−2)}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from deeptheory.experiments import save_figure
from deeptheory.linear_nets import (
    LinearTrajectory,
    Plateaus,
    flow,
    gradient_descent,
    init_linear,
    plateaus,
    rank_at_plateaus,
    switch_on_times,
)
from deeptheory.saxe import (
    compare_with_flow,
    effective_strengths,
    saxe_half_time,
    saxe_mode_strength,
)

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class SaddleToSaddleConfig:
    """Settings of the reproduction (defaults: the full run)."""

    dim: int = 6  # d_0 = d_L, input and output dimension
    singular_values: tuple[float, ...] = (6.0, 3.0, 1.5, 0.75)  # s_i of T (rank r = 4)
    width: int = 20  # h, every hidden layer
    scale2: float = 1e-6  # σ of the depth-2 run
    scale3: float = 3e-4  # σ of the depth-3 run
    points: int = 2000  # log-spaced record times (the jumps are fast at depth 3)
    lr: float | None = (
        0.01  # depth 3 also by gradient descent with this step (None: not)
    )
    # the t₁(σ) sweep: (depth, σ values)
    sweep: tuple[tuple[int, tuple[float, ...]], ...] = (
        (2, (1e-2, 1e-3, 1e-4, 1e-6, 1e-8)),
        (3, (1e-2, 3e-3, 1e-3, 3e-4, 1e-4)),
        (4, (0.1, 0.07, 0.05, 0.03, 0.02)),
    )
    seed_target: int = 0
    seed_init: int = 1
    device: str = "cpu"

    @classmethod
    def quick(cls) -> SaddleToSaddleConfig:
        """A few seconds: a larger depth-3 init (10× shorter plateaus), a shorter sweep."""
        return cls(
            scale3=3e-3,
            points=1000,
            sweep=(
                (2, (1e-2, 1e-4, 1e-6)),
                (3, (1e-2, 3e-3, 1e-3)),
                (4, (0.1, 0.05, 0.03)),
            ),
        )


@dataclass(frozen=True)
class DepthRun:
    """One depth: the trajectory and what is measured on it."""

    depth: int
    scale: float
    run: LinearTrajectory
    found: Plateaus
    ranks: Tensor  # (K,) rank of A on each plateau
    saddle_distance: Tensor  # (K,) ‖A − T_k‖_F mid-plateau, T_k the best rank-k T
    t_half: Tensor  # (r,) half-learning time of each mode
    saxe_t_half: Tensor | None  # (r,) depth 2: Saxe's from the effective strengths
    saxe_u0: Tensor | None  # (r,) depth 2: the effective strengths
    descent: LinearTrajectory | None  # gradient descent from the same init
    descent_t_half: Tensor | None  # (r,)


@dataclass(frozen=True)
class SaddleToSaddleResult:
    """Everything the figure and the summary show; tensors on the CPU."""

    config: SaddleToSaddleConfig
    runs: dict[int, DepthRun]
    levels: Tensor  # (r,) ½ Σ_{i>k} s_i², the saddles' losses
    saxe_error: float  # decoupled §6.1 setting: max |u_flow − u_Saxe|
    saxe_t_half: Tensor  # (3,) t½ measured in the §6.1 setting
    saxe_t_half_exact: Tensor  # (3,) Saxe's closed form
    sweep: dict[int, tuple[Tensor, Tensor]]  # depth → (σ, t₁)


def make_target(cfg: SaddleToSaddleConfig) -> Tensor:
    """T = U diag(s) Vᵀ with U, V random orthogonal (d, d) from ``seed_target``."""
    g = torch.Generator(cfg.device).manual_seed(cfg.seed_target)
    kw = dict(dtype=torch.float64, device=cfg.device)
    U = torch.linalg.qr(torch.randn(cfg.dim, cfg.dim, generator=g, **kw))[0]
    V = torch.linalg.qr(torch.randn(cfg.dim, cfg.dim, generator=g, **kw))[0]
    s = torch.zeros(cfg.dim, **kw)
    s[: len(cfg.singular_values)] = torch.tensor(cfg.singular_values, **kw)
    return U @ torch.diag(s) @ V.T


def _dims(cfg: SaddleToSaddleConfig, depth: int) -> tuple[int, ...]:
    return (cfg.dim, *[cfg.width] * (depth - 1), cfg.dim)


def _horizon(s_min: float, scale: float, depth: int) -> float:
    """A time by which the weakest mode is learned (generous; the flow stops earlier).

    The scalar balanced mode with per-layer scale σ: ln(1/σ²)/s at depth 2,
    σ^{−(L−2)}/((L − 2) s) at depth L ≥ 3 (science.md §6.2), times a safety factor.
    """
    if depth == 2:
        return 4 * math.log(1 / scale**2 + 1) / s_min + 10
    return 4 * scale ** (2 - depth) / ((depth - 2) * s_min) + 10


def _run_depth(
    cfg: SaddleToSaddleConfig, target: Tensor, depth: int, scale: float
) -> DepthRun:
    s = torch.tensor(cfg.singular_values, dtype=target.dtype, device=target.device)
    g = torch.Generator(cfg.device).manual_seed(cfg.seed_init)
    weights = init_linear(
        _dims(cfg, depth), scale=scale, generator=g, device=cfg.device
    )
    # first pass: when the loss has fallen to 1e-8 L(0); then a record up to 1.3× that
    small = 1e-8 * 0.5 * float(s.square().sum())
    end = flow(
        weights,
        target,
        times=[_horizon(float(s.min()), scale, depth)],
        until_loss=small,
    )
    t_end = 1.3 * float(end.times[-1])
    times = torch.logspace(-2, math.log10(t_end), cfg.points, dtype=torch.float64)
    run = flow(weights, target, times=times)
    found = plateaus(run.times, run.loss)
    ranks = rank_at_plateaus(found, run.times, run.singular_values)
    U, V = torch.linalg.svd(target)[0], torch.linalg.svd(target)[2].T
    mid = (found.start * found.end).sqrt()
    idx = (run.times[None, :].log() - mid[:, None].log()).abs().argmin(dim=1)
    distance = torch.stack(
        [
            torch.linalg.matrix_norm(run.products[i] - (U[:, :k] * s[:k]) @ V[:, :k].T)
            for k, i in enumerate(idx.tolist())
        ]
    )
    t_half = switch_on_times(run.times, run.mode_strengths, s)
    u0 = saxe = descent = descent_t_half = None
    if depth == 2:
        u0 = effective_strengths(weights, target)
        saxe = saxe_half_time(s, u0)
    if depth == 3 and cfg.lr:
        steps = math.ceil(t_end / cfg.lr)
        grid = np.unique(np.geomspace(1, steps, cfg.points).round().astype(int))
        descent = gradient_descent(
            weights, target, lr=cfg.lr, steps=steps, record=[0, *grid.tolist()]
        )
        descent_t_half = switch_on_times(descent.times, descent.mode_strengths, s)
    return DepthRun(
        depth,
        scale,
        run,
        found,
        ranks,
        distance,
        t_half,
        saxe,
        u0,
        descent,
        descent_t_half,
    )


def _first_escape(
    cfg: SaddleToSaddleConfig, target: Tensor, depth: int, scale: float
) -> float:
    """t₁: the loss crosses ½ (s₁/2)² + ½ Σ_{i>1} s_i² (mode 1 half learned, the others
    still at their tiny initial values), located by the ODE solver's event finder."""
    s = torch.tensor(cfg.singular_values, dtype=target.dtype, device=target.device)
    g = torch.Generator(cfg.device).manual_seed(cfg.seed_init)
    weights = init_linear(
        _dims(cfg, depth), scale=scale, generator=g, device=cfg.device
    )
    t_max = _horizon(float(s[0]), scale, depth)
    stop = 0.5 * float(s[1:].square().sum()) + float(s[0]) ** 2 / 8
    run = flow(weights, target, times=[t_max], until_loss=stop)
    if float(run.loss[-1]) > stop * (1 + 1e-6):
        return math.nan  # not reached within the horizon
    return float(run.times[-1])


def run_saddle_to_saddle(
    cfg: SaddleToSaddleConfig = SaddleToSaddleConfig(), *, progress: bool = True
) -> SaddleToSaddleResult:
    """The depth-2 and depth-3 runs, Saxe's decoupled check, and the t₁(σ) sweep."""
    from tqdm.auto import tqdm

    target = make_target(cfg)
    s = torch.tensor(cfg.singular_values, dtype=torch.float64)
    levels = torch.stack([0.5 * s[k:].square().sum() for k in range(len(s))])
    jobs = 3 + sum(len(v) for _, v in cfg.sweep)
    bar = tqdm(total=jobs, disable=not progress, desc="saddle-to-saddle")
    runs = {}
    for depth, scale in ((2, cfg.scale2), (3, cfg.scale3)):
        runs[depth] = _run_depth(cfg, target, depth, scale)
        bar.update()

    # science.md §6.1: n_in = 4, n_h = 6, n_out = 3, s = (3, 2, 1), u₀ = 1e-4
    kw = dict(dtype=torch.float64, device=cfg.device)
    g = torch.Generator(cfg.device).manual_seed(cfg.seed_target)
    U = torch.linalg.qr(torch.randn(3, 3, generator=g, **kw))[0]
    V = torch.linalg.qr(torch.randn(4, 3, generator=g, **kw))[0]
    s6 = torch.tensor([3.0, 2.0, 1.0], **kw)
    exact = saxe_half_time(s6, 1e-4)
    times = torch.cat([torch.linspace(0, 8, 161, **kw), exact]).sort().values
    check = compare_with_flow(
        U @ torch.diag(s6) @ V.T, u0=1e-4, width=6, times=times, generator=g
    )
    measured = switch_on_times(check.times, check.simulated, s6)
    bar.update()

    sweep = {}
    for depth, scales in cfg.sweep:
        t1 = []
        for scale in scales:
            t1.append(_first_escape(cfg, target, depth, scale))
            bar.update()
        sweep[depth] = (
            torch.tensor(scales, dtype=torch.float64),
            torch.tensor(t1, dtype=torch.float64),
        )
    bar.close()
    return SaddleToSaddleResult(
        config=cfg,
        runs=runs,
        levels=levels,
        saxe_error=check.max_error,
        saxe_t_half=measured.cpu(),
        saxe_t_half_exact=exact.cpu(),
        sweep=sweep,
    )


def sweep_slopes(result: SaddleToSaddleResult) -> dict[int, float]:
    """Fits on the three smallest σ: depth 2, dt₁/d ln(1/σ) (theory 1/s₁); depth L ≥ 3,
    d ln t₁ / d ln σ (theory −(L − 2))."""
    out = {}
    for depth, (scales, t1) in result.sweep.items():
        order = scales.argsort()[:3]
        x = scales[order].log().numpy()
        y = t1[order].numpy()
        if depth == 2:
            out[depth] = float(np.polyfit(-x, y, 1)[0])
        else:
            out[depth] = float(np.polyfit(x, np.log(y), 1)[0])
    return out


def summary(result: SaddleToSaddleResult) -> list[str]:
    """The key numbers, one line each."""
    cfg = result.config
    s = cfg.singular_values
    lines = [
        f"target: d = {cfg.dim}, singular values {s}, hidden width {cfg.width}; "
        f"saddle losses ½Σ_(i>k) s_i² = "
        + ", ".join(f"{float(v):.4g}" for v in result.levels)
    ]
    for depth, one in result.runs.items():
        closed = one.found.closed
        lines.append(
            f"depth {depth}, σ = {one.scale:g}: {int(closed.sum())} plateaus before "
            f"the loss falls to 0 (rank of the target: {len(s)}); "
            f"{one.run.evaluations} gradient evaluations"
        )
        lines.append(f"  {'start':>9} {'end':>9} {'loss':>9} {'½Σs²':>9} {'rank A':>6}")
        for k in range(len(one.found)):
            pred = float(result.levels[k]) if k < len(result.levels) else 0.0
            lines.append(
                f"  {float(one.found.start[k]):>9.4g} {float(one.found.end[k]):>9.4g} "
                f"{float(one.found.level[k]):>9.4g} {pred:>9.4g} {int(one.ranks[k]):>6}"
                + ("" if bool(closed[k]) else "  (open: end of record)")
            )
        dist = " ".join(f"{float(x):.1e}" for x in one.saddle_distance[closed])
        lines.append(
            f"  ‖A − T_k‖_F mid-plateau (T_k: best rank-k approximation): {dist}"
        )
        half = " ".join(f"{float(t):.4g}" for t in one.t_half)
        lines.append(f"  t½ of modes 1..{len(s)}: {half}")
        if one.descent_t_half is not None:
            gd = " ".join(f"{float(t):.4g}" for t in one.descent_t_half)
            err = float(((one.descent_t_half - one.t_half) / one.t_half).abs().max())
            lines.append(
                f"  gradient descent (lr = {cfg.lr:g}): t½ {gd} (max relative difference "
                f"to the flow {err:.1e})"
            )
        if one.saxe_t_half is not None:
            pred = " ".join(f"{float(t):.4g}" for t in one.saxe_t_half)
            err = float(((one.t_half - one.saxe_t_half) / one.saxe_t_half).abs().max())
            lines.append(
                f"  Saxe's t½ from the effective strengths: {pred} "
                f"(max relative difference {err:.1e})"
            )
        else:
            prod = " ".join(
                f"{si * float(t):.4g}" for si, t in zip(s, one.t_half, strict=True)
            )
            lines.append(f"  s_i · t½: {prod} (depth ≥ 3: t½ ∝ 1/s at equal init)")
    lines.append(
        "Saxe's decoupled setting (science.md §6.1, u0 = 1e-4): max |u_flow − u_Saxe| = "
        f"{result.saxe_error:.1e}; t½ measured "
        + " ".join(f"{float(t):.4f}" for t in result.saxe_t_half)
        + ", closed form "
        + " ".join(f"{float(t):.4f}" for t in result.saxe_t_half_exact)
    )
    slopes = sweep_slopes(result)
    for depth, (scales, t1) in result.sweep.items():
        pairs = ", ".join(
            f"{float(a):g}: {float(b):.4g}" for a, b in zip(scales, t1, strict=True)
        )
        theory = f"1/s₁ = {1 / s[0]:.3f}" if depth == 2 else f"−{depth - 2}"
        kind = "dt₁/dln(1/σ)" if depth == 2 else "dln t₁/dln σ"
        lines.append(
            f"t₁ at depth {depth} (σ: t₁) {pairs}; {kind} = {slopes[depth]:.3f} "
            f"(theory {theory})"
        )
    return lines


def plot_saddle_to_saddle(result: SaddleToSaddleResult, path: str | Path) -> Path:
    """Save the figure: loss with plateaus; σ_i(A) at depth 2 (with Saxe) and 3; t₁(σ)."""
    from matplotlib.figure import Figure

    cfg = result.config
    fig = Figure(figsize=(14, 9.5), layout="constrained")
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    for level in result.levels:
        ax.axhline(float(level), color="k", lw=0.7, ls=":")
    for (depth, one), colour in zip(result.runs.items(), ("C0", "C3"), strict=False):
        run = one.run
        ax.loglog(
            run.times, run.loss, colour, label=f"depth {depth}, σ = {one.scale:g}"
        )
        ax.hlines(
            one.found.level,
            one.found.start,
            one.found.end,
            colors=colour,
            lw=7,
            alpha=0.3,
        )
        if one.descent is not None:
            ax.loglog(
                one.descent.times[1:],
                one.descent.loss[1:],
                "k--",
                lw=1,
                label=f"depth {depth}, gradient descent lr = {cfg.lr:g}",
            )
    ax.plot([], [], color="0.5", lw=7, alpha=0.3, label="plateaus found")
    ax.set(
        xlabel="t",
        ylabel="½‖A − T‖²",
        title="loss; dotted: the saddles' ½ Σ_(i>k) s_i², k = 0 … r − 1",
        ylim=(1e-4, 2 * float(result.levels[0])),
    )
    ax.legend(loc="lower left")
    for ax, depth in ((axes[0, 1], 2), (axes[1, 0], 3)):
        one = result.runs[depth]
        t = one.run.times
        for i, si in enumerate(cfg.singular_values):
            ax.semilogx(
                t, one.run.singular_values[:, i], f"C{i}", label=f"σ_{i + 1}(A)"
            )
            ax.axhline(si, color=f"C{i}", lw=0.6, ls=":")
        if one.saxe_u0 is not None:
            s = torch.tensor(cfg.singular_values, dtype=torch.float64)
            u = saxe_mode_strength(t[:, None], s, one.saxe_u0)
            ax.semilogx(t, u, "k--", lw=1)
            ax.plot([], [], "k--", lw=1, label="Saxe from u₀,eff of the init")
        for k in range(len(one.found)):
            ax.axvspan(
                float(one.found.start[k]),
                float(one.found.end[k]),
                color="0.5",
                alpha=0.1,
            )
        first = float(one.found.end[0]) if len(one.found) else float(t[1])
        ax.set(
            xlabel="t",
            ylabel="singular values of A",
            title=f"depth {depth}, σ = {one.scale:g}: σ_i(A) switch on in decreasing order "
            "(grey: plateaus)",
            xlim=(first / 3, float(t[-1])),
        )
        ax.legend(loc="upper left")
    ax = axes[1, 1]
    slopes = sweep_slopes(result)
    for depth, (scales, t1) in result.sweep.items():
        ax.loglog(
            scales, t1, "o-", label=f"depth {depth} (fitted slope {slopes[depth]:.2f})"
        )
    ax.set(
        xlabel="σ (std of the initial entries)",
        ylabel="t₁ (mode 1 half learned)",
        title="leaving the origin: t₁ ≈ ln(1/σ)/s₁ at depth 2, ∝ σ^−(L−2) at depth L",
    )
    ax.legend()
    fig.suptitle(
        f"Saddle-to-saddle dynamics of linear nets A = W_L ⋯ W_1 on a rank-"
        f"{len(cfg.singular_values)} target, s = {cfg.singular_values}, d = {cfg.dim}, "
        f"h = {cfg.width}, gradient flow"
    )
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce saddle-to-saddle``: the runs, and their figure."""
    config = SaddleToSaddleConfig.quick() if quick else SaddleToSaddleConfig()
    result = run_saddle_to_saddle(replace(config, device=device), progress=progress)
    return summary(result), plot_saddle_to_saddle(result, out)
