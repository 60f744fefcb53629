"""Training in the α-scaled convention: batched ensembles equal one-by-one training, the
stopping rules, the conserved quantity of homogeneous nets (science.md §2.5 P4), the
lazy-side 1/α scaling of the weight change (P2), and clear errors."""

import math

import pytest
import torch

from deeptheory.models import FCNet
from deeptheory.tasks import Stripe
from deeptheory.testing import assert_close
from deeptheory.train import TrainConfig, TrainingDiverged, run, train


def stripe_data(p=32, d=3, seed=0):
    return Stripe(d=d).sample(p, generator=torch.Generator().manual_seed(seed))


def net(width=20, bias=1.0, hidden=1, d=3):
    return FCNet(
        input_dim=d,
        width=width,
        hidden_layers=hidden,
        activation="relu",
        bias_std=bias,
        parametrization="mean_field",
    )


CONFIGS = {
    "flow": TrainConfig(method="flow", loss="soft_hinge", max_steps=60),
    "flow-hinge": TrainConfig(method="flow", max_dgrad=None, max_steps=60),
    "gd": TrainConfig(method="gd", lr=1.0, loss="quadratic", max_steps=40),
    "sgd": TrainConfig(method="sgd", lr=1.0, batch=8, max_steps=40),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_an_ensemble_trains_exactly_like_its_members_one_by_one(name):
    config = CONFIGS[name]
    x, y = stripe_data()
    model = net()
    params = model.init(generator=torch.Generator().manual_seed(1), ensemble=3)
    alpha = torch.tensor([0.1, 1.0, 10.0], dtype=torch.float64)
    together = run(
        model, params, x, y, alpha=alpha, config=config,
        generator=torch.Generator().manual_seed(7),
    )[-1]  # fmt: skip
    for e in range(3):
        alone = run(
            model, FCNet.member(params, e), x, y, alpha=float(alpha[e]), config=config,
            generator=torch.Generator().manual_seed(7),
        )[-1]  # fmt: skip
        assert_close(together.t[e], alone.t, rtol=1e-12)
        assert_close(together.F[e], alone.F, rtol=1e-9, atol=1e-12)
        for k in params:
            assert_close(together.params[k][e], alone.params[k], rtol=1e-9, atol=1e-12)


def test_output_starts_at_zero_and_snapshots_move_forward():
    x, y = stripe_data()
    snaps = run(net(), net().init(generator=torch.Generator().manual_seed(2)), x, y,
                alpha=1.0, config=CONFIGS["flow"])  # fmt: skip
    assert torch.equal(snaps[0].F, torch.zeros_like(snaps[0].F))
    assert float(snaps[0].loss) == math.log1p(math.exp(20.0)) / 20.0  # l(0) / α
    times = [float(s.t) for s in snaps]
    steps = [int(s.step) for s in snaps]
    assert times == sorted(times) and steps == sorted(steps) and steps[-1] == 60


def test_training_stops_when_every_margin_is_reached():
    x, y = stripe_data(p=16)
    config = TrainConfig(method="flow", max_dgrad=None, max_steps=100_000)
    params = net(width=50).init(generator=torch.Generator().manual_seed(3))
    last = run(net(width=50), params, x, y, alpha=1.0, config=config)[-1]
    assert bool(last.converged) and bool((y * last.F >= 1).all())
    assert float(last.loss) == 0.0  # hinge: zero once every margin is reached
    assert int(last.step) < config.max_steps


def test_the_time_budget_stops_the_flow():
    x, y = stripe_data()
    config = TrainConfig(method="flow", max_dgrad=None, max_time=3.0)
    last = run(net(), net().init(generator=torch.Generator().manual_seed(4)), x, y,
               alpha=0.01, config=config)[-1]  # fmt: skip
    assert float(last.t) == 3.0 and bool(last.converged)


def test_per_neuron_conserved_quantity_along_a_fine_flow():
    """‖w_n‖² + b_n² − β_n² is conserved by gradient flow for ReLU (rescaling symmetry);
    with max_dout = 1e-3 the Euler drift stays below 1e-3 of ‖w_n‖² (science.md §2.5)."""
    x, y = stripe_data(p=24)
    model = net(width=8)
    params = model.init(generator=torch.Generator().manual_seed(5))
    config = TrainConfig(method="flow", loss="soft_hinge", max_dout=1e-3,
                         max_dgrad=1e-5, max_steps=400)  # fmt: skip
    first, last = (lambda s: (s[0], s[-1]))(run(model, params, x, y, alpha=1.0,
                                                 config=config))  # fmt: skip

    def invariant(p):
        return (p["w0"] ** 2).sum(1) + p["b0"] ** 2 - p["w1"][0] ** 2

    moved = (last.params["w0"] - first.params["w0"]).norm(dim=1)
    assert float(moved.max()) > 1e-2, (
        "the weights must really move for this to mean much"
    )
    drift = (invariant(last.params) - invariant(first.params)).abs()
    scale = (last.params["w0"] ** 2).sum(1)
    assert float((drift / scale).max()) < 1e-3, (drift / scale).tolist()


def test_lazy_side_weight_change_scales_as_one_over_alpha():
    """P2: at large α the relative weight change at convergence is ∝ 1/α."""
    x, y = stripe_data(p=12, seed=2)  # ~5000 flow steps; p = 24 took ten times longer
    model = net(width=100)
    params = model.init(generator=torch.Generator().manual_seed(6), ensemble=2)
    alpha = torch.tensor([100.0, 1000.0], dtype=torch.float64)
    config = TrainConfig(method="flow", max_dgrad=None, max_steps=100_000)
    last = run(model, params, x, y, alpha=alpha, config=config)[-1]
    assert bool(last.converged.all())
    flat = lambda p: torch.cat([v.reshape(2, -1) for v in p.values()], 1)  # noqa: E731
    change = (flat(last.params) - flat(params)).norm(dim=1) / flat(params).norm(dim=1)
    ratio = float(change[0] / change[1])
    assert 8.0 < ratio < 12.5, (ratio, change.tolist())


def test_divergence_is_reported_with_the_members():
    x, y = stripe_data()
    model = net()
    params = model.init(generator=torch.Generator().manual_seed(8), ensemble=2)
    config = TrainConfig(method="gd", lr=1e200, loss="mse", max_steps=50)
    with pytest.raises(TrainingDiverged, match=r"member\(s\) \[0, 1\]") as info:
        run(model, params, x, y, alpha=1.0, config=config)
    assert info.value.members == [0, 1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(method="adam"), ValueError, "method must be one of"),
        (dict(method="sgd"), ValueError, "needs batch"),
        (dict(lr=0.0), ValueError, "lr must be > 0"),
        (dict(max_dgrad=-1.0), ValueError, "max_dgrad"),
        (dict(snapshots=1), ValueError, "snapshots must be >= 2"),
    ],
)
def test_bad_configs_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)


def test_bad_inputs_are_named():
    x, y = stripe_data()
    model = net()
    params = model.init(generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="labels ±1"):
        next(train(model, params, x, 2 * y, alpha=1.0))
    with pytest.raises(ValueError, match="one label per input"):
        next(train(model, params, x, y[:3], alpha=1.0))
    with pytest.raises(ValueError, match="one value per ensemble member"):
        next(train(model, params, x, y, alpha=torch.ones(2, dtype=torch.float64)))
    with pytest.raises(TypeError, match="needs generator"):
        next(train(model, params, x, y, alpha=1.0,
                   config=TrainConfig(method="sgd", batch=4)))  # fmt: skip
    assert math.isfinite(float(next(train(model, params, x, y, alpha=1.0)).loss))
