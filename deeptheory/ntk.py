"""Empirical neural tangent kernel of any torch model.

    Θ_{kk'}(x, x') = Σ_p ∂_p f_k(x) ∂_p f_{k'}(x')          (Jacot et al. 2018, arXiv 1806.07572)

summed over every parameter p. :func:`empirical_ntk` returns the (n1, n2) Gram matrix of the
trace Σ_k Θ_kk (for a scalar model, Θ itself), or all (n1, n2, k, k) output blocks.

Methods (all exact; they agree to rounding, which ``tests/test_ntk.py`` checks):

=============== ============================================================= ==============
method          how                                                           cost
=============== ============================================================= ==============
``loop``        one ``torch.autograd.grad`` per sample and output, then JJᵀ;   (n1+n2)k passes
                slow and obviously right: the oracle
``jacobian``    ``vmap(jacrev)`` Jacobian blocks, contracted (torch.func)      O(n k P) memory
``ntk_vp``      NTK-vector products: J₁(J₂ᵀu) by vjp then jvp (torch.func)     no Jacobian
``structured``  layer-wise Gram factorisation, :mod:`deeptheory.ntk_fc`        O(n² h L)
                (:class:`~deeptheory.models.FCNet` only)
``auto``        ``structured`` for an FCNet, else ``jacobian``
=============== ============================================================= ==============

Samples are processed in blocks so that memory stays bounded for large n; with ``x2=None``
only the blocks on and above the diagonal are computed and the result is exactly symmetric.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from deeptheory._validation import (
    check_choice,
    check_int,
    check_same_kind,
    check_tensor,
)
from deeptheory.models import FCNet, Model, Params, functionalize
from deeptheory.ntk_fc import fc_feature_bytes, fc_features, fc_gram

Tensor = torch.Tensor
Method = Literal["auto", "structured", "jacobian", "ntk_vp", "loop"]
METHODS = ("auto", "structured", "jacobian", "ntk_vp", "loop")

#: Target memory of one block of per-sample features (Jacobian rows, layer features).
BLOCK_BYTES = 2**29
#: With x2=None and at least this many samples, use ≥ 4 blocks and skip those below the
#: diagonal (10/16 of the work). Below it, smaller GEMMs cost more than the saving
#: (benchmarks/ntk.py: 0.7× at n = 256, 1.3–2× at n ≥ 1024).
SPLIT_SYMMETRIC_FROM = 1024


def empirical_ntk(
    model: Model | nn.Module,
    params: Params | None,
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    method: Method = "auto",
    per_output: bool = False,
    block_size: int | None = None,
) -> Tensor:
    """Empirical NTK Θ(x1, x2) = J(x1) J(x2)ᵀ of ``model`` at ``params``.

    Args:
      model: a pure function ``model(params, x) -> (n,) or (n, k)``, an
        :class:`~deeptheory.models.FCNet`, or an ``nn.Module``.
      params: dict of parameter tensors (same dtype and device as ``x1``); None to use an
        ``nn.Module``'s own parameters. For an FCNet, parameters with a leading ensemble
        axis E give one kernel per member.
      x1: (n1, …) inputs.
      x2: (n2, …) inputs; None means x2 = x1 (half the work, exactly symmetric result).
      method: see the module docstring.
      per_output: return every output block Θ_{kk'} instead of the trace Σ_k Θ_kk.
      block_size: samples per block; None chooses it so that a block's features take
        about ``BLOCK_BYTES``.

    Returns:
      (n1, n2), or (n1, n2, k, k) if ``per_output``; with a leading (E,) for an FCNet
      ensemble. Dtype and device of ``x1``.

    Example:
      >>> net = FCNet(input_dim=2, width=100, hidden_layers=2)
      >>> params = net.init(generator=torch.Generator().manual_seed(0))
      >>> empirical_ntk(net, params, torch.randn(5, 2, dtype=torch.float64)).shape
      torch.Size([5, 5])
    """
    check_choice("method", method, METHODS)
    if not isinstance(per_output, bool):
        raise TypeError(f"per_output must be a bool; got {type(per_output).__name__}")
    if block_size is not None:
        check_int("block_size", block_size, minimum=1)
    if isinstance(model, nn.Module):
        module_fn, module_params = functionalize(model)
        model, params = module_fn, (module_params if params is None else params)
    if not callable(model):
        raise TypeError(f"model must be callable; got {type(model).__name__}")
    is_fc = isinstance(model, FCNet)
    if method == "auto":
        method = "structured" if is_fc else "jacobian"
    if method == "structured" and not is_fc:
        raise ValueError(
            "method='structured' needs an FCNet model; use 'jacobian', 'ntk_vp' or 'loop'"
        )
    x1, x2 = _check_inputs(model, params, x1, x2)
    if is_fc:
        ensemble = model.ensemble_size(params)
        if method == "structured":
            return _fc_structured(
                model, params, x1, x2, per_output, block_size, ensemble
            )
        if ensemble is not None:
            members = [
                empirical_ntk(
                    model,
                    FCNet.member(params, e),
                    x1,
                    x2,
                    method=method,
                    per_output=per_output,
                    block_size=block_size,
                )
                for e in range(ensemble)
            ]
            return torch.stack(members)
    fn = _as_matrix_output(model)
    k = _num_outputs(fn, params, x1)
    num_params = sum(p.numel() for p in params.values())
    per_sample = max(1, k * num_params * x1.element_size())  # one Jacobian row block
    if block_size is None:
        block_size = max(1, BLOCK_BYTES // per_sample)
    if method == "loop":
        feats, gram = (lambda xb: _jacobian_loop(fn, params, xb)), _contract
    elif method == "jacobian":
        feats, gram = (lambda xb: _jacobian_vmap(fn, params, xb)), _contract
    else:  # ntk_vp: pairs of blocks; the NTK-vector products keep a Jacobian per column
        block_size = min(block_size, 64)
        feats = lambda xb: xb  # noqa: E731
        gram = lambda a, b, per_output: _ntk_vp_block(fn, params, a, b, k, per_output)  # noqa: E731
    return blocked_gram(
        feats,
        gram,
        x1,
        x2,
        block_size=block_size,
        per_output=per_output,
        cache_bytes=4 * BLOCK_BYTES,
        # ntk_vp's "features" are the inputs themselves: always cheap to keep
        feature_bytes=lambda n: n * (per_sample if method != "ntk_vp" else 0),
    )


# -- blocking --------------------------------------------------------------------------
def blocked_gram(
    features: Callable[[Tensor], Any],
    gram: Callable[..., Tensor],
    x1: Tensor,
    x2: Tensor | None,
    *,
    block_size: int,
    per_output: bool,
    cache_bytes: int | None = None,
    feature_bytes: Callable[[int], int] | None = None,
) -> Tensor:
    """Assemble a Gram matrix block by block from per-sample ``features``.

    ``gram(f1, f2, per_output=...)`` returns the block (…, b1, b2[, k, k]). The features of
    the column blocks are kept when ``feature_bytes(n2)`` fits in ``cache_bytes`` (always,
    if ``cache_bytes`` is None) and recomputed for every row block otherwise, so memory
    stays bounded by a few blocks whatever n.
    With ``x2 is None`` only blocks j ≥ i are computed and mirrored (for
    n ≥ ``SPLIT_SYMMETRIC_FROM`` the block size is capped at ⌈n/4⌉ so that this saves work).
    """
    symmetric = x2 is None
    cols = x1 if symmetric else x2
    if symmetric and len(x1) >= SPLIT_SYMMETRIC_FROM:
        # at least 4 row blocks, so that 10 of 16 block pairs are computed, not all 16
        block_size = min(block_size, -(-len(x1) // 4))
    rows_idx = [
        (s, min(s + block_size, len(x1))) for s in range(0, len(x1), block_size)
    ]
    cols_idx = [
        (s, min(s + block_size, len(cols))) for s in range(0, len(cols), block_size)
    ]
    cache_fits = cache_bytes is None or (
        feature_bytes is not None and feature_bytes(len(cols)) <= cache_bytes
    )
    cache: dict[int, Any] = {}

    def col_features(j: int) -> Any:
        if j in cache:
            return cache[j]
        s, e = cols_idx[j]
        value = features(cols[s:e])
        if cache_fits:
            cache[j] = value
        return value

    result: Tensor | None = None
    for i, (r0, r1) in enumerate(rows_idx):
        f_row = col_features(i) if symmetric else features(x1[r0:r1])
        for j, (c0, c1) in enumerate(cols_idx):
            if symmetric and j < i:
                continue
            f_col = f_row if (symmetric and i == j) else col_features(j)
            block = gram(f_row, f_col, per_output=per_output)
            if result is None:
                n_axes = 4 if per_output else 2
                lead = block.shape[: block.ndim - n_axes]
                tail = block.shape[block.ndim - 2 :] if per_output else ()
                result = block.new_empty((*lead, len(x1), len(cols), *tail))
            view = (
                result[..., r0:r1, c0:c1, :, :]
                if per_output
                else result[..., r0:r1, c0:c1]
            )
            view.copy_(block)
            if symmetric and j > i:  # Θ_kl(x', x) = Θ_lk(x, x')
                if per_output:
                    mirror = block.transpose(-4, -3).transpose(-2, -1)
                    result[..., c0:c1, r0:r1, :, :].copy_(mirror)
                else:
                    result[..., c0:c1, r0:r1].copy_(block.transpose(-1, -2))
    assert result is not None  # x1 has at least one row (checked)
    return result


# -- FCNet: structured path ------------------------------------------------------------
def _fc_structured(
    net: FCNet,
    params: Params,
    x1: Tensor,
    x2: Tensor | None,
    per_output: bool,
    block_size: int | None,
    ensemble: int | None,
) -> Tensor:
    itemsize = x1.element_size()
    if block_size is None:
        per_sample = fc_feature_bytes(net, 1, ensemble, itemsize)
        block_size = max(1, BLOCK_BYTES // per_sample)
    return blocked_gram(
        lambda xb: fc_features(net, params, xb),
        lambda a, b, per_output: fc_gram(net, a, b, per_output=per_output),
        x1,
        x2,
        block_size=block_size,
        per_output=per_output,
        cache_bytes=4 * BLOCK_BYTES,
        feature_bytes=lambda n: fc_feature_bytes(net, n, ensemble, itemsize),
    )


# -- generic models --------------------------------------------------------------------
def _as_matrix_output(model: Model) -> Model:
    """Wrap ``model`` so that it always returns (n, k)."""

    def fn(params: Params, x: Tensor) -> Tensor:
        out = model(params, x)
        return out.unsqueeze(-1) if out.ndim == 1 else out

    return fn


def _num_outputs(fn: Model, params: Params, x1: Tensor) -> int:
    n = min(2, len(x1))  # two samples tell (n, k) from (k, n)
    with torch.no_grad():
        out = fn(params, x1[:n])
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != n:
        shape = (
            tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        )
        raise ValueError(
            "model(params, x) must return a tensor of shape (n,) or (n, k) for x of "
            f"shape (n, …); for n = {n} it returned {shape}"
        )
    return int(out.shape[1])


def _jacobian_loop(fn: Model, params: Params, xb: Tensor) -> Tensor:
    """(b, k, P) Jacobian, one ``torch.autograd.grad`` call per sample and output."""
    names = list(params)
    leaves = [params[name].detach().requires_grad_(True) for name in names]
    rows = []
    with torch.enable_grad():
        for i in range(len(xb)):
            out = fn(dict(zip(names, leaves, strict=True)), xb[i : i + 1])[0]  # (k,)
            per_output = []
            for k in range(out.shape[0]):
                grads = torch.autograd.grad(
                    out[k], leaves, retain_graph=True, allow_unused=True
                )
                flat = [
                    (torch.zeros_like(leaf) if g is None else g).reshape(-1)
                    for g, leaf in zip(grads, leaves, strict=True)
                ]
                per_output.append(torch.cat(flat))
            rows.append(torch.stack(per_output))
    return torch.stack(rows)


def _jacobian_vmap(fn: Model, params: Params, xb: Tensor) -> Tensor:
    """(b, k, P) Jacobian by ``vmap(jacrev)`` over the samples of the block."""

    def single(p: Params, x: Tensor) -> Tensor:
        return fn(p, x.unsqueeze(0))[0]  # (k,)

    jac = torch.func.vmap(torch.func.jacrev(single), in_dims=(None, 0))(params, xb)
    b = len(xb)
    return torch.cat([j.reshape(b, j.shape[1], -1) for j in jac.values()], dim=-1)


def _contract(j1: Tensor, j2: Tensor, *, per_output: bool) -> Tensor:
    """Θ from Jacobian blocks (b1, k, P) and (b2, k, P)."""
    if per_output:
        return torch.einsum("akp,blp->abkl", j1, j2)
    return j1.reshape(len(j1), -1) @ j2.reshape(len(j2), -1).T


def _ntk_vp_block(
    fn: Model, params: Params, x1: Tensor, x2: Tensor, k: int, per_output: bool
) -> Tensor:
    """Θ(x1, x2) column by column: Θ u = J₁ (J₂ᵀ u) for the basis vectors u of R^{b2·k}."""
    _, vjp_fn = torch.func.vjp(lambda p: fn(p, x2), params)

    def column(u: Tensor) -> Tensor:
        (tangent,) = vjp_fn(u)  # J₂ᵀu, shaped like params
        return torch.func.jvp(lambda p: fn(p, x1), (params,), (tangent,))[1]  # (b1, k)

    b1, b2 = len(x1), len(x2)
    basis = torch.eye(b2 * k, dtype=x1.dtype, device=x1.device).reshape(b2 * k, b2, k)
    with warnings.catch_warnings():
        # torch's forward AD loads its jvp decompositions through torch.jit.script on
        # first use, which warns about itself; nothing in our code uses TorchScript.
        warnings.filterwarnings(
            "ignore",
            message=r"`torch.jit.script` is deprecated",
            category=DeprecationWarning,
        )
        cols = torch.func.vmap(column)(
            basis
        )  # (b2·k, b1, k): cols[(b, l), a, k] = Θ_kl(a, b)
    full = cols.reshape(b2, k, b1, k).permute(2, 0, 3, 1)  # (b1, b2, k, l)
    return full if per_output else torch.diagonal(full, dim1=-2, dim2=-1).sum(-1)


def _check_inputs(
    model: Model, params: Params | None, x1: Any, x2: Any
) -> tuple[Tensor, Tensor | None]:
    if not isinstance(params, dict) or not all(
        isinstance(v, torch.Tensor) for v in params.values()
    ):
        raise TypeError("params must be a dict of tensors (name -> torch.Tensor)")
    if not params:
        raise ValueError("params is empty: the model has no parameters")
    fc = model if isinstance(model, FCNet) else None
    if fc is not None:
        fc.check_params(params)
    ndim = 2 if fc is not None else None
    last_dim = fc.input_dim if fc is not None else None
    x1 = check_tensor("x1", x1, ndim=ndim, last_dim=last_dim)
    if x1.ndim == 0 or len(x1) == 0:
        raise ValueError(
            f"x1 must hold at least one sample; got shape {tuple(x1.shape)}"
        )
    if x2 is not None:
        x2 = check_tensor("x2", x2, ndim=ndim, last_dim=last_dim)
        if x2.ndim == 0 or len(x2) == 0 or x2.shape[1:] != x1.shape[1:]:
            raise ValueError(
                f"x2 must have shape (n2, {', '.join(map(str, x1.shape[1:]))}) like x1; "
                f"got {tuple(x2.shape)}"
            )
        check_same_kind("x2", x2, "x1", x1)
    for name, value in params.items():
        if value.is_floating_point():
            check_same_kind(f"params[{name!r}]", value, "x1", x1)
    return x1, x2
