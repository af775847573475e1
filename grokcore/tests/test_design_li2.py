"""The li2 design (claims/designs/li2.py): ``plan_configs`` is built by the builders its sweeps
train, and each search's prior window holds n* under any law from M¹ to M² calibrated at M0.

Nothing trains: ``sweep.run`` is replaced by a recorder that keeps the configs and stops."""
from __future__ import annotations

from pathlib import Path

import pytest

from grokcore.engine import sweep
from grokcore.suite import plan

CLAIMS = Path(__file__).resolve().parents[2] / "claims"
TIERS = ("fast", "long", "gpu")
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


def test_the_width_check_is_the_search_at_the_largest_M_at_twice_the_width(D, recorded):
    """Long tier: n* at the largest M is searched again at 2K (the same seeds, n grid and budget),
    planned as its own row; the fast and gpu tiers have no width check."""
    g = D.GRIDS["long"]["boundary"]
    with pytest.raises(Stop):
        D.width_search("long", "boundary", None, "cpu", SEED)
    assert {c.M for c in recorded} == {max(g["M"])} and {c.model.width for c in recorded} == {2 * g["width"]}
    planned = next(v for k, v in D.plan_configs("long", SEED).items() if "width check" in k)
    assert {c.replace(n_train=0).key for c in recorded} <= {c.replace(n_train=0).key for c in planned}
    assert D.width_search("fast", "boundary", None, "cpu", SEED) is None
    assert D.width_search("gpu", "boundary", None, "cpu", SEED) is None


def test_the_law_searches_share_one_design_and_the_rules_are_calibrated_on_its_range(D):
    """li2-deeper and li2-tasks use li2-boundary's long design (M, K, seeds, search; tasks also its
    lr, wd and steps; deeper its own wd and budget, see GRIDS), and test_rules_li2's long-range
    calibration simulates exactly these M."""
    from test_rules_li2 import LONG_MS, LONG_SEARCH

    keys = ("M", "width", "seeds", "max_runs", "eval_every", "lr", "n0", "target_width", "start", "per_round")
    b = D.GRIDS["long"]["boundary"]
    for name in ("deeper", "tasks"):
        assert {k: D.GRIDS["long"][name][k] for k in keys} == {k: b[k] for k in keys}, name
    assert all(D.GRIDS["long"]["tasks"][k] == b[k] for k in ("steps", "wd"))
    assert b["M"] == LONG_MS and {k: b[k] for k in LONG_SEARCH} == LONG_SEARCH


def test_the_law_claims_have_a_long_param_that_fast_and_ci_leave_out():
    """claims/test_li2.py: each law claim has fast, gpu and long params; long carries only the
    `long` marker (so `-m fast` and CI's `-m "not gpu and not long"` leave it out), and li2-boundary
    alone is pinned refuted there (strict xfail, the measured message as the verdict); li2-tasks is
    not: inconclusive at base seed 0, the seed `.ci/long` runs (seed-fragile)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("claims_li2_under_test", CLAIMS / "test_li2.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for params, pinned in ((mod.LAW_TIERS, False), (mod.LAW_TIERS_LONG_REFUTED, True)):
        by_id = {p.id: {m.name: m.kwargs for m in p.marks} for p in params}
        assert set(by_id) == {"fast", "gpu", "long"}
        assert set(by_id["long"]) == ({"long", "xfail"} if pinned else {"long"})
        assert not pinned or by_id["long"]["xfail"]["strict"] is True
        assert "long" not in by_id["fast"] and "long" not in by_id["gpu"]
    marks = {name: [p.id for m in getattr(mod, name).pytestmark if m.name == "parametrize" for p in m.args[1]]
             for name in ("test_li2_boundary", "test_li2_sharpening", "test_li2_deeper", "test_li2_tasks")}
    assert all(ids == ["fast", "gpu", "long"] for ids in marks.values())
    pinned = {name for name in marks if any(m.name == "parametrize" and m.args[1] is mod.LAW_TIERS_LONG_REFUTED
                                            for m in getattr(mod, name).pytestmark)}
    assert pinned == {"test_li2_boundary"}


@pytest.mark.parametrize("tier", ["fast", "long"])
@pytest.mark.parametrize("name", ["boundary", "deeper", "tasks"])
def test_what_would_decide_a_law_verdict_gives_this_scale_and_the_gpu_plan(D, tier, name):
    """The card's "to decide" entries for the Li² law searches: one per gate that can move the
    verdict, with this tier's budget (2T for the budget gate) and the gpu tier's plan."""
    g, gpu = D.GRIDS[tier][name], D.GRIDS["gpu"][name]
    got = D.to_decide(tier, name)
    assert set(got) == {"budget", "seed", "grid", "width"}
    assert f"T = {g['steps']}" in got["budget"] and f"2T = {2 * g['steps']}" in got["budget"]
    assert f"{g['seeds']} replicate seeds" in got["seed"]
    assert all(f"K = {gpu['width']}, {gpu['steps']} steps" in text for text in got.values())
