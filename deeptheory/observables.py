"""What the feature/lazy and compression papers measure on a trained network.

Geiger, Spigler, Jacot & Wyart (2020, arXiv:1906.08034) and Paccolat, Petrini, Geiger, Tyloo
& Wyart (2021, arXiv:2007.11471); definitions in shared/science.md §2.4 and §4.2. All are
pure functions of tensors; an optional leading ensemble axis E is kept.

* :func:`classification_error` — fraction of points with y F ≤ 0.
* :func:`relative_weight_change` — ‖w − w₀‖ / ‖w₀‖ over all parameters.
* :func:`relative_distance` — ‖Θ − Θ₀‖_F / ‖Θ₀‖_F (the relative NTK change on a kernel set).
* :func:`compression` — Λ = √(⟨w_∥²⟩ / ⟨w_⊥²⟩), per-component averages over the neurons of
  the first layer, so that Λ ≈ 1 at initialisation (the normalisation of the paper's
  animations; the authors' code divides by the *sum* over the d − 1 perpendicular
  components instead, giving Λ(0) ≈ 1/√(d − 1)).
* :func:`kink_points` — where each ReLU neuron's hyperplane is closest to the origin.
* :func:`half_loss_time` — t½, the first time the loss is half its initial value.
* :func:`label_projections` — NTK eigenvectors (largest eigenvalue first) and the
  projections of the labels on them.
* :func:`neuron_invariant` — ‖w_n‖² + b_n² − β_n², conserved by gradient flow for ReLU.
"""

from __future__ import annotations

import torch

from deeptheory._validation import check_int, check_same_kind, check_tensor

Tensor = torch.Tensor
Params = dict[str, Tensor]

__all__ = [
    "classification_error",
    "compression",
    "half_loss_time",
    "kink_points",
    "label_projections",
    "neuron_invariant",
    "relative_distance",
    "relative_weight_change",
]


def classification_error(F: Tensor, y: Tensor) -> Tensor:
    """Fraction of points with y F ≤ 0 (a zero output counts as an error): F (…, p), y (p,)."""
    check_tensor("F", F, finite=False)
    check_tensor("y", y, ndim=1)
    if F.ndim == 0 or F.shape[-1] != y.shape[0]:
        raise ValueError(f"F must end with {y.shape[0]} points; got {tuple(F.shape)}")
    return (y * F <= 0).to(F.dtype).mean(dim=-1)


def relative_weight_change(
    params: Params, params0: Params, *, ensemble: bool = False
) -> Tensor:
    """‖w − w₀‖ / ‖w₀‖, the norms over every parameter together.

    Args:
      params, params0: the same keys and shapes.
      ensemble: the tensors carry a leading member axis E; one value per member.
    """
    if set(params) != set(params0):
        raise ValueError(
            f"params and params0 must have the same keys; got {sorted(params)} and "
            f"{sorted(params0)}"
        )
    lead = 1 if ensemble else 0
    diff: Tensor | float = 0.0
    norm: Tensor | float = 0.0
    for k in params:
        if params[k].shape != params0[k].shape:
            raise ValueError(f"params[{k!r}] and params0[{k!r}] differ in shape")
        dims = tuple(range(lead, params[k].ndim))
        diff = diff + ((params[k] - params0[k]) ** 2).sum(dim=dims)
        norm = norm + (params0[k] ** 2).sum(dim=dims)
    return (diff / norm).sqrt()  # type: ignore[union-attr]


def relative_distance(theta: Tensor, limit: Tensor) -> Tensor:
    """‖Θ − Θ₀‖_F / ‖Θ₀‖_F over the trailing axes of ``limit``.

    Args:
      theta: (..., *limit.shape), e.g. an ensemble of kernels (E, n1, n2).
      limit: the reference kernel Θ₀, e.g. the NTK at initialisation or its h → ∞ limit.

    Returns:
      (...), e.g. (E,): one relative Frobenius distance per leading index.
    """
    check_tensor("theta", theta, finite=False)
    check_tensor("limit", limit, finite=False)
    check_same_kind("theta", theta, "limit", limit)
    if tuple(theta.shape[theta.ndim - limit.ndim :]) != tuple(limit.shape):
        raise ValueError(
            f"theta must end with the shape of limit {tuple(limit.shape)}; "
            f"got shape {tuple(theta.shape)}"
        )
    axes = tuple(range(theta.ndim - limit.ndim, theta.ndim))
    return torch.linalg.vector_norm(theta - limit, dim=axes) / torch.linalg.vector_norm(
        limit
    )


def compression(
    weights: Tensor, *, d_par: int = 1, neuron_weights: Tensor | None = None
) -> Tensor:
    """Λ = √(⟨w_∥²⟩ / ⟨w_⊥²⟩) of first-layer weights (…, h, d).

    ⟨·⟩ averages over the neurons and over the components: the first ``d_par`` for w_∥,
    the other d − d_par for w_⊥. With i.i.d. weights Λ ≈ 1; Λ ≫ 1 when the neurons ignore
    the perpendicular directions. ``neuron_weights`` (…, h), e.g. |β_n|, weights the
    average over neurons.
    """
    check_tensor("weights", weights, ndim=(2, 3))
    d = weights.shape[-1]
    check_int("d_par", d_par, minimum=1)
    if d_par >= d:
        raise ValueError(
            f"d_par must be < d = {d} (some direction must be perpendicular)"
        )
    sq = weights**2
    par, perp = sq[..., :d_par].mean(dim=-1), sq[..., d_par:].mean(dim=-1)  # (…, h)
    if neuron_weights is not None:
        check_tensor("neuron_weights", neuron_weights)
        if neuron_weights.shape != par.shape:
            raise ValueError(
                f"neuron_weights must have shape {tuple(par.shape)}; "
                f"got {tuple(neuron_weights.shape)}"
            )
        par, perp = par * neuron_weights, perp * neuron_weights
    return (par.sum(dim=-1) / perp.sum(dim=-1)).sqrt()


def kink_points(
    weights: Tensor, bias: Tensor, *, input_scale: float, bias_scale: float
):
    """The point of each neuron's hyperplane c w_n·x + σ_b b_n = 0 closest to the origin.

    x*_n = −σ_b b_n w_n / (c ‖w_n‖²); for an FCNet hidden layer c = ``net.scale(0)``
    (1/√d for σ_w = 1) and σ_b = ``net.bias_std``. In the feature regime on the stripe
    model the kinks of the active neurons gather at the interfaces (along x₁).

    Args:
      weights: (…, h, d); bias: (…, h).

    Returns:
      (…, h, d).
    """
    check_tensor("weights", weights, ndim=(2, 3))
    check_tensor("bias", bias, ndim=(1, 2))
    if bias.shape != weights.shape[:-1]:
        raise ValueError(
            f"bias must have shape {tuple(weights.shape[:-1])}; got {tuple(bias.shape)}"
        )
    norm2 = (weights**2).sum(dim=-1, keepdim=True)
    return -bias_scale * bias[..., None] * weights / (input_scale * norm2)


def half_loss_time(t: Tensor, loss: Tensor) -> Tensor:
    """t½: the first time the loss reaches half its initial value (Geiger et al. R4).

    Linear interpolation between the two snapshots that bracket L(0)/2; nan when the loss
    never gets there.

    Args:
      t: (n,) increasing snapshot times, or (n, E); loss: the same shape.
    """
    check_tensor("t", t, ndim=(1, 2))
    check_tensor("loss", loss, ndim=(1, 2), finite=False)
    if t.shape != loss.shape:
        raise ValueError(
            f"t and loss must have the same shape; got {t.shape}, {loss.shape}"
        )
    single = t.ndim == 1
    t2, l2 = (t[:, None], loss[:, None]) if single else (t, loss)
    target = l2[0] / 2
    below = l2 <= target  # (n, E)
    out = torch.full(t2.shape[1:], float("nan"), dtype=t.dtype, device=t.device)
    for e in range(t2.shape[1]):
        hits = below[:, e].nonzero().flatten()
        if len(hits) == 0:
            continue
        k = int(hits[0])
        if k == 0:
            out[e] = t2[0, e]
            continue
        l0, l1 = l2[k - 1, e], l2[k, e]
        s = (l0 - target[e]) / (l0 - l1)
        out[e] = t2[k - 1, e] + s * (t2[k, e] - t2[k - 1, e])
    return out[0] if single else out


def label_projections(kernel: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Eigen-decomposition of a Gram matrix and the labels' projections on it.

    Returns ``(eigenvalues, eigenvectors, projections)``, largest eigenvalue first:
    (n,), (n, n) with eigenvectors as columns, and (v_k · y)/‖y‖ (n,), whose squares sum
    to 1. ``projections.square().cumsum(0)`` is the fraction of the labels carried by
    the top k eigenvectors (larger for the NTK after feature learning; Paccolat et al.).
    """
    check_tensor("kernel", kernel, ndim=2)
    check_tensor("y", y, ndim=1)
    check_same_kind("y", y, "kernel", kernel)
    if kernel.shape != (len(y), len(y)):
        raise ValueError(
            f"kernel must be ({len(y)}, {len(y)}) for {len(y)} labels; "
            f"got {tuple(kernel.shape)}"
        )
    values, vectors = torch.linalg.eigh((kernel + kernel.T) / 2)
    values, vectors = values.flip(0), vectors.flip(1)
    return values, vectors, vectors.T @ y / y.norm()


def neuron_invariant(params: Params) -> Tensor:
    """‖w_n‖² + b_n² − β_n² for each hidden neuron of a one-hidden-layer FCNet, (…, h).

    Gradient flow conserves it for ReLU: (w_n, b_n, β_n) → (c w_n, c b_n, β_n/c) leaves f
    unchanged (shared/science.md §2.5 P4). Without hidden biases b_n = 0.
    """
    for key in ("w0", "w1"):
        if key not in params:
            raise ValueError(f"params must hold {key!r} (a one-hidden-layer FCNet)")
    if "w2" in params:
        raise ValueError(
            "params must be those of a one-hidden-layer FCNet (found 'w2')"
        )
    w, beta = params["w0"], params["w1"]
    if beta.shape[-2] != 1:
        raise ValueError("the network must have a scalar output (w1 of shape (1, h))")
    value = (w**2).sum(dim=-1) - beta[..., 0, :] ** 2
    if "b0" in params:
        value = value + params["b0"] ** 2
    return value
