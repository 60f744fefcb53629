"""`deeptheory reproduce lazy-feature | time-scales`: Geiger et al. (2020) R1, R4, R5 at CPU
scale: the lazy side scales as 1/α (weight change, NTK change, t½/h), the curves of two
widths collapse in α (the code convention's control parameter), feature training moves the
weights and the kernel by orders of magnitude more."""

import subprocess
import sys

import pytest
import torch

from deeptheory.experiments.lazy_feature import (
    AlphaSweepConfig,
    crossover_alpha,
    run_alpha_sweep,
)


def check(result):
    widths = result.config.widths
    alphas = list(result.config.alphas)
    for h in widths:
        for quantity in ("weight_change", "kernel_change", "t_half"):
            slope = result.lazy_slope(quantity, h)
            assert -1.25 < slope < -0.75, (h, quantity, slope)
        feature = alphas.index(1e-3)
        assert float(result.weight_change[h][feature]) > 10
        assert float(result.kernel_change[h][feature]) > 10
        # feature side: t½/h grows only slowly as α falls (a log), lazy side as 1/α
        t = result.t_half[h]
        assert float(t[feature]) < 3 * float(t[alphas.index(1e-1)])
    # collapse: at the same α the widths agree within a factor 2 (full run: 1.6 at most)
    small, large = min(widths), max(widths)
    for quantity in ("weight_change", "t_half"):
        ratio = getattr(result, quantity)[small] / getattr(result, quantity)[large]
        assert float(ratio.max()) < 2 and float(ratio.min()) > 1 / 2, (
            quantity,
            ratio,
        )


def test_quick_sweep_from_the_command_line(tmp_path):
    for name in ("lazy-feature", "time-scales"):
        out = tmp_path / f"{name}.png"
        run = subprocess.run(
            [sys.executable, "-m", "deeptheory", "reproduce", name, "--quick",
             "--no-progress", "--device", "cpu", "--out", str(out)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "lazy-side slopes (theory −1)" in run.stdout
    check(run_alpha_sweep(AlphaSweepConfig.quick(), progress=False))


@pytest.mark.slow
def test_full_sweep():
    """Widths 50, 200, 800; α from 1e-3 to 1e4."""
    check(run_alpha_sweep(progress=False))


def _f64(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_crossover_of_an_exact_power_law():
    """values = c/α crosses level at α* = c/level, wherever that falls in the grid."""
    alphas = torch.logspace(-3, 4, 15, dtype=torch.float64)
    for c, level in ((2.0, 1.0), (0.37, 0.01), (50.0, 3.0)):
        star = crossover_alpha(alphas, c / alphas, level=level)
        assert star.dtype == torch.float64 and star.shape == ()
        assert float(star) == pytest.approx(c / level, rel=1e-12)


def test_crossover_takes_the_last_drop_below_the_level():
    """A bump on the feature side does not count: the lazy-side crossing does."""
    alphas = _f64(1e-2, 1e-1, 1.0, 10.0, 100.0)
    values = _f64(5.0, 0.5, 4.0, 0.4, 0.04)
    # between α = 1 (4.0) and α = 10 (0.4), log-linear: log10 α* = (log 4 − 0)/log 10
    assert float(crossover_alpha(alphas, values, level=1.0)) == pytest.approx(4.0)


def test_crossover_is_nan_when_the_sweep_misses_it():
    alphas = _f64(1.0, 10.0, 100.0)
    assert torch.isnan(crossover_alpha(alphas, _f64(0.5, 0.1, 0.01), level=1.0))
    assert torch.isnan(crossover_alpha(alphas, _f64(9.0, 5.0, 2.0), level=1.0))


def test_crossover_rejects_bad_input():
    alphas = _f64(1.0, 10.0, 100.0)
    with pytest.raises(ValueError, match="increasing"):
        crossover_alpha(_f64(1.0, 0.1, 10.0), _f64(1.0, 0.1, 0.01), level=0.5)
    with pytest.raises(ValueError, match="same shape"):
        crossover_alpha(alphas, _f64(1.0, 0.1), level=0.5)
    with pytest.raises(ValueError, match="> 0"):
        crossover_alpha(alphas, _f64(1.0, 0.0, 0.01), level=0.5)
    with pytest.raises(ValueError, match="level"):
        crossover_alpha(alphas, _f64(1.0, 0.1, 0.01), level=-1.0)
