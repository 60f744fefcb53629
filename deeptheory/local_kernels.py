"""Local and convolutional patch kernels on 1-D periodic "images" of d pixels.

Favero, Cagnetta & Wyart (2021, arXiv:2106.08619; shared/science.md §5.2; the authors'
``fracagnetta/local_kernels/kernels.py``): an input x ∈ R^d has the d patches
x_i = (x_i, x_{i+1}, …, x_{i+s−1}) of s adjacent pixels (indices mod d: periodic, stride
1). With a constituent kernel c on R^s (Laplace exp(−‖a − b‖/σ) by default, σ = s as in
the authors' code):

    local          K_LC(x, y) = (1/d)  Σ_i   c(x_i, y_i)
    convolutional  K_CN(x, y) = (1/d²) Σ_i,j c(x_i, y_j)

K_LC is the covariance of the local field (1/√d) Σ_i g_i(x_i) with independent g_i ~
GP(0, c), K_CN that of the convolutional field (1/d) Σ_i g(x_i): the teachers of
:mod:`deeptheory.teachers` are Gaussian fields with these covariances.

Cost: the local kernel evaluates n1·n2·d patch pairs, the convolutional one n1·n2·d²
(``pair_evaluations``). Both compute the patch distances with ``torch.cdist`` from the
differences (``donot_use_mm_for_euclid_dist``: no cancellation, exact zeros on the
diagonal), a block of rows at a time so that the (rows·d, n2·d) distance block (conv) or
(d, rows, n2) block (local) stays near ``block_bytes``.
"""

from __future__ import annotations

import torch

from deeptheory._validation import (
    check_choice,
    check_float,
    check_int,
    check_same_kind,
    check_tensor,
)

Tensor = torch.Tensor

__all__ = ["conv_kernel", "local_kernel", "pair_evaluations", "patches"]

CONSTITUENTS = ("laplace", "gaussian")


def patches(x: Tensor, patch_size: int) -> Tensor:
    """The d periodic patches of each input: (n, d) → (n, d, s), [a, i, k] = x[a, i+k mod d]."""
    x = check_tensor("x", x, ndim=2)
    s = _patch_size(patch_size, x.shape[1])
    index = (torch.arange(x.shape[1])[:, None] + torch.arange(s)[None, :]) % x.shape[1]
    return x[:, index.to(x.device)]


def local_kernel(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    patch_size: int,
    sigma: float | None = None,
    constituent: str = "laplace",
    block_bytes: int = 2**27,
) -> Tensor:
    """K_LC(x, y) = (1/d) Σ_i c(x_i, y_i), (n1, n2); σ defaults to the patch size s."""
    return _patch_kernel(
        x1, x2, patch_size, sigma, constituent, block_bytes, shifts="local"
    )


def conv_kernel(
    x1: Tensor,
    x2: Tensor | None = None,
    *,
    patch_size: int,
    sigma: float | None = None,
    constituent: str = "laplace",
    block_bytes: int = 2**27,
) -> Tensor:
    """K_CN(x, y) = (1/d²) Σ_i,j c(x_i, y_j), (n1, n2); σ defaults to the patch size s."""
    return _patch_kernel(
        x1, x2, patch_size, sigma, constituent, block_bytes, shifts="all"
    )


def pair_evaluations(n1: int, n2: int, d: int, *, convolutional: bool) -> int:
    """How many constituent evaluations c(x_i, y_j) a Gram of n1 × n2 inputs costs."""
    return n1 * n2 * d * (d if convolutional else 1)


def _patch_size(patch_size: int, d: int) -> int:
    check_int("patch_size", patch_size, minimum=1)
    if patch_size > d:
        raise ValueError(f"patch_size must be <= d = {d}; got {patch_size}")
    return patch_size


def _patch_kernel(
    x1: Tensor,
    x2: Tensor | None,
    patch_size: int,
    sigma: float | None,
    constituent: str,
    block_bytes: int,
    *,
    shifts: str,
) -> Tensor:
    x1 = check_tensor("x1", x1, ndim=2)
    symmetric = x2 is None
    if x2 is None:
        x2 = x1
    else:
        x2 = check_tensor("x2", x2, ndim=2, last_dim=x1.shape[1])
        check_same_kind("x2", x2, "x1", x1)
    d = x1.shape[1]
    s = _patch_size(patch_size, d)
    sigma = float(s) if sigma is None else check_float("sigma", sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0; got {sigma}")
    check_choice("constituent", constituent, CONSTITUENTS)
    check_int("block_bytes", block_bytes, minimum=1)
    n1, n2 = len(x1), len(x2)
    conv = shifts == "all"
    p1, p2 = patches(x1, s), patches(x2, s)  # (n, d, s)
    out = x1.new_empty(n1, n2)
    per_row = n2 * d * (d if conv else 1) * x1.element_size()
    rows = max(1, block_bytes // per_row)
    exact = "donot_use_mm_for_euclid_dist"  # differences: no cancellation
    for start in range(0, n1, rows):
        a = p1[start : start + rows]  # (r, d, s)
        if conv:  # all d² patch pairs: (r d, n2 d)
            dist = torch.cdist(a.reshape(-1, s), p2.reshape(-1, s), compute_mode=exact)
        else:  # patch i against patch i: (d, r, n2)
            dist = torch.cdist(
                a.transpose(0, 1), p2.transpose(0, 1), compute_mode=exact
            )
        if constituent == "laplace":
            dist.mul_(-1 / sigma)
        else:
            dist.square_().mul_(-0.5 / sigma**2)
        c = dist.exp_()
        if conv:
            out[start : start + rows] = c.view(len(a), d, n2, d).sum((1, 3))
        else:
            out[start : start + rows] = c.sum(0)
    out /= d * d if conv else d
    if symmetric:
        out = 0.5 * (out + out.T)
    return out
