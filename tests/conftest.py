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
        config._deeptheory_cache = tempfile.mkdtemp(prefix="deeptheory-cache-")
        os.environ["DEEPTHEORY_CACHE"] = config._deeptheory_cache


def pytest_unconfigure(config):
    import shutil

    folder = getattr(config, "_deeptheory_cache", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ["DEEPTHEORY_CACHE"]
