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
    # separation: every weak-WD run at the two middle ratios censored (slowest in the middle: an
    # inverted U), the rest fast: no exception, and the curvature's sign is read as negative
    x, t, wd = _u_data(0.0, 0.0, 0.3, rng)
    t[(wd == 0.01) & np.isin(x, X[1:3])] = np.nan
    v = B.u_shape_verdict(x, t, wd, budget=np.nanmax(t) + 1)
    assert v.verdict == V.REFUTED and v.effect.value < 0, v.reason


def test_u_shape_null_calibration():
    # 80 draws (each a lifelines AFT fit, ~0.2-0.5 s): enough to catch a badly anti-conservative
    # Wald reference (a plain z at n = 30 would sit near 0.06-0.07, a naive OLS-on-observed fit
    # with censoring much higher); MC allowance 2.5 se = 0.06 at p = 0.05
    sup, ref = _rates(lambda r: _u_data(0.0, 0.0, 0.3, r), B.u_shape_verdict, n=80)
    assert sup <= ALPHA + 0.06 and ref <= ALPHA + 0.06, (sup, ref)


# ------------------------------------------------------------------ convergence in budget

def test_budget_check_needs_agreement_for_support_and_a_half_budget_refutation():
    from grokcore.decide.stats import Estimate
    e = Estimate("r*", 0.9, 0.7, 1.2, ALPHA)
    sup = V.Verdict(V.SUPPORTED, e, ALPHA, "fit")
    assert B.budget_check(sup, Estimate("r*", 1.0, 0.8, 1.4, ALPHA)).verdict == V.SUPPORTED  # converged
    v = B.budget_check(sup, Estimate("r*", 1.8, 1.4, 2.6, ALPHA))  # still moving with the budget
    assert v.verdict == V.INCONCLUSIVE and "not converged" in v.reason
    assert B.budget_check(sup, Estimate("r*", 1.0, 0.0, math.inf, ALPHA)).verdict == V.INCONCLUSIVE  # unbounded at T/2
    assert B.budget_check(sup, None).verdict == V.INCONCLUSIVE
    ref = V.Verdict(V.REFUTED, e, ALPHA, "slope < 0")
    assert B.budget_check(ref, e).verdict == V.REFUTED
    assert B.budget_check(ref, None).verdict == V.INCONCLUSIVE


RISING = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], float)  # 4 seeds x 5 widths


def test_converged_boundary_verdict_on_a_stable_and_a_moving_boundary():
    x = np.repeat(X, 4)
    assert B.converged_boundary_verdict(x, RISING, RISING).verdict == V.SUPPORTED  # the same at T/2
    late = np.r_[np.zeros(16), np.ones(4)]  # at T/2 only the widest ratio groks: r* moves with the budget
    v = B.converged_boundary_verdict(x, RISING, late)
    assert B.boundary_verdict(x, RISING)[0].verdict == V.SUPPORTED
    assert v.verdict == V.INCONCLUSIVE and "not converged" in v.reason, v.reason
    assert B.converged_boundary_verdict(x, RISING[::-1], RISING[::-1]).verdict == V.REFUTED
    assert B.converged_boundary_verdict(x, RISING[::-1], np.zeros(20)).verdict == V.INCONCLUSIVE  # not at T/2


def _boundary_draw(p_half_keep, slope=0.0, x50=0.0, seeds=4):
    """Outcomes at T from P(grok) = logistic(slope (x - x50)); at T/2 each T-success kept with
    probability p_half_keep (runs that grok in the second half of the budget)."""
    x = np.repeat(X, seeds)

    def draw(r):
        y = (r.random(x.size) < 1 / (1 + np.exp(-slope * (x - x50)))).astype(float)
        return x, y, y * (r.random(x.size) < p_half_keep)
    return draw


def test_converged_boundary_error_rates():
    """Null (flat P(grok) = 1/2 at T, 80 % of the successes already by T/2): support needs the
    boundary test at T (size <= alpha, test_boundary_null_calibration) and agreement at T/2, so
    its rate stays <= alpha within Monte Carlo error (1000 draws, 2 Firth fits each); the
    refutation rate too. Power with a stable sharp boundary (slope 8 per log-ratio unit at r* =
    0.9, the same at T/2, 6 seeds per ratio as the long tier's WD = 1 arm) is reported."""
    sup, ref = _rates(_boundary_draw(0.8), B.converged_boundary_verdict, n=1000)
    assert sup <= ALPHA + 0.017 and ref <= ALPHA + 0.017, (sup, ref)
    sup, _ = _rates(_boundary_draw(1.0, slope=8.0, x50=math.log(0.9), seeds=6), B.converged_boundary_verdict,
                    n=200, seed=1)
    assert sup >= 0.5, sup


def test_wd_shift_support_needs_converged_boundaries():
    x = np.tile(np.repeat(X, 4), 2)
    wd = np.repeat([1.0, 0.1], X.size * 4)
    both = {1.0: (True, "r* converged"), 0.1: (True, "r* converged")}
    v = B.wd_shift_verdict(x, np.r_[RISING, np.zeros(20)], wd, (1.0, 0.1), converged=both)
    assert v.verdict == V.SUPPORTED
    never = {1.0: (True, "r* converged"), 0.1: (False, "no bounded boundary (all_fail, 0/20 grokked)")}
    v = B.wd_shift_verdict(x, np.r_[RISING, np.zeros(20)], wd, (1.0, 0.1), converged=never)
    assert v.verdict == V.INCONCLUSIVE and "no bounded boundary" in v.reason and "converged in budget" in v.reason


# ------------------------------------------------------------------ detection-robust

def test_changes_count_every_change_of_verdict():
    base = {"a": V.SUPPORTED, "b": V.INCONCLUSIVE, "c": V.REFUTED, "order-params (RQI)": V.INCONCLUSIVE}
    same = {"r1": dict(base), "r2": dict(base)}
    v = B.changes_verdict(base, same)
    assert v.verdict == V.SUPPORTED and v.effect.value == 0, v.reason
    assert "cannot change (one reachable verdict, left out): order-params (RQI)" in v.power
    # decided -> inconclusive counts (the old rule reported it and passed)
    lost = {"r1": dict(base), "r2": {**base, "a": V.INCONCLUSIVE}}
    v = B.changes_verdict(base, lost)
    assert v.verdict == V.REFUTED and "a: supported -> inconclusive under r2" in v.reason and v.effect.value == 1
    # inconclusive -> decided counts too, and so does supported <-> refuted
    v = B.changes_verdict(base, {"r1": {**base, "b": V.SUPPORTED, "c": V.SUPPORTED}})
    assert v.verdict == V.REFUTED and v.effect.value == 2
    # nothing decided anywhere: inconclusive (no decision was put at risk)
    none = {k: V.INCONCLUSIVE for k in base}
    assert B.changes_verdict(none, {"r1": dict(none)}).verdict == V.INCONCLUSIVE
    # which inputs can refute at all
    v = B.changes_verdict({"wd-shifts-boundary": V.SUPPORTED, "grok-delayed": V.REFUTED,
                           "order-params (participation ratio)": V.SUPPORTED}, {"r1": {}})
    assert "inputs that can refute: grok-delayed" in v.power
    assert "never refute (supported or inconclusive only): wd-shifts-boundary, order-params (participation ratio)" \
        in v.power
    assert B.detection_robust_rule({"base": base, "table": lost}).verdict == V.REFUTED
