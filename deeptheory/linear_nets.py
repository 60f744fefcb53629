"""Deep linear networks A = W_L ⋯ W_1: initialisation, gradient flow and descent, and
what the saddle-to-saddle papers measure on them.

Saxe, McClelland & Ganguli (2014, arXiv 1312.6120) and Jacot, Ged, Şimşek, Hongler &
Gabriel (2021, arXiv 2106.15933); shared/science.md §6.1–§6.2.

Conventions owned by this module:

* **Weights.** ``weights = [W_1, …, W_L]`` with W_l of shape (…, d_l, d_{l−1}), so that
  ``dims = (d_0, …, d_L)`` are the input dimension, the hidden widths and the output
  dimension, and A = W_L ⋯ W_1 is (…, d_L, d_0). Leading axes "…" (an ensemble of
  networks) are carried through every function.
* **Loss.** L(W) = ½ ‖A − T‖_F² for a target matrix T (d_L, d_0). With whitened inputs
  (Σ_xx = (1/P) Σ_μ x_μ x_μᵀ = I) Saxe's regression loss (1/2P) Σ_μ ‖y_μ − A x_μ‖² equals
  ½ ‖A − Σ_yx‖_F² + const with T = Σ_yx = (1/P) Σ_μ y_μ x_μᵀ
  (:func:`input_output_correlation`), so both have the same gradient and the same flow.
* **Time.** Gradient flow dW_l/dt = −∂L/∂W_l, i.e. Saxe's τ = 1; gradient descent with
  step ``lr`` is recorded at t = lr · step.
* **Gradient.** ∂L/∂W_l = (W_L ⋯ W_{l+1})ᵀ (A − T) (W_{l−1} ⋯ W_1)ᵀ, written out by hand
  (tests check it against autograd). Gradient flow conserves every balancedness matrix
  D_l = W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ (:func:`balancedness`).
* **Initialisation scale.** Entries i.i.d. N(0, σ²) with σ = ``scale``, or σ² = w^(−γ)
  for hidden width w (Jacot et al.: γ > 1 starts near the saddle at the origin).

Observables (target T = U diag(s) Vᵀ with s_1 ≥ s_2 ≥ … > 0, r = rank T):

* mode strengths u_i = u_iᵀ A v_i (Saxe's coordinates; → s_i once mode i is learned);
* alignment |⟨a_i, u_i⟩ ⟨b_i, v_i⟩| of A's i-th singular pair (a_i, b_i) with the target's
  (1 when they coincide, sign-free; ill-defined where singular values are degenerate);
* :func:`plateaus` of a loss curve on log-log axes, :func:`rank_at_plateaus`, and
  :func:`switch_on_times` (the first time a mode reaches half its final value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.integrate
import torch

from deeptheory._validation import (
    check_choice,
    check_float,
    check_int,
    check_same_kind,
    check_tensor,
)

Tensor = torch.Tensor

__all__ = [
    "LinearTrajectory",
    "Plateaus",
    "alignment",
    "balancedness",
    "end_to_end",
    "flow",
    "gradient_descent",
    "gradients",
    "init_linear",
    "input_output_correlation",
    "linear_loss",
    "mode_strengths",
    "plateaus",
    "rank_at_plateaus",
    "switch_on_times",
    "target_svd",
]


# ----------------------------------------------------------------------------- model


def _check_weights(weights: Sequence[Tensor]) -> list[Tensor]:
    if isinstance(weights, torch.Tensor) or not isinstance(weights, Sequence):
        raise TypeError("weights must be a list [W_1, …, W_L] of tensors")
    if len(weights) == 0:
        raise ValueError("weights must hold at least one matrix")
    out = [
        check_tensor(f"weights[{i}]", w, finite=False) for i, w in enumerate(weights)
    ]
    lead = out[0].shape[:-2]
    for i, w in enumerate(out):
        if w.ndim < 2 or w.shape[:-2] != lead:
            raise ValueError(
                f"weights[{i}] must have shape (…, d_{i + 1}, d_{i}) with the leading "
                f"axes {tuple(lead)} of weights[0]; got {tuple(w.shape)}"
            )
        check_same_kind(f"weights[{i}]", w, "weights[0]", out[0])
        if i > 0 and w.shape[-1] != out[i - 1].shape[-2]:
            raise ValueError(
                f"weights[{i}] must have {out[i - 1].shape[-2]} columns (the rows of "
                f"weights[{i - 1}]); got shape {tuple(w.shape)}"
            )
    return out


def _check_target(target: Tensor, weights: list[Tensor]) -> Tensor:
    check_tensor("target", target, ndim=2)
    check_same_kind("target", target, "weights[0]", weights[0])
    want = (weights[-1].shape[-2], weights[0].shape[-1])
    if tuple(target.shape) != want:
        raise ValueError(
            f"target must have shape (d_out, d_in) = {want}; got {tuple(target.shape)}"
        )
    return target


def init_linear(
    dims: Sequence[int],
    *,
    scale: float | None = None,
    gamma: float | None = None,
    generator: torch.Generator,
    balanced: bool = False,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> list[Tensor]:
    """Random weights [W_1, …, W_L], W_l (d_l, d_{l−1}) with i.i.d. N(0, σ²) entries.

    Args:
      dims: (d_0, d_1, …, d_L): input dimension, hidden widths, output dimension (L ≥ 1).
      scale: σ, the standard deviation of every entry; or
      gamma: γ, σ² = w^(−γ) with w the hidden width (Jacot et al. 2021; the hidden widths
        must be equal). Give exactly one of ``scale`` and ``gamma``.
      generator: the source of randomness.
      balanced: replace the Gaussian factors by balanced ones with the same product A:
        A = U S Vᵀ (rank k = min(dims)), W_1 = Q_1 S^{1/L} Vᵀ, W_l = Q_l S^{1/L} Q_{l−1}ᵀ,
        W_L = U S^{1/L} Q_{L−1}ᵀ with random orthonormal Q_l (d_l, k), so that every
        balancedness matrix W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ is 0 (Arora et al. 2018).

    Returns:
      L tensors of the given dtype and device.
    """
    dims = tuple(dims)
    if len(dims) < 2:
        raise ValueError(f"dims must list at least d_0 and d_1; got {dims}")
    for i, d in enumerate(dims):
        check_int(f"dims[{i}]", d, minimum=1)
    if (scale is None) == (gamma is None):
        raise ValueError("give exactly one of scale and gamma")
    if scale is not None:
        sigma = check_float("scale", scale, minimum=0.0)
    else:
        gamma = check_float("gamma", gamma)
        hidden = set(dims[1:-1])
        if len(hidden) != 1:
            raise ValueError(
                f"gamma needs L ≥ 2 layers with equal hidden widths; got dims {dims}"
            )
        sigma = hidden.pop() ** (-gamma / 2)
    kw = dict(dtype=dtype, device=device, generator=generator)
    weights = [
        sigma * torch.randn(dims[i + 1], dims[i], **kw) for i in range(len(dims) - 1)
    ]
    if not balanced:
        return weights
    depth, k = len(weights), min(dims)
    U, S, Vh = torch.linalg.svd(end_to_end(weights))
    root = S[:k] ** (1.0 / depth)

    def frame(d: int) -> Tensor:  # (d, k) with orthonormal columns
        return torch.linalg.qr(torch.randn(d, k, **kw))[0]

    Q = [frame(d) for d in dims[1:-1]]
    left = [*Q, U[:, :k]]  # the k left singular directions of each layer
    right = [Vh[:k].T, *Q]
    return [(left[i] * root) @ right[i].T for i in range(depth)]


def end_to_end(weights: Sequence[Tensor]) -> Tensor:
    """A = W_L ⋯ W_1, shape (…, d_L, d_0)."""
    weights = _check_weights(weights)
    A = weights[0]
    for w in weights[1:]:
        A = w @ A
    return A


def linear_loss(weights: Sequence[Tensor], target: Tensor) -> Tensor:
    """L = ½ ‖W_L ⋯ W_1 − T‖_F², shape (…) (one value per network)."""
    weights = _check_weights(weights)
    target = _check_target(target, weights)
    return 0.5 * (end_to_end(weights) - target).square().sum(dim=(-2, -1))


def gradients(weights: Sequence[Tensor], target: Tensor) -> list[Tensor]:
    """∂L/∂W_l = (W_L ⋯ W_{l+1})ᵀ (A − T) (W_{l−1} ⋯ W_1)ᵀ for l = 1 … L (like ``weights``)."""
    weights = _check_weights(weights)
    target = _check_target(target, weights)
    return _gradients(weights, target)


def _gradients(weights: list[Tensor], target: Tensor) -> list[Tensor]:
    prefix = [weights[0]]  # prefix[l] = W_{l+1} ⋯ W_1
    for w in weights[1:]:
        prefix.append(w @ prefix[-1])
    back = prefix[-1] - target  # (W_L ⋯ W_{l+1})ᵀ (A − T), starting at l = L
    grads: list[Tensor] = [back] * len(weights)
    for k in range(len(weights) - 1, 0, -1):  # layer k + 1 in the 1-based notation
        grads[k] = back @ prefix[k - 1].mT
        back = weights[k].mT @ back
    grads[0] = back
    return grads


def balancedness(weights: Sequence[Tensor]) -> list[Tensor]:
    """D_l = W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ, (…, d_l, d_l) for l = 1 … L − 1.

    Conserved by gradient flow on any loss of A (d/dt of both terms is
    −W_{l+1}ᵀ G_{l+1} − G_{l+1}ᵀ W_{l+1} with G = ∂L/∂A factors; Arora et al. 2018).
    """
    weights = _check_weights(weights)
    return [
        weights[k + 1].mT @ weights[k + 1] - weights[k] @ weights[k].mT
        for k in range(len(weights) - 1)
    ]


def input_output_correlation(x: Tensor, y: Tensor) -> Tensor:
    """Σ_yx = (1/P) Σ_μ y_μ x_μᵀ, (k, d) from inputs x (P, d) and outputs y (P, k).

    With whitened inputs (xᵀx/P = I) this is the target T of the regression loss.
    """
    check_tensor("x", x, ndim=2)
    check_tensor("y", y, ndim=2)
    check_same_kind("y", y, "x", x)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of points; got {x.shape[0]}, {y.shape[0]}"
        )
    return y.T @ x / x.shape[0]


# ---------------------------------------------------------------------- observables


def target_svd(target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(U (d_out, r), s (r,), V (d_in, r)): the target's r = rank T singular triples."""
    check_tensor("target", target, ndim=2)
    U, s, Vh = torch.linalg.svd(target, full_matrices=False)
    r = int(torch.linalg.matrix_rank(target))
    return U[:, :r], s[:r], Vh[:r].T


def mode_strengths(A: Tensor, target: Tensor) -> Tensor:
    """u_i = u_iᵀ A v_i for the target's singular pairs, (…, r) for A (…, d_out, d_in)."""
    check_tensor("A", A, finite=False)
    U, _, V = target_svd(target)
    check_same_kind("A", A, "target", target)
    if tuple(A.shape[-2:]) != tuple(target.shape):
        raise ValueError(
            f"A must end with the target's shape {tuple(target.shape)}; "
            f"got {tuple(A.shape)}"
        )
    return torch.einsum("...ij,ia,ja->...a", A, U, V)


def alignment(A: Tensor, target: Tensor) -> Tensor:
    """|⟨a_i, u_i⟩ ⟨b_i, v_i⟩|, (…, r): A's i-th singular pair against the target's.

    A = Σ_i σ_i a_i b_iᵀ with σ_1 ≥ σ_2 ≥ …, T = Σ_i s_i u_i v_iᵀ; the product of the two
    cosines does not depend on the singular vectors' signs. It is 1 when A's i-th pair is
    the target's i-th, and ≈ 1/√(d_out d_in) for a random A.
    """
    check_tensor("A", A, finite=False)
    U, _, V = target_svd(target)
    check_same_kind("A", A, "target", target)
    if tuple(A.shape[-2:]) != tuple(target.shape):
        raise ValueError(
            f"A must end with the target's shape {tuple(target.shape)}; "
            f"got {tuple(A.shape)}"
        )
    r = U.shape[1]
    Ua, _, Vha = torch.linalg.svd(A, full_matrices=False)
    left = (Ua[..., :, :r] * U).sum(dim=-2)
    right = (Vha[..., :r, :] * V.T).sum(dim=-1)
    return (left * right).abs()


# ------------------------------------------------------------------------- dynamics


@dataclass(frozen=True)
class LinearTrajectory:
    """A recorded training run (tensors in the weights' dtype and device).

    Attributes:
      times: (T,) recorded times (gradient-flow units; lr · step for gradient descent).
      loss: (T, …) L = ½ ‖A − T‖_F².
      products: (T, …, d_out, d_in) the end-to-end map A.
      singular_values: (T, …, q) of A, decreasing, q = min(d_out, d_in).
      mode_strengths: (T, …, r) u_iᵀ A v_i for the target's r singular pairs.
      alignment: (T, …, r) |⟨a_i, u_i⟩ ⟨b_i, v_i⟩| (see :func:`alignment`).
      weights: the final weights [W_1, …, W_L].
      evaluations: number of gradient evaluations (ODE right-hand sides, or steps).
    """

    times: Tensor
    loss: Tensor
    products: Tensor
    singular_values: Tensor
    mode_strengths: Tensor
    alignment: Tensor
    weights: list[Tensor]
    evaluations: int


def _record(
    times: Tensor, products: Tensor, target: Tensor, weights: list[Tensor], evals: int
) -> LinearTrajectory:
    return LinearTrajectory(
        times=times,
        loss=0.5 * (products - target).square().sum(dim=(-2, -1)),
        products=products,
        singular_values=torch.linalg.svdvals(products),
        mode_strengths=mode_strengths(products, target),
        alignment=alignment(products, target),
        weights=weights,
        evaluations=evals,
    )


def _check_times(times: Sequence[float] | Tensor, like: Tensor) -> Tensor:
    t = torch.as_tensor(times, dtype=like.dtype, device=like.device)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"times must be a non-empty 1-D sequence; got shape {t.shape}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()):
        raise ValueError("times must be finite and >= 0")
    if len(t) > 1 and not bool((t[1:] > t[:-1]).all()):
        raise ValueError("times must be strictly increasing")
    return t


def flow(
    weights: Sequence[Tensor],
    target: Tensor,
    *,
    times: Sequence[float] | Tensor,
    method: Literal["DOP853", "RK45", "Radau", "LSODA"] = "DOP853",
    rtol: float = 1e-10,
    atol: float | None = None,
    until_loss: float | None = None,
) -> LinearTrajectory:
    """Gradient flow dW_l/dt = −∂L/∂W_l from ``weights`` at t = 0, recorded at ``times``.

    Integrated in float64 by :func:`scipy.integrate.solve_ivp` on the flattened weights
    (all networks of a leading ensemble axis together, under one error control).

    Args:
      weights: [W_1, …, W_L] at t = 0, W_l (…, d_l, d_{l−1}).
      target: T (d_out, d_in).
      times: (T,) increasing record times ≥ 0.
      method: a solve_ivp method; DOP853 (8th order) is the accurate default.
      rtol: relative tolerance.
      atol: absolute tolerance; None means rtol × the smallest root-mean-square entry
        of the W_l(0), so that a tiny initialisation is resolved relative to its scale.
      until_loss: stop when the loss (summed over an ensemble) crosses this value; the
        record then ends with the state at the crossing (located by root finding on
        the solver's dense output), after the record times before it.

    Returns:
      A :class:`LinearTrajectory`.

    Reference: Saxe et al. 2014 (arXiv 1312.6120) eq. (2) with τ = 1.
    """
    weights = _check_weights(weights)
    target = _check_target(target, weights)
    check_choice("method", method, ("DOP853", "RK45", "Radau", "LSODA"))
    rtol = check_float("rtol", rtol, minimum=1e-14)
    t = _check_times(times, weights[0])
    if atol is None:
        rms = min(float(w.square().mean().sqrt()) for w in weights)
        atol = rtol * rms if rms > 0 else rtol
    atol = check_float("atol", atol, minimum=0.0)
    shapes = [w.shape for w in weights]
    sizes = [w.numel() for w in weights]
    T64 = target.detach().to("cpu", torch.float64)

    def unflatten(theta: Tensor) -> list[Tensor]:  # theta (P, …) → layers (…)
        parts = torch.split(theta, sizes)
        return [
            p.reshape(*s, *theta.shape[1:]) for p, s in zip(parts, shapes, strict=True)
        ]

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        grads = _gradients(unflatten(torch.from_numpy(y)), T64)
        return -torch.cat([g.reshape(-1) for g in grads]).numpy()

    events = None
    if until_loss is not None:
        stop = check_float("until_loss", until_loss, minimum=0.0)

        def reached(_t: float, y: np.ndarray) -> float:
            A = end_to_end(unflatten(torch.from_numpy(y)))
            return 0.5 * float((A - T64).square().sum()) - stop

        reached.terminal = True  # type: ignore[attr-defined]
        events = [reached]
    y0 = torch.cat([w.detach().reshape(-1).to("cpu", torch.float64) for w in weights])
    sol = scipy.integrate.solve_ivp(
        rhs,
        (0.0, float(t[-1])),
        y0.numpy(),
        method=method,
        t_eval=t.cpu().numpy(),
        rtol=rtol,
        atol=atol,
        events=events,
    )
    if sol.status not in (0, 1):
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    states = np.asarray(sol.y, dtype=np.float64).reshape(len(y0), -1)  # (P, kept)
    kept = states.shape[1]
    t = t[:kept]
    if sol.status == 1:  # stopped by until_loss: append the crossing
        t_stop = float(sol.t_events[0][0])
        if kept and float(t[-1]) == t_stop:
            states, t = states[:, :-1], t[:-1]
        states = np.concatenate([states, sol.y_events[0][:1].T], axis=1)
        t = torch.cat([t, t.new_tensor([t_stop])])
    theta = torch.from_numpy(states).to(weights[0].device, weights[0].dtype)  # (P, T)
    layers = [p.movedim(-1, 0) for p in unflatten(theta)]  # (T, …, d_l, d_{l−1})
    products = end_to_end(layers)
    final = [w[-1].clone() for w in layers]
    return _record(t, products, target, final, int(sol.nfev))


def gradient_descent(
    weights: Sequence[Tensor],
    target: Tensor,
    *,
    lr: float,
    steps: int,
    record: Sequence[int] | None = None,
) -> LinearTrajectory:
    """W_l ← W_l − lr ∂L/∂W_l, ``steps`` times, all networks of an ensemble at once.

    Args:
      weights: [W_1, …, W_L] at step 0, W_l (…, d_l, d_{l−1}).
      target: T (d_out, d_in).
      lr: the step (time lr per step: it tends to the flow as lr → 0).
      steps: number of steps.
      record: increasing steps in [0, steps] to record; None: ~200 log-spaced steps
        including 0 and ``steps``.

    Returns:
      A :class:`LinearTrajectory` with times = lr · recorded steps.

    Raises:
      FloatingPointError: the weights stopped being finite (``lr`` too large).
    """
    weights = _check_weights(weights)
    target = _check_target(target, weights)
    lr = check_float("lr", lr, minimum=0.0)
    steps = check_int("steps", steps, minimum=0)
    if record is None:
        grid = np.unique(np.geomspace(1, max(steps, 1), 200).round().astype(int))
        record = [0, *(int(k) for k in grid if k <= steps)]
    record = [check_int(f"record[{i}]", k) for i, k in enumerate(record)]
    if not record or record != sorted(set(record)) or record[-1] > steps:
        raise ValueError(
            f"record must be strictly increasing steps in [0, {steps}]; got {record}"
        )
    current = [w.detach().clone() for w in weights]
    snaps: list[Tensor] = []
    k = 0
    for stop in record:
        while k < stop:
            for w, g in zip(current, _gradients(current, target), strict=True):
                w.sub_(lr * g)
            k += 1
        A = end_to_end(current)
        if not bool(torch.isfinite(A).all()):
            raise FloatingPointError(
                f"gradient descent diverged before step {k}; lower lr (got {lr})"
            )
        snaps.append(A)
    times = lr * torch.tensor(record, dtype=current[0].dtype, device=current[0].device)
    return _record(times, torch.stack(snaps), target, current, k)


# ------------------------------------------------------------------ loss-curve analysis


@dataclass(frozen=True)
class Plateaus:
    """Plateaus of a loss curve (see :func:`plateaus`); tensors of shape (K,).

    Attributes:
      start, end: first and last time of each plateau.
      level: the loss where the curve is flattest (closest to the saddle's value).
      closed: the plateau ends with a drop (a saddle left); False for a plateau that
        lasts to the end of the record (the final minimum, or a record cut too short).
    """

    start: Tensor
    end: Tensor
    level: Tensor
    closed: Tensor

    def __len__(self) -> int:
        return len(self.start)


def plateaus(
    t: Tensor,
    loss: Tensor,
    *,
    max_slope: float = 0.25,
    min_ratio: float = 1.1,
    min_drop: float = 0.05,
    floor: float = 1e-8,
) -> Plateaus:
    """Plateaus: where the loss is flat on log-log axes for a long enough log-time.

    Definition: between consecutive samples with t > 0, the slope
    g = Δ ln L / Δ ln t. A plateau is a maximal run of consecutive segments with
    |g| ≤ ``max_slope`` whose end and start times differ by a factor ≥ ``min_ratio``.
    Two plateaus are one if the loss falls by a factor < 1 + ``min_drop`` in the gap
    between them (a wiggle, not a drop). Samples with L ≤ ``floor`` × max L count as
    converged (never flat), so the loss reaching 0 is not a plateau.

    For gradient flow on a rank-r target from a small initialisation the plateaus are
    the saddles of rank 0 (the initial one), 1, …, r − 1: r closed plateaus, at levels
    ½ Σ_{i>k} s_i²; a network narrower than r ends on an open plateau (its minimum).

    Args:
      t: (n,) increasing times (samples with t ≤ 0 are ignored: log time).
      loss: (n,) loss values.

    Returns:
      :class:`Plateaus` in time order.
    """
    check_tensor("t", t, ndim=1)
    check_tensor("loss", loss, ndim=1, finite=False)
    if t.shape != loss.shape:
        raise ValueError(
            f"t and loss must have the same shape; got {t.shape}, {loss.shape}"
        )
    max_slope = check_float("max_slope", max_slope, minimum=0.0)
    min_ratio = check_float("min_ratio", min_ratio, minimum=1.0)
    min_drop = check_float("min_drop", min_drop, minimum=0.0)
    floor = check_float("floor", floor, minimum=0.0)
    keep = t > 0
    tt, ll = t[keep].double().cpu(), loss[keep].double().cpu()
    if len(tt) > 1 and not bool((tt[1:] > tt[:-1]).all()):
        raise ValueError("t must be strictly increasing")
    alive = torch.isfinite(ll) & (ll > floor * float(ll[torch.isfinite(ll)].max()))
    x, y = tt.log(), ll.clamp_min(1e-300).log()
    slope = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
    flat = (slope.abs() <= max_slope) & alive[1:] & alive[:-1]  # (n − 1,) segments
    runs: list[list[int]] = []  # [first sample, last sample]
    for i, f in enumerate(flat.tolist()):
        if f and runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        elif f:
            runs.append([i, i + 1])
    runs = [r for r in runs if float(tt[r[1]] / tt[r[0]]) >= min_ratio]
    merged: list[list[int]] = []
    for r in runs:
        if merged:
            a, b = float(ll[merged[-1][1]]), float(ll[r[0]])
            if a < (1 + min_drop) * b:
                merged[-1][1] = r[1]
                continue
        merged.append(r)

    def level(a: int, b: int) -> float:  # the loss where the curve is flattest
        k = a + int(slope[a:b].abs().argmin())
        return math.sqrt(float(ll[k]) * float(ll[k + 1]))

    out = t.new_tensor
    last = len(tt) - 1
    return Plateaus(
        start=out([float(tt[a]) for a, _ in merged]),
        end=out([float(tt[b]) for _, b in merged]),
        level=out([level(a, b) for a, b in merged]),
        closed=torch.tensor([b < last for _, b in merged], dtype=torch.bool),
    )


def rank_at_plateaus(
    found: Plateaus,
    t: Tensor,
    singular_values: Tensor,
    *,
    threshold: float | None = None,
) -> Tensor:
    """The rank of A in the middle of each plateau: #{i : σ_i > threshold}, (K,) int64.

    Args:
      found: the plateaus of the same record.
      t: (T,) recorded times.
      singular_values: (T, q) of A.
      threshold: None means 0.1 × the largest singular value of the whole record.
    Evaluated at the sample closest (in log t) to √(start · end).
    """
    check_tensor("t", t, ndim=1)
    check_tensor("singular_values", singular_values, ndim=2)
    if singular_values.shape[0] != t.shape[0]:
        raise ValueError(
            f"singular_values must have {t.shape[0]} rows (one per time); "
            f"got {tuple(singular_values.shape)}"
        )
    if threshold is None:
        threshold = 0.1 * float(singular_values.max())
    threshold = check_float("threshold", threshold, minimum=0.0)
    log_t = t.clamp_min(torch.finfo(t.dtype).tiny).log()
    mid = 0.5 * (found.start.log() + found.end.log())
    idx = (log_t[None, :] - mid[:, None]).abs().argmin(dim=1)
    return (singular_values[idx] > threshold).sum(dim=-1)


def switch_on_times(
    t: Tensor, values: Tensor, heights: Tensor, *, fraction: float = 0.5
) -> Tensor:
    """First time each column reaches ``fraction`` × its height, (q,); nan if never.

    With ``values`` the mode strengths and ``heights`` the target's singular values this
    is each mode's half-learning time t½ (Saxe et al.); linear interpolation between the
    two samples that bracket the crossing.

    Args:
      t: (T,) increasing times; values: (T, q); heights: (q,) final values (> 0).
    """
    check_tensor("t", t, ndim=1)
    check_tensor("values", values, ndim=2)
    check_tensor("heights", heights, ndim=1)
    if values.shape != (t.shape[0], heights.shape[0]):
        raise ValueError(
            f"values must have shape (T, q) = {(t.shape[0], heights.shape[0])}; "
            f"got {tuple(values.shape)}"
        )
    fraction = check_float("fraction", fraction, minimum=0.0)
    level = fraction * heights
    out = torch.full_like(heights, math.nan)
    for i in range(len(heights)):
        hits = (values[:, i] >= level[i]).nonzero().flatten()
        if len(hits) == 0:
            continue
        k = int(hits[0])
        if k == 0:
            out[i] = t[0]
            continue
        v0, v1 = values[k - 1, i], values[k, i]
        out[i] = t[k - 1] + (level[i] - v0) / (v1 - v0) * (t[k] - t[k - 1])
    return out
