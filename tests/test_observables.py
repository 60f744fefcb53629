"""Observables of trained networks against closed forms and obvious oracles."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.models import FCNet
from deeptheory.observables import (
    classification_error,
    compression,
    half_loss_time,
    kink_points,
    label_projections,
    neuron_invariant,
    relative_weight_change,
)
from deeptheory.testing import assert_close
from deeptheory.testing.strategies import seeds

F64 = dict(dtype=torch.float64)


def test_classification_error_counts_zero_as_wrong():
    y = torch.tensor([1.0, -1.0, 1.0, -1.0], **F64)
    F = torch.tensor([[2.0, -1.0, 0.0, 3.0], [1.0, -1.0, 1.0, -1.0]], **F64)
    assert classification_error(F, y).tolist() == [0.5, 0.0]


def test_relative_weight_change_closed_form_and_ensemble():
    p0 = {"a": torch.tensor([3.0, 0.0], **F64), "b": torch.tensor([4.0], **F64)}
    p1 = {"a": torch.tensor([3.0, 1.0], **F64), "b": torch.tensor([4.0], **F64)}
    assert float(relative_weight_change(p1, p0)) == pytest.approx(0.2, abs=1e-15)
    stack = {k: torch.stack([p0[k], p1[k]]) for k in p0}
    base = {k: torch.stack([p0[k], p0[k]]) for k in p0}
    got = relative_weight_change(stack, base, ensemble=True)
    assert got.tolist() == pytest.approx([0.0, 0.2], abs=1e-15)


@given(seed=seeds(), d=st.integers(2, 6), d_par=st.integers(1, 3))
def test_compression_oracle_and_initial_value(seed, d, d_par):
    if d_par >= d:
        return
    w = torch.randn(50, d, generator=torch.Generator().manual_seed(seed), **F64)
    par = sum(float(w[n, i]) ** 2 for n in range(50) for i in range(d_par)) / (
        50 * d_par
    )
    perp = sum(float(w[n, i]) ** 2 for n in range(50) for i in range(d_par, d))
    perp /= 50 * (d - d_par)
    assert abs(float(compression(w, d_par=d_par)) - math.sqrt(par / perp)) < 1e-12
    scaled = w.clone()
    scaled[:, d_par:] /= (
        7.0  # squeezing the perpendicular weights by 7 multiplies Λ by 7
    )
    ratio = compression(scaled, d_par=d_par) / compression(w, d_par=d_par)
    assert abs(float(ratio) - 7.0) < 1e-12


def test_compression_is_one_on_average_at_initialisation():
    w = torch.randn(200_000, 5, generator=torch.Generator().manual_seed(0), **F64)
    assert abs(float(compression(w)) - 1.0) < 0.01  # std ≈ 0.003 at h = 2·10⁵


def test_kink_points_lie_on_the_hyperplanes_and_are_closest_to_the_origin():
    net = FCNet(input_dim=3, width=6, bias_std=0.5)
    p = net.init(generator=torch.Generator().manual_seed(1))
    x = kink_points(p["w0"], p["b0"], input_scale=net.scale(0), bias_scale=0.5)
    z = net.scale(0) * (x * p["w0"]).sum(-1) + 0.5 * p["b0"]
    assert_close(z, torch.zeros(6, **F64), atol=1e-14)
    # orthogonal to the hyperplane: parallel to w_n
    cross = x / x.norm(dim=-1, keepdim=True) * p["w0"].norm(dim=-1, keepdim=True)
    assert_close(cross.abs(), p["w0"].abs())


def test_half_loss_time_interpolates_and_is_nan_when_never_reached():
    t = torch.tensor([0.0, 1.0, 2.0, 4.0], **F64)
    loss = torch.tensor([1.0, 0.8, 0.4, 0.1], **F64)
    assert float(half_loss_time(t, loss)) == pytest.approx(1.75)
    flat = torch.tensor([1.0, 0.9, 0.8, 0.7], **F64)
    both = half_loss_time(torch.stack([t, t], 1), torch.stack([loss, flat], 1))
    assert float(both[0]) == pytest.approx(1.75) and math.isnan(float(both[1]))


def test_label_projections_of_a_known_kernel():
    y = torch.tensor([1.0, -1.0, 1.0, -1.0], **F64)
    kernel = 3.0 * torch.outer(y, y) + torch.eye(4, **F64)  # y is the top eigenvector
    values, vectors, proj = label_projections(kernel, y)
    assert values.tolist() == pytest.approx([13.0, 1.0, 1.0, 1.0])
    assert (
        abs(float(proj[0].abs()) - 1.0) < 1e-12 and float(proj[1:].abs().max()) < 1e-12
    )
    assert_close(vectors @ torch.diag(values) @ vectors.T, kernel)


def test_neuron_invariant_closed_form():
    params = {
        "w0": torch.tensor([[3.0, 4.0], [1.0, 0.0]], **F64),
        "b0": torch.tensor([1.0, 2.0], **F64),
        "w1": torch.tensor([[2.0, 1.0]], **F64),
        "b1": torch.tensor([0.5], **F64),
    }
    assert neuron_invariant(params).tolist() == [22.0, 4.0]
    with pytest.raises(ValueError, match="one-hidden-layer"):
        neuron_invariant({**params, "w2": params["w1"]})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: compression(torch.ones(4, 1, **F64)), "d_par must be < d"),
        (lambda: classification_error(torch.ones(3, **F64), torch.ones(2, **F64)), "2"),
        (
            lambda: relative_weight_change({"a": torch.ones(2)}, {"b": torch.ones(2)}),
            "same keys",
        ),
        (
            lambda: label_projections(torch.eye(3, **F64), torch.ones(2, **F64)),
            r"\(2, 2\)",
        ),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
