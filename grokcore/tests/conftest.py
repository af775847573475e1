"""Unit tests run tiny models: one intra-op thread is faster than two (thread
start-up dominates) and keeps parallel pytest-xdist workers from oversubscribing."""
import numpy.fft  # noqa: F401
import torch

torch.set_num_threads(1)
# numpy.fft imported here, before any test: pytester's in-process runs (test_plugin.py) restore
# sys.modules afterwards, and a numpy.fft first imported inside one of them is dropped from
# sys.modules while its C extension stays loaded, so the next import fails with "cannot load
# module more than once per process" (test_long_tier.py after test_plugin.py in one process).
