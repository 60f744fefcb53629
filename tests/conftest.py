"""Test configuration: float64 everywhere, hypothesis profiles from deeptheory.testing."""

import os

import torch
from hypothesis import settings

from deeptheory.testing.strategies import register_profiles

register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Two cores: small tensors run faster single-threaded; tests are not benchmarks.
torch.set_num_threads(1)
