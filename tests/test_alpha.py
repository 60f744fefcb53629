"""Margin losses and the α-scaled convention: closed forms, autograd, the ensemble axis,
and the article ↔ code crosswalk giving identical gradient-descent trajectories
(shared/science.md §2.1 and §2.5 P1)."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.alpha import (
    alpha_from_article,
    alpha_to_article,
    scaled_loss,
    scaled_output,
    time_from_article,
    time_to_article,
)
from deeptheory.losses import LOSSES, margin_loss, margin_loss_derivative
from deeptheory.models import FCNet
from deeptheory.tasks import Stripe
from deeptheory.testing import assert_close
from deeptheory.testing.strategies import seeds

Z = torch.tensor([-2.0, 0.0, 0.5, 1.0, 3.0], dtype=torch.float64)


def test_losses_closed_forms():
    assert margin_loss(Z, loss="hinge").tolist() == [3.0, 1.0, 0.5, 0.0, 0.0]
    assert margin_loss(Z, loss="quadratic").tolist() == [4.5, 0.5, 0.125, 0.0, 0.0]
    assert margin_loss(Z, loss="mse").tolist() == [4.5, 0.5, 0.125, 0.0, 2.0]
    soft = margin_loss(Z, loss="soft_hinge", beta=20.0)
    want = [math.log1p(math.exp(20 * (1 - z))) / 20 for z in Z.tolist()]
    assert_close(soft, torch.tensor(want, dtype=torch.float64))
    assert margin_loss_derivative(Z, loss="hinge").tolist() == [-1, -1, -1, 0, 0]


@given(z=st.floats(-5, 5), loss=st.sampled_from(LOSSES), beta=st.floats(0.5, 50))
def test_derivatives_match_autograd(z, loss, beta):
    if loss == "hinge" and abs(z - 1) < 1e-9:
        return  # the kink: the derivative is a convention there (0)
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(margin_loss(zt, loss=loss, beta=beta), zt)
    want = margin_loss_derivative(zt.detach(), loss=loss, beta=beta)
    assert abs(float(grad) - float(want)) < 1e-12


@given(z=st.floats(-5, 5), beta=st.floats(1, 1000))
def test_soft_hinge_tends_to_the_hinge(z, beta):
    """0 ≤ softplus(β(1−z))/β − max(0, 1−z) ≤ log(2)/β."""
    zt = torch.tensor([z], dtype=torch.float64)
    gap = margin_loss(zt, loss="soft_hinge", beta=beta) - margin_loss(zt, loss="hinge")
    assert -1e-15 <= float(gap) <= math.log(2) / beta + 1e-15


def test_output_is_zero_at_initialisation_and_scales_with_alpha():
    f0 = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(scaled_output(f0, f0, 3.0), torch.zeros(7, dtype=torch.float64))
    f = f0 + 0.5
    assert_close(scaled_output(f, f0, 4.0), torch.full((7,), 2.0, dtype=torch.float64))


@given(seed=seeds(), members=st.integers(1, 4), p=st.integers(1, 6))
def test_one_alpha_per_ensemble_member_equals_one_by_one(seed, members, p):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(members, p, dtype=torch.float64, generator=g)
    f0 = torch.randn(members, p, dtype=torch.float64, generator=g)
    y = torch.randn(p, dtype=torch.float64, generator=g).sign()
    alpha = torch.rand(members, dtype=torch.float64, generator=g) + 0.1
    F = scaled_output(f, f0, alpha)
    L = scaled_loss(F, y, alpha, loss="soft_hinge")
    for e in range(members):
        Fe = scaled_output(f[e], f0[e], float(alpha[e]))
        assert_close(F[e], Fe)
        assert_close(L[e], scaled_loss(Fe, y, float(alpha[e]), loss="soft_hinge"))


def test_loss_prefactor_is_one_over_alpha_p():
    F = torch.tensor([0.0, 2.0, -1.0], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    # hinge: l = 1, 0, 2 → mean 1 → L = 1/α
    assert float(scaled_loss(F, y, 4.0)) == 0.25


@pytest.mark.parametrize(("hidden", "width"), [(1, 16), (2, 9)])
def test_article_and_code_conventions_give_the_same_trajectory(hidden, width):
    """Same init, α = √h α_a, step η_a = (α/h) η: identical weights after 25 GD steps."""
    x, y = Stripe(d=3).sample(40, generator=torch.Generator().manual_seed(1))
    alpha_a = 0.7
    alpha = alpha_from_article(alpha_a, width=width)
    kw = dict(input_dim=3, width=width, hidden_layers=hidden, activation="sqrt2_relu")
    code, article = FCNet(**kw, parametrization="mean_field"), FCNet(**kw)
    w0 = code.init(generator=torch.Generator().manual_seed(2))
    f0_code, f0_article = code(w0, x), article(w0, x)
    assert_close(f0_code, f0_article / math.sqrt(width))

    def descend(net, f0, a, prefactor, lr):
        w = {k: v.clone().requires_grad_(True) for k, v in w0.items()}
        for _ in range(25):
            F = scaled_output(net(w, x), f0, a)
            loss = prefactor * margin_loss(y * F, loss="soft_hinge").mean()
            grads = torch.autograd.grad(loss, list(w.values()))
            with torch.no_grad():
                for v, g in zip(w.values(), grads, strict=True):
                    v -= lr * g
        return {k: v.detach() for k, v in w.items()}, F.detach()

    lr = 2.0 * width  # code time moves h times faster for the same physics
    w_code, F_code = descend(code, f0_code, alpha, 1 / alpha, lr)
    lr_a = time_to_article(lr, alpha=alpha, width=width)
    w_art, F_art = descend(article, f0_article, alpha_a, 1 / alpha_a**2, lr_a)
    for k in w0:
        assert_close(w_code[k], w_art[k], rtol=1e-11, atol=0)
        assert not torch.equal(w_code[k], w0[k])  # the test really trained
    assert_close(F_code, F_art, rtol=1e-11, atol=0)
    # and the code loss is the article loss times α_a/√h
    code_loss = scaled_loss(F_code, y, alpha, loss="soft_hinge")
    art_loss = margin_loss(y * F_art, loss="soft_hinge").mean() / alpha_a**2
    assert_close(code_loss, art_loss * alpha_a / math.sqrt(width))


@given(alpha_a=st.floats(1e-6, 1e6), width=st.integers(1, 10**5), t=st.floats(0, 1e6))
def test_converters_round_trip_and_match_the_authors_formula(alpha_a, width, t):
    alpha = alpha_from_article(alpha_a, width=width)
    assert math.isclose(alpha_to_article(alpha, width=width), alpha_a, rel_tol=1e-12)
    t_a = time_to_article(t, alpha=alpha, width=width)
    assert math.isclose(
        time_from_article(t_a, alpha=alpha, width=width),
        t,
        rel_tol=1e-12,
        abs_tol=1e-300,
    )
    # t/h = t_a / (√h α_a)  (README of the authors' article branch)
    assert math.isclose(t / width, t_a / (math.sqrt(width) * alpha_a), rel_tol=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: margin_loss(Z, loss="logistic"), ValueError, "loss must be one of"),
        (lambda: margin_loss(Z, loss="soft_hinge", beta=0.0), ValueError, "beta"),
        (lambda: scaled_output(Z, Z[:2], 1.0), ValueError, "f0 must have the shape"),
        (lambda: scaled_output(Z, Z, 0.0), ValueError, "alpha must be > 0"),
        (
            lambda: scaled_output(Z, Z, torch.ones(2, dtype=torch.float64)),
            ValueError,
            "leading axes",
        ),
        (lambda: scaled_loss(Z, Z[:3], 1.0), ValueError, "number of labels 3"),
        (lambda: alpha_from_article(-1.0, width=4), ValueError, "alpha_article"),
        (lambda: time_to_article(1.0, alpha=1.0, width=0), ValueError, "width"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
