"""verdicts.rate: decisions at alpha (exact one-sided binomial tests), the interval it shows
labelled for what it is: two one-sided 1 - alpha Clopper-Pearson bounds = a 1 - 2 alpha interval."""
import numpy as np
import pytest
from scipy import stats as sps

from grokcore.decide import verdicts as V


@pytest.mark.parametrize("n,p0,side", [(6, 0.5, "greater"), (10, 0.5, "greater"), (12, 0.3, "less")])
def test_rate_decides_at_alpha_and_labels_its_interval_1_minus_2alpha(n, p0, side):
    alpha = 0.05
    other = "less" if side == "greater" else "greater"
    for k in range(n + 1):
        v = V.rate(k, n, p0, side, alpha)
        p = sps.binomtest(k, n, p0, alternative=side).pvalue
        q = sps.binomtest(k, n, p0, alternative=other).pvalue
        want = V.SUPPORTED if p < alpha else V.REFUTED if q < alpha else V.INCONCLUSIVE
        assert v.verdict == want, (k, n, v.reason)  # decisions: the exact tests at alpha, as before
        assert v.alpha == alpha  # the verdict's level
        assert v.effect.alpha == pytest.approx(2 * alpha)  # the shown interval's level: 90 %
        assert "90 % interval" in v.effect.method and "Wilson" not in v.effect.method


def test_rate_interval_covers_at_least_1_minus_2alpha_exactly():
    # exact coverage of [lower, upper] over every k, for p on a grid: >= 1 - 2 alpha everywhere,
    # and below 1 - alpha somewhere (so "95 %" would have been a wrong label)
    n, alpha = 10, 0.05
    bounds = [(V.rate(k, n, 0.5, "greater", alpha).effect.lo, V.rate(k, n, 0.5, "greater", alpha).effect.hi)
              for k in range(n + 1)]
    cov = []
    for p in np.linspace(0.01, 0.99, 197):
        pmf = sps.binom.pmf(np.arange(n + 1), n, p)
        cov.append(sum(w for w, (lo, hi) in zip(pmf, bounds) if lo <= p <= hi))
    assert min(cov) >= 1 - 2 * alpha - 1e-9
    assert min(cov) < 1 - alpha
