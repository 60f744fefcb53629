"""What the α-sweep reproductions share: the paper's one-hidden-layer network, and one
initialisation trained at every α of a sweep as one batched ensemble."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deeptheory.models import FCNet, Params
from deeptheory.train import Snapshot, TrainConfig, run

Tensor = torch.Tensor


def paper_network(d: int, width: int, activation: str) -> FCNet:
    """f = (1/h) Σ_n β_n φ(w_n·x/√d + b_n): biases inside, mean-field readout, no readout
    bias (Paccolat et al. 2021; Geiger et al. 2020 with one hidden layer)."""
    return FCNet(
        input_dim=d,
        width=width,
        hidden_layers=1,
        activation=activation,
        bias_std=1.0,
        parametrization="mean_field",
        readout_bias=False,
    )


def hinge_flow(max_steps: int) -> TrainConfig:
    """The authors' flow on the hinge loss, output criterion only (science.md §10), until
    every margin is reached; the kernel machines are trained with it too."""
    return TrainConfig(method="flow", loss="hinge", max_dgrad=None, max_steps=max_steps)


@dataclass(frozen=True)
class AlphaRuns:
    """One initialisation trained at every α: A members on the leading axis."""

    params0: Params  # the initialisation, repeated A times
    final: Snapshot  # the last snapshot (every member stopped)
    F_test: Tensor  # (A, n_test): α (f − f₀) on the test set at the end
    times: Tensor  # (snapshots, A)
    losses: Tensor  # (snapshots, A)


def train_over_alphas(
    net: FCNet,
    one: Params,
    x: Tensor,
    y: Tensor,
    x_test: Tensor,
    alphas: Tensor,
    *,
    max_steps: int,
    progress: bool,
) -> AlphaRuns:
    """Train ``one`` at every α with the authors' flow on the hinge loss until every
    margin is reached (or ``max_steps``)."""
    params0 = {k: v.expand(len(alphas), *v.shape).clone() for k, v in one.items()}
    config = hinge_flow(max_steps)
    snaps = run(net, params0, x, y, alpha=alphas, config=config, progress=progress)
    final = snaps[-1]
    F_test = alphas[:, None] * (net(final.params, x_test) - net(params0, x_test))
    times = torch.stack([s.t for s in snaps])
    losses = torch.stack([s.loss for s in snaps])
    return AlphaRuns(params0, final, F_test, times, losses)
