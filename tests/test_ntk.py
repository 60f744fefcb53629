"""Empirical NTK: every method equals the per-sample loop oracle; closed forms; bad input."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from deeptheory.models import FCNet, functionalize
from deeptheory.ntk import empirical_ntk
from deeptheory.testing import assert_close, assert_psd, assert_symmetric
from deeptheory.testing.strategies import fc_cases, fc_nets

FAST_METHODS = ["structured", "jacobian", "ntk_vp"]
EXACT = dict(rtol=1e-10, atol=1e-13)


@given(
    fc_cases(nets=fc_nets(readout_biases=(True, False))),
    st.sampled_from(FAST_METHODS),
    st.booleans(),
    st.sampled_from([None, 1, 2, 5]),
)
def test_every_method_equals_the_loop_oracle(case, method, per_output, block_size):
    kwargs = dict(per_output=per_output, block_size=block_size)
    net, params, x1, x2 = case.net, case.params, case.x1, case.x2
    oracle = empirical_ntk(net, params, x1, x2, method="loop", per_output=per_output)
    assert_close(
        empirical_ntk(net, params, x1, x2, method=method, **kwargs), oracle, **EXACT
    )
    oracle_sym = empirical_ntk(net, params, x1, method="loop", per_output=per_output)
    assert_close(
        empirical_ntk(net, params, x1, method=method, **kwargs), oracle_sym, **EXACT
    )


@given(fc_cases(ensemble=st.sampled_from([1, 2, 4])), st.sampled_from(FAST_METHODS))
def test_ensembles_give_one_kernel_per_member(case, method):
    net, params = case.net, case.params
    theta = empirical_ntk(net, params, case.x1, case.x2, method=method, block_size=3)
    members = [
        empirical_ntk(net, FCNet.member(params, e), case.x1, case.x2, method="loop")
        for e in range(net.ensemble_size(params))
    ]
    assert_close(theta, torch.stack(members), **EXACT)


@given(fc_cases(max_n=8))
def test_kernel_is_symmetric_psd_and_consistent(case):
    net, params, x1, x2 = case.net, case.params, case.x1, case.x2
    theta = empirical_ntk(net, params, x1)
    assert_symmetric(theta, rtol=0.0)  # x2=None mirrors blocks: exactly symmetric
    assert_psd(theta)
    # Θ(x2, x1) = Θ(x1, x2)ᵀ, and the kernel of a concatenation is made of the blocks
    assert_close(
        empirical_ntk(net, params, x2, x1), empirical_ntk(net, params, x1, x2).T
    )
    both = empirical_ntk(net, params, torch.cat([x1, x2]))
    assert_close(
        both[: len(x1), len(x1) :], empirical_ntk(net, params, x1, x2), **EXACT
    )
    # per-output blocks: their trace is the default result, and Θ_kl(x, x') = Θ_lk(x', x)
    blocks = empirical_ntk(net, params, x1, x2, per_output=True)
    assert_close(
        torch.diagonal(blocks, dim1=-2, dim2=-1).sum(-1),
        empirical_ntk(net, params, x1, x2),
    )
    swapped = empirical_ntk(net, params, x2, x1, per_output=True)
    assert_close(swapped, blocks.permute(1, 0, 3, 2), **EXACT)


@given(fc_cases(nets=fc_nets(max_hidden_layers=0)))
def test_linear_model_closed_form(case):
    """No hidden layer: f = σ_w/√d W x + σ_b b, so Θ = (σ_w² x·x'/d + σ_b²) I_k."""
    net, x1, x2 = case.net, case.x1, case.x2
    scale = net.scale(0) ** 2
    base = scale * (x1 @ x2.T) + net.bias_std**2
    assert_close(empirical_ntk(net, case.params, x1, x2), net.outputs * base)
    eye = torch.eye(net.outputs, dtype=x1.dtype)
    expected = base[:, :, None, None] * eye
    assert_close(empirical_ntk(net, case.params, x1, x2, per_output=True), expected)


ONE_HIDDEN = fc_nets(min_hidden_layers=1, max_hidden_layers=1, out_dims=[None])


@given(fc_cases(nets=ONE_HIDDEN), st.sampled_from(FAST_METHODS))
def test_one_hidden_layer_closed_form(case, method):
    """f = c₁ Σ_i v_i φ(z_i) + σ_b b₁ with z = c₀ W x + σ_b b₀ (hand-derived gradients)."""
    net, params, x1, x2 = case.net, case.params, case.x1, case.x2
    act, c0, c1, sb = net.act, net.scale(0), net.scale(1), net.bias_std

    def pre(x):
        z = c0 * x @ params["w0"].T
        return z + sb * params["b0"] if sb else z

    z1, z2 = pre(x1), pre(x2)
    v = params["w1"][0]
    last = c1**2 * act.fn(z1) @ act.fn(z2).T + sb**2
    g1, g2 = act.derivative(z1) * v, act.derivative(z2) * v
    hidden = c1**2 * (g1 @ g2.T) * (c0**2 * x1 @ x2.T + sb**2)
    assert_close(
        empirical_ntk(net, params, x1, x2, method=method), last + hidden, **EXACT
    )


def test_output_scaling_multiplies_the_kernel_by_alpha_squared():
    net = FCNet(input_dim=3, width=6, hidden_layers=2, bias_std=0.3, activation="tanh")
    generator = torch.Generator().manual_seed(3)
    params = net.init(generator=generator)
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    alpha = 7.0
    scaled = lambda p, x: alpha * net(p, x)  # noqa: E731
    for method in ["jacobian", "ntk_vp", "loop"]:
        theta = empirical_ntk(scaled, params, x, method=method)
        assert_close(theta, alpha**2 * empirical_ntk(net, params, x), **EXACT)


class SmallConvNet(nn.Module):
    """A model with no FC structure: 1-D convolution, pooling, two outputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, kernel_size=3, padding=1)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(torch.tanh(self.conv(x)).mean(-1))


@pytest.mark.parametrize("per_output", [False, True])
def test_generic_torch_model_methods_agree(per_output):
    torch.manual_seed(0)  # nn.Module initialisation only; inputs use a generator
    module = SmallConvNet().double()
    generator = torch.Generator().manual_seed(1)
    x1 = torch.randn(4, 2, 5, dtype=torch.float64, generator=generator)
    x2 = torch.randn(3, 2, 5, dtype=torch.float64, generator=generator)
    oracle = empirical_ntk(module, None, x1, x2, method="loop", per_output=per_output)
    assert oracle.shape == ((4, 3, 2, 2) if per_output else (4, 3))
    for method in ["auto", "jacobian", "ntk_vp"]:
        for block_size in [None, 2]:
            theta = empirical_ntk(
                module,
                None,
                x1,
                x2,
                method=method,
                per_output=per_output,
                block_size=block_size,
            )
            assert_close(
                theta, oracle, **EXACT, name=f"{method}, block_size={block_size}"
            )
    model, params = functionalize(module)
    assert_close(
        empirical_ntk(model, params, x1, x2, per_output=per_output), oracle, **EXACT
    )


def test_float32_inputs_give_float32_kernels_close_to_float64():
    net = FCNet(input_dim=4, width=32, hidden_layers=2, bias_std=0.1)
    params = net.init(generator=torch.Generator().manual_seed(0))
    x = torch.randn(6, 4, dtype=torch.float64)
    reference = empirical_ntk(net, params, x)
    params32 = {k: v.float() for k, v in params.items()}
    for method in FAST_METHODS:
        theta = empirical_ntk(net, params32, x.float(), method=method)
        assert theta.dtype == torch.float32
        assert_close(theta, reference.float(), name=method)


def test_large_n_is_computed_in_blocks():
    """Many small blocks give the same kernel as one block (memory bounded, exact)."""
    net = FCNet(input_dim=3, width=16, hidden_layers=2, out_dim=2, bias_std=0.5)
    generator = torch.Generator().manual_seed(0)
    params = net.init(generator=generator)
    x = torch.randn(300, 3, dtype=torch.float64, generator=generator)
    whole = empirical_ntk(net, params, x, block_size=300)
    assert_close(empirical_ntk(net, params, x, block_size=7), whole, **EXACT)
    assert_close(
        empirical_ntk(net, params, x[:50], x, block_size=13), whole[:50], **EXACT
    )


@pytest.mark.parametrize("method", [*FAST_METHODS, "loop"])
def test_tiny_memory_budget_recomputes_blocks_exactly(monkeypatch, method):
    """With BLOCK_BYTES tiny, blocks are small and column features are not cached."""
    import deeptheory.ntk

    net = FCNet(input_dim=3, width=6, hidden_layers=2, out_dim=2, bias_std=0.3)
    generator = torch.Generator().manual_seed(2)
    params = net.init(generator=generator)
    x1 = torch.randn(11, 3, dtype=torch.float64, generator=generator)
    x2 = torch.randn(9, 3, dtype=torch.float64, generator=generator)
    expected = [empirical_ntk(net, params, x1, x2), empirical_ntk(net, params, x1)]
    monkeypatch.setattr(deeptheory.ntk, "BLOCK_BYTES", 1024)
    got = [
        empirical_ntk(net, params, x1, x2, method=method),
        empirical_ntk(net, params, x1, method=method),
    ]
    for a, b in zip(got, expected, strict=True):
        assert_close(a, b, **EXACT)


def test_symmetric_split_for_large_n_is_exact():
    """From SPLIT_SYMMETRIC_FROM samples on, x2=None computes 10 of 16 blocks and mirrors."""
    from deeptheory.ntk import SPLIT_SYMMETRIC_FROM

    net = FCNet(input_dim=2, width=8, hidden_layers=2, bias_std=0.1, out_dim=2)
    generator = torch.Generator().manual_seed(4)
    params = net.init(generator=generator)
    x = torch.randn(
        SPLIT_SYMMETRIC_FROM + 37, 2, dtype=torch.float64, generator=generator
    )
    for method in ["structured", "jacobian"]:
        theta = empirical_ntk(net, params, x, method=method)
        assert_symmetric(theta, rtol=0.0)
        assert_close(theta, empirical_ntk(net, params, x, x, method=method), **EXACT)


@given(fc_cases(ensemble=st.sampled_from([None, 2])), st.sampled_from(FAST_METHODS))
def test_inputs_and_params_are_not_modified(case, method):
    """The structured path works in place on its own temporaries, never on the caller's."""
    params = {k: v.clone() for k, v in case.params.items()}
    x1, x2 = case.x1.clone(), case.x2.clone()
    empirical_ntk(case.net, case.params, case.x1, case.x2, method=method)
    empirical_ntk(case.net, case.params, case.x1, method=method, per_output=True)
    assert all(torch.equal(params[k], case.params[k]) for k in params)
    assert torch.equal(x1, case.x1) and torch.equal(x2, case.x2)


@pytest.fixture
def fc_setup():
    net = FCNet(input_dim=3, width=4)
    params = net.init(generator=torch.Generator().manual_seed(0))
    return net, params, torch.zeros(2, 3, dtype=torch.float64)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda n, p, x: empirical_ntk(n, p, x, method="fast"),
            ValueError,
            "method must be one of",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x[:, :2]),
            ValueError,
            "x1 must have last dimension 3",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x, x[:, :2]),
            ValueError,
            "x2 must have last dimension 3",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x[0]),
            ValueError,
            "x1 must have 2 dimensions",
        ),
        (lambda n, p, x: empirical_ntk(n, p, x[:0]), ValueError, "at least one sample"),
        (
            lambda n, p, x: empirical_ntk(n, p, x * math.nan),
            ValueError,
            "x1 contains non-finite",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x, x * math.inf),
            ValueError,
            "x2 contains non-finite",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x.float()),
            TypeError,
            "params\\['w0'\\] has dtype",
        ),
        (lambda n, p, x: empirical_ntk(n, p, x, x.float()), TypeError, "x2 has dtype"),
        (
            lambda n, p, x: empirical_ntk(n, p, x.long()),
            TypeError,
            "x1 must have a floating dtype",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x.numpy()),
            TypeError,
            "x1 must be a torch.Tensor",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x, block_size=0),
            ValueError,
            "block_size must be >= 1",
        ),
        (
            lambda n, p, x: empirical_ntk(n, p, x, per_output=1),
            TypeError,
            "per_output must be a bool",
        ),
        (lambda n, p, x: empirical_ntk(n, None, x), TypeError, "params must be a dict"),
        (lambda n, p, x: empirical_ntk(n, {}, x), ValueError, "params is empty"),
        (
            lambda n, p, x: empirical_ntk(
                lambda q, y: n(q, y), p, x, method="structured"
            ),
            ValueError,
            "needs an FCNet",
        ),
        (
            lambda n, p, x: empirical_ntk(lambda q, y: n(q, y)[None], p, x),
            ValueError,
            "must return a tensor of shape",
        ),
        (lambda n, p, x: empirical_ntk(42, p, x), TypeError, "model must be callable"),
    ],
)
def test_bad_input_names_the_argument(fc_setup, call, error, match):
    with pytest.raises(error, match=match):
        call(*fc_setup)
