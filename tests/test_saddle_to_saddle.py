"""`deeptheory reproduce saddle-to-saddle`: plateaus of deep linear networks from a small
initialisation (shared/science.md §6.1–§6.2, §7 items 7 and 15). Margins are set from the
measured values in README.md."""

import math
import subprocess
import sys

import pytest

from deeptheory.experiments.saddle_to_saddle import (
    SaddleToSaddleConfig,
    run_saddle_to_saddle,
    sweep_slopes,
)


def check(result):
    s = result.config.singular_values
    r = len(s)
    for depth, one in result.runs.items():
        closed = one.found.closed
        assert int(closed.sum()) == r, (depth, one.found)  # plateaus = rank of T
        assert one.ranks[closed].tolist() == list(range(r))  # saddles of rank 0 … r − 1
        assert one.found.level[closed].tolist() == pytest.approx(
            result.levels.tolist(), rel=1e-3
        )
        assert float(one.saddle_distance[closed].max()) < 1e-2  # T_k, Eckart–Young
        assert bool((one.t_half.diff() > 0).all())  # in order of decreasing s
        assert float(one.run.loss[-1]) < 1e-6
    two = result.runs[2]
    assert float(((two.t_half - two.saxe_t_half) / two.saxe_t_half).abs().max()) < 1e-3
    three = result.runs[3]
    if three.descent_t_half is not None:  # GD at lr = 0.01 follows the flow
        rel = (three.descent_t_half - three.t_half) / three.t_half
        assert float(rel.abs().max()) < 1e-2
    assert result.saxe_error < 1e-6  # closed form vs integrated flow (§6.1)
    assert result.saxe_t_half.tolist() == pytest.approx(
        [1.7182, 2.4759, 4.6051], abs=1e-4
    )
    slopes = sweep_slopes(result)
    assert slopes[2] == pytest.approx(1 / s[0], rel=0.05)  # t₁ ≈ ln(1/σ)/s₁
    assert slopes[3] == pytest.approx(-1.0, abs=0.05)  # t₁ ∝ σ^{−(L−2)}
    assert slopes[4] == pytest.approx(-2.0, abs=0.1)
    for _, t1 in result.sweep.values():
        assert not any(math.isnan(float(x)) for x in t1)


def test_quick_reproduction_from_the_command_line(tmp_path):
    out = tmp_path / "saddle.png"
    run = subprocess.run(
        [sys.executable, "-m", "deeptheory", "reproduce", "saddle-to-saddle",
         "--quick", "--no-progress", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "depth 2, σ = 1e-06: 4 plateaus before the loss falls to 0" in run.stdout
    assert "t½ measured 1.7182 2.4759 4.6051" in run.stdout
    check(run_saddle_to_saddle(SaddleToSaddleConfig.quick(), progress=False))


@pytest.mark.slow
def test_full_reproduction():
    """Depth 3 at σ = 3e-4 (plateaus to t ≈ 1200), the full σ sweep (~15 s)."""
    check(run_saddle_to_saddle(progress=False))
