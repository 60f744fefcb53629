"""Students of the teacher-student setting: kernel regression and random features.

* :func:`kernel_regression` — kernel ridge(less) regression with real targets:
  c = (K + p λ I)⁻¹ y, predictions K_test c (λ = 0: ridgeless interpolation, Spigler et
  al. 2020). The solve is a Cholesky factorisation of K + (p λ + ε) I with a jitter
  ε = ``jitter`` · mean diag K (1e-10, the authors' choice; stated in the result) so that a
  numerically singular Gram does not stop a learning curve; if that still fails, a
  least-squares solve via ``eigh`` (pseudo-inverse, eigenvalues below rcond·λ_max
  dropped). y may hold several teachers' labels as columns: one factorisation for all.
  (:func:`deeptheory.kernel_machines.kernel_ridge` is the ±1-label classification variant.)
* :func:`random_features_regression` — Gaussian random features: φ(x) = σ(W x/√d)/√N with
  W ~ N(0, 1)^(N×d) and σ = relu (kernel → k₁/(2d) as N → ∞) or, with
  ``features="fourier"``, φ(x) = √(2/N) cos(W x/σ_f + b), b ~ U[0, 2π) (random Fourier
  features of the Gaussian kernel of width σ_f). Ridge (or, λ = 0, minimum-norm
  least-squares) regression on φ, solved in the smaller of the (N, N) primal and
  (p, p) dual systems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from deeptheory._validation import (
    check_choice,
    check_float,
    check_int,
    check_same_kind,
    check_tensor,
)

Tensor = torch.Tensor

__all__ = ["KernelRegression", "kernel_regression", "random_features_regression"]


@dataclass(frozen=True)
class KernelRegression:
    """Dual coefficients c (p, …), test predictions (n, …) or None, and the solver used."""

    coefficients: Tensor
    predictions: Tensor | None
    method: str  # "cholesky" or "eigh"


def kernel_regression(
    K: Tensor,
    y: Tensor,
    K_test: Tensor | None = None,
    *,
    ridge: float = 0.0,
    jitter: float = 1e-10,
) -> KernelRegression:
    """c = (K + p λ I)⁻¹ y with a stable solve (module docstring); y is (p,) or (p, m)."""
    check_tensor("K", K, ndim=2)
    check_tensor("y", y, ndim=(1, 2))
    check_same_kind("y", y, "K", K)
    p = y.shape[0]
    if K.shape != (p, p):
        raise ValueError(f"K must be ({p}, {p}) for {p} targets; got {tuple(K.shape)}")
    if K_test is not None:
        check_tensor("K_test", K_test, ndim=2)
        check_same_kind("K_test", K_test, "K", K)
        if K_test.shape[1] != p:
            raise ValueError(f"K_test must be (n, {p}); got {tuple(K_test.shape)}")
    ridge = check_float("ridge", ridge, minimum=0.0)
    jitter = check_float("jitter", jitter, minimum=0.0)
    column = y.ndim == 1
    Y = y[:, None] if column else y
    shift = p * ridge + jitter * float(K.diagonal().mean()) if p else 0.0
    A = K + shift * torch.eye(p, dtype=K.dtype, device=K.device)
    L, info = torch.linalg.cholesky_ex(A)
    if int(info) == 0:
        c, method = torch.cholesky_solve(Y, L), "cholesky"
    else:
        lam, V = torch.linalg.eigh(0.5 * (A + A.T))
        rcond = torch.finfo(K.dtype).eps * p
        keep = lam > rcond * lam.abs().max()
        inv = torch.where(keep, 1 / torch.where(keep, lam, 1.0), 0.0)
        c, method = V @ (inv[:, None] * (V.T @ Y)), "eigh"
    if column:
        c = c[:, 0]
    return KernelRegression(c, None if K_test is None else K_test @ c, method)


def random_features_regression(
    x: Tensor,
    y: Tensor,
    x_test: Tensor,
    *,
    features: int,
    generator: torch.Generator,
    kind: str = "relu",
    ridge: float = 0.0,
    bandwidth: float = 1.0,
) -> Tensor:
    """Ridge regression on N Gaussian random features (module docstring); test predictions.

    Args:
      x: (p, d) training inputs. y: (p,) or (p, m) targets. x_test: (n, d).
      features: N. generator: draws W (and b). kind: ``"relu"`` or ``"fourier"``.
      ridge: λ in min (1/p)‖Φ a − y‖² + λ‖a‖²; 0 gives the minimum-norm solution.
      bandwidth: σ_f of the Fourier features.

    Returns:
      (n,) or (n, m) predictions, dtype and device of x.
    """
    x = check_tensor("x", x, ndim=2)
    y = check_tensor("y", y, ndim=(1, 2))
    x_test = check_tensor("x_test", x_test, ndim=2, last_dim=x.shape[1])
    check_same_kind("y", y, "x", x)
    check_same_kind("x_test", x_test, "x", x)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"y must have {x.shape[0]} rows (one per input); got {y.shape}"
        )
    check_int("features", features, minimum=1)
    check_choice("kind", kind, ("relu", "fourier"))
    ridge = check_float("ridge", ridge, minimum=0.0)
    bandwidth = check_float("bandwidth", bandwidth)
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0; got {bandwidth}")
    d = x.shape[1]
    W = torch.randn(d, features, generator=generator, dtype=x.dtype, device=x.device)
    if kind == "relu":

        def phi(z: Tensor) -> Tensor:
            return torch.relu(z @ W / math.sqrt(d)) / math.sqrt(features)

    else:
        b = (
            2
            * math.pi
            * torch.rand(features, generator=generator, dtype=x.dtype, device=x.device)
        )

        def phi(z: Tensor) -> Tensor:
            return math.sqrt(2 / features) * torch.cos(z @ W / bandwidth + b)

    F, F_test = phi(x), phi(x_test)
    p = x.shape[0]
    if ridge > 0 and features > p:  # dual form: a = Φᵀ (Φ Φᵀ + p λ I)⁻¹ y, (p, p)
        A = F @ F.T + p * ridge * torch.eye(p, dtype=x.dtype, device=x.device)
        a = F.T @ torch.linalg.solve(A, y)
    elif ridge > 0:
        A = F.T @ F + p * ridge * torch.eye(features, dtype=x.dtype, device=x.device)
        a = torch.linalg.solve(A, F.T @ y)
    else:
        Y = y.reshape(p, -1).cpu()
        a = torch.linalg.lstsq(F.cpu(), Y, driver="gelsd").solution.to(x.device)
        a = a.reshape((features, *y.shape[1:]))
    return F_test @ a
