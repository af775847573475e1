"""Seed 002 (grokking boundaries): measurements and decision rules of capacity-boundary,
capacity-u-shape, wd-shifts-boundary and detection-robust (claims/test_boundaries.py; the sweep is
claims/designs/boundaries.py).

Array rules (``boundary_verdict``, ``converged_boundary_verdict``, ``u_shape_verdict``,
``wd_shift_verdict``, ``changes_verdict``; unit-tested on synthetic data in
grokcore/tests/test_rules_boundaries.py) map measurements to a grokcore.decide.verdicts.Verdict;
the claim rules (``<claim>_rule``, what ``claim.decide`` calls, each docstring the claim's decision
rule) read them from histories, and ``perturbations`` gives the boundary claims' gates (each seed
left out, the ratio nearest the estimated boundary dropped; their half-budget comparison is inside
the rules, ``budget_check``).
``*_stats`` are what the cards record beside the verdicts (reported, not decided).

"Grokked" is grokcore.base.detect's ``first_sustained`` on test accuracy with seed 002's rule
(>= 0.95 for 10 consecutive evaluations) or a given DetectRule; a diverged run counts as not
grokked. The capacity ratio is r = d_model / p, used on a log scale.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from functools import partial

import numpy as np
from scipy import stats as sps

from grokcore.base.detect import DetectRule
from grokcore.decide import gates, laws, rules_empirical, stats
from grokcore.decide.stats import Estimate
from grokcore.decide.survival import SEPARATED_LOGHR
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict
from grokcore.decide.measures_boundaries import (  # noqa: F401 (the rules' measurements, re-exported)
    BASE_RULE,
    _strata,
    grok_steps,
    grokked,
    log_ratio,
    ratio_of,
    stratified_exact,
    wd_of,
)

ALPHA = 0.05
WDS = [1.0, 0.1, 0.01]
RULES = [DetectRule(t, p) for t in (0.90, 0.95, 0.99) for p in (5, 10, 20)]


# ------------------------------------------------------------------ measurements


BUDGET_IN_RULE = ("checked inside the rule: support needs the boundary read at T/2 to agree with T (stats.agree), "
                  "and a refutation must hold at T/2 too (budget_check)")


def perturbations(by_wd: bool = False) -> gates.Perturbations:
    """The boundary claims' gates: each seed left out, and the ratio nearest the estimated boundary
    dropped (per WD with ``by_wd``). The half-budget comparison is part of the rules themselves
    (budget_check: r* at T/2 must agree with r* at T), so no half-budget gate re-runs them (it would
    ask for convergence between T/4 and T/2 instead)."""
    p = gates.for_histories(grid_value=ratio_of, log=True, budget=False,
                            grid_group=(lambda h: h.config.optim.weight_decay) if by_wd else (lambda h: None))
    return dataclasses.replace(p, why_not={**p.why_not, "budget": BUDGET_IN_RULE})


def half(hs) -> list:
    """The same runs read at half their own budget (gates.truncate)."""
    return [gates.truncate(h, int(h.config.steps) // 2) for h in hs]


def budget_check(v: Verdict, r_half: Estimate | None, what: str = "r*") -> Verdict:
    """A decided boundary verdict against the same runs read at T/2. Supported stays supported only
    if ``what`` at T/2 is finite and agrees with its value at T (stats.agree: one inside the other's
    CI), i.e. the boundary has converged in budget; otherwise inconclusive ("not converged": at
    equal budget a boundary that still moves cannot be told from slower grokking). A refutation
    stays only if the verdict at T/2 is a refutation too (the caller passes r_half = None when it
    was not: budget-limited)."""
    if v.verdict == INCONCLUSIVE:
        return v
    e = v.effect
    fin = lambda x: x is not None and all(math.isfinite(t) for t in (x.value, x.lo, x.hi))  # noqa: E731
    if v.verdict == SUPPORTED:
        if fin(r_half) and fin(e) and stats.agree(r_half, e):
            return dataclasses.replace(v, reason=v.reason + f"; converged in budget: {what} at T/2 = {r_half.value:.3g} "
                                                            f"[{r_half.lo:.3g}, {r_half.hi:.3g}] agrees with T")
        txt = (f"{r_half.value:.3g} [{r_half.lo:.3g}, {r_half.hi:.3g}]" if r_half is not None else "not estimable")
        return dataclasses.replace(v, verdict=INCONCLUSIVE, reason=f"supported at T ({v.reason}), but {what} is not "
                                   f"converged in budget: at T/2 it is {txt}, outside agreement with T (stats.agree): "
                                   "the boundary still moves with the budget")
    if r_half is None:
        return dataclasses.replace(v, verdict=INCONCLUSIVE, reason=f"refuted at T ({v.reason}), but not at T/2: "
                                                                   "budget-limited")
    return v


# ------------------------------------------------------------------ capacity-boundary

def boundary_verdict(x, y, alpha: float = ALPHA, group=None) -> tuple[Verdict, laws.Boundary]:
    """Claim: P(grok) rises with x = log r and crosses 1/2 inside the swept range.

    Firth-penalized logistic fit (laws.firth_boundary: finite under separation, profile
    penalized-likelihood CIs). supported: slope CI > 0 (and its penalized LR p < alpha) and the
    x50 CI finite and inside [min x, max x]; refuted: slope CI < 0 (more capacity groks less,
    measured where the claim is meant to hold); inconclusive otherwise: every run grokked or none
    did (no transition inside the range), a flat slope, or an x50 the data cannot bound.
    The returned Verdict's effect is the critical ratio r* = exp(x50) with its CI; ``grid``
    maps ``group`` to x50 (for the grid gate)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    lo_x, hi_x = float(x.min()), float(x.max())
    b = laws.firth_boundary(x, y, alpha=alpha)
    claimed = f"r* inside [{math.exp(lo_x):.3g}, {math.exp(hi_x):.3g}], slope > 0"

    def r_est(e: Estimate) -> Estimate:
        f = lambda v: math.exp(v) if math.isfinite(v) else (math.inf if v > 0 else 0.0 if v < 0 else math.nan)
        return Estimate("critical ratio r* = exp(x50)", f(e.value), f(e.lo), f(e.hi), alpha, b.slope.p, e.method,
                        f"{b.kind}; {e.note}".strip("; "))

    k, n = int(y.sum()), int(y.size)
    power = (f"{n} runs over {np.unique(x).size} ratios, {k} grokked: deciding needs both outcomes at >= 2 ratios "
             "and a slope whose profile CI excludes 0 (about 4-5 runs per ratio on each side of the transition)")
    if b.kind != "fit":
        what = {"all_fail": "no run grokked", "all_success": "every run grokked"}.get(b.kind, "too few ratios")
        return (Verdict(INCONCLUSIVE, r_est(b.x50), alpha, f"{what} (k = {k}/{n}): no transition inside "
                        f"log r in [{lo_x:.2f}, {hi_x:.2f}]", claimed, power=power), b)
    e = r_est(b.x50)
    s = b.slope
    grid = {group: float(b.x50.value)} if math.isfinite(b.x50.value) else {}
    slope_txt = f"slope {s.value:.3g} [{s.lo:.3g}, {s.hi:.3g}], penalized LR p = {s.p:.3g}"
    if s.hi < 0 and (s.p is None or s.p < alpha):
        return Verdict(REFUTED, e, alpha, f"{slope_txt}: larger capacity groks less", claimed, grid, power), b
    inside = math.isfinite(b.x50.lo) and math.isfinite(b.x50.hi) and lo_x <= b.x50.lo and b.x50.hi <= hi_x
    if s.lo > 0 and (s.p is None or s.p < alpha) and inside:
        return Verdict(SUPPORTED, e, alpha, f"{slope_txt}; r* = {e.value:.3g} [{e.lo:.3g}, {e.hi:.3g}] inside the "
                                            "swept range", claimed, grid, power), b
    return (Verdict(INCONCLUSIVE, e, alpha, f"{slope_txt}; r* CI [{e.lo:.3g}, {e.hi:.3g}] vs swept range "
                    f"[{math.exp(lo_x):.3g}, {math.exp(hi_x):.3g}]: not both slope > 0 and r* bounded inside", claimed,
                    grid, power), b)


def _with_note(v: Verdict, note: str) -> Verdict:
    return dataclasses.replace(v, power=f"{v.power}; {note}" if v.power and note else v.power or note)


def capacity_boundary_rule(hs, rule: DetectRule = BASE_RULE, alpha: float = ALPHA, note: str = "") -> Verdict:
    """capacity-boundary: at WD = 1, does P(grok) rise with the capacity ratio r = d_model / p and
    cross 1/2 inside the swept range?

    grokked = seed 002's rule (test acc >= 0.95 for 10 evals) within the budget; a Firth-penalized
    logistic fit of grokked on log r with profile penalized-likelihood CIs at alpha = 0.05
    (boundary_verdict). Supported if the slope's CI is > 0 (penalized LR p < alpha), the critical
    ratio r* = exp(x50) has a finite CI inside the swept range, and r* has converged in budget: r*
    of the same runs read at T/2 agrees with r* at T (stats.agree, budget_check); refuted if the
    slope's CI is < 0 (more capacity groks less) at T and at T/2; inconclusive when every run groks
    or none does (no transition inside the range), the CIs do not decide, or r* still moves with
    the budget (then the 'critical ratio' is a property of the budget, not of the capacity). Not
    decided: r*'s value at p = 97 (gpu tier only), nor that it is the same across p. ``note``: the
    scale that would decide, appended to the power note."""
    hs = [h for h in hs if h.config.optim.weight_decay == 1.0]
    return _with_note(converged_boundary_verdict(log_ratio(hs), grokked(hs, rule), grokked(half(hs), rule), alpha), note)


def converged_boundary_verdict(x, y, y_half, alpha: float = ALPHA, group=None) -> Verdict:
    """boundary_verdict at the budget T (outcomes ``y``) held against the same runs read at T/2
    (``y_half``) by budget_check: supported needs r*(T/2) finite and agreeing with r*(T)
    (stats.agree); refuted needs the slope < 0 at T/2 too."""
    v = boundary_verdict(x, y, alpha, group)[0]
    if v.verdict == INCONCLUSIVE:
        return v
    vh = boundary_verdict(x, y_half, alpha, group)[0]
    return budget_check(v, vh.effect if (v.verdict == SUPPORTED or vh.verdict == REFUTED) else None, "r*")


def capacity_stats(hs) -> list[dict]:
    """Recorded beside capacity-boundary's verdict: the grok rate per width (Wilson), the Firth
    slope, and r* of the same runs read at T/2 with a note on whether r* still moves with the
    budget (the rule itself requires it converged for support: budget_check)."""
    x, y = log_ratio(hs), grokked(hs)
    out = []
    for d in sorted({h.config.model.width for h in hs}):
        sel = np.array([h.config.model.width == d for h in hs])
        out.append(dict(name=f"d_model={d} (r={d / hs[0].config.M:.2f}) grok rate",
                        est=stats.wilson_ci(int(y[sel].sum()), int(sel.sum()))))
    v, b = boundary_verdict(x, y, ALPHA)
    if b.kind == "fit":
        out.append(dict(name="logistic slope in log r (Firth)", est=b.slope, claimed="> 0"))
    T = int(hs[0].config.steps)
    half = [gates.truncate(h, T // 2) for h in hs]
    v_half, _ = boundary_verdict(log_ratio(half), grokked(half), ALPHA)
    if v.effect is not None and v_half.effect is not None:  # r* of the same runs read at T/2 and at T
        h_, f_ = v_half.effect, v.effect
        out += [dict(name=f"r* read at T/2 = {T // 2} steps", est=h_),
                dict(note=f"budget convergence: r*(T/2) = {h_.value:.3g} [{h_.lo:.3g}, {h_.hi:.3g}], r*(T) = "
                          f"{f_.value:.3g} [{f_.lo:.3g}, {f_.hi:.3g}]: "
                          + ("converged (one inside the other's CI)" if stats.agree(h_, f_) else
                             "NOT converged: r* still moves with the budget, so the rule cannot support the claim "
                             "at this budget"))]
    return out


# ------------------------------------------------------------------ capacity-u-shape

def _aft_curvature(x, dur, event, wd, weak: float, strong: float, alpha: float):
    """Log-normal AFT (lifelines LogNormalAFTFitter), right-censored: per WD
    log t = a_w + b_w x + c_w x^2 + sigma eps (x centred per WD; the curvature does not depend on
    the centring; one sigma). Returns (c_weak, c_weak - c_strong) Estimates with one-sided Wald
    lower bounds and one-sided p (greater), or a string saying why there is no fit. (A Cox model
    is not used here: with the levels' times perfectly ordered, which clean U-shaped data are,
    its partial likelihood is monotone and the curvature infinite.)"""
    import pandas as pd
    from lifelines import LogNormalAFTFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    cols = {}
    for i, w in enumerate((weak, strong)):
        ind = (wd == w).astype(float)
        xc = x - x[wd == w].mean()
        cols[f"a{i}"], cols[f"b{i}"], cols[f"c{i}"] = ind, ind * xc, ind * xc * xc
    df = pd.DataFrame({**cols, "t": dur, "e": event.astype(int)})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            aft = LogNormalAFTFitter(alpha=alpha).fit(df, "t", "e", fit_intercept=False)
        except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as err:
            return f"the AFT fit failed ({type(err).__name__}: separation or too few events)"
    par = aft.params_.loc["mu_"]
    cov = aft.variance_matrix_.loc["mu_", "mu_"]
    sd = {k: float(np.std(v)) for k, v in cols.items() if not k.startswith("a")}
    if any(issubclass(w.category, ConvergenceWarning) for w in rec) or not np.isfinite(par.values).all() \
            or not np.isfinite(cov.values).all() or max(abs(par[k]) * sd[k] for k in sd) > SEPARATED_LOGHR:
        return "the AFT fit did not converge (monotone likelihood: a ratio separates grokked from censored runs)"
    # small-sample reference: without censoring the AFT MLE is OLS with the ML sigma, whose Wald z
    # over-rejects at n ~ 30 (z 1.645 vs t_24 1.71); t with dof = events - 7 parameters
    dof = max(int(event.sum()) - 7, 1)
    z = float(sps.t.ppf(1 - alpha, dof))
    out = []
    for name, c in (("c2(weak WD), log-normal AFT", {"c0": 1.0}),
                    ("c2(weak WD) - c2(WD=1), log-normal AFT", {"c0": 1.0, "c1": -1.0})):
        vec = np.array([c.get(k, 0.0) for k in par.index])
        v, se = float(vec @ par.values), float(math.sqrt(vec @ cov.values @ vec))
        p_g = float(sps.t.sf(v / se, dof)) if se > 0 else (0.0 if v > 0 else 1.0)
        out.append(Estimate(name, v, v - z * se, math.inf, alpha, p_g,
                            f"LogNormalAFTFitter (lifelines, right-censored), one-sided Wald vs t ({dof} dof)",
                            f"se {se:.3g}"))
    return out


def u_shape_verdict(x, t, wd, weak: float = 0.01, strong: float = 1.0, alpha: float = ALPHA, budget=None,
                    ok=None) -> Verdict:
    """Claim: at weak WD, t_grok vs x = log r is U-shaped (curvature > 0) and more so than at WD = 1.

    t: grok step per run, NaN = not within the run's budget: right-censored there
    (grokcore.decide.survival.times; ``budget`` scalar or per run, default just after the last
    observed step); ``ok`` False = diverged (excluded).
    No ratio is dropped: ``_aft_curvature`` fits log t = a_w + b_w x + c_w x^2 per WD in a
    censored log-normal AFT model. supported: c(weak) > 0 and c(weak) - c(WD=1) > 0,
    one-sided Wald at alpha each; refuted: c(weak) < 0 (the opposite one-sided Wald p < alpha);
    inconclusive otherwise, including < 3 ratios or < 2 grokked runs at a WD (no curvature),
    or a fit that does not converge."""
    from grokcore.decide import survival

    x, t, wd = (np.asarray(v, float) for v in (x, t, wd))
    sel = (wd == weak) | (wd == strong)
    if budget is None:
        budget = float(np.nanmax(t)) + 1.0 if np.isfinite(t).any() else 1.0
    bud = np.broadcast_to(np.asarray(budget, float), t.shape)
    okm = np.ones(t.shape, bool) if ok is None else np.asarray(ok, bool)
    keep = sel & okm
    T = survival.times(t[keep], bud[keep], None)
    x, wd = x[keep], wd[keep]
    claimed = "curvature(weak) > 0 and > curvature(WD=1)"
    n_div = int((sel & ~okm).sum())
    txt = ", ".join(f"WD={w:g}: {int(T.event[wd == w].sum())}/{int((wd == w).sum())} grokked over "
                    f"{np.unique(x[wd == w]).size} ratios" for w in (weak, strong))
    txt += f"; {n_div} diverged runs excluded" if n_div else ""
    power = ("needs >= 3 ratios per WD with grokked runs at several of them (censored runs enter as censored; "
             "the seed gives WD = 0.01 200k steps at p = 97); " + txt)
    short = [w for w in (weak, strong) if np.unique(x[wd == w]).size < 3 or T.event[wd == w].sum() < 2]
    if short:
        return Verdict(INCONCLUSIVE, None, alpha, f"curvature not estimable at WD = {short}: {txt}", claimed,
                       power=power)
    fit = _aft_curvature(x, T.duration, T.event, wd, weak, strong, alpha)
    if isinstance(fit, str):
        return Verdict(INCONCLUSIVE, None, alpha, f"curvature not estimable: {fit}; {txt}", claimed, power=power)
    c_weak, c_diff = fit
    if c_weak.p < alpha and c_diff.p < alpha:
        return Verdict(SUPPORTED, c_weak, alpha, f"c(weak) = {c_weak.value:.3g} (lower bound {c_weak.lo:.3g}), "
                                                 f"difference {c_diff.value:.3g} (lower bound {c_diff.lo:.3g}); {txt}",
                       claimed, power=power)
    p_less = 1 - c_weak.p
    if p_less < alpha:
        return Verdict(REFUTED, c_weak, alpha, f"c(weak) = {c_weak.value:.3g}: one-sided Wald p (< 0) = {p_less:.3g}; "
                                               f"{txt}", claimed, power=power)
    return Verdict(INCONCLUSIVE, c_weak, alpha, f"c(weak) = {c_weak.value:.3g} (p = {c_weak.p:.3g}), difference "
                                                f"{c_diff.value:.3g} (p = {c_diff.p:.3g}); {txt}", claimed, power=power)


def capacity_u_shape_rule(hs, rule: DetectRule = BASE_RULE, alpha: float = ALPHA, note: str = "") -> Verdict:
    """capacity-u-shape: at weak regularization (WD = 0.01), is grok step vs log capacity ratio
    U-shaped, and more so than at WD = 1?

    Every WD = 0.01 and WD = 1 run enters, right-censored at its own budget when it does not grok
    (diverged runs excluded): a log-normal AFT (lifelines) of t_grok with a quadratic in log r per
    WD (u_shape_verdict). Supported if the curvature c2(0.01) > 0 and c2(0.01) - c2(1) > 0 (one-sided
    Wald vs t, alpha = 0.05 each); refuted if c2(0.01) < 0 at alpha; inconclusive with fewer than 3
    ratios or 2 grokked runs per WD, or a fit that does not converge. Not decided: the position of
    the U's minimum, nor intermediate WD."""
    hs = [h for h in hs if h.config.optim.weight_decay in (0.01, 1.0)]
    budget = np.array([float(h.config.steps) for h in hs])
    ok = np.array([h.status == "ok" for h in hs])
    return _with_note(u_shape_verdict(log_ratio(hs), grok_steps(hs, rule), wd_of(hs), 0.01, 1.0, alpha, budget, ok),
                      note)


def u_shape_stats(hs) -> list[dict]:
    """Recorded beside capacity-u-shape's verdict: grokked runs per WD."""
    wd, t = wd_of(hs), grok_steps(hs)
    return [dict(name=f"WD={w:g}: grokked runs", est=f"{int(np.isfinite(t[wd == w]).sum())}/{int((wd == w).sum())}")
            for w in (0.01, 1.0)]


# ------------------------------------------------------------------ wd-shifts-boundary


def wd_shift_verdict(x, y, wd, wds=tuple(WDS), alpha: float = ALPHA, budgets: dict | None = None,
                     converged: dict | None = None) -> Verdict:
    """Claim: the capacity boundary moves with weight decay (no direction stated).

    For each WD pair, an exact stratified (by ratio) comparison of grok success: if the boundary
    moves, P(grok | ratio) differs between the WDs at the ratios near it. Two-sided p = 2 x the
    smaller one-sided p (stratified_exact); Holm over the pairs (stats.holm, stopping at the
    first non-rejection). supported: some pair rejects (its direction is reported: the WD whose
    runs grok more has its boundary at smaller ratios); never refuted (a two-sided claim with no
    equivalence margin: "no shift" is only "not detected", inconclusive). The effect is the
    pooled grok-rate difference of the headline pair (smallest p) with a Newcombe CI at that
    pair's Holm level. A shift that rests on a few grokked runs cannot reach significance: the
    exact test's smallest attainable p is reported as the power. ``converged`` (WD -> (bool, text)):
    when given, support also needs a rejected pair whose two boundaries have both converged in
    budget (budget_check's test), else inconclusive."""
    x, y, wd = (np.asarray(v, float) for v in (x, y, wd))
    pairs = [(a, b) for i, a in enumerate(wds) for b in wds[i + 1:]]
    rows = []
    for a, b in pairs:
        k1, n1, k2, n2 = _strata(x, y, wd, a, b)
        if not k1:
            rows.append((a, b, math.nan, math.nan, math.nan, (k1, n1, k2, n2)))
            continue
        pg, pl, pmin = stratified_exact(k1, n1, k2, n2)
        rows.append((a, b, min(1.0, 2 * min(pg, pl)), pmin, pg, (k1, n1, k2, n2)))
    ps = [r[2] for r in rows]
    rej = stats.holm([1.0 if math.isnan(p) else p for p in ps], alpha)
    levels = stats.holm_levels([1.0 if math.isnan(p) else p for p in ps], alpha)
    order = np.argsort([np.inf if math.isnan(p) else p for p in ps], kind="stable")
    head = int(order[0])
    a, b, p, pmin, pg, (k1, n1, k2, n2) = rows[head]
    K1, N1, K2, N2 = sum(k1), sum(n1), sum(k2), sum(n2)
    conf = ""
    if budgets and len({budgets.get(w) for w in wds}) == 1:
        conf = (f"; every WD trained {budgets[wds[0]]} steps (the seed gives WD 1 / 0.1 / 0.01 20k / 100k / 200k): a "
                "difference at equal budget is confounded with the slower grokking of weak WD")
    power = "; ".join(f"WD {r[0]:g} vs {r[1]:g}: {sum(r[5][0])}/{sum(r[5][1])} vs {sum(r[5][2])}/{sum(r[5][3])} grokked, "
                      f"smallest attainable two-sided p = {r[3]:.3g}" for r in rows)
    power += (f" (Holm levels {', '.join(f'{lv:.3g}' for lv in sorted(levels))}): a pair can only reject when the grokked "
              "runs concentrate at one WD within the same ratios, about 4+ more grokked runs at one WD")
    claimed = "boundary differs between some WD pair"
    if math.isnan(p) or N1 == 0 or N2 == 0:
        return Verdict(INCONCLUSIVE, None, alpha, "no ratio shared by a WD pair", claimed, power=power)
    e = stats.rate_difference(K1, N1, K2, N2, alpha=levels[head])
    e = Estimate(f"grok rate WD={a:g} - WD={b:g} (pooled over ratios)", e.value, e.lo, e.hi, levels[head], p,
                 "exact stratified (by ratio) conditional test, two-sided; Newcombe CI at the Holm level",
                 f"{K1}/{N1} vs {K2}/{N2}")
    detail = "; ".join(f"WD {r[0]:g} vs {r[1]:g}: p = {r[2]:.3g}{' (rejected)' if rj else ''}" for r, rj in zip(rows, rej))
    # grid gate: the boundary of the headline pair's WD that groks more, where its difference lives
    w_more = a if K1 * N2 >= K2 * N1 else b
    sel = wd == w_more
    bnd = laws.firth_boundary(x[sel], y[sel], alpha=alpha) if 0 < y[sel].sum() < sel.sum() else None
    grid = {w_more: float(bnd.x50.value)} if bnd is not None and math.isfinite(bnd.x50.value) else {}
    if any(rej) and converged is not None:
        ok_pairs = [r for r, rj in zip(rows, rej) if rj and converged.get(r[0], (False,))[0]
                    and converged.get(r[1], (False,))[0]]
        if not ok_pairs:
            why = "; ".join(f"WD {w:g}: {converged[w][1]}" for w in sorted({w for r, rj in zip(rows, rej) if rj
                                                                         for w in r[:2]}, reverse=True) if w in converged)
            return Verdict(INCONCLUSIVE, e, alpha, f"Holm over {len(rows)} pairs at alpha = {alpha:g}: {detail}; but no "
                                                   f"rejected pair has both boundaries converged in budget ({why}): a "
                                                   "difference in grok success whose boundaries still move with the "
                                                   "budget cannot be told from slower grokking" + conf, claimed, grid,
                           power)
    if any(rej):
        dirs = [f"WD={r[0]:g} groks {'more' if r[4] < 0.5 else 'less'} than WD={r[1]:g} at equal ratio (boundary "
                f"{'lower' if r[4] < 0.5 else 'higher'})" for r, rj in zip(rows, rej) if rj]
        return Verdict(SUPPORTED, e, alpha, f"Holm over {len(rows)} pairs at alpha = {alpha:g}: {detail}; "
                                            + "; ".join(dirs) + conf, claimed, grid, power)
    return Verdict(INCONCLUSIVE, e, alpha, f"no pair rejects under Holm at alpha = {alpha:g}: {detail}{conf}", claimed,
                   grid, power)


def wd_shifts_boundary_rule(hs, rule: DetectRule = BASE_RULE, alpha: float = ALPHA, note: str = "") -> Verdict:
    """wd-shifts-boundary: does the capacity boundary move with weight decay (WD 1, 0.1, 0.01; the
    source states no direction)?

    For each WD pair an exact conditional test of equal grok success given the ratio
    (hypergeometric per ratio, convolved over ratios), two-sided; Holm over the pairs, stopping
    at the first non-rejection, alpha = 0.05 (wd_shift_verdict). Supported if some pair rejects
    (the direction is reported) and both of its boundaries have converged in budget: each WD's
    Firth r* is bounded at its budget T and at T/2 and the two agree (stats.agree,
    boundary_converged; a WD that never groks has no boundary to compare, so its 'shift' cannot be
    told from grokking later than the budget); never refuted (no direction or equivalence margin is claimed:
    'no shift' is only 'not detected', inconclusive). A shift carried by one or two grokked runs
    cannot reach significance (the smallest attainable p is in the power note). Where every WD
    trained the same budget (the seed gives 20k / 100k / 200k), the reason names the confound with
    weak WD's slower grokking."""
    y = grokked(hs, rule)
    wd = wd_of(hs)
    budgets = {w: int(h.config.steps) for h in hs for w in [h.config.optim.weight_decay]}
    wds = tuple(w for w in WDS if (wd == w).any())
    return _with_note(wd_shift_verdict(log_ratio(hs), y, wd, wds, alpha, budgets,
                                       converged={w: boundary_converged([h for h in hs if h.config.optim.weight_decay
                                                                         == w], rule, alpha) for w in wds}), note)


def boundary_converged(hs, rule: DetectRule = BASE_RULE, alpha: float = ALPHA) -> tuple[bool, str]:
    """(converged, text) for one WD's runs: the Firth boundary r* at each run's budget T and at T/2
    is finite with a finite CI at both, and the two agree (stats.agree)."""
    def r_star(runs):
        b = laws.firth_boundary(log_ratio(runs), grokked(runs, rule), alpha=alpha)
        e = b.x50
        if b.kind != "fit" or not all(math.isfinite(v) for v in (e.value, e.lo, e.hi)):
            k, n = int(grokked(runs, rule).sum()), len(runs)
            return None, f"no bounded boundary ({b.kind}, {k}/{n} grokked)"
        e = Estimate("r*", math.exp(e.value), math.exp(e.lo), math.exp(e.hi), alpha)
        return e, f"{e.value:.3g} [{e.lo:.3g}, {e.hi:.3g}]"
    full, tf = r_star(hs)
    hf, th = r_star(half(hs))
    ok = full is not None and hf is not None and stats.agree(hf, full)
    return ok, f"r* at T {tf}, at T/2 {th}" + (": converged" if ok else ": not converged")


def wd_shift_stats(hs, wds) -> list[dict]:
    """Recorded beside wd-shifts-boundary's verdict: per WD the grok rate (Wilson) and the Firth
    boundary x50 = log r* (reported, not decided)."""
    wd, x, y = wd_of(hs), log_ratio(hs), grokked(hs)
    out = []
    for w in wds:
        sel = wd == w
        out += [dict(name=f"WD={w:g}: grok rate", est=stats.wilson_ci(int(y[sel].sum()), int(sel.sum()))),
                dict(name=f"WD={w:g}: Firth x50 (log r)", est=laws.firth_boundary(x[sel], y[sel], alpha=ALPHA).x50)]
    return out


# ------------------------------------------------------------------ detection-robust

# What each re-derived claim's rule can return at all (its docstring): a change toward a verdict
# outside this set is impossible, and a claim with one reachable verdict cannot change at all.
REACH = {"capacity-boundary": (SUPPORTED, REFUTED, INCONCLUSIVE), "capacity-u-shape": (SUPPORTED, REFUTED, INCONCLUSIVE),
         "wd-shifts-boundary": (SUPPORTED, INCONCLUSIVE), "grok-delayed": (SUPPORTED, REFUTED, INCONCLUSIVE),
         "grok-wd-speeds": (SUPPORTED, REFUTED, INCONCLUSIVE), "grok-lazy-rich": (SUPPORTED, REFUTED, INCONCLUSIVE),
         "order-params (RQI)": (INCONCLUSIVE,)}
ORDER_REACH = (SUPPORTED, INCONCLUSIVE)  # every other order parameter: change_verdict never refutes


def reach(cid: str) -> tuple:
    """The verdicts claim ``cid``'s rule can return (REACH; order parameters other than RQI: ORDER_REACH)."""
    return REACH.get(cid, ORDER_REACH if cid.startswith("order-params") else (SUPPORTED, REFUTED, INCONCLUSIVE))


def changes_verdict(base: dict, table: dict, alpha: float = ALPHA) -> Verdict:
    """Claim: every detection-dependent verdict is the same under every detection rule.

    ``base`` maps claim -> its verdict under its own rule; ``table`` maps detection rule ->
    {claim -> verdict}. A change is any cell whose verdict differs from the claim's base verdict:
    supported <-> refuted, and decided <-> inconclusive alike (a verdict that becomes inconclusive
    under a stricter rule hinges on the rule as much as one that flips). Claims whose rule can
    return only one verdict (reach) cannot change and are left out, and named. refuted: any
    change; supported: no change, and at least one claim decided under its own rule (so that some
    decision was put at risk); inconclusive: no change but nothing decided anywhere (the robustness
    of decisions is then untested). No interval (the cells re-read the same runs): counts only."""
    fixed = sorted(c for c in base if len(reach(c)) < 2)
    cids = [c for c in base if c not in fixed]
    changes, kinds = [], {}
    for rk, row in table.items():
        for cid in cids:
            v, b = row.get(cid), base[cid]
            if v is not None and v != b:
                changes.append(f"{cid}: {b} -> {v} under {rk}")
                kinds[f"{b} -> {v}"] = kinds.get(f"{b} -> {v}", 0) + 1
    n_cells = sum(1 for row in table.values() for c in cids if c in row)
    decided = sorted(c for c in cids if base[c] != INCONCLUSIVE)
    can_refute = [c for c in cids if REFUTED in reach(c)]
    never = [c for c in cids if REFUTED not in reach(c)]
    what = (f"inputs that can refute: {', '.join(can_refute) or 'none'}; never refute (supported or inconclusive "
            f"only): {', '.join(never) or 'none'}; cannot change (one reachable verdict, left out): "
            f"{', '.join(fixed) or 'none'}")
    e = Estimate("verdict changes over (claim, detection rule) cells", float(len(changes)), float(len(changes)),
                 float(len(changes)), alpha, method="count of cells whose verdict differs from the claim's own rule's",
                 note=f"{n_cells} cells over {len(cids)} claims x {len(table)} rules; {len(decided)} claims decided "
                      "under their own rule")
    kind_txt = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
    counts = f"{len(changes)} changed cells of {n_cells} ({kind_txt or 'none'}); decided under their own rule: " \
             f"{', '.join(f'{c} ({base[c]})' for c in decided) or 'none'}"
    claimed = "= 0 changes"
    if changes:
        return Verdict(REFUTED, e, alpha, f"{counts}: " + "; ".join(changes[:10]) + ("; ..." if len(changes) > 10 else ""),
                       claimed, power=what)
    if not decided:
        return Verdict(INCONCLUSIVE, e, alpha, f"{counts}: no claim is decided under its own rule, so no decision was "
                                               "put at risk by the other rules", claimed,
                       power=what + "; needs claims that are decided at this scale")
    return Verdict(SUPPORTED, e, alpha, f"{counts}: every verdict is the same under all {len(table)} rules", claimed,
                   power=what)


def detection_robust_rule(data: dict) -> Verdict:
    """detection-robust: is every detection-dependent verdict the same when the grokking rule (test
    accuracy >= threshold for ``patience`` consecutive evaluations) varies over threshold
    {0.90, 0.95, 0.99} x patience {5, 10, 20}?

    data = detection_table: each claim's final verdict (its rule through the same gates as the
    claim) under its own rule ("base": seed 002's 0.95 x 10, seed 001's code 0.95 x 1) and under
    each of the 9 rules ("table"), from the same cached, full-length histories. Every change of
    verdict counts, supported <-> refuted and decided <-> inconclusive alike (changes_verdict):
    refuted if any cell changes; supported if none does and at least one claim is decided under its
    own rule; inconclusive if none changes and none is decided. Claims whose rule returns only one
    verdict (order-params RQI) cannot change and are left out; the card names which inputs can
    refute at all (wd-shifts-boundary and order-params never refute, so for them only
    supported <-> inconclusive can change). Counts only (the cells re-read the same runs: no
    interval). Why: the fixture's sentence is 'each verdict unchanged on all 9 rules'. Cannot
    detect: dependence on rules of another form (smoothed curves, loss-based detection)."""
    return changes_verdict(data["base"], data["table"])


def final_verdict(rule, data, perturb) -> str:
    """The verdict a claim would record: ``rule(data)`` through the gates (grokcore.decide.gates.decide);
    an inconclusive base verdict stays inconclusive, so its gates are not computed."""
    if rule(data).verdict == INCONCLUSIVE:
        return INCONCLUSIVE
    return gates.decide(rule, data, perturb).verdict


def verdicts002(hs002: list, rule: DetectRule) -> dict:
    """Seed-002 claim -> final verdict (its rule + gates) under detection ``rule``."""
    return {"capacity-boundary": final_verdict(partial(capacity_boundary_rule, rule=rule),
                                               [h for h in hs002 if h.config.optim.weight_decay == 1.0],
                                               perturbations()),
            "capacity-u-shape": final_verdict(partial(capacity_u_shape_rule, rule=rule), hs002, gates.for_histories()),
            "wd-shifts-boundary": final_verdict(partial(wd_shifts_boundary_rule, rule=rule), hs002,
                                                perturbations(by_wd=True))}


def verdicts001(runs001: dict, grok_rule) -> dict:
    """Seed-001 claim -> final verdict under grok rule (threshold, patience) (rules_empirical.rederive)."""
    return {cid: final_verdict(f, hs, gates.for_histories())
            for cid, (f, hs) in rules_empirical.rederive(runs001, grok_rule).items()}


def detection_table(hs002: list, runs001: dict) -> dict:
    """detection_robust_rule's data: every claim's verdict under its own rule ("base") and under
    each of the 9 rules of RULES ("table", keyed "threshold/patience")."""
    base = {**verdicts002(hs002, BASE_RULE), **verdicts001(runs001, rules_empirical.GROK_RULE)}
    table = {f"{r.threshold:.2f}/{r.patience}": {**verdicts002(hs002, r),
                                                   **verdicts001(runs001, (r.threshold, r.patience))} for r in RULES}
    return {"base": base, "table": table}


def detection_stats(data: dict) -> list[dict]:
    """Recorded beside detection-robust's verdict: the baseline verdicts and each rule's row."""
    return ([dict(name=f"baseline {cid}", est=v) for cid, v in data["base"].items()]
            + [dict(name=f"rule {rk}", est="; ".join(f"{k}: {v}" for k, v in row.items()))
               for rk, row in data["table"].items()])
