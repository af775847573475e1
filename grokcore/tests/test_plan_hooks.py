"""The claim modules' plan_configs hooks return exactly the configs their tests hand to training.

Nothing trains here: the training entry points the claims call (trajectory.run, sweep.run,
staged.run_stages) are replaced by recorders that keep the configs and stop; the hook's
configs must equal them (same keys, same multiset), per tier. If a test's grid changes and
its hook does not (or the reverse), this fails."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from grokcore.suite import plan
from grokcore.engine import staged, sweep, trajectory

CLAIMS = Path(__file__).resolve().parents[2] / "claims"
TIERS = ("fast", "gpu")
SEED = 3  # a non-default --claims-seed: the hooks must follow it too


class Stop(Exception):
    """Raised by a recorder once it has the configs (the test body stops there)."""


@pytest.fixture(scope="module")
def mods():
    return {n: plan.load_module(CLAIMS / f"test_{n}.py") for n in ("empirical", "boundaries", "slt")}


def _keys(cfgs) -> Counter:
    return Counter(c.key for c in cfgs)


def _hook(mod, tier) -> Counter:
    return _keys(c for grid in mod.plan_configs(tier, SEED).values() for c in grid)


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
def test_empirical_hook_is_sweep001(tier, mods, recorded):
    mods["empirical"].R.sweep001(tier, None, "cpu", SEED)
    assert recorded and _hook(mods["empirical"], tier) == _keys(recorded)


@pytest.mark.parametrize("tier", TIERS)
def test_boundaries_hook_is_sweep002(tier, mods, recorded):
    m = mods["boundaries"]
    m.sweep002(tier, None, "cpu", SEED)
    hook = m.plan_configs(tier, SEED)
    extra = {k: hook.pop(k) for k in list(hook) if "(adaptive" in k}  # the capacity search beyond the grid
    assert recorded and _keys(c for grid in hook.values() for c in grid) == _keys(recorded)
    assert set(extra) == set(m.plan_search(tier, SEED))
    for k, cfgs in extra.items():  # WD 1's search: its run cap minus the grid's runs, all new configs
        spec = m.search_specs(tier)[1.0]
        assert len(cfgs) == spec.max_runs - len(m.GRIDS[tier]["d_models"]) * spec.seeds
        assert not set(_keys(cfgs)) & set(_keys(recorded))


@pytest.mark.parametrize("tier", TIERS)
def test_slt_hook_is_what_its_tests_train(tier, mods, recorded):
    m = mods["slt"]
    with pytest.raises(Stop):  # the adaptive threshold search: its first round, then stop
        m.test_mod64_threshold(tier, None, None, "cpu", SEED)
    first, recorded[:] = list(recorded), []
    with pytest.raises(Stop):
        m._train_curriculum_set(tier, SEED, "cpu")  # both arms, stopped at the LLC
    m._train_finetune_set(tier, SEED, "cpu")  # untrained stages: completes on empty histories
    hook = m.plan_configs(tier, SEED)
    bound = hook.pop("threshold (adaptive, upper bound)")
    assert recorded and _keys(c for grid in hook.values() for c in grid) == _keys(recorded)
    # the threshold's upper bound: the search's configs differ from it only in n (<= its n) and seeds
    assert first and all(c.n_train <= bound[0].n_train for c in first)
    assert {c.replace(n_train=bound[0].n_train, seed=0, split_seed=0).key for c in first} == \
        {bound[0].replace(seed=0, split_seed=0).key}
    assert len(bound) >= len(first)


def test_hooks_count_in_the_plan(mods):
    rows = plan.plan(CLAIMS, "fast")
    by = {(r.module, r.grid): r for r in rows}
    for name in ("test_empirical", "test_boundaries", "test_slt"):
        assert any(m == name and r.source == "configs" for (m, _), r in by.items())
    assert all(r.peak_bytes and r.peak_bytes > 0 for r in rows if r.source == "configs")
