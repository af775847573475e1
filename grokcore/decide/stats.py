"""Estimates with intervals and tests for re-verifying grokking claims.

Every public function returns a point estimate, a confidence interval at level
1 - alpha and, where a test is implied, its p-value, packed in frozen dataclasses
whose ``to_dict()`` survives ``json.dumps(..., allow_nan=False)``.

* rates:        wilson_ci, rate_difference
* boundaries and scaling laws: grokcore.decide.laws (firth_boundary, compare_scaling_laws)
* comparisons:  one_sample (t CI, exact sign-flip p), paired_difference (seeds paired),
                two_sample (unpaired groups)
* trends:       rank_trend, kendall_trend, linear_trend
* multiplicity: holm, holm_levels
* generic:      bootstrap_ci, t_quantile

A one-sided ``alternative`` gives a one-sided interval (open end +-inf, or +-1 for a
difference of rates or Kendall's tau), so "p < alpha" and "CI excludes 0" agree in
direction. Small samples get t intervals and exact (permutation) tests, not bootstrap
percentiles or normal approximations, which undercover or misstate p with 3-8 values.
Resampling draws from ``np.random.default_rng(seed)``; no global RNG state is used.
"""
from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np
import statsmodels.api as sm
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


class Record:
    """A frozen result whose to_dict() is JSON-safe (inf/nan as strings)."""

    def to_dict(self) -> dict:
        return _json(asdict(self))


@dataclass(frozen=True)
class Estimate(Record):
    name: str
    value: float
    lo: float  # CI [lo, hi] at level 1 - alpha
    hi: float
    alpha: float = 0.05
    p: float | None = None  # p-value of the stated test, if any
    method: str = ""
    note: str = ""


def agree(a: Estimate, b: Estimate) -> bool:
    """Two estimates of one quantity agree when one lies inside the other's CI (e.g. n* read at
    T/2 and at T: "converged in budget")."""
    return bool(a.lo <= b.value <= a.hi or b.lo <= a.value <= b.hi)


@dataclass(frozen=True)
class PairedResult(Record):
    diff: Estimate  # mean(a - b), Student t CI, p = exact sign-flip permutation test
    p_wilcoxon: float
    p_sign: float
    effect_size: float  # mean(d) / sd(d)
    n: int
    alternative: str
    n_dropped: int = 0


@dataclass(frozen=True)
class TwoSampleResult(Record):
    diff_median: Estimate  # median(a) - median(b), bootstrap CI (nan if a group < 8), p = Mann-Whitney
    diff_mean: Estimate  # mean(a) - mean(b), Welch t CI, p = Welch t-test
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


def finite_pairs(x, y, names: tuple[str, str], min_n: int, drop_nan: bool = False):
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


def t_quantile(alpha: float, dof: float, alternative: str = "two-sided") -> float:
    """Student t critical value t_dof(1 - alpha/2) (two-sided) or t_dof(1 - alpha) (one-sided),
    so that est +- q se is the 1 - alpha interval; dof = inf gives the normal quantile and
    dof <= 0 (or nan) gives inf: no residual degrees of freedom, no finite interval."""
    _check_alt(alternative)
    if not dof > 0:
        return INF
    return float(sps.t.ppf(1 - (alpha / 2 if alternative == "two-sided" else alpha), dof))


def _sided(lo: float, hi: float, alternative: str, bounds=(-INF, INF)) -> tuple[float, float]:
    """Open the far end of a one-sided interval (greater: [lo, max]; less: [min, hi])."""
    return {"greater": (lo, bounds[1]), "less": (bounds[0], hi)}.get(alternative, (lo, hi))


def _pct(s: np.ndarray, alpha: float, alternative: str = "two-sided", bounds=(-INF, INF)) -> tuple[float, float]:
    """Percentile interval from bootstrap draws; order statistics, so +-inf draws are fine."""
    s = s[~np.isnan(s)]
    if s.size == 0:
        return math.nan, math.nan
    a = alpha / 2 if alternative == "two-sided" else alpha
    lo, hi = np.quantile(s, a, method="lower"), np.quantile(s, 1 - a, method="higher")
    return _sided(float(lo), float(hi), alternative, bounds)


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


def _t_interval(v: np.ndarray, alpha: float, alternative: str = "two-sided") -> tuple[float, float]:
    """mean +- t_{n-1} sd / sqrt(n), far end opened for a one-sided alternative; n >= 2."""
    half = t_quantile(alpha, v.size - 1, alternative) * v.std(ddof=1) / math.sqrt(v.size)
    return _sided(float(v.mean() - half), float(v.mean() + half), alternative)


@functools.lru_cache(maxsize=None)
def _sign_matrix(n: int) -> np.ndarray:
    """All 2^n sign vectors (rows) in {-1, +1}^n."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    out = (1.0 - 2.0 * bits)
    out.flags.writeable = False
    return out


def _sign_flip_p(d: np.ndarray, alternative: str, seed: int, n_exact: int = 16,
                 n_draws: int = 20000) -> tuple[float, str]:
    """Permutation p of H0: d symmetric about 0, statistic T = sum(d) (equivalently mean(d)).

    n <= n_exact: all 2^n sign vectors s, p = #{s : T(s d) as or more extreme than T} / 2^n
    (exact; the identity is one of them). Otherwise n_draws random sign vectors from
    default_rng(seed), p = (1 + #extreme) / (1 + n_draws). "Extreme" is |T*| >= |T|
    (two-sided), T* >= T (greater) or T* <= T (less), with a 1e-9 relative tolerance so
    that sign patterns giving the same sum in exact arithmetic count as ties."""
    t, tol = float(d.sum()), 1e-9 * float(np.abs(d).sum())

    def extreme(ts: np.ndarray) -> int:
        if alternative == "two-sided":
            return int((np.abs(ts) >= abs(t) - tol).sum())
        return int((ts >= t - tol).sum() if alternative == "greater" else (ts <= t + tol).sum())

    if d.size <= n_exact:
        return extreme(_sign_matrix(d.size) @ d) / 2**d.size, f"exact sign-flip ({2**d.size} sign vectors)"
    rng, hits, chunk = np.random.default_rng(seed), 0, max(1, 2**22 // d.size)
    for start in range(0, n_draws, chunk):
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(min(chunk, n_draws - start), d.size))
        hits += extreme(signs @ d)
    return (1 + hits) / (1 + n_draws), f"sign-flip ({n_draws} random sign vectors)"


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


# -------------------------------------------------------------- comparisons

def one_sample(values, null: float = 0.0, alpha: float = 0.05, alternative: str = "two-sided",
               seed: int = 0) -> Estimate:
    """mean(values) with the Student t CI mean +- t_{n-1} sd/sqrt(n) (one-sided: the far end
    open, +-inf) and the sign-flip permutation p of H0: values - null symmetric about 0,
    statistic mean(values - null): exact over all 2^n sign vectors for n <= 16, else
    20000 random flips from default_rng(seed) with p = (1 + #extreme)/(1 + 20000).
    The sign-flip p needs no normality, so it is exact for any symmetric null (its
    smallest attainable value is 2^-n one-sided, 2^(1-n) two-sided: n = 4 cannot reach
    p < 0.05 two-sided). "greater" tests mean > null. NaNs dropped (counted in note);
    needs >= 2 values."""
    _check_alt(alternative)
    v, dropped = _group(values, "values", 2)
    lo, hi = _t_interval(v, alpha, alternative)
    p, how = _sign_flip_p(v - null, alternative, seed)
    return Estimate("mean", float(v.mean()), lo, hi, alpha, p,
                    f"Student t CI ({v.size - 1} dof); {how} p of mean - {null:g}",
                    f"dropped {dropped} NaN values" if dropped else "")


def paired_difference(a, b, alpha: float = 0.05, alternative: str = "two-sided",
                      n_boot: int = 2000, seed: int = 0) -> PairedResult:
    """Seeds paired across two conditions; d = a - b, pairs with a NaN dropped.

    diff = one_sample(d): mean(d) with the Student t CI (with 3-6 pairs a percentile
    bootstrap collapses to about [min d, max d], far too narrow) and diff.p the exact
    sign-flip p of mean(d) (random flips from default_rng(seed) above 16 pairs).
    p_wilcoxon is the Wilcoxon signed-rank p on the nonzero d (zeros discarded; 1 when
    every d is 0), scipy's exact null distribution when |d| has no ties and n <= 50, else
    scipy's default (exhaustive permutation for n <= 13, normal otherwise). p_sign is
    the sign test (binomial on the nonzero d); effect_size mean(d)/sd(d) (nan for 0/0).
    "greater" tests a > b. Needs >= 2 pairs. n_boot is unused (kept for callers).
    """
    _check_alt(alternative)
    a, b, dropped = finite_pairs(a, b, ("a", "b"), min_n=2, drop_nan=True)
    d = a - b
    nz = d[d != 0]
    if nz.size:
        exact = nz.size <= 50 and np.unique(np.abs(nz)).size == nz.size
        p_w = float(sps.wilcoxon(nz, alternative=alternative, method="exact" if exact else "auto").pvalue)
    else:
        p_w = 1.0
    p_s = float(sps.binomtest(int((nz > 0).sum()), nz.size, 0.5, alternative).pvalue) if nz.size else 1.0
    with np.errstate(all="ignore"):
        effect = float(np.divide(d.mean(), d.std(ddof=1)))
    est = one_sample(d, 0.0, alpha, alternative, seed)
    est = replace(est, name="mean(a - b)", method=est.method.replace("mean - 0", "mean(a - b)"), note="")
    return PairedResult(est, p_w, p_s, effect, d.size, alternative, dropped)


def _welch(a: np.ndarray, b: np.ndarray, alpha: float, alternative: str) -> tuple[float, float, float, float]:
    """mean(a) - mean(b), its Welch t interval d +- t_nu se and Welch p;
    se^2 = va/na + vb/nb, nu = se^4 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))."""
    d, ua, ub = float(a.mean() - b.mean()), a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(ua + ub)
    if se == 0:  # both groups constant: the difference is known exactly
        agrees = d != 0 and (alternative == "two-sided" or (alternative == "greater") == (d > 0))
        p = 0.0 if agrees else 1.0
        return d, *_sided(d, d, alternative), p
    nu = (ua + ub) ** 2 / (ua**2 / (a.size - 1) + ub**2 / (b.size - 1))
    half = t_quantile(alpha, nu, alternative) * se
    t = d / se
    p = {"two-sided": 2 * sps.t.sf(abs(t), nu), "greater": sps.t.sf(t, nu), "less": sps.t.cdf(t, nu)}[alternative]
    return d, *_sided(d - half, d + half, alternative), float(p)


def two_sample(a, b, alpha: float = 0.05, alternative: str = "two-sided",
               n_boot: int = 2000, seed: int = 0) -> TwoSampleResult:
    """Unpaired groups (NaNs dropped); "greater" tests a > b. Needs >= 2 per group.

    p_mannwhitney: Mann-Whitney U, exact null distribution when there are no ties and the
    smaller group has <= 8 values (scipy's "auto" rule, made explicit), else the normal
    approximation with tie correction and continuity correction.
    diff_mean: mean(a) - mean(b) with the Welch t interval and Welch t-test p.
    diff_median: median(a) - median(b), p = Mann-Whitney; bootstrap percentile CI (groups
    resampled separately, n_boot, seed) only when both groups have >= 8 values; with
    fewer the CI is (nan, nan) and the decision rests on the Mann-Whitney p.
    rank_biserial r = 2 U_a / (n_a n_b) - 1 = P(a > b) - P(a < b)."""
    _check_alt(alternative)
    (a, da), (b, db) = _group(a, "a", 2), _group(b, "b", 2)
    ties = np.unique(np.r_[a, b]).size < a.size + b.size
    mw_method = "exact" if not ties and min(a.size, b.size) <= 8 else "asymptotic"
    mw = sps.mannwhitneyu(a, b, alternative=alternative, method=mw_method, use_continuity=True)
    mw_name = f"Mann-Whitney U p ({mw_method})"
    med_value = float(np.median(a) - np.median(b))
    if min(a.size, b.size) >= 8:
        rng = np.random.default_rng(seed)
        ra, rb = a[rng.integers(0, a.size, (n_boot, a.size))], b[rng.integers(0, b.size, (n_boot, b.size))]
        med = Estimate("median(a) - median(b)", med_value,
                       *_pct(np.median(ra, 1) - np.median(rb, 1), alpha, alternative), alpha, float(mw.pvalue),
                       f"bootstrap ({n_boot}, percentile); {mw_name}")
    else:
        med = Estimate("median(a) - median(b)", med_value, math.nan, math.nan, alpha, float(mw.pvalue),
                       mw_name, "n < 8: no median CI; decide on the Mann-Whitney p")
    d, lo, hi, p_welch = _welch(a, b, alpha, alternative)
    mean = Estimate("mean(a) - mean(b)", d, lo, hi, alpha, p_welch, "Welch t interval; Welch t-test p")
    r = 2 * float(mw.statistic) / (a.size * b.size) - 1
    return TwoSampleResult(med, mean, float(mw.pvalue), r, a.size, b.size, alternative, da + db)


# ------------------------------------------------------------------- trends

def rank_trend(x, y, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0, ci: str = "fisher") -> Estimate:
    """Spearman rho with scipy's p (H0: rho = 0); NaN pairs dropped, needs >= 4 pairs.

    ci="fisher": tanh(atanh(rho) +- z se), Bonett-Wright se = sqrt((1 + rho^2/2)/(n - 3)).
    At |rho| = 1 atanh is infinite and the interval would collapse to [1, 1]; the far end
    is then taken from the largest non-perfect attainable |rho| = 1 - 12/(n(n^2 - 1))
    (one adjacent swap), the near end stays at +-1 (said in note).
    ci="bootstrap": percentile over n_boot resampled pairs (uses n_boot, seed).
    """
    x, y, dropped = finite_pairs(x, y, ("x", "y"), min_n=4, drop_nan=True)
    rho, p = sps.spearmanr(x, y)
    notes = [f"dropped {dropped} NaN pairs"] if dropped else []
    if ci == "fisher":
        n = x.size
        perfect = abs(rho) >= 1 - 1e-12
        r = math.copysign(1 - 12 / (n * (n * n - 1)), rho) if perfect else rho
        half = _z(alpha) * math.sqrt((1 + r**2 / 2) / (n - 3))
        lo, hi, method = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half), "Fisher z, Bonett-Wright se"
        if perfect:
            lo, hi = (lo, 1.0) if rho > 0 else (-1.0, hi)
            notes.append(f"|rho| = 1: Fisher z at the largest non-perfect |rho| = 1 - 12/(n(n^2-1)) = {abs(r):.4g}")
    elif ci == "bootstrap":
        idx = _boot_idx(x.size, n_boot, seed)
        rhos = _spearman_rows(x[idx], y[idx])
        (lo, hi), method = _pct(rhos, alpha), f"bootstrap ({n_boot}, percentile)"
    else:
        raise ValueError(f"ci must be 'fisher' or 'bootstrap', got {ci!r}")
    return Estimate("spearman rho", float(rho), float(lo), float(hi), alpha, float(p), method, "; ".join(notes))


def kendall_trend(x, y, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0,
                  alternative: str = "two-sided", n_perm: int = 5000) -> Estimate:
    """Kendall tau-b with a permutation p and a bootstrap percentile CI over resampled
    pairs; NaN pairs dropped, needs >= 3 pairs.

    p: n_perm shuffles of y (default_rng(seed)), p = (1 + #extreme)/(1 + n_perm) with
    extreme |tau*| >= |tau| (two-sided), tau* >= tau ("greater"), tau* <= tau ("less").
    It is valid with any ties (e.g. censored values tied last), where scipy's normal
    approximation is not. A one-sided alternative opens the CI's far end at +-1."""
    _check_alt(alternative)
    x, y, dropped = finite_pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
    tau = float(sps.kendalltau(x, y)[0])
    t_obs = float(_kendall_rows(x[None], y[None])[0])
    if math.isnan(t_obs):  # constant x or y: no ordering to test
        p = math.nan
    else:
        yp = np.random.default_rng(seed).permuted(np.tile(y, (n_perm, 1)), axis=1)
        tp = _kendall_rows(np.broadcast_to(x, yp.shape), yp)
        tol = 1e-12
        hits = {"two-sided": np.abs(tp) >= abs(t_obs) - tol, "greater": tp >= t_obs - tol,
                "less": tp <= t_obs + tol}[alternative].sum()
        p = (1 + int(hits)) / (1 + n_perm)
    idx = _boot_idx(x.size, n_boot, seed)
    taus = _kendall_rows(x[idx], y[idx])
    return Estimate("kendall tau", tau, *_pct(taus, alpha, alternative, (-1.0, 1.0)), alpha, float(p),
                    f"bootstrap ({n_boot}, percentile); permutation p ({n_perm} shuffles of y)",
                    f"dropped {dropped} NaN pairs" if dropped else "")


def linear_trend(x, y, alpha: float = 0.05) -> Estimate:
    """OLS slope of y = b0 + b1 x with t CI b1 +- t_{n-2}(1 - alpha/2) se and the t-test
    p of b1 = 0 (e.g. log t_grok against log lambda); NaN pairs dropped, needs >= 3."""
    x, y, dropped = finite_pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
    if np.ptp(x) == 0:
        raise ValueError("x is constant: slope undefined")
    res = sm.OLS(y, sm.add_constant(x)).fit()
    lo, hi = res.conf_int(alpha)[1]
    return Estimate("slope", float(res.params[1]), float(lo), float(hi), alpha, float(res.pvalues[1]),
                    "OLS, t interval", f"dropped {dropped} NaN pairs" if dropped else "")


def bootstrap_ci(values, stat: Callable[[np.ndarray], float] = np.mean, alpha: float = 0.05,
                 n_boot: int = 2000, seed: int = 0) -> Estimate:
    """stat(values) with a bootstrap percentile CI (no test, p=None); values must be finite.

    With n <= 6 values the percentile bootstrap interval is about [min, max] or narrower
    and undercovers badly, so for the mean (stat np.mean or named "mean") the Student t
    interval mean +- t_{n-1} sd/sqrt(n) is returned instead (n = 1: (-inf, inf)); other
    statistics keep the bootstrap with a note that it is unreliable."""
    v = _arr(values, "values")
    name = getattr(stat, "__name__", "stat")
    if v.size <= 6 and (stat is np.mean or name == "mean"):
        lo, hi = _t_interval(v, alpha) if v.size >= 2 else (-INF, INF)
        return Estimate(name, float(stat(v)), lo, hi, alpha, method=f"Student t interval (n = {v.size} <= 6)",
                        note="" if v.size >= 2 else "n = 1: no spread, no interval")
    draws = np.array([stat(r) for r in v[_boot_idx(v.size, n_boot, seed)]], dtype=float)
    return Estimate(name, float(stat(v)), *_pct(draws, alpha), alpha, method=f"bootstrap ({n_boot}, percentile)",
                    note="n <= 6: percentile bootstrap interval is unreliable" if v.size <= 6 else "")


# -------------------------------------------------------------- multiplicity

def _holm_order(pvalues) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pvalues, dtype=float).ravel()
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1], got {p[(p < 0) | (p > 1)][:5].tolist()}")
    return p, np.argsort(np.where(np.isnan(p), INF, p), kind="stable")  # NaN last, never rejected


def holm(pvalues, alpha: float = 0.05) -> list[bool]:
    """Holm's step-down rejections (family-wise error <= alpha for any dependence).

    Sort p ascending, p_(0) <= ... <= p_(m-1); reject H_(k) while p_(k) < alpha/(m - k)
    and STOP at the first k where it fails: that and every larger p are not rejected,
    even if a later one would pass its own level. Strict "<" as everywhere in this
    module. NaN p-values sort last and are never rejected. Returned in input order."""
    p, order = _holm_order(pvalues)
    out = [False] * p.size
    for k, i in enumerate(order):
        if not p[i] < alpha / (p.size - k):
            break
        out[i] = True
    return out


def holm_levels(pvalues, alpha: float = 0.05) -> list[float]:
    """Each hypothesis's Holm level alpha/(m - rank), rank = 0 for the smallest p (ties
    in input order): the level at which its test (or its CI, 1 - level) is read. A CI at
    that level is decisive only while every smaller p was rejected (see ``holm``)."""
    p, order = _holm_order(pvalues)
    out = [0.0] * p.size
    for k, i in enumerate(order):
        out[i] = alpha / (p.size - k)
    return out
