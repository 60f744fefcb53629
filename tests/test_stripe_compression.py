"""`deeptheory reproduce stripe-compression`: the qualitative results of Paccolat et al.
(2021) at CPU scale (shared/science.md §4.4 says which ones are robust there: the ordering
of the errors, Λ_feature > Λ_lazy ≈ 1, the lazy 1/α scaling; not the exponents)."""

import subprocess
import sys

import pytest

from deeptheory.experiments.stripe_compression import (
    StripeCompressionConfig,
    run_stripe_compression,
)


def check(result, *, min_compression):
    alphas = result.alphas.tolist()
    feature, lazy = 0, len(alphas) - 1
    assert alphas[feature] <= 1e-3 and alphas[lazy] >= 1e3
    err = result.test_error
    assert float(err[feature]) < float(err[lazy]) - 0.05, err.tolist()
    assert float(result.compression[feature]) > min_compression
    assert 0.9 < float(result.compression[lazy]) < 1.1
    # lazy side: relative weight change ∝ 1/α (α = 10 → 1e3 here)
    i10 = alphas.index(10.0)
    ratio = float(result.weight_change[i10] / result.weight_change[lazy])
    assert 0.8 * alphas[lazy] / 10 < ratio < 1.2 * alphas[lazy] / 10, ratio
    assert float(result.weight_change[feature]) > 10  # feature: weights move a lot
    k = result.kernel_error
    assert k["feature"] < k["init"] - 0.05  # the final NTK is a better kernel
    assert abs(k["lazy"] - k["init"]) < 0.02  # lazy: the kernel hardly changed
    top = result.projections
    assert float(top["feature"][4]) > float(top["init"][4]) + 0.05
    assert abs(float(top["lazy"][4]) - float(top["init"][4])) < 0.01


def test_quick_reproduction_from_the_command_line(tmp_path):
    out = tmp_path / "stripe.png"
    run = subprocess.run(
        [sys.executable, "-m", "deeptheory", "reproduce", "stripe-compression",
         "--quick", "--no-progress", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "kernel machine (hinge flow) test error" in run.stdout
    check(run_stripe_compression(StripeCompressionConfig.quick(), progress=False),
          min_compression=1.5)  # fmt: skip


@pytest.mark.slow
def test_full_reproduction():
    """d = 5, h = 500, p = 64, α from 1e-3 to 1e4 (~90 s)."""
    check(run_stripe_compression(progress=False), min_compression=2.5)
