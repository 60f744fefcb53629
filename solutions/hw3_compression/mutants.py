"""Typical mistakes in Homework 3. `deeptheory course check` requires each to lose points
in at least one hidden test. Each entry: (solution grade_id, text in the solution, what
the mistake puts instead); a snippet that is no longer in the solution fails the gate."""

MUTANTS = {
    "labels start at -1": (
        "stripe_sample",
        "y = 1.0 - 2.0 * (crossed % 2).to(x.dtype)",
        "y = 2.0 * (crossed % 2).to(x.dtype) - 1.0",
    ),
    "labels from the last coordinate": (
        "stripe_sample",
        "(x[:, :1] > torch.tensor(interfaces, dtype=x.dtype))",
        "(x[:, -1:] > torch.tensor(interfaces, dtype=x.dtype))",
    ),
    "stretch on x1 too": (
        "stripe_sample",
        "x[:, 1:] *= stretch",
        "x *= stretch",
    ),
    "stretched before labelling": (
        "stripe_sample",
        "    crossed = (x[:, :1] > torch.tensor(interfaces, dtype=x.dtype)).sum(dim=1)\n"
        "    y = 1.0 - 2.0 * (crossed % 2).to(x.dtype)\n"
        "    x[:, 1:] *= stretch\n",
        "    x *= stretch\n"
        "    crossed = (x[:, :1] > torch.tensor(interfaces, dtype=x.dtype)).sum(dim=1)\n"
        "    y = 1.0 - 2.0 * (crossed % 2).to(x.dtype)\n",
    ),
    "inputs drawn as (d, n) and transposed": (
        "stripe_sample",
        "x = torch.randn(n, d, generator=generator, dtype=torch.float64)",
        "x = torch.randn(d, n, generator=generator, dtype=torch.float64).T",
    ),
    "float32 inputs": (
        "stripe_sample",
        "x = torch.randn(n, d, generator=generator, dtype=torch.float64)",
        "x = torch.randn(n, d, generator=generator)",
    ),
    "sum over the perpendicular components (the authors' code)": (
        "compression",
        "perp = sq[..., d_par:].mean(dim=(-1, -2))",
        "perp = sq[..., d_par:].sum(dim=-1).mean(dim=-1)",
    ),
    "no square root": (
        "compression",
        "return torch.sqrt(par / perp)",
        "return par / perp",
    ),
    "mean of per-neuron ratios": (
        "compression",
        "return torch.sqrt(par / perp)",
        "return torch.sqrt((sq[..., :d_par].mean(-1) / sq[..., d_par:].mean(-1)).mean(-1))",
    ),
    "d_par treated as 1": (
        "compression",
        "par = sq[..., :d_par].mean(dim=(-1, -2))\n    perp = sq[..., d_par:]",
        "par = sq[..., :1].mean(dim=(-1, -2))\n    perp = sq[..., 1:]",
    ),
    "one Lambda for the whole ensemble": (
        "compression",
        "par = sq[..., :d_par].mean(dim=(-1, -2))\n"
        "    perp = sq[..., d_par:].mean(dim=(-1, -2))",
        "par = sq[..., :d_par].mean()\n    perp = sq[..., d_par:].mean()",
    ),
    "kink sign error": (
        "kink_points",
        "return -bias_scale * bias",
        "return bias_scale * bias",
    ),
    "missing input scale": (
        "kink_points",
        "/ (input_scale * norm2)",
        "/ norm2",
    ),
    "norm instead of squared norm": (
        "kink_points",
        "norm2 = (weights**2).sum(dim=-1, keepdim=True)",
        "norm2 = (weights**2).sum(dim=-1, keepdim=True).sqrt()",
    ),
    "missing bias scale": (
        "kink_points",
        "return -bias_scale * bias[..., None]",
        "return -bias[..., None]",
    ),
    "ridge without p": (
        "kernel_ridge",
        "A = K + p * ridge * torch.eye(p, dtype=K.dtype)",
        "A = K + ridge * torch.eye(p, dtype=K.dtype)",
    ),
    "K_test transposed": (
        "kernel_ridge",
        "return c, K_test @ c",
        "return c, K_test.T @ c",
    ),
    "float32 solve": (
        "kernel_ridge",
        "c = torch.linalg.solve(A, y)",
        "c = torch.linalg.solve(A.float(), y.float()).double()",
    ),
    "smallest eigenvalues (eigh sorts ascending)": (
        "top_label_fraction",
        "top = vectors[:, -k:]",
        "top = vectors[:, :k]",
    ),
    "eigenvectors taken as rows": (
        "top_label_fraction",
        "top = vectors[:, -k:]",
        "top = vectors[-k:].T",
    ),
    "not normalised by the norm of y": (
        "top_label_fraction",
        "return (top.T @ y).square().sum() / y.square().sum()",
        "return (top.T @ y).square().sum()",
    ),
}
