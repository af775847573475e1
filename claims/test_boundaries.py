"""Grokking boundaries (seed 002): capacity-boundary, capacity-u-shape, wd-shifts-boundary, and our
detection-robust claim. Reference rows: fixtures/boundaries.toml.

Setting (seed 002): 2-layer post-LN transformer, 4 heads, GELU, token + position embeddings, mean
pooling, linear head (grokcore family ``transformer``, depth 2); (a + b) mod p, 50% split, full
batch AdamW lr 1e-3, betas (0.9, 0.98); grokked = test accuracy >= 0.95 for 10 consecutive
evaluations, one every 10 steps (engine: ``summary['generalized_step']``, grokcore.detect).
Capacity ratio r = d_model / p.

One sweep (``sweep002``) serves the three seed-002 claims: ratios x WD {1, 0.1, 0.01} x seeds,
trained full length (grokcore.trajectory.run: no early stop, so every history spans the whole
budget and detection-robust can re-read it under stricter rules without truncation artefacts).
detection-robust also re-reads the seed-001 sweep of test_empirical.py (no retraining).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from grokcore import stats, trajectory
from grokcore.config import ModelSpec, OptimSpec, RunConfig
from grokcore.detect import DetectRule, first_sustained
from grokcore.plugin import TIERS, share_sweep

ALPHA = 0.05
WDS = [1.0, 0.1, 0.01]
BASE_RULE = DetectRule(0.95, 10)  # seed 002
RULES = [DetectRule(t, p) for t in (0.90, 0.95, 0.99) for p in (5, 10, 20)]

# Per tier. fast: p = 23, d_model in {4, 8, 16, 32} (ratios 0.17..1.39; the seed's exp5 spans
#   roughly 0.25..4 at p = 97), 2 seeds, lr 3e-3 (3x the seed's) and 1200 steps for every WD (the
#   seed gives weak WD 5-10x more epochs; here all WDs share one budget and weak-WD runs are
#   right-censored accordingly). Measured while choosing it: at p = 13 / 17 no run groks in
#   1500-5000 steps (d 4..32, too few training pairs); at p = 23, d = 32, WD = 1 runs grok after
#   ~400-2100 steps (lr 3e-3 / 1e-3) while WD = 0.1 runs stay at ~0.48 for 4000 steps.
#   Cost: 4 widths x 6 runs x 1200 steps; FLOPs small (~3 x 48 d^2 x 530 tokens <= 8e7 per
#   run-step), CPU overhead-bound: ~13-30 ms per step per width batch -> ~90 s.
# gpu: the seed's exp5: p = 97, 8 ratios {0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4} (d_model rounded to a
#   multiple of 4: 24..388), 5 seeds, WD = 1 / 0.1 / 0.01 with 20k / 100k / 200k steps, eval
#   every 10. Per token-step fwd+bwd ~ 144 d^2 FLOP x 9408 tokens; summed over the 8 widths x 5
#   seeds ~ 2.1e12 FLOP per step, x (20k + 100k + 200k) steps ~ 6.7e17 FLOP: ~2 h on one H100 at
#   100 TFLOP/s (batched per width and WD; WD = 1 batches stop early only in sweep.run, not here).
GRIDS = {
    "fast": dict(M=23, d_models=[4, 8, 16, 32], seeds=2, lr=3e-3, steps={1.0: 1200, 0.1: 1200, 0.01: 1200},
                 eval_every=10),
    "gpu": dict(M=97, d_models=[24, 48, 72, 96, 144, 196, 292, 388], seeds=5, lr=1e-3,
                steps={1.0: 20000, 0.1: 100000, 0.01: 200000}, eval_every=10),
}


def sweep002(tier: str, store, device: str, seed0: int) -> list:
    g = GRIDS[tier]
    base = RunConfig(M=g["M"], ratio=0.5, model=ModelSpec(family="transformer", width=g["d_models"][0], depth=2,
                                                           act="gelu", heads=4),
                     optim=OptimSpec(name="adamw", lr=g["lr"], weight_decay=1.0, beta1=0.9, beta2=0.98),
                     eval_every=g["eval_every"])
    import dataclasses
    cfgs = [base.replace(model=dataclasses.replace(base.model, width=d),
                         optim=dataclasses.replace(base.optim, weight_decay=wd),
                         steps=g["steps"][wd], seed=seed0 + s, split_seed=seed0 + s)
            for d in g["d_models"] for wd in WDS for s in range(g["seeds"])]
    return trajectory.run(cfgs, store=store, device=device, experiment=f"seed002/{tier}",
                          threads=1 if device == "cpu" else None)


def grok_steps(hs, rule: DetectRule = BASE_RULE) -> np.ndarray:
    return np.array([np.nan if h.status != "ok" else
                     float(first_sustained(h.metrics["step"], h.metrics["test/acc"], rule.threshold, rule.patience))
                     for h in hs])


def log_ratio(hs) -> np.ndarray:
    return np.array([math.log(h.config.model.width / h.config.M) for h in hs])


def _wd(hs) -> np.ndarray:
    return np.array([h.config.optim.weight_decay for h in hs])


def boundary_verdict(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> tuple[str, stats.Boundary, str]:
    """Logistic boundary of grokked (y) on log ratio (x) -> (verdict, Boundary, why).
    supported: slope > 0 (Wald CI, or profile bound under separation) and the x50 CI finite
    and inside the swept range; refuted: slope significantly < 0 (more capacity groks less);
    inconclusive otherwise (all fail / all succeed / flat / CI leaving the range)."""
    b = stats.logistic_boundary(x, y, alpha=alpha)
    lo_x, hi_x = float(x.min()), float(x.max())
    if b.kind in ("all_fail", "all_success", "too_few"):
        return "inconclusive", b, f"{b.kind}: no transition inside log ratio [{lo_x:.2f}, {hi_x:.2f}]"
    if b.slope.hi < 0:
        return "refuted", b, f"slope {b.slope.value:.2f} < 0: larger capacity groks less"
    inside = math.isfinite(b.x50.lo) and math.isfinite(b.x50.hi) and lo_x <= b.x50.lo and b.x50.hi <= hi_x
    if b.slope.lo > 0 and inside:
        return "supported", b, ""
    return "inconclusive", b, (f"slope CI [{b.slope.lo:.2f}, {b.slope.hi:.2f}] or x50 CI "
                               f"[{b.x50.lo:.2f}, {b.x50.hi:.2f}] not inside [{lo_x:.2f}, {hi_x:.2f}]")


def _plot_success(ax, x, y, label, color):
    xs = np.unique(x)
    ax.plot(np.exp(xs), [y[x == v].mean() for v in xs], "o-", color=color, label=label)


# ------------------------------------------------------------------ capacity-boundary

@share_sweep("seed002")
@pytest.mark.parametrize("tier", TIERS)
def test_capacity_boundary(tier, claim, claims_store, claims_device, claims_seed):
    """Checks: at WD = 1, P(grok) rises with the capacity ratio r = d_model/p and crosses 1/2 inside the
    swept range: logistic fit of grokked (seed 002 rule: test acc >= 0.95 for 10 evals) on log r,
    supported if the slope's 95% CI (Wald; profile-likelihood bound under separation) is > 0 and
    the 95% CI of the 50% point (parametric bootstrap; the gap under separation) is finite and
    inside the range. alpha = 0.05. Inconclusive (not refuted) when every run groks or none does.
    Not checked: the critical ratio's value at p = 97 (gpu tier only), nor that it is the same
    across p."""
    claim.reference("capacity-boundary")
    g = GRIDS[tier]
    hs = [h for h in sweep002(tier, claims_store, claims_device, claims_seed) if h.config.optim.weight_decay == 1.0]
    x, t = log_ratio(hs), grok_steps(hs)
    y = (~np.isnan(t)).astype(float)
    verdict, b, why = boundary_verdict(x, y)
    claim.tested("logistic regression of grokked (0.95 x 10 evals) on log(d_model/p) at WD=1: slope > 0 and "
                 "x50 CI inside the swept range (parametric bootstrap 1000)", alpha=ALPHA)
    claim.scale(**{k: v for k, v in g.items() if k != "steps"}, steps=g["steps"][1.0], weight_decay=1.0)
    r50 = stats.Estimate("critical ratio d_model/p", math.exp(b.x50.value) if math.isfinite(b.x50.value) else math.nan,
                         math.exp(b.x50.lo), math.exp(b.x50.hi), ALPHA, method=b.x50.method, note=b.kind)
    claim.stat("critical ratio r* = exp(x50)", r50, claimed="inside swept range", headline=True)
    claim.stat("logistic slope in log r", b.slope, claimed="> 0")
    for d in g["d_models"]:
        sel = np.array([h.config.model.width == d for h in hs])
        claim.stat(f"d_model={d} (r={d / g['M']:.2f}) grok rate", stats.wilson_ci(int(y[sel].sum()), int(sel.sum())))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    _plot_success(ax, x, y, "WD=1", "C0")
    if math.isfinite(b.x50.value):
        ax.axvline(math.exp(b.x50.value), color="k", ls="--", label="r*")
    if math.isfinite(b.x50.lo) and math.isfinite(b.x50.hi):
        ax.axvspan(math.exp(b.x50.lo), math.exp(b.x50.hi), color="k", alpha=0.1)
    ax.set(xscale="log", xlabel="d_model / p", ylabel="fraction grokked", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    claim.figure(fig, "grok success vs capacity ratio at WD = 1, boundary with CI")
    claim.configs([h.config.key for h in hs])
    assert verdict != "refuted", why
    if verdict == "inconclusive":
        claim.conclude("inconclusive", why + f"; would be decided by ratios spanning the transition at p >= 23 "
                       "with >= 5 seeds per ratio and the seed's 20k-step budget (gpu tier)")


# ------------------------------------------------------------------ capacity-u-shape

def curvature(x: np.ndarray, t: np.ndarray, alpha: float = ALPHA, n_boot: int = 1000, seed: int = 0):
    """Quadratic coefficient c2 of log t_grok = c0 + c1 x + c2 x^2 over grokked runs (OLS), with a
    bootstrap (resampling runs) percentile CI; None if < 3 distinct x or < 4 grokked runs."""
    ok = np.isfinite(t)
    x, lt = x[ok], np.log(t[ok])
    if np.unique(x).size < 3 or x.size < 4:
        return None
    c2 = float(np.polyfit(x, lt, 2)[0])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        i = rng.integers(0, x.size, x.size)
        if np.unique(x[i]).size >= 3:
            draws.append(np.polyfit(x[i], lt[i], 2)[0])
    lo, hi = np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return stats.Estimate("c2 (log t_grok vs log r)", c2, float(lo), float(hi), alpha,
                          method=f"OLS quadratic, bootstrap over grokked runs ({n_boot})")


@share_sweep("seed002")
@pytest.mark.parametrize("tier", TIERS)
def test_capacity_u_shape(tier, claim, claims_store, claims_device, claims_seed):
    """Checks: at weak regularization (WD = 0.01) grok step vs log capacity ratio is U-shaped and more
    so than at WD = 1: quadratic coefficient c2 of log t_grok on log r (OLS over grokked runs,
    bootstrap CI) > 0 at WD = 0.01 and c2(0.01) - c2(1) > 0 (bootstrap CI), alpha = 0.05. Runs that
    never grok are right-censored; they are excluded from the fit (reported per ratio), which is
    only unbiased when censoring is rare, so the verdict is 'inconclusive' when fewer than 3 ratios
    have a grokked run at either WD.
    Not checked: the position of the U's minimum, nor intermediate WD."""
    claim.reference("capacity-u-shape")
    g = GRIDS[tier]
    hs = sweep002(tier, claims_store, claims_device, claims_seed)
    wd, x, t = _wd(hs), log_ratio(hs), grok_steps(hs)
    c = {w: curvature(x[wd == w], t[wd == w]) for w in (0.01, 1.0)}
    claim.tested("quadratic coefficient of log t_grok (0.95 x 10 evals) on log(d_model/p), grokked runs only, "
                 "bootstrap (1000) CIs per WD and for the difference; censored runs reported", alpha=ALPHA)
    claim.scale(**g, weight_decays=[0.01, 1.0])
    for w in (0.01, 1.0):
        sel = wd == w
        claim.stat(f"WD={w:g}: grokked runs", f"{int(np.isfinite(t[sel]).sum())}/{int(sel.sum())}")
        if c[w] is not None:
            claim.stat(f"WD={w:g}: curvature c2", c[w], claimed="> 0" if w == 0.01 else None, headline=w == 0.01)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for i, w in enumerate((0.01, 1.0)):
        sel = (wd == w) & np.isfinite(t)
        ax.scatter(np.exp(x[sel]), t[sel], color=f"C{i}", label=f"WD={w:g} grokked")
        cen = (wd == w) & ~np.isfinite(t)
        ax.scatter(np.exp(x[cen]), [g["steps"][w]] * int(cen.sum()), marker="^", color=f"C{i}", alpha=0.4,
                   label=f"WD={w:g} censored")
    ax.set(xscale="log", yscale="log", xlabel="d_model / p", ylabel="grok step")
    ax.legend(fontsize=7)
    claim.figure(fig, "grok step vs capacity ratio, WD = 0.01 vs 1 (triangles: censored at budget)")
    claim.configs([h.config.key for h in hs if h.config.optim.weight_decay in (0.01, 1.0)])
    if c[0.01] is None or c[1.0] is None:
        claim.conclude("inconclusive", "fewer than 3 ratios / 4 runs grokked at WD=0.01 or WD=1 within the budget "
                       f"({g['steps']}); the seed gives WD=0.01 200k steps at p=97 (gpu tier)")
        return
    rng = np.random.default_rng(1)
    diffs = []
    xa, ta, xb, tb = x[wd == 0.01], t[wd == 0.01], x[wd == 1.0], t[wd == 1.0]
    # difference CI: combine the two independent bootstrap distributions by resampling runs per WD
    def _c2(xx, tt):
        ok = np.isfinite(tt)
        return np.polyfit(xx[ok], np.log(tt[ok]), 2)[0] if np.unique(xx[ok]).size >= 3 else np.nan
    for _ in range(1000):
        ia, ib = rng.integers(0, xa.size, xa.size), rng.integers(0, xb.size, xb.size)
        diffs.append(_c2(xa[ia], ta[ia]) - _c2(xb[ib], tb[ib]))
    diffs = np.asarray(diffs)
    diffs = diffs[np.isfinite(diffs)]
    lo, hi = np.percentile(diffs, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    dest = stats.Estimate("c2(WD=0.01) - c2(WD=1)", c[0.01].value - c[1.0].value, float(lo), float(hi), ALPHA,
                          method="bootstrap over runs per WD (1000)")
    claim.stat("curvature difference", dest, claimed="> 0")
    assert c[0.01].lo > 0 and dest.lo > 0, (f"c2(0.01) = {c[0.01].value:.2f} [{c[0.01].lo:.2f}, {c[0.01].hi:.2f}], "
                                            f"difference {dest.value:.2f} [{dest.lo:.2f}, {dest.hi:.2f}]")


# ------------------------------------------------------------------ wd-shifts-boundary

def spearman_karber(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman-Kärber 50% point on a grid: x50 = sum_i (p_{i+1} - p_i)(x_i + x_{i+1})/2 after
    isotonic (running max) smoothing, with the curve closed at p = 0 half a grid step below the
    lowest x and p = 1 half a step above the highest x when the data do not reach 0 / 1 (so a WD
    that never groks gets x50 beyond the range: a bound, flagged by the caller)."""
    xs = np.unique(x)
    p = np.maximum.accumulate(np.array([y[x == v].mean() for v in xs]))
    step = np.diff(xs).mean() if xs.size > 1 else 1.0
    xs = np.r_[xs[0] - step / 2, xs, xs[-1] + step / 2]
    p = np.r_[0.0, p, 1.0]
    return float(np.sum(np.diff(p) * (xs[1:] + xs[:-1]) / 2))


def sk_boot(x, y, n_boot=1000, seed=0) -> np.ndarray:
    """Bootstrap draws of the Spearman-Kärber x50, resampling runs within each ratio."""
    rng = np.random.default_rng(seed)
    xs = np.unique(x)
    groups = [np.nonzero(x == v)[0] for v in xs]
    out = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([gi[rng.integers(0, gi.size, gi.size)] for gi in groups])
        out[b] = spearman_karber(x[idx], y[idx])
    return out


@share_sweep("seed002")
@pytest.mark.parametrize("tier", TIERS)
def test_wd_shifts_boundary(tier, claim, claims_store, claims_device, claims_seed):
    """Checks: the capacity boundary moves with weight decay (WD 1, 0.1, 0.01): per WD the 50% point of
    grok success on log(d_model/p) (Spearman-Kärber on the ratio grid, bootstrap over seeds within
    each ratio; the logistic boundary is reported too); for each WD pair the difference of 50%
    points with a 95% bootstrap CI, Holm-corrected over the 3 pairs (alpha = 0.05); supported if at
    least one pair differs, and the direction is reported (the source states none). A WD whose
    curve never reaches 1 (or 0) inside the range has its 50% point closed half a grid step beyond
    the range: a bound, so a 'shift' against it is a lower bound on the shift.
    Not checked: the per-WD budgets of the seed (20k / 100k / 200k) at the fast tier, where all WDs
    share one budget, so a WD=0.01 boundary is confounded with the shorter budget."""
    claim.reference("wd-shifts-boundary")
    g = GRIDS[tier]
    hs = sweep002(tier, claims_store, claims_device, claims_seed)
    wd, x, t = _wd(hs), log_ratio(hs), grok_steps(hs)
    y = np.isfinite(t).astype(float)
    claim.tested("per WD Spearman-Kärber 50% point of grok success (0.95 x 10 evals) in log(d_model/p) with "
                 "bootstrap (1000, within ratio); pairwise differences, Holm over 3 pairs; logistic boundaries "
                 "reported", alpha=ALPHA)
    claim.scale(**g, weight_decays=WDS)
    est, draws = {}, {}
    for i, w in enumerate(WDS):
        sel = wd == w
        draws[w] = sk_boot(x[sel], y[sel], seed=i)
        est[w] = spearman_karber(x[sel], y[sel])
        _, b, why = boundary_verdict(x[sel], y[sel])
        claim.stat(f"WD={w:g}: logistic x50 (log r)", b.x50)
        claim.stat(f"WD={w:g}: grok rate", stats.wilson_ci(int(y[sel].sum()), int(sel.sum())))
    pairs = [(1.0, 0.1), (1.0, 0.01), (0.1, 0.01)]
    raw = []
    for a, b in pairs:
        d = draws[a] - draws[b]
        p = 2 * min((d <= 0).mean(), (d >= 0).mean())
        raw.append((a, b, est[a] - est[b], d, min(1.0, p)))
    order = sorted(range(3), key=lambda i: raw[i][4])
    shifted = []
    for rank, i in enumerate(order):  # Holm: the k-th smallest p at alpha/(3-k), CI at that level
        a, b, diff, d, p = raw[i]
        lvl = ALPHA / (3 - rank)
        lo, hi = np.percentile(d, [100 * lvl / 2, 100 * (1 - lvl / 2)])
        e = stats.Estimate(f"x50(WD={a:g}) - x50(WD={b:g})", diff, float(lo), float(hi), lvl, p,
                           method="Spearman-Kärber, bootstrap (1000), Holm level")
        claim.stat(f"shift WD {a:g} vs {b:g} (log r)", e, claimed="!= 0", headline=(a, b) == (1.0, 0.01))
        if lo > 0 or hi < 0:
            shifted.append(f"WD={a:g} boundary {'above' if lo > 0 else 'below'} WD={b:g}")
        elif rank == 0 or not shifted:
            break  # Holm stops at the first non-rejection
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for i, w in enumerate(WDS):
        sel = wd == w
        _plot_success(ax, x[sel], y[sel], f"WD={w:g}", f"C{i}")
        ax.axvline(math.exp(est[w]), color=f"C{i}", ls="--", lw=0.8)
    ax.set(xscale="log", xlabel="d_model / p", ylabel="fraction grokked", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    claim.figure(fig, "grok success vs capacity ratio per WD; dashed: Spearman-Kärber 50% points")
    claim.configs([h.config.key for h in hs])
    claim.note("direction: " + ("; ".join(shifted) if shifted else "no significant shift"))
    if all(y[wd == w].min() == y[wd == w].max() for w in WDS) and len({y[wd == w][0] for w in WDS}) == 1:
        claim.conclude("inconclusive", f"every WD {'grokked' if y.all() else 'failed'} at every ratio within "
                       f"{g['steps']} steps: no boundary inside the range; decided at the gpu tier (20k-200k steps)")
        return
    assert shifted, "no WD pair's boundary differs at the Holm-corrected level"


# ------------------------------------------------------------------ detection-robust

def _rederive_seed001(tier, store, device, seed0, rule: DetectRule) -> dict:
    """Seed-001 verdicts under another grok rule, from the cached histories (no retraining)."""
    import test_empirical as emp
    runs = emp.sweep001(tier, store, device, seed0)
    gr = (rule.threshold, rule.patience)
    hs = [h for (a, lam, s), h in sorted(runs.items()) if a == 0.0 and lam == 1.0]
    d = emp.delay_stats(hs, grok_rule=gr)
    n_grok = d["n"] - d["n_censored"]
    delayed = "supported" if (n_grok * 2 > d["n"] and d["lag"].lo > 0 and d["ratio"].lo > 2) else "not supported"
    row = [h for (a, lam, s), h in sorted(runs.items()) if a == 0.0]
    lam = np.array([h.config.optim.weight_decay for h in row])
    tg = np.array([emp.steps_of(h, gr) for h in row])
    steps = row[0].config.steps
    tau = stats.kendall_trend(np.log10(lam), emp._censored_rank_value(tg, steps), alpha=ALPHA)
    col = [h for (a, lam_, s), h in sorted(runs.items()) if lam_ == 1.0]
    al = np.array([h.config.model.alpha for h in col])
    tg2 = np.array([emp.steps_of(h, gr) for h in col])
    tau2 = stats.kendall_trend(al, emp._censored_rank_value(tg2, steps), alpha=ALPHA)
    return {"grok-delayed": (delayed, d["lag"].value),
            "grok-wd-speeds": ("supported" if tau.hi < 0 else "not supported", tau.value),
            "grok-lazy-rich": ("supported" if tau2.lo > 0 else "not supported", tau2.value)}


DETECTION_FAST_REFUTED = (
    "measured at the fast tier (seed 002: p=23, d_model 4..32, 2 seeds, 1200 steps, lr 3e-3; seed 001: p=31, "
    "width 128, 3 seeds, 2500 steps), 2026-11-23: 13 of 45 verdicts flip (unchanged share 0.71 [0.57, 0.82]). "
    "Under the seed-002 rule (0.95 x 10) no transformer run groks, so capacity-boundary is 'inconclusive' "
    "(all_fail); under every patience-5 rule (0.90/0.95/0.99 x 5) both d_model=32 (r=1.39) WD=1 runs count as "
    "grokked (test acc >= threshold for 5-9 evals, then unstable), giving a separated boundary ('supported') "
    "and a WD=1 vs 0.01 boundary shift (zero -> negative, also at 0.90/10). The seed-001 claims (grok-delayed, "
    "grok-wd-speeds, grok-lazy-rich) hold under every 0.90/0.95 rule; each fails under one or more 0.99 rules "
    "(0.99 x 5/10/20): not enough runs hold test accuracy >= 99% for that many evaluations within the budget")
DETECTION_TIERS = [
    pytest.param("fast", marks=[pytest.mark.fast, pytest.mark.xfail(strict=True, reason=DETECTION_FAST_REFUTED)],
                 id="fast"),
    pytest.param("gpu", marks=pytest.mark.gpu, id="gpu"),
]


@share_sweep("seed002")
@pytest.mark.parametrize("tier", DETECTION_TIERS)
def test_detection_robust(tier, claim, claims_store, claims_device, claims_seed):
    """Checks: the detection-dependent verdicts do not change when the grokking rule (test accuracy >=
    threshold for `patience` consecutive evaluations) varies over threshold {0.90, 0.95, 0.99} x patience
    {5, 10, 20}: capacity-boundary (logistic verdict at WD = 1), wd-shifts-boundary (sign of the
    WD=1 - WD=0.01 Spearman-Kärber shift), grok-delayed, grok-wd-speeds and grok-lazy-rich (their
    assertion outcomes), all re-derived from the same cached, full-length histories (no
    retraining; the sweeps are trained without early stopping, so a long-patience window is only
    cut by the true budget). Supported if every verdict is the same under all 9 rules as under the
    claim's own rule; every flip is listed. alpha = 0.05 inside each re-derived verdict (no
    multiplicity correction across rules: the question is agreement, not significance).
    Not checked: rules of another form (smoothed curves, loss-based detection)."""
    claim.reference("detection-robust")
    g = GRIDS[tier]
    hs = sweep002(tier, claims_store, claims_device, claims_seed)
    wd, x = _wd(hs), log_ratio(hs)
    table: dict[str, dict[str, tuple]] = {}
    for rule in RULES:
        t = grok_steps(hs, rule)
        y = np.isfinite(t).astype(float)
        sel = wd == 1.0
        v, b, _ = boundary_verdict(x[sel], y[sel])
        shift = spearman_karber(x[wd == 1.0], y[wd == 1.0]) - spearman_karber(x[wd == 0.01], y[wd == 0.01])
        row = {"capacity-boundary": (v, b.x50.value),
               "wd-shifts-boundary (sign of shift 1 vs 0.01)": ("negative" if shift < 0 else "positive" if shift > 0 else "zero", shift)}
        row.update(_rederive_seed001(tier, claims_store, claims_device, claims_seed, rule))
        table[f"{rule.threshold:.2f}/{rule.patience}"] = row
    base002 = table[f"{BASE_RULE.threshold:.2f}/{BASE_RULE.patience}"]
    base001 = _rederive_seed001(tier, claims_store, claims_device, claims_seed, DetectRule(0.95, 1))
    base = {**base002, **base001}
    flips = [f"{claim_id}: {base[claim_id][0]} -> {row[claim_id][0]} under rule {rk}"
             for rk, row in table.items() for claim_id in row if row[claim_id][0] != base[claim_id][0]]
    n_cells = sum(len(r) for r in table.values())
    claim.tested("each verdict re-derived under 9 detection rules (threshold 0.90/0.95/0.99 x patience 5/10/20) "
                 "from the same histories; baseline rules: seed 002 (0.95 x 10) for the boundary claims, "
                 "seed 001's code (0.95 x 1) for grok-delayed / wd-speeds / lazy-rich", alpha=ALPHA)
    claim.scale(seed002=g, rules=[f"{r.threshold}/{r.patience}" for r in RULES])
    claim.stat("verdicts unchanged", stats.wilson_ci(n_cells - len(flips), n_cells, ALPHA), claimed=1.0, headline=True)
    for cid, (v, val) in base.items():
        claim.stat(f"baseline {cid}", f"{v} ({val:.3g})")
    for rk, row in table.items():
        claim.stat(f"rule {rk}", "; ".join(f"{k}: {v} ({val:.3g})" for k, (v, val) in row.items()))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ids = list(base)
    M = np.array([[float(table[rk][cid][0] == base[cid][0]) for rk in table] for cid in ids])
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.imshow(M, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table)), list(table), rotation=45, fontsize=7)
    ax.set_yticks(range(len(ids)), ids, fontsize=7)
    claim.figure(fig, "verdict agrees with baseline (green) or flips (red), per rule (threshold/patience)")
    claim.configs([h.config.key for h in hs])
    for f in flips:
        claim.note(f)
    n_detect = sum(int(np.isfinite(grok_steps(hs, r)).sum()) for r in RULES)
    import test_empirical as emp
    runs001 = emp.sweep001(tier, claims_store, claims_device, claims_seed)
    n_detect += sum(int(np.isfinite(emp.steps_of(h, (r.threshold, r.patience)))) for r in RULES for h in runs001.values())
    claim.stat("grok detections over all rules and runs", n_detect)
    assert not flips, f"{len(flips)} of {n_cells} verdicts flip: " + "; ".join(flips)
    if n_detect == 0:
        claim.conclude("inconclusive", "no run groks under any of the 9 rules: agreement is vacuous (every verdict "
                       "rests on all-censored data); needs a scale where runs grok near the thresholds (gpu tier)"), f"{len(flips)} of {n_cells} verdicts flip: " + "; ".join(flips)
