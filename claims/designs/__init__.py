"""Designs: what each claim family trains, written once.

``claims/designs/<family>.py`` holds the family's GRIDS (per tier), its config builders, the
sweeps that train them and ``plan_configs(tier)``, which returns exactly the configs those
sweeps train (``grokcore plan`` and the plan-hook tests call it; nothing is trained). A claim
module (``claims/test_<family>.py``) loads a design's runs, calls its rule and adds the figure.
"""
from __future__ import annotations

from typing import Any


def replicates(base: Any, seed: int, n: int | range | list[int]) -> list[Any]:
    """Replicates of one design point: replicate r gets init seed and split seed ``seed + r``.

    ``n`` is a count (r = 0 .. n-1) or an explicit list of replicate indices (the adaptive
    search asks for replicates by index). ``base`` is a RunConfig (anything with ``replace``)."""
    reps = range(n) if isinstance(n, int) else n
    return [base.replace(seed=seed + r, split_seed=seed + r) for r in reps]
