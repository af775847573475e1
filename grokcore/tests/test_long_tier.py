"""The long tier of the seed-002 claims (claims/test_boundaries.py): its params and markers, and the
per-WD staging of its sweep (claims/designs/boundaries.py). No training: trajectory.run is replaced
by a recorder."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from grokcore.suite.tiers import MARKERS

CLAIMS = Path(__file__).resolve().parents[2] / "claims" / "test_boundaries.py"
DESIGN = CLAIMS.parent / "designs" / "boundaries.py"


@pytest.fixture(scope="module")
def mod():
    spec = importlib.util.spec_from_file_location("claims_boundaries_under_test", CLAIMS)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


@pytest.fixture(scope="module")
def design():
    from grokcore.suite import plan

    return plan.load_module(DESIGN)


def _marks(param) -> dict:
    return {m.name: (m.args[0] if m.args else None) for m in param.marks}


def test_long_tier_params_carry_their_own_marker_and_group(mod):
    assert "long" not in MARKERS  # not a tier of every claim (--claims-plan plans it only when -m selects it)
    assert '"long: ' in (CLAIMS.parents[1] / "pyproject.toml").read_text()  # registered (--strict-markers)
    assert [p.id for p in mod._tiers(None)] == ["fast", "gpu"]
    for group in (mod.LONG_WD1, mod.LONG_ALL):
        by_id = {p.id: _marks(p) for p in mod._tiers(group)}
        assert set(by_id) == {"fast", "gpu", "long"}
        # fast / gpu keep the shared seed-001/002 group (detection-robust re-reads both sweeps)
        assert by_id["fast"] == {"fast": None, "xdist_group": mod.GROUP}
        assert by_id["gpu"] == {"gpu": None, "xdist_group": mod.GROUP}
        # long: neither fast nor gpu, so `-m fast` and `-m "not gpu and not long"` (CI) leave it out
        assert by_id["long"] == {"long": None, "xdist_group": group}
    assert mod.LONG_WD1 != mod.LONG_ALL != mod.GROUP


def test_ci_selection_leaves_the_long_tier_out():
    root = CLAIMS.parents[1]
    run = (root / ".ci" / "run").read_text()
    assert '-m "not gpu and not long"' in run
    assert "-m long" in (root / ".ci" / "long").read_text()


def test_by_wd_sweep_trains_weak_wd_first_and_returns_config_order(design, monkeypatch):
    calls = []

    def fake_run(cfgs, **kw):
        calls.append(sorted({c.optim.weight_decay for c in cfgs}))
        widths.append(sorted({c.model.width for c in cfgs}))
        return [SimpleNamespace(config=c) for c in cfgs]

    widths = []

    # both trainers _train002 may pick (the long tier compacts): a real one here would train the
    # long tier's whole seed-002 grid (hours), which is how CI of 2026-12-03 ran past its limit
    monkeypatch.setattr(design.trajectory, "run", fake_run)
    monkeypatch.setattr(design, "_compacted", fake_run)
    g = design.GRIDS["long"]
    hs = design.sweep002("long", None, "cpu", 0)
    D = g["d_models"]
    # one call per (WD, width): weak WD first, widest first (the other worker does WD = 1 narrowest
    # first), then one call that only reads the store; no WD = 0.01 arm at the long tier
    assert calls == [[0.1]] * len(D) + [[1.0]] * len(D) + [[0.1, 1.0]]
    assert widths[:-1] == [[d] for d in sorted(D, reverse=True)] * 2
    n = {wd: sum(h.config.optim.weight_decay == wd for h in hs) for wd in g["steps"]}
    assert n == {wd: len(g["d_models"]) * design.seeds_at(g, wd) for wd in g["steps"]}
    assert all(h.config.steps == g["steps"][h.config.optim.weight_decay] for h in hs)
    calls.clear(), widths.clear()
    only = design.sweep002("long", None, "cpu", 0, wds=(1.0,))
    assert calls == [[1.0]] * (len(D) + 1) and {h.config.optim.weight_decay for h in only} == {1.0}
    assert widths[:-1] == [[d] for d in sorted(D)]
    calls.clear()
    design.sweep002("fast", None, "cpu", 0)  # fast tier: one call, as before the long tier existed
    assert calls == [[0.01, 0.1, 1.0]]


def test_weak_arms_narrow_first_meets_the_other_worker_in_the_middle(design, monkeypatch):
    """capacity-boundary's worker trains the weak-WD arm one width batch at a time, narrowest first
    (wd-shifts-boundary's sweep002 goes widest first): the same batches, in the opposite order."""
    calls = []

    def fake_run(cfgs, **kw):
        calls.append((sorted({c.optim.weight_decay for c in cfgs}), sorted({c.model.width for c in cfgs}), len(cfgs)))
        return [SimpleNamespace(config=c) for c in cfgs]

    monkeypatch.setattr(design.trajectory, "run", fake_run)
    monkeypatch.setattr(design, "_compacted", fake_run)
    g = design.GRIDS["long"]
    design.weak_arms_narrow_first("long", None, "cpu", 0)
    narrow = list(calls)
    weak = sorted(wd for wd in g["steps"] if wd != 1.0)
    assert narrow == [([wd], [d], design.seeds_at(g, wd)) for wd in weak for d in sorted(g["d_models"])]
    calls.clear()
    design.sweep002("long", None, "cpu", 0)
    wide = [c for c in calls[:-1] if c[0] != [1.0]]
    assert weak == [0.1] and wide == narrow[::-1]  # one weak-WD arm at the long tier


def test_long_plan_lists_only_the_claims_with_a_long_tier():
    """`pytest claims -m long --claims-plan`: the seed-002 sweep, its capacity search, the
    mod-64 threshold and the Li² law searches, nothing of the modules without a long tier."""
    from grokcore.suite import plan

    rows = plan.plan(CLAIMS.parent, "long")
    mods = {r.module for r in rows}
    assert mods == {"boundaries", "slt", "li2"}
    assert not [r for r in rows if r.source == "error"]
    grids = {r.grid for r in rows}
    assert "seed002 wd=1" in grids and "threshold (adaptive, upper bound)" in grids
    assert {"curriculum", "direct"} <= {r.grid for r in rows if r.module == "slt"}  # the slt curriculum set at 4 x 50k
    assert any("capacity-boundary search" in g for g in grids)
    li2 = {r.grid.split(" ")[0] for r in rows if r.module == "li2"}
    assert li2 == {"li2-boundary", "li2-deeper", "li2-tasks"}  # no stages / fourier design at the long tier
