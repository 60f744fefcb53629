"""The implicit bias of diagonal linear networks: hyperbolic-entropy potentials and their limits.

Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020, arXiv:2002.09277);
Pesme, Pillaud-Vivien & Flammarion (2021, arXiv:2106.09524); shared/science.md §6.3.

Regression with X (n, d), y (n,) and L(β) = 1/(2n) ‖Xβ − y‖². Gradient flow on a diagonal
linear network started at scale α is a *mirror flow* d/dt ∇φ_α(β) = −∇L(β)
(:mod:`deeptheory.diagonal_nets`), with the hyperbolic-entropy potential

    φ_α(β) = k Σ_i [β_i arcsinh(β_i / c) − √(β_i² + c²) + c],   ∇φ_α(β) = k arcsinh(β / c),

* ``"uv"`` (β = u ⊙ v, u₀ = √2 α, v₀ = 0): k = 1/2, c = α²  (β = α² sinh 2θ);
* ``"pm"`` (β = w₊² − w₋², w±(0) = α):     k = 1/4, c = 2α² (β = 2α² sinh 4θ; Woodworth's
  (α²/4) Σ q(β_i/α²), q(z) = 2 − √(4 + z²) + z arcsinh(z/2)).

The two describe the same flow: "pm" at α is "uv" at √2 α run at twice the speed (u = w₊ + w₋,
v = w₊ − w₋), and their potentials differ by a factor 2, so they have the same minimisers.

Since ∇φ_α(β(t)) − ∇φ_α(0) = −Xᵀ ∫ r / n stays in span(Xᵀ), a flow that interpolates
(n ≤ d, X of full row rank) ends at

    β_α = argmin φ_α(β) subject to Xβ = y                               (:func:`implicit_bias`),

computed here independently of any flow, by Newton's method on the concave dual
max_μ yᵀμ − Σ_i φ*_α((Xᵀμ)_i), φ*(z) = k c (cosh(z/k) − 1), β(μ) = c sinh(Xᵀμ / k).

Limits [shared/science.md §6.3, rates derived and checked in tests/test_diagonal_nets.py]:

* α → 0: φ_α(β) = ln(1/α) ‖β‖₁ + ½ Σ_i |β_i| (ln 2|β_i| − 1) + O(α²) ("uv"), and
  β_α → :func:`min_l1` (basis pursuit, a linear programme). Off the support β_i ~
  α^{2(1 − |s_i|)} with s = lim ∇φ_α(β_α)/ln(1/α), so the error is typically a power of α
  (exponents 0.2–0.8 on the instances of the tests), but a small one when s nearly
  saturates off the support.
* α → ∞: 4α² φ_α(β) → ‖β‖² ("uv") and β_α → :func:`min_l2` (X⁺ y) with error ∝ α⁻⁴
  (the next term of arcsinh).

Computations run in float64 (Newton, the linear programme) and return the input's dtype
and device.
"""

from __future__ import annotations

import numpy as np
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
    "PARAMETRIZATIONS",
    "implicit_bias",
    "inverse_mirror_map",
    "min_l1",
    "min_l2",
    "mirror_map",
    "potential",
]

#: "uv": β = u ⊙ v; "pm": β = w₊² − w₋².
PARAMETRIZATIONS = ("uv", "pm")


def _constants(alpha: float, parametrization: str) -> tuple[float, float]:
    """(k, c) of φ_α = k Σ [β arcsinh(β/c) − √(β² + c²) + c]."""
    alpha = check_float("alpha", alpha)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    check_choice("parametrization", parametrization, PARAMETRIZATIONS)
    if parametrization == "uv":
        return 0.5, alpha**2
    return 0.25, 2.0 * alpha**2


def check_regression(X: object, y: object) -> tuple[Tensor, Tensor]:
    """X (n, d) and y (n,), floating, finite, same dtype and device."""
    X = check_tensor("X", X, ndim=2)
    y = check_tensor("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have one entry per row of X ({X.shape[0]}); got shape {tuple(y.shape)}"
        )
    check_same_kind("y", y, "X", X)
    return X, y


def _check_interpolable(X: Tensor) -> None:
    n, d = X.shape
    if n > d or int(torch.linalg.matrix_rank(X.double())) < n:
        raise ValueError(
            f"X must have full row rank (n ≤ d, Xβ = y solvable for every y); got shape "
            f"{tuple(X.shape)} of rank {int(torch.linalg.matrix_rank(X.double()))}"
        )


def potential(beta: Tensor, *, alpha: float, parametrization: str = "uv") -> Tensor:
    """φ_α(β) = k Σ_i [β_i arcsinh(β_i/c) − √(β_i² + c²) + c] over the last axis.

    Written as k Σ [β arcsinh(β/c) − β²/(√(β² + c²) + c)] so that large α loses no digits.

    Args:
      beta: (…, d).
      alpha: the initialisation scale, > 0.
      parametrization: "uv" (k = 1/2, c = α²) or "pm" (k = 1/4, c = 2α²).

    Returns:
      (…,), ≥ 0, zero only at β = 0.
    """
    k, c = _constants(alpha, parametrization)
    beta = check_tensor("beta", beta, finite=False)
    terms = beta * torch.asinh(beta / c) - beta.square() / (
        torch.sqrt(beta.square() + c**2) + c
    )
    return k * terms.sum(dim=-1)


def mirror_map(beta: Tensor, *, alpha: float, parametrization: str = "uv") -> Tensor:
    """θ = ∇φ_α(β) = k arcsinh(β / c), elementwise; the variable the flow moves linearly.

    For "uv" this is θ with u = √2 α cosh θ, v = √2 α sinh θ; for "pm" it is −∫₀ᵗ ∇L.
    """
    k, c = _constants(alpha, parametrization)
    beta = check_tensor("beta", beta, finite=False)
    return k * torch.asinh(beta / c)


def inverse_mirror_map(
    theta: Tensor, *, alpha: float, parametrization: str = "uv"
) -> Tensor:
    """β = ∇φ*_α(θ) = c sinh(θ / k), elementwise (α² sinh 2θ for "uv", 2α² sinh 4θ for "pm")."""
    k, c = _constants(alpha, parametrization)
    theta = check_tensor("theta", theta, finite=False)
    return c * torch.sinh(theta / k)


def implicit_bias(
    X: Tensor,
    y: Tensor,
    *,
    alpha: float,
    parametrization: str = "uv",
    tol: float = 1e-13,
    max_iter: int = 500,
) -> Tensor:
    """β_α = argmin φ_α(β) subject to Xβ = y, by damped Newton ascent on the dual.

    The dual is max_μ D(μ) = yᵀμ − k c Σ_i (cosh((Xᵀμ)_i / k) − 1), concave, with gradient
    y − Xβ(μ) and Hessian −X diag(c cosh(Xᵀμ/k)/k) Xᵀ, β(μ) = c sinh(Xᵀμ / k). Each Newton
    step is shortened so that no |Xᵀμ/k| moves by more than 4 (cosh cannot overflow at tiny
    α), then backtracked until D increases (Armijo). Stops when ‖Xβ − y‖_∞ ≤ tol·max(1, ‖y‖_∞).
    At the optimum ∇φ_α(β) = Xᵀμ ∈ span(Xᵀ) and Xβ = y: the KKT conditions of the primal.

    Args:
      X: (n, d) with full row rank (n ≤ d).
      y: (n,).
      alpha: initialisation scale, > 0.
      parametrization: "uv" or "pm" (same minimiser at α_uv = √2 α_pm).
      tol: relative residual at which Newton stops.
      max_iter: Newton iterations before giving up (RuntimeError).

    Returns:
      β_α, (d,), in X's dtype and device (computed in float64).
    """
    X, y = check_regression(X, y)
    k, c = _constants(alpha, parametrization)
    tol = check_float("tol", tol, minimum=0.0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    _check_interpolable(X)
    A, b = X.double(), y.double()
    n = A.shape[0]
    mu = A.new_zeros(n)

    def dual_and_residual(mu: Tensor) -> tuple[float, float]:
        z = A.T @ mu / k
        value = float(b @ mu - k * c * (torch.cosh(z) - 1).sum())
        return value, float((b - A @ (c * torch.sinh(z))).norm())

    scale = max(1.0, float(b.abs().max()))
    value, _ = dual_and_residual(mu)
    for _ in range(max_iter):
        z = A.T @ mu / k
        beta = c * torch.sinh(z)
        grad = b - A @ beta
        if float(grad.abs().max()) <= tol * scale:
            return beta.to(X.dtype)
        hess = (A * (c * torch.cosh(z) / k)) @ A.T
        step = torch.linalg.solve(hess, grad)
        move = float((A.T @ step).abs().max()) / k
        size = min(1.0, 4.0 / move) if move > 0 else 1.0
        slope, norm = float(grad @ step), float(grad.norm())
        # Armijo on the dual; near the optimum its changes drop below rounding, so a
        # decrease of the residual norm (Newton's quadratic phase) is accepted too
        for _ in range(60):
            trial, residual = dual_and_residual(mu + size * step)
            if np.isfinite(trial) and (
                trial >= value + 1e-4 * size * slope
                or residual < (1 - 1e-4 * size) * norm
            ):
                break
            size *= 0.5
        else:  # no progress even at tiny steps: at the optimum to rounding
            return beta.to(X.dtype)
        mu, value = mu + size * step, trial
    raise RuntimeError(
        f"implicit_bias: Newton did not reach tol={tol} in max_iter={max_iter} "
        f"iterations (alpha={alpha}); increase max_iter or loosen tol"
    )


def min_l1(X: Tensor, y: Tensor) -> Tensor:
    """argmin ‖β‖₁ subject to Xβ = y (basis pursuit), the α → 0 limit of β_α.

    A linear programme in β = p − q, p, q ≥ 0 (scipy's HiGHS), then polished: on the
    support S the solution of X_S β_S = y by least squares (exact to rounding when
    |S| ≤ n and X_S has full column rank, as for generic X).

    Args:
      X: (n, d) with full row rank. y: (n,).

    Returns:
      (d,), in X's dtype and device.
    """
    from scipy.optimize import linprog

    X, y = check_regression(X, y)
    _check_interpolable(X)
    A = X.detach().double().cpu().numpy()
    b = y.detach().double().cpu().numpy()
    d = A.shape[1]
    res = linprog(
        np.ones(2 * d),
        A_eq=np.hstack([A, -A]),
        b_eq=b,
        bounds=(0, None),
        method="highs",
        options={
            "primal_feasibility_tolerance": 1e-10,
            "dual_feasibility_tolerance": 1e-10,
        },
    )
    if res.status != 0:
        raise RuntimeError(f"min_l1: the linear programme failed: {res.message}")
    beta = res.x[:d] - res.x[d:]
    support = np.abs(beta) > 1e-9 * max(1.0, np.abs(beta).max())
    if 0 < support.sum() <= A.shape[0]:
        sub = A[:, support]
        if np.linalg.matrix_rank(sub) == support.sum():
            polished = np.zeros(d)
            polished[support] = np.linalg.lstsq(sub, b, rcond=None)[0]
            if np.array_equal(np.sign(polished), np.sign(beta) * support):
                beta = polished
    return torch.as_tensor(beta, dtype=X.dtype, device=X.device)


def min_l2(X: Tensor, y: Tensor) -> Tensor:
    """X⁺ y: the minimum-ℓ2-norm least-squares solution, the α → ∞ limit of β_α.

    Args:
      X: (n, d). y: (n,).

    Returns:
      (d,), in X's dtype and device (pseudo-inverse in float64).
    """
    X, y = check_regression(X, y)
    return (torch.linalg.pinv(X.double()) @ y.double()).to(X.dtype)
