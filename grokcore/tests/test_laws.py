"""Known-answer, calibration and edge-case tests for grokcore.decide.laws (boundaries, scaling laws)."""
import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.special import expit

from grokcore.decide import laws


def _json_ok(obj) -> dict:
    d = obj.to_dict()
    json.dumps(d, allow_nan=False)
    return d


M = np.geomspace(11, 200, 10)
LM = np.log(M)
TRUE = {"M log M": LM + np.log(LM), "M": LM, "M^2": 2 * LM}


@pytest.mark.parametrize("law", list(TRUE))
def test_scaling_laws_pick_the_true_law(law):
    n_sim, sigma = 40, 0.1
    wrong = "M" if law == "M^2" else "M^2"
    runs = []
    for seed in range(n_sim):
        y = np.log(2.5) + TRUE[law] + np.random.default_rng(seed).normal(0, sigma, M.size)
        runs.append(laws.compare_scaling_laws(M, y, np.full(M.size, sigma)))
    rej_true = np.mean([r[law].rejected for r in runs])
    rej_wrong = np.mean([r[wrong].rejected for r in runs])
    near_best = np.mean([r[law].delta_aic <= 2 for r in runs])
    c_cover = np.mean([r[law].c.lo <= 2.5 <= r[law].c.hi for r in runs])
    assert rej_true <= 0.15, f"true law {law} rejected in {rej_true:.2f} of runs, expected ~0.05"
    assert rej_wrong == 1.0, f"wrong law {wrong} rejected in only {rej_wrong:.2f} of runs"
    assert near_best >= 0.8, f"true law within 2 AIC of best in {near_best:.2f} of runs"
    assert c_cover >= 0.8, f"c CI covered 2.5 in {c_cover:.2f} of runs"
    if law != "M log M":
        k_true = {"M": 1.0, "M^2": 2.0}[law]
        k_cover = np.mean([r["power"].k.lo <= k_true <= r["power"].k.hi for r in runs])
        assert k_cover >= 0.8, f"power-law k CI covered {k_true} in {k_cover:.2f} of runs, expected ~0.95"


def test_scaling_laws_power_exponent():
    y = np.log(3.0) + 1.5 * LM + np.random.default_rng(7).normal(0, 0.05, M.size)
    fits = laws.compare_scaling_laws(M, y, np.full(M.size, 0.05))
    k = fits["power"].k
    assert k.lo <= 1.5 <= k.hi, f"k CI [{k.lo:.3f}, {k.hi:.3f}] misses 1.5"
    assert fits["power"].delta_aic == 0.0 and not fits["power"].rejected
    assert all(fits[law].rejected for law in TRUE), {law: fits[law].p_fit for law in TRUE}
    assert fits["M"].k is None and fits["power"].dof == M.size - 2
    for f in fits.values():
        _json_ok(f)


def test_scaling_laws_unweighted_fallback_and_validation():
    y = np.log(2.5) + TRUE["M"] + np.random.default_rng(1).normal(0, 0.1, M.size)
    fits = laws.compare_scaling_laws(M, y, np.full(M.size, np.nan))
    assert "unweighted" in fits["M"].note and math.isnan(fits["M"].p_fit) and not fits["M"].rejected
    assert fits["M"].c.lo < 2.5 < fits["M"].c.hi
    assert min(fits, key=lambda law: fits[law].aic) in ("M", "power")
    _json_ok(fits["M"])
    with pytest.raises(ValueError, match="log_nstar_se"):
        laws.compare_scaling_laws(M, y, np.r_[np.nan, np.full(M.size - 1, 0.1)])
    with pytest.raises(ValueError, match="M must be > 1"):
        laws.compare_scaling_laws(np.r_[1.0, M[1:]], y, np.full(M.size, 0.1))
    with pytest.raises(ValueError, match="differ in length"):
        laws.compare_scaling_laws(M, y[:-1], np.full(M.size, 0.1))


def test_scaling_law_ci_uses_t_quantiles():
    Ms = np.array([20.0, 60.0, 200.0])
    y = np.log(2.0) + 1.2 * np.log(Ms) + np.array([0.02, -0.03, 0.01])
    se = np.full(3, 0.05)
    k = laws.compare_scaling_laws(Ms, y, se)["power"].k
    res = sps.linregress(np.log(Ms), y)
    chi2 = np.sum(((y - res.intercept - res.slope * np.log(Ms)) / 0.05) ** 2)
    se_k = 0.05 / math.sqrt(np.sum((np.log(Ms) - np.log(Ms).mean()) ** 2)) * max(1.0, math.sqrt(chi2))
    half = sps.t.ppf(0.975, 1) * se_k  # dof = 1: t_1 = 12.7, not z = 1.96
    assert (k.lo, k.hi) == pytest.approx((res.slope - half, res.slope + half), rel=1e-8)
    fit0 = laws._fit_law("power", np.log(Ms[:2]), y[:2], np.ones(2) / 0.05**2, True, 0.05)
    assert fit0.dof == 0 and (fit0.k.lo, fit0.k.hi) == (-math.inf, math.inf) and fit0.c.hi == math.inf
    assert "dof = 0" in fit0.note
    _json_ok(fit0)


def test_firth_two_point_design_known_answer():
    # with one binary covariate Firth's estimate adds 1/2 to each cell of the 2x2 table
    x = np.r_[np.zeros(10), np.ones(8)]
    y = np.r_[np.ones(3), np.zeros(7), np.ones(8)]  # all 8 successes at x = 1: MLE slope infinite
    b = laws.firth_boundary(x, y)
    l0, l1 = math.log(3.5 / 7.5), math.log(8.5 / 0.5)
    assert b.kind == "fit" and b.slope.value == pytest.approx(l1 - l0, rel=1e-8)
    assert b.x50.value == pytest.approx(-l0 / (l1 - l0), rel=1e-8)
    assert b.bracket == (-math.inf, 1.0), "quasi-separated at x = 0"
    _json_ok(b)


def test_firth_agrees_with_mle_on_overlapping_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.6, 400)
    y = (rng.random(400) < expit(4 * (x - 0.3))).astype(float)
    f = laws.firth_boundary(x, y)
    b0, b1 = sm.Logit(y, sm.add_constant(x)).fit(disp=0).params  # the plain MLE, for reference
    assert abs(f.x50.value - 0.3) < 0.1 and f.x50.lo <= 0.3 <= f.x50.hi, f"x50 {f.x50}"
    assert f.x50.value == pytest.approx(-b0 / b1, abs=0.05)
    assert f.slope.lo <= 4 <= f.slope.hi and f.slope.p < 1e-10 and f.bracket is None
    assert f.x50.method == "Firth penalized ML; profile penalized-likelihood CI"
    assert abs(f.slope.value) < abs(b1), "Firth shrinks the slope towards 0"


def _profile_check(x, y, b, alpha=0.05):
    """Independent check of the profile endpoints with scipy's scalar optimizers."""
    from scipy import optimize
    xm, xs = x.mean(), x.std()
    z = (x - xm) / xs
    neg = lambda p: -laws._firth_ll(p[0], p[1], z, y)
    top = optimize.minimize(neg, [0.0, 1.0], method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12))
    crit = sps.chi2.ppf(1 - alpha, 1)
    for end in (b.x50.lo, b.x50.hi):
        m = (end - xm) / xs
        best = max(-optimize.minimize_scalar(lambda s: -laws._firth_ll(-s * m, s, z, y), bracket=(s0 / 2, s0)).fun
                   for s0 in (0.3, 1, 3, 10, 30))
        assert 2 * (-top.fun - best) == pytest.approx(crit, abs=1e-3)
    for end in (b.slope.lo, b.slope.hi):
        best = -optimize.minimize_scalar(lambda a: -laws._firth_ll(a, end * xs, z, y)).fun
        assert 2 * (-top.fun - best) == pytest.approx(crit, abs=1e-3)


def test_firth_separated_data():
    grid = np.log([100, 200, 400, 800, 1600, 3200, 6400])
    x = np.repeat(grid, 4)
    y = (x >= grid[3]).astype(float)  # all 0 below the 4th point, all 1 from it on
    b = laws.firth_boundary(x, y)
    gap = (grid[2], grid[3])
    assert b.kind == "fit" and b.bracket == pytest.approx(gap)
    assert gap[0] < b.x50.value < gap[1], f"x50 {b.x50.value} outside the gap {gap}"
    assert math.isfinite(b.x50.lo) and math.isfinite(b.x50.hi)
    assert b.x50.lo < gap[0] and b.x50.hi > gap[1], f"CI {b.x50} not wider than the gap {gap}"
    assert 0 < b.slope.lo < b.slope.value < b.slope.hi < math.inf and b.slope.p < 0.05
    assert "separated" in b.x50.note
    _profile_check(x, y, b)
    _json_ok(b)
    rev = laws.firth_boundary(x, 1 - y)
    assert rev.x50.value == pytest.approx(b.x50.value) and rev.slope.hi == pytest.approx(-b.slope.lo, rel=1e-6)


def test_firth_estimate_not_pinned_to_gap_midpoint():
    grid = np.log([100, 200, 400, 800, 1600, 3200, 6400])
    x = np.repeat(grid, 4)
    y = (x >= grid[3]).astype(float)
    base = laws.firth_boundary(x, y).x50.value
    y2 = y.copy()
    y2[12] = 0.0  # one replicate at the boundary point fails: quasi-separation
    y3 = y.copy()
    y3[8] = 1.0  # one replicate just below the boundary succeeds
    up, down = laws.firth_boundary(x, y2), laws.firth_boundary(x, y3)
    assert up.x50.value > base + 0.05 and down.x50.value < base - 0.05, (base, up.x50.value, down.x50.value)
    # the MLE does not exist here (complete separation): its limit puts x50 anywhere in the gap,
    # which the Firth estimate must not simply copy as the gap's mid-point (checked above)
    _profile_check(x, y2, up)


def test_firth_profile_ci_coverage():
    # 6 grid points x 4 replicates; transition (10% -> 90%) spans 2 grid steps; x50 anywhere
    # between the 2nd and 5th grid point. Many draws are separated.
    grid, n_sim = np.arange(6.0), 300
    x = np.repeat(grid, 4)
    cover, separated = [], 0
    for seed in range(n_sim):
        rng = np.random.default_rng(seed)
        x0 = rng.uniform(grid[1], grid[4])
        y = (rng.random(x.size) < expit(math.log(9) * (x - x0))).astype(float)
        b = laws.firth_boundary(x, y)
        cover.append(b.x50.lo <= x0 <= b.x50.hi)
        separated += b.bracket is not None
    rate = np.mean(cover)
    assert rate >= 0.90, f"profile CI covered the true x50 in {rate:.3f} of {n_sim} draws (nominal 0.95; " \
                         f"{separated} separated)"


def test_firth_degenerate_kinds():
    x = np.log([100, 200, 400, 800])
    fail = laws.firth_boundary(x, [0, 0, 0, 0])
    assert fail.kind == "all_fail" and (fail.x50.lo, fail.x50.hi) == (x.max(), math.inf)
    ok = laws.firth_boundary(x, [1, 1, 1, 1])
    assert ok.kind == "all_success" and (ok.x50.lo, ok.x50.hi) == (-math.inf, x.min())
    few = laws.firth_boundary([2, 2, 2], [0, 1, 1])
    assert few.kind == "too_few" and math.isnan(few.x50.value)
    two = laws.firth_boundary([0, 0, 1, 1], [0, 0, 1, 1])  # 2 distinct x are enough
    assert two.kind == "fit" and two.x50.value == pytest.approx(0.5) and two.bracket == (0.0, 1.0)
    flat = laws.firth_boundary([0, 1, 2, 3, 4, 5], [0, 1, 0, 1, 1, 0])
    assert flat.bracket is None and (flat.x50.lo, flat.x50.hi) == (-math.inf, math.inf) and flat.slope.p > 0.5
    assert "cannot bound" in flat.x50.note
    for b in (fail, ok, few, two, flat):
        _json_ok(b)
    with pytest.raises(ValueError, match="only 0 and 1"):
        laws.firth_boundary([0, 1, 2], [0, 2, 1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1)), min_size=1, max_size=30))
@example([(0, 0), (0, 0), (0, 1), (0, 1), (1, 0), (1, 1)])  # slope exactly 0: no 50% point (found by hypothesis)
def test_firth_never_crashes(pairs):
    x, y = np.array(pairs, dtype=float).T
    b = laws.firth_boundary(x, y)
    assert b.kind in {"fit", "all_fail", "all_success", "too_few"}
    if b.kind == "fit":
        assert b.slope.lo <= b.slope.value <= b.slope.hi, f"estimate outside its CI: {b.slope}"
        e = b.x50
        if math.isfinite(e.value):
            assert e.lo <= e.value <= e.hi, f"estimate outside its CI: {e}"
        else:  # a flat fit has no 50% point: NaN with the whole line as its CI, said in the note
            assert b.slope.value == 0 and (e.lo, e.hi) == (-math.inf, math.inf) and "flat fit" in e.note
    _json_ok(b)
