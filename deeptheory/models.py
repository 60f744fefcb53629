"""Fully connected networks in functional form, and ``functionalize`` for any torch model.

A model here is a pure function ``model(params, x) -> f`` with ``params: dict[str, Tensor]``,
as in ``torch.func``. :class:`FCNet` is such a function *and* the frozen description of the
architecture, so the NTK code can take an exact structured path for it.

Parametrisation (Jacot et al. 2018, arXiv 1806.07572, §2; shared/science.md §1.1, §2.1).
With inputs x ∈ R^d, L hidden layers of width h, weight scale σ_w (``weight_std``) and bias
scale σ_b (``bias_std``), every W, b ~ N(0, 1) at initialisation:

    z¹      = σ_w/√d · W⁰ x + σ_b b⁰
    z^{l+1} = σ_w/√h · W^l φ(z^l) + σ_b b^l                      l = 1 … L−1
    f(x)    = σ_w/√h · W^L φ(z^L) + σ_b b^L      ("ntk")
    f(x)    = σ_w/h  · W^L φ(z^L) + σ_b b^L      ("mean_field": last layer 1/h)

This is neural-tangents' ``stax.Dense(W_std=σ_w, b_std=σ_b, parameterization="ntk")`` and
the convention of :func:`deeptheory.kernels.fc_kernels`. With ``bias_std == 0`` the network
has no bias parameters at all (they would not change f or the NTK).

Ensembles: ``FCNet.init(..., ensemble=E)`` returns parameters with a leading axis of size E
(E independent networks). ``model(params, x)`` then returns ``(E, n)`` (or ``(E, n, k)``);
``x`` is either shared, ``(n, d)``, or per member, ``(E, n, d)``. Every operation is a
batched matmul, so an ensemble trains and evaluates as one computation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from deeptheory._validation import check_choice, check_float, check_int, check_tensor
from deeptheory.activations import ACTIVATIONS, Activation, get_activation

Tensor = torch.Tensor
Params = dict[str, Tensor]
Model = Callable[[Params, Tensor], Tensor]

PARAMETRIZATIONS = ("ntk", "mean_field")


@dataclass(frozen=True, kw_only=True)
class FCNet:
    """A fully connected network ``f = FCNet(...)``, applied as ``f(params, x)``.

    Attributes:
      input_dim: d, the input dimension.
      width: h, the width of every hidden layer.
      hidden_layers: L ≥ 0, the number of hidden layers (L + 1 weight layers).
      out_dim: k outputs; None means a scalar output of shape (n,).
      activation: a name from :data:`deeptheory.activations.ACTIVATIONS`.
      weight_std: σ_w, multiplies every weight layer.
      bias_std: σ_b, multiplies every bias; 0 means no biases.
      readout_bias: False drops the output layer's bias b^L (the one-hidden-layer model of
        Paccolat et al. 2021: biases inside the activations only). With a mean-field
        readout an O(1) output bias would dominate the O(1/h) NTK of the weights.
      parametrization: ``"ntk"`` (every layer 1/√fan_in) or ``"mean_field"`` (last layer
        1/h instead of 1/√h).

    Example:
      >>> net = FCNet(input_dim=3, width=64, hidden_layers=2)
      >>> params = net.init(generator=torch.Generator().manual_seed(0))
      >>> net(params, torch.randn(5, 3, dtype=torch.float64)).shape
      torch.Size([5])
    """

    input_dim: int
    width: int
    hidden_layers: int = 1
    out_dim: int | None = None
    activation: str = "relu"
    weight_std: float = 1.0
    bias_std: float = 0.0
    parametrization: Literal["ntk", "mean_field"] = "ntk"
    readout_bias: bool = True

    def __post_init__(self) -> None:
        check_int("input_dim", self.input_dim, minimum=1)
        check_int("width", self.width, minimum=1)
        check_int("hidden_layers", self.hidden_layers, minimum=0)
        if self.out_dim is not None:
            check_int("out_dim", self.out_dim, minimum=1)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_float("weight_std", self.weight_std, minimum=0.0)
        check_float("bias_std", self.bias_std, minimum=0.0)
        check_choice("parametrization", self.parametrization, PARAMETRIZATIONS)

    # -- architecture -------------------------------------------------------------------
    @property
    def act(self) -> Activation:
        """The :class:`~deeptheory.activations.Activation` of the hidden layers."""
        return get_activation(self.activation)

    @property
    def has_bias(self) -> bool:
        return self.bias_std != 0.0

    def layer_has_bias(self, layer: int) -> bool:
        """Whether layer ``layer`` (0 … L) has a bias b^layer."""
        return self.has_bias and (layer < self.hidden_layers or self.readout_bias)

    @property
    def outputs(self) -> int:
        """k, the number of outputs (1 for a scalar network)."""
        return 1 if self.out_dim is None else self.out_dim

    def fan_in(self, layer: int) -> int:
        """n_l, the input size of weight layer ``layer`` (0 … L)."""
        return self.input_dim if layer == 0 else self.width

    def fan_out(self, layer: int) -> int:
        return self.outputs if layer == self.hidden_layers else self.width

    def scale(self, layer: int) -> float:
        """c_l, the factor in front of W^l: σ_w/√n_l, or σ_w/h for a mean-field last layer."""
        n = self.fan_in(layer)
        if layer == self.hidden_layers and self.parametrization == "mean_field":
            return self.weight_std / n
        return self.weight_std / math.sqrt(n)

    def num_params(self) -> int:
        """Number of scalar parameters of one network."""
        total = 0
        for layer in range(self.hidden_layers + 1):
            total += self.fan_out(layer) * (
                self.fan_in(layer) + self.layer_has_bias(layer)
            )
        return total

    # -- parameters ---------------------------------------------------------------------
    def init(
        self,
        *,
        generator: torch.Generator,
        ensemble: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> Params:
        """Draw every weight and bias i.i.d. N(0, 1).

        Args:
          generator: the source of randomness (its device must match ``device``).
          ensemble: E independent networks stacked on a leading axis; None for one.
          dtype, device: of the returned parameters.

        Returns:
          ``{"w0": (h, d), "b0": (h,), …, "wL": (k, h), "bL": (k,)}``, each with a
          leading ``(E,)`` axis when ``ensemble`` is given; biases only if ``bias_std > 0``.
        """
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator; got {type(generator).__name__}"
            )
        lead = () if ensemble is None else (check_int("ensemble", ensemble, minimum=1),)
        params: Params = {}
        for layer in range(self.hidden_layers + 1):
            shape = (*lead, self.fan_out(layer), self.fan_in(layer))
            params[f"w{layer}"] = torch.randn(
                shape, generator=generator, dtype=dtype, device=device
            )
            if self.layer_has_bias(layer):
                params[f"b{layer}"] = torch.randn(
                    shape[:-1], generator=generator, dtype=dtype, device=device
                )
        return params

    def ensemble_size(self, params: Params) -> int | None:
        """E if ``params`` hold an ensemble, None for a single network."""
        self.check_params(params)
        w0 = params["w0"]
        return None if w0.ndim == 2 else int(w0.shape[0])

    def check_params(self, params: Params) -> None:
        """Raise a clear error if ``params`` do not fit this architecture."""
        if not isinstance(params, dict):
            raise TypeError(
                f"params must be a dict of tensors; got {type(params).__name__}"
            )
        expected = {f"w{i}" for i in range(self.hidden_layers + 1)}
        expected |= {
            f"b{i}" for i in range(self.hidden_layers + 1) if self.layer_has_bias(i)
        }
        if set(params) != expected:
            raise ValueError(
                f"params must have keys {sorted(expected)} for {self}; got {sorted(params)}"
            )
        lead = params["w0"].shape[:-2]
        if len(lead) > 1:
            raise ValueError(f"params['w0'] must have 2 or 3 dimensions; got {lead}")
        for layer in range(self.hidden_layers + 1):
            shape = (*lead, self.fan_out(layer), self.fan_in(layer))
            if tuple(params[f"w{layer}"].shape) != shape:
                raise ValueError(
                    f"params['w{layer}'] must have shape {shape}; "
                    f"got {tuple(params[f'w{layer}'].shape)}"
                )
            bias = params.get(f"b{layer}")
            if bias is not None and tuple(bias.shape) != shape[:-1]:
                raise ValueError(
                    f"params['b{layer}'] must have shape {shape[:-1]}; "
                    f"got {tuple(params[f'b{layer}'].shape)}"
                )

    @staticmethod
    def member(params: Params, index: int) -> Params:
        """The parameters of ensemble member ``index``."""
        return {name: value[index] for name, value in params.items()}

    # -- forward ------------------------------------------------------------------------
    def __call__(self, params: Params, x: Tensor) -> Tensor:
        """f(x): (n, d) → (n,) or (n, k); with an ensemble (E, n) or (E, n, k).

        Computed in the dtype and on the device of ``x``; params must match them.
        """
        self._check_input(params, x)
        act = self.act
        a = x
        for layer in range(self.hidden_layers):
            a = act.fn(self.affine(layer, params, a))
        f = self.affine(self.hidden_layers, params, a)
        return f.squeeze(-1) if self.out_dim is None else f

    def affine(self, layer: int, params: Params, a: Tensor) -> Tensor:
        """z^{l+1} = c_l a W^lᵀ + σ_b b^l for the layer input a (…, n, n_l).

        The one place where the parametrisation is applied (the NTK path uses it too).
        The scale and bias are applied in place to the fresh product: no extra (n, width)
        temporaries, and autograd is unaffected (matmul's backward needs only its inputs).
        """
        z = torch.matmul(a, params[f"w{layer}"].transpose(-1, -2)).mul_(
            self.scale(layer)
        )
        if self.layer_has_bias(layer):
            z = z.add_(params[f"b{layer}"].unsqueeze(-2), alpha=self.bias_std)
        return z

    def _check_input(self, params: Params, x: Tensor) -> None:
        self.check_params(params)
        w0 = params["w0"]
        check_tensor("x", x, ndim=(1, 2, 3), last_dim=self.input_dim, finite=False)
        if x.dtype != w0.dtype:
            raise TypeError(
                f"x has dtype {x.dtype} but params have dtype {w0.dtype}; "
                "convert one of them (e.g. x.to(params['w0'].dtype))"
            )
        if x.device != w0.device:
            raise ValueError(f"x is on {x.device} but params are on {w0.device}")
        if x.ndim == 3 and (w0.ndim != 3 or x.shape[0] != w0.shape[0]):
            raise ValueError(
                f"x of shape {tuple(x.shape)} is per ensemble member, but params hold "
                f"{'no ensemble' if w0.ndim == 2 else f'an ensemble of {w0.shape[0]}'}"
            )


def functionalize(module: nn.Module) -> tuple[Model, Params]:
    """Turn an ``nn.Module`` into a pure ``model(params, x)`` and its current parameters.

    The parameters are detached copies, so changing them never changes ``module``.
    Buffers (e.g. batch-norm statistics) are kept fixed inside the model.

    Example:
      >>> model, params = functionalize(nn.Linear(3, 1).double())
      >>> model(params, torch.zeros(2, 3, dtype=torch.float64)).shape
      torch.Size([2, 1])
    """
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"module must be a torch.nn.Module; got {type(module).__name__}"
        )
    params = {name: p.detach().clone() for name, p in module.named_parameters()}
    buffers = {name: b.detach() for name, b in module.named_buffers()}

    def model(params: Params, x: Tensor) -> Tensor:
        return torch.func.functional_call(module, (params, buffers), (x,))

    return model, params
