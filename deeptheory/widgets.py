"""Interactive widgets for self-study (ipywidgets; the ``course`` extra).

Each widget has three parts, so that the logic is tested without a browser:

1. a compute function returning arrays (cached, so moving a slider back is instant);
2. a figure built once, whose artists are updated in place;
3. a thin ipywidgets wrapper returning ``(ui, handles)``: tests set ``handles[...].value``
   and read the artists back (shared/teaching.md §4).

* Homework 1: :func:`ntk_explorer` shows the empirical NTK Θ(x₀, x(γ)) on the unit circle
  for one network (width and seed from sliders) against the infinite-width limit.
* Homeworks 2 and 3: :func:`stripe_explorer` shows a network trained on the stripe model at
  the α and width of two sliders: its decision function, its neurons' kinks, and the
  compression Λ and test error across α (feature regime α ≪ 1, lazy regime α ≫ 1).
* Homework 4: :func:`linear_explorer` shows the gradient flow of a deep linear network
  from the initialisation scale and depth of two sliders: the loss curve with its plateaus
  and the singular values of W_L ⋯ W_1 switching on one by one.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.observables import classification_error, compression, kink_points
from deeptheory.tasks import Stripe, train_test

#: Widths offered by the width slider (log-spaced).
WIDTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class CircleNTK:
    """Θ(x₀, x(γ)) with x(γ) = (cos γ, sin γ), x₀ = (1, 0): numpy arrays of shape (m,)."""

    gamma: np.ndarray
    empirical: np.ndarray
    analytic: np.ndarray

    @property
    def relative_error(self) -> float:
        """‖Θ_h − Θ_∞‖ / ‖Θ_∞‖ over the γ grid."""
        return float(
            np.linalg.norm(self.empirical - self.analytic)
            / np.linalg.norm(self.analytic)
        )


@functools.lru_cache(maxsize=256)
def circle_ntk(
    width: int,
    seed: int,
    *,
    hidden_layers: int = 2,
    activation: str = "relu",
    bias_std: float = 0.1,
    points: int = 121,
) -> CircleNTK:
    """Empirical NTK of one FCNet (width, seed) on the unit circle, and its h → ∞ limit."""
    gamma = torch.linspace(-math.pi, math.pi, points, dtype=torch.float64)
    x = torch.stack([torch.cos(gamma), torch.sin(gamma)], dim=1)
    x0 = x.new_tensor([[1.0, 0.0]])
    kw = dict(hidden_layers=hidden_layers, activation=activation, bias_std=bias_std)
    net = FCNet(input_dim=2, width=width, **kw)
    params = net.init(generator=torch.Generator().manual_seed(seed))
    empirical = empirical_ntk(net, params, x0, x)[0]
    analytic = fc_kernels(x0, x, **kw)[1][0]
    return CircleNTK(gamma.numpy(), empirical.numpy(), analytic.numpy())


def _in_kernel() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _redraw(fig: Any, output: Any) -> None:
    """Redraw ``fig``; in a notebook kernel also show it again in ``output`` (inline
    backends show a figure only when it is displayed)."""
    fig.canvas.draw_idle()
    if _in_kernel():
        from IPython.display import display

        with output:
            output.clear_output(wait=True)
            display(fig)


def ntk_explorer(
    *, width: int = 64, seed: int = 0, hidden_layers: int = 2
) -> tuple[Any, dict[str, Any]]:
    """Width and seed sliders driving Θ(x₀, x(γ)) against the analytic limit.

    Try: move the width up and watch the curve settle on the black one, then change the
    seed at a small and at a large width.

    Returns:
      ``(ui, handles)``: ``ui`` to display; ``handles`` has ``width``, ``seed`` (the
      sliders), ``line``, ``ax``, ``fig`` and ``output``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    with plt.ioff():
        fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    first = circle_ntk(width, seed, hidden_layers=hidden_layers)
    ax.plot(first.gamma, first.analytic, color="black", lw=2, label="h → ∞")
    (line,) = ax.plot(first.gamma, first.empirical, color="tab:blue", label="width h")
    ax.set_xlabel("γ")
    ax.set_ylabel("Θ(x₀, x(γ))")
    ax.legend(loc="upper right")
    width_slider = widgets.SelectionSlider(
        options=WIDTHS, value=width, description="width h"
    )
    seed_slider = widgets.IntSlider(value=seed, min=0, max=20, description="seed")
    output = widgets.Output()

    def update(_: object = None) -> None:
        result = circle_ntk(
            width_slider.value, seed_slider.value, hidden_layers=hidden_layers
        )
        line.set_ydata(result.empirical)
        ax.set_title(
            f"h = {width_slider.value}, seed {seed_slider.value}: "
            f"relative error {result.relative_error:.3f}"
        )
        low = min(result.empirical.min(), result.analytic.min())
        high = max(result.empirical.max(), result.analytic.max())
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        _redraw(fig, output)

    width_slider.observe(update, names="value")
    seed_slider.observe(update, names="value")
    update()
    ui = widgets.VBox([widgets.HBox([width_slider, seed_slider]), output])
    handles = dict(
        width=width_slider, seed=seed_slider, line=line, ax=ax, fig=fig, output=output
    )
    return ui, handles


#: α values offered by the α slider of :func:`stripe_explorer` (half decades).
STRIPE_ALPHAS = tuple(float(10.0 ** (k / 2)) for k in range(-4, 5))
#: Widths offered by the width slider of :func:`stripe_explorer`.
STRIPE_WIDTHS = (16, 64, 256)


@dataclass(frozen=True)
class StripeRuns:
    """One initialisation of the paper's network trained at every α of
    :data:`STRIPE_ALPHAS` on a two-dimensional stripe (numpy arrays; A = number of α).

    Attributes:
      alphas: (A,).
      width: h.
      interfaces: the stripe's interfaces along x₁.
      x, y: the training set, (p, 2) and (p,).
      extent: (x₁ min, x₁ max, x₂ min, x₂ max) of the decision-function grid.
      decision: (A, g, g) F = α (f − f₀) on the grid, rows along x₂ (image order).
      kink_points: (A, h, 2) each neuron's kink line's point closest to the origin.
      directions: (A, h, 2) unit vectors along each kink line.
      importance: (A, h) |β_n| ‖w_n‖ / max: how much each neuron bends F.
      compression: (A,) Λ of the first layer (Λ ≈ 1 at initialisation).
      test_error: (A,).
      steps: (A,) accepted steps of the flow; converged: (A,) every margin reached.
    """

    alphas: np.ndarray
    width: int
    interfaces: tuple[float, ...]
    x: np.ndarray
    y: np.ndarray
    extent: tuple[float, float, float, float]
    decision: np.ndarray
    kink_points: np.ndarray
    directions: np.ndarray
    importance: np.ndarray
    compression: np.ndarray
    test_error: np.ndarray
    steps: np.ndarray
    converged: np.ndarray


def cache_dir() -> Path | None:
    """Where widgets keep results that take seconds to compute: ``$DEEPTHEORY_CACHE``,
    else ``~/.cache/deeptheory``; None (no disk cache) when ``DEEPTHEORY_CACHE`` is set
    to the empty string."""
    root = os.environ.get("DEEPTHEORY_CACHE")
    if root is not None:
        return Path(root) if root else None
    return Path.home() / ".cache" / "deeptheory"


@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """A hash of the library's source and the torch version: results computed by other
    code are never reused."""
    digest = hashlib.sha256(torch.__version__.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        if "course" not in path.relative_to(package).parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _stored(kind: type, key: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """``compute()`` through the disk cache: a dataclass of numpy arrays and plain
    values, stored as ``.npz`` under :func:`cache_dir` (written atomically; an unreadable
    or unwritable cache only means computing again)."""
    folder = cache_dir()
    if folder is None:
        return compute()
    text = repr(sorted(key.items())) + _code_fingerprint()
    path = (
        folder / f"{kind.__name__}-{hashlib.sha256(text.encode()).hexdigest()[:24]}.npz"
    )
    names = [f.name for f in dataclasses.fields(kind)]
    try:
        with np.load(path, allow_pickle=False) as data:
            values = {n: data[n] for n in names}
        return kind(**{n: _plain(v) for n, v in values.items()})
    except (OSError, KeyError, ValueError):
        pass
    result = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as f:
            np.savez(f, **{n: np.asarray(getattr(result, n)) for n in names})
        os.replace(f.name, path)
    except OSError:
        pass
    return result


def _plain(value: np.ndarray) -> Any:
    """Back from an ``.npz`` entry: 0-d arrays to Python scalars, 1-d float arrays of
    interface positions stay arrays (callers convert)."""
    return value.item() if value.ndim == 0 else value


@functools.lru_cache(maxsize=16)
def stripe_runs(
    width: int,
    *,
    seed: int = 0,
    train: int = 64,
    test: int = 2000,
    max_steps: int = 2000,
    grid: int = 81,
) -> StripeRuns:
    """Train one network of the given width at every α of :data:`STRIPE_ALPHAS`.

    The setting of Paccolat et al. (2021, arXiv:2007.11471) in d = 2 so that the whole
    decision function can be drawn: the stripe y = −1 for −0.3 < x₁ < 1.18549 (else +1),
    x ~ N(0, I₂); f = (1/h) Σ_n β_n relu(w_n·x/√2 + b_n) (``paper_network``), trained as
    F = α (f − f₀) with the hinge loss by the authors' adaptive flow, all α as one batched
    ensemble from the same initialisation, until every margin y F ≥ 1 or ``max_steps``.

    A few seconds per width; kept in memory and on disk (:func:`cache_dir`).
    """
    key = dict(width=width, seed=seed, train=train, test=test, max_steps=max_steps)
    key["grid"] = grid
    runs = _stored(
        StripeRuns,
        key,
        lambda: _train_stripe_runs(width, seed, train, test, max_steps, grid),
    )
    return dataclasses.replace(
        runs,
        width=int(runs.width),
        interfaces=tuple(float(c) for c in np.atleast_1d(runs.interfaces)),
        extent=tuple(float(v) for v in runs.extent),
    )


def _train_stripe_runs(
    width: int, seed: int, train: int, test: int, max_steps: int, grid: int
) -> StripeRuns:
    from deeptheory.experiments._alpha_runs import paper_network, train_over_alphas

    task = Stripe(d=2)
    x, y, x_test, y_test = train_test(
        task, train, test, seed_train=seed, seed_test=seed + 10_000
    )
    net = paper_network(2, width, "relu")
    one = net.init(generator=torch.Generator().manual_seed(seed))
    alphas = torch.tensor(STRIPE_ALPHAS, dtype=torch.float64)
    runs = train_over_alphas(
        net, one, x, y, x_test, alphas, max_steps=max_steps, progress=False
    )
    params = runs.final.params
    low, high = -3.0, 3.0
    axis = torch.linspace(low, high, grid, dtype=torch.float64)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")
    plane = torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)
    with torch.no_grad():
        decision = alphas[:, None] * (net(params, plane) - net(runs.params0, plane))
    w, b = params["w0"], params["b0"]
    points = kink_points(w, b, input_scale=net.scale(0), bias_scale=net.bias_std)
    norm = w.norm(dim=-1, keepdim=True)
    directions = torch.stack([-w[..., 1], w[..., 0]], dim=-1) / norm
    importance = params["w1"][:, 0, :].abs() * norm[..., 0]
    importance = importance / importance.amax(dim=-1, keepdim=True)
    return StripeRuns(
        alphas=alphas.numpy(),
        width=width,
        interfaces=task.interfaces,
        x=x.numpy(),
        y=y.numpy(),
        extent=(low, high, low, high),
        decision=decision.reshape(len(alphas), grid, grid).numpy(),
        kink_points=points.numpy(),
        directions=directions.numpy(),
        importance=importance.numpy(),
        compression=compression(w).numpy(),
        test_error=classification_error(runs.F_test, y_test).numpy(),
        steps=runs.final.step.numpy(),
        converged=(y * runs.final.F >= 1).all(dim=1).numpy(),
    )


def kink_segments(runs: StripeRuns, index: int, *, length: float = 20.0) -> np.ndarray:
    """The kink lines of the network trained at ``alphas[index]``: (h, 2, 2) segments
    x*_n ± (length/2) u_n, long enough to cross the plotted square."""
    centre = runs.kink_points[index]
    half = 0.5 * length * runs.directions[index]
    return np.stack([centre - half, centre + half], axis=1)


def _alpha_label(alpha: float) -> str:
    return f"{alpha:.3g}"


def stripe_explorer(
    *, alpha: float = 0.01, width: int = 64
) -> tuple[Any, dict[str, Any]]:
    """α and width sliders driving a network trained on the stripe model.

    Left: the decision function F(x₁, x₂) (red > 0, blue < 0; the black line is F = 0),
    the training points, the interfaces (dashed) and each neuron's kink line
    c w_n·x + b_n = 0, darker when the neuron matters more (|β_n| ‖w_n‖). Right: the
    compression Λ and the test error across α at this width, the current α marked.

    Try: at α = 0.01 (feature regime) the important kink lines turn vertical (they
    ignore x₂) and collapse onto a few positions in and around the stripe, and Λ ≫ 1;
    move α up to 100 (lazy regime): the kinks stay where they were drawn at
    initialisation, Λ ≈ 1, and the test error rises. Change the width: the
    crossover stays at α ≈ 1 in this (code) convention.

    The first view of a width trains its 9 networks (a few seconds); later moves only
    re-index cached results.

    Returns:
      ``(ui, handles)``: handles has the sliders ``alpha`` and ``width``, the artists
      ``image``, ``zero`` (list of F = 0 contour collections), ``kinks``, ``lambda_line``,
      ``lambda_marker``, ``error_line``, ``error_marker``, ``title`` (the figure's
      suptitle), and ``axes``, ``fig``, ``output``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if width not in STRIPE_WIDTHS:
        raise ValueError(f"width must be one of {STRIPE_WIDTHS}; got {width}")
    if alpha not in STRIPE_ALPHAS:
        choices = ", ".join(_alpha_label(a) for a in STRIPE_ALPHAS)
        raise ValueError(f"alpha must be one of {choices}; got {alpha}")
    runs = stripe_runs(width)
    with plt.ioff():
        fig, axes = plt.subplots(
            1, 3, figsize=(11, 3.6), layout="constrained", width_ratios=(1.3, 1, 1)
        )
    ax, ax_lambda, ax_error = axes
    image = ax.imshow(
        runs.decision[0],
        extent=runs.extent,
        origin="lower",
        cmap="RdBu_r",
        aspect="equal",
        interpolation="bilinear",
    )
    kinks = LineCollection([], colors="black", linewidths=0.8)
    ax.add_collection(kinks)
    for c in runs.interfaces:
        ax.axvline(c, color="tab:green", ls="--", lw=1.2)
    colors = np.where(runs.y > 0, "tab:red", "tab:blue")
    ax.scatter(runs.x[:, 0], runs.x[:, 1], c=colors, s=9, edgecolors="white", lw=0.4)
    ax.set_xlim(runs.extent[:2])
    ax.set_ylim(runs.extent[2:])
    ax.set_xlabel("x₁ (informative)")
    ax.set_ylabel("x₂ (perpendicular)")
    zero: list[Any] = []
    title = fig.suptitle("", fontsize=10)

    (lambda_line,) = ax_lambda.semilogx(runs.alphas, runs.compression, "o-", ms=3)
    (lambda_marker,) = ax_lambda.semilogx([], [], "o", color="tab:red", ms=9)
    ax_lambda.axhline(1.0, color="gray", lw=0.8)
    ax_lambda.set_xlabel("α")
    ax_lambda.set_ylabel("Λ (compression)")
    (error_line,) = ax_error.semilogx(runs.alphas, runs.test_error, "o-", ms=3)
    (error_marker,) = ax_error.semilogx([], [], "o", color="tab:red", ms=9)
    ax_error.set_xlabel("α")
    ax_error.set_ylabel("test error")

    alpha_slider = widgets.SelectionSlider(
        options=[(_alpha_label(a), a) for a in STRIPE_ALPHAS],
        value=alpha,
        description="α",
    )
    width_slider = widgets.SelectionSlider(
        options=STRIPE_WIDTHS, value=width, description="width h"
    )
    output = widgets.Output()

    def update(_: object = None) -> None:
        runs = stripe_runs(width_slider.value)
        i = STRIPE_ALPHAS.index(alpha_slider.value)
        field = runs.decision[i]
        scale = float(np.abs(field).max()) or 1.0
        image.set_data(field)
        image.set_clim(-scale, scale)
        while zero:
            zero.pop().remove()
        axis = np.linspace(runs.extent[0], runs.extent[1], field.shape[0])
        if field.min() < 0 < field.max():
            zero.append(ax.contour(axis, axis, field, levels=[0.0], colors="black"))
        kinks.set_segments(kink_segments(runs, i))
        kinks.set_alpha(None)
        kinks.set_color([(0, 0, 0, 0.1 + 0.9 * v) for v in runs.importance[i]])
        lambda_line.set_data(runs.alphas, runs.compression)
        lambda_marker.set_data([runs.alphas[i]], [runs.compression[i]])
        error_line.set_data(runs.alphas, runs.test_error)
        error_marker.set_data([runs.alphas[i]], [runs.test_error[i]])
        for a in (ax_lambda, ax_error):
            a.relim()
            a.autoscale_view()
        state = "" if runs.converged[i] else f" (stopped after {runs.steps[i]} steps)"
        title.set_text(
            f"h = {runs.width}, α = {_alpha_label(runs.alphas[i])}: "
            f"Λ = {runs.compression[i]:.2f}, test error {runs.test_error[i]:.3f}{state}"
        )
        _redraw(fig, output)

    alpha_slider.observe(update, names="value")
    width_slider.observe(update, names="value")
    update()
    ui = widgets.VBox([widgets.HBox([alpha_slider, width_slider]), output])
    handles = dict(
        alpha=alpha_slider,
        width=width_slider,
        image=image,
        zero=zero,
        kinks=kinks,
        lambda_line=lambda_line,
        lambda_marker=lambda_marker,
        error_line=error_line,
        error_marker=error_marker,
        title=title,
        axes=axes,
        fig=fig,
        output=output,
    )
    return ui, handles


#: Initialisation scales (std of the weights' entries) offered by :func:`linear_explorer`
#: for each depth L (number of weight matrices). Deeper nets leave the origin after a time
#: growing like σ^(2−L) and then learn on an O(1) time scale: the flow turns stiff, so
#: their smallest scales stop where one integration still takes about a second.
LINEAR_SCALES = {
    2: (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
    3: (1e-1, 3e-2, 1e-2, 3e-3),
    4: (1e-1, 5e-2, 3e-2),
}
LINEAR_DEPTHS = tuple(LINEAR_SCALES)
#: The target's singular values in :func:`linear_explorer`.
LINEAR_TARGET = (3.0, 2.0, 1.0, 0.5)


@dataclass(frozen=True)
class LinearRun:
    """Gradient flow of one deep linear network (numpy arrays, T record times).

    Attributes:
      scale, depth: the settings.
      times: (T,); loss: (T,); singular_values: (T, 5) of A = W_L ⋯ W_1.
      target: (4,) the target's singular values.
      plateau_start, plateau_end, plateau_level: (K,) the plateaus of the loss curve
        (:func:`deeptheory.linear_nets.plateaus`); rank: (K,) the rank of A on each.
    """

    scale: float
    depth: int
    times: np.ndarray
    loss: np.ndarray
    singular_values: np.ndarray
    target: np.ndarray
    plateau_start: np.ndarray
    plateau_end: np.ndarray
    plateau_level: np.ndarray
    rank: np.ndarray


def _linear_target() -> torch.Tensor:
    """T = U diag(3, 2, 1, 0.5, 0) Vᵀ, 5 × 5, with random orthogonal U, V (seed 0)."""
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=g))
    v, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=g))
    s = torch.tensor([*LINEAR_TARGET, 0.0], dtype=torch.float64)
    return u @ torch.diag(s) @ v.T


def _run_linear(scale: float, depth: int, width: int, seed: int) -> LinearRun:
    from deeptheory.linear_nets import (
        flow,
        init_linear,
        plateaus,
        rank_at_plateaus,
    )

    target = _linear_target()
    dims = (5, *([width] * (depth - 1)), 5)
    weights = init_linear(
        dims, scale=scale, generator=torch.Generator().manual_seed(seed)
    )
    times = torch.logspace(-2, 9, 400, dtype=torch.float64)
    run = flow(weights, target, times=times, until_loss=1e-6, rtol=1e-8)
    found = plateaus(run.times, run.loss)
    rank = rank_at_plateaus(found, run.times, run.singular_values)
    return LinearRun(
        scale=float(scale),
        depth=int(depth),
        times=run.times.numpy(),
        loss=run.loss.numpy(),
        singular_values=run.singular_values.numpy(),
        target=np.array(LINEAR_TARGET),
        plateau_start=found.start.numpy(),
        plateau_end=found.end.numpy(),
        plateau_level=found.level.numpy(),
        rank=rank.numpy(),
    )


@functools.lru_cache(maxsize=64)
def linear_run(scale: float, depth: int, *, width: int = 8, seed: int = 0) -> LinearRun:
    """Gradient flow (τ = 1, loss ½ ‖A − T‖_F²) of a depth-L linear network
    5 → width → … → 5 from N(0, scale²) weights, towards the rank-4 target of
    :func:`_linear_target`, until the loss is 1e-6 or t = 1e9 (Saxe et al. 2014; Jacot et
    al. 2021). Kept in memory and on disk (:func:`cache_dir`)."""
    key = dict(scale=scale, depth=depth, width=width, seed=seed)
    run = _stored(LinearRun, key, lambda: _run_linear(scale, depth, width, seed))
    return dataclasses.replace(run, scale=float(run.scale), depth=int(run.depth))


def linear_explorer(
    *, scale: float = 1e-3, depth: int = 2
) -> tuple[Any, dict[str, Any]]:
    """Initialisation-scale and depth sliders driving the flow of a deep linear network.

    Left: the loss ½ ‖W_L ⋯ W_1 − T‖_F² against time on log-log axes, its plateaus
    shaded. Right: the singular values of A = W_L ⋯ W_1 against time; dashed, the
    target's (3, 2, 1, 0.5).

    Try: at depth 2 make the initialisation smaller: the plateaus lengthen (by ln(1/σ²)/
    (2 s_i) for mode i: Saxe's solution) and become flat, and the modes switch on one at a
    time, strongest first — saddle to saddle. Then go to depth 3 and 4: the escape from
    each saddle is sharper, and the time to leave the origin grows like a power of 1/σ
    instead of a logarithm (the scales offered depend on the depth: see
    :data:`LINEAR_SCALES`). Each new setting integrates the flow once, up to a second.

    Returns:
      ``(ui, handles)``: handles has the sliders ``scale`` and ``depth``, the artists
      ``loss_line``, ``value_lines`` (one per singular value), ``spans`` (list of the
      shaded plateaus), ``title``, and ``axes``, ``fig``, ``output``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if depth not in LINEAR_DEPTHS:
        raise ValueError(f"depth must be one of {LINEAR_DEPTHS}; got {depth}")
    if scale not in LINEAR_SCALES[depth]:
        raise ValueError(
            f"scale must be one of {LINEAR_SCALES[depth]} at depth {depth}; got {scale}"
        )
    with plt.ioff():
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    ax_loss, ax_values = axes
    first = linear_run(scale, depth)
    (loss_line,) = ax_loss.loglog(first.times, first.loss, color="black")
    ax_loss.set_xlabel("t")
    ax_loss.set_ylabel("loss")
    value_lines = ax_values.semilogx(first.times, first.singular_values)
    for s, line in zip(first.target, value_lines, strict=False):
        ax_values.axhline(s, color=line.get_color(), ls="--", lw=0.8)
    ax_values.set_xlabel("t")
    ax_values.set_ylabel("singular values of W_L ⋯ W_1")
    ax_values.set_ylim(-0.1, 1.1 * max(LINEAR_TARGET))
    spans: list[Any] = []
    title = fig.suptitle("", fontsize=10)

    def scale_options(depth: int) -> list[tuple[str, float]]:
        return [(f"{v:.0e}", v) for v in LINEAR_SCALES[depth]]

    scale_slider = widgets.SelectionSlider(
        options=scale_options(depth), value=scale, description="init scale"
    )
    depth_slider = widgets.SelectionSlider(
        options=LINEAR_DEPTHS, value=depth, description="depth L"
    )
    output = widgets.Output()

    def update(_: object = None) -> None:
        run = linear_run(scale_slider.value, depth_slider.value)
        loss_line.set_data(run.times, run.loss)
        for i, line in enumerate(value_lines):
            line.set_data(run.times, run.singular_values[:, i])
        while spans:
            spans.pop().remove()
        for a, b in zip(run.plateau_start, run.plateau_end, strict=True):
            spans.append(ax_loss.axvspan(a, b, color="tab:orange", alpha=0.2))
        for a in axes:
            a.set_xlim(run.times[0], run.times[-1])
        ax_loss.set_ylim(0.3 * run.loss.min(), 3 * run.loss.max())
        ranks = ", ".join(str(int(r)) for r in run.rank)
        title.set_text(
            f"L = {run.depth}, init scale {run.scale:.0e}: {len(run.rank)} plateaus, "
            f"rank of A on them: {ranks or '–'}"
        )
        _redraw(fig, output)

    def new_depth(change: dict[str, Any]) -> None:
        """Offer this depth's scales, keeping the closest one (in log) to the current."""
        scales = LINEAR_SCALES[change["new"]]
        keep = min(scales, key=lambda v: abs(math.log(v / scale_slider.value)))
        scale_slider.unobserve(update, names="value")
        try:
            scale_slider.options = scale_options(change["new"])
            scale_slider.value = keep
        finally:
            scale_slider.observe(update, names="value")
        update()

    scale_slider.observe(update, names="value")
    depth_slider.observe(new_depth, names="value")
    update()
    ui = widgets.VBox([widgets.HBox([scale_slider, depth_slider]), output])
    handles = dict(
        scale=scale_slider,
        depth=depth_slider,
        loss_line=loss_line,
        value_lines=value_lines,
        spans=spans,
        title=title,
        axes=axes,
        fig=fig,
        output=output,
    )
    return ui, handles
