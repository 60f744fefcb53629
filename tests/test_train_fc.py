"""The hand-written forward/backward of FCNet (deeptheory.train_fc) against autograd: the
same gradient to rounding on random networks, and the same trajectories through train()
(an FCNet wrapped in a lambda is an opaque model, so it takes the autograd path)."""

import itertools

import pytest
import torch

from deeptheory.activations import ACTIVATIONS
from deeptheory.alpha import scaled_loss
from deeptheory.losses import LOSSES
from deeptheory.models import FCNet
from deeptheory.tasks import Stripe
from deeptheory.testing import assert_close
from deeptheory.train import TrainConfig, run
from deeptheory.train_fc import (
    FCLossGradient,
    activate_into,
    derivative_over,
    supports,
)

# torch's softplus is the identity above 5z = 20, its `derivative` the exact σ(5z): they
# differ by up to e^-20 there (see deeptheory.train_fc); every other activation is exact
RTOL = {name: 1e-12 for name in ACTIVATIONS} | {"softplus": 1e-8}


def data(p=40, d=3, seed=0):
    return Stripe(d=d).sample(p, generator=torch.Generator().manual_seed(seed))


def flatten(params, members):
    layout, offset, rows = {}, 0, []
    for name, value in params.items():
        shape = tuple(value.shape[value.ndim - (1 if name[0] == "b" else 2) :])
        layout[name] = (offset, shape)
        offset += value[0].numel() if value.ndim > len(shape) else value.numel()
        rows.append(value.reshape(members, -1))
    return layout, torch.cat(rows, dim=1)


def autograd_gradient(net, params, x, y, alpha, f0, loss, weight):
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    members = len(alpha)
    F = alpha[:, None] * (net(leaves, x).reshape(members, -1) - f0)
    batch = weight > 0
    value = scaled_loss(F[:, batch], y[batch], alpha, loss=loss)
    grads = torch.autograd.grad(value.sum(), list(leaves.values()))
    return F.detach(), torch.cat([g.reshape(members, -1) for g in grads], dim=1)


@pytest.mark.parametrize(
    ("hidden", "activation"), list(itertools.product([1, 2, 3], ACTIVATIONS))
)
def test_the_gradient_equals_autograds(hidden, activation):
    x, y = data(p=200)  # several row blocks of MIN_ROWS
    generator = torch.Generator().manual_seed(hidden)
    cases = itertools.product(
        [0.0, 0.7],  # bias_std
        [True, False],  # readout_bias
        ["ntk", "mean_field"],
        [None, 3],  # ensemble
        [None, 600],  # tile_bytes: one tile, or several groups and row blocks
    )
    for bias, readout_bias, parametrization, ensemble, tile in cases:
        net = FCNet(input_dim=3, width=5, hidden_layers=hidden, activation=activation,
                    bias_std=bias, readout_bias=readout_bias,
                    parametrization=parametrization)  # fmt: skip
        start = net.init(generator=generator, ensemble=ensemble)
        members = ensemble or 1
        layout, flat0 = flatten(start, members)
        moved = {k: v + 0.3 * torch.randn(v.shape, generator=generator, dtype=v.dtype)
                 for k, v in start.items()}  # fmt: skip
        flat = flatten(moved, members)[1]
        alpha = torch.tensor([0.5, 2.0, 10.0][:members], dtype=torch.float64)
        f0 = net(start, x).reshape(members, -1)
        for loss in LOSSES:
            fast = FCLossGradient(net, x, y, alpha, layout, flat0, loss=loss,
                                  beta=20.0, tile_bytes=tile)  # fmt: skip
            if tile is not None:
                assert len(fast.groups) * len(fast.blocks) > 1
            weight = torch.full_like(y, 1 / len(y))
            mini = torch.zeros_like(y)
            mini[::3] = 1 / len(mini[::3])
            for w in (weight, mini):
                F, value, grad = fast(flat, w)
                F_ref, grad_ref = autograd_gradient(
                    net, moved, x, y, alpha, f0, loss, w
                )
                assert_close(F, F_ref, rtol=1e-13, atol=0)
                assert_close(grad, grad_ref, rtol=RTOL[activation], atol=0)
                assert_close(value, scaled_loss(F_ref, y, alpha, loss=loss), rtol=1e-13)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_in_place_activations_are_the_registered_ones_bit_for_bit(activation):
    act = ACTIVATIONS[activation]
    z = 4 * torch.randn(64, 5, generator=torch.Generator().manual_seed(0),
                        dtype=torch.float64)  # fmt: skip
    z[0, :3] = torch.tensor([0.0, 30.0, -30.0])
    assert torch.equal(activate_into(act, z, torch.empty_like(z)), act.fn(z))
    assert torch.equal(derivative_over(act, z.clone()), act.derivative(z))


def test_the_fast_path_is_taken_only_where_it_is_exact():
    x = torch.zeros(4, 3, dtype=torch.float64)
    assert supports(FCNet(input_dim=3, width=4, hidden_layers=2), x)
    assert not supports(FCNet(input_dim=3, width=4, hidden_layers=0), x)
    assert not supports(FCNet(input_dim=3, width=4, out_dim=1), x)
    assert not supports(lambda p, x: x.sum(-1), x)


CONFIGS = {
    "flow": TrainConfig(method="flow", loss="soft_hinge", max_steps=80),
    "flow-hinge": TrainConfig(method="flow", max_dgrad=None, max_steps=80),
    "gd": TrainConfig(method="gd", lr=0.1, loss="quadratic", max_steps=60),
    "sgd": TrainConfig(method="sgd", lr=1.0, batch=8, max_steps=60),
}


@pytest.mark.parametrize(
    ("name", "hidden", "activation"),
    [("flow", 1, "relu"), ("flow-hinge", 1, "relu"), ("gd", 2, "tanh"),
     ("sgd", 1, "relu"), ("flow", 2, "sqrt2_relu"), ("gd", 1, "softplus")],
)  # fmt: skip
def test_trajectories_match_the_autograd_path(name, hidden, activation):
    config = CONFIGS[name]
    x, y = data(p=32)
    net = FCNet(input_dim=3, width=12, hidden_layers=hidden, activation=activation,
                bias_std=1.0, parametrization="mean_field")  # fmt: skip
    params = net.init(generator=torch.Generator().manual_seed(3), ensemble=3)
    alpha = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64)

    def trajectory(model):
        return run(model, params, x, y, alpha=alpha, config=config,
                   generator=torch.Generator().manual_seed(7))  # fmt: skip

    fast = trajectory(net)
    slow = trajectory(lambda p, x: net(p, x))  # opaque: autograd
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert torch.equal(a.step, b.step) and torch.equal(a.converged, b.converged)
        assert_close(a.t, b.t, rtol=1e-12)
        assert_close(a.F, b.F, rtol=1e-9, atol=1e-12)
        assert_close(a.loss, b.loss, rtol=1e-9, atol=1e-12)
        for k in params:
            assert_close(a.params[k], b.params[k], rtol=1e-9, atol=1e-12)
    assert int(fast[-1].step.min()) > 10  # the runs really moved


def test_a_single_network_takes_the_fast_path_too():
    x, y = data(p=32)
    net = FCNet(input_dim=3, width=12, bias_std=1.0, parametrization="mean_field")
    params = net.init(generator=torch.Generator().manual_seed(4))
    config = CONFIGS["flow-hinge"]
    fast = run(net, params, x, y, alpha=1.0, config=config)[-1]
    slow = run(lambda p, x: net(p, x), params, x, y, alpha=1.0, config=config)[-1]
    assert fast.F.shape == (32,) and fast.params["w0"].shape == (12, 3)
    assert_close(fast.F, slow.F, rtol=1e-9, atol=1e-12)
    assert_close(fast.params["w0"], slow.params["w0"], rtol=1e-9, atol=1e-12)
