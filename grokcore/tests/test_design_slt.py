"""claims/designs/slt.py without its claims' scale: which rule and gates each tier's mod64-threshold
uses, what the long tier plans, and the per-stage read-out of mod64-stage3 on a tiny curriculum."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grokcore.decide import rules_slt as R

DESIGN = Path(__file__).resolve().parents[2] / "claims" / "designs" / "slt.py"


@pytest.fixture(scope="module")
def D():
    from grokcore.suite import plan

    return plan.load_module(DESIGN)


def test_threshold_is_judged_at_the_sources_budget_where_the_tier_has_it(D):
    assert D.threshold_budgets("fast") == [750, 1500]
    assert D.threshold_budgets("long") == [50_000, 100_000] and D.GRIDS["long"]["threshold"]["steps"] == 100_000
    rule, data, perturb = D.threshold_decision("fast", [])
    assert rule is R.mod64_threshold_rule and data == [] and not perturb.budget_is_scope
    rule, data, perturb = D.threshold_decision("long", [])
    assert rule is R.mod64_threshold_source_rule and (data["T"], data["confirm"]) == (50_000, 100_000)
    assert perturb.budget_is_scope
    assert [lab for lab, _ in perturb.budget(data)] == ["read at T/2 = 25000 steps", "read at 2T = 100000 steps"]


def test_long_plan_has_the_threshold_and_the_curriculum_set_at_the_sources_budget(D):
    p = D.plan_configs("long")
    assert set(p) == {"threshold (adaptive, upper bound)", "curriculum", "direct", "finetune"}
    g = D.GRIDS["long"]
    t = g["threshold"]  # two searches (T, 2T) sharing round 0
    assert len(p["threshold (adaptive, upper bound)"]) == 2 * t["max_runs"] - t["start"] * t["seeds"]
    assert {c.batch_size for k, cs in p.items() if k != "finetune" for c in cs} == {128}
    # the finetuning set: the fast tier's full-batch stages with 60 chains per arm
    assert {c.batch_size for c in p["finetune"]} == {0} and len(p["finetune"]) == 5 * 60 + 60
    assert [c.steps for c in p["finetune"][::60]][:5] == [200, 200, 400, 5000, 4000]
    assert sum(c.steps for c in p["curriculum"]) == sum(c.steps for c in p["direct"]) == 7 * 200_000
    assert sorted({c.curriculum for c in p["curriculum"]}) == [0, 8, 16, 32]
    fast = D.plan_configs("fast")
    assert len(fast["finetune"]) == 5 * 7 + 7 and {c.steps for c in fast["finetune"] if c.M == 49} == {5000}


def test_stage_accuracy_reads_each_stage_on_its_own_held_out_pairs(D):
    """A tiny curriculum (2 seeds, 4 stages of 20 steps, checkpoints every 10): the read-out at a
    stage's end on the run's FULL held-out set equals the test accuracy the engine logged there,
    and the stage's own held-out pairs lie in its range and outside its training split."""
    from grokcore.engine import models, staged, tasks

    base = D.base_config(dict(batch_size=128, eval_every=10))
    cur, _ = staged.curriculum(base, [0, 1], [20] * 4, checkpoint_every=10)
    d = dict(seeds=[0, 1], cur=cur)
    out = D.stage_accuracy(d)
    assert out["stage_acc"].shape == (2, 4) and list(out["acc"]) == list(out["stage_acc"][:, 2])
    assert out["at"] == [20, 40, 60, 80] and D.stage_accuracy(d, 0.5)["at"] == [10, 30, 50, 70]
    a, b, y = tasks.table("add", 64)
    for s in range(4):
        ck = next(c for c in cur.checkpoints if c.step == out["at"][s])
        for r, cfg in enumerate(cur.configs[s]):
            tr, te = tasks.run_split(cfg.task, cfg.M, cfg.ratio, cfg.n_train, cfg.split_seed, cfg.curriculum)
            assert out["stage_pairs"][r, s] == tr.numel()
            logits, _ = models.forward(cfg.model, {k: v[r:r + 1] for k, v in ck.params.items()}, a[te][None],
                                       b[te][None])
            full = float((logits[0].argmax(-1) == y[te]).float().mean())
            assert full == pytest.approx(cur.histories[s][r].metrics["test/acc"][-1], abs=1e-6)
    tr3, te3 = tasks.run_split("add", 64, 0.4, None, 0, 32)
    own = te3[(a[te3] < 32) & (b[te3] < 32)]
    assert len(np.intersect1d(own.numpy(), tr3.numpy())) == 0 and own.numel() + tr3.numel() == 32 * 32
    assert D.stage_accuracy(d, 0.75)["at"] == [10, 30, 50, 70]  # the last checkpoint at or before 15 of 20 steps
    with pytest.raises(ValueError, match="checkpoint_every too coarse"):
        D.stage_accuracy(d, 0.25)  # stage 1 has no checkpoint of its own at or before step 25


def test_what_would_decide_names_the_gates_each_set_has_and_the_gpu_plan(D):
    """The card's "to decide" entries: a budget entry only where a budget gate can move the verdict
    (the fast threshold, the direct arm, the finetuning set's final stage), a seed entry per set, each
    with the gpu tier's scale; the long threshold is judged at the source's budget (no entry)."""
    assert set(D.threshold_to_decide("fast")) == {"budget"} and D.threshold_to_decide("long") == {}
    assert "50000 batches of 128" in D.threshold_to_decide("fast")["budget"]
    gpu = D.GRIDS["gpu"]
    for tier in ("fast", "long"):
        for which, keys in (("curriculum", {"seed"}), ("stage3", {"seed"}), ("direct", {"seed", "budget"}),
                            ("finetune", {"seed", "budget"})):
            got = D.set_to_decide(tier, which)
            assert set(got) == keys
            n = gpu["finetune"]["seeds"] if which == "finetune" else gpu["seeds"]
            assert all(f"gpu tier's plan: {n} " in text for text in got.values())
    assert f"{sum(D.GRIDS['long']['stage_steps'])} batches of 128" in D.set_to_decide("long", "direct")["budget"]
