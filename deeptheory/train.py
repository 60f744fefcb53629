"""Training α-scaled networks: adaptive gradient flow, gradient descent and SGD, batched.

The objective is the one of :mod:`deeptheory.alpha` (the code convention):
F = α (f − f₀), L = 1/(α p) Σ_μ l(y_μ F_μ), ẇ = −∇_w L. Three optimisers:

* ``"flow"``: gradient flow integrated by the authors' adaptive Euler scheme (Geiger et al.
  2020, ``article/dynamics.py``; shared/science.md §2.3). From the state (w, F, g) a
  tentative step w' = w − dt g is *accepted* when

      dout  = max_μ |F'_μ − F_μ| < max_dout            (default 0.1)
      dgrad = ‖g' − g‖² / (‖g‖ ‖g'‖) < max_dgrad        (default 1e-4; None disables)

  and then, if both are below half their thresholds, dt ← 1.1 dt; otherwise the step is
  rejected and dt ← dt / 10. With the plain hinge the gradient jumps at every margin
  crossing, so use ``max_dgrad=None`` there (science.md §10), or the soft hinge.
* ``"gd"``: full-batch gradient descent with step ``lr`` (t = steps · lr).
* ``"sgd"``: the same with a mini-batch of ``batch`` points drawn without replacement each
  step from ``generator`` (gradient of the mini-batch mean).

**Ensembles.** Parameters with a leading axis E (``FCNet.init(..., ensemble=E)``) and α of
shape (E,) train E networks at once: one forward and backward pass for all of them, each
member with its own step size, time, acceptance and stopping, so that every member follows
exactly the trajectory it would follow alone (SGD members share the mini-batches).

**Stopping**, per member: when every training margin y_μ F_μ ≥ 1 (``stop_margin``), or on
its budget (``max_time`` for the flow, ``max_steps`` accepted steps); ``converged`` in a
snapshot means "stopped", for whichever reason. Non-finite outputs or gradients
raise :class:`TrainingDiverged` naming the members; snapshots already yielded are the
caller's.

:func:`train` is a generator of :class:`Snapshot` on a log-spaced time grid (a snapshot
whenever a member passes its next grid time, plus the start and the end); :func:`run`
collects them.

**Gradients.** For an :class:`~deeptheory.models.FCNet` (≥ 1 hidden layer, scalar output,
shared inputs) F, the loss and the gradient come from the hand-written forward and
backward pass of :mod:`deeptheory.train_fc` (the first layer of the whole ensemble is one
matrix product; cache-sized tiles): the same numbers as autograd to rounding, several
times faster. Any other model goes through autograd; to force autograd for an FCNet,
wrap it: ``train(lambda p, x: net(p, x), ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from deeptheory._validation import check_choice, check_float, check_int, check_tensor
from deeptheory.alpha import scaled_loss
from deeptheory.losses import LOSSES, SOFT_HINGE_BETA
from deeptheory.train_fc import FCLossGradient, supports

Tensor = torch.Tensor
Params = dict[str, Tensor]
Model = Callable[[Params, Tensor], Tensor]

METHODS = ("flow", "gd", "sgd")

__all__ = [
    "METHODS",
    "Snapshot",
    "TrainConfig",
    "TrainingDiverged",
    "run",
    "train",
]


class TrainingDiverged(FloatingPointError):
    """Outputs or gradients became nan/inf; ``members`` lists the ensemble members."""

    def __init__(self, message: str, members: list[int]) -> None:
        super().__init__(message)
        self.members = members


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How to train (see the module docstring for the rules)."""

    method: str = "flow"
    loss: str = "hinge"
    beta: float = SOFT_HINGE_BETA  # sharpness of the soft hinge
    lr: float = 1.0  # gd/sgd step; the flow's initial dt
    batch: int | None = None  # sgd mini-batch size
    max_dout: float = 0.1  # flow: largest accepted change of F on a training point
    max_dgrad: float | None = 1e-4  # flow: largest accepted gradient-direction change
    amplify: float = 1.1  # flow: dt growth after an easy step
    damp: float = 10.0  # flow: dt division after a rejected step
    max_time: float = math.inf  # flow budget, in code time units
    max_steps: int = 100_000  # accepted steps (flow) or steps (gd/sgd)
    stop_margin: float | None = 1.0  # stop a member once all y F >= this (None: never)
    snapshots: int = 40  # points of the log-spaced time grid
    first_time: float = 1e-2  # the grid's first time (after t = 0)
    last_time: float | None = None  # the grid's last time (default max_time, or 1e6)

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("loss", self.loss, LOSSES)
        for name in ("beta", "lr", "max_dout", "damp", "first_time"):
            if check_float(name, getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")
        if self.max_dgrad is not None and check_float("max_dgrad", self.max_dgrad) <= 0:
            raise ValueError(f"max_dgrad must be > 0 or None; got {self.max_dgrad}")
        if check_float("amplify", self.amplify) < 1:
            raise ValueError(f"amplify must be >= 1; got {self.amplify}")
        if not (isinstance(self.max_time, int | float) and self.max_time > 0):
            raise ValueError(f"max_time must be > 0; got {self.max_time}")
        check_int("max_steps", self.max_steps, minimum=1)
        check_int("snapshots", self.snapshots, minimum=2)
        if self.method == "sgd":
            if self.batch is None:
                raise ValueError("method 'sgd' needs batch (the mini-batch size)")
            check_int("batch", self.batch, minimum=1)

    def time_grid(self) -> list[float]:
        """The log-spaced snapshot times (after t = 0)."""
        last = self.last_time
        if last is None:
            last = self.max_time if math.isfinite(self.max_time) else 1e6
        if last <= self.first_time:
            return [float(last)]
        ratio = (last / self.first_time) ** (1 / (self.snapshots - 2))
        return [self.first_time * ratio**k for k in range(self.snapshots - 1)]


@dataclass(frozen=True)
class Snapshot:
    """The state of every member at one moment of training.

    ``step``, ``t``, ``loss``, ``converged`` are (E,) (or 0-d for a single network); ``F`` is the
    α-scaled output on the training set, (E, p) or (p,); ``params`` are detached copies.
    """

    step: Tensor  # accepted steps so far, per member
    t: Tensor
    loss: Tensor
    F: Tensor
    converged: Tensor
    params: Params


def adapt_step(
    ratio: Tensor, dt: Tensor, done: Tensor, config: TrainConfig
) -> tuple[Tensor, Tensor]:
    """The authors' step rule, per member: accept where ``ratio`` (the largest of the
    measured changes over their thresholds) is < 1, and grow dt by ``amplify`` where it
    is also < 1/2; reject and divide dt by ``damp`` where it is >= 1. Stopped members
    (``done``) keep their dt. Returns ``(accepted, new dt)``."""
    ok = (ratio < 1) & ~done
    dt = torch.where(ok & (ratio < 0.5), dt * config.amplify, dt)
    dt = torch.where((ratio >= 1) & ~done, dt / config.damp, dt)
    return ok, dt


def gradient_change(g: Tensor, g_new: Tensor) -> Tensor:
    """‖g' − g‖² / (‖g‖ ‖g'‖) per row (0 where a norm is 0): the direction criterion."""
    norms = g.norm(dim=-1) * g_new.norm(dim=-1)
    change = ((g_new - g) ** 2).sum(dim=-1)
    return torch.where(
        norms > 0, change / norms.clamp(min=1e-300), torch.zeros_like(norms)
    )


def _check_inputs(model, params, x, y, alpha):
    if not callable(model):
        raise TypeError(f"model must be callable as model(params, x); got {model!r}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict of tensors")
    check_tensor("x", x)
    check_tensor("y", y, ndim=1)
    if len(y) != len(x):
        raise ValueError(f"y must have one label per input ({len(x)}); got {len(y)}")
    if not bool((y.abs() == 1).all()):
        raise ValueError("y must hold labels ±1")
    with torch.no_grad():
        f0 = model(params, x)
    if f0.shape[-1] != len(x) or f0.ndim > 2:
        raise ValueError(
            f"model(params, x) must return (p,) or (E, p) with p = {len(x)}; "
            f"got shape {tuple(f0.shape)} (train scalar-output networks)"
        )
    ensemble = f0.shape[0] if f0.ndim == 2 else None
    if isinstance(alpha, torch.Tensor):
        check_tensor("alpha", alpha, ndim=1)
        if ensemble is None or alpha.shape[0] != ensemble:
            raise ValueError(
                f"alpha as a tensor needs one value per ensemble member ({ensemble}); "
                f"got shape {tuple(alpha.shape)}"
            )
        alpha = alpha.to(dtype=x.dtype, device=x.device)
    else:
        check_float("alpha", alpha)
        alpha = torch.full(
            (ensemble or 1,), float(alpha), dtype=x.dtype, device=x.device
        )
    if not bool((alpha > 0).all()):
        raise ValueError("alpha must be > 0")
    return f0.detach(), ensemble, alpha


def train(
    model: Model,
    params: Params,
    x: Tensor,
    y: Tensor,
    *,
    alpha: float | Tensor,
    config: TrainConfig = TrainConfig(),
    generator: torch.Generator | None = None,
) -> Iterator[Snapshot]:
    """Train ``model`` from ``params`` on (x, y); yields :class:`Snapshot` s.

    Args:
      model: ``model(params, x) -> (p,)`` or, for an ensemble, ``(E, p)``; e.g. an
        ``FCNet(parametrization="mean_field")`` for the code convention.
      params: the initialisation (not modified).
      x, y: training inputs (p, d) and labels ±1 (p,).
      alpha: α, a float or an (E,) tensor (one per member).
      config: :class:`TrainConfig`.
      generator: the mini-batch source for ``"sgd"``.

    Raises:
      TrainingDiverged: a member's outputs or gradients became non-finite.
    """
    f0, ensemble, alpha = _check_inputs(model, params, x, y, alpha)
    if config.method == "sgd" and not isinstance(generator, torch.Generator):
        raise TypeError("method 'sgd' needs generator=torch.Generator(...)")
    members = ensemble or 1
    lead = 1 if ensemble is not None else 0
    names = list(params)
    f0 = f0 if ensemble is not None else f0[None]
    # where each parameter of one member sits in a row of the flat (E, P) weights
    layout, offset = {}, 0
    for k in names:
        shape = tuple(params[k].shape[lead:])
        layout[k] = (offset, shape)
        offset += math.prod(shape)
    flat_w = torch.cat([params[k].detach().reshape(members, -1) for k in names], dim=1)

    def unflatten(flat: Tensor) -> Params:
        out = {}
        for k, (start, shape) in layout.items():
            piece = flat[:, start : start + math.prod(shape)]
            out[k] = piece.reshape(members, *shape) if lead else piece.reshape(shape)
        return out

    fast = None
    if supports(model, x):
        fast = FCLossGradient(
            model, x, y, alpha, layout, flat_w, loss=config.loss, beta=config.beta
        )
    full_batch = torch.full_like(y, 1 / len(y))

    def evaluate(flat: Tensor, idx: Tensor | None = None):
        """F (E, p), loss (E,), flat gradient (E, P) on all points or a mini-batch."""
        if fast is not None:
            weight = full_batch
            if idx is not None:
                weight = torch.zeros_like(y).index_fill_(0, idx, 1 / len(idx))
            return fast(flat, weight)
        leaves = {
            k: v.requires_grad_(True) for k, v in unflatten(flat.detach()).items()
        }
        f = model(leaves, x)
        f = f if lead else f[None]
        F = alpha[:, None] * (f - f0)
        if idx is None:
            loss = scaled_loss(F, y, alpha, loss=config.loss, beta=config.beta)
        else:
            loss = scaled_loss(
                F[:, idx], y[idx], alpha, loss=config.loss, beta=config.beta
            )
        grads = torch.autograd.grad(loss.sum(), [leaves[k] for k in names])
        flat_grad = torch.cat([g.reshape(members, -1) for g in grads], dim=1)
        if idx is not None:  # report the full-batch loss
            with torch.no_grad():
                loss = scaled_loss(F, y, alpha, loss=config.loss, beta=config.beta)
        return F.detach(), loss.detach(), flat_grad

    def check_finite(F: Tensor, g: Tensor, step: int) -> None:
        # the extremes are finite iff every entry is (max/min propagate nan): one sync,
        # and no temporary of the size of g
        extremes = torch.stack((F.amax(), F.amin(), g.amax(), g.amin()))
        if bool(torch.isfinite(extremes).all()):
            return
        bad = ~(torch.isfinite(F).all(dim=1) & torch.isfinite(g).all(dim=1))
        which = bad.nonzero().flatten().tolist()
        raise TrainingDiverged(
            f"training diverged at step {step}: non-finite outputs or gradients for "
            f"ensemble member(s) {which}; lower lr (gd/sgd) or max_dout (flow)",
            which,
        )

    def batch_indices() -> Tensor | None:
        if config.method != "sgd":
            return None
        perm = torch.randperm(len(x), generator=generator, device=generator.device)
        return perm[: config.batch].to(x.device)

    def snapshot(steps, t, loss, F, done, flat_w) -> Snapshot:
        squeeze = (lambda v: v) if lead else (lambda v: v[0])
        return Snapshot(
            squeeze(steps.clone()),
            squeeze(t.clone()),
            squeeze(loss.clone()),
            squeeze(F.clone()),
            squeeze(done.clone()),
            {k: v.clone() for k, v in unflatten(flat_w).items()},
        )

    def margins_reached(F: Tensor) -> Tensor:
        if config.stop_margin is None:
            return torch.zeros(members, dtype=torch.bool, device=x.device)
        return (y * F >= config.stop_margin).all(dim=1)

    grid = torch.tensor(config.time_grid(), dtype=x.dtype, device=x.device)
    last_mark = len(grid) - 1
    t = torch.zeros(members, dtype=x.dtype, device=x.device)
    next_mark = torch.zeros(members, dtype=torch.long, device=x.device)
    F, loss, g = evaluate(flat_w, batch_indices())
    check_finite(F, g, 0)
    done = margins_reached(F)
    steps = torch.zeros(members, dtype=torch.long, device=x.device)
    yield snapshot(steps, t, loss, F, done, flat_w)
    dt = torch.full((members,), config.lr, dtype=x.dtype, device=x.device)
    step = 0  # iterations, for messages
    while not bool(done.all()):
        if config.method == "flow":
            room = (config.max_time - t).clamp(min=0)
            h = torch.minimum(dt, room)
            h = torch.where(done, torch.zeros_like(h), h)
            trial = flat_w - h[:, None] * g
            F_new, loss_new, g_new = evaluate(trial)
            check_finite(F_new, g_new, step + 1)
            dout = (F_new - F).abs().amax(dim=1) / config.max_dout
            ratio = dout
            if config.max_dgrad is not None:
                ratio = torch.maximum(
                    dout, gradient_change(g, g_new) / config.max_dgrad
                )
            ok, dt = adapt_step(ratio, dt, done, config)
            if not bool(ok.any()):
                continue  # every active member rejected: retry with smaller steps
            keep = ok[:, None]
            flat_w = torch.where(keep, trial, flat_w)
            F = torch.where(keep, F_new, F)
            g = torch.where(keep, g_new, g)
            loss = torch.where(ok, loss_new, loss)
            t = torch.where(ok, t + h, t)
            steps = steps + ok.long()
            done = done | (t >= config.max_time)
        else:
            active = ~done
            # w − dt g, in place (g is not used again, flat_w is this loop's own)
            flat_w.sub_(g.mul_(torch.where(active, dt, 0)[:, None]))
            t = torch.where(active, t + dt, t)
            steps = steps + active.long()
            F, loss, g = evaluate(flat_w, batch_indices())
            check_finite(F, g, step + 1)
        step += 1
        done = done | margins_reached(F) | (steps >= config.max_steps)
        passed = (next_mark < len(grid)) & (t >= grid[next_mark.clamp(max=last_mark)])
        if bool(passed.any() | done.all()):  # one sync
            while bool(passed.any()):  # skip grid points passed in one step
                next_mark = next_mark + passed.long()
                passed = (next_mark < len(grid)) & (
                    t >= grid[next_mark.clamp(max=last_mark)]
                )
            yield snapshot(steps, t, loss, F, done, flat_w)


def run(
    model: Model,
    params: Params,
    x: Tensor,
    y: Tensor,
    *,
    alpha: float | Tensor,
    config: TrainConfig = TrainConfig(),
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> list[Snapshot]:
    """All the snapshots of :func:`train` (the last one is the final state)."""
    snapshots = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc=f"training ({config.method})", unit="snapshot")
    try:
        for snap in train(
            model, params, x, y, alpha=alpha, config=config, generator=generator
        ):
            snapshots.append(snap)
            if bar is not None:
                bar.update()
                bar.set_postfix_str(f"t={float(snap.t.max()):.3g}")
    finally:
        if bar is not None:
            bar.close()
    return snapshots
