"""Known-answer, calibration and edge-case tests for grokcore.decide.stats."""
import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.special import expit
from statsmodels.stats.proportion import proportion_confint

from grokcore.decide import stats as S


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


# ------------------------------------------------------------ multiplicity

def test_holm_stops_at_first_non_rejection():
    # levels 0.05/3, 0.05/2, 0.05/1: the 2nd-smallest p (0.04 > 0.025) fails, so the 3rd
    # (0.045 < 0.05, which would pass its own level) is not rejected either
    p = [0.045, 0.01, 0.04]
    assert S.holm(p, 0.05) == [False, True, False]
    assert S.holm_levels(p, 0.05) == pytest.approx([0.05, 0.05 / 3, 0.025])
    assert S.holm([0.001, 0.02, 0.04], 0.05) == [True, True, True]
    assert S.holm([0.03, 0.001], 0.05) == [True, True]  # 0.001 < 0.025, then 0.03 < 0.05
    assert S.holm([0.02, 0.02], 0.05) == [True, True]  # tied: 0.02 < 0.025, then < 0.05
    assert S.holm([0.5, 0.001], 0.05) == [False, True]


def test_holm_edges():
    assert S.holm([], 0.05) == [] and S.holm_levels([], 0.05) == []
    assert S.holm([0.05], 0.05) == [False], "strict p < level, as everywhere in stats"
    assert S.holm([np.nan, 0.001, 0.01]) == [False, True, True]
    assert S.holm_levels([np.nan, 0.001]) == pytest.approx([0.05, 0.025])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        S.holm([0.1, 1.5])


# ---------------------------------------------------- t quantiles, one-sample

def test_t_quantile():
    assert S.t_quantile(0.05, 1) == pytest.approx(12.7062047, abs=1e-6)
    assert S.t_quantile(0.05, 4, "greater") == pytest.approx(2.1318468, abs=1e-6)
    assert S.t_quantile(0.05, 4, "less") == S.t_quantile(0.05, 4, "greater")
    assert S.t_quantile(0.05, math.inf) == pytest.approx(1.959964, abs=1e-6)
    assert S.t_quantile(0.05, 0) == math.inf and S.t_quantile(0.05, math.nan) == math.inf
    with pytest.raises(ValueError, match="alternative"):
        S.t_quantile(0.05, 3, "both")


def test_one_sample_known_answers():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    e = S.one_sample(v)
    # all 16 sign vectors: |sum| >= 10 only for all + and all -
    assert e.value == 2.5 and e.p == pytest.approx(2 / 16) and "exact sign-flip" in e.method
    ci = sps.ttest_1samp(v, 0.0).confidence_interval(0.95)
    assert (e.lo, e.hi) == pytest.approx((ci.low, ci.high), rel=1e-12)
    g = S.one_sample(v, alternative="greater")
    assert g.p == pytest.approx(1 / 16) and g.hi == math.inf
    assert g.lo == pytest.approx(sps.ttest_1samp(v, 0.0, alternative="greater").confidence_interval(0.95).low)
    less = S.one_sample(v, alternative="less")
    assert less.p == 1.0 and less.lo == -math.inf
    # null shifts the test, not the interval: v - 2.5 = (-1.5, -.5, .5, 1.5) -> every pattern
    # with |sum| >= 0 counts
    assert S.one_sample(v, null=2.5).p == 1.0
    # [1, 2, 3] - 1 = (0, 1, 2): the zero's two signs tie, sums 3 reached by (+, +) only
    assert S.one_sample([1.0, 2.0, 3.0], null=1.0, alternative="greater").p == pytest.approx(2 / 8)
    _json_ok(e)


def test_one_sample_random_flips_and_edges():
    v = np.random.default_rng(4).normal(0.8, 1, 30)
    e = S.one_sample(v, seed=3)
    assert "20000 random" in e.method and e.p == S.one_sample(v, seed=3).p
    assert e.p == pytest.approx(sps.ttest_1samp(v, 0).pvalue, abs=0.01), "permutation ~ t for normal data"
    assert S.one_sample(np.full(20, 1.0), alternative="greater").p == pytest.approx(1 / 20001)
    const = S.one_sample([2.0, 2.0, 2.0])
    assert (const.lo, const.hi) == (2.0, 2.0)
    nan = S.one_sample([1.0, np.nan, 2.0, 4.0])
    assert nan.note == "dropped 1 NaN values" and nan.value == pytest.approx(7 / 3)
    with pytest.raises(ValueError, match="at least 2"):
        S.one_sample([1.0, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        S.one_sample([1.0, np.inf])


@pytest.mark.parametrize("n", [5, 8])
def test_one_sample_null_calibration(n):
    rng = np.random.default_rng(100 + n)
    ests = [S.one_sample(rng.normal(size=n), alternative="greater") for _ in range(2000)]
    rate = np.mean([e.p < 0.05 for e in ests])
    assert rate <= 0.05 + 0.015, f"n={n}: one-sided sign-flip test rejects a true null in {rate:.4f} of 2000"
    cover = np.mean([e.lo <= 0.0 for e in ests])
    assert 0.935 <= cover <= 0.965, f"n={n}: one-sided t bound covers 0 in {cover:.4f}, expected 0.95"


def test_paired_difference_small_n_uses_t_and_exact_tests():
    a = np.array([1.5, 2.0, 2.2, 3.0])
    b = np.zeros(4)
    r = S.paired_difference(a, b)
    ci = sps.ttest_1samp(a, 0.0).confidence_interval(0.95)
    assert (r.diff.lo, r.diff.hi) == pytest.approx((ci.low, ci.high), rel=1e-12)
    # with 4 pairs the percentile bootstrap gives ~[min, max]; the t interval is wider
    assert r.diff.lo < a.min() and r.diff.hi > a.max()
    assert r.diff.p == pytest.approx(2 / 16) and "sign-flip" in r.diff.method
    assert r.p_wilcoxon == pytest.approx(sps.wilcoxon(a, method="exact").pvalue) == pytest.approx(0.125)
    g = S.paired_difference(a, b, alternative="greater")
    assert g.diff.p == pytest.approx(1 / 16) and g.p_wilcoxon == pytest.approx(1 / 16)
    # ties in |d| (and a zero, discarded): scipy's default instead of "exact"
    tied = S.paired_difference([1.0, 1.0, -1.0, 2.0, 0.0, 3.0], np.zeros(6))
    assert tied.p_wilcoxon == pytest.approx(sps.wilcoxon([1.0, 1.0, -1.0, 2.0, 3.0]).pvalue)


def test_two_sample_welch_exact_mw_and_small_median():
    a, b = np.array([3.1, 4.0, 5.2, 6.3, 4.4]), np.array([1.0, 2.2, 1.7, 0.4])
    r = S.two_sample(a, b)
    tt = sps.ttest_ind(a, b, equal_var=False)
    ci = tt.confidence_interval(0.95)
    assert (r.diff_mean.lo, r.diff_mean.hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.diff_mean.p == pytest.approx(tt.pvalue) and "Welch" in r.diff_mean.method
    assert r.p_mannwhitney == pytest.approx(sps.mannwhitneyu(a, b, method="exact").pvalue)
    assert r.p_mannwhitney == pytest.approx(2 / math.comb(9, 4)) and "exact" in r.diff_median.method
    assert math.isnan(r.diff_median.lo) and math.isnan(r.diff_median.hi)
    assert r.diff_median.note == "n < 8: no median CI; decide on the Mann-Whitney p"
    assert r.diff_median.value == pytest.approx(np.median(a) - np.median(b))
    g = S.two_sample(a, b, alternative="greater")
    assert g.diff_mean.hi == math.inf and g.diff_mean.lo > 0
    assert g.diff_mean.p == pytest.approx(sps.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
    _json_ok(r)
    # ties: normal approximation with continuity correction
    ta, tb = [1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 4.0, 4.0, 5.0]
    assert S.two_sample(ta, tb).p_mannwhitney == pytest.approx(
        sps.mannwhitneyu(ta, tb, method="asymptotic", use_continuity=True).pvalue)
    const = S.two_sample([2.0, 2.0], [1.0, 1.0], alternative="greater")
    assert (const.diff_mean.value, const.diff_mean.lo, const.diff_mean.p) == (1.0, 1.0, 0.0)


def test_bootstrap_ci_small_n():
    v = np.array([0.9, 1.1, 1.6, 0.7, 1.2])
    e = S.bootstrap_ci(v)
    ci = sps.ttest_1samp(v, 0.0).confidence_interval(0.95)
    assert (e.lo, e.hi) == pytest.approx((ci.low, ci.high), rel=1e-12) and "Student t" in e.method
    boot = S.bootstrap_ci(v, lambda r: r.mean())  # same statistic, not recognised: percentile bootstrap
    assert "bootstrap" in boot.method and "unreliable" in boot.note
    assert boot.hi - boot.lo < 0.8 * (e.hi - e.lo), f"bootstrap {boot} vs t {e}"
    one = S.bootstrap_ci([3.0])
    assert (one.value, one.lo, one.hi) == (3.0, -math.inf, math.inf)
    _json_ok(one)
    med = S.bootstrap_ci(v, np.median)
    assert "bootstrap" in med.method and med.note == "n <= 6: percentile bootstrap interval is unreliable"
    assert S.bootstrap_ci(np.r_[v, v], np.median).note == ""


# ------------------------------------------------------------ trends (new)

def test_rank_trend_perfect_has_a_real_interval():
    n = 8
    x = np.arange(float(n))
    r1 = 1 - 12 / (n * (n * n - 1))
    want = math.tanh(math.atanh(r1) - S._z(0.05) * math.sqrt((1 + r1**2 / 2) / (n - 3)))
    up = S.rank_trend(x, x**3)
    assert up.hi == 1.0 and up.lo == pytest.approx(want) and up.lo < 0.99, f"degenerate CI {up}"
    assert "largest non-perfect" in up.note
    down = S.rank_trend(x, -x)
    assert down.lo == -1.0 and down.hi == pytest.approx(-want)
    assert S.rank_trend(x, x + np.r_[0, 0, 0, 0.5, -0.5, 0, 0, 0] * 3).note == ""


def test_kendall_permutation_p():
    x = np.arange(1.0, 9.0)
    y = np.array([2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0])
    e = S.kendall_trend(x, y, n_boot=200)
    exact = sps.kendalltau(x, y, method="exact").pvalue
    assert e.p == pytest.approx(exact, abs=0.01), f"permutation p {e.p} vs exact {exact}"
    assert "permutation p (5000" in e.method
    g = S.kendall_trend(x, y, n_boot=200, alternative="greater")
    assert g.p == pytest.approx(exact / 2, abs=0.01) and g.hi == 1.0 and g.lo > -1
    less = S.kendall_trend(x, y, n_boot=200, alternative="less")
    assert less.p > 0.95 and less.lo == -1.0
    assert math.isnan(S.kendall_trend(x, np.ones(8), n_boot=50).p)
    with pytest.raises(ValueError, match="alternative"):
        S.kendall_trend(x, y, alternative="up")


def test_kendall_null_calibration_with_ties():
    # censored outcomes tied last (30% at the max value): the permutation p stays calibrated
    rng, x = np.random.default_rng(11), np.arange(1.0, 13.0)
    rej = []
    for i in range(500):
        y = rng.normal(size=12)
        y[rng.random(12) < 0.3] = 10.0
        rej.append(S.kendall_trend(x, y, n_boot=20, n_perm=500, seed=i).p < 0.05)
    assert np.mean(rej) <= 0.05 + 0.02, f"false rejection rate {np.mean(rej):.3f} over 500 draws"


# --------------------------------------------------- few-dof scaling fits

def test_scaling_law_ci_uses_t_quantiles():
    Ms = np.array([20.0, 60.0, 200.0])
    y = np.log(2.0) + 1.2 * np.log(Ms) + np.array([0.02, -0.03, 0.01])
    se = np.full(3, 0.05)
    k = S.compare_scaling_laws(Ms, y, se)["power"].k
    res = sps.linregress(np.log(Ms), y)
    chi2 = np.sum(((y - res.intercept - res.slope * np.log(Ms)) / 0.05) ** 2)
    se_k = 0.05 / math.sqrt(np.sum((np.log(Ms) - np.log(Ms).mean()) ** 2)) * max(1.0, math.sqrt(chi2))
    half = sps.t.ppf(0.975, 1) * se_k  # dof = 1: t_1 = 12.7, not z = 1.96
    assert (k.lo, k.hi) == pytest.approx((res.slope - half, res.slope + half), rel=1e-8)
    fit0 = S._fit_law("power", np.log(Ms[:2]), y[:2], np.ones(2) / 0.05**2, True, 0.05)
    assert fit0.dof == 0 and (fit0.k.lo, fit0.k.hi) == (-math.inf, math.inf) and fit0.c.hi == math.inf
    assert "dof = 0" in fit0.note
    _json_ok(fit0)


# ------------------------------------------------------------ Firth boundary

def test_firth_two_point_design_known_answer():
    # with one binary covariate Firth's estimate adds 1/2 to each cell of the 2x2 table
    x = np.r_[np.zeros(10), np.ones(8)]
    y = np.r_[np.ones(3), np.zeros(7), np.ones(8)]  # all 8 successes at x = 1: MLE slope infinite
    b = S.firth_boundary(x, y)
    l0, l1 = math.log(3.5 / 7.5), math.log(8.5 / 0.5)
    assert b.kind == "fit" and b.slope.value == pytest.approx(l1 - l0, rel=1e-8)
    assert b.x50.value == pytest.approx(-l0 / (l1 - l0), rel=1e-8)
    assert b.bracket == (-math.inf, 1.0), "quasi-separated at x = 0"
    _json_ok(b)


def test_firth_agrees_with_mle_on_overlapping_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.6, 400)
    y = (rng.random(400) < expit(4 * (x - 0.3))).astype(float)
    f, m = S.firth_boundary(x, y), S.logistic_boundary(x, y, n_boot=0)
    assert abs(f.x50.value - 0.3) < 0.1 and f.x50.lo <= 0.3 <= f.x50.hi, f"x50 {f.x50}"
    assert f.x50.value == pytest.approx(m.x50.value, abs=0.05)
    assert f.slope.lo <= 4 <= f.slope.hi and f.slope.p < 1e-10 and f.bracket is None
    assert f.x50.method == "Firth penalized ML; profile penalized-likelihood CI"
    assert abs(f.slope.value) < abs(m.slope.value), "Firth shrinks the slope towards 0"


def _profile_check(x, y, b, alpha=0.05):
    """Independent check of the profile endpoints with scipy's scalar optimizers."""
    from scipy import optimize
    xm, xs = x.mean(), x.std()
    z = (x - xm) / xs
    neg = lambda p: -S._firth_ll(p[0], p[1], z, y)
    top = optimize.minimize(neg, [0.0, 1.0], method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12))
    crit = sps.chi2.ppf(1 - alpha, 1)
    for end in (b.x50.lo, b.x50.hi):
        m = (end - xm) / xs
        best = max(-optimize.minimize_scalar(lambda s: -S._firth_ll(-s * m, s, z, y), bracket=(s0 / 2, s0)).fun
                   for s0 in (0.3, 1, 3, 10, 30))
        assert 2 * (-top.fun - best) == pytest.approx(crit, abs=1e-3)
    for end in (b.slope.lo, b.slope.hi):
        best = -optimize.minimize_scalar(lambda a: -S._firth_ll(a, end * xs, z, y)).fun
        assert 2 * (-top.fun - best) == pytest.approx(crit, abs=1e-3)


def test_firth_separated_data():
    grid = np.log([100, 200, 400, 800, 1600, 3200, 6400])
    x = np.repeat(grid, 4)
    y = (x >= grid[3]).astype(float)  # all 0 below the 4th point, all 1 from it on
    b = S.firth_boundary(x, y)
    gap = (grid[2], grid[3])
    assert b.kind == "fit" and b.bracket == pytest.approx(gap)
    assert gap[0] < b.x50.value < gap[1], f"x50 {b.x50.value} outside the gap {gap}"
    assert math.isfinite(b.x50.lo) and math.isfinite(b.x50.hi)
    assert b.x50.lo < gap[0] and b.x50.hi > gap[1], f"CI {b.x50} not wider than the gap {gap}"
    assert 0 < b.slope.lo < b.slope.value < b.slope.hi < math.inf and b.slope.p < 0.05
    assert "separated" in b.x50.note
    _profile_check(x, y, b)
    _json_ok(b)
    rev = S.firth_boundary(x, 1 - y)
    assert rev.x50.value == pytest.approx(b.x50.value) and rev.slope.hi == pytest.approx(-b.slope.lo, rel=1e-6)


def test_firth_estimate_not_pinned_to_gap_midpoint():
    grid = np.log([100, 200, 400, 800, 1600, 3200, 6400])
    x = np.repeat(grid, 4)
    y = (x >= grid[3]).astype(float)
    base = S.firth_boundary(x, y).x50.value
    y2 = y.copy()
    y2[12] = 0.0  # one replicate at the boundary point fails: quasi-separation
    y3 = y.copy()
    y3[8] = 1.0  # one replicate just below the boundary succeeds
    up, down = S.firth_boundary(x, y2), S.firth_boundary(x, y3)
    assert up.x50.value > base + 0.05 and down.x50.value < base - 0.05, (base, up.x50.value, down.x50.value)
    assert S.logistic_boundary(x, y).x50.value == pytest.approx(np.mean(grid[2:4])), "MLE: mid-point"
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
        b = S.firth_boundary(x, y)
        cover.append(b.x50.lo <= x0 <= b.x50.hi)
        separated += b.bracket is not None
    rate = np.mean(cover)
    assert rate >= 0.90, f"profile CI covered the true x50 in {rate:.3f} of {n_sim} draws (nominal 0.95; " \
                         f"{separated} separated)"


def test_firth_degenerate_kinds():
    x = np.log([100, 200, 400, 800])
    fail = S.firth_boundary(x, [0, 0, 0, 0])
    assert fail.kind == "all_fail" and (fail.x50.lo, fail.x50.hi) == (x.max(), math.inf)
    ok = S.firth_boundary(x, [1, 1, 1, 1])
    assert ok.kind == "all_success" and (ok.x50.lo, ok.x50.hi) == (-math.inf, x.min())
    few = S.firth_boundary([2, 2, 2], [0, 1, 1])
    assert few.kind == "too_few" and math.isnan(few.x50.value)
    two = S.firth_boundary([0, 0, 1, 1], [0, 0, 1, 1])  # 2 distinct x are enough
    assert two.kind == "fit" and two.x50.value == pytest.approx(0.5) and two.bracket == (0.0, 1.0)
    flat = S.firth_boundary([0, 1, 2, 3, 4, 5], [0, 1, 0, 1, 1, 0])
    assert flat.bracket is None and (flat.x50.lo, flat.x50.hi) == (-math.inf, math.inf) and flat.slope.p > 0.5
    assert "cannot bound" in flat.x50.note
    for b in (fail, ok, few, two, flat):
        _json_ok(b)
    with pytest.raises(ValueError, match="only 0 and 1"):
        S.firth_boundary([0, 1, 2], [0, 2, 1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1)), min_size=1, max_size=30))
@example([(0, 0), (0, 0), (0, 1), (0, 1), (1, 0), (1, 1)])  # slope exactly 0: no 50% point (found by hypothesis)
def test_firth_never_crashes(pairs):
    x, y = np.array(pairs, dtype=float).T
    b = S.firth_boundary(x, y)
    assert b.kind in {"fit", "all_fail", "all_success", "too_few"}
    if b.kind == "fit":
        assert b.slope.lo <= b.slope.value <= b.slope.hi, f"estimate outside its CI: {b.slope}"
        e = b.x50
        if math.isfinite(e.value):
            assert e.lo <= e.value <= e.hi, f"estimate outside its CI: {e}"
        else:  # a flat fit has no 50% point: NaN with the whole line as its CI, said in the note
            assert b.slope.value == 0 and (e.lo, e.hi) == (-math.inf, math.inf) and "flat fit" in e.note
    _json_ok(b)


def test_agree_means_one_estimate_inside_the_others_ci():
    a = S.Estimate("n*", 100.0, 90.0, 110.0, 0.05)
    assert S.agree(a, S.Estimate("n*", 108.0, 105.0, 140.0, 0.05))  # 108 in [90, 110]
    assert S.agree(a, S.Estimate("n*", 120.0, 95.0, 130.0, 0.05))  # 100 in [95, 130]
    assert not S.agree(a, S.Estimate("n*", 150.0, 130.0, 170.0, 0.05))
