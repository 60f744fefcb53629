"""Local and convolutional patch kernels against a loop over patch pairs."""

import math

import numpy as np
import pytest
import torch

from deeptheory.local_kernels import (
    conv_kernel,
    local_kernel,
    pair_evaluations,
    patches,
)
from deeptheory.stationary_kernels import laplace_kernel
from deeptheory.testing import assert_psd


def cube(n, d, seed=0, dtype=torch.float64):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def loop_kernel(x1, x2, s, sigma, conv, constituent="laplace"):
    """The oracle: every pair of inputs, every pair of periodic patches, in numpy."""
    a, b = x1.numpy(), x2.numpy()
    d = a.shape[1]

    def patch(v, i):
        return np.array([v[(i + k) % d] for k in range(s)])

    def c(u, v):
        r = np.linalg.norm(u - v)
        return (
            math.exp(-r / sigma)
            if constituent == "laplace"
            else math.exp(-(r**2) / (2 * sigma**2))
        )

    out = np.zeros((len(a), len(b)))
    for m, u in enumerate(a):
        for n, v in enumerate(b):
            pairs = (
                [(i, j) for i in range(d) for j in range(d)]
                if conv
                else [(i, i) for i in range(d)]
            )
            out[m, n] = sum(c(patch(u, i), patch(v, j)) for i, j in pairs) / len(pairs)
    return torch.tensor(out)


def test_patches_are_periodic():
    x = torch.arange(5.0, dtype=torch.float64)[None]
    assert patches(x, 3)[0, 3].tolist() == [3.0, 4.0, 0.0]


@pytest.mark.parametrize("conv", [False, True])
@pytest.mark.parametrize(("d", "s", "sigma"), [(5, 2, None), (6, 3, 0.7), (4, 1, 2.0)])
@pytest.mark.parametrize("constituent", ["laplace", "gaussian"])
def test_against_the_loop(conv, d, s, sigma, constituent):
    x1, x2 = cube(6, d), cube(4, d, seed=1)
    kernel = conv_kernel if conv else local_kernel
    got = kernel(
        x1, x2, patch_size=s, sigma=sigma, constituent=constituent, block_bytes=500
    )
    want = loop_kernel(x1, x2, s, s if sigma is None else sigma, conv, constituent)
    assert torch.allclose(got, want, rtol=0, atol=1e-14)


def test_full_patch_is_the_fully_connected_kernel():
    """s = d, σ: every local patch is x rolled, so K_LC = exp(−‖x − y‖/σ)."""
    x = cube(9, 4)
    K = local_kernel(x, patch_size=4, sigma=1.0)
    assert torch.allclose(K, laplace_kernel(x), atol=1e-14)


def test_conv_kernel_is_translation_invariant():
    x, y = cube(5, 7), cube(4, 7, seed=1)
    K = conv_kernel(x, y, patch_size=2)
    shifted = conv_kernel(
        torch.roll(x, 3, dims=1), torch.roll(y, -2, dims=1), patch_size=2
    )
    assert torch.allclose(K, shifted, atol=1e-14)


@pytest.mark.parametrize("kernel", [local_kernel, conv_kernel])
def test_psd_diagonal_dtype(kernel):
    x = cube(50, 6)
    K = kernel(x, patch_size=2)
    assert torch.equal(K, K.T)
    if kernel is local_kernel:  # (1/d) Σ_i c(x_i, x_i) = 1
        assert torch.equal(K.diagonal(), torch.ones(50, dtype=torch.float64))
    assert_psd(K, rtol=1e-12)
    K32 = kernel(x.float(), patch_size=2)
    assert K32.dtype == torch.float32 and torch.allclose(K32.double(), K, atol=1e-5)


def test_pair_evaluations_and_errors():
    assert pair_evaluations(10, 20, 8, convolutional=True) == 10 * 20 * 64
    assert pair_evaluations(10, 20, 8, convolutional=False) == 10 * 20 * 8
    with pytest.raises(ValueError, match="patch_size"):
        local_kernel(cube(3, 4), patch_size=5)
    with pytest.raises(ValueError, match="constituent"):
        conv_kernel(cube(3, 4), patch_size=2, constituent="cosine")
