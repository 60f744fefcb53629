"""`deeptheory reproduce diagonal-implicit-bias`: the flow against the α → 0 limiting
process, the implicit bias between min-ℓ1 and min-ℓ2, and GD vs SGD (shared/science.md
§6.3–6.4). Margins are set from the measured values in README.md."""

import subprocess
import sys

import pytest

from deeptheory.experiments.diagonal_implicit_bias import (
    DiagonalImplicitBiasConfig,
    run_diagonal_implicit_bias,
    summary,
)


def check(result):
    p = result.process
    assert float((result.l1 - result.beta_star).abs().max()) < 1e-12  # exact recovery
    assert float((p.saddles[-1] - result.l1).abs().max()) < 1e-12
    assert bool((p.times.diff() > 0).all()) and len(p.times) == 8
    assert sum(len(k) for k in p.deactivated) == 3  # 25, then 7 and 38 leave
    for alpha in result.config.alphas:
        assert result.dual_error[alpha] < 3  # in units of 1/ln(1/α); measured ≤ 2.4
        assert result.plateau_error[alpha] < 5  # measured ≤ 3.8
        assert float(result.loss[alpha][-1]) < float(result.loss[alpha][0]) * 1e-2
    to_l1 = (result.bias - result.l1).abs().max(dim=-1).values
    to_l2 = (result.bias - result.l2).abs().max(dim=-1).values
    assert float(to_l1[0]) < 1e-5 and float(to_l2[-1]) < 1e-8
    norms = result.bias.abs().sum(-1)
    assert bool((norms.diff() >= -1e-12).all())  # sparser as α falls
    for s in result.descent:
        gd_l1 = float(s.gd_beta.abs().sum())
        assert float(s.sgd_beta.abs().sum(-1).max()) < gd_l1 - 0.03
        assert float(s.sgd_fitted_alpha.max()) < s.gd_fitted_alpha
        assert abs(s.gd_fitted_alpha / s.alpha - 1) < 0.1  # GD ≈ the flow at this lr


def test_quick_reproduction_from_the_command_line(tmp_path):
    out = tmp_path / "diagonal.png"
    run = subprocess.run(
        [sys.executable, "-m", "deeptheory", "reproduce", "diagonal-implicit-bias",
         "--quick", "--no-progress", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "jump 7: t~ = 2.8675" in run.stdout
    result = run_diagonal_implicit_bias(
        DiagonalImplicitBiasConfig.quick(), progress=False
    )
    check(result)
    assert len(summary(result)) > 10


@pytest.mark.slow
def test_full_reproduction():
    """α = 1e-2 … 1e-16, 16 SGD seeds at three α (~20 s)."""
    check(run_diagonal_implicit_bias(progress=False))
