"""Synthetic binary tasks with an invariant manifold: the stripe and cylinder models.

Paccolat, Petrini, Geiger, Tyloo & Wyart, "Geometric compression of invariant manifolds in
neural networks", J. Stat. Mech. (2021) 044001, arXiv:2007.11471, §2. Inputs are standard
Gaussian, x ~ N(0, I_d), and the label depends on the first ``d_par`` coordinates only
(x_∥); the other d − d_par coordinates (x_⊥) are uninformative. Both classes have
probability exactly 1/2.

* **Stripe** (d_par = 1): regions of y = +1 and y = −1 alternate along x₁, separated by the
  planes x₁ = c_1 < … < c_m (the *interfaces*). Labels start with y = +1 left of c_1. The
  authors' single stripe is m = 2 with c = (−0.3, 1.18549…): y = −1 inside, +1 outside
  (:data:`STRIPE_INTERFACES`).
* **Cylinder**: y = +1 if the radius r = ‖(x_1, …, x_{d_par})‖ exceeds the median of the χ
  distribution with d_par degrees of freedom, −1 inside. For d_par = 2 this is the authors'
  r > √(2 ln 2) = 1.17741. For d_par > 2 the authors' code uses r² > d_par − 2/3, which is
  only approximately balanced; here the exact median is used.

``stretch`` multiplies the perpendicular coordinates after the labels are drawn (the
authors' ``x[:, d_par:] *= stretching``): the labels do not change, the input geometry does.
Every function takes an explicit ``torch.Generator``; draw training and test sets from
separate generators, as the authors do (``--seed_trainset``, ``--seed_testset``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from scipy.special import ndtri
from scipy.stats import chi2, norm

from deeptheory._validation import check_float, check_int, check_tensor

Tensor = torch.Tensor

__all__ = [
    "STRIPE_INTERFACES",
    "Cylinder",
    "Stripe",
    "balanced_interfaces",
    "train_test",
]


def balanced_interfaces(
    count: int, *, offset: float | None = None
) -> tuple[float, ...]:
    """Interfaces c_1 < … < c_count along x₁ that make alternating labels equiprobable.

    The regions between interfaces have Gaussian mass 1/count each; the two outer regions
    share the remaining 1/count, the left one getting ``offset``. With labels +1, −1, +1,
    … from the left, the two classes then have mass 1/2 each. For an odd ``count``
    balance forces ``offset = 1/(2 count)`` (the symmetric layout, the default); for an
    even ``count`` any offset in (0, 1/count) works.

    Returns:
      The interfaces Φ⁻¹(offset), Φ⁻¹(offset + 1/count), …, as Python floats.
    """
    check_int("count", count, minimum=1)
    width = 1.0 / count
    if offset is None:
        offset = width / 2
    offset = check_float("offset", offset)
    if count % 2 == 1 and not math.isclose(offset, width / 2, rel_tol=1e-12):
        raise ValueError(
            f"offset must be 1/(2 count) = {width / 2} for an odd count ({count}): "
            "only the symmetric layout is balanced"
        )
    if not 0.0 < offset < width:
        raise ValueError(f"offset must be in (0, 1/count) = (0, {width}); got {offset}")
    return tuple(float(ndtri(offset + k * width)) for k in range(count))


#: The authors' single stripe: y = −1 for −0.3 < x₁ < 1.18549…, P(inside) = 1/2 exactly.
STRIPE_INTERFACES = balanced_interfaces(2, offset=float(norm.cdf(-0.3)))


def _check_common(d: int, d_par: int, stretch: float) -> None:
    check_int("d", d, minimum=1)
    if d_par > d:
        raise ValueError(f"d must be >= the informative dimension {d_par}; got {d}")
    check_float("stretch", stretch)
    if stretch <= 0:
        raise ValueError(f"stretch must be > 0; got {stretch}")


class _GaussianTask:
    """Sampling shared by the tasks: x ~ N(0, I_d), labelled, then x_⊥ stretched."""

    d: int
    d_par: int
    stretch: float

    def label(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> tuple[Tensor, Tensor]:
        """Draw n points: ``(x, y)`` of shapes (n, d) and (n,), labels ±1."""
        check_int("n", n, minimum=0)
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator; got {type(generator).__name__}"
            )
        x = torch.randn(n, self.d, generator=generator, dtype=dtype, device=device)
        y = self.label(x)
        x[:, self.d_par :] *= self.stretch
        return x, y


@dataclass(frozen=True, kw_only=True)
class Stripe(_GaussianTask):
    """The stripe model: d-dimensional Gaussian inputs, labels alternating along x₁.

    Attributes:
      d: input dimension (d_par = 1, d_perp = d − 1).
      interfaces: increasing positions c_1 < … < c_m along x₁; y = +1 left of c_1, and the
        sign flips at each interface. Default: the authors' single balanced stripe.
      stretch: factor applied to x_2 … x_d after labelling.
    """

    d: int
    interfaces: tuple[float, ...] = STRIPE_INTERFACES
    stretch: float = 1.0

    def __post_init__(self) -> None:
        _check_common(self.d, 1, self.stretch)
        c = tuple(float(v) for v in self.interfaces)
        if not c or any(b <= a for a, b in itertools.pairwise(c)):
            raise ValueError(
                f"interfaces must be a non-empty increasing sequence; got {self.interfaces}"
            )
        object.__setattr__(self, "interfaces", c)

    @property
    def d_par(self) -> int:
        return 1

    def label(self, x: Tensor) -> Tensor:
        """y(x) = (−1)^{#(interfaces below x₁)}: (n, d) → (n,), dtype of x."""
        check_tensor("x", x, ndim=2, last_dim=self.d)
        c = torch.tensor(self.interfaces, dtype=x.dtype, device=x.device)
        crossed = (x[:, :1] > c).sum(dim=1)
        return 1.0 - 2.0 * (crossed % 2).to(x.dtype)

    def positive_probability(self) -> float:
        """P(y = +1) under x₁ ~ N(0, 1), in closed form (1/2 for balanced interfaces)."""
        edges = [-math.inf, *self.interfaces, math.inf]
        regions = range(0, len(edges) - 1, 2)  # +1 on the 1st, 3rd, … region
        return float(sum(norm.cdf(edges[i + 1]) - norm.cdf(edges[i]) for i in regions))


@dataclass(frozen=True, kw_only=True)
class Cylinder(_GaussianTask):
    """The cylinder model: y = +1 outside the median radius in the first d_par coordinates.

    Attributes:
      d: input dimension.
      d_par: informative dimension (2 in the paper's experiments).
      stretch: factor applied to x_{d_par+1} … x_d after labelling.
    """

    d: int
    d_par: int = 2
    stretch: float = 1.0

    def __post_init__(self) -> None:
        check_int("d_par", self.d_par, minimum=1)
        _check_common(self.d, self.d_par, self.stretch)

    @property
    def radius(self) -> float:
        """The median of ‖x_∥‖ for x_∥ ~ N(0, I_{d_par}): √(χ²_{d_par} median)."""
        return math.sqrt(float(chi2.ppf(0.5, self.d_par)))

    def label(self, x: Tensor) -> Tensor:
        """y(x) = +1 if ‖x_∥‖ > radius else −1: (n, d) → (n,), dtype of x."""
        check_tensor("x", x, ndim=2, last_dim=self.d)
        r2 = (x[:, : self.d_par] ** 2).sum(dim=1)
        return torch.where(r2 > self.radius**2, 1.0, -1.0).to(x.dtype)

    def positive_probability(self) -> float:
        """P(y = +1) in closed form: 1/2 by construction."""
        return float(chi2.sf(self.radius**2, self.d_par))


def train_test(
    task: Stripe | Cylinder,
    train: int,
    test: int,
    *,
    seed_train: int,
    seed_test: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """A training and a test set from independent generators (the authors' separate seeds).

    Returns:
      ``(x_train, y_train, x_test, y_test)``; the generators live on ``device``.
    """
    if seed_train == seed_test:
        raise ValueError(
            "seed_train and seed_test must differ: the same seed gives the same points"
        )
    sets = []
    for n, seed in ((train, seed_train), (test, seed_test)):
        generator = torch.Generator(device=device).manual_seed(
            check_int("seed", seed, minimum=0)
        )
        sets += task.sample(n, generator=generator, dtype=dtype, device=device)
    return tuple(sets)  # type: ignore[return-value]
