"""Typical mistakes in Homework 4. `deeptheory course check` requires each to lose points
in at least one hidden test. Each entry: (solution grade_id, text in the solution, what
the mistake puts instead); a snippet that is no longer in the solution fails the gate."""

MUTANTS = {
    "residual T - A instead of A - T (gradient ascent)": (
        "gradients",
        "back = prefix[-1] - target",
        "back = target - prefix[-1]",
    ),
    "missing transpose of the lower product": (
        "gradients",
        "grads[k] = back @ prefix[k - 1].mT",
        "grads[k] = back @ prefix[k - 1]",
    ),
    "products in the wrong order": (
        "gradients",
        "prefix.append(W @ prefix[-1])",
        "prefix.append(prefix[-1] @ W)",
    ),
    ".T instead of .mT (breaks ensembles)": (
        "gradients",
        "back = weights[k].mT @ back",
        "back = weights[k].T @ back",
    ),
    "layers updated one after the other (W_2 sees the new W_1)": (
        "gradient_descent",
        "        grads = gradients(current, target)\n"
        "        current = [W - lr * G for W, G in zip(current, grads, strict=True)]",
        "        for i in range(len(current)):\n"
        "            current[i] = current[i] - lr * gradients(current, target)[i]",
    ),
    "step of 2 lr (the 1/2 of the loss forgotten)": (
        "gradient_descent",
        "current = [W - lr * G for W, G",
        "current = [W - 2 * lr * G for W, G",
    ),
    "one step too many": (
        "gradient_descent",
        "for _ in range(steps):",
        "for _ in range(steps + 1):",
    ),
    "e^{-st} instead of e^{-2st}": (
        "saxe_mode_strength",
        "decay = torch.exp(-2 * s * t / tau)",
        "decay = torch.exp(-s * t / tau)",
    ),
    "s/u0 instead of s/u0 - 1": (
        "saxe_mode_strength",
        "return s / (1 + (s / u0 - 1) * decay)",
        "return s / (1 + (s / u0) * decay)",
    ),
    "tau multiplies the time": (
        "saxe_mode_strength",
        "decay = torch.exp(-2 * s * t / tau)",
        "decay = torch.exp(-2 * s * t * tau)",
    ),
    "the first form, e^{2st}, overflows": (
        "saxe_mode_strength",
        "    decay = torch.exp(-2 * s * t / tau)\n"
        "    return s / (1 + (s / u0 - 1) * decay)",
        "    grow = torch.exp(2 * s * t / tau)\n    return s * grow / (grow - 1 + s / u0)",
    ),
    "runs never merged": (
        "plateaus",
        "if merged and loss[merged[-1][1]] < (1 + min_drop) * loss[a]:",
        "if False:",
    ),
    "slope against linear time": (
        "plateaus",
        "x, y = torch.log(t), torch.log(loss.clamp_min(1e-300))",
        "x, y = t, torch.log(loss.clamp_min(1e-300))",
    ),
    "min_ratio ignored": (
        "plateaus",
        "runs = [[a, b] for a, b in runs if t[b] / t[a] >= min_ratio]",
        "runs = [[a, b] for a, b in runs]",
    ),
    "floor ignored": (
        "plateaus",
        "alive = loss > floor * loss.max()",
        "alive = loss > 0",
    ),
    "every plateau closed": (
        "plateaus",
        "[b < len(t) - 1 for _, b in merged]",
        "[True for _, b in merged]",
    ),
    "arithmetic instead of geometric mean for the level": (
        "plateaus",
        "math.sqrt(float(loss[k]) * float(loss[k + 1]))",
        "(float(loss[k]) + float(loss[k + 1])) / 2",
    ),
    "samples with t <= 0 kept": (
        "plateaus",
        "t, loss = t[keep], loss[keep]",
        "pass",
    ),
    "alpha instead of alpha^2 in the potential": (
        "potential",
        "c = alpha**2",
        "c = alpha",
    ),
    "missing factor 1/2 in the potential": (
        "potential",
        "return 0.5 * terms.sum(dim=-1)",
        "return terms.sum(dim=-1)",
    ),
    "the cancelling form -sqrt(beta^2 + c^2) + c": (
        "potential",
        "- beta**2 / (torch.sqrt(beta**2 + c**2) + c)",
        "- torch.sqrt(beta**2 + c**2) + c",
    ),
    "summed over every axis": (
        "potential",
        "return 0.5 * terms.sum(dim=-1)",
        "return 0.5 * terms.sum()",
    ),
    "minimum-l2 interpolator instead": (
        "implicit_bias",
        "return beta_of(mu)",
        "return torch.linalg.pinv(X) @ y",
    ),
    "alpha instead of alpha^2 in the mirror map": (
        "implicit_bias",
        "c = alpha**2",
        "c = alpha",
    ),
    "Newton stopped at a residual of 1e-3": (
        "implicit_bias",
        "if float(F.abs().max()) <= 1e-12 * max(",
        "if float(F.abs().max()) <= 1e-3 * max(",
    ),
    "undamped Newton steps": (
        "implicit_bias",
        "size /= 2",
        "break",
    ),
}
