"""The order in which ``-n N --dist loadgroup`` hands claim groups to xdist workers: longest first.

pytest-xdist's loadgroup scheduler makes one work unit per ``xdist_group`` (a claim group that
shares a sweep, `tiers.share_sweep`) and per ungrouped test, queues the units and hands the
next one to whichever worker runs short. By default (``--loadscope-reorder``) it queues them
by their number of tests, most first. A claim group's cost is not its test count: at the fast
tier the finetuning set (one test, ~130 CPU-s) was queued last and ran alone while the other
worker idled, and ``pytest claims -m fast -n 2`` took 10 min 7 s on a 2-core AMD EPYC
(2026-12-03) for 1085 CPU-s of work.

Here the units whose cost was measured are queued longest first (LPT, longest processing time:
with m workers its makespan is at most 4/3 - 1/(3m) of the best schedule's, Graham 1969), then
the others by xdist's own rule (more tests first, ties in collection order). Tests of one group
keep their collection order. The order changes when a claim runs, never what it computes: each
group trains its own sweep (or reads it from the store) whichever worker runs it.

`GROUP_CPU_S` holds the measured costs: seconds of each group's tests (pytest ``--durations``)
in a serial ``pytest claims -m fast``, fresh store, on a 2-core AMD EPYC (AVX2), 2026-12-03.
Only their order matters; a group missing from it (a new claim group) is queued after the
measured ones and `grokcore/tests/test_schedule.py` names it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

# tier -> xdist group -> CPU seconds of the group's tests at that tier (see the module docstring)
GROUP_CPU_S: dict[str, dict[str, float]] = {
    "fast": {
        "seed001-002": 300,  # detection-robust trains seed 002's sweep and reads seed 001's; capacity search
        "li2-boundary": 156,  # li2-boundary 80 s, li2-tasks 72 s, li2-sharpening 3 s
        "slt-threshold": 136,
        "slt-finetune": 132,
        "slt-curriculum": 127,
        "li2-deeper": 111,
        "li2-fourier": 39,
        "li2-stages": 29,
    },
}


def group_of(item) -> str | None:
    """The xdist group a test runs in: the name of its closest ``xdist_group`` mark (as
    pytest-xdist's worker reads it: a parameter's mark before the function's), else None."""
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def tier_of(item) -> str | None:
    """The ``tier`` parameter of a claim test, None for other tests."""
    spec = getattr(item, "callspec", None)
    return spec.params.get("tier") if spec is not None else None


def unit_costs(units: Mapping[str, set[str]], costs: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, float]:
    """{unit: CPU seconds} for the units whose every (group, tier) has a measured cost; a unit is a
    group name with the tiers of its selected tests (a group may hold several tiers' tests).
    costs: default `GROUP_CPU_S`."""
    costs = GROUP_CPU_S if costs is None else costs
    out = {}
    for name, tiers in units.items():
        known = [costs.get(t, {}).get(name) for t in tiers]
        if tiers and all(c is not None for c in known):
            out[name] = float(sum(known))
    return out


def longest_first(items: Sequence, costs: Mapping[str, Mapping[str, float]] | None = None) -> list:
    """``items`` reordered so that their work units first appear longest measured cost first, then
    the unmeasured units by number of tests (most first); ties and the tests within a unit keep
    collection order. A unit is a group (`group_of`) or, for an ungrouped test, the test alone."""
    keys = [group_of(it) or f"\0{i}" for i, it in enumerate(items)]  # ungrouped: a unit of its own
    first, count, tiers = {}, {}, {}
    for i, (k, it) in enumerate(zip(keys, items)):
        first.setdefault(k, i)
        count[k] = count.get(k, 0) + 1
        t = tier_of(it)
        tiers.setdefault(k, set()).update([t] if t is not None else ["?"])
    cost = unit_costs({k: v for k, v in tiers.items() if not k.startswith("\0")}, costs)

    def rank(k: str) -> tuple:
        return (0, -cost[k], first[k]) if k in cost else (1, -count[k], first[k])

    order = sorted(range(len(items)), key=lambda i: (rank(keys[i]), i))
    return [items[i] for i in order]

