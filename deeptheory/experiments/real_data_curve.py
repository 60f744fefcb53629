"""Kernel learning curves on real data: the digits bundled with scikit-learn.

Spigler, Geiger & Wyart, "Asymptotic learning curves of kernel methods: empirical data
versus teacher-student paradigm" (J. Stat. Mech. 2020, arXiv:1905.10843), shared/science.md
§5.1: ridgeless kernel regression on real images gives a test error ε ~ p^(−β), with
β ≈ 0.4 on MNIST and ≈ 0.1 on CIFAR-10, the same for Laplace and Gaussian kernels.

Here, offline and on 2 cores: the 1797 8×8 digits (:func:`deeptheory.datasets.load_digits`),
preprocessed as in the papers (mean image removed, every image at norm √64 = 8, y = +1 for
odd digits and −1 for even ones). For each random split, ``test`` images are held out and
the training sets are the first p images of the rest, nested along the grid of p. The
students are ridgeless kernel regressions, c = (K + jitter·mean(diag K)·I)⁻¹ y,
f = K_test c, with

* Laplace  k(x, x') = exp(−‖x − x'‖/σ),
* Gaussian k(x, x') = exp(−‖x − x'‖²/(2σ²)),
* the infinite-width NTK of a ReLU network (:func:`deeptheory.kernels.fc_kernels`).

The Laplace and Gaussian kernels come from :mod:`deeptheory.stationary_kernels`. Each
Gram is computed once on all 1797 images; per split,
the Gram of the largest training set is factored once and the predictions for every p
follow from it by a cumulative sum (:func:`nested_predictions`): the Cholesky factor of a
leading block K[:p, :p] is the leading block of the factor of K.

Measured: the test MSE ε = mean (f − y)² and the classification error P(sign f ≠ y) per
split; β is the slope of log ε̄ (mean over splits) against log p for p ≥ ``fit_from``,
with a 95 % bootstrap interval over the splits. Also the mean nearest-neighbour distance
δ(p) ~ p^(−1/d_eff), the intrinsic dimension that §5.1 says governs β.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from deeptheory.datasets import load_digits, preprocess
from deeptheory.experiments import save_figure
from deeptheory.kernels import fc_kernels
from deeptheory.stationary_kernels import gaussian_kernel, laplace_kernel

Tensor = torch.Tensor

#: Real-data exponents quoted in shared/science.md §5.1 (from the paper's abstract).
SCIENCE_BETA = {"MNIST": 0.4, "CIFAR-10": 0.1}

KERNELS = ("laplace", "gaussian", "ntk")


@dataclass(frozen=True, kw_only=True)
class RealDataCurveConfig:
    """Settings; the defaults are the full run (~20 s of CPU)."""

    #: training-set sizes p (a geometric grid with ratio √2, up to all non-test images)
    train_sizes: tuple[int, ...] = (
        16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1437,
    )  # fmt: skip
    test: int = 360
    splits: int = 20
    kernels: tuple[str, ...] = KERNELS
    sigma: float = 8.0  # kernel width: √dim, the norm of every image
    ntk_hidden_layers: int = 3
    jitter: float = 1e-10  # ridge, relative to the mean of diag K
    fit_from: int = 64  # fit β on p >= fit_from
    bootstrap: int = 2000
    seed: int = 0
    device: str = "cpu"

    @classmethod
    def quick(cls) -> RealDataCurveConfig:
        """~10 s of CPU: a coarser grid and 4 splits."""
        return cls(
            train_sizes=(16, 32, 64, 128, 256, 512, 1024, 1437), splits=4, bootstrap=500
        )


@dataclass(frozen=True)
class RealDataCurveResult:
    """Learning curves per kernel; arrays on the CPU."""

    config: RealDataCurveConfig
    train_sizes: Tensor  # (P,)
    mse: dict[str, Tensor]  # kernel → (S, P) test MSE per split
    error: dict[str, Tensor]  # kernel → (S, P) classification error per split
    beta: dict[str, tuple[float, float, float]]  # kernel → (β, low, high) of the MSE
    error_beta: dict[str, float]  # kernel → slope of the classification error
    nn_distance: Tensor  # (P,) mean nearest-neighbour distance in the training set
    d_eff: float  # from δ(p) ~ p^(−1/d_eff) on p >= fit_from


def _gram(kernel: str, x: Tensor, cfg: RealDataCurveConfig) -> Tensor:
    """The (n, n) Gram matrix of ``kernel`` on all the images."""
    if kernel == "laplace":
        return laplace_kernel(x, sigma=cfg.sigma)
    if kernel == "gaussian":
        return gaussian_kernel(x, sigma=cfg.sigma)
    if kernel == "ntk":
        return fc_kernels(x, hidden_layers=cfg.ntk_hidden_layers)[1]
    raise ValueError(f"kernel must be one of {KERNELS}; got {kernel!r}")


def nested_predictions(
    K: Tensor, y: Tensor, K_test: Tensor, *, jitter: float = 1e-10
) -> Tensor:
    """Ridgeless predictions on the test points for every leading training set.

    With c_p = (K_p + r I)⁻¹ y_p on the first p training points (r = jitter·mean diag K)
    and the Cholesky factor K + r I = L Lᵀ, L_p = L[:p, :p] is the factor of K_p + r I
    and, L being lower triangular, z = L⁻¹ y and W = L⁻¹ K_testᵀ restrict to their first
    p rows. Hence f_p = K_test,p c_p = Σ_{i < p} W_i z_i: a cumulative sum.

    Args:
      K: (P, P) training Gram. y: (P,) targets. K_test: (n, P) test-train Gram.

    Returns:
      (P, n): row p − 1 is the prediction f_p trained on the first p points.
    """
    ridge = jitter * K.diagonal().mean()
    eye = torch.eye(len(K), dtype=K.dtype, device=K.device)
    L = torch.linalg.cholesky(K + ridge * eye)
    z = torch.linalg.solve_triangular(L, y[:, None], upper=False)  # (P, 1)
    W = torch.linalg.solve_triangular(L, K_test.T, upper=False)  # (P, n)
    return torch.cumsum(W * z, dim=0)


def _slope(p: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) against log(p)."""
    return float(np.polyfit(np.log(p), np.log(values), 1)[0])


def _check(cfg: RealDataCurveConfig, available: int) -> None:
    sizes = cfg.train_sizes
    if not sizes or any(b <= a for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"train_sizes must be increasing; got {sizes}")
    if sizes[0] < 1 or sizes[-1] + cfg.test > available:
        raise ValueError(
            f"train_sizes[-1] + test must be <= {available} images; "
            f"got {sizes[-1]} + {cfg.test}"
        )
    if sum(p >= cfg.fit_from for p in sizes) < 2:
        raise ValueError(f"fit_from = {cfg.fit_from} leaves fewer than 2 sizes to fit")
    for k in cfg.kernels:
        if k not in KERNELS:
            raise ValueError(f"kernels must be among {KERNELS}; got {k!r}")
    if cfg.splits < 2:
        raise ValueError(f"splits must be >= 2 (for the interval); got {cfg.splits}")


def run_real_data_curve(
    cfg: RealDataCurveConfig = RealDataCurveConfig(), *, progress: bool = True
) -> RealDataCurveResult:
    """The learning curves of every kernel on the digits (see the module docstring)."""
    data = load_digits()
    x_all, y_all = preprocess(data.images, data.labels)
    _check(cfg, len(x_all))
    x_all, y_all = x_all.to(cfg.device), y_all.to(cfg.device)
    sizes = list(cfg.train_sizes)
    P, S, p_max = len(sizes), cfg.splits, sizes[-1]
    mse = {k: torch.zeros(S, P, dtype=torch.float64) for k in cfg.kernels}
    error = {k: torch.zeros(S, P, dtype=torch.float64) for k in cfg.kernels}
    nn = torch.zeros(S, P, dtype=torch.float64)
    grams = {k: _gram(k, x_all, cfg) for k in cfg.kernels}
    all_distances = torch.cdist(x_all, x_all)
    all_distances.fill_diagonal_(math.inf)
    rows = torch.tensor(sizes, device=cfg.device) - 1
    generator = torch.Generator().manual_seed(cfg.seed)
    for s in range(S):
        perm = torch.randperm(len(x_all), generator=generator).to(cfg.device)
        test, train = perm[: cfg.test], perm[cfg.test : cfg.test + p_max]
        y, y_test = y_all[train], y_all[test]
        distances = all_distances[train][:, train]
        for j, p in enumerate(sizes):
            nn[s, j] = distances[:p, :p].min(dim=1).values.mean()
        for kernel in cfg.kernels:
            K_all = grams[kernel]
            f = nested_predictions(
                K_all[train][:, train], y, K_all[test][:, train], jitter=cfg.jitter
            )[rows]  # (P, n_test)
            mse[kernel][s] = (f - y_test).square().mean(dim=1).cpu()
            error[kernel][s] = (torch.sign(f) != y_test).double().mean(dim=1).cpu()
        if progress:
            print(f"split {s + 1}/{S} done", flush=True)

    p = np.asarray(sizes, dtype=float)
    fit = p >= cfg.fit_from
    rng = np.random.default_rng(cfg.seed)
    resamples = rng.integers(0, S, size=(cfg.bootstrap, S))
    beta: dict[str, tuple[float, float, float]] = {}
    error_beta: dict[str, float] = {}
    for kernel in cfg.kernels:
        curves = mse[kernel].numpy()
        value = -_slope(p[fit], curves.mean(0)[fit])
        boot = [-_slope(p[fit], curves[r].mean(0)[fit]) for r in resamples]
        low, high = np.percentile(boot, [2.5, 97.5])
        beta[kernel] = (value, float(low), float(high))
        mean_error = error[kernel].numpy().mean(0)[fit]
        error_beta[kernel] = (
            -_slope(p[fit], mean_error) if (mean_error > 0).all() else math.nan
        )
    d_eff = -1.0 / _slope(p[fit], nn.numpy().mean(0)[fit])
    return RealDataCurveResult(
        config=cfg,
        train_sizes=torch.tensor(sizes),
        mse=mse,
        error=error,
        beta=beta,
        error_beta=error_beta,
        nn_distance=nn.mean(0),
        d_eff=d_eff,
    )


def summary(result: RealDataCurveResult) -> list[str]:
    """The key numbers, one line each."""
    cfg = result.config
    p = result.train_sizes.tolist()
    lines = [
        f"digits (1797 8x8 images), parity labels, {cfg.splits} splits, "
        f"{cfg.test} test images, beta fitted on p = {cfg.fit_from} ... {p[-1]}",
        f"{'kernel':>9} {'beta (MSE)':>10} {'95% CI':>15} "
        f"{'MSE p=' + str(p[0]):>10} {'MSE p=' + str(p[-1]):>11} "
        f"{'err p=' + str(p[-1]):>10} {'err slope':>9}",
    ]
    for kernel in cfg.kernels:
        b, low, high = result.beta[kernel]
        mse = result.mse[kernel].mean(0)
        err = result.error[kernel].mean(0)
        lines.append(
            f"{kernel:>9} {b:>10.3f} {f'[{low:.3f}, {high:.3f}]':>15} "
            f"{float(mse[0]):>10.3f} {float(mse[-1]):>11.4f} {float(err[-1]):>10.4f} "
            f"{-result.error_beta[kernel]:>9.2f}"
        )
    betas = [result.beta[k][0] for k in cfg.kernels]
    lines.append(
        f"spread of beta across kernels: {max(betas) - min(betas):.3f} "
        "(science.md §5.1: the same beta for Laplace and Gaussian kernels)"
    )
    lines.append(
        "science.md §5.1 real data: MNIST beta ~ 0.4, CIFAR-10 beta ~ 0.1; "
        f"digits: beta = {result.beta[cfg.kernels[0]][0]:.2f} ({cfg.kernels[0]})"
    )
    lines.append(
        f"nearest-neighbour distance ~ p^(-1/d_eff): d_eff = {result.d_eff:.1f} "
        f"(1/d_eff = {1 / result.d_eff:.2f})"
    )
    return lines


def plot_real_data_curve(result: RealDataCurveResult, path: str | Path) -> Path:
    """Save the figure: test MSE and classification error vs p, and δ(p)."""
    from matplotlib.figure import Figure

    cfg = result.config
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    p = result.train_sizes.numpy().astype(float)
    fit = p >= cfg.fit_from
    S = cfg.splits
    for i, kernel in enumerate(cfg.kernels):
        color = f"C{i}"
        curves = result.mse[kernel].numpy()
        mean, sem = curves.mean(0), curves.std(0, ddof=1) / math.sqrt(S)
        b, low, high = result.beta[kernel]
        axes[0].errorbar(
            p,
            mean,
            yerr=sem,
            fmt="o",
            color=color,
            ms=4,
            label=f"{kernel}: β = {b:.2f} [{low:.2f}, {high:.2f}]",
        )
        intercept = np.exp(np.mean(np.log(mean[fit]) + b * np.log(p[fit])))
        axes[0].plot(p[fit], intercept * p[fit] ** -b, "-", color=color, lw=1)
        err = result.error[kernel].numpy().mean(0)
        axes[1].plot(p, err, "o-", color=color, ms=4, label=kernel)
    ref = result.mse[cfg.kernels[0]].numpy().mean(0)[fit][0] * 1.6
    pf = p[fit]
    axes[0].plot(pf, ref * (pf / pf[0]) ** -SCIENCE_BETA["MNIST"], "k--", lw=1,
                 label="slope −0.4 (MNIST, science.md §5.1)")  # fmt: skip
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="training-set size p",
        ylabel="test MSE ε",
        title="ridgeless kernel regression: ε ~ p^(−β)",
    )
    axes[0].legend(fontsize=8)
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="p",
        ylabel="P(sign f ≠ y)",
        title=f"classification error ({cfg.test} test images)",
    )
    axes[1].legend(fontsize=8)
    nn = result.nn_distance.numpy()
    axes[2].loglog(p, nn, "o", ms=4, label="mean nearest-neighbour distance δ")
    intercept = np.exp(np.mean(np.log(nn[fit]) + np.log(p[fit]) / result.d_eff))
    axes[2].loglog(
        p[fit],
        intercept * p[fit] ** (-1 / result.d_eff),
        "k-",
        lw=1,
        label=f"δ ~ p^(−1/d_eff), d_eff = {result.d_eff:.1f}",
    )
    axes[2].set(xlabel="p", ylabel="δ", title="intrinsic dimension (science.md §5.1)")
    axes[2].legend(fontsize=8)
    fig.suptitle(
        "Digits (scikit-learn, 8×8), odd vs even, mean removed, ‖x‖ = 8: "
        f"{S} random splits, mean ± s.e."
    )
    return save_figure(fig, path)


def reproduce(
    name: str, *, quick: bool, device: str, progress: bool, out: str | Path
) -> tuple[list[str], Path]:
    """``deeptheory reproduce real-data-curve``: the curves, and their figure."""
    config = RealDataCurveConfig.quick() if quick else RealDataCurveConfig()
    result = run_real_data_curve(replace(config, device=device), progress=progress)
    return summary(result), plot_real_data_curve(result, out)
