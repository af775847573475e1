"""Seed 001 (empirical grokking reproduction): the measurements read from the sweep's histories
(claims/designs/empirical.py) and the decision rule of each claim (claims/test_empirical.py;
re-derived under other grokking-detection rules by claims/test_boundaries.py::test_detection_robust).

Rules map measurements to a grokcore.decide.verdicts.Verdict and are called again by the
robustness gates (grokcore.decide.gates) on perturbed data: histories read at half the budget,
each seed left out. Two layers:

* array rules (unit-tested on synthetic data, grokcore/tests/test_rules_empirical.py):
  ``delay_verdict`` (with ``delay_shape``), ``wd_order_verdict`` (with ``wd_pair_verdict``),
  ``censored_trend``, ``change_verdict``;
* claim rules (what ``claim.decide`` calls, each docstring the claim's decision rule):
  ``grok_delayed_rule``, ``grok_wd_speeds_rule``, ``grok_lazy_rich_rule``, ``order_params_rule``
  -- measurements (grokcore.base.detect) + the array rule; ``*_stats`` are what the cards record
  beside the verdict (reported, not decided).

Censoring: every run of one sweep shares one step budget T. A run that never reaches the
grokking rule has t_grok > T, a right-censored time. Trends in t_grok are decided by
censored-data statistics (grokcore.decide.survival, lifelines: permutation log-rank trend test,
Cox log hazard ratio, Kaplan-Meier medians); diverged runs are excluded and counted. grok-delayed's per-seed
shape indicators are undetermined when the budget censors them, and an undetermined seed is
counted against whichever direction is being decided (delay_verdict).
"""
from __future__ import annotations

import dataclasses
import math
from functools import partial

import numpy as np
from scipy import stats as sps

from grokcore.decide import stats, survival, verdicts
from grokcore.decide.stats import Estimate
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict
from grokcore.decide.measures_empirical import (  # noqa: F401 (the rules' measurements, re-exported)
    GROK_RULE,
    MEM_RULE,
    NEAR_CHANCE,
    _balanced,
    alpha_column,
    budget_of,
    cell01,
    first_step,
    lambda_row,
    near_chance_level,
    t_grok,
    t_lo,
    t_mem,
)

ALPHA = 0.05
# grok-delayed's shape (delay_verdict): "near chance" = test accuracy below chance + NEAR_CHANCE x
# (1 - chance), the 10 % level of the rise from chance to 1 (the 10 %-to-95 % rise time of the
# seed's 0.95 threshold); the plateau [t_mem, t_lo) must last >= PLATEAU_FACTOR x t_mem (near chance
# until >= 2 t_mem: the old rule's pre-stated factor 2, now on leaving chance rather than on reaching
# 0.95); the rise t_grok - t_lo must be shorter than RISE_FACTOR x the plateau.
PLATEAU_FACTOR = 1.0
RISE_FACTOR = 1.0
ORDER_NAMES = {"order/rqi": "RQI", "order/eff_rank": "effective rank", "order/pr": "participation ratio",
               "order/kernel_align": "kernel alignment", "order/fourier_snr": "Fourier SNR"}


# ------------------------------------------------------------------ the sweep's cells


# ------------------------------------------------------------------ measurements


# ------------------------------------------------------------------ array rules

def _majority(yes, unknown, n: int, alpha: float, what: str) -> Verdict:
    """Is the fraction of seeds with a property > 1/2 (the median seed has it)? ``yes`` seeds have
    it, ``unknown`` ones are censored by the budget (could go either way). Exact one-sided binomial
    tests (verdicts.rate): supported if yes / n > 1/2 with every unknown counted as no; refuted if
    (yes + unknown) / n < 1/2 with every unknown counted as yes (each test conservative, so each
    error rate <= alpha). The interval: the lower Clopper-Pearson bound of yes / n and the upper one
    of (yes + unknown) / n, each at 1 - alpha (a 1 - 2 alpha interval, labelled so)."""
    k_lo, k_hi = int(yes), int(yes) + int(unknown)
    lo_v = verdicts.rate(k_lo, n, 0.5, "greater", alpha, what=what)
    hi_v = verdicts.rate(k_hi, n, 0.5, "less", alpha, what=what)  # supported here = the fraction is < 1/2
    cnt = f"{k_lo}/{n}" + (f" (+{int(unknown)} censored by the budget)" if unknown else "")
    e = Estimate(what, k_lo / n, lo_v.effect.lo, hi_v.effect.hi, lo_v.effect.alpha, lo_v.effect.p,
                 lo_v.effect.method + ("; censored seeds counted against the claim for support, for it for "
                                       "refutation" if unknown else ""), cnt)
    if lo_v.verdict == SUPPORTED:
        return Verdict(SUPPORTED, e, alpha, f"{what} = {cnt}: > 1/2, one-sided exact binomial p = {lo_v.effect.p:.3g}"
                                            f" < alpha = {alpha:g}", "> 0.5")
    if hi_v.verdict == SUPPORTED:
        e = dataclasses.replace(e, p=hi_v.effect.p, method=e.method + "; p: the refuting direction's")
        return Verdict(REFUTED, e, alpha, f"{what} = {cnt}: < 1/2, one-sided exact binomial p = {hi_v.effect.p:.3g} < "
                                          f"alpha = {alpha:g}", "> 0.5")
    return Verdict(INCONCLUSIVE, e, alpha, f"{what} = {cnt}: neither > 1/2 nor < 1/2 at alpha = {alpha:g}", "> 0.5")


def delay_shape(tmem, tlo, tgrok, budget: float) -> tuple[np.ndarray, np.ndarray]:
    """Per seed (t_mem finite): does its curve show the two parts of grokking? 1 yes, 0 no, NaN
    censored by the budget (undetermined). t_lo: first step with test accuracy above near-chance
    (NaN: still near chance at the budget); t_grok: first step >= 0.95 (NaN: not within the budget).
      plateau  test accuracy still near chance at t_mem + PLATEAU_FACTOR x t_mem:
               t_lo - t_mem >= PLATEAU_FACTOR x t_mem (t_lo censored: yes when the budget is past
               that point, else undetermined);
      sudden   a plateau (t_lo > t_mem) and then a rise t_grok - t_lo < RISE_FACTOR x (t_lo - t_mem);
               t_grok censored: no when the budget already makes the rise that long, else
               undetermined; t_lo censored: undetermined (no rise within the budget)."""
    tm, tl, tg = (np.asarray(v, float) for v in (tmem, tlo, tgrok))
    T = float(budget)
    plateau = np.where(np.isfinite(tl), (tl - tm >= PLATEAU_FACTOR * tm).astype(float),
                       np.where(T - tm >= PLATEAU_FACTOR * tm, 1.0, np.nan))
    P = tl - tm
    with np.errstate(invalid="ignore"):
        both = ((P > 0) & (tg - tl < RISE_FACTOR * P)).astype(float)
        cens = np.where((P <= 0) | (T - tl >= RISE_FACTOR * P), 0.0, np.nan)
    sudden = np.where(np.isfinite(tl), np.where(np.isfinite(tg), both, cens), np.nan)
    return plateau, sudden


def delay_verdict(tmem, tlo, tgrok, budget: float, alpha: float = ALPHA) -> Verdict:
    """grok-delayed's shape test. Per seed that memorized (t_mem finite; the others dropped and
    counted) the two indicators of delay_shape; each part asks whether the median seed has it
    (_majority: exact one-sided binomial tests, censored seeds counted against whichever direction
    is being decided). verdicts.conjunction of the parts: supported iff both parts are supported at
    alpha (intersection-union: level alpha); refuted iff a part is refuted at alpha / 2 (a refutation
    may come from either part: Bonferroni); else inconclusive."""
    tm, tl, tg = (np.asarray(v, float) for v in (tmem, tlo, tgrok))
    ok = np.isfinite(tm)
    n, dropped = int(ok.sum()), int((~ok).sum())
    claimed = "> 0.5"
    drop = f"; {dropped} seeds never memorized (dropped)" if dropped else ""
    if n < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"only {n} seeds memorized (train acc >= 0.99){drop}", claimed)
    plateau, sudden = delay_shape(tm[ok], tl[ok], tg[ok], budget)

    def part(ind, what):
        yes, unk = int(np.nansum(ind)), int(np.isnan(ind).sum())
        return lambda a: _majority(yes, unk, n, a, what)
    parts = {"plateau": part(plateau, f"seeds near chance until >= {1 + PLATEAU_FACTOR:g} t_mem"),
             "sudden": part(sudden, "seeds whose rise (t_lo -> t_grok) is shorter than their plateau (t_mem -> t_lo)")}
    first = {k: f(alpha) for k, f in parts.items()}
    head = next((k for k, v in first.items() if v.verdict == REFUTED),
                next((k for k, v in first.items() if v.verdict == INCONCLUSIVE), "plateau"))
    v = verdicts.conjunction(parts, alpha, headline=head)
    need = next((k for k in range(n + 1) if sps.binom.sf(k - 1, n, 0.5) < alpha), None)
    refute = max((k for k in range(n + 1) if sps.binom.cdf(k, n, 0.5) < alpha / 2), default=None)
    power = (f"{n} seeds: support needs >= {need} of {n} per part (exact one-sided binomial at alpha = {alpha:g}), "
             f"refutation <= {refute} of {n} in a part (at alpha/2)" if need is not None else
             f"{n} seeds: no exact binomial test can reach alpha = {alpha:g}") + drop
    return dataclasses.replace(v, power=power, reason=v.reason + drop, claimed=claimed)


def censored_trend(x, tgrok, budget: float, side: str, alpha: float = ALPHA, what: str = "Cox log HR per unit x",
                   ok=None) -> Verdict:
    """Claim: t_grok increases (side="greater") or decreases ("less") with x.

    t_grok NaN = not within ``budget`` (right-censored there); ``ok`` False marks diverged runs
    (excluded, counted). survival.trend_verdict: one-sided permutation log-rank trend tests in
    each direction (exact-in-the-limit with ties, heavy censoring and separation, where the Cox
    MLE diverges), the Cox log hazard ratio per unit x as the effect (a rising t_grok is a
    falling hazard), Kaplan-Meier medians per level in the reason; inconclusive when every run
    is censored."""
    v = survival.trend_verdict(x, tgrok, budget, side, alpha, ok=ok, what=what)
    x, t = np.asarray(x, float), np.asarray(tgrok, float)
    levels = np.unique(x)
    counts = ", ".join(f"{lv:g}: {int(np.isfinite(t[x == lv]).sum())}/{int((x == lv).sum())}" for lv in levels)
    return dataclasses.replace(v, reason=v.reason + f" (grokked per level {counts})")


def change_verdict(after, before, alpha: float = ALPHA, what: str = "after - before") -> Verdict:
    """Claim: a quantity changes (either direction) between paired states (seeds).

    mean(after - before) with the two-sided exact sign-flip p and Student t interval at level
    1 - alpha (stats.one_sample): supported if p < alpha and the CI excludes 0 (the direction is
    reported); never refuted (the claim states no direction and no equivalence margin, so "no
    change" is not testable, only "not detected": inconclusive)."""
    d = np.asarray(after, float) - np.asarray(before, float)
    d = d[np.isfinite(d)]
    n = int(d.size)
    need = next(m for m in range(2, 64) if 0.5 ** (m - 1) < alpha)
    power = (f"{n} pairs: smallest two-sided exact sign-flip p = 2^(1-{n}) = {0.5 ** (n - 1):.3g} vs alpha = {alpha:g}; "
             f"needs >= {need} pairs, {need + 1} to survive leaving one seed out")
    if n < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: fewer than 2 complete pairs", "!= 0", power=power)
    if np.ptp(d) == 0 and d[0] == 0:
        return Verdict(INCONCLUSIVE, Estimate(what, 0.0, 0.0, 0.0, alpha, 1.0), alpha, f"{what}: every pair is tied",
                       "!= 0", power=power)
    e = dataclasses.replace(stats.one_sample(d, 0.0, alpha, "two-sided"), name=what)
    txt = f"{what} = {e.value:.4g} [{e.lo:.4g}, {e.hi:.4g}], two-sided p = {e.p:.3g}"
    if e.p < alpha and (e.lo > 0 or e.hi < 0):
        return Verdict(SUPPORTED, e, alpha, f"{'increases' if e.value > 0 else 'decreases'}: {txt} < alpha = {alpha:g}",
                       "!= 0", power=power)
    return Verdict(INCONCLUSIVE, e, alpha, f"{txt}: no change detected at alpha = {alpha:g}", "!= 0", power=power)


# ------------------------------------------------------------------ grok-delayed


def delay_data(hs, grok_rule=GROK_RULE) -> dict:
    """Per run t_mem, t_lo (leaves near chance), t_grok (NaN: not within the budget) and the common budget."""
    return {"t_mem": np.array([t_mem(h) for h in hs]), "t_lo": np.array([t_lo(h, grok_rule) for h in hs]),
            "t_grok": np.array([t_grok(h, grok_rule) for h in hs]), "budget": budget_of(hs)}


def grok_delayed_rule(hs, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """grok-delayed: in seed 001's (alpha = 0, lambda = 1) cell, does the typical seed memorize first
    and then, after a plateau at chance, generalize suddenly: test accuracy still near chance at
    twice the memorization time, then a rise to 0.95 shorter than that plateau?

    Per seed: t_mem = first eval with train acc >= 0.99; t_lo = first eval with test acc above
    near-chance, chance + 0.1 (1 - chance) (chance = 1/p: the 10 % level of the rise); t_grok =
    first eval with test acc >= 0.95 (seed 001's rule). Two parts, each "more than half the seeds"
    by an exact one-sided binomial test (seeds censored by the budget counted against the direction
    being decided): plateau, t_lo - t_mem >= t_mem (near chance until >= 2 t_mem); sudden, a plateau
    and a rise t_grok - t_lo shorter than it. verdicts.conjunction at alpha = 0.05: supported iff
    both parts are supported; refuted iff a part is refuted at alpha / 2 (most seeds leave chance
    before 2 t_mem, or rise more slowly than they plateaued: gradual generalization); else
    inconclusive. Why: the seed's sentence is 'first memorize, then - after a long delay - suddenly
    generalize'; t_grok / t_mem alone is large for any slow, gradual rise to 0.95. Narrower than
    the sentence: 'long' is only >= t_mem, 'suddenly' only shorter than the plateau. Cannot detect:
    a plateau at an accuracy above near-chance (a second plateau), or a delay shorter than t_mem."""
    d = delay_data(hs, grok_rule)
    return delay_verdict(d["t_mem"], d["t_lo"], d["t_grok"], d["budget"], alpha=alpha)


def delay_stats(hs) -> list[dict]:
    """Recorded beside grok-delayed's verdict: seeds that grokked; medians of t_mem, t_lo, t_grok; the
    median test accuracy at 2 t_mem against the near-chance level; the old ratio t_grok / t_mem."""
    d = delay_data(hs)
    n_grok = int(np.isfinite(d["t_grok"]).sum())
    med = lambda v: float(np.nanmedian(v)) if np.isfinite(v).any() else math.nan  # noqa: E731
    at2 = [float(np.interp(2 * tm, h.metrics["step"], h.metrics["test/acc"])) for h, tm in zip(hs, d["t_mem"])
           if np.isfinite(tm)]
    level = near_chance_level(hs[0].config.M) if hs else math.nan
    return [dict(name="grokked seeds", est=f"{n_grok}/{len(hs)}"),
            dict(name="median t_mem", est=med(d["t_mem"]), unit="steps"),
            dict(name="median t_lo (test acc leaves near chance)", est=med(d["t_lo"]), unit="steps"),
            dict(name="median t_grok", est=med(d["t_grok"]), unit="steps"),
            dict(name=f"median test acc at 2 t_mem (near chance: < {level:.3g})", est=med(np.array(at2))),
            dict(name="median t_grok / t_mem [the old rule's ratio; not decided]",
                 est=med(d["t_grok"] / d["t_mem"]))]


# ------------------------------------------------------------------ grok-wd-speeds

def _ok(hs) -> np.ndarray:
    """False for diverged runs (no time to grok, censored or not: excluded by the survival rules)."""
    return np.array([h.status == "ok" for h in hs])


def rmst_difference(ta, tb, budget: float, alpha: float = ALPHA, what: str = "") -> Estimate:
    """Restricted mean time to grok within the budget T, a minus b: with one budget for every run
    (censoring only at T) the Kaplan-Meier restricted mean is the plain mean of min(t_grok, T), so
    the difference is mean(min(t_a, T)) - mean(min(t_b, T)) with its two-sided Welch t interval at
    1 - alpha (stats.two_sample), finite whatever the censoring (a lower bound on the difference of
    unrestricted means when b is censored more than a). Both groups constant (e.g. all censored):
    the difference is known exactly (a point interval)."""
    a = np.minimum(np.where(np.isfinite(ta), ta, budget), budget)
    b = np.minimum(np.where(np.isfinite(tb), tb, budget), budget)
    d, ua, ub = float(a.mean() - b.mean()), a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    lo = hi = d
    if ua + ub > 0:  # Welch: se^2 = va/na + vb/nb, nu = se^4 / sum (v/n)^2 / (n - 1)
        nu = (ua + ub) ** 2 / (ua**2 / (a.size - 1) + ub**2 / (b.size - 1))
        half = stats.t_quantile(alpha, nu, "two-sided") * math.sqrt(ua + ub)
        lo, hi = d - half, d + half
    return Estimate(what or "restricted mean t_grok (to T), a - b", d, lo, hi, alpha, None,
                    f"mean of min(t_grok, T = {budget:g}) per group, two-sided Welch t interval",
                    f"{int(np.isfinite(ta).sum())}/{a.size} vs {int(np.isfinite(tb).sum())}/{b.size} grokked")


def wd_pair_verdict(t_small, t_large, budget: float, lam_small: float, lam_large: float,
                    alpha: float = ALPHA, ok_small=None, ok_large=None, n_perm: int = 20000) -> Verdict:
    """One adjacent pair of lambda levels: does the larger lambda grok sooner? The two-sample
    log-rank statistic (survival.logrank_scores_rows; t_grok right-censored at the budget, diverged
    runs excluded) with a one-sided permutation p in each direction (survival.perm_pvalues: exact
    over the arrangements up to n_perm of them): supported if the larger lambda's runs grok sooner
    at alpha, refuted if later. The effect shown is the restricted-mean difference small - large
    (rmst_difference; > 0 = larger lambda sooner) with its two-sided interval at 1 - alpha,
    carrying the claimed-direction p. A pair in which no run of either level groks within the
    budget is untested (inconclusive: the order of two censored levels cannot be seen)."""
    tS, tL = np.asarray(t_small, float), np.asarray(t_large, float)
    okS = np.ones(tS.size, bool) if ok_small is None else np.asarray(ok_small, bool)
    okL = np.ones(tL.size, bool) if ok_large is None else np.asarray(ok_large, bool)
    tS, tL = tS[okS], tL[okL]
    name = f"restricted mean t_grok, lambda {lam_small:g} - {lam_large:g} (steps)"
    claimed, pair = "> 0", f"lambda {lam_small:g} vs {lam_large:g}"
    div = int((~okS).sum() + (~okL).sum())
    divt = f", {div} diverged runs excluded" if div else ""
    power = (f"{tS.size} vs {tL.size} runs: smallest one-sided permutation log-rank p = "
             f"{survival.min_perm_p(tS.size, tL.size)}" if tS.size and tL.size else "an empty level")
    if tS.size < 2 or tL.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{pair}: {tS.size} vs {tL.size} runs: fewer than 2 in a level{divt}",
                       claimed, power=power)
    kS, kL = int(np.isfinite(tS).sum()), int(np.isfinite(tL).sum())
    eff = rmst_difference(tS, tL, budget, alpha, name)
    if kS + kL == 0:
        return Verdict(INCONCLUSIVE, eff, alpha, f"{pair}: untested, no run of either level groks within {budget:g} "
                                                 f"steps{divt}", claimed, power=power)
    T = survival.times(np.r_[tS, tL], budget)
    x = np.r_[np.ones(tS.size), np.zeros(tL.size)]
    scores = survival.logrank_scores_rows(T.duration[None], T.event[None])[0]
    _, p_pos, p_neg, how = survival.perm_pvalues(x, scores, n_perm)
    p_claim, p_opp = p_neg, p_pos  # the smaller lambda's runs grok later: U < 0
    eff = dataclasses.replace(eff, p=p_claim, method=eff.method + f"; p: one-sided permutation log-rank, {how}")
    med = lambda t: f"{np.median(t[np.isfinite(t)]):.4g}" if np.isfinite(t).any() else "censored"  # noqa: E731
    txt = (f"{pair}: {verdicts.fmt_estimate(eff)}; log-rank p = {p_claim:.3g} (larger lambda sooner), {p_opp:.3g} "
           f"(later); grokked {kS}/{tS.size} vs {kL}/{tL.size}, median t_grok of grokked {med(tS)} vs {med(tL)}{divt}")
    if p_claim < alpha:
        return Verdict(SUPPORTED, eff, alpha, f"{txt}: larger lambda groks sooner at alpha = {alpha:g}", claimed,
                       power=power)
    if p_opp < alpha:
        return Verdict(REFUTED, eff, alpha, f"{txt}: larger lambda groks later at alpha = {alpha:g}", claimed,
                       power=power)
    return Verdict(INCONCLUSIVE, eff, alpha, f"{txt}: neither direction at alpha = {alpha:g}", claimed, power=power)


def wd_order_verdict(lam, t, budget: float, alpha: float = ALPHA, ok=None) -> Verdict:
    """grok-wd-speeds' order test: t_grok falls at every step up the lambda grid. Each adjacent pair
    of levels (wd_pair_verdict) is a part of verdicts.conjunction: supported iff every pair is
    supported at alpha (intersection-union test, level alpha); refuted iff some pair is refuted at
    alpha / (levels - 1) (Bonferroni: any pair may refute); else inconclusive, e.g. when a pair is
    untested because neither of its levels groks within the budget. The headline is the pair that
    keeps the verdict from support (the first untested or undecided pair, else the weakest)."""
    lam, t = np.asarray(lam, float), np.asarray(t, float)
    okm = np.ones(t.shape, bool) if ok is None else np.asarray(ok, bool)
    levels = np.unique(lam)
    if levels.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{levels.size} lambda level(s): no order to test", "> 0")
    pairs = {}
    for a, b in zip(levels[:-1], levels[1:]):
        sa, sb = lam == a, lam == b
        pairs[f"lambda {a:g} vs {b:g}"] = (lambda al, sa=sa, sb=sb, a=a, b=b:
                                           wd_pair_verdict(t[sa], t[sb], budget, a, b, al, okm[sa], okm[sb]))
    first = {k: f(alpha) for k, f in pairs.items()}
    tested = [k for k, v in first.items() if "untested" not in v.reason]
    blocking = [k for k, v in first.items() if v.verdict != SUPPORTED]
    weakest = lambda ks: max(ks, key=lambda k: first[k].effect.p if first[k].effect is not None  # noqa: E731
                             and first[k].effect.p is not None else 1.0)
    head = (next((k for k in blocking if k in tested), None) or (weakest(tested) if tested else next(iter(first))))
    v = verdicts.conjunction(pairs, alpha, headline=head)
    untested = [k for k in first if k not in tested]
    powers = sorted({p.power for p in first.values() if p.power})
    n_min = min(int(((lam == lv) & okm).sum()) for lv in levels)
    if n_min >= 2 and 1 / math.comb(2 * (n_min - 1), n_min - 1) >= alpha:
        powers.append(f"the seed gate leaves {n_min - 1} vs {n_min - 1} runs per pair (smallest p = "
                      f"{1 / math.comb(2 * (n_min - 1), n_min - 1):.3g} >= alpha): a supported pair needs >= "
                      f"{next(m for m in range(2, 40) if 1 / math.comb(2 * (m - 1), m - 1) < alpha)} seeds per level to "
                      "survive it")
    return dataclasses.replace(v, claimed="> 0", power=(f"untested pairs (no run of either level groks within "
                                                        f"{budget:g} steps): {', '.join(untested)}; " if untested else "")
                               + "; ".join(powers))


def grok_wd_speeds_rule(hs, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """grok-wd-speeds: on the alpha = 0 row, does every step up the weight-decay grid (lambda 1e-3 ->
    1e-2 -> 1e-1 -> 1) make grokking sooner?

    t_grok right-censored at the budget (runs that never grok; diverged runs excluded). Per
    adjacent pair of lambda levels a one-sided two-sample permutation log-rank test (exact over
    the arrangements); the pairs are the parts of verdicts.conjunction (wd_order_verdict):
    supported iff every pair shows the larger lambda grokking sooner at alpha = 0.05; refuted iff
    some pair shows it grokking later at alpha / 3; else inconclusive. A pair in which neither
    level groks within the budget is untested, so the order of levels that all stay censored is
    never counted as shown. The effect per pair is the restricted-mean t_grok difference to the
    budget (smaller - larger lambda, steps) with its two-sided 95 % Welch interval: finite even
    when one level never groks (a Cox hazard ratio is infinite there). Why: 'larger lambda groks
    sooner' orders all four levels; a trend test over the grid is carried by the one level that
    groks. Cannot detect: the 1/lambda law's slope (recorded, not decided); 'lambda = 1e-3 does not
    grok' is about the seed's 100000-step budget (recorded at the tier's budget, not decided).
    At the fast tier only lambda = 1 groks within 2500 steps: the two lower pairs are untested and
    the verdict is inconclusive; deciding them needs a budget at which lambda = 1e-2 groks (the
    power note gives Omnigrok's t ~ 1/lambda estimate)."""
    lam = np.array([h.config.optim.weight_decay for h in hs])
    t = np.array([t_grok(h, grok_rule) for h in hs])
    T = budget_of(hs)
    v = wd_order_verdict(lam, t, T, alpha, ok=_ok(hs))
    grok = np.isfinite(t) & _ok(hs)
    if grok.any():
        top = float(lam[grok].max())
        med = float(np.median(t[grok & (lam == top)]))
        need = ", ".join(f"lambda {lv:g}: ~{med * top / lv:.3g}" for lv in sorted(set(lam)) if lv < top
                         and not (grok & (lam == lv)).any())
        if need:
            v = dataclasses.replace(v, power=v.power + f"; t ~ 1/lambda (Omnigrok) from lambda {top:g}'s median "
                                    f"t_grok {med:.4g} puts the non-grokking levels at (steps) {need}: a budget of "
                                    "that order decides their pairs")
    return v


def wd_speeds_stats(hs, lambdas) -> list[dict]:
    """Recorded beside grok-wd-speeds' verdict (reported, not decided): the OLS slope of log t_grok
    on log lambda over grokked runs (Omnigrok predicts about -1; needs >= 2 grokking levels, else a
    note), Kendall tau of final test acc on log lambda, the lambda = 1e-3 grok rate (the claim 'does
    not grok within budget' means the seed's 100000 steps: the gpu tier) and per-level counts."""
    lam = np.array([h.config.optim.weight_decay for h in hs])
    tg = np.array([t_grok(h) for h in hs])
    grokked = np.isfinite(tg)
    levels = sorted(set(lam[grokked]))
    out = []
    if len(levels) >= 2 and grokked.sum() >= 3:
        out.append(dict(name="slope d log t_grok / d log lambda (grokked only)", claimed=-1.0,
                        est=stats.linear_trend(np.log(lam[grokked]), np.log(tg[grokked]), alpha=ALPHA)))
    else:
        out.append(dict(note=f"slope not estimable: grokked lambda levels {[float(v) for v in levels]}"))
    final = np.array([float(h.metrics["test/acc"][-1]) for h in hs])
    out.append(dict(name="kendall tau (log lambda, final test acc) [proxy, not decided]", claimed="> 0",
                    est=stats.kendall_trend(np.log10(lam), final, alpha=ALPHA)))
    small = lam == min(lambdas)
    out.append(dict(name="lambda=1e-3 grok rate within budget", claimed=0.0,
                    est=stats.wilson_ci(int(grokked[small].sum()), int(small.sum()), ALPHA)))
    for lv in lambdas:
        sel = lam == lv
        out.append(dict(name=f"lambda={lv:g}: grokked", est=f"{int(grokked[sel].sum())}/{int(sel.sum())}; median "
                        f"t_grok {np.nanmedian(tg[sel]) if grokked[sel].any() else 'censored'}"))
    return out


# ------------------------------------------------------------------ grok-lazy-rich

def success_trend(x, tgrok, side: str = "less", alpha: float = ALPHA, what: str = "kendall tau (x, grokked)") -> Verdict:
    """Claim: the fraction of runs that grok within the budget falls (side="less") or rises with x:
    Kendall tau-b of (x, grokked 0/1) with permutation p in each direction (an exact-in-the-limit
    Cochran-Armitage-type trend test, verdicts.trend)."""
    x, t = np.asarray(x, float), np.asarray(tgrok, float)
    return verdicts.trend(x, np.isfinite(t).astype(float), side, alpha, what)


def grok_lazy_rich_rule(hs, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """grok-lazy-rich: on the lambda = 1 column, does a larger alpha (output scaled by
    width^-alpha) delay or prevent grokking?

    As the reference row states it ('success falls and/or t_grok rises'): two one-sided trend
    tests at alpha / 2 = 0.025 each (Bonferroni): grok success (0/1) falls with alpha (Kendall
    tau-b, permutation p; success_trend), and t_grok, right-censored at the budget, rises with
    alpha (log-rank trend test with permutation p, Cox log HR effect; censored_trend). Supported
    if either is supported and neither refuted; refuted only if both opposite tests reject;
    otherwise inconclusive. Not decided: that alpha = 0.5 is 'lazy' in the NTK sense (no
    kernel-drift measurement)."""
    al = np.array([h.config.model.alpha for h in hs])
    t = np.array([t_grok(h, grok_rule) for h in hs])
    parts = {"success falls": success_trend(al, t, "less", alpha / 2, "kendall tau (alpha, grokked)"),
             "t_grok rises": censored_trend(al, t, budget_of(hs), "greater", alpha / 2, "Cox log HR per unit alpha",
                                            ok=_ok(hs))}
    decided = [k for k, p in parts.items() if p.verdict != INCONCLUSIVE]
    v = verdicts.any_of(parts, headline=decided[0] if decided else "success falls")
    return dataclasses.replace(v, power="; ".join(f"{k}: {p.power}" for k, p in parts.items() if p.power))


def lazy_rich_stats(hs, alphas) -> list[dict]:
    """Recorded beside grok-lazy-rich's verdict (not decided): Kendall tau of final test acc on
    alpha, the grok-rate difference alpha = 0 vs 0.5 (Newcombe) and each alpha's rate (Wilson)."""
    al = np.array([h.config.model.alpha for h in hs])
    grokked = np.isfinite(np.array([t_grok(h) for h in hs]))
    final = np.array([float(h.metrics["test/acc"][-1]) for h in hs])
    k0, n0 = int(grokked[al == 0].sum()), int((al == 0).sum())
    k5, n5 = int(grokked[al == 0.5].sum()), int((al == 0.5).sum())
    return [dict(name="kendall tau (alpha, final test acc) [proxy, not decided]", claimed="< 0",
                 est=stats.kendall_trend(al, final, alpha=ALPHA)),
            dict(name="success(alpha=0) - success(alpha=0.5)", claimed=">= 0",
                 est=stats.rate_difference(k0, n0, k5, n5, alpha=ALPHA))] + \
        [dict(name=f"alpha={a:g} grok rate", est=stats.wilson_ci(int(grokked[al == a].sum()), int((al == a).sum()),
                                                                  ALPHA)) for a in alphas]


# ------------------------------------------------------------------ order-params

def _half_crossing(steps: np.ndarray, v: np.ndarray, i0: int) -> float:
    """First step at or after index i0 where v has covered half its change from v[i0] to v[-1]."""
    v0, v1 = v[i0], v[-1]
    if not np.isfinite(v0) or not np.isfinite(v1) or v1 == v0:
        return math.nan
    frac = (v[i0:] - v0) / (v1 - v0)
    j = np.nonzero(frac >= 0.5)[0]
    return float(steps[i0 + j[0]]) if j.size else math.nan


def order_windows(hs, key: str, grok_rule=GROK_RULE) -> dict:
    """Per seed that memorized and grokked (the reference row's windows): before = the parameter's
    mean over checkpoints in [t_mem, t_grok) (Stage II: memorized, not yet generalized; the last
    checkpoint before t_grok if none falls inside); after = its mean over checkpoints >= t_grok
    (Stage III: generalized); lead = t_half(test acc) - t_half(param), half-change crossings
    after t_mem (> 0: the parameter moves first). Seeds with no transition inside the budget
    (or no checkpoint before t_grok / at or after it) are left out, counted in n_out."""
    before, after, lead, out = [], [], [], 0
    for h in hs:
        m = h.metrics
        st, v = m["order/step"], m[key]
        tm, tg = t_mem(h), t_grok(h, grok_rule)
        if not (np.isfinite(tm) and np.isfinite(tg)) or not (st < tg).any() or not (st >= tg).any():
            out += 1
            continue
        stage2 = (st >= tm) & (st < tg)
        before.append(v[stage2].mean() if stage2.any() else v[st < tg][-1])
        after.append(v[st >= tg].mean())
        i0 = int(np.searchsorted(st, tm, side="right") - 1)
        acc = np.interp(st, m["step"], m["test/acc"])
        lead.append(_half_crossing(st, acc, i0) - _half_crossing(st, v, i0))
    values = np.concatenate([np.asarray(h.metrics[key], float) for h in hs]) if hs else np.zeros(0)
    return {"before": np.asarray(before, float), "after": np.asarray(after, float), "lead": np.asarray(lead, float),
            "n_out": out, "constant": bool(values.size and np.ptp(values[np.isfinite(values)]) == 0),
            "value": float(values[0]) if values.size else math.nan}


def order_change(hs, key: str, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """One parameter's after - before, paired over seeds, two-sided at ``alpha`` (change_verdict on
    order_windows). A parameter constant at every checkpoint of every run is degenerate: it can
    show neither a change nor its absence (inconclusive)."""
    name = ORDER_NAMES.get(key, key)
    w = order_windows(hs, key, grok_rule)
    if w["constant"]:
        return Verdict(INCONCLUSIVE, Estimate(f"{name}: after - before", 0.0, 0.0, 0.0, alpha, 1.0,
                                              note="constant"), alpha,
                       f"{name} is {w['value']:.3g} at every checkpoint of every run: degenerate here (for modular "
                       "addition no non-constant embedding realizes the mod-p parallelograms, see "
                       "grokcore.engine.orderparams.rqi), so it cannot decide the claim", "!= 0",
                       power="a constant measure has no power at any scale")
    v = change_verdict(w["after"], w["before"], alpha, f"{name}: after - before")
    if w["n_out"]:
        v = dataclasses.replace(v, reason=v.reason + f" ({w['n_out']} seeds without a transition inside the budget "
                                                     "left out)")
    return v


def order_params_rule(hs, key: str, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """order-params, for one order parameter ``key`` (RQI, effective rank of W1, participation
    ratio and kernel alignment of the hidden features on the test pairs, Fourier SNR of the
    a-embedding) in seed 001's (alpha = 0, lambda = 1) cell: does it change across the grokking
    transition?

    Windows of the reference row (order_windows): before = mean over checkpoints in
    [t_mem, t_grok) (memorized, not generalized), after = mean over checkpoints >= t_grok.
    Paired after - before over seeds, two-sided exact sign-flip test with a t interval at
    alpha / 5 = 0.01 (Bonferroni over the five parameters; change_verdict): supported if it
    rejects (the direction is reported); never refuted (no direction or equivalence margin is
    claimed, so 'no change' is only 'not detected'); a parameter constant at every checkpoint
    is degenerate: inconclusive. Not decided: the lead time (the seed makes no lead claim).
    RQI is never decided (always inconclusive, its change reported): the fraction of parallelograms
    a + b = c + d (mod p) with |E_a + E_b - E_c - E_d| <= delta cannot separate a grokked embedding
    from a random one for modular addition. No non-constant embedding closes the modular
    parallelograms (E_a - E_0 would be a homomorphism Z_p -> R^D, which is 0), and for the Fourier
    embedding a grokked network learns the parallelogram error has the same mean square as for an
    impermissible quadruple (grokcore/tests/test_orderparams.py), so any delta tied to the
    embedding's scale (here 0.05 x the mean pairwise distance) counts ~0 at init and after grokking
    alike, and the seed code's absolute delta = 0.5 measures the weights' norm, not their geometry."""
    if key == "order/rqi":
        return rqi_not_decided(order_change(hs, key, grok_rule, alpha / len(ORDER_NAMES)))
    return order_change(hs, key, grok_rule, alpha / len(ORDER_NAMES))


RQI_NOT_DECIDED = ("RQI is not decided at any scale: for modular addition no embedding closes the mod-p "
                   "parallelograms and the grokked Fourier embedding's parallelogram errors are as large as a "
                   "random quadruple's, so the measure cannot tell a grokked embedding from a random one "
                   "(order_params_rule; grokcore/tests/test_orderparams.py)")


def rqi_not_decided(v: Verdict) -> Verdict:
    """RQI's verdict: always inconclusive; the measured change is kept as the effect, for the record."""
    return dataclasses.replace(v, verdict=INCONCLUSIVE, reason=f"not decided: {RQI_NOT_DECIDED} (measured: {v.reason})",
                               power="a measure that cannot separate the hypotheses has no power at any scale")


def lead_estimate(lead, alpha: float = ALPHA) -> Estimate | None:
    """Mean lead time (reported, not decided: the seed makes no lead claim), t interval + sign-flip p."""
    lead = np.asarray(lead, float)
    lead = lead[np.isfinite(lead)]
    if lead.size < 2:
        return None
    return dataclasses.replace(stats.one_sample(lead, 0.0, alpha), name="lead over the test-accuracy jump (steps)")


def order_stats(hs, key: str) -> list[dict]:
    """Recorded beside order-params' verdict: the parameter's mean before and after, and the lead
    of its half-change over the test-accuracy jump (t interval; not for a constant parameter)."""
    name, w = ORDER_NAMES[key], order_windows(hs, key)
    out = []
    if w["before"].size:
        out += [dict(name=f"{name}: mean before (Stage II)", est=float(w["before"].mean())),
                dict(name=f"{name}: mean after (Stage III)", est=float(w["after"].mean()))]
    lead = lead_estimate(w["lead"], ALPHA)
    if lead is not None and not w["constant"]:
        out.append(dict(name=f"{name}: lead over test-acc jump (steps)", est=lead, unit="steps"))
    return out


# ------------------------------------------------------------------ detection-robust's re-reading

def rederive(runs: dict, grok_rule, alpha: float = ALPHA) -> dict:
    """The seed-001 claims' rules (id -> (rule, histories)) under another grokking rule."""
    out = {"grok-delayed": (partial(grok_delayed_rule, grok_rule=grok_rule, alpha=alpha), cell01(runs)),
           "grok-wd-speeds": (partial(grok_wd_speeds_rule, grok_rule=grok_rule, alpha=alpha), lambda_row(runs)),
           "grok-lazy-rich": (partial(grok_lazy_rich_rule, grok_rule=grok_rule, alpha=alpha), alpha_column(runs))}
    for key, name in ORDER_NAMES.items():
        out[f"order-params ({name})"] = (partial(order_params_rule, key=key, grok_rule=grok_rule, alpha=alpha),
                                         cell01(runs))
    return out
