"""The same code on another device: CUDA results equal CPU results (runs only with a GPU).

These machines have no GPU, so here these tests are skipped; on a GPU machine they check
that the library's device handling is the CPU code with another device, not a separate path.
"""

import pytest
import torch

from deeptheory.kernels import fc_kernels
from deeptheory.models import FCNet
from deeptheory.ntk import empirical_ntk
from deeptheory.testing import assert_close

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.parametrize("method", ["structured", "jacobian", "ntk_vp", "loop"])
def test_ntk_on_cuda_equals_cpu(method):
    net = FCNet(input_dim=3, width=16, hidden_layers=2, out_dim=2, bias_std=0.2)
    params = net.init(generator=torch.Generator().manual_seed(0))
    x = torch.randn(
        7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    on_cpu = empirical_ntk(net, params, x, method=method)
    gpu_params = {k: v.cuda() for k, v in params.items()}
    on_gpu = empirical_ntk(net, gpu_params, x.cuda(), method=method)
    assert on_gpu.device.type == "cuda"
    assert_close(on_gpu.cpu(), on_cpu, rtol=1e-10)


@cuda
def test_analytic_kernels_on_cuda_equal_cpu():
    x = torch.randn(
        9, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    for a, b in zip(
        fc_kernels(x.cuda(), hidden_layers=3, bias_std=0.1),
        fc_kernels(x, hidden_layers=3, bias_std=0.1),
        strict=True,
    ):
        assert a.device.type == "cuda"
        assert_close(a.cpu(), b, rtol=1e-12)


@cuda
def test_generator_on_cuda_initialises_on_cuda():
    net = FCNet(input_dim=2, width=4)
    params = net.init(
        generator=torch.Generator(device="cuda").manual_seed(0), device="cuda"
    )
    assert all(p.device.type == "cuda" for p in params.values())
