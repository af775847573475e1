"""Censored time-to-grok statistics (lifelines) and the verdict shapes built on them.

Every run of one sweep shares a step budget T. A run that never meets the grokking rule
within T has t_grok > T: right-censored at T (event = False, duration = T). A run that
diverged (status != "ok") has no time to grok at all, censored or not: it is excluded and
counted (``Times.n_diverged``), never ranked.

Estimators (lifelines, the field's library; nothing here re-implements them except the
vectorized scores of the power simulation, checked against lifelines in the tests):

  km_median     Kaplan-Meier median time to grok with its CI (Brookmeyer-Crowley, as
                lifelines.utils.median_survival_times on the KM confidence band); +inf when
                fewer than half the runs grok within the budget (the median is not reached).
  logrank_scores  r_i = delta_i - Lambda(t_i), Lambda the pooled Nelson-Aalen cumulative
                hazard (no tie smoothing): the log-rank scores. For a covariate x the
                log-rank trend statistic is U = sum_i x_i r_i (= the Cox score at beta = 0);
                for a group indicator it is O - E of the group, the two-sample log-rank
                numerator. U > 0: larger x -> more events than expected -> groks sooner.
  perm_pvalues  one-sided permutation p of U in each direction. Censoring at a common
                budget is independent of x under H0 (same T for every run), so the labels
                are exchangeable and the permutation test is exact for any sample size,
                with ties, heavy censoring and perfectly separated data (where the Cox or
                AFT MLE diverges but U is finite). Exact enumeration for two groups with at
                most ``n_perm`` arrangements, else ``n_perm`` seeded shuffles,
                p = (1 + #{U* >= U}) / (1 + n_perm).
  cox_effect    the effect size: CoxPHFitter log hazard ratio per unit x with its Wald CI
                (level 1 - alpha). With monotone partial likelihood (x separates the
                grokked from the censored runs) the MLE is infinite: lifelines warns or
                fails to converge; the effect is then reported as +-inf with the half-line
                on the side of the observed score and a note saying so (the verdict is
                decided by the permutation p, which needs no fit).

Verdict shapes (re-exported by grokcore.decide.verdicts): ``trend_verdict`` (times rise or fall
with an ordered covariate), ``two_groups_verdict`` (group a groks later / sooner than b).
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from grokcore.decide.stats import Estimate
from grokcore.decide.verdicts import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    Verdict,
    check_side,
    fmt_estimate,
)

N_PERM = 20000  # permutations: exact up to this many arrangements, else this many seeded shuffles
SEPARATED_LOGHR = 10.0  # |beta| * sd(x) above this: the hazard changes e^10-fold per sd of x, a diverging fit


@dataclass(frozen=True)
class Times:
    """Right-censored times to grok: duration (n,) steps, event (n,) grokked within the budget;
    diverged runs already removed (their count in n_diverged, ``keep`` marks the kept inputs)."""

    duration: np.ndarray
    event: np.ndarray
    keep: np.ndarray
    n_diverged: int
    budget: float  # the largest censoring step


def times(t, budget, ok=None) -> Times:
    """t (n,): first grok step; NaN or +inf = not within the budget (censored at ``budget``).
    ok (n,) bool: False for a diverged run (excluded; default: every run ok). Observed steps
    above the budget are an input error (ValueError): the budget is the censoring time."""
    t = np.asarray(t, float)
    ok = np.ones(t.shape, bool) if ok is None else np.asarray(ok, bool)
    if ok.shape != t.shape:
        raise ValueError(f"ok has shape {ok.shape}, t has {t.shape}")
    b = np.broadcast_to(np.asarray(budget, float), t.shape)
    if t.size and not (b > 0).all():
        raise ValueError(f"budget must be > 0, got {budget}")
    event = np.isfinite(t)
    if (t[event & ok] > b[event & ok]).any():
        raise ValueError("observed steps above the budget: the budget is the censoring time")
    dur = np.where(event, t, b)
    return Times(dur[ok], event[ok], ok, int((~ok).sum()), float(b.max()) if b.size else math.nan)


def km_median(duration, event, alpha: float = 0.05, name: str = "KM median steps to grok") -> Estimate:
    """Kaplan-Meier median of right-censored times with its level 1 - alpha CI (lifelines:
    the median of the exponential-Greenwood confidence band). +inf where not reached."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    d, e = np.asarray(duration, float), np.asarray(event, bool)
    if d.size == 0:
        return Estimate(name, math.nan, math.nan, math.nan, alpha, note="no runs")
    with warnings.catch_warnings():  # small-sample warnings: the statuses are in the Estimate's note
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter(alpha=alpha).fit(d, e)
        ci = median_survival_times(kmf.confidence_interval_)
    lo, hi = (float(v) for v in np.asarray(ci, float).ravel()[:2])
    return Estimate(name, float(kmf.median_survival_time_), lo, hi, alpha, method="Kaplan-Meier (lifelines)",
                    note=f"{int(e.sum())}/{e.size} grokked")


def logrank_scores(duration, event) -> np.ndarray:
    """Log-rank scores r_i = delta_i - Lambda_NA(t_i) of the pooled sample (lifelines
    NelsonAalenFitter, no tie smoothing: jumps d_j / n_j). sum_i r_i = 0."""
    from lifelines import NelsonAalenFitter

    d, e = np.asarray(duration, float), np.asarray(event, bool)
    if not e.any():
        return np.zeros(d.size)
    with warnings.catch_warnings():  # small-sample warnings: the statuses are in the Estimate's note
        warnings.simplefilter("ignore")
        naf = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(d, e)
        lam = np.asarray(naf.cumulative_hazard_at_times(d), float)
    return e.astype(float) - lam


def logrank_scores_rows(duration: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``logrank_scores`` per row of (D, n) arrays, vectorized for the power simulations:
    at risk n_j = #{k: t_k >= t_j}, jump_j = delta_j / n_j, Lambda(t_i) = sum_{t_j <= t_i} jump_j."""
    d, e = np.asarray(duration, float), np.asarray(event, float)
    at_risk = (d[:, None, :] >= d[:, :, None]).sum(-1)  # (D, n): runs still at risk at t_j
    jump = e / at_risk
    lam = ((d[:, None, :] <= d[:, :, None]) * jump[:, None, :]).sum(-1)  # (D, n)
    return e - lam


def _arrangements(x: np.ndarray, n_perm: int, seed: int) -> tuple[np.ndarray, str]:
    """(P, n) permuted copies of x: every distinct arrangement of a two-valued x when there are
    at most n_perm of them (exact), else n_perm seeded shuffles (Monte Carlo)."""
    vals = np.unique(x)
    n = x.size
    if vals.size == 2:
        k = int((x == vals[1]).sum())
        if math.comb(n, k) <= n_perm:
            out = np.full((math.comb(n, k), n), vals[0])
            for r, idx in enumerate(itertools.combinations(range(n), k)):
                out[r, list(idx)] = vals[1]
            return out, f"exact ({out.shape[0]} arrangements)"
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(x, (n_perm, 1)), axis=1), f"Monte Carlo ({n_perm} shuffles, seed {seed})"


def perm_pvalues(x, scores, n_perm: int = 5000, seed: int = 0) -> tuple[float, float, float, str]:
    """(U, p_pos, p_neg, method): U = sum_i (x_i - mean x) r_i; p_pos = P(U* >= U), p_neg =
    P(U* <= U) under permutations of x (exact enumeration counts the observed arrangement
    among all, Monte Carlo adds it: (1 + hits) / (1 + n_perm))."""
    x, r = np.asarray(x, float), np.asarray(scores, float)
    xc = x - x.mean()
    u = float(xc @ r)
    perms, how = _arrangements(xc, n_perm, seed)
    up = perms @ r
    tol = 1e-9 * (1.0 + np.abs(r).sum() * np.abs(xc).max())
    hi, lo = int((up >= u - tol).sum()), int((up <= u + tol).sum())
    if how.startswith("exact"):
        return u, hi / up.size, lo / up.size, how
    return u, (1 + hi) / (1 + up.size), (1 + lo) / (1 + up.size), how


def cox_effect(x, duration, event, alpha: float = 0.05, u: float = 0.0,
               name: str = "Cox log hazard ratio per unit x") -> Estimate:
    """CoxPHFitter (lifelines, Efron ties) of the hazard of grokking on x: log HR per unit x
    with its Wald CI at level 1 - alpha and Wald p (two-sided). > 0: larger x groks sooner.
    Needs >= 2 events and a non-constant x, else value NaN with the reason in the note. A fit
    that does not converge or whose |beta| * sd(x) > SEPARATED_LOGHR (monotone likelihood:
    x separates grokked from censored runs) is reported as sign(u) * inf, CI the half-line on
    that side, note "separated" (u: the log-rank score, whose sign is the direction)."""
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    x, d, e = np.asarray(x, float), np.asarray(duration, float), np.asarray(event, bool)
    nan = Estimate(name, math.nan, math.nan, math.nan, alpha, method="CoxPHFitter (lifelines)")
    if e.sum() < 2 or np.ptp(x) == 0:
        return Estimate(**{**nan.__dict__, "note": f"{int(e.sum())} events, {np.unique(x).size} x values: no fit"})

    def separated(why: str) -> Estimate:
        s = 1.0 if u > 0 else -1.0 if u < 0 else 0.0
        lo, hi = (0.0, math.inf) if s > 0 else (-math.inf, 0.0) if s < 0 else (-math.inf, math.inf)
        return Estimate(name, s * math.inf if s else math.nan, lo, hi, alpha, method="CoxPHFitter (lifelines)",
                        note=f"separated: {why}; the MLE is infinite, the half-line is the side of the log-rank score")

    df = pd.DataFrame({"x": x, "t": d, "e": e.astype(int)})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter(alpha=alpha).fit(df, "t", "e")
        except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as err:
            return separated(f"the fit failed ({type(err).__name__})")
    row = cph.summary.loc["x"]
    b, se = float(row["coef"]), float(row["se(coef)"])
    lo, hi = float(row[f"coef lower {100 * (1 - alpha):g}%"]), float(row[f"coef upper {100 * (1 - alpha):g}%"])
    conv = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    if conv or not all(map(math.isfinite, (b, se, lo, hi))) or abs(b) * float(np.std(x)) > SEPARATED_LOGHR:
        return separated("lifelines did not converge" if conv else f"|beta| * sd(x) = {abs(b) * np.std(x):.3g}")
    return Estimate(name, b, lo, hi, alpha, float(row["p"]), "CoxPHFitter (lifelines), Wald CI",
                    f"se {se:.3g}")


# ------------------------------------------------------------------ verdict shapes

def _fmt_km(e: Estimate) -> str:
    return f"{e.value:.4g} [{e.lo:.4g}, {e.hi:.4g}] ({e.note})"


def _decide(eff: Estimate, p_claim: float, p_opp: float, alpha: float, claimed: str, context: str, power: str):

    txt = (f"{fmt_estimate(eff)}; one-sided permutation log-rank p = {p_claim:.3g} (claimed direction), {p_opp:.3g} "
           f"(opposite); {context}")
    if p_claim < alpha:
        return Verdict(SUPPORTED, eff, alpha, f"{txt}: the claimed direction rejects at alpha = {alpha:g}", claimed,
                       power=power)
    if p_opp < alpha:
        return Verdict(REFUTED, eff, alpha, f"{txt}: the opposite one-sided test rejects at alpha = {alpha:g}",
                       claimed, power=power)
    return Verdict(INCONCLUSIVE, eff, alpha, f"{txt}: neither direction significant at alpha = {alpha:g}", claimed,
                   power=power)


def _with_p(eff: Estimate, p: float, how: str) -> Estimate:
    from dataclasses import replace

    wald = f"Wald p {eff.p:.3g}; " if eff.p is not None else ""
    return replace(eff, p=p, method=f"{eff.method}; p: one-sided permutation log-rank, {how}",
                   note=f"{wald}{eff.note}".strip("; "))


def trend_verdict(x, t, budget: float, side: str, alpha: float = 0.05, ok=None, what: str = "",
                  n_perm: int = 5000, seed: int = 0):
    """Claim: the time to grok increases (side="greater") or decreases ("less") with x.

    t (n,): grok steps, NaN / inf = censored at ``budget``; ok: False for diverged runs
    (excluded, counted). Decided by the log-rank trend statistic U = sum (x_i - mean x) r_i
    (``logrank_scores``; U > 0: larger x groks sooner) with one-sided permutation p in each
    direction (``perm_pvalues``): supported if the claimed direction's p < alpha, refuted if
    the opposite one's is, else inconclusive. The effect is the Cox log hazard ratio per unit
    x (``cox_effect``; a rising time is a falling hazard: claimed log HR < 0 for "greater")
    carrying the claimed-direction permutation p. Inconclusive with the reason, never an
    exception, for < 3 runs, a constant x or no run grokked."""

    check_side(side)
    what = what or "Cox log HR per unit x"
    claimed = f"log HR {'<' if side == 'greater' else '>'} 0 (time to grok {'rises' if side == 'greater' else 'falls'})"
    x_all = np.asarray(x, float)
    T = times(t, budget, ok)
    x = x_all[T.keep]
    k, n = int(T.event.sum()), int(T.event.size)
    div = f", {T.n_diverged} diverged runs excluded" if T.n_diverged else ""
    levels = np.unique(x)
    power = f"{n} runs over {levels.size} x values, {k} grokked within {budget:g} steps{div}"
    if n < 3 or levels.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: {n} runs, {levels.size} x values: no trend to test{div}",
                       claimed, power=power)
    if k == 0:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: no run grokked within {budget:g} steps (every run "
                                                  f"censored: no ordering of times){div}", claimed,
                       power=power + "; needs a budget at which some runs grok")
    u, p_pos, p_neg, how = perm_pvalues(x, logrank_scores(T.duration, T.event), n_perm, seed)
    p_claim, p_opp = (p_neg, p_pos) if side == "greater" else (p_pos, p_neg)
    eff = _with_p(cox_effect(x, T.duration, T.event, alpha, u, what), p_claim, how)
    per = ""
    if levels.size <= 8:
        per = "; KM median per x: " + ", ".join(
            f"{lv:g}: {_fmt_km(km_median(T.duration[x == lv], T.event[x == lv], alpha))}" for lv in levels)
    return _decide(eff, p_claim, p_opp, alpha, claimed, f"{k}/{n} grokked{div}{per}", power)


def two_groups_verdict(ta, tb, budget: float, side: str, alpha: float = 0.05, ok_a=None, ok_b=None,
                       what: str = "", n_perm: int = N_PERM, seed: int = 0):
    """Claim: group a's time to grok exceeds b's (side="greater") or falls below it ("less").

    The two-sample log-rank test as the trend test of ``trend_verdict`` on x = 1 (a) / 0 (b):
    U = O_a - E_a (centred), exact permutation p when the groups allow <= n_perm
    arrangements (e.g. 5 vs 5: 252), else n_perm shuffles. The effect is the Cox log hazard
    ratio of a vs b (> 0: a groks sooner; claimed < 0 for "greater"); the KM medians of both
    groups with their CIs are in the reason. Inconclusive (never an exception) with < 2 runs
    in a group or no run grokked in either."""

    check_side(side)
    what = what or "Cox log HR, a vs b"
    claimed = f"log HR {'<' if side == 'greater' else '>'} 0 (a groks {'later' if side == 'greater' else 'sooner'})"
    A, B = times(ta, budget, ok_a), times(tb, budget, ok_b)
    div = A.n_diverged + B.n_diverged
    divt = f", {div} diverged runs excluded" if div else ""
    ka, kb, na, nb = int(A.event.sum()), int(B.event.sum()), A.event.size, B.event.size
    power = _two_group_min_p(na, nb)
    if na < 2 or nb < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: {na} vs {nb} runs: fewer than 2 in a group{divt}",
                       claimed, power=power)
    if ka + kb == 0:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: no run grokked within {budget:g} steps in either group "
                                                  f"({na} vs {nb} censored){divt}", claimed,
                       power=power + "; needs a budget at which some runs grok")
    x = np.r_[np.ones(na), np.zeros(nb)]
    d, e = np.r_[A.duration, B.duration], np.r_[A.event, B.event]
    u, p_pos, p_neg, how = perm_pvalues(x, logrank_scores(d, e), n_perm, seed)
    p_claim, p_opp = (p_neg, p_pos) if side == "greater" else (p_pos, p_neg)
    eff = _with_p(cox_effect(x, d, e, alpha, u, what), p_claim, how)
    ma, mb = km_median(A.duration, A.event, alpha), km_median(B.duration, B.event, alpha)
    ctx = f"KM median a {_fmt_km(ma)}, b {_fmt_km(mb)}{divt}"
    return _decide(eff, p_claim, p_opp, alpha, claimed, ctx, power)


def min_perm_p(na: int, nb: int, n_perm: int = N_PERM) -> str:
    """The smallest one-sided p the two-group permutation test can give, as it computes it:
    1/C(na + nb, na) when it enumerates (<= n_perm arrangements), else 1/(n_perm + 1)."""
    arrangements = math.comb(na + nb, na)
    if arrangements <= n_perm:
        return f"1/C({na + nb}, {na}) = {1 / arrangements:.3g} (exact)"
    return f"{1 / (n_perm + 1):.3g} (Monte Carlo, {n_perm} shuffles)"


def _two_group_min_p(na: int, nb: int) -> str:
    if na < 1 or nb < 1:
        return f"{na} vs {nb} runs: an empty group"
    return (f"{na} vs {nb} runs: smallest one-sided permutation log-rank p = {min_perm_p(na, nb)} "
            "(every run of one group before every run of the other)")


# ------------------------------------------------------------------ power (simulation)

def logrank_p_rows(duration: np.ndarray, event: np.ndarray, na: int, n_perm: int = N_PERM, seed: int = 0) -> np.ndarray:
    """Per row of (D, n) arrays whose first ``na`` columns are group a: the one-sided permutation
    log-rank p that a groks sooner (U > 0), as two_groups_verdict computes it (exact when the
    groups allow <= n_perm arrangements, else n_perm shuffles shared by every row)."""
    n = duration.shape[1]
    xc = np.r_[np.ones(na), np.zeros(n - na)]
    xc = xc - xc.mean()
    r = logrank_scores_rows(duration, event)  # (D, n)
    perms, how = _arrangements(xc, n_perm, seed)  # (P, n)
    u, up = r @ xc, r @ perms.T  # (D,), (D, P)
    tol = 1e-9 * (1.0 + np.abs(r).sum(1, keepdims=True) * np.abs(xc).max())
    hits = (up >= u[:, None] - tol).sum(1)
    return hits / perms.shape[0] if how.startswith("exact") else (1 + hits) / (1 + perms.shape[0])


def logrank_power(k: int, speedup: float, median: float, sd_log: float, budget: float, alpha: float = 0.05,
                  draws: int = 400, seed: int = 0, leave_one_out: bool = True, n_perm: int = N_PERM) -> float:
    """Power of two_groups_verdict ("a groks sooner") with k runs per arm (+ the seed gate if
    leave_one_out: supported on all k and on every k - 1 vs k - 1 subset) when a's times are
    b's divided by ``speedup``: b log-normal (median, sd_log), a the same law / speedup, both
    right-censored at ``budget``. Monte Carlo over ``draws`` seeded data sets (se <= 0.025 at 400)."""
    rng = np.random.default_rng(seed)
    b = np.exp(rng.normal(math.log(median), sd_log, (draws, k)))
    a = np.exp(rng.normal(math.log(median / speedup), sd_log, (draws, k)))
    t = np.concatenate([a, b], 1)
    d, e = np.minimum(t, budget), t <= budget
    ok = logrank_p_rows(d, e, k, n_perm) < alpha
    if leave_one_out:
        for r in range(k):
            keep = np.r_[np.arange(k) != r, np.arange(k) != r]
            ok &= logrank_p_rows(d[:, keep], e[:, keep], k - 1, n_perm) < alpha
    return float(ok.mean())
