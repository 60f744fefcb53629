"""FCNet: the parametrisations of shared/science.md §1.1 and §2.1, ensembles, checks."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from torch import nn

from deeptheory.models import FCNet, functionalize
from deeptheory.testing import assert_close
from deeptheory.testing.strategies import fc_cases

NUMPY_ACT = {
    "relu": lambda z: np.maximum(z, 0),
    "sqrt2_relu": lambda z: math.sqrt(2) * np.maximum(z, 0),
    "tanh": np.tanh,
    "linear": lambda z: z,
    "softplus": lambda z: 1.4043833476318723 * np.logaddexp(0, 5 * z) / 5,
}


def numpy_forward(net, params, x):
    """The formulas of the module docstring, one sample and one neuron at a time."""
    p = {k: v.numpy() for k, v in params.items()}
    out = []
    for sample in x.numpy():
        a = sample
        for layer in range(net.hidden_layers + 1):
            w = p[f"w{layer}"]
            n_in = w.shape[1]
            last = layer == net.hidden_layers
            c = (
                1 / n_in
                if (last and net.parametrization == "mean_field")
                else n_in**-0.5
            )
            z = np.array(
                [
                    net.weight_std * c * sum(w[i, j] * a[j] for j in range(n_in))
                    for i in range(w.shape[0])
                ]
            )
            if net.bias_std:
                z = z + net.bias_std * p[f"b{layer}"]
            a = z if last else NUMPY_ACT[net.activation](z)
        out.append(a)
    out = np.array(out)
    return out[:, 0] if net.out_dim is None else out


@given(fc_cases())
def test_forward_matches_the_written_formula(case):
    f = case.net(case.params, case.x1)
    expected = torch.as_tensor(numpy_forward(case.net, case.params, case.x1))
    assert_close(f, expected)


@given(fc_cases(ensemble=__import__("hypothesis").strategies.sampled_from([1, 3])))
def test_ensemble_equals_its_members(case):
    net, params = case.net, case.params
    f = net(params, case.x1)
    for e in range(net.ensemble_size(params)):
        assert_close(f[e], net(FCNet.member(params, e), case.x1), name=f"member {e}")
    # per-member inputs (E, n, d)
    xs = torch.stack([case.x1 * (e + 1) for e in range(len(f))])
    g = net(params, xs)
    for e in range(len(f)):
        assert_close(g[e], net(FCNet.member(params, e), xs[e]), name=f"member {e}")


def test_output_shapes_and_parameter_count():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    scalar = FCNet(input_dim=3, width=4, hidden_layers=2)
    vector = FCNet(input_dim=3, width=4, hidden_layers=2, out_dim=2, bias_std=0.1)
    p_s, p_v = scalar.init(generator=generator), vector.init(generator=generator)
    assert scalar(p_s, x).shape == (5,)
    assert vector(p_v, x).shape == (5, 2)
    assert set(p_s) == {"w0", "w1", "w2"}  # no biases when bias_std = 0
    assert scalar.num_params() == sum(v.numel() for v in p_s.values()) == 12 + 16 + 4
    assert vector.num_params() == sum(v.numel() for v in p_v.values()) == 16 + 20 + 10
    ens = vector.init(generator=generator, ensemble=7)
    assert vector(ens, x).shape == (7, 5, 2)


def test_init_is_deterministic_given_the_generator():
    net = FCNet(input_dim=2, width=3, bias_std=1.0)
    a = net.init(generator=torch.Generator().manual_seed(5))
    b = net.init(generator=torch.Generator().manual_seed(5))
    c = net.init(generator=torch.Generator().manual_seed(6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["w0"], c["w0"])


def test_weights_are_standard_gaussian():
    net = FCNet(input_dim=50, width=400, bias_std=1.0)
    w = net.init(generator=torch.Generator().manual_seed(0))["w0"]
    assert abs(float(w.mean())) < 4 / math.sqrt(w.numel())
    assert abs(float(w.var()) - 1) < 4 * math.sqrt(2 / w.numel())


def test_mean_field_last_layer_is_ntk_divided_by_sqrt_width():
    """f_MF = f_NTK / √h without output bias: only the last layer's scale differs."""
    generator = torch.Generator().manual_seed(1)
    kwargs = dict(input_dim=3, width=25, hidden_layers=2, activation="tanh")
    ntk, mf = FCNet(**kwargs), FCNet(**kwargs, parametrization="mean_field")
    params = ntk.init(generator=generator)
    x = torch.randn(4, 3, dtype=torch.float64, generator=generator)
    assert_close(mf(params, x), ntk(params, x) / math.sqrt(25))


def test_compute_follows_input_dtype():
    net = FCNet(input_dim=3, width=4)
    params = net.init(generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    out = net(params, torch.zeros(2, 3, dtype=torch.float32))
    assert out.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(input_dim=0, width=3), ValueError, "input_dim must be >= 1"),
        (dict(input_dim=2, width=-1), ValueError, "width must be >= 1"),
        (dict(input_dim=2, width=3, hidden_layers=-1), ValueError, "hidden_layers"),
        (dict(input_dim=2, width=3.5), TypeError, "width must be an int"),
        (dict(input_dim=2, width=3, activation="gelu"), ValueError, "activation"),
        (dict(input_dim=2, width=3, bias_std=-1.0), ValueError, "bias_std"),
        (
            dict(input_dim=2, width=3, parametrization="mup"),
            ValueError,
            "parametrization",
        ),
        (dict(input_dim=2, width=3, out_dim=0), ValueError, "out_dim"),
    ],
)
def test_bad_architecture_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        FCNet(**kwargs)


def test_bad_inputs_name_the_argument():
    net = FCNet(input_dim=3, width=4, bias_std=1.0)
    params = net.init(generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="x must have last dimension 3"):
        net(params, torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"x has dtype torch\.float32 but params"):
        net(params, torch.zeros(2, 3))
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        net(params, [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="params must have keys"):
        net({"w0": params["w0"]}, torch.zeros(2, 3, dtype=torch.float64))
    bad = dict(params, w1=torch.zeros(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"params\['w1'\] must have shape \(1, 4\)"):
        net.check_params(bad)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        net.init(generator=0)
    with pytest.raises(ValueError, match="per ensemble member"):
        net(params, torch.zeros(2, 5, 3, dtype=torch.float64))


def test_functionalize_matches_the_module_and_does_not_alias():
    module = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    model, params = functionalize(module)
    x = torch.randn(4, 3, dtype=torch.float64)
    assert_close(model(params, x), module(x).detach())
    params["0.weight"].zero_()
    assert module[0].weight.abs().sum() > 0
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.Module"):
        functionalize(lambda x: x)


def test_without_a_readout_bias_only_the_hidden_layers_have_biases():
    net = FCNet(input_dim=3, width=5, hidden_layers=2, bias_std=1.0, readout_bias=False)
    params = net.init(generator=torch.Generator().manual_seed(0))
    assert sorted(params) == ["b0", "b1", "w0", "w1", "w2"]
    assert net.num_params() == sum(v.numel() for v in params.values())
    x = torch.randn(
        4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    with_bias = FCNet(input_dim=3, width=5, hidden_layers=2, bias_std=1.0)
    full = {**params, "b2": torch.full((1,), 0.25, dtype=torch.float64)}
    assert torch.allclose(with_bias(full, x) - 0.25, net(params, x), rtol=0, atol=1e-15)
