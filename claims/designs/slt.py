"""SLT, curriculum and finetuning claims (seed 004): what claims/test_slt.py trains.

Model and optimizer of every claim: seed 004's devinterp example, embed_mlp (embedding 12 per
operand, concatenated -> Linear 24->48 -> GELU -> Linear 48->M), Adam lr 5e-3 with coupled
weight decay 2e-4; mod 64 with a 40% training split.

Three run sets, each built once (the builders feed training and ``plan_configs`` alike):
- the mod-64 threshold search (``threshold_configs``): from scratch on the full table at n
  training pairs, n placed by grokcore.decide.adaptive (``threshold_budgets``: n* at T and T/2 at
  the fast tier; at the source's T and 2T where the tier has one, runs trained to 2T);
- the curriculum set (``curriculum_args``): curriculum and direct arms paired by seed with the LLC
  of every checkpoint, shared by curriculum-vs-direct, curriculum-llc, llc-spike-collapse,
  llc-tracks-test and (long, gpu) mod64-stage3 (``stage_accuracy``: each stage read on its own
  held-out pairs, as the source reports it);
- the finetuning set (``finetune_args``): chains 7 -> 11 -> 23 -> 49 -> 53 and a from-scratch arm.
The staged sets are computed once per (tier, seed, device) (grokcore.engine.staged.cached_set:
process cache, then the results store).

Tiers (GRIDS):
- fast: FULL-BATCH Adam steps. With the source's 128-pair minibatches, mod 64 needs ~10^4-10^5
  steps to grok (measured here: 1 of 4 seeds within 20k steps; the source's own transition is
  near checkpoint 70 of a 200k-batch run), far beyond a CPU minute; full-batch steps grok in
  ~2-4.5k steps. So the fast tier tests the claims in the same model/optimizer at a different
  noise level and a 4.8k-step budget (4 x 1.2k curriculum stages); step counts do not transfer
  to the source's batches. 7 seeds for the curriculum set: the paired rules use exact one-sided
  sign-flip tests, whose smallest p is 2^-n, and the seed gate leaves one seed out, so 6 remain
  (smallest p 1/64; with 5 seeds 4 remain and 1/16 can never reach 0.05). The curriculum's last
  stage (1.2k full-batch steps on the full split) usually ends still climbing. Finetuning: 7
  seeds per arm with a 50% split (at 40%, 0 of 5 seeds per arm grokked mod 53 within 3k
  full-batch steps): 80 % power at a 2x speed-up. The mod-49 stage is 5000 steps, where the
  source's condition holds: measured (7 chains per base seed, the stage run until every chain
  grokked) every chain grokked mod 49 at 2700-4500 full-batch steps (seed 0), 2600-3550 (1),
  2400-4100 (2); with 800 steps none did (test acc 0.03-0.3) and the finetuned chains grokked mod 53
  later than scratch (opposite MW p = 0.018 at --claims-seed 0), a property of the stage budgets.
  Seed 0 with 5000: 7/7 chains grokked mod 49, then mod 53 at 300-1850 steps vs scratch 1100-2550.
- long: the source's 128-pair minibatches and budgets: mod64-threshold judged at 50k batches
  (confirmed at 100k, compaction on), and the curriculum set at 4 x 50k vs 200k direct (7 seeds
  per arm, checkpoints every 2500 batches), which also gives mod64-stage3. The finetuning set is
  the fast tier's (full batch, the same stages and split) with 60 chains per arm: at 7 per arm
  the fast tier's verdict moved with the base seed (S at 0, I at 1, 3 avx2 and 5, with speed-ups
  of 1.3-1.6x and the finetuned arm's sd(log) 0.5-0.7), and its power note gave ~60 per arm for
  80 % power at the observed speed-up; 60 is also the gpu tier's count. Cost ~900-1250 CPU-s
  (one core, 2-core Intel Xeon, 2026-12-03), most of it the mod-49 stage's 60 x 5000 steps.
- gpu: the source's setting: 128-pair minibatches, direct 200k batches and the curriculum
  4 x 50k, 30 seeds, 100 checkpoints, LLC with devinterp's example settings and 500 draws x 4
  chains; threshold up to 72 runs, judged at 50k batches and trained to 100k; finetuning 60 chains
  per arm, 40% splits, 5 x 25k batches (the devinterp example's budget). Cost estimate (H100, launch-bound tiny models,
  ~1-2 ms per batched step): curriculum + direct 2 x 200k steps ~ 7-12 min; threshold ~ 8-15
  min; finetuning 125k steps ~ 2-4 min; LLC 6060 models (30 seeds x 2 arms x 101) x 4 chains x
  128 pairs x 500 draws ~ 3 min (scaled from 2424 models ~ 1 min). Not run yet (no GPU).
LLC (every tier): SGLD step 3e-3, nβ 2, localization γ 5 (devinterp's example), minibatch 128 per
draw, no burn-in; fast tier 2 chains x 150 draws instead of 500: LLC cost is linear in draws x
chains, 150 draws already exceed the ~133-step relaxation time 2/(εγ) of the localization, and 2
chains are the fewest that give a between-chain spread and the cross-fitted peak of
llc-spike-collapse. Fewer draws shift λ̂ (the chains are still relaxing), so only comparisons at
one setting are made, never against the source's absolute values.

The threshold's budget: n* falls as the budget grows (measured once while designing it, seed 0:
n* ~ 3000 at 750 full-batch steps, 1900 at 1.5k, 1700 at 3k, and between 945 and 1418 pairs at
12k, where 945 was at 92% test acc). So a from-scratch n* above 800 at a CPU budget does not
refute ~400 at the source's 50k batches; the budget gate sees this. 1.5k steps (not 3k) because
there n* moves by ~1.5x per budget doubling, more than the CI's width, so the gate decides the
same way for any seed; at 3k the move (~1.15x) is inside the CI and the gate's outcome would
depend on the seed. The long tier runs the source's own budget and batch (50k batches of 128
pairs, eval every 500): 2026-12-01, --claims-seed 0, 4 seeds per point, 56 runs: n* = 1494
[1236, 1642] at 50k and 1709 [1585, 2008] at 25k: refuted at full scale and by every seed and
grid gate, but n* at T/2 lies outside the CI at T, further from the claim ("refuted at this
budget only"): inconclusive, budget-limited, even at the source's budget (n* read at 12.5k /
25k / 37.5k / 50k: 1793, 1709, 1602, 1494, falling ~13% per doubling). A first version with 3
seeds and <= 24 runs per budget refuted at seed 0 (n* at T/2 inside the wider CI at T) and was
seed-fragile at seed 1: too few runs to see the drift, not a different answer. Since issue 19's
rule (a claim whose source states its budget is judged there; the drift is scope), the long tier
judges n* at T = 50k and confirms a refutation at 2T (runs trained to 100k, compaction on):
2026-12-02, --claims-seed 0, 32 runs: n* = 1593 [1441, 1839] at T, 1482 [1313, 1752] at 2T,
1593 at T/2: refuted, every seed and grid gate agreeing (603 CPU-s). At base seeds 3 and 4 that
design was seed-fragile (refuted at full scale; n* at 2T, e.g. 1225 [973, 1442], lay at the low
end of the runs placed for T, and leaving one replicate seed out moved its CI across 800), so
since 2026-12-02 the search places n for 2T too (two boundaries, round 0 shared, <= 48 runs
each): seeds 3 and 4 then refute with every gate (n* 1428 [1329, 1582] and 1551 [1430, 1849]
at T; 1189 [1023, 1376] and 1250 [1129, 1372] at 2T; 52 runs, 1260-1480 CPU-s). The source's own 417-pair
number is mod64-stage3: its curriculum rerun at the long tier gives stage 3 a median test
accuracy of 0.698 [0.607, 0.786] over 7 seeds (stages 1-4: 1.1 %, 2.2 %, 70.2 %, 99.4 % mean;
source 2.7, 1.9, 71.8, 98.9), inconclusive only because one seed ends at 0.607, below the band.
"""
from __future__ import annotations

import math

import numpy as np

from claims.designs import replicates
from grokcore.decide import adaptive, gates
from grokcore.decide import rules_slt as R
from grokcore.engine import staged, sweep
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.llc import SGLDConfig
from grokcore.engine.train import torch_threads
from grokcore.suite import reference
from grokcore.suite.plan import COMPACT_NOTE

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
        # 7 seeds per arm (80 % power at a 2x speed-up) and a mod-49 stage at which every chain groks (measured,
        # 7 chains per base seed: grokked at 2700-4500 full-batch steps at seed 0, 2600-3550 at 1, 2400-4100 at 2)
        # compact: in the mod-53 stage each run leaves its batch at its own grokking step (only the step is read)
        finetune=dict(seeds=7, ratio=0.5, stage_steps=[200, 200, 400, 5000, 4000], eval_every=50, compact=True),
        sgld=dict(chains=2, draws=150),
    ),
    # long (`pytest claims -m long`): the source's 128-pair minibatches and budgets, so the claims are read where
    # they were made, not at a CPU budget; batch size does not enter the batch key, so every n of a round trains in
    # one chunk (CPU per batched step, 1 thread, measured 2026-12-02: 2.7 ms for 7 runs, 3.8 for 14, 4.9 for 24)
    "long": dict(
        batch_size=128, eval_every=500,
        # mod64-threshold judged at the source's budget T = 50k batches (source_T) and confirmed at 2T: runs trained
        # to 2T (compact: a run leaves its batch once it generalized, nothing after that is read); adaptive
        # searches of n* at T and at 2T (shared runs; T/2 read from the same runs); 4 seeds per point, <= 48 runs each
        threshold=dict(window=(300, 3140), n_min=100, n_max=3891, start=5, per_round=3, seeds=4, max_runs=48,
                       rounds=4, target_width=0.3, steps=100_000, source_T=50_000, eval_every=500, max_batch=24,
                       compact=True),
        # the curriculum set at the source's budget: 4 x 50k batches of 128 against 200k direct, 7 seeds per arm
        # (one batched run set per arm), LLC at every checkpoint (every 2500 batches: 81 per arm)
        seeds=7, stage_steps=[50_000] * 4, checkpoint_every=2500,
        sgld=dict(chains=2, draws=150),
        # the fast tier's finetuning set (full batch, the same stages) with 60 chains per arm: at the fast tier's 7
        # (base seeds 3-5, 2026-12-02) the speed-up was 1.3-1.6x with the finetuned arm's sd(log) 0.5-0.7, for which
        # 80 % power needs ~60 per arm (the card's power note); the gpu tier's count, at a CPU's full-batch budget
        finetune=dict(seeds=60, ratio=0.5, stage_steps=[200, 200, 400, 5000, 4000], eval_every=50, compact=True,
                      batch_size=0),
    ),
    "gpu": dict(
        # 30 seeds per arm: at the long tier (--claims-seed 0, 7 seeds) both arms converged and the paired
        # direct - curriculum test acc was +0.0055 (sd 0.0114): 80 % power for that mean needs 29 pairs + 1 for
        # leaving one seed out (the source's 1.1-point gap: 10); also >= 10 seeds for mod64-stage3
        batch_size=128, eval_every=1000, seeds=30,
        stage_steps=[50_000] * 4, checkpoint_every=2000,
        threshold=dict(window=(75, 2883), n_min=64, n_max=3891, start=5, per_round=3, seeds=6, max_runs=72,
                       rounds=8, target_width=0.2, steps=100_000, source_T=50_000, eval_every=1000, compact=True),
        # 60 chains per arm: at the fast tier (base seeds 3-5, 2026-12-02) the finetuned arm spread sd(log) 0.5-0.7
        # and the observed speed-up was 1.3-1.6x, for which 80 % power needs ~60 seeds per arm (the card's power)
        finetune=dict(seeds=60, ratio=0.4, stage_steps=[25_000] * 5, eval_every=500, compact=True),
        sgld=dict(chains=4, draws=500),
    ),
}
SGLD = dict(step=3e-3, nbeta=2.0, gamma=5.0, burnin=0)
MODEL_TEXT, OPTIM_TEXT = "embed_mlp D=12 K=48 GELU", "Adam lr 5e-3 wd 2e-4"


def base_config(g: dict, **kw) -> RunConfig:
    """Mod 64, 40% split, the devinterp example's model and optimizer at the tier's batch and eval cadence."""
    return RunConfig(**(dict(task="add", M=M, ratio=0.4, model=MODEL, optim=OPTIM, batch_size=g["batch_size"],
                             eval_every=g["eval_every"]) | kw))


def scale(tier: str, **extra) -> dict:
    """The curriculum set's scale, as its cards record it."""
    g = GRIDS[tier]
    return dict(M=M, model=MODEL_TEXT, optim=f"{OPTIM_TEXT} (coupled)", batch=g["batch_size"] or "full",
                seeds=g["seeds"], stage_steps=g["stage_steps"], checkpoint_every=g["checkpoint_every"],
                sgld={**SGLD, **g["sgld"]}, **extra)


# ---------------------------------------------------------------- mod64-threshold

def threshold_base(tier: str) -> RunConfig:
    """From scratch on the full mod-64 table (n_train pairs, not a ratio), T steps."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    return base_config(g, steps=t["steps"]).replace(eval_every=t["eval_every"], ratio=None, n_train=t["n_min"])


def threshold_configs(tier: str, seed0: int, n: int, reps) -> list[RunConfig]:
    """The search's runs at n pairs: replicate r with init and split seed seed0 + r."""
    return replicates(threshold_base(tier).replace(n_train=n), seed0, reps)


def threshold_budgets(tier: str) -> list[int]:
    """The budgets the search places n for: T/2 and T at the fast tier (n* read at a CPU budget, a
    refutation must hold at T/2); the source's T and 2T where the tier has one (source_T: runs
    trained to 2T; the rule needs n* at both, so both get runs placed near their own n*: with
    runs placed for T alone, n* at 2T sat near the low end of the sampled n and its CI's
    lower end moved across 800 when one replicate seed was left out, at base seeds 3 and 4)."""
    t = GRIDS[tier]["threshold"]
    return [t["source_T"], t["steps"]] if "source_T" in t else [t["steps"] // 2, t["steps"]]


def threshold_search(tier: str, store, device: str, seed0: int) -> dict:
    """Adaptive search (grokcore.decide.adaptive) of n* at threshold_budgets(tier) (keys = budgets),
    reading runs trained for GRIDS[tier]["threshold"]["steps"]; one chunk per n and replicate block."""
    t = GRIDS[tier]["threshold"]
    spec = adaptive.SearchSpec(n_min=t["n_min"], n_max=t["n_max"], start=t["start"], per_round=t["per_round"],
                               seeds=t["seeds"], max_runs=t["max_runs"], max_rounds=t["rounds"],
                               target_width=t["target_width"], alpha=R.ALPHA)

    def train(cfgs):
        return sweep.run(cfgs, store=store, device=device, experiment=f"mod64-threshold/{tier}",
                         max_batch=t.get("max_batch", t["seeds"]), compact=t.get("compact", False))

    with torch_threads(1):
        return adaptive.search({b: t["window"] for b in threshold_budgets(tier)},
                               lambda budget, n, reps: threshold_configs(tier, seed0, n, reps),
                               lambda b, h: R.generalized(gates.truncate(h, b)), train, spec)


def threshold_decision(tier: str, hists: list) -> tuple:
    """(rule, data, gates) of mod64-threshold at ``tier``: at the source's budget where the tier
    has one (mod64_threshold_source_rule, T/2 and 2T as scope), else mod64_threshold_rule on the
    runs at T with the standard gates (half budget as a veto)."""
    t = GRIDS[tier]["threshold"]
    if "source_T" in t:
        T = t["source_T"]
        return R.mod64_threshold_source_rule, R.source_budget_data(hists, T, t["steps"]), R.source_budget_gates(T)
    return R.mod64_threshold_rule, hists, R.threshold_gates()


def threshold_to_decide(tier: str) -> dict[str, str]:
    """What would decide mod64-threshold where a gate moved it (Claim.decide's card note): at a
    CPU budget (fast) n* still falls as the budget doubles, so the source's own budget decides."""
    t, long = GRIDS[tier]["threshold"], GRIDS["long"]["threshold"]
    if "source_T" in t:
        return {}  # judged at the source's budget: the drift with the budget is scope, not a gate
    return {"budget": f"n* at T/2 = {t['steps'] // 2} full-batch steps differs from T = {t['steps']}: a CPU budget, "
                      f"not the source's; the long tier decides it at the source's {long['source_T']} batches of "
                      f"{GRIDS['long']['batch_size']} (and at 2T), `pytest claims -m long -k threshold`"}


def set_to_decide(tier: str, which: str) -> dict[str, str]:
    """What would decide a gate-moved verdict read on the curriculum set (``which`` = "curriculum",
    its direct arm "direct", "stage3") or the finetuning set ("finetune") at ``tier``, with the scale
    the gpu tier's plan trains (Claim.decide's card note for each gate that moved it)."""
    g, gpu = GRIDS[tier], GRIDS["gpu"]
    if which == "finetune":
        if "finetune" not in g:  # a tier without a finetuning set
            return {}
        f, fg = g["finetune"], gpu["finetune"]
        plan = f"the gpu tier's plan: {fg['seeds']} chains per arm, stages of {fg['stage_steps'][0]} batches of {gpu['batch_size']}"
        return {"seed": f"leaving one of {f['seeds']} chains per arm out moves the verdict: more chains per arm decide "
                        f"(the power note gives how many at the observed speed-up); {plan}",
                "budget": f"the final stage read at half its {f['stage_steps'][-1]} steps gives another verdict: a "
                          f"final stage in which every chain and scratch run has grokked by T/2 decides; {plan}"}
    batch = f"batches of {g['batch_size']}" if g["batch_size"] else "full-batch steps"
    plan = (f"the gpu tier's plan: {gpu['seeds']} seeds per arm, stages of {gpu['stage_steps'][0]} batches of "
            f"{gpu['batch_size']}")
    out = {"seed": f"leaving one of the {g['seeds']} seeds out moves the verdict: more seeds decide; {plan}"}
    if which == "direct":
        out["budget"] = (f"read at half the direct arm's {sum(g['stage_steps'])} {batch} the verdict differs: a direct "
                         f"arm in which every seed has jumped by T/2 decides; {plan}")
    return out


def threshold_measures(tier: str, hists: list) -> dict:
    """rules_slt.threshold_measures at the budget the verdict reads (the source's T where the tier
    has one, with n* also read at T/2 and 2T; else T with T/4 .. 3T/4)."""
    t = GRIDS[tier]["threshold"]
    if "source_T" in t:
        T = t["source_T"]
        return R.threshold_measures(hists, T, budgets=[T // 2, 3 * T // 2, t["steps"]])
    return R.threshold_measures(hists, t["steps"])


def threshold_scale(tier: str, hists: list) -> dict:
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    judged = (f"at the source's budget T = {t['source_T']} batches, confirmed at 2T = {t['steps']}" if "source_T" in t
              else f"at T = {t['steps']} steps, a refutation must hold at T/2")
    return dict(M=M, search=t, runs=len(hists), n_train=sorted({h.config.n_train for h in hists}), steps=t["steps"],
                judged=judged, batch=g["batch_size"] or "full", model=MODEL_TEXT, optim=OPTIM_TEXT)


# ---------------------------------------------------------------- the curriculum set

def curriculum_args(tier: str, seed0: int) -> tuple[RunConfig, list[int], list[int]]:
    """(base, seeds, stage_steps) of both arms: seed s paired across arms (same init and split)."""
    g = GRIDS[tier]
    return base_config(g), list(range(seed0, seed0 + g["seeds"])), g["stage_steps"]


def curriculum_set(tier: str, seed: int, device: str, store=None) -> dict:
    """Curriculum and direct arms (paired by seed) with the LLC of every checkpoint (cached)."""
    g = GRIDS[tier]
    return staged.cached_set(store, "curriculum", base_config(g), lambda: train_curriculum_set(tier, seed, device),
                             seed=seed, seeds=g["seeds"], stage_steps=g["stage_steps"],
                             checkpoint_every=g["checkpoint_every"], sgld={**SGLD, **g["sgld"]}, llc_batch=128)


def train_curriculum_set(tier: str, seed: int, device: str) -> dict:
    """Train both arms, estimate the LLC at every checkpoint, read the test metrics there.
    Arrays: llc (arm, seed, checkpoint), chains (arm, seed, checkpoint, chain), test_loss /
    test_acc (arm, seed, checkpoint); arm 0 = curriculum, 1 = direct."""
    g = GRIDS[tier]
    base, seeds, stage_steps = curriculum_args(tier, seed)
    with torch_threads(1):
        cur, direct = staged.curriculum(base, seeds, stage_steps, device, checkpoint_every=g["checkpoint_every"])
        n = len(seeds)
        items = staged.staged_llc_items(cur, range(n)) + staged.staged_llc_items(direct, range(n))
        est = staged.checkpoint_llc([(c, p) for _, _, c, p in items],
                                    SGLDConfig(**SGLD, **g["sgld"], seed=seed % 2**31), device, batch_size=128)
    K = len(cur.checkpoints)

    def at_ckpts(st, r, key_):  # a logged metric at each checkpoint (eval_every divides the cadence)
        t = st.trajectory(r)
        return np.array([t[key_][np.flatnonzero((t["step"] == c.step) & (t["stage"] == c.stage))[0]]
                         for c in st.checkpoints])

    return dict(
        seeds=seeds, cur=cur, direct=direct, steps=np.array([c.step for c in cur.checkpoints]),
        llc=est["llc/mean"].reshape(2, K, n).transpose(0, 2, 1),
        chains=est["llc/chains"].reshape(2, K, n, -1).transpose(0, 2, 1, 3),
        test_loss=np.array([[at_ckpts(st, r, "test/loss") for r in range(n)] for st in (cur, direct)]),
        test_acc=np.array([[at_ckpts(st, r, "test/acc") for r in range(n)] for st in (cur, direct)]),
        configs=[c.key for st in (cur, direct) for stage in st.configs for c in stage],
    )


def stage_accuracy(d: dict, fraction: float = 1.0) -> dict:
    """The curriculum arm read per stage as the source reports it (mod64-stage3): per seed and stage
    s, the test accuracy on the stage's OWN held-out pairs (both inputs < its range, not in its
    training split; the engine's logged test set is the run's full held-out set) at the last
    checkpoint at most ``fraction`` of the way through the stage (1: its end), and the stage's
    training pairs.
    Returns seed, acc (stage 3's, per seed), stage_acc and stage_pairs (seed, stage), at (the
    checkpoints' global steps per stage)."""
    from grokcore.engine import models, tasks

    cur = d["cur"]
    S, n = len(cur.configs), len(d["seeds"])
    acc, pairs, at = np.zeros((n, S)), np.zeros((n, S)), []
    for s in range(S):
        step = cur.offsets[s] + int(round(fraction * cur.configs[s][0].steps))
        ck = max((c for c in cur.checkpoints if c.stage == s and c.step <= step), key=lambda c: c.step, default=None)
        if ck is None:
            raise ValueError(f"no checkpoint of stage {s} at or before step {step} (checkpoint_every too coarse)")
        at.append(ck.step)
        for r, cfg in enumerate(cur.configs[s]):
            a, b, y = tasks.table(cfg.task, cfg.M)
            tr, te = tasks.run_split(cfg.task, cfg.M, cfg.ratio, cfg.n_train, cfg.split_seed, cfg.curriculum)
            if cfg.curriculum:
                te = te[(a[te] < cfg.curriculum) & (b[te] < cfg.curriculum)]
            with torch_threads(1):
                logits, _ = models.forward(cfg.model, {k: v[r:r + 1] for k, v in ck.params.items()},
                                           a[te][None], b[te][None])
            acc[r, s] = float((logits[0].argmax(-1) == y[te]).float().mean())
            pairs[r, s] = tr.numel()
    return dict(seed=np.array(d["seeds"]), acc=acc[:, 2], stage_acc=acc, stage_pairs=pairs, at=at)


def stage3_gates(d: dict):
    """mod64-stage3's gates: leave one seed out (veto); stage 3 read halfway through (25k of its
    50k batches) as scope: the source states the stage's budget, so it is reported, not a veto."""
    half = stage_accuracy(d, 0.5)
    return gates.Perturbations(budget=lambda _: [(f"stage 3 read halfway (step {half['at'][2]})", half)],
                               seed=R.seeded_gates().seed, budget_is_scope=True,
                               why_not={"seed": "fewer than 3 seeds"})


# ---------------------------------------------------------------- the finetuning set

def finetune_args(tier: str, seed0: int) -> tuple[RunConfig, list[int], list[int]]:
    """(base, seeds, stage_steps) of the chains and of the scratch arm (same seeds)."""
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    batch = {"batch_size": f["batch_size"]} if "batch_size" in f else {}  # the set's own batch where it has one
    return (base_config(g, eval_every=f["eval_every"], ratio=f["ratio"], **batch),
            list(range(seed0, seed0 + f["seeds"])), f["stage_steps"])


def finetune_set(tier: str, seed: int, device: str, store=None) -> dict:
    """The finetuning chains and their scratch arm (cached)."""
    f = GRIDS[tier]["finetune"]
    base = finetune_args(tier, seed)[0]
    return staged.cached_set(store, "finetune", base, lambda: train_finetune_set(tier, seed, device), seed=seed,
                             seeds=f["seeds"], stage_steps=f["stage_steps"], moduli=list(staged.FINETUNE_MODULI),
                             **({"compact_last": True} if f.get("compact") else {}))


def train_finetune_set(tier: str, seed: int, device: str) -> dict:
    """Train the chains (the last stage batched with the scratch arm; with the grid's compact,
    each run of it stops at its own grokking step); stage_acc (stage, chain): final test acc,
    in a compacted last stage at each run's stop."""
    base, seeds, stage_steps = finetune_args(tier, seed)
    with torch_threads(1):
        st = staged.finetune(base, seeds, stage_steps, device,
                             compact_last=GRIDS[tier]["finetune"].get("compact", False))
    n = len(seeds)
    return dict(seeds=seeds, st=st, budget=stage_steps[-1],
                stage_acc=np.array([[h[r].summary["final/test_acc"] for r in range(n)] for h in st.histories]),
                configs=[c.key for stage in st.configs for c in stage])


def finetune_scale(tier: str) -> dict:
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    return dict(moduli=list(staged.FINETUNE_MODULI), seeds=f["seeds"], stage_steps=f["stage_steps"],
                batch=f.get("batch_size", g["batch_size"]) or "full",
                resize="keep W1,b1; copy old token rows/class columns; new ones from the stage's seeded init; "
                "fresh Adam per stage")


# ---------------------------------------------------------------- cost plan (grokcore plan, --claims-plan)

def plan_configs(tier: str, seed0: int = 0) -> dict:
    """The configs trained at ``tier`` for base seed ``seed0``, without training: the threshold
    search's upper bound (it places n adaptively, so its configs depend on the outcomes: here the
    most it may train, max_runs per budget searched, at the largest n), the curriculum and direct
    arms and the finetuning chains with their scratch arm (every stage, from curriculum_args and
    finetune_args as the training), where the tier has them (long: threshold and curriculum set).
    Not counted: the LLC's SGLD draws on the curriculum checkpoints (small next to training) and
    the threshold's compaction (runs that generalized leave their batch)."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    # every budget's search starts at the same geometric points, so round 0's runs are shared
    nb = len(threshold_budgets(tier))
    bound = nb * t["max_runs"] - (nb - 1) * t["start"] * t["seeds"]
    out = {"threshold (adaptive, upper bound)": threshold_configs(tier, seed0, t["n_max"], bound)}
    flat = lambda stages: [c for st in stages for c in st]  # noqa: E731
    if "stage_steps" in g:
        cur_args = curriculum_args(tier, seed0)
        out |= {"curriculum": flat(staged.curriculum_configs(*cur_args)),
                "direct": flat(staged.direct_configs(*cur_args))}
    if "finetune" in g:
        out["finetune"] = flat(staged.finetune_configs(*finetune_args(tier, seed0)))
    return out


def plan_notes(tier: str) -> dict[str, str]:
    """`grokcore plan`'s note per grid: the threshold search and the finetuning set's last stage
    train with compaction where the tier says so."""
    g = GRIDS[tier]
    out = {"threshold (adaptive, upper bound)": COMPACT_NOTE} if g["threshold"].get("compact") else {}
    if g.get("finetune", {}).get("compact"):
        out["finetune"] = f"last stage: {COMPACT_NOTE}"
    return out


def li2_c() -> tuple[float, str]:
    """Li²'s constant c from fixtures/li2.toml (li2-boundary, see_also numbers), and where it is from."""
    row = reference.load_reference("li2-boundary")
    for q in [row, *row.get("see_also", [])]:
        if "c" in q.get("numbers", {}):
            where = f"{q['source'].get('id')}: {q.get('quote', '')[:40]}"
            return float(q["numbers"]["c"]), f"fixtures/li2.toml li2-boundary ({where})"
    raise KeyError("li2-boundary has no numbers.c")


# ---------------------------------------------------------------- figures

def _fig(ncols=1, w=5.0):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(1, ncols, figsize=(w * ncols, 3.4))


def threshold_figure(tier: str, m: dict, c_li2: float):
    """mod64-threshold: P(generalized) per n with n*, the claimed range and Li²'s c·M ln M (left);
    n* of the same runs read at shorter budgets (right). ``m``: rules_slt.threshold_measures."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    rates, by_budget, nstar = m["rates"], m["by_budget"], m["nstar"]
    fig, ax = _fig(2, 4.6)
    xs = np.array(sorted(rates))
    ax[0].errorbar(xs, [rates[v].value for v in xs], yerr=[[rates[v].value - rates[v].lo for v in xs],
                   [rates[v].hi - rates[v].value for v in xs]], fmt="o", capsize=3, label="P(generalized), Wilson CI")
    ax[0].axvspan(*R.CLAIM_N, color="k", alpha=0.08, label="claimed [200, 800]")
    ax[0].axvline(c_li2 * M * math.log(M), color="g", ls=":", label="Li² c·M ln M")
    if math.isfinite(nstar.value):
        ax[0].axvline(nstar.value, color="r", label="n* (Firth)")
    ax[0].axvspan(nstar.lo, min(nstar.hi, 4096), color="r", alpha=0.1)
    ax[0].set_xscale("log"), ax[0].set_xlabel("training pairs n"), ax[0].set_ylabel("P(generalized)")
    ax[0].legend(fontsize=7)
    bs = np.array(sorted(by_budget))
    ax[1].errorbar(bs, [by_budget[b].value for b in bs],
                   yerr=[[by_budget[b].value - by_budget[b].lo for b in bs],
                         [min(by_budget[b].hi, 1e4) - by_budget[b].value for b in bs]], fmt="o-", capsize=3)
    ax[1].axhspan(*R.CLAIM_N, color="k", alpha=0.08)
    ax[1].set_yscale("log"), ax[1].set_xlabel("budget (steps, same runs truncated)"), ax[1].set_ylabel("n*")
    batch = "full-batch" if not g["batch_size"] else f"{g['batch_size']}-pair"
    read = (f"read at the source's {m['T']} (trained to {t['steps']})" if "source_T" in t else f"{t['steps']}")
    return (fig, "mod 64: generalization vs training pairs; n* vs budget",
            f"{t['seeds']} seeds per n, {read} {batch} steps; right: n* of the same runs read at other budgets")


def curriculum_figure(d: dict):
    """curriculum-vs-direct: final test acc and loss paired by seed, and both arms' test acc curves."""
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
    return fig, "curriculum vs direct, paired by seed"


def curriculum_llc_figure(p: dict):
    """curriculum-llc: final LLC of both arms, paired by seed (``p``: rules_slt.curriculum_data)."""
    fig, ax = _fig()
    for r in range(len(p["seed"])):
        ax.plot([0, 1], [p["llc_cur"][r], p["llc_dir"][r]], "o-", color="grey")
    ax.set_xticks([0, 1], ["curriculum", "direct"]), ax.set_ylabel("final LLC")
    return fig, "final LLC, paired by seed"


def spike_figure(d: dict, data: dict):
    """llc-spike-collapse: the direct arm's LLC and test acc per seed, its test-acc jump dotted."""
    fig, ax = _fig(2, 4.5)
    for r in range(len(d["seeds"])):
        ax[0].plot(d["steps"], d["llc"][1, r], color=f"C{r}")
        ax[1].plot(d["steps"], d["test_acc"][1, r], color=f"C{r}")
        if np.isfinite(data["before"][r]):
            ax[0].axvline(data["jump"][r], color=f"C{r}", ls=":")
    ax[0].set_ylabel("LLC (direct)"), ax[1].set_ylabel("test acc (direct)")
    for a in ax:
        a.set_xlabel("step")
    return fig, "direct training: LLC and test accuracy per seed", "dotted: test-acc jump (acc >= 0.5)"


def tracks_figure(d: dict):
    """llc-tracks-test: LLC against test loss across checkpoints, direct arm, one line per seed."""
    fig, ax = _fig()
    for r in range(d["llc"].shape[1]):
        ax.plot(d["llc"][1, r], d["test_loss"][1, r], "o-", ms=3, color=f"C{r}")
    ax.set_xlabel("LLC (train split)"), ax.set_ylabel("test loss"), ax.set_title("direct arm, one line per seed")
    return fig, "LLC vs test loss across checkpoints"


def stage_figure(data: dict):
    """mod64-stage3: each curriculum stage's final test accuracy on its own held-out pairs per seed,
    against the source's single run (stars) and the stage-3 band."""
    fig, ax = _fig()
    S = data["stage_acc"].shape[1]
    for r in range(len(data["seed"])):
        ax.plot(np.arange(1, S + 1), data["stage_acc"][r], "o-", color="grey", alpha=0.6, lw=1)
    ax.plot(np.arange(1, S + 1), R.SOURCE_STAGES["test_acc"], "r*", ms=12, label="source (one run)")
    ax.axhspan(*R.STAGE3_BAND, xmin=0.45, xmax=0.72, color="r", alpha=0.1, label="stage-3 band")
    ax.set_xticks(range(1, S + 1), [f"stage {s + 1}\n{int(data['stage_pairs'][:, s].mean())} pairs" for s in range(S)])
    ax.set_ylabel("test acc (the stage's own held-out pairs)"), ax.legend(fontsize=7)
    return fig, "curriculum stages: test accuracy on each stage's own held-out pairs", "grey: one line per seed"


def finetune_figure(data: dict):
    """finetune-accelerates: steps to grok mod 53 per arm, censored runs drawn above the budget."""
    n, B = len(data["seed"]), data["budget"]
    ft, sc = R.censored(data["ft"], B), R.censored(data["sc"], B)
    fig, ax = _fig()
    ax.scatter(np.zeros(n) + np.linspace(-.1, .1, n), ft, label="finetuned")
    ax.scatter(np.ones(n) + np.linspace(-.1, .1, n), sc, label="scratch")
    ax.axhline(B + 1, color="k", ls=":", label="censored (did not grok)")
    ax.set_xticks([0, 1], ["finetuned", "scratch"]), ax.set_ylabel("steps to grok mod 53"), ax.legend(fontsize=7)
    return fig, "steps to grok mod 53"
