"""Feature vs lazy training on the stripe model: compression, kinks, and the NTK as a kernel.

Paccolat, Petrini, Geiger, Tyloo & Wyart (2021, arXiv:2007.11471), at the CPU scale of
shared/science.md §4.4: one hidden layer of h ReLU neurons with biases, mean-field readout,
F = α (f − f₀), hinge loss, the authors' adaptive gradient flow until every margin is
reached. One initialisation is trained at every α of a sweep, as one batched ensemble.

What it measures, per α: test error, relative weight change, compression Λ (per-component
normalisation, Λ(0) ≈ 1), t½/h; for the most feature-like and the most lazy α: where the
neurons' kinks sit along x₁ (they gather at the stripe's interfaces in the feature regime),
the labels' projections on the top NTK eigenvectors at the start and the end, and the test
error of kernel machines (hinge flow) with the initial and the final NTK.

Expected (§4.4, d = 5, h = 500, p = 64): the feature error is below the lazy one, Λ ≫ 1 in
the feature regime and ≈ 1 in the lazy one, the relative weight change ∝ 1/α on the lazy
side, and the final NTK is a better kernel than the initial one after feature training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from deeptheory.experiments import save_figure
from deeptheory.experiments._alpha_runs import (
    hinge_flow,
    paper_network,
    train_over_alphas,
)
from deeptheory.kernel_machines import kernel_flow
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.observables import (
    classification_error,
    compression,
    half_loss_time,
    kink_points,
    label_projections,
    relative_weight_change,
)
from deeptheory.tasks import Stripe, train_test

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class StripeCompressionConfig:
    """Settings (defaults: shared/science.md §4.4)."""

    d: int = 5
    width: int = 500
    train: int = 64
    test: int = 4000
    alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 1e2, 1e3, 1e4)
    seed_init: int = 0
    seed_train: int = 1
    seed_test: int = 2
    max_steps: int = 200_000
    device: str = "cpu"

    @classmethod
    def quick(cls) -> StripeCompressionConfig:
        """~30 s on 2 cores: fewer points, neurons and α values."""
        return cls(width=100, train=32, test=1000, alphas=(1e-3, 1e-1, 10.0, 1e3))


@dataclass(frozen=True)
class StripeCompressionResult:
    """Everything the figure shows; tensors on the CPU."""

    config: StripeCompressionConfig
    alphas: Tensor  # (A,)
    test_error: Tensor  # (A,)
    weight_change: Tensor  # (A,)
    compression: Tensor  # (A,)
    t_half: Tensor  # (A,) in units of t/h
    t_final: Tensor  # (A,) in units of t/h
    kinks: Tensor  # (A, h): x₁ of each neuron's kink
    readout: Tensor  # (A, h): |β_n| at the end (how much each neuron matters)
    projections: dict[str, Tensor]  # "init", "feature", "lazy" → cumulative (p,)
    kernel_error: dict[str, float]  # "init", "feature", "lazy" NTK as a kernel machine
    interfaces: tuple[float, ...]


def run_stripe_compression(
    cfg: StripeCompressionConfig = StripeCompressionConfig(), *, progress: bool = True
) -> StripeCompressionResult:
    """Train every α from one initialisation and measure (see the module docstring)."""
    task = Stripe(d=cfg.d)
    x, y, x_test, y_test = train_test(
        task,
        cfg.train,
        cfg.test,
        seed_train=cfg.seed_train,
        seed_test=cfg.seed_test,
        device=cfg.device,
    )
    net = paper_network(cfg.d, cfg.width, "relu")
    one = net.init(generator=torch.Generator(cfg.device).manual_seed(cfg.seed_init))
    count = len(cfg.alphas)
    alphas = torch.tensor(cfg.alphas, dtype=x.dtype, device=x.device)
    runs = train_over_alphas(
        net, one, x, y, x_test, alphas, max_steps=cfg.max_steps, progress=progress
    )
    last = runs.final
    w = last.params["w0"]
    kinks = kink_points(
        w, last.params["b0"], input_scale=net.scale(0), bias_scale=net.bias_std
    )

    feature, lazy = 0, count - 1
    projections: dict[str, Tensor] = {}
    kernel_error: dict[str, float] = {}
    for name, params in (
        ("init", one),
        ("feature", FCNet.member(last.params, feature)),
        ("lazy", FCNet.member(last.params, lazy)),
    ):
        K, K_test = empirical_ntk(net, params, x), empirical_ntk(net, params, x_test, x)
        _, _, proj = label_projections(K, y)
        projections[name] = proj.square().cumsum(0).cpu()
        machine = kernel_flow(K, y, K_test, config=hinge_flow(cfg.max_steps))
        kernel_error[name] = float(classification_error(machine.F_test, y_test))
    return StripeCompressionResult(
        config=cfg,
        alphas=alphas.cpu(),
        test_error=classification_error(runs.F_test, y_test).cpu(),
        weight_change=relative_weight_change(
            last.params, runs.params0, ensemble=True
        ).cpu(),
        compression=compression(w).cpu(),
        t_half=(half_loss_time(runs.times, runs.losses) / cfg.width).cpu(),
        t_final=(last.t / cfg.width).cpu(),
        kinks=kinks[..., 0].cpu(),
        readout=last.params["w1"][:, 0, :].abs().cpu(),
        projections=projections,
        kernel_error=kernel_error,
        interfaces=task.interfaces,
    )


def summary(result: StripeCompressionResult) -> list[str]:
    """The key numbers, one line each."""
    lines = [f"{'alpha':>8} {'test err':>8} {'rel dw':>9} {'Lambda':>7} {'t1/2/h':>9}"]
    for i, a in enumerate(result.alphas.tolist()):
        lines.append(
            f"{a:>8.0e} {float(result.test_error[i]):>8.3f} "
            f"{float(result.weight_change[i]):>9.3g} {float(result.compression[i]):>7.2f} "
            f"{float(result.t_half[i]):>9.3g}"
        )
    k = result.kernel_error
    lines.append(
        "kernel machine (hinge flow) test error: initial NTK "
        f"{k['init']:.3f}, final NTK after feature training {k['feature']:.3f}, "
        f"after lazy training {k['lazy']:.3f}"
    )
    top = min(5, len(result.projections["init"])) - 1
    lines.append(
        f"label fraction on the top {top + 1} NTK eigenvectors: initial "
        f"{float(result.projections['init'][top]):.3f}, after feature training "
        f"{float(result.projections['feature'][top]):.3f}, after lazy training "
        f"{float(result.projections['lazy'][top]):.3f}"
    )
    return lines


def plot_stripe_compression(result: StripeCompressionResult, path: str | Path) -> Path:
    """Save the figure: error, weight change and Λ vs α; kinks; label projections."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    a = result.alphas.numpy()
    ax = axes[0, 0]
    ax.semilogx(a, result.test_error.numpy(), "o-")
    ax.set(xlabel="α", ylabel="test error", title="test error")
    ax = axes[0, 1]
    ax.loglog(a, result.weight_change.numpy(), "o-", label="‖w − w₀‖/‖w₀‖")
    lazy = a >= 10
    if lazy.sum() >= 1:
        ref = result.weight_change.numpy()[lazy][0] * a[lazy][0]
        ax.loglog(a[lazy], ref / a[lazy], "k--", label="∝ 1/α")
    ax.set(xlabel="α", title="relative weight change")
    ax.legend()
    ax = axes[0, 2]
    ax.semilogx(a, result.compression.numpy(), "o-")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="α", ylabel="Λ", title="compression Λ (Λ(0) ≈ 1)")
    for ax, index, name in ((axes[1, 0], 0, "feature"), (axes[1, 1], -1, "lazy")):
        kinks, weight = result.kinks[index].numpy(), result.readout[index].numpy()
        ax.hist(kinks, bins=60, range=(-4, 4), weights=weight / weight.sum())
        for c in result.interfaces:
            ax.axvline(c, color="r", ls="--", lw=1)
        ax.set(
            xlabel="kink position along x₁",
            ylabel="share of |β|",
            title=f"neuron kinks, {name} (α = {float(result.alphas[index]):g})",
        )
    ax = axes[1, 2]
    for name, style in (("init", "k-"), ("feature", "C0-"), ("lazy", "C1--")):
        proj = result.projections[name].numpy()
        ax.semilogx(range(1, len(proj) + 1), proj, style, label=name)
    ax.set(
        xlabel="top k eigenvectors of the NTK",
        ylabel="fraction of ‖y‖²",
        title="labels on the NTK eigenvectors",
    )
    ax.legend()
    cfg = result.config
    fig.suptitle(
        f"Stripe model, d = {cfg.d}, h = {cfg.width}, p = {cfg.train}: feature (small α) "
        "vs lazy (large α)"
    )
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce stripe-compression``: the runs, and their figure."""
    config = StripeCompressionConfig.quick() if quick else StripeCompressionConfig()
    result = run_stripe_compression(replace(config, device=device), progress=progress)
    return summary(result), plot_stripe_compression(result, out)
