"""The ``deeptheory`` command, run as a user would (a separate process)."""

import subprocess
import sys

import pytest

from deeptheory.cli import main


def run(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "deeptheory", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0
    assert "ntk-convergence" in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("deeptheory ")


def test_unknown_subcommand_fails_with_usage():
    result = run("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_bad_option_value_is_reported():
    with pytest.raises(SystemExit) as info:
        main(["ntk-convergence", "--widths", "0"])
    assert info.value.code == 2


def test_ntk_convergence_quick_writes_a_figure(tmp_path):
    out = tmp_path / "figs" / "conv.png"
    result = run("ntk-convergence", "--quick", "--no-progress", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == [64, 256, 1024]
    errors = [float(r[1]) for r in rows]
    assert errors[0] > errors[1] > errors[2]  # the error falls with the width
    slope = float(next(line for line in lines if "slope" in line).split(":")[1])
    assert -0.8 < slope < -0.2


@pytest.mark.slow
def test_full_ntk_convergence_demo(tmp_path):
    """`make demo` itself: widths 100, 1000, 10 000 and 10 seeds (Jacot et al. Fig. 1)."""
    out = tmp_path / "conv.png"
    result = run(
        "ntk-convergence", "--no-progress", "--device", "cpu", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = result.stdout.splitlines()
    slope = float(next(line for line in lines if "slope" in line).split(":")[1])
    assert -0.6 < slope < -0.4
