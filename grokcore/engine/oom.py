"""Out-of-memory fallback shared by the batched front-ends (sweep, trajectory, LLC).

A batch that does not fit in device memory is split in half and each half retried,
recursively, down to single items (whose OOM is re-raised). The retry happens
*outside* the ``except`` block: while an exception is being handled, its traceback
keeps every frame of the failed attempt alive, and with them its activations,
gradients and optimizer state; retrying from inside the handler would run the
smaller attempt next to the corpse of the larger one. So `split_on_oom` catches,
records (a log line and `EVENTS`), leaves the handler, drops the references
(`free_memory`: ``gc.collect()`` for reference cycles through the traceback, then
``torch.cuda.empty_cache()`` so the caching allocator returns the blocks), and only
then retries the halves.

Results must be per item and independent of the batch they were computed in (true
of `train.train` and of `llc.estimate_llc`'s chains), so the concatenated halves
equal what the whole batch would have returned.
"""
from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

# torch.OutOfMemoryError (torch >= 2.5) is torch.cuda.OutOfMemoryError; older torch has only the latter.
OOM_ERRORS: tuple[type[BaseException], ...] = (getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError),)

log = logging.getLogger("grokcore.engine.oom")
EVENTS: list[dict] = []  # one record per caught OOM: {"what", "size", "message"} (message truncated)

T = TypeVar("T")
R = TypeVar("R")


def free_memory() -> None:
    """Collect garbage (cycles through a dropped traceback), then return cached CUDA blocks."""
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def split_on_oom(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], what: str = "batch") -> list[R]:
    """``fn(items)`` (a list with one result per item, in order); on out-of-memory with more
    than one item: free the failed attempt's memory, then ``fn`` on each half (recursively)
    and concatenate. An OOM on a single item is re-raised."""
    try:
        return fn(items)
    except OOM_ERRORS as err:
        if len(items) <= 1:
            raise
        EVENTS.append({"what": what, "size": len(items), "message": str(err)[:200]})
        log.warning("out of memory on a %s of %d; retrying as %d + %d", what, len(items),
                    len(items) // 2, len(items) - len(items) // 2)
    # Past the handler: the exception, its traceback and the failed attempt's frames are unreferenced.
    free_memory()
    h = len(items) // 2
    return split_on_oom(fn, items[:h], what) + split_on_oom(fn, items[h:], what)
