"""Argument checks shared by the public functions.

Every public entry point validates what the user passed and raises a ``TypeError`` or
``ValueError`` that names the argument and says what was expected, so that a mistake
never surfaces as a shape error from deep inside torch or as a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise ``ValueError``."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def check_int(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` if it is an int (not a bool) that is ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_float(name: str, value: Any, *, minimum: float | None = None) -> float:
    """Return ``float(value)`` if it is a finite real number ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite; got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_tensor(
    name: str,
    x: Any,
    *,
    ndim: int | tuple[int, ...] | None = None,
    last_dim: int | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """Check a floating-point input tensor and return it.

    Args:
      name: the argument's name, used in the error message.
      x: the value to check.
      ndim: the allowed number(s) of dimensions.
      last_dim: the required size of the last dimension (e.g. the input dimension d).
      finite: also require every entry to be finite (costs one pass over ``x``).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have a floating dtype; got {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimensions; got shape {tuple(x.shape)}"
            )
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(
            f"{name} must have last dimension {last_dim} (the input dimension); "
            f"got shape {tuple(x.shape)}"
        )
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return x


def check_same_kind(
    name: str, x: torch.Tensor, ref_name: str, ref: torch.Tensor
) -> None:
    """Require ``x`` to have the dtype and device of ``ref``."""
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but {ref_name} has dtype {ref.dtype}; "
            f"convert one of them (e.g. {name}.to({ref.dtype}))"
        )
    if x.device != ref.device:
        raise ValueError(
            f"{name} is on {x.device} but {ref_name} is on {ref.device}; "
            f"move one of them (e.g. {name}.to('{ref.device}'))"
        )
