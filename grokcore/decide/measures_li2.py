"""Measurements of the Li² claims' runs (claims/test_li2.py), for their rules (rules_li2)
and cards (claims/designs/li2.py).

Pure functions of Histories (duck-typed: ``.config``, ``.metrics``, ``.status``) and of
arrays; no torch, no training.

Boundaries. Per M (per task, per depth), "generalized" (seed 002's rule, ``generalized``)
against log n is fitted by Firth's penalized logistic regression (``laws.firth_boundary``):
log n* = x50 with a profile penalized-likelihood CI at level 1 - alpha, finite also when the
outcomes are separated. The se of log n* used by the law comparison is (CI width) / (2 z),
z = z_{1 - alpha/2}: the profile CI is calibrated against chi2_1 = z^2, so this is the normal
se it implies (not a t, not the separation gap). An M whose CI is open (the data do not bound
n*, e.g. every run failed) is left out of the law fit (``law_fits``).

The stage claims' measurements (stage windows, ‖G_F‖ shape) are in measures_li2_stages.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

from grokcore.base import detect
from grokcore.decide import laws, stats

ALPHA = 0.05  # the level of every CI here and of every rule in rules_li2


# ------------------------------------------------------------------ measurements

def generalized(h, budget: int | None = None) -> float:
    """1 if seed 002's rule (detect.grok_step: test acc >= 0.95 for 10 consecutive evals)
    completes within ``budget`` steps (default: the run's own budget), 0 if not, NaN for a
    diverged run."""
    return float(detect.generalized([h], budget=budget if budget is not None else h.config.steps)[0])


def boundary_points(hists, group: Callable = lambda h: h.config.M, budget: int | None = None) -> dict:
    """group -> (log n_train, generalized within ``budget`` (default: each run's own)) arrays,
    diverged runs dropped."""
    per = defaultdict(lambda: ([], []))
    for h in hists:
        y = generalized(h, budget)
        if not math.isnan(y):
            per[group(h)][0].append(math.log(h.config.n_train))
            per[group(h)][1].append(y)
    return {g: (np.array(x), np.array(y)) for g, (x, y) in sorted(per.items(), key=lambda kv: str(kv[0]))}


@dataclass(frozen=True)
class BoundaryFit:
    """One M's Firth boundary: log n* with its profile CI, the slope per unit log n, and the
    se of log n* for the law fit (NaN when the CI is open)."""
    M: int
    b: laws.Boundary
    se: float
    x: np.ndarray
    y: np.ndarray

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.se) and math.isfinite(self.b.x50.value)


def se_from_ci(lo: float, hi: float, alpha: float = ALPHA) -> float:
    """Normal-equivalent se of a 1 - alpha profile-likelihood CI: (hi - lo) / (2 z_{1-alpha/2})."""
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        return math.nan
    return (hi - lo) / (2 * NormalDist().inv_cdf(1 - alpha / 2))


def fit_boundaries(points: dict, alpha: float = ALPHA) -> dict:
    """Per group: laws.firth_boundary of y vs log n -> BoundaryFit (M = the group's M)."""
    out = {}
    for g, (x, y) in points.items():
        b = laws.firth_boundary(x, y, alpha=alpha)
        M = g[-1] if isinstance(g, tuple) else g
        out[g] = BoundaryFit(int(M), b, se_from_ci(b.x50.lo, b.x50.hi, alpha), x, y)
    return out


def budget_convergence(hists, budgets: tuple[int, ...], group: Callable = lambda h: h.config.M,
                       alpha: float = ALPHA) -> tuple[dict, str]:
    """Per group, n* at each budget (the same runs read at T' <= T: a run's first T' steps are
    the run of budget T'). A group is "converged" when, at every pair of consecutive budgets,
    one budget's log n* lies inside the other's CI; else its n* still moves with the budget and a
    verdict on it holds at the measured budget only. Returns (group -> converged, text)."""
    fits = {T: fit_boundaries(boundary_points(hists, group, T), alpha) for T in budgets}
    conv, lines = {}, []
    for g in fits[budgets[-1]]:
        es = [fits[T][g].b.x50 if g in fits[T] else None for T in budgets]
        conv[g] = all(a is not None and b is not None and stats.agree(a, b)
                      for a, b in zip(es, es[1:]))
        txt = ", ".join(f"T={T}: " + (f"{math.exp(e.value):.0f} [{math.exp(e.lo):.0f}, {math.exp(e.hi):.0f}]"
                                      if e is not None and math.isfinite(e.value) else "unbounded")
                        for T, e in zip(budgets, es))
        lines.append(f"{g}: {txt} ({'converged' if conv[g] else 'NOT converged'})")
    return conv, "; ".join(lines)


def law_fits(bds: dict, alpha: float = ALPHA):
    """compare_scaling_laws over the M whose n* is bounded; (None, Ms) with fewer than 3."""
    Ms = [g for g, d in bds.items() if d.bounded]
    if len(Ms) < 3:
        return None, [bds[g].M for g in Ms]
    M = np.array([bds[g].M for g in Ms], float)
    fits = laws.compare_scaling_laws(M, np.array([bds[g].b.x50.value for g in Ms]),
                                      np.array([bds[g].se for g in Ms]), alpha=alpha)
    return fits, [int(m) for m in M]


def local_exponent(Ms, se=None) -> float:
    """Least-squares slope of log(M log M) on log M over the Ms: the exponent the M log M
    law looks like over this range (1 + 1/log M at a single M). With ``se`` (per M, the se of
    log n*): the weighted (1/se²) slope, i.e. exactly the exponent that the power-law fit of
    ``law_fits`` (same weights) returns on noise-free M log M data."""
    lm = np.log(np.asarray(Ms, float))
    if lm.size < 2 or np.ptp(lm) == 0:
        return 1 + 1 / float(lm.mean())
    w = None if se is None else 1 / np.asarray(se, float)  # polyfit weights multiply residuals: 1/se
    return float(np.polyfit(lm, lm + np.log(lm), 1, w=w)[0])


def law_se(bds: dict) -> np.ndarray:
    """The se of log n* of the M that ``law_fits`` uses (bounded n*), in its order."""
    return np.array([d.se for d in bds.values() if d.bounded], float)


def law_text(fits) -> str:
    if fits is None:
        return "fewer than 3 M with a bounded n*: no law comparison"
    parts = []
    for law, f in fits.items():
        k = f" k={f.k.value:.2f} [{f.k.lo:.2f}, {f.k.hi:.2f}]" if f.k is not None else ""
        parts.append(f"{law}: c={f.c.value:.3g} [{f.c.lo:.3g}, {f.c.hi:.3g}]{k} chi2={f.chi2:.2f} (dof {f.dof}) "
                     f"p_fit={f.p_fit:.3g} dAIC={f.delta_aic:.2f}{' REJECTED' if f.rejected else ''}")
    return "; ".join(parts)


def boundary_text(bds: dict) -> str:
    out = []
    for g, d in bds.items():
        x50 = d.b.x50
        if math.isfinite(x50.value):
            out.append(f"{g}: n*={math.exp(x50.value):.0f} [{math.exp(x50.lo):.0f}, {math.exp(x50.hi):.0f}]"
                       + ("" if d.bounded else " (CI open: not in the law fit)"))
        else:
            out.append(f"{g}: {d.b.kind} (n* outside the sampled n: not in the law fit)")
    return "; ".join(out)
