"""Deep linear networks, Saxe's solution, plateaus, and the symmetries of two-layer nets,
against closed forms and independent oracles (autograd, Newton's method, quadrature);
shared/science.md §6.1–§6.2 and §5.3. float64 throughout."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from deeptheory.linear_nets import (
    alignment,
    balancedness,
    end_to_end,
    flow,
    gradient_descent,
    gradients,
    init_linear,
    input_output_correlation,
    linear_loss,
    mode_strengths,
    plateaus,
    rank_at_plateaus,
    switch_on_times,
    target_svd,
)
from deeptheory.saxe import (
    balanced_mode_time,
    compare_with_flow,
    decoupled_init,
    effective_strengths,
    saxe_half_time,
    saxe_learning_time,
    saxe_mode_strength,
)
from deeptheory.symmetry import (
    permute_units,
    split_neuron,
    two_layer,
    two_layer_gradient,
    two_layer_loss,
)
from deeptheory.testing import assert_close
from deeptheory.testing.strategies import seeds

F64 = dict(dtype=torch.float64)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def orthogonal(d, seed):
    return torch.linalg.qr(torch.randn(d, d, generator=gen(seed), **F64))[0]


def make_target(s, d_out, d_in, seed=0):
    """U diag(s) Vᵀ in a random basis: (d_out, d_in) with singular values s."""
    U, V = orthogonal(d_out, seed)[:, : len(s)], orthogonal(d_in, seed + 1)[:, : len(s)]
    return U @ torch.diag(torch.tensor(s, **F64)) @ V.T


def steps_of(levels):
    """½ Σ_{i>k} s_i² for k = 0 … r − 1: the loss at the saddle of rank k."""
    return [0.5 * sum(x * x for x in levels[k:]) for k in range(len(levels))]


# ------------------------------------------------------------------- model, gradient


def test_end_to_end_and_loss_closed_form():
    W1 = torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 0.0]], **F64)  # (3, 2)
    W2 = torch.tensor([[1.0, -1.0, 2.0]], **F64)  # (1, 3)
    A = end_to_end([W1, W2])
    assert A.tolist() == [[3.0, 1.0]]
    target = torch.tensor([[1.0, 1.0]], **F64)
    assert float(linear_loss([W1, W2], target)) == 2.0  # ½ (2² + 0²)


@given(
    seed=seeds(),
    depth=st.integers(1, 4),
    widths=st.lists(st.integers(1, 5), min_size=5, max_size=5),
    batch=st.sampled_from([(), (3,), (2, 2)]),
)
def test_gradients_equal_autograd(seed, depth, widths, batch):
    dims = widths[: depth + 1]
    g = gen(seed)
    weights = [
        torch.randn(
            *batch, dims[i + 1], dims[i], generator=g, **F64, requires_grad=True
        )
        for i in range(depth)
    ]
    target = torch.randn(dims[-1], dims[0], generator=g, **F64)
    expected = torch.autograd.grad(linear_loss(weights, target).sum(), weights)
    for got, want in zip(
        gradients([w.detach() for w in weights], target), expected, strict=True
    ):
        assert_close(got, want, rtol=1e-12, atol=1e-13)


def test_whitened_regression_has_the_gradient_of_the_correlation_target():
    """(1/2P) Σ ‖y − A x‖² with xᵀx/P = I differs from ½ ‖A − Σ_yx‖² by a constant."""
    P, d, k = 40, 4, 3
    x = math.sqrt(P) * torch.linalg.qr(torch.randn(P, d, generator=gen(0), **F64))[0]
    y = torch.randn(P, k, generator=gen(1), **F64)
    weights = init_linear((d, 5, k), scale=0.7, generator=gen(2))
    leaves = [w.clone().requires_grad_() for w in weights]
    regression = 0.5 * ((y - x @ end_to_end(leaves).T) ** 2).sum() / P
    expected = torch.autograd.grad(regression, leaves)
    target = input_output_correlation(x, y)
    for got, want in zip(gradients(weights, target), expected, strict=True):
        assert_close(got, want, rtol=1e-12, atol=1e-13)
    const = 0.5 * (y**2).sum() / P - 0.5 * (target**2).sum()
    assert float(regression.detach()) == pytest.approx(
        float(linear_loss(weights, target) + const)
    )


def test_init_scale_gamma_and_generator():
    weights = init_linear((300, 200, 100), scale=0.3, generator=gen(0))
    assert [tuple(w.shape) for w in weights] == [(200, 300), (100, 200)]
    for w in weights:  # std of ≥ 2·10⁴ entries: relative error ~ 0.5 %
        assert float(w.std()) == pytest.approx(0.3, rel=0.03)
    w = init_linear((50, 400, 400, 50), gamma=1.5, generator=gen(1))
    assert float(w[1].std()) == pytest.approx(400**-0.75, rel=0.02)  # σ² = w^(−γ)
    again = init_linear((50, 400, 400, 50), gamma=1.5, generator=gen(1))
    assert all(torch.equal(a, b) for a, b in zip(w, again, strict=True))
    w32 = init_linear((2, 3), scale=1.0, generator=gen(0), dtype=torch.float32)
    assert w32[0].dtype == torch.float32


@pytest.mark.parametrize("dims", [(4, 6, 3), (3, 5, 5, 2), (2, 7, 4, 6, 5), (3, 4)])
def test_balanced_init_keeps_the_product_and_is_balanced(dims):
    plain = init_linear(dims, scale=0.5, generator=gen(3))
    balanced = init_linear(dims, scale=0.5, generator=gen(3), balanced=True)
    assert_close(end_to_end(balanced), end_to_end(plain), rtol=1e-12, atol=1e-14)
    for D in balancedness(balanced):
        assert float(D.abs().max()) < 1e-13
    if len(dims) > 2:
        assert float(balancedness(plain)[0].abs().max()) > 0.1


# ------------------------------------------------------------------------ dynamics


@pytest.mark.parametrize("dims", [(3, 5, 4), (3, 4, 4, 2), (2, 3, 5, 3, 2)])
def test_flow_conserves_balancedness(dims):
    """W_{l+1}ᵀW_{l+1} − W_l W_lᵀ is constant along gradient flow (every layer pair)."""
    weights = init_linear(dims, scale=0.6, generator=gen(0))
    target = torch.randn(dims[-1], dims[0], generator=gen(1), **F64)
    run = flow(weights, target, times=[0.5, 3.0], rtol=1e-11)
    assert float(run.loss[-1]) < 0.5 * float(linear_loss(weights, target))  # it moved
    for before, after in zip(
        balancedness(weights), balancedness(run.weights), strict=True
    ):
        assert float((after - before).abs().max()) < 1e-8


def test_gradient_descent_drift_is_first_order_in_lr_and_approaches_the_flow():
    """Per step the balancedness moves by lr² (G_{l+1}ᵀG_{l+1} − G_l G_lᵀ): drift ∝ lr at
    fixed t; the distance to the flow at fixed t is O(lr) too."""
    dims = (3, 4, 4, 2)
    weights = init_linear(dims, scale=0.6, generator=gen(0))
    target = torch.randn(2, 3, generator=gen(1), **F64)
    exact = flow(weights, target, times=[2.0]).products[-1]
    drift, error = [], []
    for lr in (0.01, 0.005):
        steps = round(2.0 / lr)
        run = gradient_descent(weights, target, lr=lr, steps=steps, record=[0, steps])
        assert float(run.times[-1]) == pytest.approx(2.0)
        D0, D1 = balancedness(weights)[0], balancedness(run.weights)[0]
        drift.append(float((D1 - D0).abs().max()))
        error.append(float((run.products[-1] - exact).abs().max()))
    assert 1.8 < drift[0] / drift[1] < 2.2, drift
    assert 1.8 < error[0] / error[1] < 2.2, error


def test_ensembles_train_like_their_members():
    target = make_target([2.0, 1.0], 3, 3)
    members = [init_linear((3, 4, 3), scale=0.3, generator=gen(s)) for s in range(3)]
    stacked = [torch.stack([m[k] for m in members]) for k in range(2)]
    together = gradient_descent(stacked, target, lr=0.05, steps=60, record=[0, 30, 60])
    assert together.loss.shape == (3, 3) and together.singular_values.shape == (3, 3, 3)
    for e, m in enumerate(members):
        alone = gradient_descent(m, target, lr=0.05, steps=60, record=[0, 30, 60])
        assert_close(together.products[:, e], alone.products, rtol=1e-12, atol=1e-14)
    flows = flow(stacked, target, times=[1.0])
    alone = flow(members[1], target, times=[1.0])
    assert_close(flows.products[:, 1], alone.products, rtol=1e-8, atol=1e-9)


def test_flow_until_loss_ends_the_record_at_the_crossing():
    target = make_target([3.0, 1.0], 3, 3)
    weights = init_linear((3, 4, 3), scale=1e-3, generator=gen(0))
    times = torch.linspace(0.5, 50, 100, **F64)
    run = flow(weights, target, times=times, until_loss=2.0)
    n = len(run.times) - 1
    assert torch.equal(run.times[:n], times[:n]) and float(run.times[n]) < float(
        times[n]
    )
    assert float(run.loss[-1]) == pytest.approx(2.0, rel=1e-8)
    assert bool((run.loss[:-1] > 2.0).all())
    again = flow(
        weights, target, times=run.times[-1:]
    )  # the same state without the stop
    assert_close(again.products[-1], run.products[-1], rtol=1e-7, atol=1e-9)


def test_gradient_descent_raises_when_it_diverges():
    weights = init_linear((2, 3, 2), scale=1.0, generator=gen(0))
    with pytest.raises(FloatingPointError, match="lr"):
        gradient_descent(weights, 10 * torch.eye(2, **F64), lr=5.0, steps=50)


def test_mode_strengths_and_alignment_closed_forms():
    target = make_target([3.0, 1.0], 4, 3)
    U, s, V = target_svd(target)
    assert s.tolist() == pytest.approx([3.0, 1.0])
    assert_close(mode_strengths(target, target), s)
    assert_close(alignment(target, target), torch.ones(2, **F64))
    swapped = U @ torch.diag(torch.tensor([1.0, 3.0], **F64)) @ V.T
    # A's top pair is the target's second: both cosines vanish
    assert float(alignment(swapped, target).max()) < 1e-12
    assert_close(mode_strengths(swapped, target), torch.tensor([1.0, 3.0], **F64))
    flipped = (
        -U[:, :1] @ V[:, :1].T * 2.0
    )  # a sign flip of both vectors is the same pair
    assert float(alignment(flipped, target)[0]) == pytest.approx(1.0)


# -------------------------------------------------------------------------- Saxe


def test_saxe_half_times_of_science_md():
    """§6.1: t½ = 1.7182, 2.4759, 4.6051 for s = 3, 2, 1, u₀ = 1e-4, τ = 1."""
    s = torch.tensor([3.0, 2.0, 1.0], **F64)
    t_half = saxe_half_time(s, 1e-4)
    exact = torch.log(s / 1e-4 - 1) / (2 * s)
    assert_close(t_half, exact, rtol=1e-14)
    assert t_half.tolist() == pytest.approx([1.7182, 2.4759, 4.6051], abs=5e-5)
    assert_close(saxe_half_time(s, 1e-4, tau=2.0), 2 * exact, rtol=1e-14)


def test_saxe_mode_strength_limits_and_inverse():
    s = torch.tensor([3.0, 0.5, 0.0], **F64)
    assert_close(saxe_mode_strength(0.0, s, 1e-3), torch.full((3,), 1e-3, **F64))
    late = saxe_mode_strength(1e4, s[:2], 1e-3)  # no overflow at 2st = 6·10⁴
    assert_close(late, s[:2], rtol=1e-14)
    t = torch.linspace(0, 5, 11, **F64)
    assert_close(saxe_mode_strength(t, 0.0, 0.2), 0.2 / (1 + 0.4 * t), rtol=1e-14)
    t_f = saxe_learning_time(3.0, 1e-3, 2.9)
    assert float(saxe_mode_strength(t_f, 3.0, 1e-3)) == pytest.approx(2.9, rel=1e-13)
    # τ du/dt = 2u(s − u), by a central difference
    u = lambda t: saxe_mode_strength(t, 2.0, 0.01, tau=1.5)  # noqa: E731
    t0, h = 1.3, 1e-5
    du = (u(t0 + h) - u(t0 - h)) / (2 * h)
    assert float(1.5 * du) == pytest.approx(float(2 * u(t0) * (2.0 - u(t0))), rel=1e-8)


def test_saxe_closed_form_matches_the_integrated_flow():
    """§6.1 setting: n_in = 4, n_h = 6, n_out = 3, s = (3, 2, 1), u₀ = 1e-4 (1e-6)."""
    target = make_target([3.0, 2.0, 1.0], 3, 4)
    s = torch.tensor([3.0, 2.0, 1.0], **F64)
    t_half = saxe_half_time(s, 1e-4)
    times = torch.cat([torch.linspace(0, 8, 81, **F64), t_half]).sort().values
    out = compare_with_flow(target, u0=1e-4, width=6, times=times, generator=gen(5))
    assert out.max_error < 1e-6, out.max_error  # ~1e-9 in practice
    assert out.max_off_diagonal < 1e-8 and out.max_balancedness < 1e-8
    at_half = [out.simulated[times == t][0, i] for i, t in enumerate(t_half)]
    assert torch.stack(at_half).tolist() == pytest.approx((s / 2).tolist(), abs=1e-6)


def test_balanced_mode_time_depth_two_is_saxe_and_depth_three_matches_the_flow():
    assert balanced_mode_time(3.0, 1e-4, 1.5, depth=2) == pytest.approx(
        float(saxe_half_time(3.0, 1e-4)), rel=1e-10
    )
    # small u₀ at L = 3: t ≈ u₀^{−1/3} / s
    assert balanced_mode_time(2.0, 1e-12, 1.0, depth=3) == pytest.approx(
        1e4 / 2, rel=1e-3
    )
    target = make_target([2.0, 1.0], 3, 3)
    weights = decoupled_init(target, 1e-3, width=4, depth=3, generator=gen(0))
    expected = [balanced_mode_time(x, 1e-3, x / 2, depth=3) for x in (2.0, 1.0)]
    run = flow(weights, target, times=torch.tensor(expected, **F64))
    got = torch.diagonal(run.mode_strengths).tolist()
    assert got == pytest.approx([1.0, 0.5], abs=1e-7)


def test_effective_strengths_predict_the_escape_of_a_random_initialisation():
    """Two layers, i.i.d. init σ = 1e-6: each mode's t½ is Saxe's from u₀,eff (1e-3)."""
    s = [6.0, 3.0, 1.5, 0.75]
    target = make_target(s, 6, 6)
    weights = init_linear((6, 10, 6), scale=1e-6, generator=gen(1))
    run = flow(weights, target, times=torch.logspace(-1, 1.5, 600, **F64))
    heights = torch.tensor(s, **F64)
    measured = switch_on_times(run.times, run.mode_strengths, heights)
    predicted = saxe_half_time(heights, effective_strengths(weights, target))
    assert_close(measured, predicted, rtol=1e-3)


# --------------------------------------------------------------- plateaus, ranks


def test_plateaus_of_a_synthetic_staircase():
    """L(t) = 0.1 + Σ_k Δ_k / (1 + (t/t_k)^8): levels 7.1, 3.1, 1.1, 0.1."""
    t = torch.logspace(-2, 4, 600, **F64)
    drops, centres = [4.0, 2.0, 1.0], [1.0, 10.0, 100.0]
    loss = 0.1 + sum(
        d / (1 + (t / c) ** 8) for d, c in zip(drops, centres, strict=True)
    )
    found = plateaus(t, loss)
    assert len(found) == 4 and found.closed.tolist() == [True, True, True, False]
    assert found.level.tolist() == pytest.approx([7.1, 3.1, 1.1, 0.1], rel=1e-3)
    for k, c in enumerate(centres):  # each plateau ends before the drop at t = c
        assert float(found.end[k]) < c < float(found.start[k + 1])
    assert float(found.start[0]) == pytest.approx(0.01)


def test_plateaus_ignore_convergence_to_zero_and_a_flat_curve_is_one_open_plateau():
    t = torch.logspace(-2, 2, 200, **F64)
    decay = 5.0 * torch.exp(-t)  # flat, then falls to 0: one closed plateau
    found = plateaus(t, decay)
    assert len(found) == 1 and bool(found.closed[0])
    flat = plateaus(t, torch.full_like(t, 2.0))
    assert len(flat) == 1 and not bool(flat.closed[0]) and float(flat.level[0]) == 2.0
    wiggle = plateaus(t, 2.0 + 0.01 * torch.sin(10 * t.log()))  # 1 % wiggles: merged
    assert len(wiggle) == 1


def flow_case(depth, s, *, scale, seed=0, t_max):
    width = {2: 10, 3: 20}[depth]
    target = make_target(s, 6, 6)
    dims = (6, *[width] * (depth - 1), 6)
    weights = init_linear(dims, scale=scale, generator=gen(seed))
    times = torch.logspace(-2, math.log10(t_max), 300, **F64)
    return flow(weights, target, times=times)


@pytest.mark.parametrize(
    ("depth", "s", "scale", "t_max"),
    [
        (2, [6.0, 3.0, 1.5, 0.75], 1e-6, 40.0),
        (2, [4.0, 2.0], 1e-6, 15.0),
        (3, [6.0, 3.0, 1.5, 0.75], 0.01, 400.0),
        (3, [5.0, 3.0, 1.5], 0.01, 200.0),
    ],
)
def test_plateaus_count_the_rank_and_modes_switch_on_in_decreasing_order(
    depth, s, scale, t_max
):
    """From a small init: r closed plateaus (saddles of rank 0 … r − 1) at the levels
    ½ Σ_{i>k} s_i², then the loss goes to 0; σ_i(A) switch on in decreasing order."""
    run = flow_case(depth, s, scale=scale, t_max=t_max)
    found = plateaus(run.times, run.loss)
    closed = found.closed
    assert int(closed.sum()) == len(s), found
    assert found.level[closed].tolist() == pytest.approx(steps_of(s), rel=2e-2)
    ranks = rank_at_plateaus(found, run.times, run.singular_values)
    assert ranks[closed].tolist() == list(range(len(s)))
    heights = torch.tensor(s, **F64)
    switch = switch_on_times(run.times, run.mode_strengths, heights)
    assert bool((switch[1:] > switch[:-1]).all()), switch
    on_sv = switch_on_times(run.times, run.singular_values[:, : len(s)], heights)
    assert_close(on_sv, switch, rtol=0.05)  # the i-th singular value is mode i
    for k in range(len(s)):  # between consecutive switches exactly k values are on
        assert float(found.end[k]) < float(switch[k])
    assert float(run.alignment[-1].min()) > 1 - 1e-6
    assert float(run.loss[-1]) < 1e-6


def test_a_bottleneck_ends_on_an_open_plateau_at_the_best_low_rank_loss():
    """Hidden width 1, target rank 2: the final plateau is ½ s_2² (Eckart–Young)."""
    target = make_target([3.0, 1.0], 3, 3)
    weights = init_linear((3, 1, 3), scale=1e-4, generator=gen(0))
    run = flow(weights, target, times=torch.logspace(-2, 1.5, 200, **F64))
    found = plateaus(run.times, run.loss)
    assert found.closed.tolist() == [True, False]
    assert found.level.tolist() == pytest.approx([5.0, 0.5], rel=1e-3)
    ranks = rank_at_plateaus(found, run.times, run.singular_values)
    assert ranks.tolist() == [0, 1]


def test_switch_on_times_interpolate():
    t = torch.tensor([0.0, 1.0, 2.0], **F64)
    values = torch.tensor([[0.0, 0.0], [1.0, 0.1], [3.0, 0.2]], **F64)
    got = switch_on_times(t, values, torch.tensor([4.0, 4.0], **F64))
    assert got[0] == pytest.approx(1.5) and math.isnan(float(got[1]))


# -------------------------------------------------------------------- symmetry


def two_layer_case(m=3, d=2, n=20, seed=0):
    g = gen(seed)
    params = {
        "w": torch.randn(m, d, generator=g, **F64),
        "a": torch.randn(m, generator=g, **F64),
    }
    x = torch.randn(n, d, generator=g, **F64)
    return params, x


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "linear"])
def test_two_layer_gradient_equals_autograd(activation):
    params, x = two_layer_case()
    y = torch.randn(20, generator=gen(9), **F64)
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    loss = two_layer_loss(leaves, x, y, activation=activation)
    expected = dict(
        zip(leaves, torch.autograd.grad(loss, list(leaves.values())), strict=True)
    )
    got = two_layer_gradient(params, x, y, activation=activation)
    for k in params:
        assert_close(got[k], expected[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "linear"])
@pytest.mark.parametrize("fraction", [0.5, 0.0, 1.0, -0.7, 2.3])
def test_splitting_a_neuron_preserves_the_function(activation, fraction):
    params, x = two_layer_case()
    split = split_neuron(params, 1, fraction=fraction)
    assert split["w"].shape == (4, 2) and split["a"].shape == (4,)
    assert torch.equal(split["w"][3], params["w"][1])
    assert float(split["a"][1] + split["a"][3]) == pytest.approx(float(params["a"][1]))
    f0 = two_layer(params, x, activation=activation)
    assert_close(two_layer(split, x, activation=activation), f0, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_permuting_units_preserves_function_and_loss_and_permutes_the_gradient(
    activation,
):
    params, x = two_layer_case(m=4)
    y = torch.randn(20, generator=gen(3), **F64)
    perm = [2, 0, 3, 1]
    moved = permute_units(params, perm)
    f, f_moved = (two_layer(p, x, activation=activation) for p in (params, moved))
    assert_close(f_moved, f, rtol=1e-14, atol=1e-14)
    assert float(two_layer_loss(moved, x, y, activation=activation)) == pytest.approx(
        float(two_layer_loss(params, x, y, activation=activation)), rel=1e-14
    )
    g, g_moved = (
        two_layer_gradient(p, x, y, activation=activation) for p in (params, moved)
    )
    for k in params:
        assert_close(g_moved[k], g[k][perm], rtol=1e-14, atol=1e-15)


def linear_critical_point():
    """Width 1, φ = identity: a w = β_LS (least squares) is critical, with loss > 0."""
    _, x = two_layer_case(m=1, d=3, n=30)
    y = torch.tanh(2 * x[:, 0]) + x[:, 1] ** 2  # not linear: the residual is not 0
    beta = torch.linalg.lstsq(x, y[:, None]).solution[:, 0]
    return {"w": beta[None] / 2.0, "a": torch.tensor([2.0], **F64)}, x, y, "linear"


def tanh_critical_point():
    """One tanh unit on a width-3 tanh teacher: Newton's method on the gradient."""
    teacher, x = two_layer_case(m=3, d=2, n=40, seed=4)
    y = two_layer(teacher, x, activation="tanh")
    start, _ = two_layer_case(m=1, d=2, seed=5)
    flat = torch.cat([start["w"].reshape(-1), start["a"]])

    def loss(v):
        return two_layer_loss({"w": v[None, :2], "a": v[2:]}, x, y, activation="tanh")

    for _ in range(300):  # a little descent, then Newton
        flat = flat - 0.5 * torch.autograd.functional.jacobian(loss, flat)
    for _ in range(30):
        g = torch.autograd.functional.jacobian(loss, flat)
        H = torch.autograd.functional.hessian(loss, flat)
        flat = flat - torch.linalg.solve(H, g)
    return {"w": flat[None, :2], "a": flat[2:]}, x, y, "tanh"


@pytest.mark.parametrize("make", [linear_critical_point, tanh_critical_point])
def test_splitting_maps_a_critical_point_to_a_line_of_critical_points(make):
    params, x, y, activation = make()
    grad = two_layer_gradient(params, x, y, activation=activation)
    assert max(float(g.abs().max()) for g in grad.values()) < 1e-12  # critical
    loss = float(two_layer_loss(params, x, y, activation=activation))
    assert loss > 1e-3  # not a global minimum: a saddle or a local minimum
    for fraction in (0.5, 0.2, -1.0, 3.0):
        split = split_neuron(params, 0, fraction=fraction)
        grad = two_layer_gradient(split, x, y, activation=activation)
        assert max(float(g.abs().max()) for g in grad.values()) < 1e-12
        assert float(
            two_layer_loss(split, x, y, activation=activation)
        ) == pytest.approx(loss, rel=1e-13)


def test_splitting_a_non_critical_point_scales_the_input_gradient_by_the_fraction():
    params, x = two_layer_case()
    y = torch.randn(20, generator=gen(2), **F64)
    g = two_layer_gradient(params, x, y, activation="tanh")
    gs = two_layer_gradient(
        split_neuron(params, 2, fraction=0.3), x, y, activation="tanh"
    )
    assert_close(gs["w"][2], 0.3 * g["w"][2])
    assert_close(gs["w"][3], 0.7 * g["w"][2])
    assert_close(gs["a"][3], g["a"][2])


# ------------------------------------------------------------------------ errors


W2 = [torch.ones(3, 2, **F64), torch.ones(1, 3, **F64)]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: init_linear((2, 3), generator=gen(0)), ValueError, "scale and gamma"),
        (
            lambda: init_linear((2, 3, 4, 2), gamma=1.0, generator=gen(0)),
            ValueError,
            "equal hidden widths",
        ),
        (lambda: init_linear((2, 0), scale=1.0, generator=gen(0)), ValueError, r"dims\[1\]"),
        (lambda: end_to_end(torch.ones(2, 2)), TypeError, "weights must be a list"),
        (
            lambda: end_to_end([torch.ones(3, 2, **F64), torch.ones(1, 4, **F64)]),
            ValueError,
            r"weights\[1\] must have 3 columns",
        ),
        (lambda: linear_loss(W2, torch.ones(2, 2, **F64)), ValueError, r"target .*\(1, 2\)"),
        (
            lambda: flow(W2, torch.ones(1, 2, **F64), times=[1.0, 0.5]),
            ValueError,
            "times must be strictly increasing",
        ),
        (
            lambda: flow(W2, torch.ones(1, 2, **F64), times=[1.0], method="Euler"),
            ValueError,
            "method must be one of",
        ),
        (
            lambda: gradient_descent(W2, torch.ones(1, 2, **F64), lr=0.1, steps=5, record=[3, 9]),
            ValueError,
            "record",
        ),
        (
            lambda: plateaus(torch.ones(3, **F64), torch.ones(4, **F64)),
            ValueError,
            "same shape",
        ),
        (lambda: saxe_half_time(1.0, 0.0), ValueError, "u0"),
        (
            lambda: decoupled_init(make_target([2.0, 1.0], 2, 2), 0.1, width=1, generator=gen(0)),
            ValueError,
            "width",
        ),
        (
            lambda: effective_strengths([*W2, torch.ones(1, 1, **F64)], torch.ones(1, 2, **F64)),
            ValueError,
            "two layers",
        ),
        (lambda: split_neuron(two_layer_case()[0], 3), ValueError, "i must be < the width 3"),
        (lambda: permute_units(two_layer_case()[0], [0, 0, 1]), ValueError, "perm"),
        (lambda: two_layer({"w": torch.ones(2, 2, **F64)}, torch.ones(1, 2)), ValueError, "keys"),
    ],
)  # fmt: skip
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
