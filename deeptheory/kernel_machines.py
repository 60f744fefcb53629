"""Kernel machines on a given Gram matrix: the lazy limit of a network, and two baselines.

Paccolat et al. (2021, arXiv:2007.11471) compare a trained network with kernel machines
built from its NTK at initialisation and at the end of training. Conventions (p training
points, labels ±1, K the (p, p) Gram matrix, K_test the (n, p) test-train block):

* :func:`kernel_flow` — the network's lazy dynamics in function space. With dual
  coefficients c and F = K c on the training set, integrate

      dc/dt = −(1/p) l'(y F) y,   so   dF/dt = −(1/p) K l'(y F) y,

  with the adaptive Euler rule of :mod:`deeptheory.train` (the authors' ``train_kernel``).
  In the code convention of :mod:`deeptheory.alpha` a network with α-scaled output follows
  this flow in the limit α → ∞ with K = α Θ, Θ the NTK of f (not of F), in the same time
  units. Test predictions are K_test c.
* :func:`kernel_ridge` — c = (K + p λ I)⁻¹ y, the minimiser of
  (1/p) Σ_μ (y_μ − F_μ)² + λ ‖F‖²_K.
* :func:`kernel_svc` — scikit-learn's ``SVC(kernel="precomputed", C=C)``; returns its
  decision function on the test points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from deeptheory._validation import check_float, check_same_kind, check_tensor
from deeptheory.losses import margin_loss, margin_loss_derivative
from deeptheory.train import TrainConfig, TrainingDiverged, adapt_step, gradient_change

Tensor = torch.Tensor

__all__ = ["KernelFlowResult", "kernel_flow", "kernel_ridge", "kernel_svc"]

DEFAULT_CONFIG = TrainConfig()


@dataclass(frozen=True)
class KernelFlowResult:
    """The end of a kernel flow: dual coefficients, outputs, time, steps, and why it
    stopped (``converged``: every margin reached)."""

    coefficients: Tensor  # (p,)
    F: Tensor  # (p,) on the training set
    F_test: Tensor | None  # (n,) when K_test was given
    loss: Tensor  # 0-d: (1/p) Σ l(y F)
    t: float
    steps: int
    converged: bool


def _check_gram(K: Tensor, y: Tensor, K_test: Tensor | None) -> None:
    check_tensor("K", K, ndim=2)
    check_tensor("y", y, ndim=1)
    check_same_kind("y", y, "K", K)
    p = len(y)
    if K.shape != (p, p):
        raise ValueError(f"K must be ({p}, {p}) for {p} labels; got {tuple(K.shape)}")
    if not bool((y.abs() == 1).all()):
        raise ValueError("y must hold labels ±1")
    if K_test is not None:
        check_tensor("K_test", K_test, ndim=2)
        check_same_kind("K_test", K_test, "K", K)
        if K_test.shape[1] != p:
            raise ValueError(
                f"K_test must be (n, {p}) (test rows, training columns); "
                f"got {tuple(K_test.shape)}"
            )


def kernel_flow(
    K: Tensor,
    y: Tensor,
    K_test: Tensor | None = None,
    *,
    config: TrainConfig = DEFAULT_CONFIG,
) -> KernelFlowResult:
    """Integrate dc/dt = −l'(y K c) y / p from c = 0 (see the module docstring).

    ``config`` is the :class:`~deeptheory.train.TrainConfig` of the network runs: its
    ``loss``, ``beta``, ``lr`` (the initial dt), ``max_dout``, ``max_dgrad`` (on the
    direction of dc/dt), ``amplify``, ``damp``, ``max_time``, ``max_steps`` and
    ``stop_margin`` are used; its ``method`` must be ``"flow"``.
    """
    _check_gram(K, y, K_test)
    if config.method != "flow":
        raise ValueError(
            f"kernel_flow integrates the flow; got method {config.method!r}"
        )
    p = len(y)

    def velocity(F: Tensor) -> Tensor:
        return (
            -margin_loss_derivative(y * F, loss=config.loss, beta=config.beta) * y / p
        )

    c = torch.zeros_like(y)
    F = torch.zeros_like(y)
    v = velocity(F)
    dt = torch.full((1,), config.lr, dtype=y.dtype, device=y.device)
    done = torch.zeros(1, dtype=torch.bool, device=y.device)
    t, steps, converged = 0.0, 0, False
    while steps < config.max_steps:
        if config.stop_margin is not None and bool((y * F >= config.stop_margin).all()):
            converged = True
            break
        if t >= config.max_time:
            break
        h = min(float(dt), config.max_time - t)
        c_new = c + h * v
        F_new = K @ c_new
        if not bool(torch.isfinite(F_new).all()):
            raise TrainingDiverged(f"kernel flow diverged at step {steps}", [0])
        v_new = velocity(F_new)
        ratio = (F_new - F).abs().max() / config.max_dout
        if config.max_dgrad is not None:
            ratio = torch.maximum(ratio, gradient_change(v, v_new) / config.max_dgrad)
        ok, dt = adapt_step(ratio.reshape(1), dt, done, config)
        if bool(ok[0]):
            c, F, v, t, steps = c_new, F_new, v_new, t + h, steps + 1
    loss = margin_loss(y * F, loss=config.loss, beta=config.beta).mean()
    F_test = None if K_test is None else K_test @ c
    return KernelFlowResult(c, F, F_test, loss, t, steps, converged)


def kernel_ridge(
    K: Tensor, y: Tensor, K_test: Tensor | None = None, *, ridge: float
) -> tuple[Tensor, Tensor | None]:
    """Kernel ridge regression: c = (K + p λ I)⁻¹ y; returns ``(c, K_test c)``."""
    _check_gram(K, y, K_test)
    if check_float("ridge", ridge) < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")
    p = len(y)
    A = K + p * ridge * torch.eye(p, dtype=K.dtype, device=K.device)
    c = torch.linalg.solve(A, y)
    return c, None if K_test is None else K_test @ c


def kernel_svc(K: Tensor, y: Tensor, K_test: Tensor, *, C: float = 1.0) -> Tensor:
    """Support-vector classifier on a precomputed Gram matrix (scikit-learn).

    Returns:
      The decision function on the test points, (n,), in the dtype and on the device of
      ``K`` (the fit itself runs in numpy on the CPU).
    """
    _check_gram(K, y, K_test)
    if not (check_float("C", C) > 0 and math.isfinite(C)):
        raise ValueError(f"C must be > 0; got {C}")
    from sklearn.svm import SVC

    model = SVC(kernel="precomputed", C=C)
    model.fit(K.detach().cpu().double().numpy(), y.detach().cpu().numpy())
    scores = model.decision_function(K_test.detach().cpu().double().numpy())
    return torch.as_tensor(scores, dtype=K.dtype, device=K.device)
