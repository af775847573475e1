"""Seed 002's measurements on histories (grok steps under a detection rule, the width ratio,
weight decay, grokked or not) and the stratified exact test the WD-shift rule uses. Plain
functions; the rules in rules_boundaries decide on them."""
from __future__ import annotations

import numpy as np
from scipy import stats as sps

from grokcore.base import detect
from grokcore.base.detect import DetectRule

BASE_RULE = DetectRule(0.95, 10)  # seed 002


def grok_steps(hs, rule: DetectRule = BASE_RULE) -> np.ndarray:
    """First step of the rule per run; NaN if never within the budget or diverged."""
    return detect.run_steps(hs, rule)


def ratio_of(h) -> float:
    return h.config.model.width / h.config.M


def log_ratio(hs) -> np.ndarray:
    return np.log(np.array([ratio_of(h) for h in hs], float))


def wd_of(hs) -> np.ndarray:
    return np.array([h.config.optim.weight_decay for h in hs], float)


def grokked(hs, rule: DetectRule = BASE_RULE) -> np.ndarray:
    """1.0 per run that grokked within its budget under ``rule``, else 0.0."""
    return np.isfinite(grok_steps(hs, rule)).astype(float)


def stratified_exact(k1, n1, k2, n2) -> tuple[float, float, float]:
    """Exact conditional test of equal grok probability in two groups given the stratum (ratio):
    per stratum s, with m_s = k1_s + k2_s grokked runs, k1_s ~ Hypergeom(n1_s + n2_s, m_s, n1_s)
    under H0; the statistic S = sum_s k1_s has the convolution of these laws. Returns
    (p_greater = P(S >= s_obs), p_less = P(S <= s_obs), smallest attainable two-sided p given
    the margins)."""
    dist = np.array([1.0])
    for a, na, b, nb in zip(k1, n1, k2, n2):
        m, N = int(a + b), int(na + nb)
        support = np.arange(max(0, m - int(nb)), min(int(na), m) + 1)
        pmf = sps.hypergeom.pmf(support, N, m, int(na))
        full = np.zeros(int(na) + 1)
        full[support] = pmf
        dist = np.convolve(dist, full)
    s = int(np.sum(k1))
    tol = 1e-12
    p_g = float(min(1.0, dist[s:].sum() + tol))
    p_l = float(min(1.0, dist[:s + 1].sum() + tol))
    nz = np.nonzero(dist > 0)[0]
    p_min = float(min(1.0, 2 * min(dist[nz[0]], dist[nz[-1]])))
    return p_g, p_l, p_min


def _strata(x: np.ndarray, y: np.ndarray, wd: np.ndarray, w1: float, w2: float):
    rs = [r for r in np.unique(x) if ((x == r) & (wd == w1)).any() and ((x == r) & (wd == w2)).any()]
    k1 = [int(y[(x == r) & (wd == w1)].sum()) for r in rs]
    n1 = [int(((x == r) & (wd == w1)).sum()) for r in rs]
    k2 = [int(y[(x == r) & (wd == w2)].sum()) for r in rs]
    n2 = [int(((x == r) & (wd == w2)).sum()) for r in rs]
    return k1, n1, k2, n2
