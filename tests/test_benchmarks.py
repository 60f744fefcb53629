"""The benchmark scripts still run (tiny sizes); their timings are not asserted here."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ntk_benchmark_smoke_run_agrees_with_the_oracle(capsys):
    """`--smoke` times every method on tiny nets and checks them against the loop."""
    assert load("ntk").main(["--smoke"]) == 0
    out = capsys.readouterr().out
    assert "structured" in out and "jacobian" in out and "ntk_vp" in out


def test_training_benchmark_smoke_run(tmp_path, capsys):
    """Three steps at h = 10: the script runs and writes its table, naming the paths."""
    out = tmp_path / "train.md"
    argv = [
        "--steps",
        "3",
        "--autograd-steps",
        "2",
        "--widths",
        "10",
        "--out",
        str(out),
    ]
    assert load("train").main(argv) == 0
    table = out.read_text()
    assert "| 10 |" in table and "batched ms/step" in table
    assert "deeptheory.train_fc" in table and "autograd batched ms/step" in table
