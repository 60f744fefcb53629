"""`deeptheory reproduce lazy-feature | time-scales`: Geiger et al. (2020) R1, R4, R5 at CPU
scale: the lazy side scales as 1/α (weight change, NTK change, t½/h), the curves of two
widths collapse in α (the code convention's control parameter), feature training moves the
weights and the kernel by orders of magnitude more."""

import subprocess
import sys

import pytest

from deeptheory.experiments.lazy_feature import AlphaSweepConfig, run_alpha_sweep


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
