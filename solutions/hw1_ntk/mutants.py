"""Typical mistakes in Homework 1. `deeptheory course check` requires each to lose points
in at least one hidden test. Each entry: (solution grade_id, text in the solution, what
the mistake puts instead); a snippet that is no longer in the solution fails the gate."""

MUTANTS = {
    "missing 1/sqrt(h)": (
        "one_hidden_layer_ntk",
        "c0, c1, sb = net.scale(0), net.scale(1), net.bias_std",
        "c0, c1, sb = net.scale(0), net.weight_std, net.bias_std",
    ),
    "wrong bias term": (
        "one_hidden_layer_ntk",
        "(c0**2 * x1 @ x2.T + sb**2)",
        "(c0**2 * x1 @ x2.T)",
    ),
    "x1 on both sides": (
        "autograd_ntk",
        "return jacobian(x1) @ jacobian(x2).T",
        "return (jacobian(x1) @ jacobian(x1).T)[:, : len(x2)]",
    ),
    "float32 accumulation": (
        "autograd_ntk",
        "return jacobian(x1) @ jacobian(x2).T",
        "return (jacobian(x1).float() @ jacobian(x2).float().T).double()",
    ),
    "last layer only": (
        "autograd_ntk",
        "for g, p in zip(grads, leaves, strict=True)",
        "for g, p in zip(grads[-1:], leaves[-1:], strict=True)",
    ),
    "no bias in the recursion": (
        "relu_ntk",
        "(math.pi - angle) * cos) / (2 * math.pi) + b2",
        "(math.pi - angle) * cos) / (2 * math.pi)",
    ),
    "k0 without the 1/2": (
        "relu_ntk",
        "k0 = (math.pi - angle) / (2 * math.pi)",
        "k0 = (math.pi - angle) / math.pi",
    ),
    "variances not updated": (
        "relu_ntk",
        "a, b = a / 2 + b2, b / 2 + b2",
        "a, b = a, b",
    ),
    "error not relative": (
        "ntk_relative_errors",
        "(theta - limit).flatten(1).norm(dim=1) / limit.norm()",
        "(theta - limit).flatten(1).norm(dim=1)",
    ),
    "a fresh generator per width": (
        "ntk_relative_errors",
        "params = net.init(generator=generator, ensemble=ensemble)",
        "params = net.init(generator=torch.Generator().manual_seed(0), ensemble=ensemble)",
    ),
    "limit without the bias": (
        "ntk_relative_errors",
        "x1, x2, hidden_layers=hidden_layers, bias_std=bias_std\n    )",
        "x1, x2, hidden_layers=hidden_layers\n    )",
    ),
    "largest entry instead of Frobenius": (
        "ntk_relative_errors",
        "(theta - limit).flatten(1).norm(dim=1) / limit.norm()",
        "(theta - limit).flatten(1).abs().amax(dim=1) / limit.abs().max()",
    ),
    "mean of the logs": (
        "width_exponent",
        "v = torch.log(errors.mean(dim=1))",
        "v = torch.log(errors).mean(dim=1)",
    ),
    "log10 on one axis": (
        "width_exponent",
        "v = torch.log(errors.mean(dim=1))",
        "v = torch.log10(errors.mean(dim=1))",
    ),
}
