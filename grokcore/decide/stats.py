"""Estimates with intervals and tests for re-verifying grokking claims.

Every public function returns a point estimate, a confidence interval at level
1 - alpha and, where a test is implied, its p-value, packed in frozen dataclasses
whose ``to_dict()`` survives ``json.dumps(..., allow_nan=False)``.

* rates:        wilson_ci, rate_difference
* boundaries:   logistic_boundary (50% point of P(generalise) against a log control),
                firth_boundary (the same, finite under separation, profile CIs)
* scaling laws: compare_scaling_laws (n*(M) proportional to M log M, M, M^2 or M^k)
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


def agree(a: Estimate, b: Estimate) -> bool:
    """Two estimates of one quantity agree when one lies inside the other's CI (e.g. n* read at
    T/2 and at T: "converged in budget")."""
    return bool(a.lo <= b.value <= a.hi or b.lo <= a.value <= b.hi)


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
    diff: Estimate  # mean(a - b), Student t CI, p = exact sign-flip permutation test
    p_wilcoxon: float
    p_sign: float
    effect_size: float  # mean(d) / sd(d)
    n: int
    alternative: str
    n_dropped: int = 0


@dataclass(frozen=True)
class TwoSampleResult(_ToDict):
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


def _binary_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = _pairs(x, y, ("x", "y"), min_n=1)
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
    x, y = _binary_xy(x, y)
    degenerate = _degenerate_boundary(x, y, alpha, min_distinct=3)
    if degenerate is not None:
        return degenerate
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
    a, b, dropped = _pairs(a, b, ("a", "b"), min_n=2, drop_nan=True)
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
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=4, drop_nan=True)
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
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
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
    x, y, dropped = _pairs(x, y, ("x", "y"), min_n=3, drop_nan=True)
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
