"""Experiments that reproduce published figures: a compute function returning a frozen
result, a plot function writing a PNG, and an entry in :data:`REPRODUCTIONS`.

Each entry names a function ``reproduce(name, *, quick, device, progress, out)`` that
runs the experiment (``quick``: the small configuration the tests use), writes the
figure to ``out`` and returns ``(lines, path)``: the key numbers to print and the PNG.
``deeptheory reproduce NAME`` calls it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

#: name → (``module:function``, one line on what it reproduces).
REPRODUCTIONS: dict[str, tuple[str, str]] = {
    "fluctuations": (
        "deeptheory.experiments.fluctuations:reproduce",
        "variance of the learned function over seeds ∝ 1/h, and ensemble averaging "
        "(Geiger et al. 2020, arXiv 1901.01608)",
    ),
    "jamming": (
        "deeptheory.experiments.jamming:reproduce",
        "unsatisfied constraints N_Δ/P vs N/P on random data, quadratic hinge: the "
        "jamming transition and the test-error cusp (Spigler et al. 2019)",
    ),
    "teacher-student": (
        "deeptheory.experiments.teacher_student:reproduce",
        "learning-curve exponents of kernel teacher-student regression on the sphere "
        "(Spigler et al. 2020): the three branches of β = min(α_T − d, 2α_S)/d",
    ),
    "locality": (
        "deeptheory.experiments.locality:reproduce",
        "local and convolutional teacher-student kernels (Favero et al. 2021): "
        "β ≈ 1/s independent of d, fully connected ≈ 1/d",
    ),
    "lazy-feature": (
        "deeptheory.experiments.lazy_feature:reproduce",
        "test error, weight change and NTK change against α for several widths "
        "(Geiger et al. 2020)",
    ),
    "time-scales": (
        "deeptheory.experiments.lazy_feature:reproduce",
        "the time for the loss to halve against α (same runs as lazy-feature)",
    ),
    "stripe-compression": (
        "deeptheory.experiments.stripe_compression:reproduce",
        "feature vs lazy training on the stripe model (Paccolat et al. 2021): test "
        "error, weight change, compression Λ, kinks, the NTK as a kernel machine",
    ),
    "diagonal-implicit-bias": (
        "deeptheory.experiments.diagonal_implicit_bias:reproduce",
        "diagonal linear networks: the flow vs the α → 0 saddle-to-saddle process "
        "(Pesme & Flammarion 2023), the implicit bias between min-ℓ1 and min-ℓ2, GD vs SGD",
    ),
    "saddle-to-saddle": (
        "deeptheory.experiments.saddle_to_saddle:reproduce",
        "deep linear networks from a small init (Saxe et al. 2014; Jacot et al. 2021): "
        "loss plateaus at the saddles, singular values switching on in decreasing order",
    ),
    "real-data-curve": (
        "deeptheory.experiments.real_data_curve:reproduce",
        "kernel learning curves on real data (the digits of scikit-learn, parity "
        "labels; Spigler et al. 2020): test error against p and its exponent β",
    ),
}


def save_figure(fig, path: str | Path, *, dpi: int = 110) -> Path:
    """Write a matplotlib figure to ``path`` (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def reproduction(name: str) -> Callable[..., tuple[list[str], Path]]:
    """The ``reproduce`` function registered under ``name``."""
    if name not in REPRODUCTIONS:
        raise ValueError(f"name must be one of {sorted(REPRODUCTIONS)}; got {name!r}")
    module, function = REPRODUCTIONS[name][0].split(":")
    return getattr(importlib.import_module(module), function)
