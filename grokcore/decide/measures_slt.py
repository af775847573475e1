"""Seed 004's measurements: generalized or not, plateau and convergence of the curriculum arms,
the LLC spike of the direct arm, row-wise Spearman correlations, steps to grok with censoring,
the median's exact order-statistic CI, runs read at a budget. Plain functions; the rules in
rules_slt decide on them."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from grokcore.base import detect
from grokcore.decide import gates
from grokcore.decide.stats import Estimate

PLATEAU_TOL = 0.01  # test-acc change over the last checkpoint interval that still counts as a plateau


ALPHA = 0.05


def generalized(h) -> float:
    """1.0 if the run grokked within its logged budget (grokcore.base.detect's rule), 0.0 if not,
    NaN if it diverged."""
    return float(detect.generalized([h])[0])


def median_ci(values, alpha: float = ALPHA, name: str = "median") -> Estimate:
    """The median of ``values`` with exact distribution-free order-statistic bounds: lo = X(k),
    hi = X(n+1-k) with the largest k such that P(Bin(n, 1/2) <= k - 1) <= alpha, so each bound is
    a one-sided bound at level >= 1 - alpha for any continuous distribution (n = 7: k = 1, the
    range, each tail 1/128). The Estimate's alpha is the interval's exact two-sided miss rate.
    NaNs dropped; fewer than 5 values (2^-n > alpha even at k = 1): no interval (NaN bounds)."""
    v = np.sort(np.asarray(values, float))
    v = v[np.isfinite(v)]
    n = v.size
    tail = lambda k: sps.binom.cdf(k - 1, n, 0.5)  # noqa: E731  P(X(k) > median)
    k = max((j for j in range(1, n // 2 + 1) if tail(j) <= alpha), default=0)
    med = float(np.median(v)) if n else math.nan
    if not k:
        return Estimate(name, med, math.nan, math.nan, alpha, method=f"order statistics: {n} values cannot reach "
                        f"a one-sided {1 - alpha:.0%} bound")
    miss = 2 * float(tail(k))
    return Estimate(name, med, float(v[k - 1]), float(v[n - k]), miss,
                    method=f"exact order-statistic bounds X({k}), X({n + 1 - k}) of {n} values (each one-sided miss "
                           f"rate {miss / 2:.3g} <= {alpha:g}, any continuous distribution)")


def plateau(acc: np.ndarray, prev: np.ndarray, tol: float = PLATEAU_TOL) -> tuple[bool, str]:
    """An arm is on a plateau when the median over seeds of |test acc change| over the last
    checkpoint interval is <= tol (one late seed does not block it); (ok, description)."""
    moving = np.abs(np.asarray(acc, float) - np.asarray(prev, float))
    med = float(np.median(moving))
    return med <= tol, f"median |change| {med:.3g}, {int((moving <= tol).sum())}/{moving.size} seeds within {tol:g}"


def spike_measure(chains: np.ndarray, steps: np.ndarray, jumps: np.ndarray) -> dict:
    """Per seed, from the direct arm's SGLD chains (seed, checkpoint, chain): the peak
    checkpoint chosen on chain 0, its value and the final value read on chains 1.. (so the
    max of noisy estimates is not selection-biased); ratio = peak/final, rise = peak/start,
    before = sign(jump - peak step) (NaN for a run with no jump)."""
    pk = np.nanargmax(chains[:, :, 0], axis=1)
    val = chains[:, :, 1:].mean(-1)
    r = np.arange(len(pk))
    with np.errstate(invalid="ignore"):
        before = np.where(np.isfinite(jumps), np.sign(jumps - steps[pk]), np.nan)
    return dict(ratio=val[r, pk] / val[:, -1], rise=val[r, pk] / np.maximum(val[:, 0], 1e-9),
                peak_step=steps[pk].astype(float), before=before)


def direct_keep(d: dict, budget: int | None) -> np.ndarray:
    """The curriculum set's checkpoints at step <= budget (every one when budget is None)."""
    steps = np.asarray(d["steps"])
    return np.ones(steps.size, bool) if budget is None else steps <= budget


def spearman_rows(x: np.ndarray, y: np.ndarray, diff: bool = False) -> np.ndarray:
    """Per row (seed), Spearman rho across columns (checkpoints); of first differences if diff.
    A constant row has no rho: NaN (the one-sample rules drop it and say so)."""
    if diff:
        x, y = np.diff(x, axis=1), np.diff(y, axis=1)
    return np.array([sps.spearmanr(a, b).statistic if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan
                     for a, b in zip(x, y)])


def grok_steps(hists, budget: int | None = None) -> np.ndarray:
    """Steps to grok (grokcore.base.detect.grok_step) per history, read at ``budget`` steps if
    given (gates.truncate); +inf = not within the budget, NaN = diverged."""
    t = detect.run_steps(hists, budget=budget)
    ok = np.array([h.status == "ok" for h in hists])
    return np.where(ok & np.isnan(t), math.inf, t)


def censored(v: np.ndarray, budget: float) -> np.ndarray:
    """For plots only: runs that did not grok within the budget (inf) drawn at budget + 1."""
    return np.where(np.isinf(v), budget + 1.0, v)


def threshold_at(hists, budget: int) -> list:
    """The runs read at ``budget`` steps (gates.truncate; a run logged no further is read as is)."""
    return [gates.truncate(h, budget) if h.config.steps > budget else h for h in hists]


def search_hists(searches: dict) -> list:
    """The distinct runs of an adaptive search's boundaries (the budgets share runs)."""
    return list({h.config.key: h for s in searches.values() for h in s.hists}.values())


def converged(d: dict, tol: float = PLATEAU_TOL) -> tuple[bool, str]:
    """Both arms of a curriculum set on a plateau (``plateau`` on acc_dir / acc_dir_prev and
    acc_cur / acc_cur_prev): (ok, why)."""
    ok_dir, txt_dir = plateau(d["acc_dir"], d["acc_dir_prev"], tol)
    ok_cur, txt_cur = plateau(d["acc_cur"], d["acc_cur_prev"], tol)
    conv = f"direct arm: {txt_dir}; curriculum arm: {txt_cur} over the last checkpoint interval"
    if ok_dir and ok_cur:
        return True, f"both arms on a plateau ({conv})"
    which = " and ".join(a for a, ok in (("direct", ok_dir), ("curriculum", ok_cur)) if not ok)
    return False, f"arms not converged: the {which} arm's test acc still moves ({conv})"


# ------------------------------------------------------------------ curriculum vs direct


def curriculum_data(d: dict) -> dict:
    """A curriculum set's final-checkpoint measurements per seed (arm 0 = curriculum, 1 = direct):
    acc_cur, acc_dir, loss_cur, loss_dir, llc_cur, llc_dir and acc_cur_prev, acc_dir_prev (one
    checkpoint earlier), seed on axis 0."""
    return dict(seed=np.array(d["seeds"]),
                acc_cur=d["test_acc"][0, :, -1], acc_dir=d["test_acc"][1, :, -1],
                acc_cur_prev=d["test_acc"][0, :, -2], acc_dir_prev=d["test_acc"][1, :, -2],
                loss_cur=d["test_loss"][0, :, -1], loss_dir=d["test_loss"][1, :, -1],
                llc_cur=d["llc"][0, :, -1], llc_dir=d["llc"][1, :, -1])


def curriculum_stats(d: dict) -> list[dict]:
    """Recorded beside curriculum-vs-direct's verdict: mean final test loss difference and accuracies,
    and how many curriculum runs are on a plateau."""
    p = curriculum_data(d)
    plateau_cur = int((np.abs(p["acc_cur"] - p["acc_cur_prev"]) <= PLATEAU_TOL).sum())
    return [dict(name="test loss: curriculum - direct (mean)", est=float(np.mean(p["loss_cur"] - p["loss_dir"]))),
            dict(name="final test acc, direct (mean)", est=float(p["acc_dir"].mean()), claimed=1.0),
            dict(name="final test acc, curriculum (mean)", est=float(p["acc_cur"].mean()), claimed=0.989),
            dict(name="curriculum runs on a plateau (|change| <= 0.01)", est=f"{plateau_cur}/{len(p['seed'])}")]


def curriculum_llc_stats(d: dict) -> list[dict]:
    """Recorded beside curriculum-llc's verdict: mean final LLC per arm and the SGLD between-chain
    sd at the final checkpoint (the estimator's own noise, to set an LLC difference against)."""
    p = curriculum_data(d)
    return [dict(name="final LLC curriculum (mean)", est=float(np.nanmean(p["llc_cur"])), claimed=28.0),
            dict(name="final LLC direct (mean)", est=float(np.nanmean(p["llc_dir"])), claimed=24.7),
            dict(name="SGLD between-chain sd (final ckpt, mean)",
                 est=float(np.nanmean(d["chains"][:, :, -1].std(-1, ddof=1))))]
