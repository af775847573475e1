"""Decision rules and measurements of the SLT, curriculum and finetuning claims
(claims/test_slt.py, seed 004). Pure functions of Histories and per-seed arrays: no
pytest, no training, so each rule is unit-tested on synthetic measurements
(grokcore/tests/test_rules_slt.py) and re-run by the robustness gates.

Per-seed data sets are dicts whose numpy arrays all carry the seed on axis 0 (key
"seed"); ``drop_seed`` removes one seed from every array, ``seeded_gates`` builds the
gates for such a dict (budget gate n/a for the staged sets, with the reason).

  threshold_rule      mod64-threshold: Firth n* (profile CI) within [200, 800]
  curriculum_rule     curriculum-vs-direct: paired direct - curriculum final test acc
                      (test loss when every pair ties), after a convergence check (both
                      arms on a plateau)
  curriculum_llc_rule curriculum-llc: paired final LLC, curriculum - direct, after the same
                      convergence check
  spike_rule          llc-spike-collapse: peak/final LLC > 1 and peak before the jump
                      (``conjunction``: every part supported at alpha, refuted if one part is
                      refuted at alpha/m)
  tracks_rule         llc-tracks-test: Spearman rho(LLC, test loss) > 0, levels and differences
  finetune_rule       finetune-accelerates: steps to grok, finetuned < scratch (right-censored
                      at the budget: permutation log-rank + Cox HR, grokcore.decide.survival),
                      refutable only on chains whose previous stage grokked
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats as sps

from grokcore.base import detect
from grokcore.decide import gates, laws, survival, verdicts
from grokcore.decide.stats import Estimate
from grokcore.decide.verdicts import INCONCLUSIVE, Verdict

ALPHA = 0.05
CLAIM_N = (200.0, 800.0)  # mod64-threshold: "~400 pairs", read as 400 within a factor 2
CLAIM_N_CENTER = 400.0
PLATEAU_TOL = 0.01  # test-acc change over the last checkpoint interval that still counts as a plateau
STAGED_NO_BUDGET = ("a staged set read at T/2 is a different stage schedule (the curriculum's first two "
                    "stages only), not the same design at a smaller budget")
CONVERGENCE_IN_RULE = STAGED_NO_BUDGET + "; the rule checks instead that both arms are on a plateau"


# ------------------------------------------------------------------ per-seed data sets

def drop_seed(d: dict, r: int) -> dict:
    """``d`` without seed index r: every numpy array with the seed count on axis 0 loses row r."""
    n = len(d["seed"])
    return {k: (np.delete(v, r, axis=0) if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n else v)
            for k, v in d.items()}


def seeded_gates(budget=None, why_no_budget: str = STAGED_NO_BUDGET) -> gates.Perturbations:
    """Seed gate over d["seed"]; ``budget(d)`` -> [(label, d at T/2)] or None (n/a, with the reason)."""
    return gates.for_seeded_dict(drop_seed, lambda d: len(d["seed"]), budget=budget, why_no_budget=why_no_budget)


# ------------------------------------------------------------------ mod64-threshold

def generalized(h) -> float:
    """1.0 if the run grokked within its logged budget (grokcore.base.detect's rule), 0.0 if not,
    NaN if it diverged."""
    return float(detect.generalized([h])[0])


def nstar_from(n, y, alpha: float = ALPHA) -> Estimate:
    """n* (training pairs where P(generalized) = 1/2) from outcomes y (1/0, NaN dropped) at
    training-set sizes n: Firth logit of y vs log n with the profile penalized-likelihood CI
    (laws.firth_boundary). Outside the sampled range (every run failed / every run
    generalized) the value is the range bound it is known to exceed (a lower / upper bound,
    said in the note) and the CI is one-sided."""
    x, y = np.log(np.asarray(n, float)), np.asarray(y, float)
    keep = np.isfinite(y)
    b = laws.firth_boundary(x[keep], y[keep], alpha=alpha)
    e = b.x50
    lo, hi = math.exp(e.lo), math.exp(e.hi) if math.isfinite(e.hi) else math.inf
    if b.kind == "all_fail":
        value, note = lo, f"every run failed: n* > {lo:.0f} (value = that bound)"
    elif b.kind == "all_success":
        value, note = hi, f"every run generalized: n* < {hi:.0f} (value = that bound)"
    else:
        value, note = (math.exp(e.value) if math.isfinite(e.value) else math.nan), e.note
    return Estimate("n*", value, lo, hi, alpha, method=f"Firth logit vs log n, profile CI ({b.kind})", note=note)


def nstar(hists, alpha: float = ALPHA) -> Estimate:
    """nstar_from the runs' n_train and grokcore.base.detect outcomes (``generalized``)."""
    return nstar_from([h.config.n_train for h in hists], [generalized(h) for h in hists], alpha)


def threshold_verdict(e: Estimate, n_runs: int = 0, n_values: int = 0) -> Verdict:
    """Claim: n* ~ 400 pairs, read as 400 within a factor 2: supported if the CI of n* lies in
    [200, 800] (so it spans at most a factor 4), refuted if it is disjoint from it.
    ``claimed`` = 400 so that the budget gate can tell a refutation that moves toward 400 as the
    budget doubles ("refuted at this budget only"); ``grid`` = {None: log n*} for the grid gate."""
    v = verdicts.within(e, *CLAIM_N, max_span=4.0, log=True, what="n*")
    span = e.hi / e.lo if e.lo > 0 and math.isfinite(e.hi) else math.inf
    power = (f"{n_runs} runs over {n_values} n values: CI of n* spans a factor {span:.3g}; support needs the CI "
             "inside [200, 800]. n* depends on the step budget, so a refutation also has to hold at T/2")
    grid = {None: math.log(e.value)} if math.isfinite(e.value) and e.value > 0 else {}
    return replace(v, claimed=CLAIM_N_CENTER, grid=grid, power=power)


def threshold_rule(hists, alpha: float = ALPHA) -> Verdict:
    """mod64-threshold on a list of Histories (one per run): threshold_verdict(nstar(hists))."""
    return threshold_verdict(nstar(hists, alpha), len(hists), len({h.config.n_train for h in hists}))


def nstar_by_budget(hists, budgets, alpha: float = ALPHA) -> dict[int, Estimate]:
    """n* of the same runs read at each budget (histories truncated, grokcore.decide.gates.truncate)."""
    return {int(t): nstar([gates.truncate(h, int(t)) for h in hists], alpha) for t in budgets}


# ------------------------------------------------------------------ curriculum vs direct

def plateau(acc: np.ndarray, prev: np.ndarray, tol: float = PLATEAU_TOL) -> tuple[bool, str]:
    """An arm is on a plateau when the median over seeds of |test acc change| over the last
    checkpoint interval is <= tol (one late seed does not block it); (ok, description)."""
    moving = np.abs(np.asarray(acc, float) - np.asarray(prev, float))
    med = float(np.median(moving))
    return med <= tol, f"median |change| {med:.3g}, {int((moving <= tol).sum())}/{moving.size} seeds within {tol:g}"


def converged(d: dict, tol: float = PLATEAU_TOL) -> tuple[bool, str]:
    """Both arms of a curriculum set on a plateau (``plateau`` on acc_dir / acc_dir_prev and
    acc_cur / acc_cur_prev): (ok, why)."""
    ok_dir, txt_dir = plateau(d["acc_dir"], d["acc_dir_prev"], tol)
    ok_cur, txt_cur = plateau(d["acc_cur"], d["acc_cur_prev"], tol)
    conv = f"direct arm: {txt_dir}; curriculum arm: {txt_cur} over the last checkpoint interval"
    if ok_dir and ok_cur:
        return True, f"both arms on a plateau ({conv})"
    which = " and ".join(a for a, ok in (("direct", ok_dir), ("curriculum", ok_cur)) if not ok)
    return False, f"arms not converged: the {which} arm's test acc still moves ({conv})"


NOT_CONVERGED_POWER = ("a budget at which both arms plateau: a longer final curriculum stage, the same total steps "
                       "for the direct arm")


def curriculum_rule(d: dict, alpha: float = ALPHA, tol: float = PLATEAU_TOL) -> Verdict:
    """Claim: at an equal step budget the direct arm ends at a higher test accuracy than the
    curriculum ("100% vs 98.9%": final levels). d: per seed acc_cur, acc_dir, loss_cur,
    loss_dir (final checkpoint) and acc_cur_prev, acc_dir_prev (one checkpoint earlier).

    Convergence check first (``converged``): both arms on a plateau, else inconclusive "arms
    not converged" (an arm still climbing at the end compares a transient, and the
    difference changes with the budget). Then verdicts.paired(direct, curriculum, "greater")
    on final test accuracy (exact sign-flip tests both ways, t CI); when every pair ties in
    accuracy (both at 100%), on the final test loss (curriculum - direct > 0)."""
    ok, why = converged(d, tol)
    if np.all(d["acc_dir"] == d["acc_cur"]):
        v = verdicts.paired(d["loss_cur"], d["loss_dir"], "greater", alpha, what="test loss: curriculum - direct")
    else:
        v = verdicts.paired(d["acc_dir"], d["acc_cur"], "greater", alpha, what="test acc: direct - curriculum")
    return _if_converged(v, ok, why, "the final-level comparison", alpha)


def _if_converged(v: Verdict, ok: bool, why: str, what: str, alpha: float) -> Verdict:
    """The comparison's verdict if both arms converged, else inconclusive citing it."""
    if not ok:
        return Verdict(INCONCLUSIVE, v.effect, alpha, f"{why}; {what} needs both arms on a plateau "
                                                      f"(not decided: {v.reason})", "> 0", power=NOT_CONVERGED_POWER)
    return replace(v, reason=f"{v.reason}; {why}")


def curriculum_llc_rule(d: dict, alpha: float = ALPHA, tol: float = PLATEAU_TOL) -> Verdict:
    """Claim: the curriculum ends at a higher LLC than direct training (28.0 vs 24.7, "direct
    finds a simpler solution"). verdicts.paired on the final-checkpoint LLC (llc_cur,
    llc_dir), paired by seed, after the same convergence check as curriculum_rule: the LLC
    spikes during memorization and collapses at grokking, so an arm still climbing in test
    acc is mid-collapse and its final LLC is a transient."""
    ok, why = converged(d, tol)
    v = verdicts.paired(d["llc_cur"], d["llc_dir"], "greater", alpha, what="final LLC: curriculum - direct")
    return _if_converged(v, ok, why, "comparing final solutions", alpha)


# ------------------------------------------------------------------ LLC trajectories

def spike_measure(chains: np.ndarray, steps: np.ndarray, jumps: np.ndarray) -> dict:
    """Per seed, from the direct arm's SGLD chains (seed, checkpoint, chain): the peak
    checkpoint chosen on chain 0, its value and the final value read on chains 1.. (so the
    max of noisy estimates is not selection-biased); ratio = peak/final, rise = peak/start,
    before = sign(jump - peak step) (NaN for a run with no jump)."""
    pk = np.nanargmax(chains[:, :, 0], axis=1)
    val = chains[:, :, 1:].mean(-1)
    r = np.arange(len(pk))
    with np.errstate(invalid="ignore"):
        before = np.where(np.isfinite(jumps), np.sign(jumps - steps[pk]), np.nan)
    return dict(ratio=val[r, pk] / val[:, -1], rise=val[r, pk] / np.maximum(val[:, 0], 1e-9),
                peak_step=steps[pk].astype(float), before=before)


conjunction = verdicts.conjunction  # moved to grokcore.decide.verdicts


def spike_rule(d: dict, alpha: float = ALPHA) -> Verdict:
    """Claim: direct training's LLC peaks and then collapses, the peak before grokking.
    conjunction of (i) one_sample(peak/final, 1, greater); (ii) one_sample(sign(jump - peak),
    0, greater) over the seeds that grokked: on +-1 values the sign-flip test is the exact
    sign test, its effect the mean sign = P(before) - P(after)."""
    before = d["before"][np.isfinite(d["before"])]

    def order(a):
        if before.size < 2:
            return Verdict(INCONCLUSIVE, None, a, f"{before.size} seeds grokked", "> 0")
        return verdicts.one_sample(before, 0.0, "greater", a, what="mean sign(jump - peak)")

    return conjunction({"peak/final > 1": lambda a: verdicts.one_sample(d["ratio"], 1.0, "greater", a,
                                                                         what="LLC peak/final"),
                        "peak before jump": order}, alpha, headline="peak/final > 1")


def spearman_rows(x: np.ndarray, y: np.ndarray, diff: bool = False) -> np.ndarray:
    """Per row (seed), Spearman rho across columns (checkpoints); of first differences if diff.
    A constant row has no rho: NaN (the one-sample rules drop it and say so)."""
    if diff:
        x, y = np.diff(x, axis=1), np.diff(y, axis=1)
    return np.array([sps.spearmanr(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan
                     for a, b in zip(x, y)])


def tracks_rule(d: dict, alpha: float = ALPHA) -> Verdict:
    """Claim: the training-set LLC tracks test performance across checkpoints. conjunction
    of one_sample(rho(LLC, test loss), 0, greater) on levels and on first differences (a
    control for shared drift in time), per-seed rhos, exact sign-flip tests + t CIs."""
    return conjunction({
        "levels": lambda a: verdicts.one_sample(d["rho"], 0.0, "greater", a, what="rho(LLC, test loss)"),
        "first differences": lambda a: verdicts.one_sample(d["rho_diff"], 0.0, "greater", a,
                                                           what="rho of first differences")},
        alpha, headline="levels")


# ------------------------------------------------------------------ finetuning

def grok_steps(hists, budget: int | None = None) -> np.ndarray:
    """Steps to grok (grokcore.base.detect.grok_step) per history, read at ``budget`` steps if
    given (gates.truncate); +inf = not within the budget, NaN = diverged."""
    t = detect.run_steps(hists, budget=budget)
    ok = np.array([h.status == "ok" for h in hists])
    return np.where(ok & np.isnan(t), math.inf, t)


def censored(v: np.ndarray, budget: float) -> np.ndarray:
    """For plots only: runs that did not grok within the budget (inf) drawn at budget + 1."""
    return np.where(np.isinf(v), budget + 1.0, v)


def finetune_rule(d: dict, alpha: float = ALPHA, with_power: bool = True) -> Verdict:
    """Claim: finetuning through smaller moduli groks the target sooner than training from
    scratch, "when a previous model grokked" (the source's condition). d: per seed ft, sc
    (steps to grok, inf = not within d["budget"]: right-censored there; NaN = diverged,
    excluded and counted) and prev (the chain's previous stage grokked).
    survival.two_groups_verdict(ft, sc, "less"): exact one-sided permutation log-rank tests
    both ways, Cox log hazard ratio (> 0: finetuned groks sooner) and KM medians, on the chains
    whose previous stage grokked vs every scratch run when there are >= 2 such chains (where the
    claim is meant to hold: it can be supported or refuted there). Otherwise on all chains,
    where it can be supported (faster even without the condition) but a refutation is not
    measured where the claim holds: inconclusive."""
    b = float(d["budget"])
    prev = np.asarray(d["prev"], bool)
    cond = prev.sum() >= 2
    ft = np.asarray(d["ft"], float)[prev] if cond else np.asarray(d["ft"], float)
    sc = np.asarray(d["sc"], float)
    v = survival.two_groups_verdict(ft, sc, b, "less", alpha, ok_a=~np.isnan(ft), ok_b=~np.isnan(sc),
                                     what="Cox log HR, finetuned vs scratch")
    where = (f"chains whose previous stage grokked ({int(prev.sum())}/{prev.size}) vs all scratch runs" if cond else
             f"all chains (previous stage grokked in {int(prev.sum())}/{prev.size} chains)")
    v = replace(v, reason=f"{v.reason}; {where}")
    if not cond and v.verdict == verdicts.REFUTED:
        v = replace(v, verdict=INCONCLUSIVE, reason=(
            f"finetuned chains grok later than scratch ({v.reason}), but the source's condition 'when a previous "
            "model grokked' is not met, so this is not where the claim is meant to hold: not a refutation"))
    return replace(v, power=finetune_power_text(d, alpha)) if with_power else v


def finetune_power_text(d: dict, alpha: float = ALPHA, speedup: float = 2.0, target: float = 0.8) -> str:
    """What finetune_rule can detect with this many seeds: power (survival.logrank_power, 400
    seeded draws) for a ``speedup``-fold speed-up under a log-normal model fitted to the
    scratch arm's observed steps (sd(log) 0.4 with < 3 of them), and the seeds per arm that
    would give ``target`` power (leave-one-out included)."""
    b, k = float(d["budget"]), len(d["seed"])
    g = np.asarray(d["sc"], float)
    g = g[np.isfinite(g)]
    median = float(np.median(g)) if g.size else b / 2
    sd = float(np.std(np.log(g), ddof=1)) if g.size >= 3 else 0.4
    sd = max(sd, 0.1)
    p_k = survival.logrank_power(k, speedup, median, sd, b, alpha)
    need = next((m for m in range(k + 1, 13) if survival.logrank_power(m, speedup, median, sd, b, alpha,
                                                                        draws=200) >= target), None)
    min_p = 1 / math.comb(2 * (k - 1), k - 1)
    return (f"{k} seeds per arm: power {p_k:.2f} to detect a {speedup:g}x speed-up (log-normal model: scratch median "
            f"{median:.0f} steps, sd(log) {sd:.2f}, censored at {b:.0f}; exact permutation log-rank, supported on all "
            f"seeds and every leave-one-out subset); {target:.0%} power needs "
            + (f"{need} seeds per arm" if need else "> 12 seeds per arm")
            + f". Leave-one-out leaves {k - 1} vs {k - 1}: smallest one-sided permutation p = {min_p:.3g}")
