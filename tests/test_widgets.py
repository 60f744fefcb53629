"""Widgets, driven as a student would: set slider values, read the plot back."""

import numpy as np
import pytest
from traitlets import TraitError

from deeptheory.widgets import WIDTHS, circle_ntk, ntk_explorer


@pytest.fixture
def explorer():
    import matplotlib.pyplot as plt

    _ui, handles = ntk_explorer(width=32, seed=0)
    yield handles
    plt.close(handles["fig"])


def test_width_slider_redraws_the_empirical_ntk(explorer):
    line, ax = explorer["line"], explorer["ax"]
    before = line.get_ydata().copy()
    explorer["width"].value = 1024
    after = line.get_ydata()
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, circle_ntk(1024, 0).empirical)
    assert ax.get_title().startswith("h = 1024, seed 0")


def test_seed_slider_draws_another_network(explorer):
    explorer["seed"].value = 5
    np.testing.assert_allclose(
        explorer["line"].get_ydata(), circle_ntk(32, 5).empirical
    )
    assert "seed 5" in explorer["ax"].get_title()


def test_out_of_range_values_are_refused_or_clamped(explorer):
    explorer["seed"].value = 1000  # IntSlider clamps to its max
    assert explorer["seed"].value == 20
    with pytest.raises(TraitError):  # SelectionSlider accepts only its options
        explorer["width"].value = 100


def test_wider_networks_are_closer_to_the_limit():
    """What the widget teaches: the error falls with the width (mean over 6 seeds)."""
    errors = [
        np.mean([circle_ntk(h, s).relative_error for s in range(6)]) for h in WIDTHS
    ]
    slope = np.polyfit(np.log(WIDTHS), np.log(errors), 1)[0]
    assert -0.7 < slope < -0.3, (slope, errors)
