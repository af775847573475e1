"""SLT, curriculum and finetuning claims (CLAIMS.md, seed 004).

Model and optimizer of every claim: seed 004's devinterp example, embed_mlp
(embedding 12 per operand, concatenated -> Linear 24->48 -> GELU -> Linear 48->M),
Adam lr 5e-3 with coupled weight decay 2e-4; mod 64 with a 40% training split.

Tiers (GRIDS):
- fast: FULL-BATCH Adam steps. With the source's 128-pair minibatches, mod 64
  needs ~10^4-10^5 steps to grok (measured here: 1 of 4 seeds within 20k steps;
  the source's own transition is near checkpoint 70 of a 200k-batch run), far
  beyond a CPU minute; full-batch steps grok in ~2-4.5k steps. So the fast tier
  tests the claims in the same model/optimizer at a different noise level and
  a 4.8k-step budget (4 x 1.2k curriculum stages); step counts do not transfer
  to the source's batches. 5 seeds (the fewest for which a one-sided Wilcoxon
  can reach p < 0.05), threshold 6 n values x 1 seed x 3k steps, finetuning
  4 seeds per arm with a 50% split (at 40%, 0 of 5 seeds per arm grokked mod 53
  within 3k full-batch steps, so the fast tier could not decide anything).
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
set likewise.
"""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from grokcore import reference, staged, stats, sweep
from grokcore.config import ModelSpec, OptimSpec, RunConfig
from grokcore.detect import first_sustained
from grokcore.llc import SGLDConfig
from grokcore.plugin import TIERS, share_sweep
from grokcore.train import torch_threads

ALPHA = 0.05
M = 64
MODEL = ModelSpec(family="embed_mlp", width=48, embed=12, act="gelu")
OPTIM = OptimSpec(name="adam", lr=5e-3, weight_decay=2e-4)

GRIDS = {
    "fast": dict(
        batch_size=0, eval_every=120, seeds=5,
        stage_steps=[1200, 1200, 1200, 1200], checkpoint_every=240,
        threshold=dict(n=[100, 200, 400, 900, 1500, 2400], seeds=1, steps=3000, eval_every=50),
        finetune=dict(seeds=4, ratio=0.5, stage_steps=[200, 200, 400, 800, 4000], eval_every=50),
        sgld=dict(chains=2, draws=150),
    ),
    "gpu": dict(
        batch_size=128, eval_every=1000, seeds=12,
        stage_steps=[50_000] * 4, checkpoint_every=2000,
        threshold=dict(n=[64, 100, 160, 250, 400, 630, 1000, 1600, 2500, 3600], seeds=12, steps=50_000,
                       eval_every=1000),
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

_CACHE: dict[tuple, dict] = {}


def _store_key(kind: str, base: RunConfig, **spec) -> str:
    """Content address of a staged run set: its base config's key (which carries the
    training-semantics version) plus every setting the set depends on."""
    blob = json.dumps({"kind": kind, "base": base.key, **spec}, sort_keys=True, default=str)
    return f"{kind}-" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def _cached(store, key: str, compute) -> dict:
    """Process cache, then the results store (shared by xdist workers and reruns), then compute."""
    if key in _CACHE:
        return _CACHE[key]
    out = store.get_artifact(key) if store is not None else None
    if out is None:
        out = compute()
        if store is not None:
            store.put_artifact(key, out, kind=key.split("-")[0])
    _CACHE[key] = out
    return out


def _curriculum_set(tier: str, seed: int, device: str, store=None) -> dict:
    """Curriculum and direct arms (paired by seed) with the LLC of every checkpoint."""
    g = GRIDS[tier]
    key = _store_key("curriculum", _base(g), seed=seed, seeds=g["seeds"], stage_steps=g["stage_steps"],
                     checkpoint_every=g["checkpoint_every"], sgld={**SGLD, **g["sgld"]}, llc_batch=128)
    return _cached(store, key, lambda: _train_curriculum_set(tier, seed, device))


def _train_curriculum_set(tier: str, seed: int, device: str) -> dict:
    g = GRIDS[tier]
    seeds = [seed + s for s in range(g["seeds"])]
    with _one_thread():
        cur, direct = staged.curriculum(_base(g), seeds, g["stage_steps"], device,
                                        checkpoint_every=g["checkpoint_every"])
        n = len(seeds)
        items = staged.staged_llc_items(cur, range(n)) + staged.staged_llc_items(direct, range(n))
        est = staged.checkpoint_llc([(c, p) for _, _, c, p in items],
                                    SGLDConfig(**SGLD, **g["sgld"], seed=seed), device, batch_size=128)
    K = len(cur.checkpoints)
    llc = est["llc/mean"].reshape(2, K, n).transpose(0, 2, 1)  # (arm, seed, checkpoint)
    chains = est["llc/chains"].reshape(2, K, n, -1).transpose(0, 2, 1, 3)  # (arm, seed, ckpt, C)
    ck_steps = np.array([c.step for c in cur.checkpoints])

    def at_ckpts(st, r, key_):  # a logged metric at each checkpoint (eval_every divides the cadence)
        t = st.trajectory(r)
        return np.array([t[key_][np.flatnonzero((t["step"] == c.step) & (t["stage"] == c.stage))[0]]
                         for c in st.checkpoints])

    out = dict(
        seeds=seeds, cur=cur, direct=direct, steps=ck_steps, llc=llc, chains=chains,
        test_loss=np.array([[at_ckpts(st, r, "test/loss") for r in range(n)] for st in (cur, direct)]),
        test_acc=np.array([[at_ckpts(st, r, "test/acc") for r in range(n)] for st in (cur, direct)]),
        final_acc=np.array([[st.histories[-1][r].summary["final/test_acc"] for r in range(n)] for st in (cur, direct)]),
        final_loss=np.array([[st.histories[-1][r].summary["final/test_loss"] for r in range(n)] for st in (cur, direct)]),
        configs=[c.key for st in (cur, direct) for stage in st.configs for c in stage],
    )
    return out


def _finetune_set(tier: str, seed: int, device: str, store=None) -> dict:
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    key = _store_key("finetune", _base(g, eval_every=f["eval_every"], ratio=f["ratio"]), seed=seed,
                     seeds=f["seeds"], stage_steps=f["stage_steps"], moduli=list(staged.FINETUNE_MODULI))
    return _cached(store, key, lambda: _train_finetune_set(tier, seed, device))


def _train_finetune_set(tier: str, seed: int, device: str) -> dict:
    g, f = GRIDS[tier], GRIDS[tier]["finetune"]
    seeds = [seed + s for s in range(f["seeds"])]
    with _one_thread():
        st = staged.finetune(_base(g, eval_every=f["eval_every"], ratio=f["ratio"]), seeds, f["stage_steps"], device)
    n = len(seeds)
    last = st.histories[-1]
    out = dict(seeds=seeds, st=st, budget=f["stage_steps"][-1],
               ft=np.array([staged.steps_to_grok(h) for h in last[:n]]),
               scratch=np.array([staged.steps_to_grok(h) for h in last[n:]]),
               stage_acc=np.array([[h[r].summary["final/test_acc"] for r in range(n)] for h in st.histories]),
               configs=[c.key for stage in st.configs for c in stage])
    return out


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


THRESHOLD_FAST_REFUTED = (
    "measured at the fast tier (full-batch Adam, 3000 steps, 1 seed per n): n* = 1897 pairs, separation "
    "bracket [1500, 2400], outside [200, 800]; an earlier 4000-step, 2-seed grid gave n* = 1304 [1000, 1700]. "
    "n* falls as the budget grows, so this refutes ~400 only at this budget; the gpu tier measures it at "
    "the source's 50k-batch budget")


@share_sweep("slt-threshold")
@pytest.mark.parametrize("tier", [
    pytest.param("fast", marks=[pytest.mark.fast, pytest.mark.xfail(strict=True, reason=THRESHOLD_FAST_REFUTED)],
                 id="fast"),
    TIERS[1]])
def test_mod64_threshold(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: the 50% point n* (training pairs, logistic fit of 'generalized' =
    test acc >= 0.95 for 10 evals, engine rule, vs log n) from scratch on the full
    mod-64 task, with a parametric-bootstrap CI at alpha = 0.05; supported if the CI
    overlaps [200, 800] (400 within a factor 2) and spans at most a factor 4,
    refuted if it misses [200, 800]. Recorded, not asserted: n*/(M ln M) vs Li²'s c.
    Not checked: the source's curriculum-stage accuracies (not data-size points);
    n* depends on the step budget, which differs from the source's."""
    g, t = GRIDS[tier], GRIDS[tier]["threshold"]
    base = _base(g, steps=t["steps"]).replace(eval_every=t["eval_every"], ratio=None, n_train=t["n"][0])
    cfgs = sweep.grid(base, n_train=t["n"], seed=[claims_seed + s for s in range(t["seeds"])])
    cfgs = [c.replace(split_seed=c.seed) for c in cfgs]
    with _one_thread():  # one chunk per n (configs sort by n): no padding to the largest split
        hists = sweep.run(cfgs, store=claims_store, device=claims_device, experiment=f"mod64-threshold/{tier}",
                          max_batch=t["seeds"])
    n = np.array([h.config.n_train for h in hists], float)
    y = sweep.outcomes(hists)
    b = stats.logistic_boundary(np.log(n), y, alpha=ALPHA, seed=claims_seed)
    nstar = stats.Estimate("n*", math.exp(b.x50.value) if math.isfinite(b.x50.value) else math.nan,
                           math.exp(b.x50.lo), math.exp(b.x50.hi), ALPHA, method=b.x50.method,
                           note=f"{b.kind}; {b.x50.note}")
    c_li2, c_from = _li2_c()
    mlogm = M * math.log(M)
    c_eff = stats.Estimate("n*/(M ln M)", nstar.value / mlogm, nstar.lo / mlogm, nstar.hi / mlogm, ALPHA,
                           method="n* CI / (M ln M)",
                           note=f"Li² prediction c = {c_li2} ({c_from}) -> c M ln M = {c_li2 * mlogm:.0f} pairs; "
                                f"Li²'s c is for its one-hot x² net, so this is a consistency check only")
    rates = {int(v): stats.wilson_ci(int(np.nansum(y[n == v])), int((n == v).sum()), ALPHA) for v in np.unique(n)}
    claim.tested("logistic fit of generalized (engine rule) vs log n_train, from scratch, full mod-64 table; "
                 "n* = exp(x50) with parametric bootstrap CI; supported if CI overlaps [200, 800] and "
                 "hi/lo <= 4; also n*/(M ln M) vs Li²'s c", alpha=ALPHA)
    claim.scale(M=M, n_train=t["n"], seeds=t["seeds"], steps=t["steps"], batch=g["batch_size"] or "full",
                model="embed_mlp D=12 K=48 GELU", optim="Adam lr 5e-3 wd 2e-4")
    claim.stat("n*", nstar, claimed=400, headline=True, unit="pairs")
    claim.stat("n*/(M ln M)", c_eff, claimed=c_li2)
    claim.stat("Li² prediction c·M·ln M", c_li2 * mlogm, unit="pairs")
    for v, r in rates.items():
        claim.stat(f"P(generalized | n={v})", r)
    fig, ax = _fig()
    xs = np.array(sorted(rates))
    ax.errorbar(xs, [rates[v].value for v in xs], yerr=[[rates[v].value - rates[v].lo for v in xs],
                [rates[v].hi - rates[v].value for v in xs]], fmt="o", capsize=3, label="P(generalized), Wilson CI")
    ax.axvline(400, color="k", ls="--", label="source ~400")
    ax.axvline(c_li2 * mlogm, color="g", ls=":", label="Li² c·M ln M")
    if math.isfinite(nstar.value):
        ax.axvline(nstar.value, color="r", label="n* (fit)")
    ax.axvspan(nstar.lo if math.isfinite(nstar.lo) else xs.min(), nstar.hi if math.isfinite(nstar.hi) else xs.max(),
               color="r", alpha=0.1)
    ax.set_xscale("log"), ax.set_xlabel("training pairs n"), ax.set_ylabel("P(generalized)"), ax.legend(fontsize=7)
    claim.figure(fig, "mod 64: generalization vs training pairs", f"{t['seeds']} seeds per n, {t['steps']} steps")
    claim.configs(c.key for c in cfgs)
    claim.note(f"n* depends on the step budget ({t['steps']} steps here); the source's 417-pair point was a "
               "curriculum stage with inputs < 32 (no wrap-around), not a from-scratch data-size point")
    msg = f"n* = {nstar.value:.0f} [{nstar.lo:.0f}, {nstar.hi:.0f}] pairs ({b.kind}), claimed ~400"
    assert nstar.hi >= 200 and nstar.lo <= 800, msg
    if not (nstar.hi / nstar.lo <= 4):
        claim.conclude("inconclusive", f"{msg}: consistent with ~400 but the CI spans more than a factor 4; "
                                       "more seeds per n would narrow it")


# ---------------------------------------------------------------- curriculum claims

@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_curriculum_vs_direct(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: direct minus curriculum final test accuracy, paired by seed (same
    init and split, equal optimizer-step budget), one-sided Wilcoxon signed-rank
    (direct > curriculum) at alpha = 0.05 with a one-sided bootstrap CI; with both
    arms at ~100% the paired test-loss difference decides instead. Refuted if the
    curriculum is significantly better (opposite one-sided test). Not checked: the
    source's 98.9% / 100% levels themselves (single runs)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    cur_acc, dir_acc = d["final_acc"]
    cur_loss, dir_loss = d["final_loss"]
    acc = stats.paired_difference(dir_acc, cur_acc, alpha=ALPHA, alternative="greater", seed=claims_seed)
    acc_opp = stats.paired_difference(dir_acc, cur_acc, alpha=ALPHA, alternative="less", seed=claims_seed)
    loss = stats.paired_difference(cur_loss, dir_loss, alpha=ALPHA, alternative="greater", seed=claims_seed)
    loss_opp = stats.paired_difference(cur_loss, dir_loss, alpha=ALPHA, alternative="less", seed=claims_seed)
    claim.tested("paired by seed: final test acc (direct - curriculum), one-sided Wilcoxon + bootstrap CI; "
                 "tie-break on final test loss (curriculum - direct) when accuracies tie", alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("test acc: direct - curriculum", acc.diff, claimed=1.0 - 0.989, headline=True)
    claim.stat("test loss: curriculum - direct", loss.diff)
    claim.stat("final test acc, direct (mean)", float(dir_acc.mean()), claimed=1.0)
    claim.stat("final test acc, curriculum (mean)", float(cur_acc.mean()), claimed=0.989)
    fig, ax = _fig(2, 4)
    for k, (v, lab) in enumerate(((d["final_acc"], "final test acc"), (d["final_loss"], "final test loss"))):
        for r in range(v.shape[1]):
            ax[k].plot([0, 1], v[:, r], "o-", color="grey", alpha=0.6)
        ax[k].set_xticks([0, 1], ["curriculum", "direct"]), ax[k].set_title(lab)
    claim.figure(fig, "curriculum vs direct, paired by seed")
    claim.configs(d["configs"])
    msg = (f"direct - curriculum test acc = {acc.diff.value:+.4f} [{acc.diff.lo:+.4f}, inf), p = {acc.p_wilcoxon:.3f}; "
           f"curriculum - direct test loss = {loss.diff.value:+.4f}, p = {loss.p_wilcoxon:.3f} (n = {acc.n})")
    assert acc_opp.p_wilcoxon >= ALPHA and (np.any(dir_acc != cur_acc) or loss_opp.p_wilcoxon >= ALPHA), \
        f"curriculum significantly better: {msg}"
    if acc.p_wilcoxon < ALPHA or (np.all(dir_acc == cur_acc) and loss.p_wilcoxon < ALPHA):
        claim.conclude("supported", msg)
    else:
        claim.conclude("inconclusive", f"{msg}: no significant difference at alpha = {ALPHA}")


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_curriculum_llc(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: final-checkpoint LLC (training split, same SGLD settings and seed for
    both arms) curriculum minus direct, paired by seed, one-sided Wilcoxon
    (curriculum > direct) at alpha = 0.05, next to the SGLD between-chain spread.
    Refuted if significantly reversed. Not checked: the absolute values 28.0 / 24.7
    (they depend on nβ, ε, draws and the model's scale)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    cur, dr = d["llc"][0, :, -1], d["llc"][1, :, -1]
    res = stats.paired_difference(cur, dr, alpha=ALPHA, alternative="greater", seed=claims_seed)
    opp = stats.paired_difference(cur, dr, alpha=ALPHA, alternative="less", seed=claims_seed)
    chain_sd = float(np.nanmean(d["chains"][:, :, -1].std(-1, ddof=1)))
    claim.tested("paired by seed: final LLC (curriculum - direct), one-sided Wilcoxon + bootstrap CI", alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("LLC: curriculum - direct", res.diff, claimed=28.0 - 24.7, headline=True)
    claim.stat("final LLC curriculum (mean)", float(np.nanmean(cur)), claimed=28.0)
    claim.stat("final LLC direct (mean)", float(np.nanmean(dr)), claimed=24.7)
    claim.stat("SGLD between-chain sd (final ckpt, mean)", chain_sd)
    fig, ax = _fig()
    for r in range(len(cur)):
        ax.plot([0, 1], [cur[r], dr[r]], "o-", color="grey")
    ax.set_xticks([0, 1], ["curriculum", "direct"]), ax.set_ylabel("final LLC")
    claim.figure(fig, "final LLC, paired by seed")
    claim.configs(d["configs"])
    msg = (f"curriculum - direct LLC = {res.diff.value:+.2f} [{res.diff.lo:+.2f}, inf), p = {res.p_wilcoxon:.3f}, "
           f"n = {res.n}; chain sd {chain_sd:.2f}; claimed +3.3")
    assert opp.p_wilcoxon >= ALPHA, f"direct LLC significantly higher: {msg}"
    assert res.p_wilcoxon < ALPHA, msg


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_llc_spike_collapse(tier, claim, claims_store, claims_device, claims_seed):
    """Checked, on the direct arm per seed: (i) peak/final LLC ratio, the peak
    checkpoint chosen on SGLD chain 0 and its value read from the other chains
    (so the max of noisy estimates is not selection-biased), mean over seeds with a bootstrap
    CI at alpha = 0.05, supported if lo > 1; (ii) the peak precedes the test-accuracy
    jump (first eval with test acc >= 0.5), one-sided sign test over grokking
    seeds at alpha = 0.05. Also recorded: peak/start ratio. Not checked: the
    absolute LLC values (43 -> 57 -> 25)."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)
    ch = d["chains"][1]  # direct arm: (seed, ckpt, C)
    steps = d["steps"]
    pk = np.nanargmax(ch[:, :, 0], axis=1)  # (seed,) peak chosen on chain 0 ...
    val = ch[:, :, 1:].mean(-1)  # (seed, ckpt) ... and measured on the other chains
    ratio = np.array([val[r, pk[r]] / val[r, -1] for r in range(len(pk))])
    rise = np.array([val[r, pk[r]] / max(val[r, 0], 1e-9) for r in range(len(pk))])
    jumps = []
    for r in range(len(pk)):
        t = d["direct"].trajectory(r)
        jumps.append(float(first_sustained(t["step"], t["test/acc"], 0.5, 1)))
    jumps = np.array(jumps)
    grok = np.isfinite(jumps)
    before = (steps[pk][grok] < jumps[grok])
    sign = sps.binomtest(int(before.sum()), int(grok.sum()), 0.5, "greater").pvalue if grok.any() else 1.0
    est = stats.bootstrap_ci(ratio, alpha=ALPHA, seed=claims_seed)
    claim.tested("direct arm: peak/final LLC (peak on chain 0, value on chains 1..C-1), bootstrap CI over seeds, "
                 "supported if lo > 1; peak step < test-acc jump (acc >= 0.5), sign test over grokking seeds",
                 alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("LLC peak/final (direct)", est, claimed=56.62 / 24.68, headline=True)
    claim.stat("LLC peak/start (direct, mean)", float(np.mean(rise)), claimed=56.62 / 43.18)
    claim.stat("peak before jump", {"value": int(before.sum()), "n": int(grok.sum()), "p": float(sign),
                                    "alpha": ALPHA}, claimed="all")
    fig, ax = _fig(2, 4.5)
    for r in range(len(pk)):
        ax[0].plot(steps, d["llc"][1, r], color=f"C{r}")
        ax[1].plot(steps, d["test_acc"][1, r], color=f"C{r}")
        if grok[r]:
            ax[0].axvline(jumps[r], color=f"C{r}", ls=":")
    ax[0].set_ylabel("LLC (direct)"), ax[1].set_ylabel("test acc (direct)")
    for a in ax:
        a.set_xlabel("step")
    claim.figure(fig, "direct training: LLC and test accuracy per seed", "dotted: test-acc jump (acc >= 0.5)")
    claim.configs(d["configs"])
    msg = (f"peak/final = {est.value:.2f} [{est.lo:.2f}, {est.hi:.2f}] (claimed 2.29); peak before jump in "
           f"{int(before.sum())}/{int(grok.sum())} grokking seeds (sign p = {sign:.3f})")
    assert est.lo > 1 and grok.any() and sign < ALPHA, msg


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS)
def test_llc_tracks_test(tier, claim, claims_store, claims_device, claims_seed):
    """Checked, on the direct arm: per seed, Spearman rho across checkpoints
    between LLC and test loss; mean rho over seeds with a bootstrap CI at
    alpha = 0.05, supported if lo > 0. Control for shared drift in time: the same
    rho on first differences (recorded; also required to be > 0 at its CI lower
    bound). Also recorded: the curriculum arm's rho. Not checked: causality or
    prediction ahead of time."""
    d = _curriculum_set(tier, claims_seed, claims_device, claims_store)

    def rhos(arm, diff=False):
        out = []
        for r in range(d["llc"].shape[1]):
            x, y = d["llc"][arm, r], d["test_loss"][arm, r]
            if diff:
                x, y = np.diff(x), np.diff(y)
            out.append(sps.spearmanr(x, y).statistic)
        return np.array(out)

    lev, dif, cur = rhos(1), rhos(1, diff=True), rhos(0)
    e_lev = stats.bootstrap_ci(lev, alpha=ALPHA, seed=claims_seed)
    e_dif = stats.bootstrap_ci(dif, alpha=ALPHA, seed=claims_seed)
    e_cur = stats.bootstrap_ci(cur, alpha=ALPHA, seed=claims_seed)
    claim.tested("direct arm: Spearman rho(LLC, test loss) across checkpoints per seed, mean with bootstrap CI; "
                 "supported if lo > 0 for levels and for first differences", alpha=ALPHA)
    claim.scale(**_grid_scale(GRIDS[tier]))
    claim.stat("rho(LLC, test loss), direct", e_lev, claimed="> 0", headline=True)
    claim.stat("rho of first differences, direct", e_dif, claimed="> 0")
    claim.stat("rho(LLC, test loss), curriculum", e_cur)
    fig, ax = _fig()
    for r in range(d["llc"].shape[1]):
        ax.plot(d["llc"][1, r], d["test_loss"][1, r], "o-", ms=3, color=f"C{r}")
    ax.set_xlabel("LLC (train split)"), ax.set_ylabel("test loss"), ax.set_title("direct arm, one line per seed")
    claim.figure(fig, "LLC vs test loss across checkpoints")
    claim.configs(d["configs"])
    msg = (f"rho = {e_lev.value:.2f} [{e_lev.lo:.2f}, {e_lev.hi:.2f}], differences {e_dif.value:.2f} "
           f"[{e_dif.lo:.2f}, {e_dif.hi:.2f}]")
    assert e_lev.lo > 0 and e_dif.lo > 0, msg


# ---------------------------------------------------------------- finetuning

@share_sweep("slt-finetune")
@pytest.mark.parametrize("tier", TIERS)
def test_finetune_accelerates(tier, claim, claims_store, claims_device, claims_seed):
    """Checked: steps to grok mod 53 (engine rule) after finetuning through
    7 -> 11 -> 23 -> 49 vs from scratch (same seeds, splits and final-stage budget;
    non-grokking runs censored at the budget, i.e. tied last), one-sided
    Mann-Whitney (finetuned sooner) at alpha = 0.05, plus the grok-rate difference
    (Fisher). Supported if p < alpha; refuted if significantly slower; else
    inconclusive (the claim itself says 'inconsistently'). Not checked: which
    earlier stage grokked, weight-decay dependence."""
    d = _finetune_set(tier, claims_seed, claims_device, claims_store)
    cens = d["budget"] + 1.0
    ft, sc = np.where(np.isfinite(d["ft"]), d["ft"], cens), np.where(np.isfinite(d["scratch"]), d["scratch"], cens)
    res = stats.two_sample(ft, sc, alpha=ALPHA, alternative="less", seed=claims_seed)
    opp = stats.two_sample(ft, sc, alpha=ALPHA, alternative="greater", seed=claims_seed)
    k_ft, k_sc, n = int(np.isfinite(d["ft"]).sum()), int(np.isfinite(d["scratch"]).sum()), len(ft)
    rate = stats.rate_difference(k_ft, n, k_sc, n, alpha=ALPHA)
    claim.tested("steps to grok mod 53, finetuned chain vs scratch, censored at the budget (tied last); "
                 "one-sided Mann-Whitney + bootstrap CI of the median difference; grok rates by Fisher", alpha=ALPHA)
    claim.scale(moduli=list(staged.FINETUNE_MODULI), seeds=len(d["seeds"]), stage_steps=GRIDS[tier]["finetune"]["stage_steps"],
                batch=GRIDS[tier]["batch_size"] or "full", resize="keep W1,b1; copy old token rows/class columns; "
                "new ones from the stage's seeded init; fresh Adam per stage")
    claim.stat("median steps: finetuned - scratch", res.diff_median, claimed="< 0", headline=True, unit="steps")
    claim.stat("rank-biserial P(ft > sc) - P(ft < sc)", res.rank_biserial)
    claim.stat("MW p, finetuned slower (opposite one-sided)", opp.p_mannwhitney)
    claim.stat("grok rate: finetuned - scratch", rate)
    for s, M_ in enumerate(staged.FINETUNE_MODULI):
        claim.stat(f"final test acc at mod {M_} (chain mean)", float(d["stage_acc"][s].mean()))
    fig, ax = _fig()
    ax.scatter(np.zeros(n) + np.linspace(-.1, .1, n), ft, label="finetuned")
    ax.scatter(np.ones(n) + np.linspace(-.1, .1, n), sc, label="scratch")
    ax.axhline(cens, color="k", ls=":", label="censored (did not grok)")
    ax.set_xticks([0, 1], ["finetuned", "scratch"]), ax.set_ylabel("steps to grok mod 53"), ax.legend(fontsize=7)
    claim.figure(fig, "steps to grok mod 53")
    claim.configs(d["configs"])
    msg = (f"median(ft) - median(scratch) = {res.diff_median.value:+.0f} steps "
           f"(-inf, {res.diff_median.hi:+.0f}], MW p = {res.p_mannwhitney:.3f} (slower: p = {opp.p_mannwhitney:.3f}); "
           f"grokked {k_ft}/{n} vs {k_sc}/{n}")
    assert opp.p_mannwhitney >= ALPHA, f"finetuning significantly slower: {msg}"
    if res.p_mannwhitney < ALPHA:
        claim.conclude("supported", msg)
    else:
        claim.conclude("inconclusive", f"{msg}: not significant at alpha = {ALPHA} with {n} seeds per arm")
