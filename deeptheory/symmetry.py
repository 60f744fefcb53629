"""Permutation symmetry and neuron splitting in two-layer networks.

Şimşek, Ged, Jacot, Spadaro, Hongler, Gerstner & Brea (2021, arXiv 2105.12221);
shared/science.md §5.3. The network (no biases, unscaled, so that the width can change
without changing f):

    f(x) = Σ_{i=1}^m a_i φ(w_i · x),      params = {"w": (m, d), "a": (m,)}

with any activation φ of :data:`deeptheory.activations.ACTIVATIONS` (``"linear"`` gives a
two-layer linear net with one output), and the loss L = (1/2n) Σ_μ (f(x_μ) − y_μ)².

Symmetries [DER]:

* permuting the hidden units leaves f, L and the set of critical points unchanged
  (:func:`permute_units`; the gradient is permuted the same way);
* splitting unit i into (w_i, λ a_i) and (w_i, (1 − λ) a_i) leaves f unchanged for every
  λ (:func:`split_neuron`), and maps a critical point of the width-m net to a line of
  critical points of the width-(m + 1) net: ∂L/∂a of both copies is the old ∂L/∂a_i, and
  ∂L/∂w of the copies is λ and (1 − λ) times the old ∂L/∂w_i.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from deeptheory._validation import check_float, check_int, check_same_kind, check_tensor
from deeptheory.activations import get_activation

Tensor = torch.Tensor
Params = dict[str, Tensor]

__all__ = [
    "permute_units",
    "split_neuron",
    "two_layer",
    "two_layer_gradient",
    "two_layer_loss",
]


def _check_params(params: Params) -> tuple[Tensor, Tensor]:
    if not isinstance(params, dict) or set(params) != {"w", "a"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(
            f'params must be a dict with keys "w" (m, d) and "a" (m,); got {got}'
        )
    w = check_tensor('params["w"]', params["w"], ndim=2)
    a = check_tensor('params["a"]', params["a"], ndim=1)
    check_same_kind('params["a"]', a, 'params["w"]', w)
    if a.shape[0] != w.shape[0]:
        raise ValueError(
            f'params["a"] must have one entry per unit ({w.shape[0]}); got {a.shape[0]}'
        )
    return w, a


def _check_x(x: Tensor, w: Tensor) -> Tensor:
    check_tensor("x", x, ndim=2, last_dim=w.shape[1])
    check_same_kind("x", x, 'params["w"]', w)
    return x


def two_layer(params: Params, x: Tensor, *, activation: str = "relu") -> Tensor:
    """f(x) = Σ_i a_i φ(w_i · x) for inputs x (n, d); returns (n,)."""
    w, a = _check_params(params)
    x = _check_x(x, w)
    return get_activation(activation).fn(x @ w.T) @ a


def two_layer_loss(
    params: Params, x: Tensor, y: Tensor, *, activation: str = "relu"
) -> Tensor:
    """L = (1/2n) Σ_μ (f(x_μ) − y_μ)², a scalar; x (n, d), y (n,)."""
    f = two_layer(params, x, activation=activation)
    check_tensor("y", y, ndim=1)
    if y.shape != f.shape:
        raise ValueError(f"y must have shape {tuple(f.shape)}; got {tuple(y.shape)}")
    return 0.5 * (f - y).square().mean()


def two_layer_gradient(
    params: Params, x: Tensor, y: Tensor, *, activation: str = "relu"
) -> Params:
    """∂L/∂a_i = (1/n) Σ r φ(w_i·x), ∂L/∂w_i = (1/n) Σ r a_i φ'(w_i·x) x, r = f − y.

    Returns a dict like ``params``.
    """
    w, a = _check_params(params)
    x = _check_x(x, w)
    check_tensor("y", y, ndim=1)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},); got {tuple(y.shape)}")
    act = get_activation(activation)
    z = x @ w.T  # (n, m)
    r = (act.fn(z) @ a - y) / x.shape[0]  # (n,)
    return {"w": (act.derivative(z) * r[:, None] * a).T @ x, "a": act.fn(z).T @ r}


def split_neuron(params: Params, i: int, *, fraction: float = 0.5) -> Params:
    """Width m → m + 1: unit i becomes (w_i, λ a_i), and (w_i, (1 − λ) a_i) is appended.

    f is unchanged for every λ = ``fraction`` (any real number), and a critical point
    stays critical (Şimşek et al. 2021).
    """
    w, a = _check_params(params)
    i = check_int("i", i)
    if i >= w.shape[0]:
        raise ValueError(f"i must be < the width {w.shape[0]}; got {i}")
    lam = check_float("fraction", fraction)
    new_a = torch.cat([a, a[i : i + 1] * (1 - lam)])
    new_a[i] = a[i] * lam
    return {"w": torch.cat([w, w[i : i + 1]]), "a": new_a}


def permute_units(params: Params, perm: Sequence[int] | Tensor) -> Params:
    """Unit k of the result is unit perm[k] of ``params`` (perm a permutation of 0 … m−1)."""
    w, a = _check_params(params)
    perm = torch.as_tensor(perm, device=w.device)
    m = w.shape[0]
    if (
        perm.ndim != 1
        or perm.dtype not in (torch.int32, torch.int64)
        or sorted(perm.tolist()) != list(range(m))
    ):
        raise ValueError(
            f"perm must be a permutation of 0 … {m - 1}; got {perm.tolist()}"
        )
    return {"w": w[perm], "a": a[perm]}
