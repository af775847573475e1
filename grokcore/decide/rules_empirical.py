"""Seed 001 (empirical grokking reproduction): the measurements read from the sweep's histories
(claims/designs/empirical.py) and the decision rule of each claim (claims/test_empirical.py;
re-derived under other grokking-detection rules by claims/test_boundaries.py::test_detection_robust).

Rules map measurements to a grokcore.decide.verdicts.Verdict and are called again by the
robustness gates (grokcore.decide.gates) on perturbed data: histories read at half the budget,
each seed left out. Two layers:

* array rules (unit-tested on synthetic data, grokcore/tests/test_rules_empirical.py):
  ``delay_verdict``, ``censored_trend``, ``change_verdict``;
* claim rules (what ``claim.decide`` calls, each docstring the claim's decision rule):
  ``grok_delayed_rule``, ``grok_wd_speeds_rule``, ``grok_lazy_rich_rule``, ``order_params_rule``
  -- measurements (grokcore.base.detect) + the array rule; ``*_stats`` are what the cards record
  beside the verdict (reported, not decided).

Censoring: every run of one sweep shares one step budget T. A run that never reaches the
grokking rule has t_grok > T, a right-censored time. Trends in t_grok are decided by
censored-data statistics (grokcore.decide.survival, lifelines: permutation log-rank trend test,
Cox log hazard ratio, Kaplan-Meier medians); diverged runs are excluded and counted. For a
ratio t_grok / t_mem (grok-delayed), T is a lower bound (conservative for "ratio > 2"; a
censored run can never count toward "ratio < 2").
"""
from __future__ import annotations

import dataclasses
import math
from functools import partial

import numpy as np

from grokcore.base import detect
from grokcore.base.detect import DetectRule
from grokcore.decide import stats, survival, verdicts
from grokcore.decide.stats import Estimate
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

ALPHA = 0.05
MEM_RULE = (0.99, 1)  # seed 001 code: first logged epoch with train acc > 99%
GROK_RULE = (0.95, 1)  # seed 001 code: first logged epoch with test acc > 95%
RATIO_NULL = 2.0  # grok-delayed: the pre-stated factor t_grok / t_mem > 2
ORDER_NAMES = {"order/rqi": "RQI", "order/eff_rank": "effective rank", "order/pr": "participation ratio",
               "order/kernel_align": "kernel alignment", "order/fourier_snr": "Fourier SNR"}


# ------------------------------------------------------------------ the sweep's cells

def cell01(runs: dict) -> list:
    """The (alpha = 0, lambda = 1) runs: grok-delayed and order-params."""
    return [h for (a, lam, s), h in sorted(runs.items()) if a == 0.0 and lam == 1.0]


def _balanced(hs: list, level) -> list:
    """The runs of the seeds present at every level (the (0, 1) cell has extra seeds for grok-delayed
    and order-params; the trend claims use a balanced design: 4 seeds per lambda level and 6 per alpha
    level at the fast tier)."""
    by = {}
    for h in hs:
        by.setdefault(level(h), set()).add(h.config.seed)
    common = set.intersection(*by.values()) if by else set()
    return [h for h in hs if h.config.seed in common]


def lambda_row(runs: dict) -> list:
    """The alpha = 0 row over lambda (balanced seeds): grok-wd-speeds."""
    return _balanced([h for (a, lam, s), h in sorted(runs.items()) if a == 0.0], lambda h: h.config.optim.weight_decay)


def alpha_column(runs: dict) -> list:
    """The lambda = 1 column over alpha (balanced seeds): grok-lazy-rich."""
    return _balanced([h for (a, lam, s), h in sorted(runs.items()) if lam == 1.0], lambda h: h.config.model.alpha)


# ------------------------------------------------------------------ measurements

def first_step(h, rule=GROK_RULE, metric: str = "test/acc") -> float:
    """First logged step of ``rule`` = (threshold, patience) on a history's metric (grokcore.base.detect);
    NaN if never within the history (right-censored at its budget) or if the run diverged."""
    return float(detect.run_steps([h], DetectRule(*rule), metric)[0])


def t_mem(h) -> float:
    return first_step(h, MEM_RULE, "train/acc")


def t_grok(h, rule=GROK_RULE) -> float:
    return first_step(h, rule, "test/acc")


def budget_of(hs) -> int:
    """The common step budget of a set of runs (ValueError if they differ: censored ranks need one)."""
    b = {int(h.config.steps) for h in hs}
    if len(b) != 1:
        raise ValueError(f"runs with different step budgets {sorted(b)}: censored times are not comparable")
    return b.pop()


# ------------------------------------------------------------------ array rules

def _exp_effect(e: Estimate, name: str) -> Estimate:
    return dataclasses.replace(e, name=name, value=math.exp(e.value), lo=math.exp(e.lo),
                               hi=math.exp(e.hi) if math.isfinite(e.hi) else math.inf)


def delay_verdict(tmem, tgrok, budget: float, ratio_null: float = RATIO_NULL, alpha: float = ALPHA) -> Verdict:
    """grok-delayed: test accuracy jumps well after training accuracy saturates.

    Per seed: t_mem (memorized) and t_grok (generalized; NaN = censored at ``budget``, replaced
    by the budget, a lower bound). Parts, each one-sided at ``alpha``:
      ratio  mean log(t_grok / t_mem) > log(ratio_null): exact sign-flip test + t interval
             (stats.one_sample), reported as the geometric-mean ratio;
      lag    mean(t_grok - t_mem) > 0, same test;
      jump   the fraction of seeds whose test accuracy jumps within the budget > 1/2 (Wilson):
             without an observed jump there is no grokking to call delayed.
    supported: every part supported. refuted: the ratio's or lag's opposite test rejects and no
    seed is censored (a censored seed's ratio is unbounded above, so it can never count toward
    "ratio < 2"); a jump rate significantly below 1/2 is censoring, not a refutation: inconclusive.
    Runs that never memorize are dropped (they carry no t_mem)."""
    tm, tg = np.asarray(tmem, float), np.asarray(tgrok, float)
    ok = np.isfinite(tm)
    tm, tg = tm[ok], tg[ok]
    n, censored = int(tm.size), np.isnan(tg)
    if n < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"only {n} seeds memorized (train acc >= 0.99)", f"> {ratio_null:g}")
    tg_lb = np.where(censored, float(budget), tg)
    lag = tg_lb - tm
    logr = np.log(tg_lb / np.maximum(tm, 1.0))  # t_mem >= the first eval step > 0 in practice
    ratio = verdicts.one_sample(logr, math.log(ratio_null), "greater", alpha, what="mean log(t_grok/t_mem)")
    if ratio.effect is not None:
        ratio = dataclasses.replace(ratio, effect=_exp_effect(ratio.effect, "t_grok/t_mem (geometric mean)"),
                                    claimed=f"> {ratio_null:g}")
    lagv = verdicts.one_sample(lag, 0.0, "greater", alpha, what="mean lag t_grok - t_mem (steps)")
    k = int((~censored).sum())
    jump = verdicts.rate(k, n, 0.5, "greater", alpha, what="fraction of seeds that grok within the budget")
    if jump.verdict == REFUTED:
        jump = dataclasses.replace(jump, verdict=INCONCLUSIVE,
                                   reason=f"only {k}/{n} seeds grok within {budget:g} steps: the jump is censored "
                                          "by the budget, which cannot refute a delay")
    parts = {"ratio": ratio, "lag": lagv, "jump": jump}
    if censored.any():
        for key in ("ratio", "lag"):
            if parts[key].verdict == REFUTED:
                parts[key] = dataclasses.replace(parts[key], verdict=INCONCLUSIVE, reason=parts[key].reason +
                                                 f"; but {int(censored.sum())} seeds are censored (lower bounds): "
                                                 "cannot refute")
    v = verdicts.all_of(parts, headline="ratio")
    power = (f"{n} seeds: smallest one-sided exact sign-flip p = 2^-{n} = {0.5**n:.3g}; the seed gate leaves "
             f"{n - 1} (2^-{n - 1} = {0.5**(n - 1):.3g}); >= 6 seeds are needed to decide under the seed gate")
    return dataclasses.replace(v, power=power, claimed=f"ratio > {ratio_null:g}, lag > 0")


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
    """Per run t_mem, t_grok (NaN: not within the budget) and the common budget."""
    return {"t_mem": np.array([t_mem(h) for h in hs]), "t_grok": np.array([t_grok(h, grok_rule) for h in hs]),
            "budget": budget_of(hs)}


def grok_delayed_rule(hs, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """grok-delayed: in seed 001's (alpha = 0, lambda = 1) cell, does test accuracy jump well after
    training accuracy saturates?

    Per seed t_mem = first eval with train acc >= 0.99, t_grok = first eval with test acc >= 0.95
    (seed 001's patience-1 rule); a run that never groks has t_grok := the budget (a lower bound).
    One-sided at alpha = 0.05 (delay_verdict): supported if the geometric-mean t_grok / t_mem > 2
    (the reference row's pre-stated factor) and the mean lag t_grok - t_mem > 0, each by an exact
    sign-flip test with a t interval over seeds, and more than half the seeds grok within the
    budget (Wilson); refuted only by the opposite ratio or lag test with no seed censored;
    otherwise inconclusive."""
    d = delay_data(hs, grok_rule)
    return delay_verdict(d["t_mem"], d["t_grok"], d["budget"], alpha=alpha)


def delay_stats(hs) -> list[dict]:
    """Recorded beside grok-delayed's verdict: seeds that grokked, median t_mem and t_grok."""
    d = delay_data(hs)
    n_grok = int(np.isfinite(d["t_grok"]).sum())
    return [dict(name="grokked seeds", est=f"{n_grok}/{len(hs)}"),
            dict(name="median t_mem", est=float(np.nanmedian(d["t_mem"])), unit="steps"),
            dict(name="median t_grok", est=float(np.nanmedian(d["t_grok"])) if n_grok else math.nan, unit="steps")]


# ------------------------------------------------------------------ grok-wd-speeds

def _ok(hs) -> np.ndarray:
    """False for diverged runs (no time to grok, censored or not: excluded by the survival rules)."""
    return np.array([h.status == "ok" for h in hs])


def grok_wd_speeds_rule(hs, grok_rule=GROK_RULE, alpha: float = ALPHA) -> Verdict:
    """grok-wd-speeds: on the alpha = 0 row, does larger weight decay lambda grok sooner?

    t_grok right-censored at the budget (runs that never grok), diverged runs excluded:
    log-rank trend test of t_grok on log10 lambda with a one-sided permutation p in each
    direction (exact for any sample size, ties and separation), effect the Cox log hazard ratio
    per decade of lambda (lifelines), KM medians per level in the reason (censored_trend).
    Supported if t_grok falls with lambda at alpha = 0.05, refuted if it rises at alpha, else
    inconclusive (every run censored included). Not decided: the 1/lambda law itself (it needs
    a budget at which every lambda groks)."""
    lam = np.array([h.config.optim.weight_decay for h in hs])
    t = np.array([t_grok(h, grok_rule) for h in hs])
    return censored_trend(np.log10(lam), t, budget_of(hs), "less", alpha, "Cox log HR per decade of lambda",
                          ok=_ok(hs))


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
    is degenerate: inconclusive. Not decided: the lead time (the seed makes no lead claim)."""
    return order_change(hs, key, grok_rule, alpha / len(ORDER_NAMES))


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
