"""Diagonal linear networks: gradient flow, GD/SGD, and the saddle-to-saddle limit α → 0.

Woodworth et al. (2020, arXiv:2002.09277); Pesme, Pillaud-Vivien & Flammarion (2021,
arXiv:2106.09524); Pesme & Flammarion (2023, arXiv:2304.00488); shared/science.md §6.3–6.4.

Regression with X (n, d), y (n,), residual r = Xβ − y and

    L(β) = 1/(2n) ‖Xβ − y‖²,   ∇L(β) = Xᵀ r / n.

Two parametrisations of β ∈ ℝ^d (``parametrization=``), both started at scale α:

* ``"uv"``: β = u ⊙ v, u₀ = √2 α 1, v₀ = 0 (Pesme & Flammarion's convention). Gradient flow
  u̇ = −v ⊙ ∇L, v̇ = −u ⊙ ∇L conserves u² − v² = 2α²; with u = √2 α cosh θ,
  v = √2 α sinh θ it is β = α² sinh 2θ, θ̇ = −∇L(β).
* ``"pm"``: β = w₊² − w₋², w±(0) = α 1 (Woodworth et al.). ẇ± = ∓2 w± ⊙ ∇L conserves
  w₊ ⊙ w₋ = α²; β = 2α² sinh 4θ with θ = −∫₀ᵗ ∇L.

In both, θ = ∇φ_α(β) for the hyperbolic-entropy potential of :mod:`deeptheory.implicit_bias`,
so the flow is the mirror flow d/dt ∇φ_α(β) = −∇L(β), and θ(t) = −Xᵀ ∫₀ᵗ r / n ∈ span(Xᵀ).
The "pm" flow at α is the "uv" flow at √2 α run at twice the speed (u = w₊ + w₋,
v = w₊ − w₋).

* :func:`weight_flow` integrates the weights themselves (scipy's DOP853): the oracle, good
  for moderate α (the weights of size α make tiny α stiff and lose digits).
* :func:`mirror_flow` integrates θ ∈ ℝ^d (all of size ≤ ln(1/α)), accurate at α = 1e-10.
* :func:`descent`: GD (full batch) and SGD (mini-batches drawn by an explicit generator) on
  the weights, batched over an optional ensemble axis E. One step multiplies u² − v² by
  (1 − γ² g²) coordinatewise ("pm": w₊ w₋ by 1 − 4γ² g²), so the *effective* scale
  :func:`effective_alpha` shrinks, more for SGD's larger gradients: SGD ends sparser.
* :func:`limiting_process`: the α → 0 limit in accelerated time t̃ = t / ln(1/α), a
  LARS-like recursion of saddles and jump times (Pesme & Flammarion 2023, Algorithm 1 as
  reconstructed in shared/science.md §6.4; deactivations included).

ODE integrations run in float64 on the CPU (scipy) and return tensors in X's dtype and
device; :func:`descent` runs in torch on X's dtype and device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from deeptheory._validation import (
    check_choice,
    check_float,
    check_int,
    check_tensor,
)
from deeptheory.implicit_bias import (
    PARAMETRIZATIONS,
    _constants,
    check_regression,
    inverse_mirror_map,
    mirror_map,
)

Tensor = torch.Tensor

__all__ = [
    "DescentResult",
    "DiagonalTrajectory",
    "LimitingProcess",
    "beta_pm",
    "beta_uv",
    "conserved_quantity",
    "descent",
    "effective_alpha",
    "init_weights",
    "limiting_process",
    "loss",
    "loss_gradient",
    "mirror_flow",
    "weight_flow",
]


# ----------------------------------------------------------------------------------------
# The model


def beta_uv(u: Tensor, v: Tensor) -> Tensor:
    """β = u ⊙ v; u, v (…, d) → (…, d)."""
    u = check_tensor("u", u, finite=False)
    v = check_tensor("v", v, finite=False)
    if u.shape != v.shape:
        raise ValueError(
            f"u and v must have the same shape; got {tuple(u.shape)}, {tuple(v.shape)}"
        )
    return u * v


def beta_pm(w_plus: Tensor, w_minus: Tensor) -> Tensor:
    """β = w₊² − w₋²; w_plus, w_minus (…, d) → (…, d)."""
    w_plus = check_tensor("w_plus", w_plus, finite=False)
    w_minus = check_tensor("w_minus", w_minus, finite=False)
    if w_plus.shape != w_minus.shape:
        raise ValueError(
            f"w_plus and w_minus must have the same shape; got {tuple(w_plus.shape)}, "
            f"{tuple(w_minus.shape)}"
        )
    return w_plus.square() - w_minus.square()


def _beta(weights: tuple[Tensor, Tensor], parametrization: str) -> Tensor:
    return beta_uv(*weights) if parametrization == "uv" else beta_pm(*weights)


def init_weights(
    d: int,
    *,
    alpha: float,
    parametrization: str = "uv",
    ensemble: int | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> tuple[Tensor, Tensor]:
    """The initialisation at scale α, β₀ = 0: (u, v) = (√2 α 1, 0) or (w₊, w₋) = (α 1, α 1).

    Returns:
      two tensors (d,), or (E, d) with ``ensemble=E``.
    """
    d = check_int("d", d, minimum=1)
    _constants(alpha, parametrization)
    shape = (
        (d,) if ensemble is None else (check_int("ensemble", ensemble, minimum=1), d)
    )
    if parametrization == "uv":
        u = torch.full(shape, math.sqrt(2.0) * alpha, dtype=dtype, device=device)
        return u, torch.zeros(shape, dtype=dtype, device=device)
    w = torch.full(shape, float(alpha), dtype=dtype, device=device)
    return w, w.clone()


def loss(X: Tensor, y: Tensor, beta: Tensor) -> Tensor:
    """L(β) = 1/(2n) ‖Xβ − y‖²; X (n, d), y (n,), β (…, d) → (…,)."""
    X, y = check_regression(X, y)
    beta = check_tensor("beta", beta, last_dim=X.shape[1], finite=False)
    return (beta @ X.T - y).square().mean(dim=-1) / 2


def loss_gradient(X: Tensor, y: Tensor, beta: Tensor) -> Tensor:
    """∇L(β) = Xᵀ(Xβ − y)/n; X (n, d), y (n,), β (…, d) → (…, d)."""
    X, y = check_regression(X, y)
    beta = check_tensor("beta", beta, last_dim=X.shape[1], finite=False)
    return (beta @ X.T - y) @ X / X.shape[0]


def conserved_quantity(a: Tensor, b: Tensor, *, parametrization: str = "uv") -> Tensor:
    """u² − v² ("uv", = 2α² along the flow) or w₊ ⊙ w₋ ("pm", = α²), elementwise."""
    check_choice("parametrization", parametrization, PARAMETRIZATIONS)
    a, b = check_tensor("a", a, finite=False), check_tensor("b", b, finite=False)
    return a.square() - b.square() if parametrization == "uv" else a * b


def effective_alpha(a: Tensor, b: Tensor, *, parametrization: str = "uv") -> Tensor:
    """The scale α_eff whose flow would conserve the weights' invariant, elementwise.

    √((u² − v²)/2) ("uv") or √(w₊ w₋) ("pm"): α itself along gradient flow, smaller after
    GD/SGD steps (each multiplies u² − v² by 1 − γ²g²). NaN where a step with γ|g| > 1
    flipped the invariant's sign.
    """
    q = conserved_quantity(a, b, parametrization=parametrization)
    return (q / 2 if parametrization == "uv" else q).sqrt()


# ----------------------------------------------------------------------------------------
# Gradient flow


@dataclass(frozen=True)
class DiagonalTrajectory:
    """A gradient-flow trajectory sampled at the requested times (tensors in X's dtype).

    ``weights`` are (u, v) or (w₊, w₋); ``theta`` = ∇φ_α(β), the mirror variable;
    ``integrated_residual`` = ∫₀ᵗ r / n (only from :func:`weight_flow`, else None), so the
    mirror identity reads θ(t) = −Xᵀ ∫₀ᵗ r / n.
    """

    alpha: float
    parametrization: str
    t: Tensor  # (T,)
    beta: Tensor  # (T, d)
    weights: tuple[Tensor, Tensor]  # (T, d) each
    theta: Tensor  # (T, d)
    loss: Tensor  # (T,)
    integrated_residual: Tensor | None  # (T, n)


def _check_times(times: object, ref: Tensor) -> np.ndarray:
    times = check_tensor("times", times, ndim=1)
    t = times.detach().double().cpu().numpy()
    if t.size == 0 or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ValueError("times must be non-empty, >= 0 and strictly increasing")
    return t


def _solve(rhs, jac, state0, t, *, rtol, atol, method):
    from scipy.integrate import solve_ivp

    if t[-1] == 0:  # only t = 0 asked for
        return np.tile(state0, (len(t), 1))
    kwargs = {"jac": jac} if method in ("Radau", "BDF", "LSODA") else {}
    sol = solve_ivp(
        rhs,
        (0.0, float(t[-1])),
        state0,
        t_eval=t,
        method=method,
        rtol=rtol,
        atol=atol,
        **kwargs,
    )
    if sol.status != 0:
        raise RuntimeError(f"the ODE solver failed: {sol.message}")
    return sol.y.T  # (T, state)


def weight_flow(
    X: Tensor,
    y: Tensor,
    *,
    alpha: float,
    times: Tensor,
    parametrization: str = "uv",
    rtol: float = 1e-12,
    atol: float | None = None,
) -> DiagonalTrajectory:
    """Gradient flow on the weights from :func:`init_weights`, by scipy's DOP853.

    "uv": u̇ = −v ⊙ ∇L, v̇ = −u ⊙ ∇L; "pm": ẇ± = ∓2 w± ⊙ ∇L; ∫ r/n is integrated alongside
    (for the mirror identity). The oracle for moderate α: at small α the weights' scale α
    forces atol ≪ α and the integration gets slow (use :func:`mirror_flow`).

    Args:
      X: (n, d). y: (n,).
      alpha: initialisation scale, > 0.
      times: (T,) increasing times ≥ 0 at which to sample.
      parametrization: "uv" or "pm".
      rtol: relative tolerance; atol defaults to rtol · α · 1e-3.
    """
    X, y = check_regression(X, y)
    _constants(alpha, parametrization)
    t = _check_times(times, X)
    rtol = check_float("rtol", rtol, minimum=1e-15)
    atol = (
        rtol * alpha * 1e-3 if atol is None else check_float("atol", atol, minimum=0.0)
    )
    A = X.detach().double().cpu().numpy()
    b = y.detach().double().cpu().numpy()
    n, d = A.shape
    a0, b0 = (
        np.zeros(d) + v
        for v in (
            (math.sqrt(2) * alpha, 0.0) if parametrization == "uv" else (alpha, alpha)
        )
    )
    uv = parametrization == "uv"

    def rhs(_t, state):
        w1, w2 = state[:d], state[d : 2 * d]
        beta = w1 * w2 if uv else w1 * w1 - w2 * w2
        r = A @ beta - b
        g = A.T @ r / n
        if uv:
            return np.concatenate([-w2 * g, -w1 * g, r / n])
        return np.concatenate([-2 * w1 * g, 2 * w2 * g, r / n])

    states = _solve(
        rhs,
        None,
        np.concatenate([a0, b0, np.zeros(n)]),
        t,
        rtol=rtol,
        atol=atol,
        method="DOP853",
    )
    like = {"dtype": X.dtype, "device": X.device}
    w1 = torch.as_tensor(states[:, :d], **like)
    w2 = torch.as_tensor(states[:, d : 2 * d], **like)
    beta = _beta((w1, w2), parametrization)
    return DiagonalTrajectory(
        alpha=float(alpha),
        parametrization=parametrization,
        t=torch.as_tensor(t, **like),
        beta=beta,
        weights=(w1, w2),
        theta=mirror_map(beta, alpha=alpha, parametrization=parametrization),
        loss=loss(X, y, beta),
        integrated_residual=torch.as_tensor(states[:, 2 * d :], **like),
    )


def mirror_flow(
    X: Tensor,
    y: Tensor,
    *,
    alpha: float,
    times: Tensor,
    parametrization: str = "uv",
    rtol: float = 1e-12,
    atol: float = 1e-12,
    method: str = "DOP853",
) -> DiagonalTrajectory:
    """Gradient flow integrated on the mirror variable θ = ∇φ_α(β): θ̇ = −∇L(β(θ)), θ(0) = 0.

    β(θ) = α² sinh 2θ ("uv") or 2α² sinh 4θ ("pm"). θ is of size ≤ ln(1/α)-ish for every α,
    so this stays accurate at α = 1e-10 where the weights themselves would underflow the
    tolerances. Every Runge–Kutta (or BDF/Radau) increment is a combination of −Xᵀr/n, so
    θ stays in span(Xᵀ) to rounding whatever the tolerance.

    Args:
      X: (n, d). y: (n,).
      alpha: initialisation scale, > 0.
      times: (T,) increasing times ≥ 0 (accelerated time t̃ = t / ln(1/α)).
      parametrization: "uv" or "pm" (weights rebuilt from θ: u = √2 α cosh θ,
        v = √2 α sinh θ; w± = α e^{±2θ}).
      rtol, atol: solver tolerances on θ.
      method: a scipy ``solve_ivp`` method; "Radau", "BDF", "LSODA" get the exact Jacobian
        −Xᵀ X diag(c cosh(θ/k)/k) / n.
    """
    X, y = check_regression(X, y)
    k, c = _constants(alpha, parametrization)
    t = _check_times(times, X)
    rtol = check_float("rtol", rtol, minimum=1e-15)
    atol = check_float("atol", atol, minimum=0.0)
    check_choice("method", method, ("RK45", "DOP853", "Radau", "BDF", "LSODA"))
    A = X.detach().double().cpu().numpy()
    b = y.detach().double().cpu().numpy()
    n, d = A.shape
    G = A.T @ A / n
    h = A.T @ b / n

    # |β| ≤ 1e150 keeps a wild trial step finite (the solver then rejects it); never
    # reached on an accepted step
    cap = math.asinh(1e150 / c)

    def rhs(_t, theta):
        return h - G @ (c * np.sinh(np.clip(theta / k, -cap, cap)))

    def jac(_t, theta):
        return -G * (c * np.cosh(theta / k) / k)

    states = _solve(rhs, jac, np.zeros(d), t, rtol=rtol, atol=atol, method=method)
    like = {"dtype": X.dtype, "device": X.device}
    theta = torch.as_tensor(states, **like)
    beta = inverse_mirror_map(theta, alpha=alpha, parametrization=parametrization)
    if parametrization == "uv":
        scale = math.sqrt(2.0) * alpha
        weights = (scale * torch.cosh(theta), scale * torch.sinh(theta))
    else:
        weights = (alpha * torch.exp(2 * theta), alpha * torch.exp(-2 * theta))
    return DiagonalTrajectory(
        alpha=float(alpha),
        parametrization=parametrization,
        t=torch.as_tensor(t, **like),
        beta=beta,
        weights=weights,
        theta=theta,
        loss=loss(X, y, beta),
        integrated_residual=None,
    )


# ----------------------------------------------------------------------------------------
# Gradient descent and SGD


@dataclass(frozen=True)
class DescentResult:
    """GD/SGD run: final weights and β, the loss every ``record_every`` steps.

    Shapes carry the ensemble axis E when one was asked for: β (E, d), losses (S, E).
    """

    alpha: float
    lr: float
    batch_size: int
    parametrization: str
    weights: tuple[Tensor, Tensor]  # (…, d)
    beta: Tensor  # (…, d)
    steps: Tensor  # (S,) the step counts at which the loss was recorded (0 first)
    losses: Tensor  # (S, …) full-batch training loss
    effective_alpha: Tensor  # (…, d) from the conserved quantity at the end


def descent(
    X: Tensor,
    y: Tensor,
    *,
    alpha: float,
    lr: float,
    steps: int,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    parametrization: str = "uv",
    ensemble: int | None = None,
    record_every: int = 1,
) -> DescentResult:
    """Gradient descent (full batch) or SGD on the weights of a diagonal linear network.

    One step on a mini-batch B of size b (drawn without replacement, independently for
    each ensemble member, from ``generator``), g = X_Bᵀ(X_B β − y_B)/b:

        "uv": u ← u − γ v ⊙ g,  v ← v − γ u ⊙ g;   "pm": w± ← w± ∓ 2γ w± ⊙ g.

    Args:
      X: (n, d). y: (n,).
      alpha: initialisation scale (:func:`init_weights`), > 0.
      lr: step size γ > 0.
      steps: number of steps.
      batch_size: b (None or n: full-batch GD, no generator needed; b < n: SGD).
      generator: the torch.Generator of the mini-batches (required for SGD).
      parametrization: "uv" or "pm".
      ensemble: E independent runs from the same initialisation (different batches).
      record_every: record the full-batch loss every this many steps (and at the end).

    Raises:
      RuntimeError if the weights become non-finite (lr too large).
    """
    X, y = check_regression(X, y)
    _constants(alpha, parametrization)
    lr = check_float("lr", lr)
    if lr <= 0:
        raise ValueError(f"lr must be > 0; got {lr}")
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    n, d = X.shape
    b = n if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    if b > n:
        raise ValueError(f"batch_size must be <= n = {n}; got {b}")
    if b < n and not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator for SGD (batch_size < n); got "
            f"{type(generator).__name__}"
        )
    w1, w2 = init_weights(
        d,
        alpha=alpha,
        parametrization=parametrization,
        ensemble=ensemble,
        dtype=X.dtype,
        device=X.device,
    )
    lead = w1.shape[:-1]
    uv = parametrization == "uv"
    recorded_steps, losses = [0], [loss(X, y, _beta((w1, w2), parametrization))]
    for step in range(1, steps + 1):
        beta = w1 * w2 if uv else w1.square() - w2.square()
        if b == n:
            g = (beta @ X.T - y) @ X / n
        else:
            keys = torch.rand(
                (*lead, n), generator=generator, device=generator.device
            ).to(X.device)
            idx = keys.argsort(dim=-1)[..., :b]  # (…, b)
            Xb, yb = X[idx], y[idx]  # (…, b, d), (…, b)
            r = (Xb @ beta.unsqueeze(-1)).squeeze(-1) - yb
            g = (r.unsqueeze(-2) @ Xb).squeeze(-2) / b
        if uv:
            w1, w2 = w1 - lr * w2 * g, w2 - lr * w1 * g
        else:
            w1, w2 = w1 * (1 - 2 * lr * g), w2 * (1 + 2 * lr * g)
        if step % record_every == 0 or step == steps:
            if not bool(torch.isfinite(w1).all() and torch.isfinite(w2).all()):
                raise RuntimeError(
                    f"descent diverged by step {step} (weights not finite); lower lr "
                    f"(got {lr})"
                )
            recorded_steps.append(step)
            losses.append(loss(X, y, _beta((w1, w2), parametrization)))
    return DescentResult(
        alpha=float(alpha),
        lr=lr,
        batch_size=b,
        parametrization=parametrization,
        weights=(w1, w2),
        beta=_beta((w1, w2), parametrization),
        steps=torch.tensor(recorded_steps, device=X.device),
        losses=torch.stack(losses),
        effective_alpha=effective_alpha(w1, w2, parametrization=parametrization),
    )


# ----------------------------------------------------------------------------------------
# The α → 0 limit: saddle to saddle


@dataclass(frozen=True)
class LimitingProcess:
    """The piecewise-constant limit β̃(t̃) of the flow at t = t̃ ln(1/α), α → 0.

    Saddle k is visited on (times[k], times[k+1]) (the last one forever); saddle 0 is
    β = 0 and times[0] = 0. ``duals[k]`` is s(times[k]), with s(t̃) = lim θ(t̃ ln(1/α)) /
    (2k ln(1/α)) ∈ [−1, 1]^d (k of the potential; "uv": θ/ln(1/α)), piecewise linear:
    s(t̃) = duals[k] − (t̃ − times[k]) · speed · gradients[k] (speed 1 for "uv", 2 for "pm").
    Coordinate i may be nonzero in saddle k only if |duals[k][i]| = 1, with that sign.
    ``activated[k]``/``deactivated[k]`` are the coordinates entering / leaving the support
    at the jump into saddle k (both empty for k = 0); a coordinate that left keeps
    |s_i| = 1 until its gradient pulls s_i back inside on the next plateau (or forever if
    ∇L = 0 there).
    """

    parametrization: str
    times: Tensor  # (K+1,) accelerated jump times, increasing, times[0] = 0
    saddles: Tensor  # (K+1, d)
    duals: Tensor  # (K+1, d)
    gradients: Tensor  # (K+1, d) ∇L at each saddle
    losses: Tensor  # (K+1,)
    activated: tuple[tuple[int, ...], ...]
    deactivated: tuple[tuple[int, ...], ...]

    @property
    def speed(self) -> float:
        """ds/dt̃ = −speed · ∇L: 1 for "uv", 2 for "pm" (its jump times are halved)."""
        return 1.0 if self.parametrization == "uv" else 2.0

    def _index(self, t_tilde: Tensor) -> Tensor:
        t_tilde = check_tensor("t_tilde", t_tilde, ndim=(0, 1))
        times = self.times.to(t_tilde.dtype)
        return (torch.searchsorted(times, t_tilde, right=True) - 1).clamp(min=0)

    def beta_at(self, t_tilde: Tensor) -> Tensor:
        """β̃(t̃): (T,) → (T, d), the saddle in force at each time."""
        return self.saddles[self._index(t_tilde)]

    def dual_at(self, t_tilde: Tensor) -> Tensor:
        """s(t̃): (T,) → (T, d), continuous and piecewise linear."""
        i = self._index(t_tilde)
        dt = (t_tilde.to(self.times.dtype) - self.times[i]).unsqueeze(-1)
        return self.duals[i] - dt * self.speed * self.gradients[i]

    def support(self, k: int) -> tuple[int, ...]:
        """The nonzero coordinates of saddle k."""
        return tuple(int(i) for i in torch.nonzero(self.saddles[k]).flatten())


def _sign_constrained_least_squares(
    A: np.ndarray, b: np.ndarray, signs: np.ndarray
) -> np.ndarray:
    """argmin ½‖A x − b‖² subject to signs ⊙ x ≥ 0 (NNLS on A diag(signs)), polished."""
    from scipy.optimize import nnls

    x = np.zeros(A.shape[1])
    if A.shape[1] == 0:
        return x
    M = A * signs
    z, _ = nnls(M, b, maxiter=50 * M.shape[1])
    positive = z > 0
    if positive.any():  # re-solve on the positive set: exact to rounding
        sub = np.linalg.lstsq(M[:, positive], b, rcond=None)[0]
        if np.all(sub > 0):
            z = np.zeros_like(z)
            z[positive] = sub
    z[z <= 1e-13 * max(float(z.max()), 1.0)] = 0.0  # rounding-level entries are zeros
    return signs * z


def limiting_process(
    X: Tensor, y: Tensor, *, parametrization: str = "uv", max_saddles: int = 1000
) -> LimitingProcess:
    """Pesme & Flammarion's α → 0 limit of gradient flow: saddles and jump times.

    In accelerated time t̃ = t / ln(1/α) ("uv"), with s = θ / ln(1/α) and β_i = α² sinh 2θ_i
    ≈ ±α^{2(1 − |s_i|)}/2, a coordinate is negligible while |s_i| < 1 and free once
    |s_i| = 1, and ds/dt̃ = −∇L(β). The recursion (shared/science.md §6.4):

        t̃₀ = 0, β₀ = 0, s₀ = 0; while ∇L(β_k) ≠ 0:
          s(t̃) = s_k − (t̃ − t̃_k) ∇L(β_k)
          t̃_{k+1} = the first t̃ > t̃_k at which some s_i reaches ±1 from inside
          s_{k+1} = s(t̃_{k+1})
          β_{k+1} = argmin L(β) s.t. β_i ≥ 0 if s_i = +1, β_i ≤ 0 if s_i = −1,
                                      β_i = 0 if |s_i| < 1

    A coordinate with |s_i| = 1 but β_i = 0 in the new saddle has (KKT) a gradient pushing
    s_i back inside: it *deactivates* on the next plateau. The first jump is at
    t̃₁ = 1/‖∇L(0)‖_∞ = n/‖Xᵀy‖_∞. When n ≤ d the last saddle interpolates and s is its
    ℓ1 dual certificate, so it is the min-ℓ1 solution (:func:`~deeptheory.implicit_bias.min_l1`).
    Each β_k is an NNLS problem (scipy), assumed to have a unique solution (X in general
    position). For "pm" all times are halved (ds/dt̃ = −2∇L).

    Args:
      X: (n, d). y: (n,).
      parametrization: "uv" or "pm".
      max_saddles: give up (RuntimeError) after this many jumps.
    """
    X, y = check_regression(X, y)
    check_choice("parametrization", parametrization, PARAMETRIZATIONS)
    max_saddles = check_int("max_saddles", max_saddles, minimum=1)
    A = X.detach().double().cpu().numpy()
    b = y.detach().double().cpu().numpy()
    n, d = A.shape
    G, h = A.T @ A / n, A.T @ b / n
    tol = 1e-10 * max(float(np.abs(h).max()), 1e-300)

    t, s, beta = 0.0, np.zeros(d), np.zeros(d)
    bound = np.zeros(d, dtype=bool)  # |s_i| = 1 exactly
    sign = np.zeros(d)
    times, saddles, duals, grads = [0.0], [beta], [s.copy()], []
    activated: list[tuple[int, ...]] = [()]
    deactivated: list[tuple[int, ...]] = [()]
    while True:
        g = G @ beta - h
        # zero: stationary coordinates, and bound ones pushed outward (KKT makes their
        # gradient ≤ 0 outward: what is left is rounding)
        g[(np.abs(g) <= tol) | (bound & (g * sign < 0))] = 0.0
        grads.append(g.copy())
        if not g.any():
            break
        if len(times) > max_saddles:
            raise RuntimeError(
                f"limiting_process: more than max_saddles={max_saddles} jumps; increase it"
            )
        # time for each coordinate moving outward from inside to reach ±1
        with np.errstate(divide="ignore", invalid="ignore"):
            target = -np.sign(g)
            tau = np.where(
                (g != 0) & ~(bound & (sign == target)), (target - s) / -g, np.inf
            )
        if not np.isfinite(tau).any():
            raise RuntimeError("limiting_process: stuck (no coordinate can move)")
        step = float(tau.min())
        hit = np.isfinite(tau) & (tau <= step * (1 + 1e-12))
        leaving = bound & (g != 0)  # pushed inside: deactivates
        s = s - step * g
        t += step
        s[hit] = target[hit]
        bound = (bound & ~leaving) | hit
        sign = np.where(bound, np.sign(s), 0.0)
        s[bound] = sign[bound]
        beta = np.zeros(d)
        idx = np.flatnonzero(bound)
        beta[idx] = _sign_constrained_least_squares(A[:, idx], b, sign[idx])
        times.append(t)
        saddles.append(beta)
        duals.append(s.copy())
        was, now = saddles[-2] != 0, beta != 0
        activated.append(tuple(int(i) for i in np.flatnonzero(now & ~was)))
        deactivated.append(tuple(int(i) for i in np.flatnonzero(was & ~now)))
    speed = 1.0 if parametrization == "uv" else 2.0
    like = {"dtype": X.dtype, "device": X.device}
    saddle_t = torch.as_tensor(np.array(saddles), **like)
    return LimitingProcess(
        parametrization=parametrization,
        times=torch.as_tensor(np.array(times) / speed, **like),
        saddles=saddle_t,
        duals=torch.as_tensor(np.array(duals), **like),
        gradients=torch.as_tensor(np.array(grads), **like),
        losses=loss(X, y, saddle_t),
        activated=tuple(activated),
        deactivated=tuple(deactivated),
    )
