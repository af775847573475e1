"""SLT, curriculum and finetuning claims (CLAIMS.md, seed 004).

Model and optimizer of every claim: seed 004's devinterp example, embed_mlp
(embedding 12 per operand, concatenated -> Linear 24->48 -> GELU -> Linear 48->M),
Adam lr 5e-3 with coupled weight decay 2e-4; mod 64 with a 40% training split.

Every claim ends in ``claim.decide(rule, data, gates)``: the rules are in
grokcore/decide/rules_slt.py (unit-tested in grokcore/tests/test_rules_slt.py), the gates
are grokcore.decide.gates (half budget, leave one seed out, nearest grid point).

Tiers (GRIDS):
- fast: FULL-BATCH Adam steps. With the source's 128-pair minibatches, mod 64
  needs ~10^4-10^5 steps to grok (measured here: 1 of 4 seeds within 20k steps;
  the source's own transition is near checkpoint 70 of a 200k-batch run), far
  beyond a CPU minute; full-batch steps grok in ~2-4.5k steps. So the fast tier
  tests the claims in the same model/optimizer at a different noise level and
  a 4.8k-step budget (4 x 1.2k curriculum stages); step counts do not transfer
  to the source's batches. 7 seeds for the curriculum set: the paired rules use
  exact one-sided sign-flip tests, whose smallest p is 2^-n, and the seed gate
  leaves one seed out, so 6 remain (smallest p 1/64; with 5 seeds 4 remain and
  1/16 can never reach 0.05). Threshold: 7 n values x 3 seeds x 1.5k steps (see
  test_mod64_threshold for why 1.5k). Finetuning: 5 seeds per arm with a 50%
  split (at 40%, 0 of 5 seeds per arm grokked mod 53 within 3k full-batch steps);
  leave-one-out leaves 4 vs 4 (smallest exact one-sided Mann-Whitney p 1/70).
- gpu: the source's setting: 128-pair minibatches, direct 200k batches and the
  curriculum 4 x 50k, 12 seeds, 100 checkpoints, LLC with devinterp's example
  settings and 500 draws x 4 chains; threshold 10 n x 12 seeds x 50k batches;
  finetuning 40% splits, 5 x 25k batches (the devinterp example's budget).
  Cost estimate (H100, launch-bound tiny models, ~1-2 ms per batched step):
  curriculum + direct 2 x 200k steps ~ 7-12 min; threshold 10 chunks x 50k
  steps ~ 8-15 min; finetuning 125k steps ~ 2-4 min; LLC 2424 models x 4 chains
  x 128 pairs x 500 draws ~ 1 min. Not run in this session (no GPU).
LLC (both tiers): SGLD step 3e-3, nβ 2, localization γ 5 (devinterp's example),
minibatch 128 per draw, no burn-in; fast tier 2 chains x 150 draws instead of
500: LLC cost is linear in draws x chains, 150 draws already exceed the
~133-step relaxation time 2/(εγ) of the localization, and 2 chains are the
fewest that give a between-chain spread and the cross-fitted peak of
llc-spike-collapse. Fewer draws shift λ̂ (the chains are still relaxing), so
only comparisons at one setting are made, never against the source's
absolute values.

The curriculum/direct run set (and its LLC) is computed once per
(tier, seed, device) and shared by the four curriculum claims; the finetuning
set likewise (grokcore.engine.staged.cached_set: process cache, then the results store).
The staged sets have no budget gate (a curriculum read at T/2 is another stage
schedule, not the same design at half the budget); the finetuning set's final
stage is read at half its budget instead.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from grokcore.base.detect import first_sustained
from grokcore.decide import adaptive, gates, stats, survival
from grokcore.decide import rules_slt as rules
from grokcore.engine import staged, sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig
from grokcore.engine.train import torch_threads
from grokcore.suite import reference
from grokcore.suite.tiers import TIERS, share_sweep

ALPHA = rules.ALPHA
M = 64
MODEL = ModelSpec(family="embed_mlp", width=48, embed=12, act="gelu")
OPTIM = OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4)

GRIDS = {
    "fast": dict(
        batch_size=0, eval_every=120, seeds=7,
        stage_steps=[1200, 1200, 1200, 1200], checkpoint_every=240,
        # geometric, ratio 1.3 from 1100, plus two points in the claimed range: no point at 200/400/800
        # adaptive search (grokcore.decide.adaptive) of n* at T and at T/2, from the same runs (trained at T)
        threshold=dict(window=(350, 3140), n_min=100, n_max=3891, start=4, per_round=2, seeds=3, max_runs=24,
                       rounds=6, target_width=0.3, steps=1500, eval_every=50),
        finetune=dict(seeds=5, ratio=0.5, stage_steps=[200, 200, 400, 800, 4000], eval_every=50),
        sgld=dict(chains=2, draws=150),
    ),
    # long (mod64-threshold only; `pytest claims -m long`): the source's 128-pair minibatches and 50k batches
    # (its budget), so n* is read where the claim was made, not at a CPU budget; batch size does not enter the
    # batch key, so every n of a round trains in one chunk (CPU ~2.5 ms per step for 12 runs, loaded 2 cores)
    "long": dict(
        batch_size=128, eval_every=500,
        # 4 seeds per point and <= 48 runs per budget: with 3 and 24 (first version) --claims-seed 1 ran out of
        # runs at a CI of [1120, 2722] and leaving one of its 3 replicate seeds out (a third of the runs) made
        # the refutation inconclusive while seed 0 refuted: an underpowered design, not a different answer
        threshold=dict(window=(200, 3140), n_min=100, n_max=3891, start=4, per_round=2, seeds=4, max_runs=48,
                       rounds=8, target_width=0.3, steps=50_000, eval_every=500, max_batch=24),
    ),
    "gpu": dict(
        batch_size=128, eval_every=1000, seeds=12,
        stage_steps=[50_000] * 4, checkpoint_every=2000,
        threshold=dict(window=(75, 2883), n_min=64, n_max=3891, start=5, per_round=3, seeds=6, max_runs=72,
                       rounds=8, target_width=0.2, steps=50_000, eval_every=1000),
        finetune=dict(seeds=12, ratio=0.4, stage_steps=[25_000] * 5, eval_every=500),
        sgld=dict(chains=4, draws=500),
    ),
}
SGLD = dict(step=3e-3, nbeta=2.0, gamma=5.0, burnin=0)


def _base(g: dict, **kw) -> RunConfig:
    return RunConfig(**(dict(task="add", M=M, ratio=0.4, model=MODEL, optim=OPTIM, batch_size=g["batch_size"],
                             eval_every=g["eval_every"]) | kw))


def _one_thread():
    return torch_threads(1)


# ---------------------------------------------------------------- shared run sets

def _curriculum_set(tier: str, seed: int, device: str, store=None) -> dict:
    """Curriculum and direct arms (paired by seed) with the LLC of every checkpoint."""
    g = GRIDS[tier]
    return staged.cached_set(store, "curriculum", _base(g), lambda: _train_curriculum_set(tier, seed, device),
                             seed=seed, seeds=g["seeds"], stage_steps=g["stage_steps"],
                             checkpoint_every=g["checkpoint_every"], sgld={**SGLD, **g["sgld"]}, llc_batch=128)


def _train_curriculum_set(tier: str, seed: int, device: str) -> dict:
    g = GRIDS[tier]
    seeds = [seed + s for s in range(g["seeds"])]
    with _one_thread():
        cur, direct = staged.curriculum(_base(g), seeds, g["stage_steps"], device,
                                        checkpoint_every=g["checkpoint_every"])
        n = len(seeds)
        items = staged.staged_llc_items(cur, range(n)) + staged.staged_llc_items(direct, range(n))
        est = staged.checkpoint_llc([(c, p) for _, _, c, p in items],
                                    SGLDConfig(**SGLD, **g["sgld"], seed=seed % 2**31), device, batch_size=128)
    K = len(cur.checkpoints)
    llc = est["llc/mean"].reshape(2, K, n).transpose(0, 2, 1)  # (arm, seed, checkpoint)
    chains = est["llc/chains"].reshape(2, K, n, -1).transpose(0, 2, 1, 3)  # (arm, seed, ckpt, C)
    ck_steps = np.array([c.step for c in cur.checkpoints])

    def at_ckpts(st, r, key_):  # a logged metric at each checkpoint (eval_every divides the cadence)
        t = st.trajectory(r)
        return np.array([t[key_][np.flatnonzero((t["step"] == c.step) & (t["stage"] == c.stage))[0]]
                         for c in st.checkpoints])

    return dict(
        seeds=seeds, cur=cur, direct=direct, steps=ck_steps, llc=llc, chains=chains,
        test_loss=np.array([[at_ckpts(st, r, "test/loss") for r in range(n)] for st in (cur, direct)]),
        test_acc=np.array([[at_ckpts(st, r, "test/acc") for r in range(n)] for st in (cur, direct)]),
        configs=[c.key for st in (cur, direct) for stage in st.configs for c in stage],
    )


def _per_seed(d: dict) -> dict:
    """The curriculum set's final-checkpoint measurements, seed on axis 0 (rules_slt's data)."""
    return dict(seed=np.array(d["seeds"]),
                acc_cur=d["test_acc"][0, :, -1], acc_dir=d["test_acc"][1, :, -1],
                acc_cur_prev=d["test_acc"][0, :, -2], acc_dir_prev=d["test_acc"][1, :, -2],
                loss_cur=d["test_loss"][0, :, -1], loss_dir=d["test_loss"][1, :, -1],
                llc_cur=d["llc"][0, :, -1], llc_dir=d["llc"][1, :, -1])


def _finetune_set(tier: str, seed: int, device: str, store=None) -> dict:
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    return staged.cached_set(store, "finetune", _base(g, eval_every=f["eval_every"], ratio=f["ratio"]),
                             lambda: _train_finetune_set(tier, seed, device), seed=seed, seeds=f["seeds"],
                             stage_steps=f["stage_steps"], moduli=list(staged.FINETUNE_MODULI))


def _train_finetune_set(tier: str, seed: int, device: str) -> dict:
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    seeds = [seed + s for s in range(f["seeds"])]
    with _one_thread():
        st = staged.finetune(_base(g, eval_every=f["eval_every"], ratio=f["ratio"]), seeds, f["stage_steps"], device)
    n = len(seeds)
    return dict(seeds=seeds, st=st, budget=f["stage_steps"][-1],
                stage_acc=np.array([[h[r].summary["final/test_acc"] for r in range(n)] for h in st.histories]),
                configs=[c.key for stage in st.configs for c in stage])


def _grid_scale(g: dict, **extra) -> dict:
    return dict(M=M, model="embed_mlp D=12 K=48 GELU", optim="Adam lr 5e-3 wd 2e-4 (coupled)",
                batch=g["batch_size"] or "full", seeds=g["seeds"], stage_steps=g["stage_steps"],
                checkpoint_every=g["checkpoint_every"], sgld={**SGLD, **g["sgld"]}, **extra)


def _fig(ncols=1, w=5.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, ncols, figsize=(w * ncols, 3.4))


# ---------------------------------------------------------------- mod64-threshold

def _li2_c() -> tuple[float, str]:
    """Li²'s constant c from fixtures/li2.toml (li2-boundary, see_also numbers)."""
    row = reference.load_reference("li2-boundary")
    for q in [row, *row.get("see_also", [])]:
        if "c" in q.get("numbers", {}):
            return float(q["numbers"]["c"]), f"fixtures/li2.toml li2-boundary ({q['source'].get('id')}: {q.get('quote', '')[:40]})"
    raise KeyError("li2-boundary has no numbers.c")


@share_sweep("slt-threshold")
@pytest.mark.parametrize("tier", TIERS + [pytest.param("long", marks=pytest.mark.long, id="long")])
def test_mod64_threshold(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: the 50% point n* (training pairs where P(generalized) = 1/2; generalized =
    grokcore.base.detect's rule, test acc >= 0.95 for 10 evals, within the budget) from scratch
    on the full mod-64 task: Firth-penalized logistic fit vs log n with a profile-likelihood
    CI at alpha = 0.05 (laws.firth_boundary; finite under separation, never the gap),
    n placed by the adaptive search (grokcore.decide.adaptive: 4 points over [350, 3140], then 2 per
    round at the estimate and inside its CI, 3 seeds each, <= 24 runs per budget) for n* at T
    and at T/2 together, from runs trained for T steps. Rule (rules_slt.threshold_rule):
    supported if the CI lies inside [200, 800] (400 within a factor 2), refuted if it is
    disjoint from it. Gates: half budget (with the "refuted at this budget only" check),
    leave one seed out, without the n nearest n*.

    The budget: n* falls as the budget grows (measured once while designing this test,
    seed 0: n* ~ 3000 at 750 full-batch steps, 1900 at 1.5k, 1700 at 3k, and between 945
    and 1418 pairs at 12k, where 945 was at 92% test acc). So a from-scratch n* above 800
    at a CPU budget does not refute ~400 at the source's 50k batches; the budget gate
    sees this. 1.5k steps (not 3k) because there n* moves by ~1.5x per budget doubling,
    more than the CI's width, so the gate decides the same way for any seed; at 3k the
    move (~1.15x) is inside the CI and the gate's outcome would depend on the seed.
    The long tier runs the source's own budget and batch (50k batches of 128 pairs, eval every
    500): 2026-12-01, --claims-seed 0, 4 seeds per point, 56 runs: n* = 1494 [1236, 1642] at 50k
    and 1709 [1585, 2008] at 25k: refuted at full scale and by every seed and grid gate, but
    n* at T/2 lies outside the CI at T, further from the claim ("refuted at this budget
    only"): inconclusive, budget-limited, even at the source's budget (n* read at 12.5k / 25k /
    37.5k / 50k: 1793, 1709, 1602, 1494, falling ~13% per doubling). A first version with 3
    seeds and <= 24 runs per budget refuted at seed 0 (n* at T/2 inside the wider CI at T)
    and was seed-fragile at seed 1: too few runs to see the drift, not a different answer.
    Recorded, not decided: n* read at T/4, T/2, 3T/4 and T from the same runs,
    n*/(M ln M) vs Li²'s c. Not checked: the source's curriculum-stage accuracies (not
    data-size points)."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    T = t["steps"]
    base = _base(g, steps=T).replace(eval_every=t["eval_every"], ratio=None, n_train=t["n_min"])
    spec = adaptive.SearchSpec(n_min=t["n_min"], n_max=t["n_max"], start=t["start"], per_round=t["per_round"],
                               seeds=t["seeds"], max_runs=t["max_runs"], max_rounds=t["rounds"],
                               target_width=t["target_width"], alpha=ALPHA)

    def configs(budget, n, reps):  # replicate r: init and split seed claims_seed + r
        return [base.replace(n_train=n, seed=claims_seed + r, split_seed=claims_seed + r) for r in reps]

    def train(cfgs):  # one chunk per n and replicate block (max_batch = seeds): little padding
        return sweep.run(cfgs, store=claims_store, device=claims_device, experiment=f"mod64-threshold/{tier}",
                         max_batch=t.get("max_batch", t["seeds"]))

    with _one_thread():  # the n* at T and at T/2 are searched together; both read runs trained for T steps
        searches = adaptive.search({b: t["window"] for b in (T // 2, T)}, configs,
                                   lambda b, h: rules.generalized(gates.truncate(h, b)), train, spec)
    hists = list({h.config.key: h for s in searches.values() for h in s.hists}.values())
    cfgs = [h.config for h in hists]
    by_budget = rules.nstar_by_budget(hists, [T // 4, T // 2, 3 * T // 4, T])
    nstar = by_budget[T]
    c_li2, c_from = _li2_c()
    mlogm = M * math.log(M)
    c_eff = stats.Estimate("n*/(M ln M)", nstar.value / mlogm, nstar.lo / mlogm, nstar.hi / mlogm, ALPHA,
                           method="n* CI / (M ln M)",
                           note=f"Li² prediction c = {c_li2} ({c_from}) -> c M ln M = {c_li2 * mlogm:.0f} pairs; "
                                f"Li²'s c is for its one-hot x² net, so this is a consistency check only")
    n = np.array([h.config.n_train for h in hists], float)
    y = np.array([rules.generalized(h) for h in hists])
    rates = {int(v): stats.wilson_ci(int(np.nansum(y[n == v])), int(np.isfinite(y[n == v]).sum()), ALPHA)
             for v in np.unique(n)}
    claim.tested("Firth logistic fit of generalized (grokcore.base.detect rule) vs log n_train, from scratch, full "
                 "mod-64 table, n placed by the adaptive search (3 seeds per point) for n* at T and at T/2; n* "
                 "with profile-likelihood CI; supported if the CI lies inside [200, 800], refuted if disjoint, else inconclusive; gates: half budget (refuted at this budget "
                 "only -> inconclusive), leave one seed out, drop the n nearest n*. Cannot detect: n* at the "
                 "source's budget (n* falls as the budget grows)", alpha=ALPHA)
    claim.scale(M=M, search=t, runs=len(hists), n_train=sorted({c.n_train for c in cfgs}), steps=T,
                batch=g["batch_size"] or "full", model="embed_mlp D=12 K=48 GELU", optim="Adam lr 5e-3 wd 2e-4")
    claim.note(f"adaptive search of n* at T/2 = {T // 2} and T = {T} steps (keys = budgets): "
               + adaptive.summary(searches))
    for s in searches.values():
        claim.note(f"budget {s.key}: points in the order run: " + ", ".join(s.order()))
    lo_b, hi_b = by_budget[T // 2], by_budget[T]
    conv = stats.agree(lo_b, hi_b)
    claim.note(f"budget convergence: n*(T/2) = {lo_b.value:.0f} [{lo_b.lo:.0f}, {lo_b.hi:.0f}], n*(T) = "
               f"{hi_b.value:.0f} [{hi_b.lo:.0f}, {hi_b.hi:.0f}]: "
               + ("converged (one inside the other's CI)" if conv else "NOT converged: n* still moves with the "
                  "budget, so the verdict holds at this budget only"))
    claim.stat("n*/(M ln M)", c_eff, claimed=c_li2)
    claim.stat("Li² prediction c·M·ln M", c_li2 * mlogm, unit="pairs")
    for b, e in by_budget.items():
        claim.stat(f"n* read at {b} steps", e, unit="pairs")
    for v, r in rates.items():
        claim.stat(f"P(generalized | n={v})", r)
    fig, ax = _fig(2, 4.6)
    xs = np.array(sorted(rates))
    ax[0].errorbar(xs, [rates[v].value for v in xs], yerr=[[rates[v].value - rates[v].lo for v in xs],
                   [rates[v].hi - rates[v].value for v in xs]], fmt="o", capsize=3, label="P(generalized), Wilson CI")
    ax[0].axvspan(*rules.CLAIM_N, color="k", alpha=0.08, label="claimed [200, 800]")
    ax[0].axvline(c_li2 * mlogm, color="g", ls=":", label="Li² c·M ln M")
    if math.isfinite(nstar.value):
        ax[0].axvline(nstar.value, color="r", label="n* (Firth)")
    ax[0].axvspan(nstar.lo, min(nstar.hi, 4096), color="r", alpha=0.1)
    ax[0].set_xscale("log"), ax[0].set_xlabel("training pairs n"), ax[0].set_ylabel("P(generalized)")
    ax[0].legend(fontsize=7)
    bs = np.array(sorted(by_budget))
    ax[1].errorbar(bs, [by_budget[b].value for b in bs],
                   yerr=[[by_budget[b].value - by_budget[b].lo for b in bs],
                         [min(by_budget[b].hi, 1e4) - by_budget[b].value for b in bs]], fmt="o-", capsize=3)
    ax[1].axhspan(*rules.CLAIM_N, color="k", alpha=0.08)
    ax[1].set_yscale("log"), ax[1].set_xlabel("budget (steps, same runs truncated)"), ax[1].set_ylabel("n*")
    claim.figure(fig, "mod 64: generalization vs training pairs; n* vs budget",
                 f"{t['seeds']} seeds per n, {T} {'full-batch' if not g['batch_size'] else str(g['batch_size']) + '-pair'} steps; right: n* of the same runs read at shorter budgets")
    claim.configs(c.key for c in cfgs)
    claim.note(f"n* depends on the step budget (right panel: {', '.join(f'{b}: {e.value:.0f}' for b, e in by_budget.items())}); "
               "a refutation needs n* to have stopped falling, i.e. a budget where n* at T/2 lies inside the CI at T "
               "(not reached at the fast tier; the long and gpu tiers run the source's 50k batches of 128). The source's 417-pair "
               "point was a curriculum stage with inputs < 32 (no wrap-around), not a from-scratch data-size point")
    claim.decide(rules.threshold_rule, hists, gates.for_histories(grid_value=lambda h: h.config.n_train))


# ---------------------------------------------------------------- curriculum claims

@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_curriculum_vs_direct(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: direct minus curriculum final test accuracy, paired by seed (same init and
    split, equal optimizer-step budget): exact one-sided sign-flip tests in both directions
    with a t CI (verdicts.paired) at alpha = 0.05; when every pair ties in accuracy (both at
    100%), the paired final test loss (curriculum - direct) decides instead. Convergence
    check first (rules_slt.curriculum_rule): the claim compares final levels (100% vs
    98.9%), so both arms must be on a plateau (median over seeds of the test-acc change over
    the last checkpoint interval <= 0.01), else inconclusive "arms not converged". At the
    fast tier the curriculum's last stage (1.2k full-batch steps on the full split) usually
    ends still climbing, so there the difference measures how far that stage got, and it
    moves with the budget (measured: p = 0.016 at --claims-seed 0, 0.07 at 1 on the same
    design). Refuted if the curriculum is significantly better. Gates: leave one seed out;
    no budget gate (a curriculum at T/2 is another stage schedule). Not checked: the
    source's 98.9% / 100% levels (single runs)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    p = _per_seed(d)
    plateau_cur = int((np.abs(p["acc_cur"] - p["acc_cur_prev"]) <= rules.PLATEAU_TOL).sum())
    claim.tested("paired by seed: final test acc (direct - curriculum), exact one-sided sign-flip tests both ways "
                 "+ t CI; test loss (curriculum - direct) when every pair ties; inconclusive unless both arms "
                 "are on a plateau (median |change| over the last checkpoint interval <= 0.01); seed gate",
                 alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("test loss: curriculum - direct (mean)", float(np.mean(p["loss_cur"] - p["loss_dir"])))
    claim.stat("final test acc, direct (mean)", float(p["acc_dir"].mean()), claimed=1.0)
    claim.stat("final test acc, curriculum (mean)", float(p["acc_cur"].mean()), claimed=0.989)
    claim.stat("curriculum runs on a plateau (|change| <= 0.01)", f"{plateau_cur}/{len(p['seed'])}")
    fig, ax = _fig(3, 3.6)
    for k, (v, lab) in enumerate(((d["test_acc"][:, :, -1], "final test acc"),
                                  (d["test_loss"][:, :, -1], "final test loss"))):
        for r in range(v.shape[1]):
            ax[k].plot([0, 1], v[:, r], "o-", color="grey", alpha=0.6)
        ax[k].set_xticks([0, 1], ["curriculum", "direct"]), ax[k].set_title(lab)
    for arm, ls in ((0, "-"), (1, "--")):
        for r in range(d["test_acc"].shape[1]):
            ax[2].plot(d["steps"], d["test_acc"][arm, r], ls, color=f"C{r}", lw=1)
    ax[2].set_xlabel("step"), ax[2].set_title("test acc (solid: curriculum, dashed: direct)")
    claim.figure(fig, "curriculum vs direct, paired by seed")
    claim.configs(d["configs"])
    claim.decide(rules.curriculum_rule, p, rules.seeded_gates(why_no_budget=rules.CONVERGENCE_IN_RULE))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_curriculum_llc(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: final-checkpoint LLC (training split, same SGLD settings and seed for both
    arms) curriculum minus direct, paired by seed: exact one-sided sign-flip tests both ways
    with a t CI (verdicts.paired) at alpha = 0.05, next to the SGLD between-chain spread,
    after the convergence check of curriculum-vs-direct (rules_slt.curriculum_llc_rule):
    the LLC rises during memorization and collapses at grokking (llc-spike-collapse), so an
    arm whose test acc still climbs is mid-collapse and its final LLC is a transient, not the
    "simpler solution" the claim compares (measured at the fast tier: +7.0 [3.5, inf] at
    --claims-seed 0, but at --claims-seed 2 one direct run never grokked and kept a
    memorizing LLC 22 above its curriculum pair). Refuted if significantly reversed. Gates:
    leave one seed out; no budget gate. Not checked: the absolute values 28.0 / 24.7 (they
    depend on nβ, ε, draws and the model's scale)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    p = _per_seed(d)
    chain_sd = float(np.nanmean(d["chains"][:, :, -1].std(-1, ddof=1)))
    claim.tested("paired by seed: final LLC (curriculum - direct), exact one-sided sign-flip tests both ways "
                 "+ t CI; inconclusive unless both arms are on a plateau in test acc (median |change| over the "
                 "last checkpoint interval <= 0.01); seed gate", alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("final LLC curriculum (mean)", float(np.nanmean(p["llc_cur"])), claimed=28.0)
    claim.stat("final LLC direct (mean)", float(np.nanmean(p["llc_dir"])), claimed=24.7)
    claim.stat("SGLD between-chain sd (final ckpt, mean)", chain_sd)
    fig, ax = _fig()
    for r in range(len(p["seed"])):
        ax.plot([0, 1], [p["llc_cur"][r], p["llc_dir"][r]], "o-", color="grey")
    ax.set_xticks([0, 1], ["curriculum", "direct"]), ax.set_ylabel("final LLC")
    claim.figure(fig, "final LLC, paired by seed")
    claim.configs(d["configs"])
    claim.decide(rules.curriculum_llc_rule, p, rules.seeded_gates(why_no_budget=rules.CONVERGENCE_IN_RULE))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_llc_spike_collapse(tier, claim, claims_store, claims_device, claims_seed):
    """Checked, on the direct arm per seed (rules_slt.spike_rule, both parts required):
    (i) peak/final LLC ratio, the peak checkpoint chosen on SGLD chain 0 and its value and
    the final value read from the other chains (so the max of noisy estimates is not
    selection-biased), one_sample vs 1 (exact sign-flip test + t CI, alpha = 0.05);
    (ii) the peak precedes the test-accuracy jump (first eval with test acc >= 0.5,
    grokcore.base.detect.first_sustained): one_sample of sign(jump - peak) vs 0 over the seeds
    that jumped, i.e. the exact sign test. Gates: leave one seed out; no budget gate.
    Also recorded: peak/start ratio. Not checked: the absolute LLC values (43 -> 57 -> 25)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    steps = d["steps"]
    jumps = []
    for r in range(len(d["seeds"])):
        t = d["direct"].trajectory(r)
        jumps.append(float(first_sustained(t["step"], t["test/acc"], 0.5, 1)))
    jumps = np.array(jumps)
    m = rules.spike_measure(d["chains"][1], steps, jumps)
    data = dict(seed=np.array(d["seeds"]), **m)
    grok = np.isfinite(m["before"])
    claim.tested("direct arm: peak/final LLC (peak on chain 0, values on chains 1..C-1) > 1, exact sign-flip "
                 "test + t CI over seeds; and peak step < test-acc jump (acc >= 0.5), exact sign test over the "
                 "seeds that jumped; both required; seed gate", alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("LLC peak/start (direct, mean)", float(np.mean(m["rise"])), claimed=56.62 / 43.18)
    claim.stat("peak before jump", f"{int((m['before'][grok] > 0).sum())}/{int(grok.sum())}", claimed="all")
    fig, ax = _fig(2, 4.5)
    for r in range(len(d["seeds"])):
        ax[0].plot(steps, d["llc"][1, r], color=f"C{r}")
        ax[1].plot(steps, d["test_acc"][1, r], color=f"C{r}")
        if grok[r]:
            ax[0].axvline(jumps[r], color=f"C{r}", ls=":")
    ax[0].set_ylabel("LLC (direct)"), ax[1].set_ylabel("test acc (direct)")
    for a in ax:
        a.set_xlabel("step")
    claim.figure(fig, "direct training: LLC and test accuracy per seed", "dotted: test-acc jump (acc >= 0.5)")
    claim.configs(d["configs"])
    claim.decide(rules.spike_rule, data, rules.seeded_gates())


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_llc_tracks_test(tier, claim, claims_store, claims_device, claims_seed):
    """Checked, on the direct arm (rules_slt.tracks_rule, both parts required): per seed,
    Spearman rho across checkpoints between LLC and test loss, one_sample vs 0 (exact
    sign-flip test + t CI over seeds, alpha = 0.05); control for shared drift in time: the
    same on first differences. Gates: leave one seed out; no budget gate. Also recorded:
    the curriculum arm's rho. Not checked: causality or prediction ahead of time."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    data = dict(seed=np.array(d["seeds"]), rho=rules.spearman_rows(d["llc"][1], d["test_loss"][1]),
                rho_diff=rules.spearman_rows(d["llc"][1], d["test_loss"][1], diff=True))
    cur = rules.spearman_rows(d["llc"][0], d["test_loss"][0])
    claim.tested("direct arm: Spearman rho(LLC, test loss) across checkpoints per seed, > 0 by exact sign-flip "
                 "test + t CI over seeds, for levels and for first differences (both required); seed gate",
                 alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("rho of first differences, direct (mean)", float(np.nanmean(data["rho_diff"])), claimed="> 0")
    claim.stat("rho(LLC, test loss), curriculum (mean)", float(np.nanmean(cur)))
    fig, ax = _fig()
    for r in range(d["llc"].shape[1]):
        ax.plot(d["llc"][1, r], d["test_loss"][1, r], "o-", ms=3, color=f"C{r}")
    ax.set_xlabel("LLC (train split)"), ax.set_ylabel("test loss"), ax.set_title("direct arm, one line per seed")
    claim.figure(fig, "LLC vs test loss across checkpoints")
    claim.configs(d["configs"])
    claim.decide(rules.tracks_rule, data, rules.seeded_gates())


# ---------------------------------------------------------------- finetuning

@share_sweep("slt-finetune")
@pytest.mark.parametrize("tier", TIERS)
def test_finetune_accelerates(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: steps to grok mod 53 (grokcore.base.detect rule) after finetuning through
    7 -> 11 -> 23 -> 49 vs from scratch (same seeds, splits and final-stage budget;
    non-grokking runs right-censored at the budget): exact one-sided permutation log-rank
    tests in each direction, Cox log hazard ratio and KM medians (survival.two_groups_verdict,
    lifelines) at alpha = 0.05 (rules_slt.finetune_rule). The
    source's claim is conditional ("when a previous model grokked, ... they often grokked
    much quicker"): with >= 2 chains whose mod-49 stage grokked, those chains vs all scratch
    runs decide (supported or refuted); otherwise all chains are compared, which can support
    the claim but cannot refute it (a slower chain that never grokked before is not where
    the claim is meant to hold). At the fast tier no chain groks mod 49 within its 800
    steps (test acc 0.03-0.3), and finetuned chains grok mod 53 later than scratch
    (measured: opposite MW p = 0.018 at --claims-seed 0, 0.004 at 1); with a 2500-step
    mod-49 stage (measured once, 5 seeds, still 0/5 grokked at mod 49) they grokked mod 53
    about as fast as scratch (850-2250 vs 1100-2550 steps), so the fast-tier slowdown is a
    property of the stage budgets, not a refutation. Gates: leave one seed out (both arms),
    half the final-stage budget (earlier stages unchanged). The card's power note says what
    speed-up this many seeds can detect. Recorded: grok-rate difference (Fisher). Not
    checked: weight-decay dependence."""
    d = _finetune_set(tier, claims_seed, claims_device, claims_store)
    n, B = len(d["seeds"]), int(d["budget"])
    last = d["st"].histories[-1]
    prev = np.isfinite(rules.grok_steps(d["st"].histories[-2][:n]))  # the chain's mod-49 stage grokked
    data = dict(seed=np.array(d["seeds"]), ft=rules.grok_steps(last[:n]), sc=rules.grok_steps(last[n:]), budget=B,
                prev=prev)
    half = dict(data, ft=rules.grok_steps(last[:n], B // 2), sc=rules.grok_steps(last[n:], B // 2), budget=B // 2)
    perturb = rules.seeded_gates(budget=lambda _: [(f"half the final-stage budget ({B // 2} steps)", half)])
    k_ft, k_sc = int(np.isfinite(data["ft"]).sum()), int(np.isfinite(data["sc"]).sum())
    ft, sc = rules.censored(data["ft"], B), rules.censored(data["sc"], B)  # for the plot only
    claim.tested("steps to grok mod 53, finetuned chain vs scratch, right-censored at the budget; exact "
                 "permutation log-rank both ways (Cox HR, KM medians), on the chains whose mod-49 stage grokked when >= 2 did (the "
                 "source's condition), else on all chains (then support only: no refutation where the condition "
                 "fails); gates: leave one seed out, half the final-stage budget; grok rates by Fisher "
                 "(recorded)", alpha=ALPHA)
    claim.stat("chains whose mod-49 stage grokked", f"{int(prev.sum())}/{n}")
    claim.scale(moduli=list(staged.FINETUNE_MODULI), seeds=n, stage_steps=GRIDS[tier]["finetune"]["stage_steps"],
                batch=GRIDS[tier]["batch_size"] or "full", resize="keep W1,b1; copy old token rows/class columns; "
                "new ones from the stage's seeded init; fresh Adam per stage")
    for arm, v in (("finetuned", data["ft"]), ("scratch", data["sc"])):
        ok = ~np.isnan(v)
        claim.stat(f"KM median steps to grok, {arm}", survival.km_median(np.minimum(v[ok], B), np.isfinite(v[ok])))
    claim.stat("grok rate: finetuned - scratch", stats.rate_difference(k_ft, n, k_sc, n, alpha=ALPHA))
    for s, M_ in enumerate(staged.FINETUNE_MODULI):
        claim.stat(f"final test acc at mod {M_} (chain mean)", float(d["stage_acc"][s].mean()))
    fig, ax = _fig()
    ax.scatter(np.zeros(n) + np.linspace(-.1, .1, n), ft, label="finetuned")
    ax.scatter(np.ones(n) + np.linspace(-.1, .1, n), sc, label="scratch")
    ax.axhline(B + 1, color="k", ls=":", label="censored (did not grok)")
    ax.set_xticks([0, 1], ["finetuned", "scratch"]), ax.set_ylabel("steps to grok mod 53"), ax.legend(fontsize=7)
    claim.figure(fig, "steps to grok mod 53")
    claim.configs(d["configs"])
    claim.decide(rules.finetune_rule, data, perturb)


# ---------------------------------------------------------------- cost plan (grokcore plan, --claims-plan)

def plan_configs(tier: str, seed0: int = 0) -> dict:
    """The configs this module trains at ``tier`` for base seed ``seed0`` (--claims-seed), without
    training: the mod-64 threshold search's worst case (test_mod64_threshold places n adaptively, so
    its configs depend on the outcomes: here the most it may train, max_runs per budget searched, at
    the largest n, as the upper bound), the curriculum and
    direct arms (staged.curriculum_configs / direct_configs, every stage) and the finetuning chains
    with their scratch arm (staged.finetune_configs). Not counted: the LLC's SGLD draws on the
    curriculum checkpoints (small next to training: chains x draws x 128-pair minibatch steps per
    checkpoint). grokcore/tests/test_plan_hooks.py checks these equal what the tests hand to training."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    base = _base(g, steps=t["steps"]).replace(eval_every=t["eval_every"], ratio=None, n_train=t["n_max"])
    threshold = [base.replace(seed=seed0 + r, split_seed=seed0 + r) for r in range(2 * t["max_runs"])]
    if "finetune" not in g:  # the long tier: the threshold only
        return {"threshold (adaptive, upper bound)": threshold}
    f = g["finetune"]
    seeds = [seed0 + s for s in range(g["seeds"])]
    cur = staged.curriculum_configs(_base(g), seeds, g["stage_steps"])
    direct = staged.direct_configs(_base(g), seeds, g["stage_steps"])
    fine = staged.finetune_configs(_base(g, eval_every=f["eval_every"], ratio=f["ratio"]),
                                   [seed0 + s for s in range(f["seeds"])], f["stage_steps"])
    return {"threshold (adaptive, upper bound)": threshold, "curriculum": [c for st in cur for c in st],
            "direct": [c for st in direct for c in st], "finetune": [c for st in fine for c in st]}
