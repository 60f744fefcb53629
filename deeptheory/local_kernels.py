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
(``pair_evaluations``). Both work shift by shift: for a shift δ the squared pixel
differences (x_m − y_{m+δ})² are summed over circular windows of s pixels, so every
distance is computed from differences (no cancellation, exact zeros on the diagonal) and
the memory is one (rows, n2, d) block, rows chosen to keep it near ``block_bytes``.
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
    deltas = range(d) if shifts == "all" else range(1)
    out = x1.new_zeros(n1, n2)
    rows = max(1, block_bytes // max(1, n2 * d * x1.element_size()))
    for start in range(0, n1, rows):
        a = x1[start : start + rows]  # (r, d)
        block = out[start : start + rows]
        for delta in deltas:
            y = torch.roll(x2, -delta, dims=1)  # y[:, m] = x2[:, m + δ]
            sq = (a[:, None, :] - y[None, :, :]).square_()  # (r, n2, d)
            window = sq  # Σ_{k<s} sq[..., m + k]
            for k in range(1, s):
                shifted = torch.roll(sq, -k, dims=2)
                window = window + shifted if k == 1 else window.add_(shifted)
            if constituent == "laplace":
                window.sqrt_().mul_(-1 / sigma)
            else:
                window.mul_(-0.5 / sigma**2)
            block += window.exp_().sum(-1)
    out /= d * len(deltas)
    if symmetric:
        out = 0.5 * (out + out.T)
    return out
