"""Test configuration: float64 everywhere, hypothesis profiles from deeptheory.testing."""

import os

import torch
from hypothesis import settings

from deeptheory.testing.strategies import register_profiles

register_profiles()
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
# Two cores: small tensors run faster single-threaded; tests are not benchmarks.
torch.set_num_threads(1)


def pytest_configure(config):
    """Widgets' disk cache in a folder of this run (never the user's ~/.cache); the
    notebooks graded by the tests inherit it, so they train each widget once."""
    import tempfile

    if "DEEPTHEORY_CACHE" not in os.environ:
        os.environ["DEEPTHEORY_CACHE"] = tempfile.mkdtemp(prefix="deeptheory-cache-")
