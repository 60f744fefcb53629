"""Finite width → infinite width: the empirical NTK of FCNet converges to fc_kernels.

Statistical checks (shared/science.md §1.3 and §7 item 10), made deterministic by fixed
generators: the mean over seeds matches the analytic kernel within its standard error, and
the seed-to-seed standard deviation falls as h^{-1/2} (log-log slope −0.5 ± 0.1).
"""

import numpy as np
import pytest
import torch

from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.testing.strategies import random_inputs

SEEDS = 128  # 64 gave slope noise of ~0.05 (2σ from the band); 128 gives ~0.035
CASES = [
    # activation, hidden layers, bias_std, widths
    ("relu", 1, 0.0, (250, 500, 1000, 2000, 4000)),
    ("sqrt2_relu", 2, 0.1, (64, 128, 256, 512, 1024)),
    ("relu", 3, 0.1, (64, 128, 256, 512)),
]


def ensemble_kernels(activation, hidden, bias, width, x, seed):
    net = FCNet(
        input_dim=x.shape[1],
        width=width,
        hidden_layers=hidden,
        activation=activation,
        bias_std=bias,
    )
    params = net.init(generator=torch.Generator().manual_seed(seed), ensemble=SEEDS)
    return empirical_ntk(net, params, x)  # (SEEDS, n, n)


@pytest.mark.parametrize(("activation", "hidden", "bias", "widths"), CASES)
def test_empirical_ntk_converges_to_the_analytic_limit(
    activation, hidden, bias, widths
):
    x = random_inputs(6, 3, seed=11)
    _, analytic = fc_kernels(
        x, hidden_layers=hidden, bias_std=bias, activation=activation
    )
    upper = torch.triu_indices(6, 6)
    rel_std, z_scores = [], []
    for i, width in enumerate(widths):
        kernels = ensemble_kernels(activation, hidden, bias, width, x, seed=100 + i)
        entries = kernels[:, upper[0], upper[1]]  # (SEEDS, 21) distinct entries
        target = analytic[upper[0], upper[1]]
        mean, std = entries.mean(0), entries.std(0)
        z_scores.append(float(((mean - target).abs() / (std / SEEDS**0.5)).max()))
        rel_std.append(float((std / target.abs()).mean()))
    # the mean agrees with the limit: 21 entries, so allow 4.5 standard errors
    assert z_scores[-1] < 4.5, f"mean over seeds is off: z-scores per width {z_scores}"
    slope = np.polyfit(np.log(widths), np.log(rel_std), 1)[0]
    assert -0.6 < slope < -0.4, f"std ∝ h^{slope:.3f}, expected h^-0.5 ({rel_std})"


@pytest.mark.slow
def test_deeper_and_wider_convergence():
    """Four hidden layers up to width 2048: the mean converges and std ∝ h^{-1/2}."""
    x = random_inputs(5, 4, seed=12)
    widths = (128, 256, 512, 1024, 2048)
    _, analytic = fc_kernels(x, hidden_layers=4, bias_std=0.2, activation="sqrt2_relu")
    rel_std, rel_err = [], []
    for i, width in enumerate(widths):
        net = FCNet(
            input_dim=4,
            width=width,
            hidden_layers=4,
            activation="sqrt2_relu",
            bias_std=0.2,
        )
        generator = torch.Generator().manual_seed(500 + i)
        kernels = torch.stack(
            [empirical_ntk(net, net.init(generator=generator), x) for _ in range(64)]
        )
        rel_std.append(float((kernels.std(0) / analytic.abs()).mean()))
        rel_err.append(float((kernels.mean(0) - analytic).norm() / analytic.norm()))
    slope = np.polyfit(np.log(widths), np.log(rel_std), 1)[0]
    assert -0.6 < slope < -0.4, f"std ∝ h^{slope:.3f} ({rel_std})"
    assert rel_err[-1] < 0.02, rel_err
