"""deeptheory.ensembles: the estimators against closed forms and plain loops, and a tiny
seeded sweep where the seed-to-seed variance falls with the width."""

import math

import pytest
import torch

from deeptheory.ensembles import (
    ensemble_average,
    ensemble_error,
    loglog_slope,
    output_variance,
    train_width_sweep,
)
from deeptheory.jamming import teacher_data
from deeptheory.train import TrainConfig


def test_variance_closed_form_and_loop():
    F = torch.tensor([[0.0, 2.0], [2.0, 0.0]], dtype=torch.float64)
    assert float(output_variance(F)) == 2.0  # each point: ((1)^2 + (1)^2) / (2 - 1)
    g = torch.Generator().manual_seed(0)
    F = torch.randn(5, 7, generator=g, dtype=torch.float64)
    mean = [sum(F[e, i] for e in range(5)) / 5 for i in range(7)]
    loop = sum((F[e, i] - mean[i]) ** 2 for e in range(5) for i in range(7)) / (4 * 7)
    torch.testing.assert_close(output_variance(F), loop)
    torch.testing.assert_close(output_variance(F, per_point=True).mean(), loop)


def test_variance_is_unbiased_for_gaussian_samples():
    # E = 4 seeds of N(0, σ²) at 20 000 points: the mean estimate has relative std
    # sqrt(2/(3 · 20000)) ≈ 0.6 %; tolerance 3 %
    g = torch.Generator().manual_seed(1)
    F = 0.5 * torch.randn(4, 20_000, generator=g, dtype=torch.float64)
    assert abs(float(output_variance(F)) / 0.25 - 1) < 0.03


def test_ensemble_average_reduces_variance_by_members():
    # averages of m i.i.d. members have variance σ²/m (within 5 % at this sample size)
    g = torch.Generator().manual_seed(2)
    F = torch.randn(64, 5000, generator=g, dtype=torch.float64)
    for m in (1, 4, 16):
        averages = torch.stack(
            [ensemble_average(F[k : k + m]) for k in range(0, 64, m)]
        )
        assert abs(float(output_variance(averages)) * m - 1) < 0.05


def test_ensemble_error_uses_sign_of_mean():
    y = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    F = torch.tensor([[3.0, -1.0, -1.0], [-1.0, -1.0, 2.0]], dtype=torch.float64)
    # mean = (1, -1, 0.5): right, wrong, wrong
    assert math.isclose(float(ensemble_error(F, y)), 2 / 3)


def test_errors_and_slope():
    with pytest.raises(ValueError, match="at least 2"):
        output_variance(torch.zeros(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="2 dimensions"):
        output_variance(torch.zeros(3, dtype=torch.float64))
    h = [10.0, 100.0, 1000.0]
    assert math.isclose(loglog_slope(h, [3 / v for v in h]), -1.0)


def test_tiny_sweep_variance_falls_with_width():
    """Seeded: 6 seeds at h = 8 and 128 on 32 teacher points; Var ∝ 1/h predicts a ratio
    of 16; accept > 5 (measured: 40, the smallest net is far from lazy)."""
    gen = torch.Generator().manual_seed(3)
    x, y = teacher_data(32, 4, generator=gen)
    x_test, y_test = teacher_data(200, 4, generator=torch.Generator().manual_seed(4))
    config = TrainConfig(method="gd", loss="quadratic", lr=1.0, max_steps=400)
    sweep = train_width_sweep(x, y, x_test, [8, 128], seeds=6, config=config)
    var = sweep.variance()
    assert float(var[0] / var[1]) > 5, var.tolist()
    assert sweep.F_test.shape == (2, 6, 200)
    assert sweep.test_errors(y_test).shape == (2, 6)
    assert sweep.num_params == (8 * (4 + 2) + 1, 128 * (4 + 2) + 1)  # h(d+1) + h + 1
