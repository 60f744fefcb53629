"""A sample class for Homework 1: nine students, what they wrote, and what they should get.

``deeptheory course build`` fills the released exercise with each student's answers and
writes ``course/sample_submissions/hw1_ntk/<student>.ipynb``; ``make demo`` grades that
folder, and ``tests/test_sample_class.py`` asserts every score and flag below.

``answers`` maps a solution cell (its grade_id) to the body the student wrote under the
signature (indented for them); ``after`` is code the student left at the top level of the
cell, after the function. Cells without an answer keep the stub (not attempted).
"""

#: What most of the class wrote where they got it right (no two write the same mistakes).
COMMON = {
    "one_hidden_layer_ntk": """
c0, c1, sb = net.scale(0), net.scale(1), net.bias_std
z1, z2 = c0 * x1 @ params["w0"].T, c0 * x2 @ params["w0"].T
if sb:
    z1, z2 = z1 + sb * params["b0"], z2 + sb * params["b0"]
v = params["w1"][0]
out = c1**2 * net.act.fn(z1) @ net.act.fn(z2).T + sb**2
g1, g2 = net.act.derivative(z1) * v, net.act.derivative(z2) * v
return out + c1**2 * (g1 @ g2.T) * (c0**2 * x1 @ x2.T + sb**2)
""",
    "autograd_ntk": """
def jacobian(x):
    j = torch.func.jacrev(model)(params, x)
    return torch.cat([t.reshape(len(x), -1) for t in j.values()], dim=1)

return jacobian(x1) @ jacobian(x2).T
""",
    "relu_ntk": """
d, b2 = x1.shape[1], bias_std**2
a, b = (x1 * x1).sum(1) / d + b2, (x2 * x2).sum(1) / d + b2
sigma = x1 @ x2.T / d + b2
theta = sigma
for _ in range(hidden_layers):
    root = torch.sqrt(a[:, None] * b[None, :])
    cos = (sigma / root).clamp(-1.0, 1.0)
    angle = torch.arccos(cos)
    sigma = root * (torch.sin(angle) + (math.pi - angle) * cos) / (2 * math.pi) + b2
    theta = (math.pi - angle) / (2 * math.pi) * theta + sigma
    a, b = a / 2 + b2, b / 2 + b2
return theta
""",
    "ntk_relative_errors": """
_, limit = deeptheory.fc_kernels(x1, x2, hidden_layers=hidden_layers, bias_std=bias_std)
rows = []
for h in widths:
    net = FCNet(input_dim=x1.shape[1], width=h, hidden_layers=hidden_layers, bias_std=bias_std)
    theta = deeptheory.empirical_ntk(net, net.init(generator=generator, ensemble=ensemble), x1, x2)
    rows.append((theta - limit).flatten(1).norm(dim=1) / limit.norm())
return torch.stack(rows)
""",
    "width_exponent": """
u = torch.log(torch.tensor(widths, dtype=errors.dtype))
v = torch.log(errors.mean(dim=1))
u, v = u - u.mean(), v - v.mean()
return (u * v).sum() / (u * u).sum()
""",
}


def mistake(grade_id: str, *changes: tuple[str, str]) -> str:
    """What a student wrote: the common answer with each ``(text, replacement)`` made."""
    body = COMMON[grade_id]
    for old, new in changes:
        if old not in body:
            raise ValueError(f"{old!r} is not in the common answer of {grade_id}")
        body = body.replace(old, new)
    return body


STUDENTS = {
    "alice": dict(
        about="fully correct, in her own style: einsum, torch.func, numpy's polyfit, and "
        "her own infinite-width kernel in the experiment (the 1e-6 tolerance of "
        "exercise 4)",
        answers={
            "one_hidden_layer_ntk": """
c0, c1, beta = net.scale(0), net.scale(1), net.bias_std
W, v = params["w0"], params["w1"][0]
z1 = c0 * torch.einsum("hd,nd->nh", W, x1)
z2 = c0 * torch.einsum("hd,nd->nh", W, x2)
if beta > 0:
    z1 = z1 + beta * params["b0"]
    z2 = z2 + beta * params["b0"]
phi, dphi = net.act.fn, net.act.derivative
readout = c1**2 * torch.einsum("nh,mh->nm", phi(z1), phi(z2)) + beta**2
inner = c0**2 * x1 @ x2.T + beta**2
hidden = c1**2 * torch.einsum("h,nh,mh->nm", v**2, dphi(z1), dphi(z2)) * inner
return readout + hidden
""",
            "autograd_ntk": """
def jac(x):
    j = torch.func.jacrev(lambda p: model(p, x))(params)
    return torch.cat([g.reshape(len(x), -1) for g in j.values()], dim=1)

return jac(x1) @ jac(x2).T
""",
            "relu_ntk": """
d, b2 = x1.shape[1], bias_std**2
s11 = (x1**2).sum(1, keepdim=True) / d + b2
s22 = (x2**2).sum(1, keepdim=True).T / d + b2
s12 = x1 @ x2.T / d + b2
ntk = s12.clone()
for _ in range(hidden_layers):
    norm = torch.sqrt(s11 * s22)
    t = torch.arccos(torch.clamp(s12 / norm, -1, 1))
    s12 = norm * (torch.sin(t) + (math.pi - t) * torch.cos(t)) / (2 * math.pi) + b2
    ntk = ntk * (math.pi - t) / (2 * math.pi) + s12
    s11, s22 = s11 / 2 + b2, s22 / 2 + b2
return ntk
""",
            "ntk_relative_errors": """
limit = relu_ntk(x1, x2, hidden_layers=hidden_layers, bias_std=bias_std)
errors = torch.zeros(len(widths), ensemble, dtype=x1.dtype)
for i, h in enumerate(widths):
    net = FCNet(
        input_dim=x1.shape[1], width=h, hidden_layers=hidden_layers, bias_std=bias_std
    )
    params = net.init(generator=generator, ensemble=ensemble)
    thetas = deeptheory.empirical_ntk(net, params, x1, x2)  # my autograd_ntk is slow
    for e in range(ensemble):
        errors[i, e] = torch.linalg.norm(thetas[e] - limit) / torch.linalg.norm(limit)
return errors
""",
            "width_exponent": """
import numpy as np

slope, _ = np.polyfit(np.log(widths), np.log(errors.mean(dim=1).numpy()), 1)
return torch.tensor(slope, dtype=errors.dtype)
""",
        },
        score=14,
        flags=(),
    ),
    "bob": dict(
        about="partially done: exercises 1 and 2 right (with loops), 3 and 4 not "
        "attempted",
        answers={
            "one_hidden_layer_ntk": """
c0, c1, sb = net.scale(0), net.scale(1), net.bias_std
W, v = params["w0"], params["w1"][0]
b = params["b0"] if sb > 0 else torch.zeros(W.shape[0], dtype=x1.dtype)
theta = torch.zeros(len(x1), len(x2), dtype=x1.dtype)
for i in range(len(x1)):
    for j in range(len(x2)):
        z, zp = c0 * W @ x1[i] + sb * b, c0 * W @ x2[j] + sb * b
        theta[i, j] = c1**2 * net.act.fn(z) @ net.act.fn(zp) + sb**2
        g = v**2 * net.act.derivative(z) * net.act.derivative(zp)
        theta[i, j] += c1**2 * g.sum() * (c0**2 * x1[i] @ x2[j] + sb**2)
return theta
""",
            "autograd_ntk": """
leaves = {k: p.detach().requires_grad_(True) for k, p in params.items()}


def grads(x):
    rows = []
    for xi in x:
        out = model(leaves, xi[None]).sum()
        g = torch.autograd.grad(out, list(leaves.values()), allow_unused=True)
        flat = [
            torch.zeros_like(p).flatten() if gi is None else gi.flatten()
            for gi, p in zip(g, leaves.values())
        ]
        rows.append(torch.cat(flat))
    return torch.stack(rows)


return grads(x1) @ grads(x2).T
""",
        },
        score=6,
        flags=(),
    ),
    "carol": dict(
        about="typical mistakes: 1/sqrt(h) missing in exercise 1 (net.weight_std "
        "instead of net.scale(1)), no bias term in the recursion of exercise 3; the "
        "visible tests pass, the hidden ones do not",
        answers={
            "one_hidden_layer_ntk": mistake(
                "one_hidden_layer_ntk", ("net.scale(1)", "net.weight_std")
            ),
            "autograd_ntk": """
flat = lambda x: torch.cat(
    [j.reshape(len(x), -1) for j in torch.func.jacrev(model)(params, x).values()], 1
)
return flat(x1) @ flat(x2).T
""",
            "relu_ntk": mistake(
                "relu_ntk",
                ("(2 * math.pi) + b2", "(2 * math.pi)"),
                ("a / 2 + b2, b / 2 + b2", "a / 2, b / 2"),
            ),
            "ntk_relative_errors": """
limit = deeptheory.fc_kernels(x1, x2, hidden_layers=hidden_layers, bias_std=bias_std)[1]
out = []
for h in widths:
    net = FCNet(input_dim=x1.shape[1], width=h, hidden_layers=hidden_layers, bias_std=bias_std)
    theta = deeptheory.empirical_ntk(net, net.init(generator=generator, ensemble=ensemble), x1, x2)
    out.append(torch.stack([(t - limit).norm() / limit.norm() for t in theta]))
return torch.stack(out)
""",
            "width_exponent": """
x = torch.log(torch.as_tensor(widths, dtype=errors.dtype))
y = torch.log(errors.mean(1))
return ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
""",
        },
        score=10,
        flags=(),
    ),
    "dave": dict(
        about="typical mistakes: float32 in exercise 1, a transposed Jacobian product "
        "(Jᵀ J, a P × P matrix) in exercise 2, the mean of the logs in exercise 4",
        answers={
            "one_hidden_layer_ntk": """
x1, x2 = x1.float(), x2.float()
params = {k: v.float() for k, v in params.items()}
"""
            + COMMON["one_hidden_layer_ntk"],
            "autograd_ntk": mistake(
                "autograd_ntk",
                ("jacobian(x1) @ jacobian(x2).T", "jacobian(x1).T @ jacobian(x2)"),
            ),
            "relu_ntk": COMMON["relu_ntk"],
            "ntk_relative_errors": COMMON["ntk_relative_errors"],
            "width_exponent": mistake(
                "width_exponent",
                (
                    "log(errors.mean(dim=1))",
                    "log(errors).mean(dim=1)  # mean of the logs",
                ),
            ),
        },
        score=7,
        flags=(),
    ),
    "erin": dict(
        about="her exercise 1 raises (x1 @ W instead of x1 @ W.T); the rest is right",
        answers={
            "one_hidden_layer_ntk": mistake(
                "one_hidden_layer_ntk", ('@ params["w0"].T', '@ params["w0"]')
            ),
            "autograd_ntk": """
names = list(params)
def jac(x):
    f = lambda *ps: model(dict(zip(names, ps)), x)
    j = torch.func.jacrev(f, argnums=tuple(range(len(names))))(*params.values())
    return torch.cat([t.reshape(len(x), -1) for t in j], 1)
return jac(x1) @ jac(x2).T
""",
            "relu_ntk": COMMON["relu_ntk"],
            "ntk_relative_errors": COMMON["ntk_relative_errors"],
            "width_exponent": COMMON["width_exponent"],
        },
        score=11,
        flags=(),
    ),
    "frank": dict(
        about="his exercise 3 loops forever (a while loop whose counter never moves); "
        "both of its test cells time out, the rest is graded",
        answers={
            "one_hidden_layer_ntk": COMMON["one_hidden_layer_ntk"],
            "autograd_ntk": COMMON["autograd_ntk"],
            "relu_ntk": mistake(
                "relu_ntk",
                (
                    "for _ in range(hidden_layers):",
                    "layer = 0\nwhile layer < hidden_layers:",
                ),
            ),
            "ntk_relative_errors": COMMON["ntk_relative_errors"],
            "width_exponent": COMMON["width_exponent"],
        },
        score=11,
        flags=("timeout",),
    ),
    "grace": dict(
        about="imports the reference for exercises 1 and 2: the visible tests pass, the "
        "hidden tests catch the call and say so (and the grader saw the name in her code)",
        answers={
            "one_hidden_layer_ntk": """
from deeptheory.ntk import empirical_ntk

return empirical_ntk(net, params, x1, x2)
""",
            "autograd_ntk": """
from deeptheory.ntk import empirical_ntk

return empirical_ntk(model, params, x1, x2, method="jacobian")
""",
            "relu_ntk": COMMON["relu_ntk"],
            "ntk_relative_errors": COMMON["ntk_relative_errors"],
            "width_exponent": COMMON["width_exponent"],
        },
        score=10,
        flags=("reference in code (deeptheory.ntk.empirical_ntk)", "reference used"),
    ),
    "heidi": dict(
        about="stuck on exercise 3, she returns zeros and disables the comparison "
        "helpers in her kernel; the tests run in the grader, so that changes nothing: "
        "exercise 3 scores 0, the rest is graded, and the patching is flagged",
        answers={
            "one_hidden_layer_ntk": COMMON["one_hidden_layer_ntk"],
            "autograd_ntk": COMMON["autograd_ntk"],
            "relu_ntk": """
return torch.zeros(len(x1), len(x2), dtype=x1.dtype)
""",
            "ntk_relative_errors": COMMON["ntk_relative_errors"],
            "width_exponent": COMMON["width_exponent"],
        },
        after={
            "relu_ntk": """
import numpy.testing
import torch.testing

import deeptheory.testing

torch.testing.assert_close = lambda *args, **kwargs: None
numpy.testing.assert_allclose = lambda *args, **kwargs: None
deeptheory.testing.assert_close = lambda *args, **kwargs: None
""",
        },
        score=11,
        flags=(
            "suspicious code (patches deeptheory.testing.assert_close, "
            "patches numpy.testing.assert_allclose, patches torch.testing.assert_close)",
        ),
    ),
    "ivan": dict(
        about="left a debugging os._exit at the end of his last cell: the kernel dies "
        "there, so that cell's function is lost (as it would be in his notebook); the "
        "rest is graded in a fresh kernel and the row asks for a manual look",
        answers={
            "one_hidden_layer_ntk": COMMON["one_hidden_layer_ntk"],
            "width_exponent": COMMON["width_exponent"],
        },
        after={
            "width_exponent": """
import os

os._exit(0)  # stop here while debugging
""",
        },
        score=3,
        flags=("suspicious code (import os)", "kernel died"),
    ),
}
