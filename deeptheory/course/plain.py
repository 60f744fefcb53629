"""Plain data across the grading boundary: values as JSON, never pickle.

Trustworthy grading (issue 8) runs a student's functions in a sandboxed kernel and judges
what they return in a grader process that never executes student code. Arguments go in
and results come out through this codec. Decoding untrusted text must not run code of the
sender's choosing, so the format only knows:

* ``None``, ``bool``, ``int``, ``float`` (with nan and ±inf), ``str``, and ``list``,
  ``tuple`` and ``dict`` (string keys) of these;
* tensors and numpy arrays of an allowed dtype (:data:`DTYPES`), as little-endian bytes in
  base64 with their shape (tensors come back on the CPU, without ``requires_grad``);
* ``torch.Generator`` (its device and state), so that a student's function consumes the
  same random stream as the reference;
* dataclasses and functions (or ``functools.partial`` of functions) defined in the
  ``deeptheory`` package, by name: a decoder rebuilds only those, so a sender can name
  ``deeptheory.models.FCNet`` but not ``os.system``.

Sizes are bounded (``max_bytes`` of text, ``max_depth`` of nesting) before anything is
allocated. Errors are :class:`PlainDataError` with a path to the offending part, e.g.
``result[2].weights: dtype complex64 is not allowed``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import importlib
import json
import math
from typing import Any

import numpy as np
import torch

__all__ = ["DTYPES", "PlainDataError", "decode", "encode", "mirror"]

#: dtypes that cross the boundary: name → (numpy dtype, torch dtype)
DTYPES = {
    "float64": (np.float64, torch.float64),
    "float32": (np.float32, torch.float32),
    "float16": (np.float16, torch.float16),
    "int64": (np.int64, torch.int64),
    "int32": (np.int32, torch.int32),
    "int16": (np.int16, torch.int16),
    "int8": (np.int8, torch.int8),
    "uint8": (np.uint8, torch.uint8),
    "bool": (np.bool_, torch.bool),
}
_TORCH_NAMES = {t: name for name, (_, t) in DTYPES.items()}
PACKAGE = "deeptheory"


class PlainDataError(ValueError):
    """A value that cannot cross the boundary, or text that is not valid plain data."""


def encode(value: Any, *, max_bytes: int = 256 * 2**20, max_depth: int = 32) -> str:
    """``value`` as JSON text (see the module docstring for what is allowed)."""
    text = json.dumps(_enc(value, "value", max_depth), allow_nan=False)
    if len(text) > max_bytes:
        raise PlainDataError(f"value: {len(text)} bytes of data, more than {max_bytes}")
    return text


def decode(
    text: str | bytes, *, max_bytes: int = 256 * 2**20, max_depth: int = 32
) -> Any:
    """The value that :func:`encode` wrote; rejects anything else with a clear error."""
    if len(text) > max_bytes:
        raise PlainDataError(f"value: {len(text)} bytes of data, more than {max_bytes}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise PlainDataError(f"value: not JSON ({error})") from None
    return _dec(data, "value", max_depth)


def _enc(v: Any, path: str, depth: int) -> Any:
    if depth < 0:
        raise PlainDataError(f"{path}: nested too deep")
    if v is None or isinstance(v, bool | int | str):
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**63:
            raise PlainDataError(f"{path}: integer out of the 64-bit range")
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"float": repr(v)}
    if isinstance(v, np.generic):
        return _enc(v.item(), path, depth)
    if isinstance(v, torch.Tensor | np.ndarray):
        return _enc_array(v, path)
    if isinstance(v, torch.Generator):
        state = v.get_state().numpy().tobytes()
        return {"generator": str(v.device), "state": base64.b64encode(state).decode()}
    if isinstance(v, list | tuple):
        items = [_enc(x, f"{path}[{i}]", depth - 1) for i, x in enumerate(v)]
        return items if isinstance(v, list) else {"tuple": items}
    if isinstance(v, dict):
        for key in v:
            if not isinstance(key, str):
                raise PlainDataError(f"{path}: dict keys must be strings; got {key!r}")
        return {"dict": {k: _enc(x, f"{path}[{k!r}]", depth - 1) for k, x in v.items()}}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = {
            f.name: _enc(getattr(v, f.name), f"{path}.{f.name}", depth - 1)
            for f in dataclasses.fields(v)
        }
        return {"dataclass": _name_of(type(v), path), "fields": fields}
    if isinstance(v, functools.partial):
        return {
            "partial": _name_of(v.func, path),
            "args": _enc(list(v.args), f"{path}.args", depth - 1),
            "kwargs": _enc(dict(v.keywords), f"{path}.keywords", depth - 1),
        }
    if callable(v) and hasattr(v, "__qualname__"):
        return {"function": _name_of(v, path)}
    raise PlainDataError(f"{path}: a {type(v).__name__} cannot cross the boundary")


def _enc_array(v: torch.Tensor | np.ndarray, path: str) -> dict[str, Any]:
    if isinstance(v, torch.Tensor):
        name = _TORCH_NAMES.get(v.dtype)
        if name is None:
            raise PlainDataError(f"{path}: dtype {v.dtype} is not allowed")
        array = v.detach().cpu().contiguous().numpy()
        kind = "tensor"
    else:
        name = v.dtype.name
        if name not in DTYPES:
            raise PlainDataError(f"{path}: dtype {name} is not allowed")
        array, kind = v, "array"
    data = np.ascontiguousarray(
        array, dtype=np.dtype(DTYPES[name][0]).newbyteorder("<")
    )
    return {
        kind: name,
        "shape": list(array.shape),
        "data": base64.b64encode(data.tobytes()).decode(),
    }


def _name_of(obj: Any, path: str) -> str:
    module = getattr(obj, "__module__", "") or ""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        raise PlainDataError(
            f"{path}: only {PACKAGE}'s own classes and functions cross the boundary; "
            f"got {module}.{getattr(obj, '__qualname__', obj)!s}"
        )
    return f"{module}:{obj.__qualname__}"


def _lookup(name: Any, path: str) -> Any:
    if not isinstance(name, str) or name.count(":") != 1:
        raise PlainDataError(f"{path}: bad name {name!r}")
    module, qualname = name.split(":")
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        raise PlainDataError(f"{path}: {module} is not part of {PACKAGE}")
    if any(part.startswith("_") for part in qualname.split(".")) or "<" in qualname:
        raise PlainDataError(f"{path}: {name} is private")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise PlainDataError(f"{path}: no such name {name}") from None
    if getattr(obj, "__module__", None) != module:
        raise PlainDataError(f"{path}: {name} is not defined in {module}")
    return obj


def _dec(d: Any, path: str, depth: int) -> Any:
    if depth < 0:
        raise PlainDataError(f"{path}: nested too deep")
    if d is None or isinstance(d, bool | int | float | str):
        return d
    if isinstance(d, list):
        return [_dec(x, f"{path}[{i}]", depth - 1) for i, x in enumerate(d)]
    if not isinstance(d, dict) or not d:
        raise PlainDataError(f"{path}: unexpected {type(d).__name__}")
    kind = next(iter(d))
    try:
        if kind == "float" and d.keys() == {"float"}:
            if d["float"] not in ("nan", "inf", "-inf"):
                raise PlainDataError(f"{path}: bad float {d['float']!r}")
            return float(d["float"])
        if kind in ("tensor", "array") and d.keys() == {kind, "shape", "data"}:
            return _dec_array(d, kind, path)
        if kind == "generator" and d.keys() == {"generator", "state"}:
            gen = torch.Generator(device=d["generator"])
            state = base64.b64decode(d["state"], validate=True)
            gen.set_state(torch.frombuffer(bytearray(state), dtype=torch.uint8))
            return gen
        if kind == "tuple" and d.keys() == {"tuple"} and isinstance(d["tuple"], list):
            return tuple(_dec(d["tuple"], path, depth))
        if kind == "dict" and d.keys() == {"dict"} and isinstance(d["dict"], dict):
            return {
                k: _dec(x, f"{path}[{k!r}]", depth - 1) for k, x in d["dict"].items()
            }
        if kind == "dataclass" and d.keys() == {"dataclass", "fields"}:
            cls = _lookup(d["dataclass"], path)
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                raise PlainDataError(f"{path}: {d['dataclass']} is not a dataclass")
            if not isinstance(d["fields"], dict):
                raise PlainDataError(f"{path}: fields must be an object")
            values = {
                k: _dec(x, f"{path}.{k}", depth - 1) for k, x in d["fields"].items()
            }
            names = {f.name for f in dataclasses.fields(cls)}
            if set(values) != names:
                raise PlainDataError(
                    f"{path}: {cls.__name__} needs fields {sorted(names)}"
                )
            init = {f.name for f in dataclasses.fields(cls) if f.init}
            obj = cls(**{k: v for k, v in values.items() if k in init})
            for k in names - init:
                object.__setattr__(obj, k, values[k])
            return obj
        if kind == "partial" and d.keys() == {"partial", "args", "kwargs"}:
            func = _function(d["partial"], path)
            args = _dec(d["args"], f"{path}.args", depth - 1)
            kwargs = _dec(d["kwargs"], f"{path}.keywords", depth - 1)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise PlainDataError(f"{path}: bad partial")
            return functools.partial(func, *args, **kwargs)
        if kind == "function" and d.keys() == {"function"}:
            return _function(d["function"], path)
    except PlainDataError:
        raise
    except (TypeError, ValueError, RuntimeError) as error:
        raise PlainDataError(f"{path}: invalid {kind} ({error})") from None
    raise PlainDataError(f"{path}: unknown entry {sorted(d)}")


def _function(name: Any, path: str) -> Any:
    func = _lookup(name, path)
    if isinstance(func, type) or not callable(func):
        raise PlainDataError(f"{path}: {name} is not a function")
    return func


def _dec_array(d: dict[str, Any], kind: str, path: str) -> Any:
    name, shape = d[kind], d["shape"]
    if name not in DTYPES:
        raise PlainDataError(f"{path}: dtype {name!r} is not allowed")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise PlainDataError(f"{path}: bad shape {shape!r}")
    raw = base64.b64decode(d["data"], validate=True)
    dtype = np.dtype(DTYPES[name][0]).newbyteorder("<")
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise PlainDataError(f"{path}: {len(raw)} bytes do not fill shape {shape}")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(DTYPES[name][0])
    return torch.from_numpy(array) if kind == "tensor" else array


def mirror(original: Any, after: Any) -> None:
    """Make ``original`` equal to ``after`` in place, where it can be changed in place:
    tensors and arrays (values, or shape and dtype), generators (state), dicts and lists
    (items), recursively, also inside tuples.

    A student's function runs on decoded copies of its arguments in the kernel; the
    grader mirrors what the call did to them onto its own arguments (:func:`decode` of
    the arguments after the call), so that a test sees a consumed random stream, or an
    input the function wrote into, as it would in one process.
    """
    if isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
        after = after.to(original.device)
        same = original.shape == after.shape and original.dtype == after.dtype
        if same and torch.equal(original, after):
            return  # untouched (also an expanded input, which cannot be written)
        with torch.no_grad():
            try:
                if not same:
                    raise RuntimeError("resized")
                original.copy_(after)
            except RuntimeError:  # another shape, or memory shared by elements
                original.data = after
    elif isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.dtype == after.dtype:
            original[...] = after
    elif isinstance(original, torch.Generator) and isinstance(after, torch.Generator):
        original.set_state(after.get_state())
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in [k for k in original if k not in after]:
            del original[key]
        for key, value in after.items():
            if key in original and _same_kind(original[key], value):
                mirror(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(after, list):
        if len(original) != len(after):
            original[:] = after
            return
        for index, value in enumerate(after):
            if _same_kind(original[index], value):
                mirror(original[index], value)
            else:
                original[index] = value
    elif isinstance(original, tuple) and isinstance(after, (tuple, list)):
        for old, new in zip(original, after, strict=False):
            if _same_kind(old, new):
                mirror(old, new)


_MUTABLE = (torch.Tensor, np.ndarray, torch.Generator, dict, list, tuple)


def _same_kind(a: Any, b: Any) -> bool:
    return any(isinstance(a, t) and isinstance(b, t) for t in _MUTABLE)
