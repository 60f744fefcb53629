"""Tolerances and assertion helpers for deeptheory's tests and the course's hidden tests.

Three kinds of comparison are used in this project and never mixed:

1. *exact* — the same maths through different code (e.g. two NTK methods): entrywise
   ``|a − e| ≤ atol + rtol · max|e|`` with the dtype's :data:`TOLERANCES`;
2. *statistical* — finite vs infinite width, Monte Carlo: fit a scaling law (e.g. the
   seed-to-seed standard deviation falls as h^{-1/2}) rather than guess a constant;
3. *discretisation* — a step size dt: the error falls as dt does.

The assertions check in layers and report the first that fails — type → shape → dtype →
device → finite → invariants → values — and never print the expected tensor, only where
and by how much the actual one is off (the hidden tests of the homework reuse them).
Hypothesis strategies live in :mod:`deeptheory.testing.strategies` (needs ``hypothesis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

Tensor = torch.Tensor

__all__ = [
    "TOLERANCES",
    "CheckFailure",
    "Tolerance",
    "assert_close",
    "assert_like",
    "assert_psd",
    "assert_symmetric",
    "tolerance",
]


@dataclass(frozen=True)
class Tolerance:
    """``|a − e| ≤ atol + rtol · max|e|`` entrywise."""

    rtol: float
    atol: float


#: Exact-comparison tolerances by dtype (float64 is the default of every factory).
TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float64: Tolerance(rtol=1e-10, atol=1e-12),
    torch.float32: Tolerance(rtol=1e-5, atol=1e-6),
    torch.bfloat16: Tolerance(rtol=1e-2, atol=1e-3),
    torch.float16: Tolerance(rtol=1e-3, atol=1e-4),
}


def tolerance(dtype: torch.dtype) -> Tolerance:
    """The exact-comparison tolerance for ``dtype``."""
    if dtype not in TOLERANCES:
        raise ValueError(f"dtype must be a floating dtype; got {dtype}")
    return TOLERANCES[dtype]


class CheckFailure(AssertionError):
    """An assertion of this module failed; ``layer`` says which check."""

    def __init__(self, layer: str, message: str) -> None:
        super().__init__(message)
        self.layer = layer


def _fail(layer: str, message: str) -> None:
    __tracebackhide__ = True
    raise CheckFailure(layer, message)


def assert_like(actual: Any, expected: Tensor, *, name: str = "result") -> Tensor:
    """Assert the structural layers only: type → shape → dtype → device → finite."""
    __tracebackhide__ = True
    if not isinstance(actual, torch.Tensor):
        _fail("type", f"{name}: expected a torch.Tensor, got {type(actual).__name__}")
    if tuple(actual.shape) != tuple(expected.shape):
        _fail(
            "shape",
            f"{name}: expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}",
        )
    if actual.dtype != expected.dtype:
        _fail("dtype", f"{name}: expected dtype {expected.dtype}, got {actual.dtype}")
    if actual.device != expected.device:
        _fail(
            "device", f"{name}: expected device {expected.device}, got {actual.device}"
        )
    if actual.is_floating_point() and not bool(torch.isfinite(actual).all()):
        bad = (~torch.isfinite(actual)).nonzero()[0].tolist()
        _fail("finite", f"{name}: contains nan or inf (first at index {tuple(bad)})")
    return actual


def assert_close(
    actual: Any,
    expected: Tensor,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    name: str = "result",
) -> None:
    """Assert ``actual`` matches ``expected`` in type, shape, dtype, device and values.

    Values pass when ``|a − e| ≤ atol + rtol · max|e|`` everywhere: errors are measured
    relative to the scale of the whole tensor, so an entry that should be 0 is not held
    to an impossible relative precision. Defaults come from :data:`TOLERANCES`.

    Raises:
      CheckFailure: naming the first failing layer; for values, the worst index, the
        absolute and relative error and the tolerance — never the expected values.
    """
    __tracebackhide__ = True
    if not isinstance(expected, torch.Tensor):
        raise TypeError(
            f"expected must be a torch.Tensor; got {type(expected).__name__}"
        )
    actual = assert_like(actual, expected, name=name)
    tol = tolerance(expected.dtype) if expected.is_floating_point() else Tolerance(0, 0)
    rtol = tol.rtol if rtol is None else rtol
    atol = tol.atol if atol is None else atol
    if expected.numel() == 0:
        return
    err = (actual.double() - expected.double()).abs()
    scale = float(expected.double().abs().max())
    bound = atol + rtol * scale
    worst = int(err.argmax())
    max_err = float(err.reshape(-1)[worst])
    if max_err > bound:
        index = tuple(
            int(i) for i in torch.unravel_index(torch.tensor(worst), err.shape)
        )
        rel = max_err / scale if scale > 0 else float("inf")
        n_bad = int((err > bound).sum())
        _fail(
            "value",
            f"{name}: values differ at {n_bad} of {err.numel()} entries; worst at index "
            f"{index}: absolute error {max_err:.3e}, relative error {rel:.2e} (error "
            f"/ largest expected magnitude; allowed: {atol:.1e} + {rtol:.1e} × scale)",
        )


def assert_symmetric(
    k: Tensor, *, rtol: float | None = None, name: str = "kernel"
) -> None:
    """Assert a (…, n, n) matrix equals its transpose up to ``rtol · max|k|``."""
    __tracebackhide__ = True
    if not isinstance(k, torch.Tensor):
        _fail("type", f"{name}: expected a torch.Tensor, got {type(k).__name__}")
    if k.ndim < 2 or k.shape[-1] != k.shape[-2]:
        _fail(
            "shape", f"{name}: expected a square (…, n, n) matrix, got {tuple(k.shape)}"
        )
    rtol = tolerance(k.dtype).rtol if rtol is None else rtol
    err = float((k - k.transpose(-1, -2)).abs().max()) if k.numel() else 0.0
    scale = float(k.abs().max()) if k.numel() else 0.0
    if err > rtol * scale:
        _fail(
            "invariant",
            f"{name}: not symmetric: max |K − Kᵀ| = {err:.3e} ({err / scale:.1e} of max|K|)",
        )


def assert_psd(k: Tensor, *, rtol: float | None = None, name: str = "kernel") -> None:
    """Assert a symmetric (…, n, n) matrix is positive semi-definite: λ_min ≥ −rtol·λ_max."""
    __tracebackhide__ = True
    assert_symmetric(k, rtol=rtol, name=name)
    rtol = tolerance(k.dtype).rtol if rtol is None else rtol
    if k.numel() == 0:
        return
    eig = torch.linalg.eigvalsh(k.double())
    lam_min, lam_max = float(eig.min()), float(eig.abs().max())
    if lam_min < -rtol * max(lam_max, 1e-300) * k.shape[-1]:
        _fail(
            "invariant",
            f"{name}: not positive semi-definite: smallest eigenvalue {lam_min:.3e} "
            f"(largest |eigenvalue| {lam_max:.3e})",
        )
