"""Known-answer, calibration and edge-case tests for grokcore.decide.stats."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
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


# ------------------------------------------------------------ scaling laws



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


# ------------------------------------------------------------ Firth boundary


def test_agree_means_one_estimate_inside_the_others_ci():
    a = S.Estimate("n*", 100.0, 90.0, 110.0, 0.05)
    assert S.agree(a, S.Estimate("n*", 108.0, 105.0, 140.0, 0.05))  # 108 in [90, 110]
    assert S.agree(a, S.Estimate("n*", 120.0, 95.0, 130.0, 0.05))  # 100 in [95, 130]
    assert not S.agree(a, S.Estimate("n*", 150.0, 130.0, 170.0, 0.05))
