"""The stripe and cylinder tasks: balance in closed form and by sampling, labels against
an obvious oracle, the authors' constants, stretching, generators, dtypes and errors."""

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, norm

from deeptheory.tasks import (
    STRIPE_INTERFACES,
    Cylinder,
    Stripe,
    balanced_interfaces,
    train_test,
)
from deeptheory.testing.strategies import seeds


def test_the_authors_stripe():
    """−0.3 < x₁ < 1.18549 (compressing_invariant_manifolds), inside y = −1."""
    low, high = STRIPE_INTERFACES
    assert abs(low + 0.3) < 1e-12 and abs(high - 1.18549) < 1e-5
    assert abs(norm.cdf(high) - norm.cdf(low) - 0.5) < 1e-14
    x = torch.tensor([[-1.0, 5.0], [0.0, 5.0], [1.0, -5.0], [2.0, 0.0]])
    assert Stripe(d=2).label(x).tolist() == [1.0, -1.0, -1.0, 1.0]


def test_the_authors_cylinder_radius():
    """r > √(−2 ln ½) = 1.17741 for d_par = 2 (exactly balanced)."""
    assert abs(Cylinder(d=3).radius - math.sqrt(2 * math.log(2))) < 1e-12


@given(count=st.integers(1, 9), share=st.floats(0.01, 0.99))
def test_balanced_interfaces_are_balanced(count, share):
    offset = None if count % 2 else share / count
    c = balanced_interfaces(count, offset=offset)
    assert len(c) == count and all(b > a for a, b in itertools.pairwise(c))
    assert abs(Stripe(d=1, interfaces=c).positive_probability() - 0.5) < 1e-12


@given(d_par=st.integers(1, 30))
def test_cylinder_is_exactly_balanced(d_par):
    task = Cylinder(d=d_par + 1, d_par=d_par)
    assert abs(task.positive_probability() - 0.5) < 1e-12
    assert abs(chi2.cdf(task.radius**2, d_par) - 0.5) < 1e-12


def oracle_stripe_label(x1, interfaces):
    sign = 1.0
    for c in interfaces:
        if x1 > c:
            sign = -sign
    return sign


@given(seed=seeds(), d=st.integers(1, 5), count=st.integers(1, 5))
def test_stripe_labels_match_the_oracle(seed, d, count):
    task = Stripe(d=d, interfaces=balanced_interfaces(count))
    x, y = task.sample(50, generator=torch.Generator().manual_seed(seed))
    want = [oracle_stripe_label(float(v), task.interfaces) for v in x[:, 0]]
    assert y.tolist() == want


@given(seed=seeds(), d_par=st.integers(1, 4), extra=st.integers(0, 3))
def test_cylinder_labels_match_the_oracle(seed, d_par, extra):
    task = Cylinder(d=d_par + extra, d_par=d_par)
    x, y = task.sample(50, generator=torch.Generator().manual_seed(seed))
    for xi, yi in zip(x, y, strict=True):
        r = math.sqrt(sum(float(v) ** 2 for v in xi[:d_par]))
        assert yi == (1.0 if r > task.radius else -1.0)


@pytest.mark.parametrize(
    "task",
    [Stripe(d=5), Stripe(d=3, interfaces=balanced_interfaces(3)), Cylinder(d=4)],
    ids=["stripe", "three-interfaces", "cylinder"],
)
def test_classes_are_balanced_in_a_large_sample(task):
    """Fraction of +1 within 5 standard errors of 1/2 (n = 200 000, fixed seed)."""
    _, y = task.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert set(y.unique().tolist()) == {-1.0, 1.0}
    assert abs(float((y > 0).double().mean()) - 0.5) < 5 * 0.5 / math.sqrt(200_000)


@pytest.mark.parametrize(
    ("task", "d_par"), [(Stripe(d=4, stretch=3.0), 1), (Cylinder(d=4, stretch=3.0), 2)]
)
def test_stretch_scales_only_the_perpendicular_coordinates(task, d_par):
    unstretched = type(task)(**{**task.__dict__, "stretch": 1.0})
    x, y = task.sample(100, generator=torch.Generator().manual_seed(1))
    x0, y0 = unstretched.sample(100, generator=torch.Generator().manual_seed(1))
    assert torch.equal(y, y0)
    assert torch.equal(x[:, :d_par], x0[:, :d_par])
    assert torch.allclose(x[:, d_par:], 3.0 * x0[:, d_par:], rtol=0, atol=0)


def test_sampling_follows_generator_dtype_and_device():
    task = Stripe(d=3)
    a = task.sample(10, generator=torch.Generator().manual_seed(4), dtype=torch.float32)
    b = task.sample(10, generator=torch.Generator().manual_seed(4), dtype=torch.float32)
    assert a[0].dtype == a[1].dtype == torch.float32 and a[0].shape == (10, 3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_train_and_test_sets_come_from_their_own_seeds():
    task = Cylinder(d=3)
    x, y, xt, yt = train_test(task, 20, 30, seed_train=1, seed_test=2)
    assert x.shape == (20, 3) and xt.shape == (30, 3) and yt.shape == (30,)
    again = train_test(task, 20, 5, seed_train=1, seed_test=3)
    assert torch.equal(again[0], x) and torch.equal(again[1], y)
    assert not torch.equal(xt[:5], again[2])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Stripe(d=0), ValueError, "d must be >= 1"),
        (lambda: Stripe(d=2, interfaces=(1.0, 0.0)), ValueError, "increasing"),
        (lambda: Stripe(d=2, interfaces=()), ValueError, "non-empty"),
        (lambda: Stripe(d=2, stretch=0.0), ValueError, "stretch must be > 0"),
        (lambda: Cylinder(d=1, d_par=2), ValueError, "informative dimension 2"),
        (lambda: balanced_interfaces(3, offset=0.1), ValueError, "symmetric layout"),
        (lambda: balanced_interfaces(2, offset=0.6), ValueError, r"\(0, 0.5\)"),
        (
            lambda: Stripe(d=2).sample(3, generator=0),
            TypeError,
            "generator must be a torch.Generator",
        ),
        (lambda: Stripe(d=2).label(torch.zeros(3, 4)), ValueError, "last dimension 2"),
        (
            lambda: train_test(Stripe(d=2), 2, 2, seed_train=1, seed_test=1),
            ValueError,
            "must differ",
        ),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()
