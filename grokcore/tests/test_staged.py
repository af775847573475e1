"""Tests of grokcore.engine.staged: curricula, finetuning chains, batched checkpoint LLC.

- nesting and budget: curriculum stages are nested subsets of one split with one
  test set, both arms get the same optimizer steps, global checkpoint steps.
- carrying state: two full-batch stages equal one uninterrupted run of both
  budgets (so parameters AND Adam moments/t carry over).
- resize keeps what its docstring says it keeps (and nothing else).
- batched staged runs equal each run staged alone (curriculum and finetuning).
- checkpoint_llc's loss at w* is each model's own train loss.
- cached_set: content key per setting; process cache, then the store, then compute.
"""
import numpy as np
import pytest
import torch

from grokcore.engine import models, staged, tasks
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig
from grokcore.engine.train import train

BASE = RunConfig(task="add", M=16, ratio=0.5, steps=8, eval_every=4, batch_size=0,
                 model=ModelSpec(family="embed_mlp", width=12, embed=4, act="gelu"),
                 optim=OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4))
RANGES = (4, 8, 0)


def _same_history(h1, h2, rtol=2e-4, atol=1e-6):
    for k in ("train/loss", "train/acc", "test/loss", "test/acc"):
        np.testing.assert_allclose(h1.metrics[k], h2.metrics[k], rtol=rtol, atol=atol, err_msg=k)


def test_curriculum_stages_are_nested_with_one_test_set_and_equal_budget():
    seeds, steps = [3, 5], [8, 4, 12]
    cfgs = staged.curriculum_configs(BASE, seeds, steps, ranges=RANGES)
    direct = staged.direct_configs(BASE, seeds, steps)
    a, b, _ = tasks.table("add", 16)
    for r in range(len(seeds)):
        trains, tests = zip(*(tasks.run_split(c.task, c.M, c.ratio, c.n_train, c.split_seed, c.curriculum)
                              for c in (stage[r] for stage in cfgs)))
        for small, big in zip(trains, trains[1:]):
            assert set(small.tolist()) < set(big.tolist()), "curriculum stages must be strictly nested"
        for tr, rng in zip(trains, RANGES):
            if rng:
                assert int(a[tr].max()) < rng and int(b[tr].max()) < rng
        d = direct[0][r]
        assert (d.seed, d.split_seed) == (cfgs[0][r].seed, cfgs[0][r].split_seed), "arms paired by seed"
        assert torch.equal(trains[-1], tasks.run_split("add", 16, 0.5, None, d.split_seed)[0]), \
            "last stage = the direct arm's full split"
        assert all(torch.equal(t, tests[0]) for t in tests), "one held-out set at every stage"
    assert sum(stage[0].steps for stage in cfgs) == direct[0][0].steps == 24, "equal step budgets"
    cur, dr = staged.curriculum(BASE, seeds, steps, ranges=RANGES, checkpoint_every=4)
    assert cur.offsets == [0, 8, 12] and dr.offsets == [0]
    assert cur.opt_state["t"] == dr.opt_state["t"] == 24, "Adam's step count carries over all stages"
    assert [c.step for c in cur.checkpoints] == [c.step for c in dr.checkpoints] == list(range(0, 25, 4))
    assert [c.stage for c in cur.checkpoints] == [0, 0, 0, 1, 2, 2, 2]
    traj = cur.trajectory(0)
    assert traj["step"][-1] == 24 and np.all(np.diff(traj["step"]) >= 0)


def test_stages_carry_params_and_adam_state():
    """Full batch: the minibatch stream plays no role, so two chained stages of the
    same config must equal one run with the summed budget, step for step."""
    one = train([BASE.replace(steps=16)], early_stop=False)
    two = staged.run_stages([[BASE], [BASE.replace(seed=staged.stage_seed(BASE.seed, 1))]])
    for k, v in one.params.items():
        torch.testing.assert_close(two.params[k], v, rtol=1e-4, atol=1e-6, msg=k)
    assert two.opt_state["t"] == one.opt_state["t"] == 16
    fresh_adam = staged.run_stages([[BASE], [BASE]], carry_opt_state=False)
    assert not torch.allclose(fresh_adam.params["W1"], one.params["W1"]), "resetting Adam must matter"


def test_resize_keeps_hidden_layer_and_old_tokens_and_draws_new_ones_from_own_init():
    old = [BASE.replace(M=7, seed=s) for s in (0, 1)]
    new = [BASE.replace(M=11, seed=s + 100) for s in (0, 1)]
    P = train(old, early_stop=False).params
    Q = staged.resize_embed_mlp(P, old, new)
    assert Q["E"].shape == (2, 11, 4) and Q["W2"].shape == (2, 12, 11) and Q["b2"].shape == (2, 11)
    for r in range(2):
        init = models.init_params(new[r].model, 11, torch.Generator().manual_seed(new[r].seed))
        assert torch.equal(Q["W1"][r], P["W1"][r]) and torch.equal(Q["b1"][r], P["b1"][r])
        assert torch.equal(Q["E"][r, :7], P["E"][r]) and torch.equal(Q["E"][r, 7:], init["E"][7:])
        assert torch.equal(Q["W2"][r, :, :7], P["W2"][r]) and torch.equal(Q["W2"][r, :, 7:], init["W2"][:, 7:])
        assert torch.equal(Q["b2"][r, :7], P["b2"][r]) and torch.equal(Q["b2"][r, 7:], init["b2"][7:])


@pytest.mark.parametrize("batch_size", [0, 5])
def test_batched_curriculum_equals_each_run_alone(batch_size):
    base = BASE.replace(batch_size=batch_size)
    both = staged.curriculum(base, [3, 5], [8, 4, 8], ranges=RANGES, checkpoint_every=4)
    alone = staged.curriculum(base, [5], [8, 4, 8], ranges=RANGES, checkpoint_every=4)
    for arm_both, arm_alone in zip(both, alone):  # curriculum, direct
        for s in range(len(arm_both.histories)):
            _same_history(arm_both.histories[s][1], arm_alone.histories[s][0])
        for cb, ca in zip(arm_both.checkpoints, arm_alone.checkpoints):
            for k in cb.params:
                torch.testing.assert_close(cb.params[k][1], ca.params[k][0], rtol=2e-4, atol=1e-5)


def test_batched_finetune_equals_each_chain_alone_and_scratch_joins_last_stage():
    steps, moduli = [6, 6, 10], (5, 7, 11)
    both = staged.finetune(BASE, [0, 1], steps, moduli=moduli, early_stop_last=False)
    alone = staged.finetune(BASE, [1], steps, moduli=moduli, early_stop_last=False)
    assert [len(h) for h in both.histories] == [2, 2, 4], "scratch runs join the last stage only"
    for s in range(3):
        _same_history(both.histories[s][1], alone.histories[s][0])
    _same_history(both.histories[2][3], alone.histories[2][1])
    scratch = train([BASE.replace(M=11, seed=1, split_seed=1, steps=10)], early_stop=False).histories[0]
    _same_history(both.histories[2][3], scratch)  # the scratch arm is an ordinary run from init


def test_checkpoint_llc_loss_at_wstar_is_each_models_train_loss():
    st, _ = staged.curriculum(BASE, [3, 5], [8, 4, 8], ranges=RANGES, checkpoint_every=4)
    items = staged.staged_llc_items(st, runs=range(2))
    est = staged.checkpoint_llc([(c, p) for _, _, c, p in items],
                                SGLDConfig(chains=2, draws=5), batch_size=0)
    assert est["llc/mean"].shape == (len(items),) and np.isfinite(est["llc/mean"]).all()
    for q, (r, i, c, _) in enumerate(items):
        ck = st.checkpoints[i]
        traj = st.trajectory(r)
        j = np.flatnonzero((traj["step"] == ck.step) & (traj["stage"] == ck.stage))[0]
        assert est["loss/init"][q] == pytest.approx(traj["train/loss"][j], rel=1e-4, abs=1e-6), (r, i)


def test_cached_set_keys_by_content_and_reads_process_cache_then_store(tmp_path):
    from grokcore.engine.store import Store

    k = staged.set_key("curriculum", BASE, seeds=3, stage_steps=[8, 8])
    assert k.startswith("curriculum-") and k == staged.set_key("curriculum", BASE, stage_steps=[8, 8], seeds=3)
    assert k != staged.set_key("curriculum", BASE, seeds=4, stage_steps=[8, 8])
    assert k != staged.set_key("curriculum", BASE.replace(steps=9), seeds=3, stage_steps=[8, 8])
    assert k != staged.set_key("finetune", BASE, seeds=3, stage_steps=[8, 8])
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(3)}

    staged.clear_set_cache()
    with Store(tmp_path / "s.sqlite") as store:
        a = staged.cached_set(store, "t", BASE, compute, seeds=2)
        b = staged.cached_set(store, "t", BASE, compute, seeds=2)  # process cache: the same object
        assert a is b and len(calls) == 1
        staged.clear_set_cache()
        c = staged.cached_set(store, "t", BASE, compute, seeds=2)  # from the store's artifact
        assert len(calls) == 1 and np.array_equal(c["x"], a["x"])
        staged.cached_set(store, "t", BASE, compute, seeds=3)  # another setting: computed
        assert len(calls) == 2
    staged.clear_set_cache()
    staged.cached_set(None, "t", BASE, compute, seeds=2)  # no store: process cache only
    assert len(calls) == 3
    staged.clear_set_cache()


def test_compact_last_cuts_only_the_last_stage_at_each_runs_stop():
    """run_stages(compact_last=True): earlier stages exactly as without it; each run of the last
    stage is its uncompacted history (early_stop_last=False) cut at its own stop (the engine's
    compaction test's check, with its tolerance where this CPU rounds by batch slot)."""
    from grokcore.tests.test_compaction import BASE as LI2, _assert_cut, _expected_rows, _slot_rounding, RTOL
    last = [LI2.replace(n_train=n, seed=s, split_seed=s, steps=400) for n in (120, 140, 160) for s in range(2)]
    first = [c.replace(steps=20, seed=c.seed + 100) for c in last]
    ref = staged.run_stages([first, last], carry_opt_state=False, early_stop_last=False)
    got = staged.run_stages([first, last], carry_opt_state=False, early_stop_last=True, compact_last=True)
    rtol = RTOL if _slot_rounding(last) else 0.0
    for hc, hr in zip(got.histories[0], ref.histories[0]):
        _assert_cut(hc, hr, cut=False)
        assert not hc.summary.get("compacted")
    stops = []
    for hc, hr in zip(got.histories[1], ref.histories[1]):
        _assert_cut(hc, hr, rtol)
        assert hc.summary["compacted"] is True and len(hc.metrics["step"]) == _expected_rows(hr)
        stops.append(hc.summary["stop"])
    assert {"grokked", "budget"} <= set(stops), stops  # the batch shrank and kept runs to the end
    with pytest.raises(ValueError, match="needs early_stop_last"):
        staged.run_stages([first, last], carry_opt_state=False, compact_last=True)
