"""Unit tests run tiny models: one intra-op thread is faster than two (thread
start-up dominates) and keeps parallel pytest-xdist workers from oversubscribing."""
import torch

torch.set_num_threads(1)
