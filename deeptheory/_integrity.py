"""A snapshot of the functions that grading relies on, taken when deeptheory is imported.

The homework's first (locked) cell imports deeptheory, so the snapshot is taken before any
student code runs. :func:`tampered` lists the names that no longer point at the object
recorded then, e.g. a ``torch.testing.assert_close`` replaced by a no-op. This is a tripwire
inside the student's own process, not a security boundary: code determined to cheat can
patch this module too. Grading in a separate process (issue 8) is the real boundary.
"""

from __future__ import annotations

import builtins
import importlib
import sys

import torch

#: (module or class path, attribute) pairs that comparisons depend on.
WATCHED: tuple[tuple[str, str], ...] = (
    ("torch.testing", "assert_close"),
    ("numpy.testing", "assert_allclose"),
    ("numpy.testing", "assert_array_equal"),
    ("numpy.testing", "assert_array_almost_equal"),
    ("torch", "allclose"),
    ("torch", "equal"),
    ("torch", "isfinite"),
    ("torch", "abs"),
    ("torch", "unravel_index"),
    ("torch.Tensor", "__sub__"),
    ("torch.Tensor", "abs"),
    ("torch.Tensor", "max"),
    ("torch.Tensor", "argmax"),
    ("torch.Tensor", "all"),
    ("torch.Tensor", "double"),
    ("torch.Tensor", "__gt__"),
    ("torch.Tensor", "__float__"),
    ("numpy", "allclose"),
    ("numpy", "abs"),
    ("builtins", "isinstance"),
    ("builtins", "float"),
    ("builtins", "abs"),
    ("builtins", "max"),
    ("builtins", "tuple"),
    ("deeptheory.testing", "assert_close"),
    ("deeptheory.testing", "assert_like"),
    ("deeptheory.testing", "assert_symmetric"),
    ("deeptheory.testing", "_fail"),
    ("deeptheory.testing", "tolerance"),
)


def _owner(path: str) -> object:
    if path == "torch.Tensor":
        return torch.Tensor
    if path == "builtins":
        return builtins
    return sys.modules.get(path) or importlib.import_module(path)


def _current() -> dict[str, object]:
    now = {
        f"{path}.{attr}": getattr(_owner(path), attr, None) for path, attr in WATCHED
    }
    # the tolerance table can be loosened without replacing any function
    tolerances = _owner("deeptheory.testing").TOLERANCES  # type: ignore[attr-defined]
    now["deeptheory.testing.TOLERANCES"] = tuple(sorted(map(str, tolerances.items())))
    return now


_SNAPSHOT: dict[str, object] | None = None


def take_snapshot() -> None:
    """Record the watched objects (done once, at ``import deeptheory``)."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        _SNAPSHOT = _current()


def tampered() -> list[str]:
    """Names of watched functions replaced since the snapshot (empty if none)."""
    if _SNAPSHOT is None:
        return []
    now = _current()
    return sorted(
        name
        for name, obj in _SNAPSHOT.items()
        if not (
            now.get(name) is obj or (isinstance(obj, tuple) and now.get(name) == obj)
        )
    )


__all__ = ["WATCHED", "take_snapshot", "tampered"]
