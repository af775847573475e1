"""Known-answer, calibration and edge-case tests for grokcore.stats."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.special import expit
from statsmodels.stats.proportion import proportion_confint

from grokcore import stats as S


def _json_ok(obj) -> dict:
    d = obj.to_dict()
    json.dumps(d, allow_nan=False)
    return d


# ------------------------------------------------------------------- rates

def test_wilson_matches_statsmodels():
    for k, n in [(0, 10), (3, 10), (10, 10), (57, 200)]:
        e = S.wilson_ci(k, n, alpha=0.1)
        lo, hi = proportion_confint(k, n, alpha=0.1, method="wilson")
        assert (e.lo, e.hi) == pytest.approx((lo, hi), abs=1e-12), f"wilson({k},{n}): got {(e.lo, e.hi)}, want {(lo, hi)}"
        _json_ok(e)


@pytest.mark.parametrize("k,n", [(-1, 5), (6, 5), (1, 0), (1.5, 4)])
def test_wilson_rejects_bad_counts(k, n):
    with pytest.raises(ValueError, match="k"):
        S.wilson_ci(k, n)


def test_rate_difference_newcombe_published_example():
    # Newcombe (1998) Stat Med 17:873, example (a): 56/70 - 48/80, method 10 -> [0.0524, 0.3339]
    e = S.rate_difference(56, 70, 48, 80)
    assert e.value == pytest.approx(0.2)
    assert (e.lo, e.hi) == pytest.approx((0.0524, 0.3339), abs=1e-4), f"got {(e.lo, e.hi)}"
    assert e.p == pytest.approx(sps.fisher_exact([[56, 14], [48, 32]]).pvalue)


def test_rate_difference_effect_and_null():
    big = S.rate_difference(18, 20, 3, 20)
    assert big.p < 0.05 and big.lo > 0, f"large effect missed: {big}"
    one = S.rate_difference(18, 20, 3, 20, alternative="greater")
    assert one.hi == 1.0 and one.lo > big.lo and one.p < big.p
    null = S.rate_difference(10, 20, 11, 20)
    assert null.p > 0.05 and null.lo < 0 < null.hi, f"null flagged: {null}"
    with pytest.raises(ValueError, match="alternative"):
        S.rate_difference(1, 2, 1, 2, alternative="bigger")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_rate_intervals_contain_estimate(n1, n2, data):
    k1, k2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    w = S.wilson_ci(k1, n1)
    assert 0 <= w.lo <= w.value <= w.hi <= 1
    d = S.rate_difference(k1, n1, k2, n2)
    assert -1 <= d.lo <= d.value <= d.hi <= 1 and 0 <= d.p <= 1


# -------------------------------------------------------------- boundaries

def _simulate(seed: int, x0: float = 2.3, s: float = 2.0, reps: int = 5):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.linspace(0.0, 4.0, 8), reps)
    return x, (rng.random(x.size) < expit(s * (x - x0))).astype(float)


@pytest.mark.parametrize("n_boot", [0, 300])
def test_logistic_boundary_coverage(n_boot):
    x0, n_sim = 2.3, 120
    fits = [S.logistic_boundary(*_simulate(seed, x0), n_boot=n_boot, seed=seed) for seed in range(n_sim)]
    cover = np.mean([f.x50.lo <= x0 <= f.x50.hi for f in fits])
    # Binomial(120, 0.95) sd is 0.02: 0.85 is five sd below nominal
    assert 0.85 <= cover <= 1.0, f"x50 CI coverage {cover:.3f}, expected ~0.95 (n_boot={n_boot})"
    est = np.median([f.x50.value for f in fits if f.kind == "fit"])
    assert est == pytest.approx(x0, abs=0.15), f"median x50 {est:.3f}, expected {x0}"
    assert fits[0].slope.p < 0.05 and fits[0].slope.lo > 0


def test_logistic_boundary_separated():
    b = S.logistic_boundary([0, 1, 2, 3, 4, 5], [0, 0, 0, 1, 1, 1])
    assert b.kind == "separated" and b.bracket == (2.0, 3.0)
    assert (b.x50.value, b.x50.lo, b.x50.hi) == (2.5, 2.0, 3.0)
    assert b.slope.value == math.inf and 0 < b.slope.lo < math.inf, f"slope bound {b.slope}"
    assert "separation" in b.x50.note
    _json_ok(b)
    rev = S.logistic_boundary([0, 1, 2, 3, 4, 5], [1, 1, 1, 0, 0, 0])
    assert rev.kind == "separated" and rev.slope.value == -math.inf and rev.slope.hi == -b.slope.lo


def test_logistic_boundary_quasi_separated():
    b = S.logistic_boundary([0, 1, 2, 2, 3, 4], [0, 0, 0, 1, 1, 1])
    assert b.kind == "separated" and b.x50.value == 2.0 and b.bracket == (1.0, 3.0), f"got {b}"
    assert "quasi" in b.x50.note


def test_logistic_boundary_one_outcome_and_too_few():
    x = np.log([100, 200, 400, 800])
    fail = S.logistic_boundary(x, [0, 0, 0, 0])
    assert fail.kind == "all_fail" and math.isnan(fail.x50.value)
    assert (fail.x50.lo, fail.x50.hi) == (x.max(), math.inf)
    ok = S.logistic_boundary(x, [1, 1, 1, 1])
    assert ok.kind == "all_success" and (ok.x50.lo, ok.x50.hi) == (-math.inf, x.min())
    few = S.logistic_boundary([1, 1, 2, 2], [0, 1, 1, 0])
    assert few.kind == "too_few" and math.isnan(few.x50.value)
    for b in (fail, ok, few):
        _json_ok(b)


def test_logistic_boundary_validates():
    with pytest.raises(ValueError, match="y must contain only 0 and 1"):
        S.logistic_boundary([0, 1, 2], [0, 0.5, 1])
    with pytest.raises(ValueError, match="differ in length"):
        S.logistic_boundary([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="x has non-finite"):
        S.logistic_boundary([0, np.nan, 2], [0, 1, 1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1)), min_size=1, max_size=30))
def test_logistic_boundary_never_crashes(pairs):
    x, y = np.array(pairs, dtype=float).T
    b = S.logistic_boundary(x, y, n_boot=50)
    assert b.kind in {"fit", "separated", "all_fail", "all_success", "too_few"}
    assert not (b.x50.lo > b.x50.hi), f"inverted CI {b.x50}"
    _json_ok(b)


# ------------------------------------------------------------ scaling laws

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
        runs.append(S.compare_scaling_laws(M, y, np.full(M.size, sigma)))
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
    fits = S.compare_scaling_laws(M, y, np.full(M.size, 0.05))
    k = fits["power"].k
    assert k.lo <= 1.5 <= k.hi, f"k CI [{k.lo:.3f}, {k.hi:.3f}] misses 1.5"
    assert fits["power"].delta_aic == 0.0 and not fits["power"].rejected
    assert all(fits[law].rejected for law in TRUE), {law: fits[law].p_fit for law in TRUE}
    assert fits["M"].k is None and fits["power"].dof == M.size - 2
    for f in fits.values():
        _json_ok(f)


def test_scaling_laws_unweighted_fallback_and_validation():
    y = np.log(2.5) + TRUE["M"] + np.random.default_rng(1).normal(0, 0.1, M.size)
    fits = S.compare_scaling_laws(M, y, np.full(M.size, np.nan))
    assert "unweighted" in fits["M"].note and math.isnan(fits["M"].p_fit) and not fits["M"].rejected
    assert fits["M"].c.lo < 2.5 < fits["M"].c.hi
    assert min(fits, key=lambda law: fits[law].aic) in ("M", "power")
    _json_ok(fits["M"])
    with pytest.raises(ValueError, match="log_nstar_se"):
        S.compare_scaling_laws(M, y, np.r_[np.nan, np.full(M.size - 1, 0.1)])
    with pytest.raises(ValueError, match="M must be > 1"):
        S.compare_scaling_laws(np.r_[1.0, M[1:]], y, np.full(M.size, 0.1))
    with pytest.raises(ValueError, match="differ in length"):
        S.compare_scaling_laws(M, y[:-1], np.full(M.size, 0.1))


# ------------------------------------------------------------- comparisons

def test_paired_difference_effect_null_and_direction():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 12)
    big = S.paired_difference(base + 1.5 + rng.normal(0, 0.3, 12), base)
    assert big.p_wilcoxon < 0.05 and big.p_sign < 0.05 and big.diff.lo > 0, f"effect missed: {big}"
    assert big.effect_size > 2 and big.n == 12
    greater = S.paired_difference(base + 1.5 + rng.normal(0, 0.3, 12), base, alternative="greater")
    assert greater.diff.hi == math.inf and greater.p_wilcoxon < 0.05
    less = S.paired_difference(base + 1.5, base, alternative="less")
    assert less.p_wilcoxon > 0.5 and less.diff.lo == -math.inf
    noise = rng.normal(0, 1, 12)
    null = S.paired_difference(base + noise - noise.mean(), base)
    assert null.p_wilcoxon > 0.05 and null.diff.lo < 0 < null.diff.hi, f"null flagged: {null}"
    _json_ok(big)


def test_paired_difference_edges():
    zero = S.paired_difference([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert zero.p_wilcoxon == 1.0 and zero.p_sign == 1.0 and (zero.diff.lo, zero.diff.hi) == (0.0, 0.0)
    assert math.isnan(zero.effect_size)
    _json_ok(zero)
    with pytest.raises(ValueError, match="at least 2 complete"):
        S.paired_difference([1.0], [0.0])
    dropped = S.paired_difference([1.0, np.nan, 3.0, 4.0], [0.0, 1.0, 1.0, 1.0])
    assert dropped.n == 3 and dropped.n_dropped == 1
    with pytest.raises(ValueError, match="a has non-finite"):
        S.paired_difference([1.0, np.inf], [0.0, 0.0])


def test_two_sample_effect_and_null():
    rng = np.random.default_rng(3)
    a, b = rng.normal(3, 1, 15), rng.normal(0, 1, 12)
    r = S.two_sample(a, b)
    assert r.p_mannwhitney < 0.05 and r.diff_median.lo > 0 and r.diff_mean.lo > 0, f"effect missed: {r}"
    assert r.rank_biserial > 0.8 and (r.n_a, r.n_b) == (15, 12)
    assert S.two_sample([5.0, 6.0, 7.0], [1.0, 2.0]).rank_biserial == 1.0
    null = S.two_sample(rng.normal(0, 1, 15), rng.normal(0, 1, 15))
    assert null.p_mannwhitney > 0.05 and null.diff_mean.lo < 0 < null.diff_mean.hi, f"null flagged: {null}"
    _json_ok(r)
    with pytest.raises(ValueError, match="b needs at least 2"):
        S.two_sample([1.0, 2.0], [1.0, np.nan])


# ------------------------------------------------------------------ trends

@pytest.mark.parametrize("ci", ["fisher", "bootstrap"])
def test_rank_trend(ci):
    rng = np.random.default_rng(5)
    x = np.arange(20.0)
    up = S.rank_trend(x, x + rng.normal(0, 3, 20), ci=ci)
    assert up.p < 0.05 and up.lo > 0 and up.lo <= up.value <= up.hi, f"trend missed: {up}"
    null = S.rank_trend(x, rng.normal(0, 1, 20), ci=ci)
    assert null.p > 0.05 and null.lo < 0 < null.hi, f"null flagged: {null}"
    perfect = S.rank_trend(x, x**2, ci=ci)
    assert perfect.value == 1.0 and perfect.hi == 1.0
    _json_ok(perfect)
    with pytest.raises(ValueError, match="at least 4"):
        S.rank_trend([1, 2, 3], [1, 2, 3], ci=ci)


def test_rank_trend_bootstrap_matches_scipy_on_resample():
    # the vectorised resample statistic must equal scipy's on the same rows
    rng = np.random.default_rng(2)
    X, Y = rng.integers(0, 5, (20, 9)).astype(float), rng.normal(size=(20, 9))
    want_s = [sps.spearmanr(u, v)[0] for u, v in zip(X, Y)]
    want_k = [sps.kendalltau(u, v)[0] for u, v in zip(X, Y)]
    np.testing.assert_allclose(S._spearman_rows(X, Y), want_s, atol=1e-12)
    np.testing.assert_allclose(S._kendall_rows(X, Y, chunk_cells=200), want_k, atol=1e-12)


def test_kendall_trend():
    rng = np.random.default_rng(6)
    x = np.arange(25.0)
    up = S.kendall_trend(x, -x + rng.normal(0, 4, 25))
    assert up.p < 0.05 and up.hi < 0, f"trend missed: {up}"
    null = S.kendall_trend(x, rng.normal(0, 1, 25))
    assert null.p > 0.05 and null.lo < 0 < null.hi, f"null flagged: {null}"
    assert S.kendall_trend([1, 2, np.nan, 4], [1, 2, 3, 5]).note == "dropped 1 NaN pairs"


def test_linear_trend_known_slope_and_coverage():
    x = np.log(np.geomspace(1e-3, 1, 12))
    fits = []
    for seed in range(200):
        y = 3.0 - 0.8 * x + np.random.default_rng(seed).normal(0, 0.1, 12)
        fits.append(S.linear_trend(x, y))
        if seed == 0:
            ref = sps.linregress(x, y)
            assert fits[0].value == pytest.approx(ref.slope) and fits[0].p == pytest.approx(ref.pvalue)
    cover = np.mean([f.lo <= -0.8 <= f.hi for f in fits])
    assert 0.9 <= cover <= 0.99, f"slope CI coverage {cover:.3f}, expected ~0.95"
    assert all(f.hi < 0 and f.p < 0.05 for f in fits)
    with pytest.raises(ValueError, match="constant"):
        S.linear_trend([1, 1, 1], [1, 2, 3])


def test_bootstrap_ci():
    v = np.random.default_rng(9).normal(10, 1, 50)
    e = S.bootstrap_ci(v, seed=1)
    assert e.lo < 10 < e.hi and e.name == "mean" and e.p is None
    assert S.bootstrap_ci(v, seed=1) == e, "same seed must give the same interval"
    m = S.bootstrap_ci(v, stat=np.median, alpha=0.1, n_boot=500)
    assert m.name == "median" and m.lo <= np.median(v) <= m.hi
    with pytest.raises(ValueError, match="values"):
        S.bootstrap_ci([])
    with pytest.raises(ValueError, match="values has non-finite"):
        S.bootstrap_ci([1.0, np.nan])
