"""Typical mistakes in Homework 1; `deeptheory course check` requires each to lose points
in at least one hidden test. Each entry: the solution cell's grade_id and its wrong code."""

MUTANTS = {
    "missing 1/sqrt(h)": (
        "one_hidden_layer_ntk",
        """
def one_hidden_layer_ntk(net, params, x1, x2):
    c0, c1, sb = net.scale(0), net.weight_std, net.bias_std  # forgot 1/sqrt(h)
    def pre(x):
        z = c0 * x @ params["w0"].T
        return z + sb * params["b0"] if sb else z
    z1, z2 = pre(x1), pre(x2)
    v = params["w1"][0]
    last = c1**2 * net.act.fn(z1) @ net.act.fn(z2).T + sb**2
    g1, g2 = net.act.derivative(z1) * v, net.act.derivative(z2) * v
    return last + c1**2 * (g1 @ g2.T) * (c0**2 * x1 @ x2.T + sb**2)
""",
    ),
    "wrong bias term": (
        "one_hidden_layer_ntk",
        """
def one_hidden_layer_ntk(net, params, x1, x2):
    c0, c1, sb = net.scale(0), net.scale(1), net.bias_std
    def pre(x):
        z = c0 * x @ params["w0"].T
        return z + sb * params["b0"] if sb else z
    z1, z2 = pre(x1), pre(x2)
    v = params["w1"][0]
    last = c1**2 * net.act.fn(z1) @ net.act.fn(z2).T + sb**2
    g1, g2 = net.act.derivative(z1) * v, net.act.derivative(z2) * v
    return last + c1**2 * (g1 @ g2.T) * (c0**2 * x1 @ x2.T)  # forgot the hidden bias
""",
    ),
    "x1 on both sides": (
        "autograd_ntk",
        """
def autograd_ntk(model, params, x1, x2):
    names = list(params)
    leaves = [params[k].detach().requires_grad_(True) for k in names]
    def jacobian(x):
        rows = []
        for i in range(len(x)):
            out = model(dict(zip(names, leaves)), x[i : i + 1]).reshape(())
            grads = torch.autograd.grad(out, leaves, allow_unused=True)
            rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                   for g, p in zip(grads, leaves)]))
        return torch.stack(rows)
    j = jacobian(x1)
    return (j @ j.T)[:, : len(x2)]  # right only when x2 is x1
""",
    ),
    "float32 accumulation": (
        "autograd_ntk",
        """
def autograd_ntk(model, params, x1, x2):
    names = list(params)
    leaves = [params[k].detach().requires_grad_(True) for k in names]
    def jacobian(x):
        rows = []
        for i in range(len(x)):
            out = model(dict(zip(names, leaves)), x[i : i + 1]).reshape(())
            grads = torch.autograd.grad(out, leaves, allow_unused=True)
            rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                   for g, p in zip(grads, leaves)]))
        return torch.stack(rows).float()  # accumulates in float32
    return (jacobian(x1) @ jacobian(x2).T).double()
""",
    ),
    "last layer only": (
        "autograd_ntk",
        """
def autograd_ntk(model, params, x1, x2):
    names = list(params)[-1:]  # differentiates only the last parameter tensor
    leaves = [params[k].detach().requires_grad_(True) for k in names]
    rest = {k: v for k, v in params.items() if k not in names}
    def jacobian(x):
        rows = []
        for i in range(len(x)):
            out = model({**rest, **dict(zip(names, leaves))}, x[i : i + 1]).reshape(())
            grads = torch.autograd.grad(out, leaves, allow_unused=True)
            rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                   for g, p in zip(grads, leaves)]))
        return torch.stack(rows)
    return jacobian(x1) @ jacobian(x2).T
""",
    ),
}
