"""The designs' plan_configs hooks (claims/designs/<family>.py) return exactly the configs their
sweeps hand to training.

Each design builds its configs once, and the same builder feeds its sweeps and its
plan_configs; what can still drift is the training side (a sweep that trains more or other
configs than the builder gives, or passes a different seed). So nothing trains here: the training
entry points the designs call (trajectory.run, sweep.run, staged.run_stages) are replaced by
recorders that keep the configs and stop, and the hook's configs must equal them (same keys, same
multiset), per tier, at a non-default --claims-seed."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from grokcore.engine import staged, sweep, trajectory
from grokcore.suite import plan

CLAIMS = Path(__file__).resolve().parents[2] / "claims"
FAMILIES = ("empirical", "boundaries", "slt")
TIERS = ("fast", "gpu")
SEED = 3  # a non-default --claims-seed: the hooks must follow it too


class Stop(Exception):
    """Raised by a recorder once it has the configs (the sweep stops there)."""


@pytest.fixture(scope="module")
def designs():
    return {n: plan.load_module(CLAIMS / "designs" / f"{n}.py") for n in FAMILIES}


def _keys(cfgs) -> Counter:
    return Counter(c.key for c in cfgs)


@pytest.fixture
def recorded(monkeypatch):
    """Replace the training entry points; return the list the configs are recorded into."""
    got: list = []

    def traj_run(cfgs, *a, **kw):
        got.extend(cfgs)
        return []

    def sweep_run(cfgs, *a, **kw):
        got.extend(cfgs)
        raise Stop

    def run_stages(configs, *a, **kw):  # an untrained Staged: no histories, no checkpoints
        got.extend(c for stage in configs for c in stage)
        return staged.Staged(configs=configs, histories=[])

    def checkpoint_llc(*a, **kw):  # after both curriculum arms
        raise Stop

    monkeypatch.setattr(trajectory, "run", traj_run)
    monkeypatch.setattr(sweep, "run", sweep_run)
    monkeypatch.setattr(staged, "run_stages", run_stages)
    monkeypatch.setattr(staged, "checkpoint_llc", checkpoint_llc)
    return got


@pytest.mark.parametrize("tier", TIERS)
def test_empirical_plan_is_what_sweep001_trains(tier, designs, recorded):
    d = designs["empirical"]
    d.sweep001(tier, None, "cpu", SEED)
    hook = d.plan_configs(tier, SEED)
    assert recorded and _keys(c for grid in hook.values() for c in grid) == _keys(recorded)


@pytest.mark.parametrize("tier", TIERS)
def test_boundaries_plan_is_what_sweep002_trains(tier, designs, recorded):
    d = designs["boundaries"]
    d.sweep002(tier, None, "cpu", SEED)
    hook = d.plan_configs(tier, SEED)
    extra = {k: hook.pop(k) for k in list(hook) if "(adaptive" in k}  # the capacity search beyond the grid
    assert recorded and _keys(c for grid in hook.values() for c in grid) == _keys(recorded)
    assert set(extra) == set(d.plan_search(tier, SEED))
    for k, cfgs in extra.items():  # WD 1's search: its run cap minus the grid's runs, all new configs
        spec = d.search_specs(tier)[1.0]
        assert len(cfgs) == spec.max_runs - len(d.GRIDS[tier]["d_models"]) * spec.seeds
        assert not set(_keys(cfgs)) & set(_keys(recorded))


@pytest.mark.parametrize("tier", TIERS)
def test_slt_plan_is_what_its_sets_train(tier, designs, recorded):
    d = designs["slt"]
    with pytest.raises(Stop):  # the adaptive threshold search: its first round, then stop
        d.threshold_search(tier, None, "cpu", SEED)
    first, recorded[:] = list(recorded), []
    with pytest.raises(Stop):
        d.train_curriculum_set(tier, SEED, "cpu")  # both arms, stopped at the LLC
    d.train_finetune_set(tier, SEED, "cpu")  # untrained stages: completes on empty histories
    hook = d.plan_configs(tier, SEED)
    bound = hook.pop("threshold (adaptive, upper bound)")
    assert recorded and _keys(c for grid in hook.values() for c in grid) == _keys(recorded)
    # the threshold's upper bound: the search's configs differ from it only in n (<= its n) and seeds
    assert first and all(c.n_train <= bound[0].n_train for c in first)
    assert {c.replace(n_train=bound[0].n_train, seed=0, split_seed=0).key for c in first} == \
        {bound[0].replace(seed=0, split_seed=0).key}
    assert {c.seed for c in first} <= {c.seed for c in bound} and len(bound) >= len(first)


def test_designs_count_in_the_plan():
    rows = plan.plan(CLAIMS, "fast")
    for name in FAMILIES:
        assert any(r.module == name and r.source == "configs" for r in rows), name
    assert all(r.peak_bytes and r.peak_bytes > 0 for r in rows if r.source == "configs")
