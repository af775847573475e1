"""The li2 design (claims/designs/li2.py): ``plan_configs`` is built by the builders its sweeps
train, and each search's prior window holds n* under any law from M¹ to M² calibrated at M0.

Nothing trains: ``sweep.run`` is replaced by a recorder that keeps the configs and stops."""
from __future__ import annotations

from pathlib import Path

import pytest

from grokcore.engine import sweep
from grokcore.suite import plan

CLAIMS = Path(__file__).resolve().parents[2] / "claims"
TIERS = ("fast", "gpu")
SEED = 3  # a non-default --claims-seed: the plan must follow it too


class Stop(Exception):
    """Raised by the recorder once it has the configs of the first training call."""


@pytest.fixture(scope="module")
def D():
    return plan.load_module(CLAIMS / "designs" / "li2.py")


@pytest.fixture
def recorded(monkeypatch) -> list:
    got: list = []

    def record(cfgs, *a, **kw):
        got.extend(cfgs)
        raise Stop

    monkeypatch.setattr(sweep, "run", record)
    return got


def _grid(D, tier: str, prefix: str) -> list:
    return next(v for k, v in D.plan_configs(tier, SEED).items() if k.split(" ")[0] == prefix)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("name", ["boundary", "deeper", "tasks"])
def test_a_search_trains_the_planned_runs_at_the_n_it_picks(D, recorded, tier, name):
    """The searches are adaptive, so the plan puts max_runs replicates per boundary at the middle
    of its window. The first round trains those runs (task, M, model, optimizer, budget, seeds
    seed + r) at the n the search picks, inside the window."""
    planned = _grid(D, tier, f"li2-{name}")
    with pytest.raises(Stop):
        D.search(tier, name, None, "cpu", SEED)
    assert {c.replace(n_train=0).key for c in recorded} <= {c.replace(n_train=0).key for c in planned}
    assert {(c.task, c.M) for c in recorded} == {(c.task, c.M) for c in planned}
    g = D.GRIDS[tier][name]
    for c in recorded:
        lo, hi = D.search_window(g, c.M)
        assert lo / g["grid_ratio"] <= c.n_train <= hi * g["grid_ratio"]  # snapped to the grid


@pytest.mark.parametrize("tier", TIERS)
def test_search_windows_hold_n_star_under_any_law_from_M_to_M2(D, tier):
    for name in D.SEARCHES:
        g = D.GRIDS[tier][name]
        for M in g["M"]:
            lo, hi = D.search_window(g, M)
            cap = g["max_frac"] * M * M
            assert hi <= cap
            for k in (1.0, 1.5, 2.0):
                n_star = g["n0"] * (M / g["M0"]) ** k  # the law n* ∝ M^k calibrated at M0
                assert lo < n_star and (n_star < hi or hi == cap), (name, M, k)
