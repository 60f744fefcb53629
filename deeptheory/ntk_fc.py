"""Exact structured NTK of fully connected networks: a layer-wise Gram factorisation.

For :class:`~deeptheory.models.FCNet` the gradient with respect to weight layer l factorises,
∂f_k/∂W^l = c_l δ^{l+1}_k ⊗ a^l and ∂f_k/∂b^l = σ_b δ^{l+1}_k, where a^l is the layer's input
(a⁰ = x, a^l = φ(z^l)) and δ^{l+1}_k = ∂f_k/∂z^{l+1} is the back-propagated signal. Hence
(Jacot et al. 2018, arXiv 1806.07572; Jacot's ``NTK_utils`` computes the same recursion)

    Θ_{kk'}(x, x') = Σ_{l=0}^{L} (δ^{l+1}_k(x) · δ^{l+1}_{k'}(x')) (c_l² a^l(x)·a^l(x') + σ_b²)

with δ^{L+1}_k = e_k. Each layer costs two Gram matrices of the (n, width) features, so the
kernel costs O(n² h L) and never builds the (n, P) Jacobian. For one hidden layer and a scalar
output this is the closed form

    Θ = (D Dᵀ) ∘ (c₀² X Xᵀ + σ_b²) + c₁² A Aᵀ + σ_b²,   A = φ(Z), D = c₁ φ'(Z) diag(v)

in four matrix products. Everything is batched over a leading ensemble axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deeptheory.models import FCNet, Params

Tensor = torch.Tensor


@dataclass(frozen=True)
class FCFeatures:
    """Per-layer features of a block of inputs.

    Attributes:
      inputs: [a⁰, …, a^L], each (…, n, n_l): the input of weight layer l.
      signals: [δ¹, …, δ^L], each (…, n, k, h): ∂f/∂z^{l+1} for the hidden layers
        (the output layer's δ is the identity and is not stored).
    """

    inputs: list[Tensor]
    signals: list[Tensor]


def fc_features(net: FCNet, params: Params, x: Tensor) -> FCFeatures:
    """Forward and backward pass of ``net`` on ``x`` (n, d), keeping what the NTK needs.

    Memory-bound work is kept to a minimum (it is what separates this path from the
    matmul rate): φ is computed once, φ' is written over z where the activation allows,
    and the output layer's forward pass is skipped (the NTK does not need f).
    """
    act = net.act
    lead = params["w0"].shape[:-2]  # (E,) for an ensemble, () otherwise
    inputs = [x.expand(*lead, *x.shape[-2:])]
    dphis: list[Tensor] = []
    a = x
    for layer in range(net.hidden_layers):
        z = net.affine(layer, params, a)
        a = act.fn(z)
        inputs.append(a)
        dphis.append(act.derivative_overwriting(z).unsqueeze(-2))  # (…, n, 1, h)
    # δ^L_k = c_L W^L_k ∘ φ'(z^L); then δ^l = (δ^{l+1} c_l W^l) ∘ φ'(z^l).
    signals: list[Tensor] = []
    delta = None
    for layer in range(net.hidden_layers, 0, -1):
        w = params[f"w{layer}"]  # (…, n_{l+1}, h)
        dphi = dphis[layer - 1]
        if delta is None:
            scaled = (net.scale(layer) * w).unsqueeze(-3)  # (…, 1, k, h)
            # a scalar output fits in φ's buffer; k outputs need a new (…, n, k, h)
            delta = dphi.mul_(scaled) if net.outputs == 1 else dphi * scaled
        else:
            # one (n·k, n_{l+1}) @ (n_{l+1}, h) GEMM, not n batched matrix-vector products
            *batch, n, k, width = delta.shape
            flat = torch.matmul(delta.reshape(*batch, n * k, width), w)
            delta = flat.reshape(*batch, n, k, w.shape[-1]).mul_(dphi)
            delta.mul_(net.scale(layer))
        signals.append(delta)
    signals.reverse()
    return FCFeatures(inputs=inputs, signals=signals)


def fc_gram(net: FCNet, f1: FCFeatures, f2: FCFeatures, *, per_output: bool) -> Tensor:
    """The NTK between two blocks from their features.

    Returns:
      (…, n1, n2) — the trace over outputs Σ_k Θ_kk — or (…, n1, n2, k, k) if
      ``per_output``.
    """
    bias2 = net.bias_std**2
    k = net.outputs
    last = net.hidden_layers

    def input_gram(layer: int) -> Tensor:  # c_l² a·a' + σ_b², built in place
        gram = torch.matmul(f1.inputs[layer], f2.inputs[layer].transpose(-1, -2))
        gram.mul_(net.scale(layer) ** 2)
        return gram.add_(bias2) if net.layer_has_bias(layer) else gram

    # Output layer: δ^{L+1}_k · δ^{L+1}_{k'} = 1{k = k'}.
    theta = input_gram(last)
    if per_output:
        eye = torch.eye(k, dtype=theta.dtype, device=theta.device)
        theta = theta[..., None, None] * eye
    elif k != 1:
        theta.mul_(k)
    for layer in range(last):
        d1, d2 = f1.signals[layer], f2.signals[layer]  # (…, n, k, h)
        if per_output:
            signal = torch.einsum("...akh,...blh->...abkl", d1, d2)
            theta.add_(signal.mul_(input_gram(layer)[..., None, None]))
        else:
            d1 = d1.reshape(*d1.shape[:-2], -1)
            d2 = d2.reshape(*d2.shape[:-2], -1)
            signal = torch.matmul(d1, d2.transpose(-1, -2))
            theta.add_(signal.mul_(input_gram(layer)))
    return theta


def fc_feature_bytes(net: FCNet, n: int, ensemble: int | None, itemsize: int) -> int:
    """Memory taken by the features of n inputs (used to choose the block size)."""
    per_sample = net.input_dim + net.hidden_layers * net.width * (1 + net.outputs)
    # the forward pass also holds the pre-activations
    per_sample += net.hidden_layers * net.width
    return n * (ensemble or 1) * per_sample * itemsize
