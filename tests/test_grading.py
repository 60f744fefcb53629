"""deeptheory.grading: each kind of wrong submission fails at the right layer, helpfully."""

import sys

import numpy
import pytest
import torch
from hypothesis import strategies as st

import deeptheory.kernels
from deeptheory.grading import (
    Case,
    GradingFailure,
    ReferenceUsed,
    Tampering,
    check_against_reference,
)
from deeptheory.testing import assert_symmetric


def gram(x):
    """The reference: the linear kernel x xᵀ, (n, d) -> (n, n)."""
    return x @ x.T


@st.composite
def gram_cases(draw):
    n, d, seed = (
        draw(st.integers(1, 6)),
        draw(st.integers(1, 4)),
        draw(st.integers(0, 99)),
    )
    x = torch.randn(
        n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    return Case((x,), label=f"x of shape ({n}, {d}) from seed {seed}")


def symmetric(actual, case):
    assert_symmetric(actual, name="the kernel")


KINDS = {"reference used": ReferenceUsed, "tampering": Tampering}


def grade(student, **kwargs):
    kwargs.setdefault("invariants", [symmetric])
    with pytest.raises(GradingFailure) as info:
        check_against_reference(student, gram, gram_cases(), name="gram", **kwargs)
    failure = info.value
    # cheating gets its own exception class (the grade table reads it from `ename`)
    assert type(failure) is KINDS.get(failure.layer, GradingFailure), failure.layer
    return failure.layer, str(failure)


def test_a_correct_implementation_passes():
    check_against_reference(
        lambda x: torch.einsum("id,jd->ij", x, x),
        gram,
        gram_cases(),
        name="gram",
        invariants=[symmetric],
    )


def test_each_layer_is_reported():
    def raises(x):
        raise NotImplementedError

    assert grade(raises)[0] == "raised"
    assert grade(lambda x: [[0.0]])[0] == "type"
    assert grade(lambda x: x.T @ x)[0] == "shape"
    assert grade(lambda x: (x @ x.T).float())[0] == "dtype"
    assert grade(lambda x: x @ x.T / 0.0)[0] == "finite"
    assert grade(lambda x: torch.triu(x @ x.T))[0] == "invariant"
    assert grade(lambda x: 2 * x @ x.T)[0] == "value"


def test_the_smallest_failing_input_is_named_and_reference_values_are_not():
    """Wrong only from n = 3 on: hypothesis shrinks to a 3-row input."""

    def wrong_for_three_rows(x):
        k = x @ x.T
        return k + 1.0 if len(x) >= 3 else k

    layer, message = grade(wrong_for_three_rows)
    assert layer == "value"
    assert "shape (3, 1)" in message, message
    assert "worst at index" in message and "relative" in message
    x = torch.randn(
        3, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    for value in gram(x).flatten().tolist():
        assert f"{value:.4f}" not in message
    # derandomised: the same message every time
    assert grade(wrong_for_three_rows)[1] == message


def test_calling_the_reference_is_detected():
    layer, message = grade(lambda x: gram(x), forbid=[gram])
    assert layer == "reference used" and "gram" in message


def test_calling_a_forbidden_module_is_detected():
    def via_library(x):
        return (
            deeptheory.kernels.fc_kernels(x, hidden_layers=0, activation="linear")[0]
            * (x.shape[1])
        )

    layer, message = grade(via_library, forbid=[deeptheory.kernels])
    assert layer == "reference used" and "deeptheory.kernels.fc_kernels" in message
    # the same function is fine when that module is not forbidden
    check_against_reference(via_library, gram, gram_cases(), name="gram")


def test_patched_comparison_helpers_are_detected(monkeypatch):
    monkeypatch.setattr(torch.testing, "assert_close", lambda *a, **k: None)
    layer, message = grade(lambda x: x @ x.T)
    assert layer == "tampering" and "torch.testing.assert_close" in message


def test_patched_numpy_helpers_are_detected(monkeypatch):
    monkeypatch.setattr(numpy.testing, "assert_allclose", lambda *a, **k: None)
    assert grade(lambda x: x @ x.T)[0] == "tampering"


def test_loosened_tolerances_are_detected(monkeypatch):
    import deeptheory.testing

    loose = dict(deeptheory.testing.TOLERANCES)
    loose[torch.float64] = deeptheory.testing.Tolerance(rtol=1.0, atol=1.0)
    monkeypatch.setattr(deeptheory.testing, "TOLERANCES", loose)
    assert grade(lambda x: 2 * x @ x.T)[0] == "tampering"


def test_removing_the_profile_hook_is_detected():
    def unhook(x):
        sys.setprofile(None)
        return gram(x)

    layer, message = grade(unhook, forbid=[gram])
    assert layer == "tampering" and "setprofile" in message


def noise(n, *, generator):
    """A reference that consumes a generator argument."""
    return torch.randn(n, dtype=torch.float64, generator=generator)


def noise_cases():
    return st.builds(
        lambda n, seed: Case(
            (n,),
            dict(generator=torch.Generator().manual_seed(seed)),
            label=f"n={n}, seed {seed}",
        ),
        st.integers(1, 5),
        st.integers(0, 99),
    )


def test_each_side_gets_its_own_copy_of_the_arguments():
    """A generator is not consumed by the reference before the student sees it."""
    check_against_reference(noise, noise, noise_cases(), name="noise")

    def skips_a_draw(n, *, generator):
        torch.randn(1, generator=generator)
        return torch.randn(n, dtype=torch.float64, generator=generator)

    with pytest.raises(GradingFailure) as info:
        check_against_reference(skips_a_draw, noise, noise_cases(), name="noise")
    assert info.value.layer == "value"


def test_writing_into_the_inputs_does_not_change_the_reference():
    def scribbles(x):
        result = x @ x.T
        x.zero_()
        return result

    check_against_reference(scribbles, gram, gram_cases(), name="gram")


def test_only_the_entry_point_into_the_reference_is_named():
    """Not every helper the reference calls internally: the feedback stays readable."""

    def via_library(x):
        return deeptheory.kernels.fc_kernels(x, hidden_layers=0, activation="linear")[0]

    layer, message = grade(via_library, forbid=[deeptheory.kernels])
    assert layer == "reference used"
    assert "(deeptheory.kernels.fc_kernels)" in message


def test_several_distinct_failures_are_reported_as_one():
    """Not as an ExceptionGroup, which IPython prints with the full (hidden) traceback."""

    def two_bugs(x):
        if len(x) > 3:
            raise ValueError("big inputs break me")
        return 2 * gram(x)

    with pytest.raises(GradingFailure):
        check_against_reference(two_bugs, gram, gram_cases(), name="gram")
