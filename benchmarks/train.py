"""Benchmark of :mod:`deeptheory.train`: a batched ensemble against one network at a time.

What is measured
----------------
16 networks (4 initialisation seeds × 4 values of α) with one hidden ReLU layer of width
h ∈ {10, 100, 1000}, biases inside, mean-field readout, on the stripe model (p = 1024 points,
d = 10), trained for ``--steps`` full-batch gradient-descent steps (default 1000; the
margin stop is off, so every run does all its steps):

* ``batched``: the 16 networks as one ensemble (``FCNet.init(..., ensemble=16)``, α of
  shape (16,)), one ``deeptheory.train.run`` call;
* ``sequential``: the same 16 networks, one ``run`` call each;
* ``autograd``: the batched ensemble through autograd (the net wrapped in a lambda, so
  ``train`` sees an opaque model), over ``--autograd-steps`` steps: the path every model
  took before :mod:`deeptheory.train_fc`;
* ``flow``: the batched ensemble with the adaptive flow (hinge, ``max_dout`` 0.1) for the
  same number of loop iterations, reported as accepted steps per second.

``batched`` and ``sequential`` both take the hand-written path of
:mod:`deeptheory.train_fc` (``train`` picks it for any FCNet), so the comparison is between
the best batched and the best single-network code.

The bound
---------
``bound`` is a time one batched step cannot beat with library operations on this machine,
from the work the step cannot avoid, E = 16 members:

* products: ``E · 4 p (d + 2) h`` flops (the first layer's product with [x, 1] and its
  gradient, 2 p (d + 1) h each; the readout and its gradient, 2 p h each), at the float64
  matmul rate of a (1024 × 1024)² product measured in this run (the products here, with an
  inner size of d + 1 = 11, run well below it);
* elementwise: φ(z) and φ'(z) each read and write the (p, h) pre-activations of every
  member, ``E · 4 · p h · 8`` bytes, at the copy bandwidth of a 256 KiB array (in the
  core's cache, where the tiles of :mod:`deeptheory.train_fc` keep them) measured in this
  run;

and ``bound`` is their sum (one thread runs one operation at a time, so the two do not
overlap). ``% of bound`` is bound / measured time per step. A first version of this
benchmark counted ten (p, h) arrays per member through main memory at the bandwidth of a
64 MiB copy; the tiled step never sends them there and ran faster than that "bound", so it
was none.

All timings run in this process with ``--threads`` torch threads (default 1, the setting
of the issue), float64, after one warm-up run of 5 steps.

    python benchmarks/train.py              # ~4 min
    python benchmarks/train.py --steps 100  # quicker, noisier
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deeptheory.models import FCNet  # noqa: E402
from deeptheory.tasks import Stripe  # noqa: E402
from deeptheory.train import TrainConfig, run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "train.md"
SEEDS, ALPHAS = 4, (0.1, 1.0, 10.0, 100.0)
P, D = 1024, 10


def networks(width: int):
    net = FCNet(
        input_dim=D,
        width=width,
        hidden_layers=1,
        bias_std=1.0,
        parametrization="mean_field",
        readout_bias=False,
    )
    members = [
        net.init(generator=torch.Generator().manual_seed(seed))
        for seed in range(SEEDS)
        for _ in ALPHAS
    ]
    alphas = torch.tensor(
        [a for _ in range(SEEDS) for a in ALPHAS], dtype=torch.float64
    )
    stacked = {k: torch.stack([m[k] for m in members]) for k in members[0]}
    return net, members, stacked, alphas


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def matmul_rate() -> float:
    """float64 GFLOP/s of a (1024 × 1024) @ (1024 × 1024) product."""
    a = torch.randn(1024, 1024, dtype=torch.float64)
    b = torch.randn(1024, 1024, dtype=torch.float64)
    out = torch.empty(1024, 1024, dtype=torch.float64)
    torch.matmul(a, b, out=out)
    runs = 5
    seconds = timed(lambda: [torch.matmul(a, b, out=out) for _ in range(runs)])
    return 2 * 1024**3 * runs / seconds / 1e9


def copy_bandwidth(nbytes: int) -> float:
    """GB/s of copying an array of ``nbytes`` (read + write counted)."""
    a = torch.randn(nbytes // 8, dtype=torch.float64)
    b = torch.empty_like(a)
    b.copy_(a)
    runs = max(10, 2**30 // nbytes)
    seconds = timed(lambda: [b.copy_(a) for _ in range(runs)])
    return 2 * nbytes * runs / seconds / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--autograd-steps", type=int, default=20)
    parser.add_argument("--widths", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, y = Stripe(d=D).sample(P, generator=torch.Generator().manual_seed(0))
    gflops = matmul_rate()
    cache, memory = copy_bandwidth(2**18), copy_bandwidth(2**26)
    print(
        f"matmul {gflops:.1f} GFLOP/s, copy {cache:.1f} GB/s (256 KiB), "
        f"{memory:.1f} GB/s (64 MiB)",
        file=sys.stderr,
    )

    def gd(steps: int) -> TrainConfig:
        return TrainConfig(method="gd", lr=0.1, max_steps=steps, stop_margin=None)

    flow = TrainConfig(
        method="flow", max_dgrad=None, max_steps=args.steps, stop_margin=None
    )
    rows = []
    for h in args.widths:
        net, members, stacked, alphas = networks(h)
        run(net, stacked, x, y, alpha=alphas, config=gd(5))
        start = time.perf_counter()
        run(net, stacked, x, y, alpha=alphas, config=gd(args.steps))
        batched = time.perf_counter() - start
        start = time.perf_counter()
        for member, a in zip(members, alphas, strict=True):
            run(net, member, x, y, alpha=float(a), config=gd(args.steps))
        sequential = time.perf_counter() - start
        opaque = lambda p, x, net=net: net(p, x)  # noqa: E731  (the autograd path)
        start = time.perf_counter()
        run(opaque, stacked, x, y, alpha=alphas, config=gd(args.autograd_steps))
        autograd = time.perf_counter() - start
        start = time.perf_counter()
        last = run(net, stacked, x, y, alpha=alphas, config=flow)[-1]
        flow_seconds = time.perf_counter() - start
        accepted = int(last.step.sum())
        count = len(members)
        flops = count * 4 * P * (D + 2) * h
        traffic = count * 4 * P * h * 8
        bound = flops / (gflops * 1e9) + traffic / (cache * 1e9)
        rows.append(
            (
                h,
                batched / args.steps,
                sequential / args.steps,
                autograd / args.autograd_steps,
                bound,
                accepted / flow_seconds,
            )
        )
        print(f"h = {h}: done", file=sys.stderr)
    lines = [
        f"# Training benchmark: 16 networks, p = {P}, d = {D}, {args.steps} GD steps "
        f"({args.threads} thread(s), {os.cpu_count()} cores; matmul {gflops:.0f} GFLOP/s, "
        f"copy {cache:.0f} GB/s in cache (256 KiB), {memory:.1f} GB/s (64 MiB))",
        "",
        "batched and sequential: the hand-written path (deeptheory.train_fc); autograd: "
        f"the batched ensemble through autograd, {args.autograd_steps} steps.",
        "",
        "| h | batched ms/step | sequential ms/step (16 runs) | speed-up "
        "| autograd batched ms/step | bound ms/step | % of bound "
        "| flow: accepted steps/s (all members) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for h, per_step, seq, slow, bound, rate in rows:
        lines.append(
            f"| {h} | {per_step * 1e3:.2f} | {seq * 1e3:.2f} | {seq / per_step:.1f}× "
            f"| {slow * 1e3:.1f} | {bound * 1e3:.3f} | {100 * bound / per_step:.0f} % "
            f"| {rate:.0f} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
