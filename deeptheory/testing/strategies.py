"""Hypothesis strategies for deeptheory's tests and the homework's hidden tests.

Strategies draw *shapes, dtypes and seeds*; tensors are then built from a
``torch.Generator`` seeded by the drawn seed, so a failing example is reproducible and
small (hypothesis shrinks sizes and seeds, not float bit patterns).

Profiles (:func:`register_profiles`): ``"ci"`` — derandomised, so every run and every
student gets the same cases, 25 examples, no deadline; ``"dev"`` — 100 random examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from deeptheory.activations import ACTIVATIONS
from deeptheory.models import FCNet, Params

Tensor = torch.Tensor

__all__ = [
    "FCCase",
    "dtypes",
    "fc_cases",
    "fc_nets",
    "random_inputs",
    "register_profiles",
    "seeds",
]


def register_profiles() -> None:
    """Register the ``ci`` and ``dev`` profiles (idempotent)."""
    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("ci", derandomize=True, max_examples=25, **common)
    settings.register_profile("dev", max_examples=100, **common)


def dtypes(*, float32: bool = True) -> st.SearchStrategy[torch.dtype]:
    """float64, and float32 unless ``float32=False``."""
    return st.sampled_from(
        [torch.float64, torch.float32] if float32 else [torch.float64]
    )


def seeds() -> st.SearchStrategy[int]:
    """Seeds for ``torch.Generator().manual_seed``."""
    return st.integers(min_value=0, max_value=2**31 - 1)


def random_inputs(
    n: int,
    d: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> Tensor:
    """(n, d) standard Gaussian inputs from ``torch.Generator().manual_seed(seed)``."""
    generator = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(n, d, generator=generator, dtype=dtype, device=device)


def fc_nets(
    *,
    max_input_dim: int = 4,
    max_width: int = 8,
    max_hidden_layers: int = 3,
    min_hidden_layers: int = 0,
    activations: Sequence[str] = tuple(ACTIVATIONS),
    out_dims: Sequence[int | None] = (None, 1, 2, 3),
    bias_stds: Sequence[float] = (0.0, 0.1, 1.0),
    parametrizations: Sequence[str] = ("ntk", "mean_field"),
    readout_biases: Sequence[bool] = (True,),
) -> st.SearchStrategy[FCNet]:
    """Small :class:`~deeptheory.models.FCNet` architectures."""
    return st.builds(
        FCNet,
        input_dim=st.integers(1, max_input_dim),
        width=st.integers(1, max_width),
        hidden_layers=st.integers(min_hidden_layers, max_hidden_layers),
        out_dim=st.sampled_from(list(out_dims)),
        activation=st.sampled_from(list(activations)),
        weight_std=st.sampled_from([1.0, 0.5, 2.0]),
        bias_std=st.sampled_from(list(bias_stds)),
        parametrization=st.sampled_from(list(parametrizations)),
        readout_bias=st.sampled_from(list(readout_biases)),
    )


@dataclass(frozen=True)
class FCCase:
    """A network, its parameters and two input sets, all from one seed."""

    net: FCNet
    params: Params
    x1: Tensor
    x2: Tensor
    seed: int


@st.composite
def fc_cases(
    draw: st.DrawFn,
    *,
    nets: st.SearchStrategy[FCNet] | None = None,
    max_n: int = 6,
    dtype: torch.dtype = torch.float64,
    ensemble: st.SearchStrategy[int | None] | None = None,
) -> FCCase:
    """An :class:`FCCase`: net, N(0, 1) parameters and inputs x1 (n1, d), x2 (n2, d)."""
    net = draw(nets if nets is not None else fc_nets())
    n1, n2 = draw(st.integers(1, max_n)), draw(st.integers(1, max_n))
    members = draw(ensemble) if ensemble is not None else None
    seed = draw(seeds())
    generator = torch.Generator().manual_seed(seed)
    params = net.init(generator=generator, ensemble=members, dtype=dtype)
    x1 = torch.randn(n1, net.input_dim, generator=generator, dtype=dtype)
    x2 = torch.randn(n2, net.input_dim, generator=generator, dtype=dtype)
    return FCCase(net=net, params=params, x1=x1, x2=x2, seed=seed)
