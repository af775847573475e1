"""The loadgroup queue order (grokcore.suite.schedule): longest measured group first."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from grokcore.suite import schedule

REPO = Path(__file__).resolve().parents[2]


class FakeItem:
    """What longest_first reads of a pytest item: its closest xdist_group mark and its tier."""

    def __init__(self, name: str, group: str | None = None, tier: str | None = "fast") -> None:
        self.name, self.group = name, group
        if tier is not None:
            self.callspec = type("Spec", (), {"params": {"tier": tier}})()

    def get_closest_marker(self, name: str):
        return pytest.mark.xdist_group(self.group).mark if name == "xdist_group" and self.group else None


COSTS = {"fast": {"big": 300.0, "mid": 130.0, "small": 30.0}, "long": {"big": 5000.0}}


def names(items) -> list[str]:
    return [it.name for it in items]


def test_measured_groups_come_longest_first_and_keep_their_tests_order() -> None:
    items = [FakeItem("u1"), FakeItem("s1", "small"), FakeItem("s2", "small"), FakeItem("m1", "mid"),
             FakeItem("x1", "unmeasured"), FakeItem("x2", "unmeasured"), FakeItem("b1", "big"),
             FakeItem("u2"), FakeItem("b2", "big")]
    assert names(schedule.longest_first(items, COSTS)) == ["b1", "b2", "m1", "s1", "s2", "x1", "x2", "u1", "u2"]


def test_unmeasured_units_keep_xdists_rule_more_tests_first() -> None:
    """Nothing measured: the order xdist's --loadscope-reorder gives (most tests first, ties in
    collection order), so handing the order to the workers changes nothing there."""
    items = [FakeItem("u1"), FakeItem("a1", "a"), FakeItem("c1", "c"), FakeItem("c2", "c"),
             FakeItem("c3", "c"), FakeItem("a2", "a"), FakeItem("u2", tier=None)]
    assert names(schedule.longest_first(items, COSTS)) == ["c1", "c2", "c3", "a1", "a2", "u1", "u2"]


def test_a_group_is_measured_only_at_tiers_with_a_cost() -> None:
    """A group measured at fast but run at long is not ranked by its fast cost; one that holds
    both tiers' tests costs the sum."""
    long_only = [FakeItem("m", "mid", "long"), FakeItem("s", "small", "fast")]
    assert names(schedule.longest_first(long_only, COSTS)) == ["s", "m"]
    assert schedule.unit_costs({"big": {"fast", "long"}, "mid": {"fast", "long"}}, COSTS) == {"big": 5300.0}


def test_lpt_order_shortens_the_fast_tiers_two_worker_makespan() -> None:
    """The measured costs, scheduled on 2 workers as xdist hands out units (the next unit to the
    worker that frees first): xdist's count order ran the finetuning set last (the 10 min 7 s run);
    longest first ends 45 s sooner in this model (535 vs 580 s) and within 4/3 of the lower bound max(total / 2, largest)."""
    fast = schedule.GROUP_CPU_S["fast"]

    def makespan(order: list[str]) -> float:
        free = [0.0, 0.0]
        for g in order:
            free[free.index(min(free))] += fast[g]
        return max(free)

    by_count = ["seed001-002", "li2-stages", "slt-curriculum", "li2-boundary",  # most tests first,
                "li2-deeper", "slt-threshold", "li2-fourier", "slt-finetune"]  # then collection order
    lpt = sorted(fast, key=lambda g: -fast[g])
    bound = max(sum(fast.values()) / 2, max(fast.values()))
    assert makespan(lpt) <= 4 / 3 * bound
    assert makespan(lpt) < makespan(by_count) - 30


def claim_groups() -> set[tuple[str, str]]:
    """(group, tier) of every claim test parameter, read from the claim modules' marks as
    pytest-xdist reads them (a parameter's xdist_group mark before the function's)."""
    out = set()
    for path in sorted((REPO / "claims").glob("test_*.py")):
        mod = importlib.import_module(f"claims.{path.stem}")
        for fn in (getattr(mod, n) for n in dir(mod) if n.startswith("test_")):
            marks = getattr(fn, "pytestmark", [])
            own = [m for m in marks if m.name == "xdist_group"]
            for m in (m for m in marks if m.name == "parametrize" and m.args[0] == "tier"):
                for p in m.args[1]:
                    tier = p.values[0] if hasattr(p, "values") else p
                    group = [g for g in getattr(p, "marks", ()) if g.name == "xdist_group"] or own
                    if group:
                        out.add((str(group[0].args[0]), tier))
    return out


def test_every_fast_claim_group_has_a_measured_cost() -> None:
    """A new claim group at the fast tier must be measured (serial `pytest claims -m fast
    --durations=0`) and added to GROUP_CPU_S, else -n 2 queues it after every measured group."""
    fast = {g for g, t in claim_groups() if t == "fast"}
    assert fast, "no claim groups found"
    assert fast == set(schedule.GROUP_CPU_S["fast"]), (fast ^ set(schedule.GROUP_CPU_S["fast"]))
