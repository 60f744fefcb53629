"""Typical mistakes in Homework 2. `deeptheory course check` requires each to lose points
in at least one hidden test. Each entry: (solution grade_id, text in the solution, what
the mistake puts instead); a snippet that is no longer in the solution fails the gate."""

MUTANTS = {
    "forgetting f0": (
        "scaled_output",
        "return alpha * (f - f0)",
        "return alpha * f",
    ),
    "alpha squared on the output": (
        "scaled_output",
        "return alpha * (f - f0)",
        "return alpha**2 * (f - f0)",
    ),
    "one alpha per point instead of per member": (
        "scaled_output",
        "alpha = alpha.reshape(*alpha.shape, *([1] * (f.ndim - alpha.ndim)))",
        "alpha = alpha",
    ),
    "the article's 1/alpha^2 in the loss": (
        "scaled_loss",
        "return ell.mean(dim=-1) / alpha",
        "return ell.mean(dim=-1) / alpha**2",
    ),
    "wrong sign of the margin": (
        "scaled_loss",
        "z = y * F",
        "z = -y * F",
    ),
    "sum over points instead of mean": (
        "scaled_loss",
        "return ell.mean(dim=-1) / alpha",
        "return ell.sum(dim=-1) / alpha",
    ),
    "soft hinge without 1/beta": (
        "scaled_loss",
        "ell = torch.logaddexp(torch.zeros_like(z), beta * (1 - z)) / beta",
        "ell = torch.logaddexp(torch.zeros_like(z), beta * (1 - z))",
    ),
    "f0 recomputed at every step": (
        "gradient_descent",
        "F = scaled_output(model(w, x), f0, alpha)",
        "F = scaled_output(model(w, x), model(w, x).detach(), alpha)",
    ),
    "training the unscaled output": (
        "gradient_descent",
        "F = scaled_output(model(w, x), f0, alpha)",
        "F = model(w, x)",
    ),
    "gradient ascent": (
        "gradient_descent",
        "v -= lr * g",
        "v += lr * g",
    ),
    "normalised by the final weights": (
        "relative_weight_change",
        "norm = sum((params0[k] ** 2).sum() for k in params0)",
        "norm = sum((params[k] ** 2).sum() for k in params0)",
    ),
    "per-layer ratios summed": (
        "relative_weight_change",
        "return torch.sqrt(diff / norm)",
        "return sum((params[k] - params0[k]).norm() / params0[k].norm() for k in params0)",
    ),
    "no square root": (
        "relative_weight_change",
        "return torch.sqrt(diff / norm)",
        "return diff / norm",
    ),
    "normalised by the final kernel": (
        "relative_ntk_change",
        "return torch.linalg.norm(theta - theta0) / torch.linalg.norm(theta0)",
        "return torch.linalg.norm(theta - theta0) / torch.linalg.norm(theta)",
    ),
    "spectral norm instead of Frobenius": (
        "relative_ntk_change",
        "return torch.linalg.norm(theta - theta0) / torch.linalg.norm(theta0)",
        "return torch.linalg.matrix_norm(theta - theta0, ord=2) "
        "/ torch.linalg.matrix_norm(theta0, ord=2)",
    ),
    "first crossing instead of the last": (
        "crossover_alpha",
        "k = int(above[-1])",
        "k = int(above[0])",
    ),
    "linear instead of log-log interpolation": (
        "crossover_alpha",
        "return torch.exp(la[0] + s * (la[1] - la[0]))",
        "return alphas[k] + (level - values[k]) / (values[k + 1] - values[k]) "
        "* (alphas[k + 1] - alphas[k])",
    ),
}
