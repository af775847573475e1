"""Boundaries and scaling laws: where P(generalize) crosses 1/2, and how that point scales with M.

* firth_boundary:       the 50% point x50 = -b0/b1 of P(y = 1 | x) = expit(b0 + b1 x) by Firth's
                        penalized ML (finite under separation), profile penalized-likelihood CIs
* compare_scaling_laws: n*(M) under c M log M, c M, c M^2 and the power law c M^k, weighted
                        least squares on log n*, chi^2 fit tests, AIC

Results are frozen dataclasses (``Boundary``, ``LawFit``) holding ``stats.Estimate``s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import statsmodels.api as sm
from scipy import optimize, special
from scipy import stats as sps

from grokcore.decide.stats import INF, Estimate, Record, finite_pairs, t_quantile


@dataclass(frozen=True)
class Boundary(Record):
    x50: Estimate  # x where P(y = 1) = 1/2
    slope: Estimate  # logistic slope per unit x (sharpness); p tests slope = 0
    kind: str  # "fit" | "separated" | "all_fail" | "all_success" | "too_few"
    bracket: tuple[float, float] | None = None


@dataclass(frozen=True)
class LawFit(Record):
    law: str
    c: Estimate  # n* = c * f(M)
    k: Estimate | None  # exponent, power law only
    aic: float
    chi2: float
    dof: int
    p_fit: float  # chi^2 goodness-of-fit p; small p rejects the law
    rejected: bool
    delta_aic: float = 0.0  # aic - min(aic) over the compared laws
    note: str = ""



# --------------------------------------------------------------- boundaries

def _binary_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = finite_pairs(x, y, ("x", "y"), min_n=1)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0 and 1")
    return x, y


def _degenerate_boundary(x: np.ndarray, y: np.ndarray, alpha: float, min_distinct: int) -> Boundary | None:
    """A Boundary for data with no transition to fit (one outcome only: the 50% point lies
    beyond the sampled range; fewer than ``min_distinct`` x values), else None."""
    nan_slope = Estimate("slope", math.nan, math.nan, math.nan, alpha)
    if y.sum() in (0, y.size):
        kind, bracket = ("all_fail", (float(x.max()), INF)) if y.sum() == 0 else ("all_success", (-INF, float(x.min())))
        note = f"{kind}: 50% point lies outside the sampled x range"
        return Boundary(Estimate("x50", math.nan, *bracket, alpha, method="range bound", note=note),
                        nan_slope, kind, bracket)
    if np.unique(x).size < min_distinct:
        note = f"only {np.unique(x).size} distinct x: no boundary fitted"
        return Boundary(Estimate("x50", math.nan, math.nan, math.nan, alpha, note=note), nan_slope, "too_few")
    return None


def _separation_bracket(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """The gap that separates failures from successes (either orientation), or None.
    Complete separation: (max x of the low group, min x of the high group); quasi-
    separation (both outcomes only at one x = a): the neighbouring x on either side."""
    for ys in (y, 1 - y):
        a, b = x[ys == 0].max(), x[ys == 1].min()
        if a < b:
            return float(a), float(b)
        if a == b:
            below, above = x[x < a], x[x > a]
            return float(below.max()) if below.size else -INF, float(above.min()) if above.size else INF
    return None


def _firth_ll(a0, a1, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Firth-penalized log-likelihood l*(a) = l(a) + 1/2 log det I(a) of the logit model
    eta = a0 + a1 z, for arrays of (a0, a1) (broadcast; result has their shape):
    l = a0 sum y + a1 sum y z - sum log(1 + e^eta),  det I = S0 S2 - S1^2,
    S_k = sum w z^k, w = p (1 - p). z should be centred and scaled (conditioning)."""
    a0, a1 = np.asarray(a0, float), np.asarray(a1, float)
    eta = a0[..., None] + a1[..., None] * z
    e = np.exp(-np.abs(eta))
    q = 1 / (1 + e)
    w = e * q * q
    ll = a0 * y.sum() + a1 * (y @ z) - (np.maximum(eta, 0.0) - np.log(q)).sum(-1)
    with np.errstate(all="ignore"):
        s0, s1, s2 = w.sum(-1), w @ z, w @ (z * z)
        out = ll + 0.5 * np.log(s0 * s2 - s1 * s1)
    return np.where(np.isnan(out), -INF, out)


def _firth_fit(z: np.ndarray, y: np.ndarray, iters: int = 100) -> tuple[np.ndarray, float]:
    """Firth (1993) estimate: Fisher scoring on the modified score
    U*_j = sum_i (y_i - p_i + h_i (1/2 - p_i)) z_ij, h = diag of W^1/2 Z (Z'WZ)^-1 Z' W^1/2,
    steps capped at 5 and halved until l* does not decrease."""
    Z, b = np.column_stack([np.ones_like(z), z]), np.zeros(2)
    cur = float(_firth_ll(b[0], b[1], z, y))
    for _ in range(iters):
        p = special.expit(Z @ b)
        w = p * (1 - p)
        info_inv = np.linalg.inv((Z * w[:, None]).T @ Z)
        h = w * np.einsum("ij,jk,ik->i", Z, info_inv, Z)
        step = info_inv @ (Z.T @ (y - p + h * (0.5 - p)))
        step *= min(1.0, 5.0 / max(np.abs(step).max(), 1e-300))
        for _ in range(40):
            new = float(_firth_ll(b[0] + step[0], b[1] + step[1], z, y))
            if new >= cur - 1e-12:
                break
            step /= 2
        b, cur = b + step, max(cur, new)
        if np.abs(step).max() < 1e-10:
            break
    return b, cur


def _max_zoom(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray,
              n0: int = 81, n1: int = 15, rounds: int = 4) -> np.ndarray:
    """Row-wise max over t in [lo_r, hi_r] of f(t) (f maps (R, K) -> (R, K)): a grid of n0
    points, then ``rounds`` zooms of n1 points onto the neighbours of the best one."""
    best = np.full(lo.shape, -INF)
    a, b, n = lo.astype(float), hi.astype(float), n0
    for _ in range(rounds + 1):
        t = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, n)
        v = f(t)
        i = v.argmax(1)
        best = np.maximum(best, v[np.arange(len(t)), i])
        step = (b - a) / (n - 1)
        ti = t[np.arange(len(t)), i]
        a, b, n = np.maximum(ti - step, lo), np.minimum(ti + step, hi), n1
    return best


def _profile_interval(prof: Callable[[np.ndarray], np.ndarray], center: float, lim: tuple[float, float],
                      l_max: float, crit: float) -> tuple[float, float]:
    """{theta : 2 (l_max - prof(theta)) <= crit} around ``center``: scan outward on a
    geometric grid to the limits, then brentq in the first bracket that crosses; an end
    with no crossing inside ``lim`` is -inf / +inf."""
    u = np.geomspace(1e-3, 1.0, 16)
    sides = [(-1, center - lim[0]), (1, lim[1] - center)]
    vals = prof(np.concatenate([[center], *(center + sgn * max(span, 0.0) * u for sgn, span in sides)]))
    l_max = max(l_max, float(vals.max()))  # the profile at the estimate is l*_max up to rounding
    g = lambda t: 2 * (l_max - float(prof(np.array([t]))[0])) - crit
    ends = []
    for k, (sgn, span) in enumerate(sides):
        gv = 2 * (l_max - vals[1 + 16 * k:1 + 16 * (k + 1)]) - crit
        cross = np.flatnonzero(gv > 0)
        if span <= 0 or not cross.size:
            ends.append(sgn * INF)
            continue
        j = cross[0]
        inner = center if j == 0 else center + sgn * span * u[j - 1]
        ends.append(float(optimize.brentq(g, inner, center + sgn * span * u[j], xtol=1e-6)))
    return ends[0], ends[1]


def firth_boundary(x, y, alpha: float = 0.05) -> Boundary:
    """50% point x50 = -b0/b1 of P(y = 1 | x) = expit(b0 + b1 x) by Firth's penalized ML,
    finite also under complete or quasi separation (where the MLE slope is infinite).

    Maximizes l*(b) = l(b) + 1/2 log det I(b), I = X'WX (Jeffreys prior), by Fisher scoring
    on Firth's modified score with step halving, x centred and scaled. CIs are profile
    penalized-likelihood intervals at level 1 - alpha, c = chi2_1(1 - alpha):
      x50:   eta = s (x - m); l*_p(m) = max_s l*(b1 = s, b0 = -s m);
             CI = {m : 2 (l*_max - l*_p(m)) <= c}. An end with no crossing inside
             [min x - 3 ptp x, max x + 3 ptp x] is -inf / +inf: the data cannot bound it
             (this happens whenever the slope is not significant, as with Fieller).
      slope: {s : 2 (l*_max - max_b0 l*(b0, s)) <= c}; p = penalized LR test of b1 = 0
             (chi2_1; the null max is at P = (k + 1)/(n + 2)).
    kind: "fit" whenever both outcomes occur at >= 2 distinct x ("bracket" = the
    separation gap when the data are separated, else None); "all_fail" / "all_success"
    (x50 beyond the sampled range, as logistic_boundary); "too_few" (< 2 distinct x).
    """
    x, y = _binary_xy(x, y)
    degenerate = _degenerate_boundary(x, y, alpha, min_distinct=2)
    if degenerate is not None:
        return degenerate

    xm, xs = float(x.mean()), float(x.std())
    z = (x - xm) / xs  # centred and scaled: well-conditioned 2x2 systems, slopes O(1)
    (a0, a1), l_max = _firth_fit(z, y)
    crit = float(sps.chi2.ppf(1 - alpha, 1))
    zlo, zhi, zspan = float(z.min()), float(z.max()), float(np.ptp(z))
    t_max = 8.0  # slope profile over s = sinh(t), |s| <= 1490 per sd of x

    def prof_x50(ms: np.ndarray) -> np.ndarray:
        f = lambda t: _firth_ll(-np.sinh(t) * ms[:, None], np.sinh(t), z, y)
        return _max_zoom(f, np.full(ms.shape, -t_max), np.full(ms.shape, t_max))

    def prof_slope(ss: np.ndarray) -> np.ndarray:
        r = np.abs(ss) * np.abs(z).max() + math.log(y.size + 1) + 5  # the best b0 lies well inside +-r
        return _max_zoom(lambda t: _firth_ll(t, ss[:, None], z, y), -r, r)

    notes = []
    bracket = _separation_bracket(x, y)
    if bracket is not None:
        notes.append(f"separated data (gap [{bracket[0]:g}, {bracket[1]:g}]): MLE slope infinite, Firth estimate finite")
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = -a0 / a1 if a1 != 0 else math.nan
    if math.isfinite(m_hat):
        m_lo, m_hi = _profile_interval(prof_x50, m_hat, (zlo - 3 * zspan, zhi + 3 * zspan), l_max, crit)
    else:
        m_lo, m_hi = -INF, INF
        notes.append("flat fit (slope 0): no 50% point")
    s_span = 100 * (1 + abs(a1))
    s_lo, s_hi = _profile_interval(prof_slope, a1, (a1 - s_span, a1 + s_span), l_max, crit)
    k = y.sum()
    l_null = float(_firth_ll(math.log((k + 1) / (y.size - k + 1)), 0.0, z, y))
    p_slope = float(sps.chi2.sf(max(0.0, 2 * (l_max - l_null)), 1))
    open_ends = [side for side, end in (("below", m_lo), ("above", m_hi)) if not math.isfinite(end)]
    if open_ends and math.isfinite(m_hat):
        notes.append(f"x50 CI open {' and '.join(open_ends)}: the data cannot bound the 50% point there")
    note = "; ".join(notes)
    method = "Firth penalized ML; profile penalized-likelihood CI"
    x50 = Estimate("x50", float(xm + xs * m_hat), xm + xs * m_lo, xm + xs * m_hi, alpha, method=method, note=note)
    slope = Estimate("slope", float(a1 / xs), s_lo / xs, s_hi / xs, alpha, p_slope,
                     method + "; penalized LR test p", note)
    return Boundary(x50, slope, "fit", bracket)


# ------------------------------------------------------------- scaling laws

# log n* = log c + offset(log M); the power law instead fits log c + k log M
_LAW_OFFSETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "M log M": lambda lm: lm + np.log(lm),
    "M": lambda lm: lm,
    "M^2": lambda lm: 2 * lm,
}


def _fit_law(law: str, lm: np.ndarray, y: np.ndarray, w: np.ndarray, weighted: bool, alpha: float) -> LawFit:
    power = law == "power"
    X = np.column_stack([np.ones_like(lm), lm]) if power else np.ones((lm.size, 1))
    yy = y if power else y - _LAW_OFFSETS[law](lm)
    res = sm.WLS(yy, X, weights=w).fit()
    n_par, chi2 = X.shape[1], float(np.sum(w * res.resid**2))
    dof = lm.size - n_par
    # few points: t_dof, not z, quantiles (the Birge/residual scale is estimated from dof
    # residuals); dof = 0 leaves nothing to estimate it from, so the CIs are unbounded
    q = t_quantile(alpha, dof)
    if weighted:  # known variances: chi2 ~ chi2_dof under the law; CIs inflated by the Birge ratio
        p_fit = float(sps.chi2.sf(chi2, dof)) if dof > 0 else math.nan
        scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
        aic, note = chi2 + 2 * n_par, ""
    else:
        p_fit, scale = math.nan, chi2 / dof if dof > 0 else math.nan
        aic, note = lm.size * math.log(chi2 / lm.size) + 2 * n_par, "no usable se: unweighted OLS, no fit test"
    if dof < 1:
        note = "; ".join(filter(None, [note, "dof = 0: exact fit, no fit test, CIs unbounded"]))
    with np.errstate(invalid="ignore"):  # dof = 0: 0 * inf = nan is replaced by inf below
        se = np.sqrt(np.diag(res.normalized_cov_params) * scale)
        if dof < 1:
            se = np.full_like(se, INF)
    a, k_hat = float(res.params[0]), float(res.params[-1])
    with np.errstate(over="ignore"):
        c_lo, c_hi = float(np.exp(a - q * se[0])), float(np.exp(a + q * se[0]))
    c = Estimate("c", math.exp(a), c_lo, c_hi, alpha, method="WLS on log n*, t_dof interval")
    k = Estimate("k", k_hat, k_hat - q * se[-1], k_hat + q * se[-1], alpha,
                 method="WLS on log n*, t_dof interval") if power else None
    return LawFit(law, c, k, aic, chi2, dof, p_fit, bool(p_fit < alpha), note=note)


def compare_scaling_laws(M, log_nstar, log_nstar_se, alpha: float = 0.05) -> dict[str, LawFit]:
    """Fit n*(M) under the laws "M log M", "M", "M^2" (fixed shape, free c) and "power"
    (c M^k, free k) by weighted least squares on log n*, weights 1/se^2.

    chi2 = sum((log n* - fit)^2 / se^2) is tested against chi2_dof: p_fit < alpha rejects
    the law. The test is exact only for known Gaussian se; with estimated se it is
    approximate. AIC = chi2 + 2 n_params (Gaussian, known variances); delta_aic is
    relative to the best law. CIs for c and k are est +- t_dof(1 - alpha/2) se', with
    se' = se * max(1, sqrt(chi2/dof)), so a law that fits worse than its se claim gets
    wider, not falsely tight, intervals; t (not z) because with a handful of M the scale
    is estimated from dof residuals (dof = 0 would give unbounded CIs, noted). If every
    se is 0 or NaN the fit falls back to unweighted OLS (t CIs, AIC from the RSS, no
    fit test) and says so in ``note``.
    """
    M, y, _ = finite_pairs(M, log_nstar, ("M", "log_nstar"), min_n=3)
    se = np.asarray(log_nstar_se, dtype=float)
    if se.shape != M.shape:
        raise ValueError(f"log_nstar_se has length {se.size}, M has {M.size}")
    if (M <= 1).any():
        raise ValueError("M must be > 1 (log(M log M) needs log M > 0)")
    usable = np.isfinite(se) & (se > 0)
    if np.any(se < 0) or np.isinf(se).any() or (usable.any() and not usable.all()):
        raise ValueError("log_nstar_se must be all positive and finite, or all 0/NaN (unweighted fallback)")
    w = 1 / se**2 if usable.all() else np.ones_like(y)
    fits = {law: _fit_law(law, np.log(M), y, w, bool(usable.all()), alpha) for law in (*_LAW_OFFSETS, "power")}
    best = min(f.aic for f in fits.values())
    return {law: replace(f, delta_aic=f.aic - best) for law, f in fits.items()}
