"""deeptheory.testing: each layer of the checks fails when it should, and messages help."""

import math

import pytest
import torch

from deeptheory.testing import (
    CheckFailure,
    assert_close,
    assert_psd,
    assert_symmetric,
    tolerance,
)

EXPECTED = torch.tensor([[1.25, -3.5], [0.0, 2.0]], dtype=torch.float64)


def layer_of(actual, expected=EXPECTED, **kwargs):
    with pytest.raises(CheckFailure) as info:
        assert_close(actual, expected, **kwargs)
    return info.value.layer, str(info.value)


def test_equal_tensors_pass():
    assert_close(EXPECTED.clone(), EXPECTED)
    assert_close(EXPECTED + 1e-12, EXPECTED)  # within 1e-12 + 1e-10 · 3.5


def test_layers_are_reported_in_order():
    assert layer_of([[1.25, -3.5], [0.0, 2.0]])[0] == "type"
    assert layer_of(EXPECTED.T.reshape(4))[0] == "shape"
    assert layer_of(EXPECTED.float())[0] == "dtype"
    assert layer_of(EXPECTED * math.nan)[0] == "finite"
    assert layer_of(EXPECTED + 1e-3)[0] == "value"
    # shape is checked before dtype: a wrong shape in float32 reports the shape
    assert layer_of(EXPECTED.float().reshape(4))[0] == "shape"


def test_value_message_locates_the_error_without_printing_expected_values():
    actual = EXPECTED.clone()
    actual[1, 0] = 0.5
    layer, message = layer_of(actual, name="ntk")
    assert layer == "value"
    assert "ntk" in message and "(1, 0)" in message and "1 of 4 entries" in message
    for value in ["1.25", "3.5", "-3.5", "2.0"]:
        assert value not in message


def test_finite_message_gives_the_first_bad_index():
    actual = EXPECTED.clone()
    actual[0, 1] = math.inf
    layer, message = layer_of(actual)
    assert layer == "finite" and "(0, 1)" in message


def test_zero_entries_are_judged_against_the_scale_of_the_tensor():
    """An entry that should be 0 may be off by rounding relative to max|expected|."""
    actual = EXPECTED.clone()
    actual[1, 0] = 1e-13
    assert_close(actual, EXPECTED)


def test_custom_tolerances():
    assert_close(EXPECTED + 1e-3, EXPECTED, rtol=1e-3)
    assert layer_of(EXPECTED + 1e-3, rtol=1e-5, atol=0.0)[0] == "value"


def test_tolerances_by_dtype():
    assert tolerance(torch.float64).rtol < tolerance(torch.float32).rtol
    with pytest.raises(ValueError, match="dtype must be a floating dtype"):
        tolerance(torch.int64)


def test_symmetry_and_psd():
    sym = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    assert_symmetric(sym)
    assert_psd(sym)
    with pytest.raises(CheckFailure, match="not symmetric") as info:
        assert_symmetric(torch.tensor([[2.0, 1.0], [0.0, 2.0]], dtype=torch.float64))
    assert info.value.layer == "invariant"
    with pytest.raises(CheckFailure, match="not positive semi-definite"):
        assert_psd(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64))
    with pytest.raises(CheckFailure, match="square"):
        assert_symmetric(torch.ones(2, 3, dtype=torch.float64))
    # batched matrices
    assert_psd(torch.stack([sym, 3 * sym]))
