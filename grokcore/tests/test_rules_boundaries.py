"""Seed-002 decision rules (grokcore.decide.rules_boundaries): every verdict each rule can give is
reachable on synthetic measurements, and under a simulated null the false "supported" and
false "refuted" rates stay <= alpha (+ Monte Carlo error)."""
import math

import numpy as np
from scipy import stats as sps

from grokcore.decide import rules_boundaries as B
from grokcore.decide import verdicts as V

ALPHA = 0.05
MC = 0.03  # Monte Carlo allowance: ~2 se at p = 0.05 over 200-300 draws
D = np.array([8, 12, 16, 24, 32])
X = np.log(D / 23)


def _rates(draw, rule, n=300, seed=0):
    rng = np.random.default_rng(seed)
    out = [rule(*draw(rng)).verdict for _ in range(n)]
    return out.count(V.SUPPORTED) / n, out.count(V.REFUTED) / n


# ------------------------------------------------------------------ capacity-boundary

def test_boundary_reaches_every_verdict():
    x = np.repeat(X, 4)
    rising = np.concatenate([[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1], [1, 1, 1, 1]]).astype(float)
    v, b = B.boundary_verdict(x, rising)
    assert v.verdict == V.SUPPORTED and X[0] < math.log(v.effect.value) < X[-1], v.reason
    assert v.grid and math.isfinite(v.grid[None])
    assert B.boundary_verdict(x, rising[::-1])[0].verdict == V.REFUTED
    assert B.boundary_verdict(x, np.zeros(x.size))[0].verdict == V.INCONCLUSIVE  # all fail
    assert B.boundary_verdict(x, np.ones(x.size))[0].verdict == V.INCONCLUSIVE  # all succeed
    # one grokked run at the top ratio (the AVX-512 case of the old fast tier): not a boundary
    one = np.zeros(x.size)
    one[-1] = 1
    assert B.boundary_verdict(x, one)[0].verdict == V.INCONCLUSIVE
    # a transition at the edge of the range: r* not bounded inside it
    edge = np.concatenate([np.zeros(16), [0, 1, 1, 1]])
    assert B.boundary_verdict(x, edge)[0].verdict == V.INCONCLUSIVE


def test_boundary_null_calibration():
    x = np.repeat(X, 4)
    sup, ref = _rates(lambda r: (x, (r.random(x.size) < 0.5).astype(float)), lambda a, b: B.boundary_verdict(a, b)[0],
                      n=200)
    assert sup <= ALPHA + MC and ref <= ALPHA + MC, (sup, ref)


# ------------------------------------------------------------------ wd-shifts-boundary

def test_stratified_exact_matches_fisher_on_one_stratum_and_is_a_distribution():
    pg, pl, pmin = B.stratified_exact([4], [5], [1], [5])
    assert math.isclose(pg, sps.fisher_exact([[4, 1], [1, 4]], alternative="greater").pvalue, rel_tol=1e-9)
    assert math.isclose(pl, sps.fisher_exact([[4, 1], [1, 4]], alternative="less").pvalue, rel_tol=1e-9)
    assert math.isclose(pmin, 2 / math.comb(10, 5), rel_tol=1e-9)
    pg, pl, _ = B.stratified_exact([2, 1, 0], [2, 2, 2], [0, 1, 2], [2, 2, 2])
    assert pg + pl >= 1.0  # the observed point is counted in both tails


def test_wd_shift_reaches_its_verdicts_and_never_refutes():
    x = np.tile(np.repeat(X, 4), 3)
    wd = np.repeat([1.0, 0.1, 0.01], X.size * 4)
    y1 = (np.repeat(X, 4) >= X[2]).astype(float)  # WD = 1 groks from d = 16 up
    y_shift = np.concatenate([y1, np.zeros(y1.size), np.zeros(y1.size)])  # weak WD never groks
    v = B.wd_shift_verdict(x, y_shift, wd)
    assert v.verdict == V.SUPPORTED and "WD=1 groks more" in v.reason, v.reason
    assert v.grid and 1.0 in v.grid
    v = B.wd_shift_verdict(x, np.concatenate([y1, y1, y1]), wd)
    assert v.verdict == V.INCONCLUSIVE
    # one grokked run of 60 (the AVX-512 case): cannot be significant
    one = np.zeros(x.size)
    one[X.size * 4 - 1] = 1
    v = B.wd_shift_verdict(x, one, wd, budgets={1.0: 1200, 0.1: 1200, 0.01: 1200})
    assert v.verdict == V.INCONCLUSIVE and "confounded" in v.reason and "smallest attainable" in v.power


def test_wd_shift_holm_stops_at_first_non_rejection():
    # two WDs differ strongly, the third pair only weakly: Holm's second step needs p < alpha/2
    x = np.tile(np.repeat(X, 4), 3)
    wd = np.repeat([1.0, 0.1, 0.01], X.size * 4)
    y1 = np.ones(X.size * 4)
    y2 = np.zeros(X.size * 4)
    y3 = (np.arange(X.size * 4) % 4 == 0).astype(float)  # 5 of 20 grok
    v = B.wd_shift_verdict(x, np.concatenate([y1, y2, y3]), wd)
    assert v.verdict == V.SUPPORTED
    assert "(rejected)" in v.reason


def test_wd_shift_null_calibration():
    x = np.tile(np.repeat(X, 3), 3)
    wd = np.repeat([1.0, 0.1, 0.01], X.size * 3)
    p = 1 / (1 + np.exp(-3 * x))  # a common boundary near r = 1

    def draw(r):
        return x, (r.random(x.size) < p).astype(float), wd
    sup, ref = _rates(draw, B.wd_shift_verdict, n=150)
    assert sup <= ALPHA + MC and ref == 0.0, (sup, ref)


# ------------------------------------------------------------------ capacity-u-shape

def _u_data(c_weak, c_strong, noise, rng, seeds=3, censor_weak=()):
    x = np.tile(np.repeat(X, seeds), 2)
    wd = np.repeat([0.01, 1.0], X.size * seeds)
    c = np.where(wd == 0.01, c_weak, c_strong)
    lt = 7 + c * x**2 + noise * rng.normal(size=x.size)
    t = np.exp(lt)
    for r in censor_weak:
        t[(wd == 0.01) & (x == X[r])] = np.nan
    return x, t, wd


def test_u_shape_reaches_every_verdict():
    rng = np.random.default_rng(1)
    assert B.u_shape_verdict(*_u_data(3.0, 0.0, 0.3, rng)).verdict == V.SUPPORTED
    assert B.u_shape_verdict(*_u_data(-3.0, 0.0, 0.3, rng)).verdict == V.REFUTED
    assert B.u_shape_verdict(*_u_data(0.0, 0.0, 0.3, rng)).verdict == V.INCONCLUSIVE
    # censored weak-WD runs enter the AFT as censored (none dropped): a U whose slow ends are
    # censored at the budget is still supported
    x, t, wd = _u_data(3.0, 0.0, 0.3, rng)
    budget = float(np.quantile(t[wd == 0.01], 0.8))
    t = np.where(t > budget, np.nan, t)
    v = B.u_shape_verdict(x, t, wd, budget=np.where(wd == 0.01, budget, np.nanmax(t) + 1))
    assert v.verdict == V.SUPPORTED and "grokked" in v.reason, v.reason
    # nothing grokked at weak WD: no curvature
    x, t, wd = _u_data(3.0, 0.0, 0.05, rng)
    t[wd == 0.01] = np.nan
    v = B.u_shape_verdict(x, t, wd)
    assert v.verdict == V.INCONCLUSIVE and "not estimable" in v.reason
    # separation: every weak-WD run at the two middle ratios censored, the rest fast: no exception
    x, t, wd = _u_data(0.0, 0.0, 0.3, rng)
    t[(wd == 0.01) & np.isin(x, X[1:3])] = np.nan
    v = B.u_shape_verdict(x, t, wd, budget=np.nanmax(t) + 1)
    assert v.verdict in V.VERDICTS


def test_u_shape_null_calibration():
    # 80 draws (each a lifelines AFT fit, ~0.2-0.5 s): enough to catch a badly anti-conservative
    # Wald reference (a plain z at n = 30 would sit near 0.06-0.07, a naive OLS-on-observed fit
    # with censoring much higher); MC allowance 2.5 se = 0.06 at p = 0.05
    sup, ref = _rates(lambda r: _u_data(0.0, 0.0, 0.3, r), B.u_shape_verdict, n=80)
    assert sup <= ALPHA + 0.06 and ref <= ALPHA + 0.06, (sup, ref)


# ------------------------------------------------------------------ detection-robust

def test_flips_count_only_decided_changes():
    base = {"a": V.SUPPORTED, "b": V.INCONCLUSIVE, "c": V.SUPPORTED}
    ok = {"r1": {"a": V.SUPPORTED, "b": V.SUPPORTED, "c": V.INCONCLUSIVE}}
    v = B.flips_verdict(base, ok)
    assert v.verdict == V.SUPPORTED and v.effect.value == 0 and "2 decided <-> inconclusive" in v.reason
    flip = {"r1": {"a": V.REFUTED, "b": V.INCONCLUSIVE, "c": V.SUPPORTED}}
    v = B.flips_verdict(base, flip)
    assert v.verdict == V.REFUTED and v.effect.value == 1 and "a: supported -> refuted under r1" in v.reason
    vacuous = {"r1": {"a": V.INCONCLUSIVE, "b": V.INCONCLUSIVE, "c": V.INCONCLUSIVE}}
    assert B.flips_verdict(base, vacuous).verdict == V.INCONCLUSIVE
    assert B.detection_robust_rule({"base": base, "table": ok}).verdict == V.SUPPORTED
