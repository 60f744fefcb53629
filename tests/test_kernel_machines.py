"""Kernel machines: the MSE kernel flow against its closed form, the network's lazy limit
against the kernel flow with α Θ₀, ridge against a direct solve, SVC against sklearn."""

import numpy as np
import pytest
import torch

from deeptheory.kernel_machines import kernel_flow, kernel_ridge, kernel_svc
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.tasks import Stripe
from deeptheory.testing import assert_close
from deeptheory.train import TrainConfig, run

F64 = dict(dtype=torch.float64)


def data(p=16, d=3, seed=0):
    return Stripe(d=d).sample(p, generator=torch.Generator().manual_seed(seed))


def rbf(a, b):
    return torch.exp(-(torch.cdist(a, b) ** 2) / 2)


def test_mse_kernel_flow_follows_the_closed_form():
    """F_t = (I − exp(−t K/p)) y on the training set."""
    x, y = data()
    K = rbf(x, x)
    config = TrainConfig(
        loss="mse", max_time=20.0, stop_margin=None, max_dout=1e-4, max_dgrad=None
    )
    result = kernel_flow(K, y, config=config)
    assert result.t == pytest.approx(20.0)
    values, vectors = torch.linalg.eigh(K)
    decay = vectors @ torch.diag(torch.exp(-20.0 * values / len(y))) @ vectors.T
    assert_close(result.F, y - decay @ y, rtol=2e-3, atol=0)


def test_hinge_kernel_flow_reaches_every_margin():
    x, y = data()
    x_test, _ = data(p=8, seed=1)
    result = kernel_flow(
        rbf(x, x), y, rbf(x_test, x), config=TrainConfig(max_dgrad=None)
    )
    assert result.converged and bool((y * result.F >= 1).all())
    assert float(result.loss) == 0.0 and result.F_test.shape == (8,)


def test_a_lazy_network_follows_the_kernel_flow_of_alpha_times_its_initial_ntk():
    """science.md §2.5 P2: α → ∞, same time units (code convention)."""
    x, y = data(p=12)
    x_test, _ = data(p=6, seed=3)
    net = FCNet(input_dim=3, width=64, bias_std=1.0, parametrization="mean_field")
    params = net.init(generator=torch.Generator().manual_seed(2))
    alpha = 1e4
    config = TrainConfig(max_dgrad=None, max_dout=0.03, max_steps=200_000)  # ~17k steps
    last = run(net, params, x, y, alpha=alpha, config=config)[-1]
    assert bool(last.converged)
    theta = empirical_ntk(net, params, torch.cat([x, x_test]))
    K, K_test = alpha * theta[:12, :12], alpha * theta[12:, :12]
    kernel = kernel_flow(K, y, K_test, config=config)
    assert kernel.converged
    F_test_net = alpha * (net(last.params, x_test) - net(params, x_test))
    # the same dynamics up to O(1/α) and the Euler steps (measured: 1e-3 apart)
    assert_close(F_test_net, kernel.F_test, rtol=0.01, atol=0)
    assert abs(float(last.t) - kernel.t) / kernel.t < 0.01


def test_kernel_ridge_is_the_regularised_solve():
    x, y = data()
    x_test, _ = data(p=5, seed=2)
    K, K_test = rbf(x, x), rbf(x_test, x)
    c, pred = kernel_ridge(K, y, K_test, ridge=0.1)
    want = np.linalg.solve(K.numpy() + 16 * 0.1 * np.eye(16), y.numpy())
    assert_close(c, torch.from_numpy(want))
    assert_close(pred, K_test @ c)
    c0, _ = kernel_ridge(K, y, ridge=0.0)
    assert_close(K @ c0, y, rtol=1e-6, atol=0)  # interpolation


def test_kernel_svc_equals_sklearn_with_the_same_kernel():
    from sklearn.svm import SVC

    x, y = data()
    x_test, _ = data(p=7, seed=4)
    got = kernel_svc(x @ x.T, y, x_test @ x.T, C=2.0)
    want = (
        SVC(kernel="linear", C=2.0).fit(x.numpy(), y.numpy()).decision_function(x_test)
    )
    assert_close(got, torch.from_numpy(want), rtol=1e-6, atol=1e-9)
    assert got.dtype == torch.float64


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: kernel_ridge(torch.eye(3, **F64), torch.ones(2, **F64), ridge=1.0),
            "K must be",
        ),
        (
            lambda: kernel_ridge(torch.eye(2, **F64), torch.ones(2, **F64), ridge=-1.0),
            "ridge",
        ),
        (
            lambda: kernel_flow(torch.eye(2, **F64), torch.tensor([1.0, 0.0], **F64)),
            "labels ±1",
        ),
        (
            lambda: kernel_svc(
                torch.eye(2, **F64), torch.ones(2, **F64), torch.ones(3, 3, **F64)
            ),
            r"K_test must be \(n, 2\)",
        ),
        (
            lambda: kernel_flow(
                torch.eye(2, **F64),
                torch.ones(2, **F64),
                config=TrainConfig(method="gd"),
            ),
            "integrates the flow",
        ),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
