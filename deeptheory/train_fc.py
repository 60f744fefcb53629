"""The α-scaled loss of an :class:`~deeptheory.models.FCNet` and its exact gradient, by hand.

:func:`deeptheory.train.train` calls :class:`FCLossGradient` instead of autograd when the
model is an ``FCNet`` with at least one hidden layer and a scalar output: the same F, loss
and gradient (to rounding), computed with fewer and better-shaped operations. With
a^0 = x, z^{l+1} = c_l a^l W^lᵀ + σ_b b^l, a^l = φ(z^l) and f = c_L a^L w^Lᵀ + σ_b b^L
(:mod:`deeptheory.models`), the loss L_e = 1/(α_e p) Σ_μ l(y_μ F_eμ) of member e has

    r_eμ = ∂L_e/∂f_eμ = y_μ l'(y_μ F_eμ) / p          (α cancels; a mini-batch: /B on it, 0 off)
    δ^L  = φ'(z^L) ∘ r ⊗ c_L w^L,      δ^l = (δ^{l+1} c_l W^l) ∘ φ'(z^l)
    ∂L/∂W^l = c_l δ^{l+1 ᵀ} a^l,        ∂L/∂b^l = σ_b Σ_μ δ^{l+1}_μ      (δ^{L+1} = r)

Three choices make it fast (Issue 4):

* **The first layer is one matrix product for the whole ensemble.** Every member reads the
  same x, so the pre-activations of all E·h hidden units are [c₀ x, σ_b] (p, d+1) @
  [W⁰, b⁰]ᵀ (d+1, E·h), the bias folded in as a column; its gradient is the product of the
  same (p, d+1) matrix with the (p, E·h) signal. Deeper layers are batched per member.
* **The readout weights are pulled out of the first backward product.** δ^L = u ∘ c_L w^L
  with u = φ'(z^L) ∘ r, so the product runs on u and the factor c_L w^L scales its small
  (E·h, ·) result (or the next layer's weights) instead of every (p, E·h) entry.
* **Tiles that fit the cache.** The p points are independent until the gradient sums over
  them, so forward, r and backward run tile by tile (a block of rows × a group of members),
  each tile's activations never leaving the CPU cache; the gradients accumulate across
  tiles. The tile arrays live in a work space allocated once and written with ``out=``
  and in-place operations (a fresh tile-sized array per operation costs page faults), so
  nothing of size (p, E·h) is ever allocated. ``tile_bytes`` sets the size of one
  (rows, group·h) tile (default :data:`CPU_TILE_BYTES` on a CPU, where one core's cache is
  a few MiB; on other devices one tile holds everything, as their caches are not what
  limits them). The arithmetic is the same for any tiling.

The same code runs on every device (it follows ``x``). ``φ'`` is the activation's
``derivative``: for ``softplus`` this is the exact σ(5z), while torch's softplus switches to
the identity above 5z = 20, so autograd's gradient differs there by up to e^{-20} ≈ 2e-9
(relative, on those entries); every other activation agrees with autograd to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from deeptheory.activations import SOFTPLUS_BETA, SOFTPLUS_SCALE, Activation
from deeptheory.losses import margin_loss, margin_loss_derivative
from deeptheory.models import FCNet

Tensor = torch.Tensor

__all__ = [
    "CPU_TILE_BYTES",
    "FCLossGradient",
    "activate_into",
    "derivative_over",
    "supports",
]

#: Size of one (rows, members·h) activation tile on a CPU: the tile's two arrays (z, φ(z))
#: stay inside a core's L2 cache (2 MiB where benchmarks/train.py was measured: of 0.25,
#: 0.5, 1 and 2 MiB tiles, 1 MiB was the fastest or within 5 %; untiled, 5 times slower).
CPU_TILE_BYTES = 2**20
#: Rows per tile, at least: a tile of several members reads their activations through
#: strided views, on which the readout's matrix-vector products ran 3 times slower than on
#: one member's (measured on a CPU), so a wide layer gets one member per tile, many rows.
MIN_ROWS = 80


def _sqrt2_relu(z: Tensor, out: Tensor) -> Tensor:
    return torch.clamp_min(z, 0.0, out=out).mul_(math.sqrt(2.0))


def _softplus(z: Tensor, out: Tensor) -> Tensor:
    return torch.ops.aten.softplus.out(z, SOFTPLUS_BETA, 20.0, out=out).mul_(
        SOFTPLUS_SCALE
    )


#: φ written into ``out`` and φ' written over z, for the registered activations: the same
#: operations as their ``fn`` and ``derivative`` (tests check they agree bit for bit),
#: without allocating a tile-sized array per call. Others fall back on ``fn``.
_INTO: dict[str, tuple[Callable, Callable]] = {
    "relu": (lambda z, out: torch.clamp_min(z, 0.0, out=out), None),
    "sqrt2_relu": (_sqrt2_relu, None),
    "softplus": (
        _softplus,
        lambda z: z.mul_(SOFTPLUS_BETA).sigmoid_().mul_(SOFTPLUS_SCALE),
    ),
    "tanh": (
        lambda z, out: torch.tanh(z, out=out),
        lambda z: z.tanh_().square_().neg_().add_(1.0),
    ),
    "linear": (lambda z, out: z, lambda z: z.fill_(1.0)),
}


def activate_into(act: Activation, z: Tensor, out: Tensor) -> Tensor:
    """φ(z), written into ``out`` where the activation allows (else a new tensor)."""
    into = _INTO.get(act.name)
    return act.fn(z) if into is None else into[0](z, out)


def derivative_over(act: Activation, z: Tensor) -> Tensor:
    """φ'(z), written over z where the activation allows (do not use z afterwards)."""
    into = _INTO.get(act.name)
    if into is None or into[1] is None:
        return act.derivative_overwriting(z)
    return into[1](z)


def supports(model, x: Tensor) -> bool:
    """Whether :class:`FCLossGradient` computes exactly what autograd would for ``model``."""
    return (
        isinstance(model, FCNet)
        and model.hidden_layers >= 1
        and model.out_dim is None
        and x.ndim == 2
    )


class FCLossGradient:
    """F, loss and flat gradient of an FCNet ensemble for the α-scaled loss.

    Args:
      net: the :class:`FCNet` (see :func:`supports`).
      x, y: training inputs (p, d) and labels ±1 (p,).
      alpha: α per member, (E,).
      layout: ``{name: (offset, shape)}``: where each parameter of one member sits in a row
        of the flat (E, P) weights, and its shape without the ensemble axis.
      initial: the flat weights (E, P) at initialisation; f₀ is computed from them by the
        same arithmetic as every later f, so that F = α (f − f₀) is exactly 0 there.
      loss, beta: the margin loss.
      tile_bytes: bytes of one activation tile; None: :data:`CPU_TILE_BYTES` on a CPU,
        everything in one tile elsewhere.

    Calling it with the flat weights (E, P) and per-point weights ``point_weight`` (p,)
    (1/p for the full batch; 1/B on a mini-batch and 0 elsewhere) returns F (E, p), the
    full-batch loss (E,) and the gradient (E, P) of Σ_μ point_weight_μ l(y_μ F_μ)/α.
    """

    def __init__(
        self,
        net: FCNet,
        x: Tensor,
        y: Tensor,
        alpha: Tensor,
        layout: dict[str, tuple[int, tuple[int, ...]]],
        initial: Tensor,
        *,
        loss: str,
        beta: float,
        tile_bytes: int | None = None,
    ) -> None:
        if not supports(net, x):
            raise ValueError(f"no exact fast path for {net!r} on x of shape {x.shape}")
        self.net, self.y, self.alpha, self.layout = net, y, alpha, layout
        self.loss, self.beta = loss, beta
        self.members, p, h = len(initial), len(x), net.width
        self.bias = [
            net.layer_has_bias(layer) for layer in range(net.hidden_layers + 1)
        ]
        columns = [net.scale(0) * x]
        if self.bias[0]:
            columns.append(x.new_full((p, 1), net.bias_std))
        xa = torch.cat(columns, dim=1)  # [c₀ x, σ_b]: (p, d + 1)
        if tile_bytes is None:
            tile_bytes = CPU_TILE_BYTES if x.device.type == "cpu" else None
        if tile_bytes is None:
            group, rows = self.members, p
        else:
            elements = max(1, tile_bytes // x.element_size())
            group = min(self.members, max(1, elements // (h * MIN_ROWS)))
            rows = min(p, max(MIN_ROWS, elements // (group * h)))
        # every tile-sized array lives in one of these, reused by every tile
        self.work = x.new_empty(2 * net.hidden_layers + 2, rows * group * h)
        blocks = [slice(r, min(r + rows, p)) for r in range(0, p, rows)]
        self.blocks = [(r, xa[r], xa[r].t().contiguous(), y[r]) for r in blocks]
        self.groups = [  # (members, their hidden units)
            (
                slice(g, min(g + group, self.members)),
                slice(g * h, min(g + group, self.members) * h),
            )
            for g in range(0, self.members, group)
        ]
        self.f0 = self.outputs(initial)
        # f₀ of every tile, (G, B) views
        self.f0_tiles = [[self.f0[g, r] for r in blocks] for g, _ in self.groups]

    def _param(self, flat: Tensor, name: str) -> Tensor:
        offset, shape = self.layout[name]
        return flat[:, offset : offset + math.prod(shape)].view(-1, *shape)

    def _weights(self, flat: Tensor, g: slice, units: slice) -> dict:
        """The weights of members ``g`` in the shapes the products need."""
        net, L, sb = self.net, self.net.hidden_layers, self.net.bias_std
        w0 = self._param(flat, "w0")[g]
        if self.bias[0]:
            w0 = torch.cat((w0, self._param(flat, "b0")[g, :, None]), -1)
        top = self._param(flat, f"w{L}")[g, 0] * net.scale(L)  # c_L w^L, (G, h)
        return {
            "first": w0.reshape(units.stop - units.start, -1).t(),  # (d + 1, G·h)
            "mats": [  # c_l W^lᵀ, (G, h, h)
                self._param(flat, f"w{layer}")[g].transpose(1, 2) * net.scale(layer)
                for layer in range(1, L)
            ],
            "shifts": [  # σ_b b^l, (G, 1, h)
                sb * self._param(flat, f"b{layer}")[g, None]
                if self.bias[layer]
                else None
                for layer in range(1, L)
            ],
            "top": top,
            "readout": top[..., None],  # (G, h, 1)
            "readout_shift": (  # σ_b b^L, (G, 1, 1)
                sb * self._param(flat, f"b{L}")[g, None] if self.bias[L] else None
            ),
        }

    def _forward(self, weights: dict, xa: Tensor):
        """One tile: pre-activations z^l and activations a^l, (G, B, h) each (z¹ and a¹
        are views of (B, G·h) arrays in the work space), and f, (G, B)."""
        act, h, work = self.net.act, self.net.width, self.work
        B, units = len(xa), weights["first"].shape[1]
        size = B * units
        z = torch.mm(xa, weights["first"], out=work[0, :size].view(B, units))
        a = activate_into(act, z, work[1, :size].view(B, units))
        pre = [z.view(B, -1, h).transpose(0, 1)]
        inputs = [a.view(B, -1, h).transpose(0, 1)]
        G = units // h
        for layer, (mat, shift) in enumerate(
            zip(weights["mats"], weights["shifts"], strict=True), start=1
        ):
            out = work[2 * layer, :size].view(G, B, h)
            if shift is None:
                z = torch.bmm(inputs[-1], mat, out=out)
            else:
                z = torch.baddbmm(shift, inputs[-1], mat, out=out)
            pre.append(z)
            inputs.append(
                activate_into(act, z, work[2 * layer + 1, :size].view(G, B, h))
            )
        a = inputs[-1]
        shift, readout = weights["readout_shift"], weights["readout"]
        f = torch.bmm(a, readout) if shift is None else torch.baddbmm(shift, a, readout)
        return pre, inputs, f[..., 0]

    def outputs(self, flat: Tensor) -> Tensor:
        """f (E, p) for the flat weights (E, P)."""
        f = flat.new_empty(self.members, len(self.y))
        for g, units in self.groups:
            weights = self._weights(flat, g, units)
            for rows, xa, *_ in self.blocks:
                f[g, rows] = self._forward(weights, xa)[2]
        return f

    def __call__(
        self, flat: Tensor, point_weight: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        net, act, L = self.net, self.net.act, self.net.hidden_layers
        h, sb = net.width, net.bias_std
        signal_weight = self.y * point_weight  # y_μ × (1/p, or 1/B on the mini-batch)
        F = torch.empty_like(self.f0)
        r = torch.empty_like(self.f0) if self.bias[L] else None
        grad = torch.empty_like(flat)
        d = net.input_dim
        for (g, units), f0_tiles in zip(self.groups, self.f0_tiles, strict=True):
            weights = self._weights(flat, g, units)
            top, mats = weights["top"], weights["mats"]
            # back through layer l: δ^{l+1} c_l W^l, with δ^L's factor c_L w^L folded in
            down = [m.transpose(1, 2) for m in mats]
            if L > 1:
                down[-1] = (mats[-1] * top[:, None]).transpose(1, 2)
            grad_first = flat.new_zeros(weights["first"].shape)  # (d + 1, G·h)
            grad_mats = [m.new_zeros(m.shape) for m in mats]  # Σ a^lᵀ δ^{l+1}
            grad_shifts = [
                top.new_zeros(top.shape) if b else None for b in self.bias[1:L]
            ]
            grad_top = top.new_zeros(len(top), 1, h)
            alpha = self.alpha[g, None]
            for (rows, xa, xa_t, y), f0 in zip(self.blocks, f0_tiles, strict=True):
                pre, inputs, f = self._forward(weights, xa)
                Ft = f.sub_(f0).mul_(alpha)  # α (f − f₀), (G, B)
                F[g, rows] = Ft
                rt = margin_loss_derivative(
                    y * Ft, loss=self.loss, beta=self.beta
                ).mul_(signal_weight[rows])  # ∂L/∂f, (G, B)
                if r is not None:
                    r[g, rows] = rt
                grad_top.baddbmm_(rt[:, None], inputs[-1])
                # u = φ'(z^L) ∘ r: δ^L without its factor c_L w^L
                delta = derivative_over(act, pre[-1]).mul_(rt[..., None])
                for layer in range(L - 1, 0, -1):
                    grad_mats[layer - 1].baddbmm_(
                        inputs[layer - 1].transpose(1, 2), delta
                    )
                    if grad_shifts[layer - 1] is not None:
                        grad_shifts[layer - 1] += delta.sum(dim=1)
                    # δ^l = φ'(z^l) ∘ (δ^{l+1} c_l W^l), in z^l's place; the product
                    # goes to a^{l+1}'s place, free once ∂L/∂W^l is accumulated
                    back = self.work[2 * layer + 1, : delta.numel()].view(delta.shape)
                    back = torch.bmm(delta, down[layer - 1], out=back)
                    delta = derivative_over(act, pre[layer - 1]).mul_(back)
                # δ¹ in the (B, G·h) layout of the first product (a view for one layer)
                grad_first.addmm_(xa_t, delta.transpose(0, 1).reshape(len(xa), -1))
            # -- this group's part of the flat gradient -------------------------------
            gf = grad_first.t().view(len(top), h, -1)  # (G, h, d + 1)
            if L == 1:  # δ¹ = u ∘ c₁ w¹
                gf = gf * top[..., None]
            self._param(grad, "w0")[g] = gf[..., :d]
            if self.bias[0]:
                self._param(grad, "b0")[g] = gf[..., d]
            for layer in range(1, L):
                gm = grad_mats[layer - 1].transpose(1, 2) * net.scale(layer)
                gs = grad_shifts[layer - 1]
                if layer == L - 1:  # δ^L = u ∘ c_L w^L
                    gm = gm * top[..., None]
                    gs = gs * top if gs is not None else None
                self._param(grad, f"w{layer}")[g] = gm
                if gs is not None:
                    self._param(grad, f"b{layer}")[g] = gs * sb
            self._param(grad, f"w{L}")[g] = grad_top * net.scale(L)
        if r is not None:
            self._param(grad, f"b{L}").copy_(sb * r.sum(dim=1, keepdim=True))
        loss = margin_loss(self.y * F, loss=self.loss, beta=self.beta)
        return F, loss.mean(dim=-1) / self.alpha, grad
