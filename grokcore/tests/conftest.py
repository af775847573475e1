"""Unit tests run tiny models: one intra-op thread is faster than two (thread
start-up dominates) and keeps parallel pytest-xdist workers from oversubscribing."""
import numpy.fft  # noqa: F401
import torch

torch.set_num_threads(1)
# numpy.fft imported here, before any test: pytester's in-process runs (test_plugin.py) restore
# sys.modules afterwards, and a numpy.fft first imported inside one of them is dropped from
# sys.modules while its C extension stays loaded, so the next import fails with "cannot load
# module more than once per process" (test_long_tier.py after test_plugin.py in one process).

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# A unit test trains toy models for seconds to a minute or two. One that runs for many minutes is
# training something real by mistake (a fake trainer not patched in: CI of 2026-12-03 ran past its
# limit on such a test), so each unit test gets a ceiling that names it instead of a CI timeout.
UNIT_TIMEOUT_S = 900


def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("timeout"):
        return
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_S))
