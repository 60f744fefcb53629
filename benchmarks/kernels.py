"""Benchmark of the teacher-student kernels and of one learning curve.

What is measured
----------------
* The symmetric Gram ``kernel(x)`` of n = 4096 points (``--n``), float64, for the
  Laplace, Gaussian, Matérn-3/2, Matérn-0.8 (scipy K_ν path) and arc-cosine (degree 1)
  kernels on the sphere S² (d = 3), and the local and convolutional Laplace patch kernels
  (patch s = 2) in [0, 1]^8 (d = 8): median wall-clock seconds of ``--repeats`` calls
  (after one warm-up call on 64 points) and the rate in pair evaluations per second —
  n² per Gram for the stationary kernels, n² d (local) and n² d² (conv) patch-pair
  evaluations of the constituent for the patch kernels
  (:func:`deeptheory.local_kernels.pair_evaluations`).
* One learning curve: Laplace teacher / Laplace student on S², p = 64 … 4096 (7 sizes),
  1000 test points, one teacher draw: teacher Gram and Cholesky on 5096 points, student
  Grams, 7 Cholesky solves.

The machine may be shared (the CPU time of this process is printed next to the wall
time: a wall time well above it means other processes took the cores).

``--smoke``: n = 128, learning curve up to p = 256 (for the test suite).
"""

from __future__ import annotations

import argparse
import functools
import resource
import statistics
import sys
import time

import torch

from deeptheory.learning_curves import geometric_sizes, learning_curve
from deeptheory.local_kernels import conv_kernel, local_kernel, pair_evaluations
from deeptheory.stationary_kernels import (
    arccos_kernel,
    gaussian_kernel,
    laplace_kernel,
    matern_kernel,
)
from deeptheory.teachers import sample_inputs


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and mean CPU seconds per call."""
    walls, cpu0 = [], cpu_seconds()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), (cpu_seconds() - cpu0) / repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--curve-max", type=int, default=4096)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    n, repeats, curve_max = args.n, args.repeats, args.curve_max
    if args.smoke:
        n, repeats, curve_max = 128, 1, 256
    g = torch.Generator().manual_seed(0)
    sphere = sample_inputs(n, 3, domain="sphere", generator=g)
    cube = sample_inputs(n, 8, domain="cube", generator=g)
    cases = [
        ("laplace", laplace_kernel, sphere, n * n),
        ("gaussian", gaussian_kernel, sphere, n * n),
        ("matern nu=3/2", functools.partial(matern_kernel, nu=1.5), sphere, n * n),
        ("matern nu=0.8 (scipy)", functools.partial(matern_kernel, nu=0.8), sphere, n * n),
        ("arccos degree 1", arccos_kernel, sphere, n * n),
        (
            "local s=2, d=8",
            functools.partial(local_kernel, patch_size=2),
            cube,
            pair_evaluations(n, n, 8, convolutional=False),
        ),
        (
            "conv s=2, d=8",
            functools.partial(conv_kernel, patch_size=2),
            cube,
            pair_evaluations(n, n, 8, convolutional=True),
        ),
    ]  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64")
    print(f"Gram of n = {n} points (x2 = None), median of {repeats} calls")
    print("| kernel | wall s | CPU s | pair evals | M pair evals/s |")
    print("| --- | --- | --- | --- | --- |")
    for name, kernel, x, pairs in cases:
        kernel(x[:64])  # warm-up
        wall, cpu = timed(lambda k=kernel, x=x: k(x), repeats)
        print(
            f"| {name} | {wall:.3f} | {cpu:.3f} | {pairs:.3g} | {pairs / wall / 1e6:.1f} |"
        )
    sizes = geometric_sizes(64, curve_max, max(2, curve_max.bit_length() - 6))
    start, cpu0 = time.perf_counter(), cpu_seconds()
    curve = learning_curve(
        laplace_kernel, laplace_kernel, sizes, d=3, test=1000, draws=1
    )
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    print(
        f"learning curve Laplace/Laplace on S^2, p = {sizes[0]}..{sizes[-1]} "
        f"({len(sizes)} sizes), 1000 test points, 1 draw: {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU; eps(p_max) = {float(curve.errors[0, -1]):.3g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
