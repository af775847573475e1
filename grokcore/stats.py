"""Estimates with intervals and tests for re-verifying grokking claims.

Every public function returns a point estimate, a confidence interval at level
1 - alpha and, where a test is implied, its p-value, packed in frozen dataclasses
whose ``to_dict()`` survives ``json.dumps(..., allow_nan=False)``.

* rates:        wilson_ci, rate_difference
* boundaries:   logistic_boundary (50% point of P(generalise) against a log control)
* scaling laws: compare_scaling_laws (n*(M) proportional to M log M, M, M^2 or M^k)
* comparisons:  paired_difference (seeds paired), two_sample (unpaired groups)
* trends:       rank_trend, kendall_trend, linear_trend
* generic:      bootstrap_ci

A one-sided ``alternative`` gives a one-sided interval (open end +-inf, or +-1 for a
difference of rates), so "p < alpha" and "CI excludes 0" agree in direction.
Resampling draws from ``np.random.default_rng(seed)``; no global RNG state is used.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import statsmodels.api as sm
from scipy import optimize, special
from scipy import stats as sps

ALTERNATIVES = ("two-sided", "greater", "less")
INF = math.inf


def _json(v):
    """Map numpy scalars to Python and non-finite floats to None / "inf" / "-inf"."""
    if isinstance(v, dict):
        return {k: _json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


class _ToDict:
    def to_dict(self) -> dict:
        return _json(asdict(self))


@dataclass(frozen=True)
class Estimate(_ToDict):
    name: str
    value: float
    lo: float  # CI [lo, hi] at level 1 - alpha
    hi: float
    alpha: float = 0.05
    p: float | None = None  # p-value of the stated test, if any
    method: str = ""
    note: str = ""


@dataclass(frozen=True)
class Boundary(_ToDict):
    x50: Estimate  # x where P(y = 1) = 1/2
    slope: Estimate  # logistic slope per unit x (sharpness); p tests slope = 0
    kind: str  # "fit" | "separated" | "all_fail" | "all_success" | "too_few"
    bracket: tuple[float, float] | None = None


@dataclass(frozen=True)
class LawFit(_ToDict):
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


@dataclass(frozen=True)
class PairedResult(_ToDict):
    diff: Estimate  # mean(a - b), bootstrap CI, p = Wilcoxon signed-rank
    p_wilcoxon: float
    p_sign: float
    effect_size: float  # mean(d) / sd(d)
    n: int
    alternative: str
    n_dropped: int = 0


@dataclass(frozen=True)
class TwoSampleResult(_ToDict):
    diff_median: Estimate  # median(a) - median(b), bootstrap CI, p = Mann-Whitney
    diff_mean: Estimate  # mean(a) - mean(b), bootstrap CI
    p_mannwhitney: float
    rank_biserial: float  # P(a > b) - P(a < b)
    n_a: int
    n_b: int
    alternative: str
    n_dropped: int = 0


# ---------------------------------------------------------------- validation

def _arr(v, name: str, allow_nan: bool = False) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} has non-finite values at indices {np.flatnonzero(bad)[:5].tolist()}")
    return a


def _pairs(x, y, names: tuple[str, str], min_n: int, drop_nan: bool = False):
    """Validated (x, y, n_dropped); NaN pairs are dropped only when ``drop_nan``."""
    x, y = _arr(x, names[0], drop_nan), _arr(y, names[1], drop_nan)
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} and {names[1]} differ in length: {x.size} vs {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < min_n:
        raise ValueError(f"need at least {min_n} complete ({names[0]}, {names[1]}) pairs, got {keep.sum()}")
    return x[keep], y[keep], int((~keep).sum())


def _group(v, name: str, min_n: int) -> tuple[np.ndarray, int]:
    a = _arr(v, name, allow_nan=True)
    if (~np.isnan(a)).sum() < min_n:
        raise ValueError(f"{name} needs at least {min_n} non-NaN values, got {(~np.isnan(a)).sum()}")
    return a[~np.isnan(a)], int(np.isnan(a).sum())


def _check_alt(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")


def _counts(k, n, kname: str, nname: str) -> tuple[int, int]:
    if int(k) != k or int(n) != n or n < 1 or not 0 <= k <= n:
        raise ValueError(f"need integers 0 <= {kname} <= {nname}, {nname} >= 1; got {kname}={k}, {nname}={n}")
    return int(k), int(n)


# ------------------------------------------------------------------ helpers

def _z(alpha: float, alternative: str = "two-sided") -> float:
    return float(sps.norm.ppf(1 - (alpha / 2 if alternative == "two-sided" else alpha)))


def _sided(lo: float, hi: float, alternative: str, bounds=(-INF, INF)) -> tuple[float, float]:
    """Open the far end of a one-sided interval (greater: [lo, max]; less: [min, hi])."""
    return {"greater": (lo, bounds[1]), "less": (bounds[0], hi)}.get(alternative, (lo, hi))


def _pct(s: np.ndarray, alpha: float, alternative: str = "two-sided") -> tuple[float, float]:
    """Percentile interval from bootstrap draws; order statistics, so +-inf draws are fine."""
    s = s[~np.isnan(s)]
    if s.size == 0:
        return math.nan, math.nan
    a = alpha / 2 if alternative == "two-sided" else alpha
    lo, hi = np.quantile(s, a, method="lower"), np.quantile(s, 1 - a, method="higher")
    return _sided(float(lo), float(hi), alternative)


def _boot_idx(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) row indices of nonparametric bootstrap resamples."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _spearman_rows(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair: Pearson correlation of mid-ranks."""
    rx, ry = (sps.rankdata(A, axis=1) for A in (X, Y))
    rx, ry = rx - rx.mean(1, keepdims=True), ry - ry.mean(1, keepdims=True)
    with np.errstate(all="ignore"):  # constant resamples give 0/0 = nan, dropped by _pct
        return (rx * ry).sum(1) / np.sqrt((rx**2).sum(1) * (ry**2).sum(1))


def _kendall_rows(X: np.ndarray, Y: np.ndarray, chunk_cells: int = 2**22) -> np.ndarray:
    """Kendall tau-b of each row pair: sum sx sy / sqrt(#(sx != 0) #(sy != 0)) over pairs,
    sx = sign(x_i - x_j); chunked so the (rows, n, n) sign tensors stay small."""
    out, step = np.empty(len(X)), max(1, chunk_cells // X.shape[1] ** 2)
    for s in range(0, len(X), step):
        sx, sy = (np.sign(A[s:s + step, :, None] - A[s:s + step, None, :]) for A in (X, Y))
        with np.errstate(all="ignore"):
            out[s:s + step] = (sx * sy).sum((1, 2)) / np.sqrt((sx != 0).sum((1, 2)) * (sy != 0).sum((1, 2)))
    return out


def _wilson(k: int, n: int, z: float) -> tuple[float, float, float]:
    p, z2 = k / n, z * z
    mid = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return p, max(0.0, min(p, mid - half)), min(1.0, max(p, mid + half))  # rounding at k = 0 or n


# -------------------------------------------------------------------- rates

def wilson_ci(k: int, n: int, alpha: float = 0.05) -> Estimate:
    """Rate k/n with the Wilson score interval:
    (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),  z = Phi^-1(1 - alpha/2)."""
    k, n = _counts(k, n, "k", "n")
    p, lo, hi = _wilson(k, n, _z(alpha))
    return Estimate("rate", p, lo, hi, alpha, method="Wilson score")


def rate_difference(k1: int, n1: int, k2: int, n2: int, alpha: float = 0.05,
                    alternative: str = "two-sided") -> Estimate:
    """p1 - p2 with Newcombe's hybrid Wilson-score CI and Fisher's exact p.

    lo = d - sqrt((p1 - l1)^2 + (u2 - p2)^2),  hi = d + sqrt((u1 - p1)^2 + (p2 - l2)^2),
    (l_i, u_i) the Wilson limits of p_i. "greater" tests p1 > p2.
    """
    _check_alt(alternative)
    (k1, n1), (k2, n2) = _counts(k1, n1, "k1", "n1"), _counts(k2, n2, "k2", "n2")
    z = _z(alpha, alternative)
    (p1, l1, u1), (p2, l2, u2) = _wilson(k1, n1, z), _wilson(k2, n2, z)
    d = p1 - p2
    lo, hi = d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)
    p = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative).pvalue
    return Estimate("p1 - p2", d, *_sided(lo, hi, alternative, (-1.0, 1.0)), alpha, float(p),
                    "Newcombe hybrid score CI; Fisher exact p")


# --------------------------------------------------------------- boundaries

def _logit_newton(x: np.ndarray, Y: np.ndarray, b: np.ndarray, iters: int = 20) -> np.ndarray:
    """Newton-Raphson for the rows of Y at once: y_r ~ Bernoulli(expit(b0 + b1 x)).
    Under separation the iterates diverge but -b0/b1 settles in the gap, which is
    what the bootstrap of x50 needs."""
    b = np.tile(np.asarray(b, float), (len(Y), 1))
    with np.errstate(all="ignore"):
        for _ in range(iters):
            p = special.expit(b[:, :1] + b[:, 1:] * x)
            w, r = p * (1 - p), Y - p
            g0, g1 = r.sum(1), (r * x).sum(1)
            h00, h01, h11 = w.sum(1), (w * x).sum(1), (w * x * x).sum(1)
            step = np.stack([h11 * g0 - h01 * g1, h00 * g1 - h01 * g0], 1) / (h00 * h11 - h01**2)[:, None]
            b += np.where(np.isfinite(step), step, 0.0)  # a flat likelihood stops, not poisons, a row
    return b


def _slope_lower_bound(x: np.ndarray, ys: np.ndarray, alpha: float) -> float:
    """Profile-likelihood lower bound on the slope of separated data (MLE slope = inf):
    smallest s with max_m l(s, m) >= sup l - chi2_1(1 - alpha)/2, eta = s (x - m).
    sup l is 0 under complete separation, the binomial max of the tied group otherwise."""
    tied = x == x[ys == 0].max()
    k, m = ys[tied].sum(), tied.sum()
    target = special.xlogy(k, k / m) + special.xlogy(m - k, (m - k) / m) - sps.chi2.ppf(1 - alpha, 1) / 2

    def excess(s: float) -> float:
        nll = lambda c: np.logaddexp(0, -(2 * ys - 1) * s * (x - c)).sum()
        return -optimize.minimize_scalar(nll, bounds=(x.min(), x.max()), method="bounded").fun - target

    if excess(0.0) >= 0:
        return 0.0
    hi = 1 / np.ptp(x)
    while excess(hi) < 0:
        if hi > 1e6 / np.ptp(x):
            return math.nan
        hi *= 2
    return float(optimize.brentq(excess, 0.0, hi))


def _separated(x: np.ndarray, y: np.ndarray, sign: int, alpha: float) -> Boundary:
    ys = y if sign > 0 else 1 - y  # ys = 0 on the low-x side
    a, b = x[ys == 0].max(), x[ys == 1].min()
    if a < b:
        bracket, value, what = (float(a), float(b)), (a + b) / 2, "perfect separation"
    else:  # both outcomes only at x == a: the limiting MLE puts x50 there
        below, above = x[x < a], x[x > a]
        bracket = (float(below.max()) if below.size else -INF, float(above.min()) if above.size else INF)
        value, what = a, f"quasi-separation at x={a:g}"
    note = f"{what}: x50 bracketed by neighbouring x; MLE slope infinite"
    s_lo = _slope_lower_bound(x, ys, alpha)
    slope = (Estimate("slope", INF, s_lo, INF, alpha, method="profile likelihood bound", note=note)
             if sign > 0 else Estimate("slope", -INF, -INF, -s_lo, alpha, method="profile likelihood bound", note=note))
    x50 = Estimate("x50", float(value), *bracket, alpha, method="separation bracket", note=note)
    return Boundary(x50, slope, "separated", bracket)


def logistic_boundary(x, y, alpha: float = 0.05, n_boot: int = 1000, seed: int = 0) -> Boundary:
    """50% point of P(y = 1 | x) = expit(b0 + b1 x):  x50 = -b0 / b1,  sharpness b1.

    x is the log of a control (e.g. log n_train), y in {0, 1}. The logit MLE comes from
    statsmodels; the slope CI is Wald with the Wald p of b1 = 0. The x50 CI is a
    parametric bootstrap (n_boot refits on y* ~ Bernoulli(p_hat), percentile) or, with
    n_boot=0, the delta method, se^2 = g' Cov g with g = (-1/b1, b0/b1^2).
    Degenerate data get a ``kind`` instead of an error:
      all_fail     x50 in [max x, inf)        all_success  x50 in (-inf, min x]
      too_few      < 3 distinct x (checked after all_fail / all_success)
      separated    failures and successes do not overlap in x: x50 = mid-point of
                   the gap, CI = the gap, slope = +-inf with a profile-likelihood bound.
    """
    x, y, _ = _pairs(x, y, ("x", "y"), min_n=1)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must contain only 0 and 1")
    nan_slope = Estimate("slope", math.nan, math.nan, math.nan, alpha)
    if y.sum() in (0, y.size):
        kind, bracket = ("all_fail", (float(x.max()), INF)) if y.sum() == 0 else ("all_success", (-INF, float(x.min())))
        note = f"{kind}: 50% point lies outside the sampled x range"
        return Boundary(Estimate("x50", math.nan, *bracket, alpha, method="range bound", note=note),
                        nan_slope, kind, bracket)
    if np.unique(x).size < 3:
        note = f"only {np.unique(x).size} distinct x: no boundary fitted"
        return Boundary(Estimate("x50", math.nan, math.nan, math.nan, alpha, note=note), nan_slope, "too_few")
    for sign in (1, -1):
        low, high = (x[y == 0], x[y == 1]) if sign > 0 else (x[y == 1], x[y == 0])
        if low.max() <= high.min():
            return _separated(x, y, sign, alpha)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is excluded above; convergence is checked below
        res = sm.Logit(y, sm.add_constant(x)).fit(disp=0, maxiter=200)
    (b0, b1), cov, z = res.params, res.cov_params(), _z(alpha)
    note = ("logit MLE did not converge" if not res.mle_retvals.get("converged", True)
            else "flat fit (slope 0): no 50% point" if b1 == 0 else "")
    se_b1 = math.sqrt(cov[1, 1])
    slope = Estimate("slope", float(b1), float(b1 - z * se_b1), float(b1 + z * se_b1), alpha,
                     float(res.pvalues[1]), "logit MLE, Wald", note)
    with np.errstate(all="ignore"):  # b1 == 0 (a flat fit) gives x50 = +-inf or nan, not an error
        x50 = -b0 / b1
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        Y = (rng.random((n_boot, y.size)) < res.predict()).astype(float)
        xm = x.mean()  # centring keeps the 2x2 Newton systems well conditioned
        bb = _logit_newton(x - xm, Y, [b0 + b1 * xm, b1])
        with np.errstate(all="ignore"):
            draws = xm - bb[:, 0] / bb[:, 1]
            # a draw with one outcome only puts the boundary beyond the range, on the side b1 implies
            draws[Y.sum(1) == 0], draws[Y.sum(1) == y.size] = np.sign(b1) * INF, -np.sign(b1) * INF
        lo, hi, method = *_pct(draws, alpha), f"logit MLE; parametric bootstrap ({n_boot}, percentile)"
    else:
        with np.errstate(all="ignore"):
            g = np.array([-1 / b1, b0 / b1**2])
            se = np.sqrt(g @ cov @ g)
        lo, hi, method = x50 - z * se, x50 + z * se, "logit MLE + delta method"
    return Boundary(Estimate("x50", float(x50), float(lo), float(hi), alpha, method=method, note=note), slope, "fit")


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
    if weighted:  # known variances: chi2 ~ chi2_dof under the law; CIs inflated by the Birge ratio
        p_fit, scale, q = float(sps.chi2.sf(chi2, dof)), max(1.0, chi2 / dof), _z(alpha)
        aic, note = chi2 + 2 * n_par, ""
    else:
        p_fit, scale, q = math.nan, chi2 / dof, float(sps.t.ppf(1 - alpha / 2, dof))
        aic, note = lm.size * math.log(chi2 / lm.size) + 2 * n_par, "no usable se: unweighted OLS, no fit test"
    se = np.sqrt(np.diag(res.normalized_cov_params) * scale)
    a, k_hat = float(res.params[0]), float(res.params[-1])
    c = Estimate("c", math.exp(a), math.exp(a - q * se[0]), math.exp(a + q * se[0]), alpha, method="WLS on log n*")
    k = Estimate("k", k_hat, k_hat - q * se[-1], k_hat + q * se[-1], alpha,
                 method="WLS on log n*") if power else None
    return LawFit(law, c, k, aic, chi2, dof, p_fit, bool(p_fit < alpha), note=note)


def compare_scaling_laws(M, log_nstar, log_nstar_se, alpha: float = 0.05) -> dict[str, LawFit]:
    """Fit n*(M) under the laws "M log M", "M", "M^2" (fixed shape, free c) and "power"
    (c M^k, free k) by weighted least squares on log n*, weights 1/se^2.

    chi2 = sum((log n* - fit)^2 / se^2) is tested against chi2_dof: p_fit < alpha rejects
    the law. The test is exact only for known Gaussian se; with estimated se it is
    approximate. AIC = chi2 + 2 n_params (Gaussian, known variances); delta_aic is
    relative to the best law. CIs for c and k use se * max(1, sqrt(chi2/dof)), so a law
    that fits worse than its se claim gets wider, not falsely tight, intervals. If every
    se is 0 or NaN the fit falls back to unweighted OLS (t CIs, AIC from the RSS, no
    fit test) and says so in ``note``.
    """
    M, y, _ = _pairs(M, log_nstar, ("M", "log_nstar"), min_n=3)
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


# -------------------------------------------------------------- comparisons

def paired_difference(a, b, alpha: float = 0.05, alternative: str = "two-sided",
                      n_boot: int = 2000, seed: int = 0) -> PairedResult:
    """Seeds paired across two conditions; d = a - b, pairs with a NaN dropped.

    Reports mean(d) with a bootstrap percentile CI, the Wilcoxon signed-rank p (1 when
    every d is 0), the sign-test p (binomial on the nonzero d), and the standardised
    effect mean(d)/sd(d) (nan for 0/0). "greater" tests a > b. Needs >= 2 pairs.
    """
    _check_alt(alternative)
    a, b, dropped = _pairs(a, b, ("a", "b"), min_n=2, drop_nan=True)
    d = a - b
    nz = d[d != 0]
    p_w = float(sps.wilcoxon(nz, alternative=alternative).pvalue) if nz.size else 1.0
    p_s = float(sps.binomtest(int((nz > 0).sum()), nz.size, 0.5, alternative).pvalue) if nz.size else 1.0
    with np.errstate(all="ignore"):
        effect = float(np.divide(d.mean(), d.std(ddof=1)))
    lo, hi = _pct(d[_boot_idx(d.size, n_boot, seed)].mean(1), alpha, alternative)
    est = Estimate("mean(a - b)", float(d.mean()), lo, hi, alpha, p_w,
                   f"bootstrap ({n_boot}, percentile); Wilcoxon signed-rank p")
    return PairedResult(est, p_w, p_s, effect, d.size, alternative, dropped)


def two_sample(a, b, alpha: float = 0.05, alternative: str = "two-sided",
               n_boot: int = 2000, seed: int = 0) -> TwoSampleResult:
    """Unpaired groups (NaNs dropped): Mann-Whitney U p, differences of medians and of
    means with bootstrap percentile CIs (groups resampled separately), and the
    rank-biserial r = 2 U_a / (n_a n_b) - 1 = P(a > b) - P(a < b). Needs >= 2 per group."""
    _check_alt(alternative)
    (a, da), (b, db) = _group(a, "a", 2), _group(b, "b", 2)
    mw = sps.mannwhitneyu(a, b, alternative=alternative)
    rng = np.random.default_rng(seed)
    ra, rb = a[rng.integers(0, a.size, (n_boot, a.size))], b[rng.integers(0, b.size, (n_boot, b.size))]
    method = f"bootstrap ({n_boot}, percentile); Mann-Whitney U p"
    med = Estimate("median(a) - median(b)", float(np.median(a) - np.median(b)),
                   *_pct(np.median(ra, 1) - np.median(rb, 1), alpha, alternative), alpha, float(mw.pvalue), method)
    mean = Estimate("mean(a) - mean(b)", float(a.mean() - b.mean()),
                    *_pct(ra.mean(1) - rb.mean(1), alpha, alternative), alpha, float(mw.pvalue), method)
    r = 2 * float(mw.statistic) / (a.size * b.size) - 1
    return TwoSampleResult(med, mean, float(mw.pvalue), r, a.size, b.size, alternative, da + db)


# ------------------------------------------------------------------- trends

def rank_trend(x, y, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0, ci: str = "fisher") -> Estimate:
    """Spearman rho with scipy's p (H0: rho = 0); NaN pairs dropped, needs >= 4 pairs.

    ci="fisher": tanh(atanh(rho) +- z se), Bonett-Wright se = sqrt((1 + rho^2/2)/(n - 3));
    ci="bootstrap": percentile over n_boot resampled pairs (uses n_boot, seed).
    """
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=4, drop_nan=True)
    rho, p = sps.spearmanr(x, y)
    if ci == "fisher":
        half = _z(alpha) * math.sqrt((1 + rho**2 / 2) / (x.size - 3))
        with np.errstate(divide="ignore"):  # |rho| = 1 gives atanh = inf and a degenerate CI
            lo, hi, method = math.tanh(np.arctanh(rho) - half), math.tanh(np.arctanh(rho) + half), "Fisher z, Bonett-Wright se"
    elif ci == "bootstrap":
        idx = _boot_idx(x.size, n_boot, seed)
        rhos = _spearman_rows(x[idx], y[idx])
        (lo, hi), method = _pct(rhos, alpha), f"bootstrap ({n_boot}, percentile)"
    else:
        raise ValueError(f"ci must be 'fisher' or 'bootstrap', got {ci!r}")
    return Estimate("spearman rho", float(rho), lo, hi, alpha, float(p), method,
                    f"dropped {dropped} NaN pairs" if dropped else "")


def kendall_trend(x, y, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Kendall tau-b with scipy's p (H0: tau = 0) and a bootstrap percentile CI over
    resampled pairs; NaN pairs dropped, needs >= 3 pairs."""
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
    tau, p = sps.kendalltau(x, y)
    idx = _boot_idx(x.size, n_boot, seed)
    taus = _kendall_rows(x[idx], y[idx])
    return Estimate("kendall tau", float(tau), *_pct(taus, alpha), alpha, float(p),
                    f"bootstrap ({n_boot}, percentile); scipy kendalltau p",
                    f"dropped {dropped} NaN pairs" if dropped else "")


def linear_trend(x, y, alpha: float = 0.05) -> Estimate:
    """OLS slope of y = b0 + b1 x with t CI b1 +- t_{n-2}(1 - alpha/2) se and the t-test
    p of b1 = 0 (e.g. log t_grok against log lambda); NaN pairs dropped, needs >= 3."""
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
    if np.ptp(x) == 0:
        raise ValueError("x is constant: slope undefined")
    res = sm.OLS(y, sm.add_constant(x)).fit()
    lo, hi = res.conf_int(alpha)[1]
    return Estimate("slope", float(res.params[1]), float(lo), float(hi), alpha, float(res.pvalues[1]),
                    "OLS, t interval", f"dropped {dropped} NaN pairs" if dropped else "")


def bootstrap_ci(values, stat: Callable[[np.ndarray], float] = np.mean, alpha: float = 0.05,
                 n_boot: int = 2000, seed: int = 0) -> Estimate:
    """stat(values) with a bootstrap percentile CI (no test, p=None); values must be finite."""
    v = _arr(values, "values")
    draws = np.array([stat(r) for r in v[_boot_idx(v.size, n_boot, seed)]], dtype=float)
    return Estimate(getattr(stat, "__name__", "stat"), float(stat(v)), *_pct(draws, alpha), alpha,
                    method=f"bootstrap ({n_boot}, percentile)")
