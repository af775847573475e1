"""Measurements and decision rules of the Li² claims (claims/test_li2.py).

Pure functions of Histories (duck-typed: ``.config``, ``.metrics``, ``.status``) and of
arrays; no pytest, no training. Each ``*_rule(data)`` maps what the claim measured to a
``grokcore.decide.verdicts.Verdict`` and is re-run by the robustness gates (``grokcore.decide.gates``)
on the same data at half the step budget, without each seed and without the n nearest
each boundary estimate. The ``*_verdict`` functions below them take the measurements
themselves (arrays, boundary fits) and are unit-tested on synthetic data
(grokcore/tests/test_rules_li2.py).

Boundaries. Per M (per task, per depth), "generalized" (seed 002's rule, ``generalized``)
against log n is fitted by Firth's penalized logistic regression (``laws.firth_boundary``):
log n* = x50 with a profile penalized-likelihood CI at level 1 - alpha, finite also when the
outcomes are separated. The se of log n* used by the law comparison is (CI width) / (2 z),
z = z_{1 - alpha/2}: the profile CI is calibrated against chi2_1 = z^2, so this is the normal
se it implies (not a t, not the separation gap). An M whose CI is open (the data do not bound
n*, e.g. every run failed) is left out of the law fit and named in the reason.

The n grid must not encode a candidate law: every M uses the same absolute geometric grid
(``n_grid``); per M only a window of it is trained (``grid_window``), [lo_f n0 M/M0,
hi_f n0 (M/M0)^2] with n0 the expected n* at the smallest M0: wide enough to hold n* under
any law between M^1 and M^2 calibrated at M0, capped at max_frac M^2.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

from grokcore.base import detect
from grokcore.decide import laws, stats, verdicts
from grokcore.decide.stats import Estimate
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

ALPHA = 0.05


# ------------------------------------------------------------------ n grids

def n_grid(lo: float, ratio: float, hi: float) -> list[int]:
    """The absolute geometric grid round(lo * ratio^i) <= hi (the same for every M)."""
    if not (lo > 0 and ratio > 1 and hi >= lo):
        raise ValueError(f"need lo > 0, ratio > 1, hi >= lo; got {lo}, {ratio}, {hi}")
    out, i = [], 0
    while (n := int(round(lo * ratio**i))) <= hi:
        if not out or n > out[-1]:
            out.append(n)
        i += 1
    return out


def grid_window(M: int, grid: list[int], M0: int, n0: float, lo_f: float = 0.5, hi_f: float = 3.0,
                max_frac: float = 0.95) -> list[int]:
    """The points of the common ``grid`` inside [lo_f n0 (M/M0), hi_f n0 (M/M0)^2], capped at
    max_frac M^2 (the cap itself is added as a point when it lies inside the window and more
    than 8% above the last grid point below it)."""
    cap = int(max_frac * M * M)
    lo, hi = lo_f * n0 * (M / M0), hi_f * n0 * (M / M0) ** 2
    ns = [n for n in grid if lo <= n <= min(hi, cap)]
    if cap <= hi and (not ns or cap > 1.08 * ns[-1]) and cap >= lo:
        ns.append(cap)
    return ns


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


def local_exponent(Ms) -> float:
    """Least-squares slope of log(M log M) on log M over the Ms: the exponent the M log M
    law looks like over this range (1 + 1/log M at a single M)."""
    lm = np.log(np.asarray(Ms, float))
    if lm.size < 2 or np.ptp(lm) == 0:
        return 1 + 1 / float(lm.mean())
    return float(np.polyfit(lm, lm + np.log(lm), 1)[0])


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


def _unbounded(bds: dict) -> str:
    bad = [str(g) for g, d in bds.items() if not d.bounded]
    return f" (left out, n* not bounded: {', '.join(bad)})" if bad else ""


# The power laws M log M must be told from before "supported": over a fast-tier M range the
# M log M law has local exponent ~1.3, so M^1.5 is its nearest rival. With rivals (2.0,)
# only, li2-boundary was supported at --claims-seed 0 and 1 but its data rejected M log M
# at seed 2 (measured exponents 1.43-1.56): a verdict on the edge of the chi^2 test.
RIVALS = (1.5, 2.0)


def law_power(fits, Ms, rivals=RIVALS) -> tuple[bool, str]:
    """Can the data tell M log M from the rival power laws M^r (default: M^2 only)? Yes iff
    the power-law exponent's CI half-width is below the smallest gap |r - k_loc| between a
    rival exponent and the local exponent k_loc of M log M over the Ms (with k at k_loc the
    CI then excludes every rival). The default also demands that M log M be told from
    M^1.5, which the fast tier's M range cannot do: there the law claims are inconclusive
    with this power statement, not supported by a test that cannot see the difference."""
    k = fits["power"].k
    kloc = local_exponent(Ms)
    half = (k.hi - k.lo) / 2
    gap = min(abs(r - kloc) for r in rivals)
    ok = bool(math.isfinite(half) and half < gap)
    names = ", ".join(f"M^{r:g}" for r in rivals)
    txt = (f"over M = {min(Ms)}..{max(Ms)} ({len(Ms)} M) M log M has local exponent {kloc:.2f}; the power-law "
           f"k = {k.value:.2f} [{k.lo:.2f}, {k.hi:.2f}] has CI half-width {half:.2f} "
           f"{'<' if ok else '>='} the gap {gap:.2f} to {names}, so the data {'can' if ok else 'cannot'} tell "
           f"M log M from {names} by the exponent; M^1 (gap {kloc - 1:.2f}) and M^1.5 (gap {abs(1.5 - kloc):.2f}) "
           f"are {'' if half < min(kloc - 1, abs(1.5 - kloc)) else 'not '}separable at this width")
    if not ok:
        txt += ("; more M over a wider range (or more seeds / a finer n grid near n*) would narrow k "
                "(t quantile with dof = #M - 2)")
    return ok, txt


def _law_effect(fits, law: str = "M log M", what: str = "c") -> Estimate:
    f = fits[law]
    return Estimate(what, f.c.value, f.c.lo, f.c.hi, f.c.alpha, f.p_fit, f.c.method,
                    f"p_fit = chi2 goodness-of-fit p of n* = c {law} (dof {f.dof})")


def law_verdict(bds: dict, alpha: float = ALPHA, c_min: float | None = None, what: str = "",
                rivals=RIVALS) -> Verdict:
    """Claim: n*(M) follows c M log M (and, with ``c_min``, c > c_min).

    supported  M^2 rejected (chi2 p < alpha), M log M not rejected, the exponent CI resolves
               M log M from M^2 (``law_power``) and, with c_min, c's CI lower end > c_min;
    refuted    M log M rejected (its chi2 goodness-of-fit p < alpha) or c's CI upper end < c_min;
    else inconclusive, saying which part failed. Verdict.grid = {M: log n*} for the grid gate."""
    pre = f"{what}: " if what else ""
    grid = {g: d.b.x50.value for g, d in bds.items() if math.isfinite(d.b.x50.value)}
    fits, Ms = law_fits(bds, alpha)
    claimed = "n* = c M log M" + (f", c > {c_min:g}" if c_min is not None else "")
    if fits is None:
        return Verdict(INCONCLUSIVE, None, alpha, f"{pre}only {len(Ms)} M with a bounded n*: {boundary_text(bds)}",
                       claimed, grid, "needs >= 3 M whose n* lies inside the sampled n (4+ for a finite k CI)")
    eff = _law_effect(fits, what=f"c (n* = c M log M{', ' + what if what else ''})")
    ok_power, power = law_power(fits, Ms, rivals)
    mlm, m2 = fits["M log M"], fits["M^2"]
    c = mlm.c
    text = f"{pre}{law_text(fits)}{_unbounded(bds)}"
    if mlm.rejected:
        return Verdict(REFUTED, eff, alpha, f"{pre}M log M rejected (chi2 = {mlm.chi2:.2f}, dof {mlm.dof}, "
                                            f"p = {mlm.p_fit:.3g} < {alpha:g}); {text}", claimed, grid, power)
    if c_min is not None and c.hi < c_min:
        return Verdict(REFUTED, eff, alpha, f"{pre}c = {c.value:.3g} [{c.lo:.3g}, {c.hi:.3g}] < {c_min:g}; {text}",
                       claimed, grid, power)
    missing = []
    if not m2.rejected:
        missing.append(f"M^2 not rejected (p = {m2.p_fit:.3g})")
    if not ok_power:
        missing.append("the exponent CI cannot tell M log M from " + ", ".join(f"M^{r:g}" for r in rivals))
    if c_min is not None and not c.lo > c_min:
        missing.append(f"c's CI lower end {c.lo:.3g} <= {c_min:g}")
    if missing:
        return Verdict(INCONCLUSIVE, eff, alpha, f"{pre}M log M not rejected (p = {mlm.p_fit:.3g}) but "
                                                 f"{'; '.join(missing)}; {text}", claimed, grid, power)
    return Verdict(SUPPORTED, eff, alpha, f"{pre}M^2 rejected (p = {m2.p_fit:.3g}), M log M not (p = "
                                          f"{mlm.p_fit:.3g}), exponent resolves them"
                                          + (f", c lower end {c.lo:.3g} > {c_min:g}" if c_min is not None else "")
                                          + f"; {text}", claimed, grid, power)


def boundary_rule(hists, alpha: float = ALPHA, c_min: float | None = 1.0, what: str = "", rivals=RIVALS) -> Verdict:
    """li2-boundary (c_min = 1, seed 000's 'c > 1') / li2-deeper (c_min None) on Histories."""
    return law_verdict(fit_boundaries(boundary_points(hists), alpha), alpha, c_min, what, rivals)


def tasks_verdict(bds_by_task: dict, alpha: float = ALPHA, tasks=("sub", "mul")) -> Verdict:
    """Claim: the M log M law holds for each group task in ``tasks``.

    refuted    Holm over the tasks' M log M chi2 p-values (stats.holm, step-down that stops)
               rejects M log M for at least one task;
    supported  no task rejects M log M and, for every task, M^2 is rejected and the exponent
               CI resolves M log M from M^1.5 and M^2 (RIVALS) (intersection-union: no multiplicity correction);
    else inconclusive. Verdict.grid = {(task, M): log n*}."""
    claimed = "n* = c M log M for " + ", ".join(tasks)
    grid, fits, Ms, verdicts_, power = {}, {}, {}, {}, []
    for t in tasks:
        bds = bds_by_task.get(t, {})
        grid.update({(t, bds[g].M): d.b.x50.value for g, d in bds.items() if math.isfinite(d.b.x50.value)})
        fits[t], Ms[t] = law_fits(bds, alpha)
    tested = [t for t in tasks if fits[t] is not None]
    if not tested:
        return Verdict(INCONCLUSIVE, None, alpha, "no task has >= 3 M with a bounded n*", claimed, grid,
                       "needs >= 3 M with n* inside the sampled n per task")
    ps = [fits[t]["M log M"].p_fit for t in tested]
    rej = dict(zip(tested, stats.holm(ps, alpha)))
    head = min(tested, key=lambda t: fits[t]["M log M"].p_fit)
    eff = _law_effect(fits[head], what=f"c ({head}, n* = c M log M)")
    text = "; ".join(f"{t}: {law_text(fits[t])}{_unbounded(bds_by_task.get(t, {}))}" for t in tested)
    for t in tested:
        ok, p = law_power(fits[t], Ms[t])
        power.append(f"{t}: {p}")
        verdicts_[t] = ok
    power_txt = "; ".join(power)
    if any(rej.values()):
        bad = [t for t in tested if rej[t]]
        return Verdict(REFUTED, eff, alpha, f"M log M rejected by Holm over {tested} for {bad} (p = "
                                            + ", ".join(f"{fits[t]['M log M'].p_fit:.3g}" for t in bad)
                                            + f"); {text}", claimed, grid, power_txt)
    missing = [t for t in tasks if t not in tested]
    missing += [f"{t}: M^2 not rejected" for t in tested if not fits[t]["M^2"].rejected]
    missing += [f"{t}: exponent CI cannot tell M log M from " + ", ".join(f"M^{r:g}" for r in RIVALS) for t in tested if not verdicts_[t]]
    if missing:
        return Verdict(INCONCLUSIVE, eff, alpha, f"M log M not rejected for {tested}, but {'; '.join(missing)}; "
                                                 f"{text}", claimed, grid, power_txt)
    return Verdict(SUPPORTED, eff, alpha, f"for {tested}: M^2 rejected, M log M not, exponent resolves them; {text}",
                   claimed, grid, power_txt)


def tasks_rule(hists, alpha: float = ALPHA, tasks=("sub", "mul")) -> Verdict:
    pts = boundary_points(hists, group=lambda h: (h.config.task, h.config.M))
    bds = fit_boundaries(pts, alpha)
    by_task: dict = defaultdict(dict)
    for (t, M), d in bds.items():
        by_task[t][M] = d
    return tasks_verdict(by_task, alpha, tasks)


# ------------------------------------------------------------------ sharpening

def slope_trend(bds: dict, alpha: float = ALPHA) -> tuple[Estimate | None, list]:
    """Weighted linear trend of log(Firth slope per unit log n) on log M over the M whose
    slope CI is bounded and positive; weights 1/se^2 with se = (log hi - log lo) / (2 z); the
    scale is inflated by max(1, chi2/dof) (Birge) and the CI is est +- t_{dof}(1 - alpha) se'
    read one-sided in each direction (so each decision errs <= alpha); p is the one-sided t p
    of 'trend > 0'. (None, Ms) with fewer than 3 usable M."""
    from scipy import stats as sps

    rows = []
    for g, d in bds.items():
        s = d.b.slope
        if math.isfinite(s.value) and s.value > 0 and s.lo > 0 and math.isfinite(s.hi):
            se = se_from_ci(math.log(s.lo), math.log(s.hi), alpha)
            if math.isfinite(se):
                rows.append((d.M, math.log(s.value), se))
    Ms = [r[0] for r in rows]
    if len(rows) < 3:
        return None, Ms
    lm, y, se = (np.array(v, float) for v in zip(*rows))
    lm = np.log(lm)
    w = 1 / se**2
    X = np.column_stack([np.ones_like(lm), lm])
    cov = np.linalg.inv((X * w[:, None]).T @ X)
    b = cov @ (X.T @ (w * y))
    dof = lm.size - 2
    chi2 = float(np.sum(w * (y - X @ b) ** 2))
    scale = max(1.0, chi2 / dof)
    se_b = math.sqrt(cov[1, 1] * scale)
    q = stats.t_quantile(alpha, dof, "greater")
    p = float(sps.t.sf(b[1] / se_b, dof))
    return Estimate("d log(slope) / d log M", float(b[1]), float(b[1] - q * se_b), float(b[1] + q * se_b), alpha,
                    p, "WLS of log Firth slope on log M (1/se^2 weights, Birge-scaled), one-sided t bounds",
                    f"{lm.size} M; chi2 = {chi2:.2f} on {dof} dof"), Ms


def sharpening_verdict(bds: dict, alpha: float = ALPHA) -> Verdict:
    """Claim: the transition (P(generalized) vs log n) sharpens as M grows: the trend of
    log slope in log M is > 0. supported: its one-sided lower bound > 0 and p < alpha;
    refuted: its upper bound < 0; else inconclusive, with the smallest detectable trend."""
    grid = {g: d.b.x50.value for g, d in bds.items() if math.isfinite(d.b.x50.value)}
    tr, Ms = slope_trend(bds, alpha)
    slopes = "; ".join(f"M={d.M}: {d.b.slope.value:.3g} [{d.b.slope.lo:.3g}, {d.b.slope.hi:.3g}]"
                       for d in bds.values())
    if tr is None:
        return Verdict(INCONCLUSIVE, None, alpha, f"only {len(Ms)} M with a bounded positive slope CI: {slopes}",
                       "> 0", grid, "needs >= 3 M with a bounded slope")
    half = tr.value - tr.lo
    power = (f"one-sided bound half-width {half:.2g} in d log(slope)/d log M over M = {min(Ms)}..{max(Ms)}: a "
             f"slope growing slower than M^{half:.2g} is not detectable; separated outcomes give Firth slopes set "
             "largely by the n-grid gap and the seeds per point, so a finer n grid near n* and more seeds are "
             "what would resolve sharpness")
    v = verdicts.interval(tr, "greater", 0.0, alpha, what="trend of log slope in log M")
    return Verdict(v.verdict, tr, alpha, f"{v.reason}; slopes per unit log n: {slopes}", "> 0", grid, power)


def sharpening_rule(hists, alpha: float = ALPHA) -> Verdict:
    return sharpening_verdict(fit_boundaries(boundary_points(hists), alpha), alpha)


# ------------------------------------------------------------------ stages

HIDDEN_IN = {"li2": "W", "embed_mlp": "W1", "mu_mlp": "W1"}
OUTPUT = {"li2": "V", "embed_mlp": "W2", "mu_mlp": "W2"}
PRIMARY = ("li2/adam", "embed_mlp/adam")  # seed 003 trains with Adam; the Li² net is the paper's


def condition(h) -> str:
    return f"{h.config.model.family}/{h.config.optim.name}"


def _nanmed(a) -> float:
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def total_grad_norm(m: dict) -> np.ndarray:
    """sqrt of the sum of squared per-parameter loss-gradient norms (weight decay excluded)."""
    return np.sqrt(sum(m[k] ** 2 for k in m if k.startswith("grad/") and k != "grad/cos"))


def stage_measures(h) -> dict:
    """Per-run stage measurements (detect.stages: first train acc >= 0.99 = ``mem``, then the
    first test acc >= 0.95 at or after it = ``gen``; -1 if never). Windows are eval indices:

      Stage I   [1, mem)      the first eval (step 0) is left out: its update is Adam's first
                              step, lr per weight whatever the gradient, fixed by the design;
      Stage II  [mem, gen)    (for the lazy ratio: [mem, end) when the run never generalizes);
      Stage III [gen, end].

    Keys (absent when the window is empty): I_rel_hid / I_rel_out (median relative per-step
    change ‖ΔW‖/‖W‖ of the hidden input weights / output weights), II_rel_hid, lazy_log_ratio =
    log(I_rel_hid / II_rel_hid), II_cos_med (median mean-pairwise cosine of the hidden neurons'
    gradients), II_norm_ratio (‖W1‖ at gen / at mem), III_gnorm_rel (median total gradient
    norm in Stage III / the total gradient norm at step 0), III_gf_new_peak."""
    m = h.metrics
    st = detect.stages(m["step"], m["train/acc"], m["test/acc"])
    mi, gi = int(st["mem_index"]), int(st["gen_index"])
    fam = h.config.model.family
    hid, out = HIDDEN_IN[fam], OUTPUT[fam]
    E = len(m["step"])
    r = dict(mem=mi, gen=gi, ok=h.status == "ok", cond=condition(h), seed=h.config.seed,
             wd=h.config.optim.weight_decay)
    if h.status != "ok":
        return r
    if mi > 1:
        r["I_rel_hid"] = _nanmed(m[f"rel_delta/{hid}"][1:mi])
        r["I_rel_out"] = _nanmed(m[f"rel_delta/{out}"][1:mi])
    if mi >= 0:
        end = gi if gi > mi else (E if gi < 0 else mi)
        if end > mi:
            r["II_rel_hid"] = _nanmed(m[f"rel_delta/{hid}"][mi:end])
    if "I_rel_hid" in r and "II_rel_hid" in r and r["I_rel_hid"] > 0 and r["II_rel_hid"] > 0:
        r["lazy_log_ratio"] = math.log(r["I_rel_hid"] / r["II_rel_hid"])
    if mi >= 0 and gi > mi:
        r["II_cos_med"] = _nanmed(m["grad/cos"][mi:gi])
        r["II_norm_ratio"] = float(m[f"norm/{hid}"][gi] / m[f"norm/{hid}"][mi])
    gn = total_grad_norm(m)
    g3 = gn[gi:][np.isfinite(gn[gi:])] if gi >= 0 else np.array([])
    if g3.size and np.isfinite(gn[0]) and gn[0] > 0:
        r["III_gnorm_rel"] = float(np.median(g3) / gn[0])
        r["III_gnorm_med"] = float(np.median(g3))
        gf = m["gf/norm"][gi:]
        gf = gf[np.isfinite(gf)]
        r["III_gf_new_peak"] = bool(gf.size > 1 and np.max(gf[1:]) > gf[0])
    return r


def by_condition(rows: list[dict]) -> dict:
    out: dict = defaultdict(list)
    for r in rows:
        out[r["cond"]].append(r)
    return dict(out)


def both(parts: dict, headline: str | None = None) -> Verdict:
    """The claim is meant to hold in every condition: supported if every part is supported,
    refuted if every part is refuted, else inconclusive (mixed: the claim holds in some
    conditions and not in others, or a part is undecided)."""
    if not parts:
        raise ValueError("both needs at least one part")
    key = headline or next(iter(parts))
    head = parts[key]
    vs = [v.verdict for v in parts.values()]
    verdict = SUPPORTED if all(v == SUPPORTED for v in vs) else REFUTED if all(v == REFUTED for v in vs) \
        else INCONCLUSIVE
    text = "; ".join(f"{k}: {v.verdict} ({v.reason})" for k, v in parts.items())
    power = "; ".join(f"{k}: {v.power}" for k, v in parts.items() if v.power)
    return Verdict(verdict, head.effect, min(v.alpha for v in parts.values()), text, head.claimed, {}, power)


def _k_needed(n: int, p0: float, alpha: float) -> int | None:
    """Smallest pass count k with the exact one-sided binomial p = P(Bin(n, p0) >= k) < alpha (verdicts.rate)."""
    from scipy import stats as sps

    return next((k for k in range(n + 1) if sps.binom.sf(k - 1, n, p0) < alpha), None) if n > 0 else None


def rate_support_prob(n: int, pi: float, p0: float = 0.5, alpha: float = ALPHA) -> float:
    """Exact P(supported at n runs and after leaving any one run out) when each run passes with
    probability pi: needs k >= k_min(n) and k - 1 >= k_min(n - 1) (the seed gate can drop a pass)."""
    from scipy import stats as sps

    k1, k0 = _k_needed(n, p0, alpha), _k_needed(n - 1, p0, alpha)
    if k1 is None or k0 is None:
        return 0.0
    return float(sps.binom.sf(max(k1, k0 + 1) - 1, n, pi))


def rate_power(n: int, p0: float = 0.5, alpha: float = ALPHA, pis=(0.9, 0.95)) -> str:
    """Which pass counts out of n decide a rate vs p0 (exact one-sided binomial, verdicts.rate),
    and the exact power (``rate_support_prob``) if each run passes with probability pi."""
    if n == 0:
        return "no runs"
    k1, k0 = _k_needed(n, p0, alpha), _k_needed(n - 1, p0, alpha)
    if k1 is None:
        return f"{n} runs: no count reaches p < {alpha:g} (exact binomial vs {p0:g})"
    need = max(k1, (k0 or n) + 1)
    pw = ", ".join(f"{rate_support_prob(n, pi, p0, alpha):.2f} at pass probability {pi:g}" for pi in pis)
    return (f"{n} runs: supported needs >= {k1}/{n} passes (exact binomial vs {p0:g}), >= {need}/{n} to survive "
            f"leaving a seed out; power {pw}")


def both_rate_power(n: int, m: int = len(PRIMARY), pi: float = 0.9, target: float = 0.8, p0: float = 0.5,
                    alpha: float = ALPHA) -> str:
    """Power of ``stage_rate_verdict`` (every one of m conditions supported, seed gate included)
    with n runs per condition when each run passes with probability pi; the n that reaches
    ``target`` (exact binomial, independent conditions)."""
    p = rate_support_prob(n, pi, p0, alpha) ** m
    k1, k0 = _k_needed(n, p0, alpha), _k_needed(n - 1, p0, alpha)
    tol = n - max(k1, k0 + 1) if k1 is not None and k0 is not None else -1
    need = next((k for k in range(n, 41) if rate_support_prob(k, pi, p0, alpha) ** m >= target), None)
    return (f"all {m} conditions supported with {n} seeds each: power {p:.2f} if each run passes with probability "
            f"{pi:g} (support tolerates {max(tol, 0)} failing run(s) per condition" + (", none at all" if tol < 0 else "")
            + f"); {target:.0%} power needs "
            + (f"{need} seeds per condition" if need else "> 40 seeds per condition"))


def _rate_part(rows: list[dict], passes: Callable, what: str, alpha: float) -> Verdict:
    vals = [p for p in (passes(r) for r in rows) if p is not None]
    v = verdicts.rate(int(sum(vals)), len(vals), 0.5, "greater", alpha, what=what)
    return Verdict(v.verdict, v.effect, v.alpha, f"{v.reason} ({len(rows) - len(vals)} runs without the window)",
                   v.claimed, power=rate_power(len(vals), 0.5, alpha))


def stage_rate_verdict(rows: list[dict], passes: Callable, what: str, primary=PRIMARY,
                       alpha: float = ALPHA) -> Verdict:
    """Per primary condition: the rate of runs that pass (exact one-sided binomial vs 1/2,
    verdicts.rate); combined by ``both``; the power note gives the exact probability that every
    condition is supported (seed gate included) at an assumed per-run pass probability."""
    conds = by_condition(rows)
    parts = {c: _rate_part(conds.get(c, []), passes, f"{what} rate, {c}", alpha) for c in primary}
    v = both(parts)
    n = min((len([p for p in (passes(r) for r in conds.get(c, [])) if p is not None]) for c in primary), default=0)
    return Verdict(v.verdict, v.effect, v.alpha, v.reason, v.claimed, v.grid,
                   f"{both_rate_power(n, len(primary), alpha=alpha)}; {v.power}" if n else v.power)


def independent_pass(r: dict):
    """Stage II aligned and growing: median grad cosine > 0.6 (cosines are scale-free) and
    ‖W1‖ at gen > at mem (a ratio); None without a Stage II window."""
    if "II_cos_med" not in r:
        return None
    return bool(r["II_cos_med"] > 0.6 and r["II_norm_ratio"] > 1)


def interactive_pass(r: dict, frac: float = 0.1):
    """Stage III gradient still significant, scale-free: median total gradient norm after gen
    > ``frac`` x the run's own total gradient norm at initialization (the seed's absolute
    0.1 depends on loss, width and parametrisation; here 0.1 is a fraction of the same net's
    initial gradient). None without a Stage III window."""
    if "III_gnorm_rel" not in r:
        return None
    return bool(r["III_gnorm_rel"] > frac)


def lazy_verdict(rows: list[dict], primary=PRIMARY, alpha: float = ALPHA) -> Verdict:
    """Claim: the hidden layer is lazy in Stage I: its relative per-step change in Stage I is
    smaller than its own in Stage II (scale-free: lr, width, init scale and Adam's per-weight
    step cancel in the ratio). Per primary condition: exact sign-flip test of mean
    log(I_rel_hid / II_rel_hid) < 0 over runs (verdicts.one_sample), combined by ``both``."""
    conds = by_condition(rows)
    parts = {}
    for c in primary:
        vals = [r["lazy_log_ratio"] for r in conds.get(c, []) if "lazy_log_ratio" in r]
        parts[c] = verdicts.one_sample(vals, 0.0, "less", alpha, what=f"log(rel ΔW1 Stage I / Stage II), {c}")
    return both(parts)


def stage_rows(hists, wd: float | None = None) -> list[dict]:
    """stage_measures of every run; Li² Adam runs only at weight decay ``wd`` when given (the
    other conditions have a single weight decay)."""
    return [stage_measures(h) for h in hists
            if wd is None or condition(h) != "li2/adam" or h.config.optim.weight_decay == wd]


def wd_verdict(y_wd, y_0, alpha: float = ALPHA, wd: float | None = None) -> Verdict:
    """Claim: P(generalized | η > 0) > P(generalized | η = 0): one-sided Fisher exact tests in
    each direction (verdicts.rate_difference)."""
    y_wd = [y for y in y_wd if not math.isnan(y)]
    y_0 = [y for y in y_0 if not math.isnan(y)]
    v = verdicts.rate_difference(int(sum(y_wd)), len(y_wd), int(sum(y_0)), len(y_0), "greater", alpha,
                                 what=f"P(gen | η={wd:g}) - P(gen | η=0)" if wd is not None
                                 else "P(gen|η) - P(gen|0)")
    n1, n0 = len(y_wd), len(y_0)
    return Verdict(v.verdict, v.effect, v.alpha, f"{int(sum(y_wd))}/{n1} with η vs {int(sum(y_0))}/{n0} without; "
                   f"{v.reason}", v.claimed, power=fisher_power(n1, n0, alpha))


def fisher_power(n1: int, n0: int, alpha: float = ALPHA) -> str:
    """Which counts a one-sided Fisher exact test at alpha can decide with n1 vs n0 runs."""
    from scipy import stats as sps

    if not (n1 and n0):
        return "an empty group"
    ok = [k0 for k0 in range(n0 + 1)
          if sps.fisher_exact([[n1, 0], [k0, n0 - k0]], alternative="greater")[1] < alpha]
    if not ok:
        return f"{n1} vs {n0} runs: even all vs none is not significant at {alpha:g}"
    return (f"{n1} vs {n0} runs: with all {n1} generalizing under η, support needs <= {max(ok)}/{n0} without it "
            f"(a difference of >= {1 - max(ok) / n0:.2f}); smaller differences need more seeds")


def wd_rule(wd: float, alpha: float = ALPHA) -> Callable:
    def rule(hists) -> Verdict:
        adam = [h for h in hists if condition(h) == "li2/adam"]
        return wd_verdict([generalized(h) for h in adam if h.config.optim.weight_decay == wd],
                          [generalized(h) for h in adam if h.config.optim.weight_decay == 0.0], alpha, wd)
    return rule


def gf_shape(h) -> tuple[bool, float] | None:
    """(rise then decay, plateau) of ‖G_F‖ for one run: the maximum comes after the first
    eval and the plateau (mean over the last 10% of evals) is < half the maximum."""
    if h.status != "ok":
        return None
    gf = h.metrics["gf/norm"]
    gf = gf[np.isfinite(gf)]  # engine: no gradient logged at the final eval (NaN)
    if gf.size < 2:
        return None
    p = float(np.mean(gf[-max(1, len(gf) // 10):]))
    return bool(int(np.argmax(gf)) > 0 and p < 0.5 * gf.max()), p


def gf_verdict(rise, etas, plateau, alpha: float = ALPHA) -> Verdict:
    """Claim: ‖G_F‖ rises then decays (rate of runs > 1/2, Wilson) and its plateau increases
    with η (Kendall tau-b > 0, permutation p; ties between seeds at one η allowed)."""
    parts = {"plateau increases with η": verdicts.trend(etas, plateau, "greater", alpha,
                                                        what="kendall tau (η, plateau ‖G_F‖)"),
             "rise then decay": verdicts.rate(int(sum(rise)), len(rise), 0.5, "greater", alpha,
                                              what="rate(rise then decay)")}
    v = verdicts.all_of(parts)
    n = len(rise)
    return Verdict(v.verdict, v.effect, v.alpha, v.reason, v.claimed,
                   power=f"{n} runs over {len(set(etas))} η: {rate_power(n, 0.5, alpha)}; the trend's smallest "
                         "permutation p is 1/(n_perm + 1)")


def gf_rule(hists, alpha: float = ALPHA) -> Verdict:
    rise, etas, plateau = [], [], []
    for h in hists:
        s = gf_shape(h)
        if s is not None:
            rise.append(s[0])
            plateau.append(s[1])
            etas.append(h.config.optim.weight_decay)
    return gf_verdict(rise, etas, plateau, alpha)


# ------------------------------------------------------------------ Fourier

def fourier_verdict(records: list[dict], alpha: float = ALPHA) -> Verdict:
    """Claim: after generalization the hidden neurons' input weights concentrate on one
    frequency. records: per run dict(seed, gen (0/1), share (final mean top-frequency share),
    share_init (the same run at initialization)). all_of:
      level        mean share of generalized runs > 0.5 (exact sign-flip, t CI);
      above init   generalized runs' final share > their share at init (paired sign-flip);
      above non    generalized > not-generalized runs of the same M (one-sided Mann-Whitney)."""
    gen = [r for r in records if r["gen"] == 1]
    non = [r for r in records if r["gen"] == 0]
    s_gen = [r["share"] for r in gen]
    parts = {"one frequency dominates": verdicts.one_sample(s_gen, 0.5, "greater", alpha, "mean top-frequency share (generalized)"),
             "above init": verdicts.paired(s_gen, [r["share_init"] for r in gen], "greater", alpha,
                                           what="share: final - init (generalized)"),
             "above not generalized": verdicts.two_groups(s_gen, [r["share"] for r in non], "greater", alpha,
                                                          what="share: generalized - not generalized")}
    v = verdicts.all_of(parts)
    return Verdict(v.verdict, v.effect, v.alpha, f"{len(gen)} generalized, {len(non)} not; {v.reason}", v.claimed,
                   power=v.power)


__all__ = [n for n in dir() if not n.startswith("_")]
