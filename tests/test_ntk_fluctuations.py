"""The width-scaling experiment of Homework 1 exercise 4: ``ntk_relative_errors`` and
``width_exponent`` against slow obvious oracles, closed forms and the h^{-1/2} law."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.experiments.ntk_convergence import ntk_relative_errors, width_exponent
from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.observables import relative_distance
from deeptheory.testing import assert_close
from deeptheory.testing.strategies import random_inputs, seeds


def oracle_relative_errors(x1, x2, widths, ensemble, hidden, bias, seed):
    """Member by member, with the loop NTK and plain sums: the protocol written out."""
    generator = torch.Generator().manual_seed(seed)
    _, limit = fc_kernels(x1, x2, hidden_layers=hidden, bias_std=bias)
    rows = []
    for h in widths:
        net = FCNet(input_dim=x1.shape[1], width=h, hidden_layers=hidden, bias_std=bias)
        params = net.init(generator=generator, ensemble=ensemble)
        row = []
        for e in range(ensemble):
            theta = empirical_ntk(net, FCNet.member(params, e), x1, x2, method="loop")
            diff = sum(float(v) ** 2 for v in (theta - limit).reshape(-1))
            norm = sum(float(v) ** 2 for v in limit.reshape(-1))
            row.append(math.sqrt(diff / norm))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64)


@given(
    n1=st.integers(1, 4),
    n2=st.integers(1, 4),
    d=st.integers(1, 3),
    widths=st.lists(st.integers(1, 24), min_size=1, max_size=3),
    ensemble=st.integers(1, 3),
    hidden=st.integers(1, 2),
    bias=st.sampled_from([0.0, 0.3]),
    seed=seeds(),
)
def test_matches_the_member_by_member_oracle(
    n1, n2, d, widths, ensemble, hidden, bias, seed
):
    x1 = random_inputs(n1, d, seed=seed)
    x2 = random_inputs(n2, d, seed=seed + 1)
    got = ntk_relative_errors(
        x1,
        x2,
        widths=widths,
        ensemble=ensemble,
        hidden_layers=hidden,
        bias_std=bias,
        generator=torch.Generator().manual_seed(seed),
    )
    want = oracle_relative_errors(x1, x2, widths, ensemble, hidden, bias, seed)
    assert_close(got, want, rtol=1e-9)


def test_generator_is_consumed_in_the_order_of_the_widths():
    x = random_inputs(3, 2, seed=0)
    kw = dict(ensemble=2, hidden_layers=1)
    both = ntk_relative_errors(
        x, widths=[8, 16], generator=torch.Generator().manual_seed(5), **kw
    )
    first = ntk_relative_errors(
        x, widths=[8], generator=torch.Generator().manual_seed(5), **kw
    )
    swapped = ntk_relative_errors(
        x, widths=[16, 8], generator=torch.Generator().manual_seed(5), **kw
    )
    assert torch.equal(both[0], first[0])
    assert not torch.equal(both[1], swapped[0])  # 16 drawn second vs first


def test_x2_none_means_x1_and_dtype_follows_the_input():
    x = random_inputs(4, 3, seed=1, dtype=torch.float32)
    kw = dict(widths=[10, 20], ensemble=2, hidden_layers=2, bias_std=0.1)
    a = ntk_relative_errors(x, generator=torch.Generator().manual_seed(0), **kw)
    b = ntk_relative_errors(x, x, generator=torch.Generator().manual_seed(0), **kw)
    assert a.dtype == torch.float32 and a.shape == (2, 2)
    assert torch.equal(a, b)


def test_errors_shrink_as_one_over_sqrt_width():
    """Jacot et al. (2018): fluctuations ∝ h^{-1/2}. 32 networks per width; measured
    exponents over seeds 0–4 were −0.57, −0.48, −0.50, −0.58, −0.58."""
    x = random_inputs(8, 3, seed=0)
    widths = [64, 256, 1024]
    errors = ntk_relative_errors(
        x,
        widths=widths,
        ensemble=32,
        hidden_layers=2,
        bias_std=0.1,
        generator=torch.Generator().manual_seed(0),
    )
    assert bool((errors > 0).all())
    assert -0.65 < float(width_exponent(widths, errors)) < -0.35


def test_relative_distance_closed_form():
    limit = torch.tensor([[3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)  # ‖·‖ = 5
    theta = torch.stack([limit, limit + 1.0, 2 * limit])
    got = relative_distance(theta, limit)
    assert_close(got, torch.tensor([0.0, 2.0 / 5.0, 1.0], dtype=torch.float64))


@given(
    exponent=st.floats(-2.0, 2.0),
    scale=st.floats(1e-3, 1e3),
    widths=st.lists(st.integers(1, 10**5), min_size=2, max_size=6, unique=True),
    ensemble=st.integers(1, 4),
)
def test_width_exponent_recovers_an_exact_power_law(exponent, scale, widths, ensemble):
    h = torch.tensor(widths, dtype=torch.float64)
    errors = (scale * h**exponent)[:, None].expand(-1, ensemble)
    assert abs(float(width_exponent(widths, errors)) - exponent) < 1e-9


@given(seed=seeds(), points=st.integers(2, 6), ensemble=st.integers(1, 4))
def test_width_exponent_is_numpy_polyfit_of_the_log_mean(seed, points, ensemble):
    g = torch.Generator().manual_seed(seed)
    widths = (torch.randperm(1000, generator=g)[:points] + 1).tolist()
    errors = torch.rand(points, ensemble, generator=g, dtype=torch.float64) + 0.01
    want = np.polyfit(np.log(widths), np.log(errors.mean(1).numpy()), 1)[0]
    assert abs(float(width_exponent(widths, errors)) - want) < 1e-9


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(widths=[]), ValueError, "widths must not be empty"),
        (dict(widths=[0, 4]), ValueError, r"widths\[i\] must be >= 1"),
        (dict(widths=8), TypeError, "widths must be a sequence"),
        (dict(ensemble=0), ValueError, "ensemble must be >= 1"),
        (dict(hidden_layers=0), ValueError, "hidden_layers must be >= 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    args = dict(widths=[4], ensemble=1, hidden_layers=1) | kwargs
    x = random_inputs(2, 2, seed=0)
    with pytest.raises(error, match=match):
        ntk_relative_errors(x, generator=torch.Generator(), **args)


@pytest.mark.parametrize(
    ("widths", "errors", "match"),
    [
        ([4, 4], torch.ones(2, 3, dtype=torch.float64), "two different values"),
        ([4, 8], torch.zeros(2, 3, dtype=torch.float64), "must be positive"),
        ([4, 8, 16], torch.ones(2, 3, dtype=torch.float64), "one entry per row"),
        ([4, 8], torch.ones(2, dtype=torch.float64), "2 dimensions"),
    ],
)
def test_width_exponent_rejects_what_it_cannot_fit(widths, errors, match):
    with pytest.raises(ValueError, match=match):
        width_exponent(widths, errors)
