"""Seed 002 (grokking boundaries): the sweep behind capacity-boundary, capacity-u-shape,
wd-shifts-boundary and detection-robust (claims/test_boundaries.py), and the adaptive search of the
critical width.

Setting (seed 002): 2-layer post-LN transformer, 4 heads, GELU, token + position embeddings, mean
pooling, linear head (grokcore family ``transformer``, depth 2); (a + b) mod p, 50% split, full
batch AdamW, betas (0.9, 0.98); grokked = test accuracy >= 0.95 for 10 consecutive evaluations,
one every 10 steps (grokcore.base.detect). Capacity ratio r = d_model / p.

One sweep (``sweep002``): ratios x WD {1, 0.1, 0.01} x seeds, trained full length at the fast and
gpu tiers (grokcore.engine.trajectory.run: no early stop, so every history spans the whole budget
and detection-robust can re-read it under stricter rules without truncation artefacts). The long
tier has no detection-robust and its two claims read only whether and when each run grokked (at T
and at T/2), so it trains with compaction (``compact`` in its grid: a run leaves its batch at the
first host check after it grokked; sweep.run(compact=True)). ``configs002
builds each (WD, width) cell's replicates, for the sweep, the search and ``plan_configs`` alike.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from claims.designs import replicates
from grokcore.decide import adaptive as A
from grokcore.decide import rules_boundaries as B
from grokcore.engine import sweep, trajectory
from grokcore.engine.train import torch_threads
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.suite.plan import COMPACT_NOTE

WDS = B.WDS

# Per tier. fast: p = 23, d_model in {8, 16, 32} (ratios 0.35..1.39; the seed's exp5 spans
#   roughly 0.25..4 at p = 97; d = 4, r = 0.17, never grokked and was dropped to pay for seeds in
#   the seed-001 sweep), 2 seeds, lr 3e-3 (3x the seed's) and 1200 steps for every WD (the
#   seed gives weak WD 5-10x more epochs; here all WDs share one budget and weak-WD runs are
#   right-censored accordingly). Measured while choosing it: at p = 13 / 17 no run groks in
#   1500-5000 steps (d 4..32, too few training pairs); at p = 23, d = 32, WD = 1 runs grok after
#   ~400-2100 steps (lr 3e-3 / 1e-3) while WD = 0.1 runs stay at ~0.48 for 4000 steps.
#   Cost: 3 widths x 6 runs x 1200 steps, CPU overhead-bound -> ~55 s.
#   This scale decides none of the three seed-002 claims (no run reaches 0.95 x 10 within 1200
#   steps, except rarely one d = 32 WD = 1 run). Measured 2026-12-01 (1 thread, loaded 2-core
#   CPU, batches of 4): p = 23, lr 3e-3, WD = 1, 3000 steps: d = 8 never groks, d = 16 1 of 2
#   (step 2780), d = 32 2 of 2 (1070, 1680); lr 1e-2 is unstable (test accuracy collapses after
#   reaching 1.0). Cost per run-step: 1.9 / 2.5 / 3.7 ms at d = 8 / 16 / 32 (~14 ms at 64).
#   Measured next (2026-12-01, --claims-seed 0 configs): d = 8, 12, 16, 24, 32 x 4 seeds x 4000
#   steps at WD = 1 (20 runs, ~300 s on this loaded CPU): grokked 0/4, 0/4, 1/4, 2/4, 4/4; Firth
#   r* = 0.93 [0.70, 1.34], slope p = 0.0006: supported at full scale, but budget-limited (r* =
#   1.21 [0.92, 2.79] at 2000 steps: the boundary still moves with the budget) and seed-fragile.
#   Deciding needs >= 8000 steps and >= 6 seeds per ratio (>= 4x that cost, ~20 min here), and
#   the weak-WD arms 5-10x more steps: a long-tier job, beyond the fast tier's share, so the
#   seed-002 claims stay inconclusive here (long tier below, gpu tier). The fast tier gives every
#   WD one budget (the seed: 20k / 200k at WD 1 / 0.01), so weak-WD runs are censored early.
# long (capacity-boundary, wd-shifts-boundary; `pytest claims -m long -n 2`, scheduled job .ci/long):
#   p = 23, lr 3e-3, d_model 8, 12, 16, 24, 32, 48 (ratios 0.35..2.09: d = 48 added so that the
#   boundary at half budget, which sits higher, is still bounded inside the range), 6 seeds at
#   WD = 1 and 4 at WD = 0.1; 5000 steps at WD = 1 and 25000 at WD = 0.1 (the seed's 20k : 100k = 1 : 5;
#   until 2026-12-02 both had 5000, and WD 0.1's 0/24 could not be told from slower grokking).
#   WD 0.1 at 25k: 24 runs x 25000 steps at 1.7-6.6 ms per run-step (d 8..48, 4 seeds a batch) ~ 2100
#   CPU-s on one xdist worker (was ~410 s at 5000): the tier's wall grows by about 28 CPU-min, to
#   ~40-45 min with 2 workers (estimate from the per-run-step costs below; not run in this session).
#   Measured 2026-12-03 (compact, the arm shared by both workers, seed 0, 2-core Intel Xeon ~2x slower
#   per core): the pair 4181 CPU-s, 0.766 of the full-budget run-steps; WD 0.1 grokked 0/4, 0/4, 4/4,
#   4/4, 4/4, 4/4 (d 8..48); capacity-boundary I (r* 0.66 [0.562, 0.754], T/2 1.18: not converged, the
#   uncompacted numbers), wd-shifts-boundary I (WD 1 vs 0.1 p = 0.765).
#   Cost, 1 thread, batched per (WD, width), CPU ms per run-step measured 2026-12-01 under load
#   ~7 on 2 cores: 1.7 / 2.5 / 4.4 / 6.6 / 9.3 at d = 8 / 16 / 32 / 48 / 64 (d = 12, 24 ~2.1, ~3.4);
#   the tier is 36 + 24 runs x 5000 steps ~ 1000 CPU-s, split over the two xdist workers.
#   Measured (--claims-seed 0): WD = 1 grokked 0/6, 2/6, 2/6, 6/6, 6/6, 6/6 (d = 8 .. 48), WD = 0.1
#   0/24; capacity-boundary r* = 0.676 [0.536, 0.844] (slope p = 3e-7), wd-shifts-boundary WD 1 vs
#   0.1 rate difference 0.61 [0.40, 0.75] (p = 2.4e-8): both supported, every gate passing. r* at
#   half budget is 1.23 [0.93, 1.79]: the boundary's position still moves with the budget (not
#   converged). --claims-seed 1: WD = 1 grokked 0/6, 0/6, 3/6, 3/6, 5/6, 6/6, WD = 0.1 0/24; r* =
#   0.904 [0.693, 1.19], rate difference 0.47 [0.27, 0.63]: both supported again, every gate
#   passing; 31 min 56 s wall from an empty store (1408 CPU-s, load 4-8 on 2 cores). The
#   boundary's existence inside the range does not move with the budget, its position does.
#   With the adaptive search (search_specs; the grid as round 0, then 2 rounds of 2 widths x 6
#   seeds; 60 WD = 1 runs instead of 36), 2026-12-01: seed 0 r* = 0.660 [0.562, 0.754]
#   (log-width 0.29, "converged"; grid alone 0.45), seed 1 0.728 [0.574, 0.874] (0.42; grid
#   alone 0.54); supported with every gate passing at both seeds.
#   Those verdicts predate two rule changes (2026-12-02): support now needs r* converged in budget
#   (r* at T/2 agreeing with T, stats.agree; 1.23 [0.93, 1.79] vs 0.676 [0.536, 0.844] above does
#   not), and the WD shift was then an equal-budget one: a probe at the seed's 1 : 5 (WD = 0.1,
#   d = 32, seeds 0 and 1, 25000 steps; 336 CPU-s, 19 min wall under load) grokked 2/2, at steps
#   8620 and 10280 (test accuracy ~0.5 until ~5000), as WD = 1 does at d = 32 (6/6 by 5000), hence
#   the 25k WD = 0.1 arm above. No WD = 0.01 arm and no u-shape param: WD = 0.01
#   runs (d = 8, 12, 4 seeds) stay at test accuracy 0.22-0.49 after 5000 steps (AdamW's decay
#   time 1 / (lr WD) = 33k steps), and the u-shape's curvature needs WD = 0.01 runs that grok
#   at several ratios (the seed: 200k vs 20k epochs): ~10x the WD = 1 budget, ~1 CPU-h per arm.
# gpu: the seed's exp5: p = 97, 8 ratios {0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4} (d_model rounded to a
#   multiple of 4: 24..388), 5 seeds, WD = 1 / 0.1 / 0.01 with 20k / 100k / 200k steps, eval
#   every 10. Per token-step fwd+bwd ~ 144 d^2 FLOP x 9408 tokens; summed over the 8 widths x 5
#   seeds ~ 2.1e12 FLOP per step, x (20k + 100k + 200k) steps ~ 6.7e17 FLOP: ~2 h on one H100 at
#   100 TFLOP/s (batched per width and WD).
# What would decide, per tier (appended to each seed-002 verdict's power note)
SCALE_NOTE = {
    "fast": ("measured at p = 23, WD = 1: d_model 8..32 (5 ratios) x 4 seeds x 4000 steps (~300 s on a loaded 2-core "
             "CPU) still moves with the budget (r* 1.21 at 2000 steps vs 0.93 at 4000) and with the seeds; deciding "
             "needs >= 8000 steps and >= 6 seeds per ratio (~20 min), the weak-WD arms 5-10x more steps: see the long "
             "tier (capacity-boundary, wd-shifts-boundary) and the gpu tier"),
    "long": ("p = 23, WD 1 at 5000 steps and WD 0.1 at 25000 (the seed's 1 : 5); support needs r* converged in "
             "budget (r* at T/2 agreeing with T): measured before this rule (2026-12-01) r* at 2500 steps was 1.18-1.23 "
             "against 0.66-0.73 at 5000, not converged; a boundary that still moves needs a longer WD 1 budget (the "
             "seed's 20k, ~4x this arm's ~1000 CPU-s); WD 0.01 (u-shape) is not run at this tier (~10x the WD 1 "
             "budget)"),
    "gpu": "",
}
GRIDS = {
    "fast": dict(M=23, d_models=[8, 16, 32], seeds=2, lr=3e-3, steps={1.0: 1200, 0.1: 1200, 0.01: 1200},
                 eval_every=10),
    # search: capacity-boundary's adaptive search of the critical width at WD = 1 (search_specs): the grid
    # as round 0, then 2 widths x the grid's seeds per round, widths multiples of 4 in [d_min, d_max]
    "long": dict(M=23, d_models=[8, 12, 16, 24, 32, 48], seeds={1.0: 6, 0.1: 4}, lr=3e-3,
                 steps={1.0: 5000, 0.1: 25000}, eval_every=10, by_wd=True, compact=True,
                 search=dict(d_min=8, d_max=64, grid_ratio=1.1, per_round=2, rounds=3, target_width=0.3)),
    "gpu": dict(M=97, d_models=[24, 48, 72, 96, 144, 196, 292, 388], seeds=5, lr=1e-3,
                steps={1.0: 20000, 0.1: 100000, 0.01: 200000}, eval_every=10,
                search=dict(d_min=24, d_max=388, grid_ratio=1.1, per_round=2, rounds=3, target_width=0.2)),
}


# ------------------------------------------------------------------ configs, the sweep and the search

def seeds_at(g: dict, wd: float) -> int:
    """Seeds per ratio at ``wd`` (an int for every WD, or a dict by WD)."""
    return g["seeds"][wd] if isinstance(g["seeds"], dict) else g["seeds"]


def configs002(g: dict, wd: float, d: int, reps, seed0: int) -> list[RunConfig]:
    """The seed-002 runs at weight decay wd and width d, replicate r with init and split seed seed0 + r."""
    base = RunConfig(M=g["M"], ratio=0.5, model=ModelSpec(family="transformer", width=d, depth=2, act="gelu", heads=4),
                     optim=OptimSpec(name="adamw", lr=g["lr"], weight_decay=wd, beta1=0.9, beta2=0.98),
                     eval_every=g["eval_every"], steps=g["steps"][wd])
    return replicates(base, seed0, reps)


def grid002(tier: str, seed0: int, wds=tuple(WDS)) -> list[RunConfig]:
    """The sweep's grid: every width x WD (those of ``wds`` the tier trains) x seeds."""
    g = GRIDS[tier]
    return [c for d in g["d_models"] for wd in WDS if wd in wds and wd in g["steps"]
            for c in configs002(g, wd, d, range(seeds_at(g, wd)), seed0)]


def _train002(tier: str, store, device: str):
    """The tier's trainer: compacted (``compact`` in its grid) or full length (trajectory.run)."""
    kw = dict(store=store, device=device, experiment=f"seed002/{tier}", threads=1 if device == "cpu" else None)
    return partial(_compacted if GRIDS[tier].get("compact") else trajectory.run, **kw)


def _compacted(cfgs, store, device: str, experiment: str, threads: int | None) -> list:
    """sweep.run with compaction: each run leaves its batch at the first host check after it grokked
    (seed 002's rule, the rule grok_steps reads) or diverged. The history up to that stop is the
    full-length one's (grokcore/tests: compaction oracle), so grok_steps, and gates.truncate at T/2,
    read the same steps; widths that do not grok still run their whole budget."""
    with torch_threads(threads):
        return sweep.run(cfgs, store, device, experiment, compact=True)


def sweep002(tier: str, store, device: str, seed0: int, wds=tuple(WDS)) -> list:
    """The seed-002 runs of ``tier`` for weight decays ``wds`` (grid002: full length, cached in ``store``).

    Tiers with ``by_wd`` (long) train one (WD, width) batch per call, weakest WD first: the store
    is re-read before each call, so two xdist workers share the arms instead of both training
    them. The long tier's capacity-boundary (its own group) trains the WD = 1 arm narrow widths
    first, then (weak_arms_narrow_first) the weak-WD arm narrow widths first; wd-shifts-boundary's
    worker trains the weak-WD arm widest first, then the WD = 1 arm widest first, so they meet in
    the middle of each arm (at most one batch trained twice). A batch is one width's runs of
    one WD either way (batch_key includes the width), so either worker computes the same runs."""
    g, cfgs = GRIDS[tier], grid002(tier, seed0, wds)
    train = _train002(tier, store, device)
    if g.get("by_wd"):
        _per_width(train, cfgs, sorted(w for w in wds if w in g["steps"]), widest_first=len(wds) > 1)
    return train(cfgs)


def _per_width(train, cfgs: list[RunConfig], wds, widest_first: bool) -> None:
    """Train ``cfgs`` one (WD, width) batch per call, WD in the order of ``wds``, widths narrowest
    (or widest) first: the batches by_wd tiers share between two xdist workers through the store."""
    for wd in wds:
        for d in sorted({c.model.width for c in cfgs}, reverse=widest_first):
            train([c for c in cfgs if c.optim.weight_decay == wd and c.model.width == d])


def search_specs(tier: str, wds=(1.0,)) -> dict:
    """Per WD, the adaptive search (grokcore.decide.adaptive) of the critical width: round 0 = the
    tier's d_model grid (the very configs sweep002 trains, so the search re-reads them from the
    store), then ``per_round`` widths per round at the Firth estimate and inside its CI, on
    multiples of 4 (4 heads) in [d_min, d_max], as many seeds per width as the grid has."""
    g = GRIDS[tier]
    s = g["search"]
    return {wd: A.SearchSpec(n_min=s["d_min"], n_max=s["d_max"], quantum=4, grid_ratio=s["grid_ratio"],
                             first=tuple(g["d_models"]), seeds=seeds_at(g, wd), per_round=s["per_round"],
                             max_rounds=s["rounds"], max_runs=(len(g["d_models"]) + s["per_round"] * (s["rounds"] - 1))
                             * seeds_at(g, wd), target_width=s["target_width"], alpha=B.ALPHA)
            for wd in wds}


def weak_arms_narrow_first(tier: str, store, device: str, seed0: int) -> None:
    """Train the by_wd tier's WD < 1 arms one width batch at a time, narrowest first. Called by
    capacity-boundary's worker after its own arm and search, while wd-shifts-boundary's worker trains
    the same arms widest first (sweep002): the store is re-read before each batch, so the two meet
    in the middle (at most one batch trained twice) and the long tier's longest job, the 25k-step
    WD 0.1 arm, is split over both workers instead of holding one while the other idles."""
    g = GRIDS[tier]
    _per_width(_train002(tier, store, device), grid002(tier, seed0),
               sorted(w for w in WDS if w in g["steps"] and w != 1.0), widest_first=False)


def capacity_search(tier: str, store, device: str, seed0: int, wds=(1.0,)) -> dict:
    """The adaptive search of the capacity boundary per WD (keys = WD); see search_specs."""
    g = GRIDS[tier]
    return A.search({wd: (min(g["d_models"]), max(g["d_models"])) for wd in wds},
                    lambda wd, d, reps: configs002(g, wd, d, reps, seed0),
                    lambda wd, h: float(np.isfinite(B.grok_steps([h])[0])),
                    _train002(tier, store, device), search_specs(tier, wds))


def capacity_runs(tier: str, store, device: str, seed0: int, share_weak: bool = False) -> tuple[list, str]:
    """capacity-boundary's WD = 1 runs: the grid (by_wd tiers train only this arm here), then, where
    the tier has a search, the adaptive search's runs (the grid is its round 0); and a note on the
    search ("" without one). share_weak (by_wd tiers, when wd-shifts-boundary runs too): then also
    the weak-WD arms, narrowest first (weak_arms_narrow_first; none of them is returned)."""
    wds = (1.0,) if GRIDS[tier].get("by_wd") else WDS
    hs = [h for h in sweep002(tier, store, device, seed0, wds) if h.config.optim.weight_decay == 1.0]
    if "search" not in GRIDS[tier]:
        return hs, ""
    bds = capacity_search(tier, store, device, seed0)
    if share_weak and GRIDS[tier].get("by_wd"):
        weak_arms_narrow_first(tier, store, device, seed0)
    return bds[1.0].hists, ("adaptive search of the critical width at WD = 1 (grokcore.decide.adaptive; round 0 = "
                            "the grid): " + A.summary(bds, "critical d_model", "WD = ") + "; widths in the order run "
                            "(r<round>: n=<d_model> grokked/runs): " + ", ".join(bds[1.0].order()))


# ---------------------------------------------------------------- cost plan (grokcore plan, --claims-plan)

def plan_configs(tier: str, seed0: int = 0) -> dict:
    """The configs sweep002 trains at ``tier`` for base seed ``seed0`` (grid002), one grid per weight
    decay (each has its own step budget), and the capacity search's extra runs (plan_search, an
    estimate). test_detection_robust also re-reads the seed-001 sweep: designs/empirical.py plans it."""
    grid = grid002(tier, seed0)
    return {**{f"seed002 wd={wd:g}": [c for c in grid if c.optim.weight_decay == wd]
               for wd in WDS if wd in GRIDS[tier]["steps"]}, **plan_search(tier, seed0)}


def plan_notes(tier: str) -> str:
    """`grokcore plan`'s note on every grid of plan_configs: the long tier trains with compaction."""
    return COMPACT_NOTE if GRIDS[tier].get("compact") else ""


def plan_search(tier: str, seed0: int = 0) -> dict:
    """The capacity search's runs beyond sweep002's grid (adaptive: unknown before training),
    planned at its run cap with every width at the grid's geometric middle: an estimate."""
    g = GRIDS[tier]
    if "search" not in g:
        return {}
    out = {}
    for wd, spec in search_specs(tier).items():
        d = spec.snap(float(np.mean(np.log(g["d_models"]))))
        extra = spec.max_runs - len(g["d_models"]) * spec.seeds
        out[f"capacity-boundary search wd={wd:g} (adaptive: run cap at the middle width)"] = \
            configs002(g, wd, d, range(100, 100 + extra), seed0)
    return out


# ------------------------------------------------------------------ figures

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _plot_success(ax, x, y, label, color):
    xs = np.unique(x)
    ax.plot(np.exp(xs), [y[x == v].mean() for v in xs], "o-", color=color, label=label)


def capacity_figure(hs: list):
    """capacity-boundary: fraction grokked per ratio at WD = 1, with the Firth r* and its CI."""
    x, y = B.log_ratio(hs), B.grokked(hs)
    r_star = B.boundary_verdict(x, y, B.ALPHA)[0].effect
    fig, ax = _plt().subplots(figsize=(5, 3.5))
    _plot_success(ax, x, y, "WD=1", "C0")
    if r_star is not None and np.isfinite(r_star.value):
        ax.axvline(r_star.value, color="k", ls="--", label="r*")
        if np.isfinite(r_star.lo) and np.isfinite(r_star.hi) and r_star.lo > 0:
            ax.axvspan(r_star.lo, r_star.hi, color="k", alpha=0.1)
    ax.set(xscale="log", xlabel="d_model / p", ylabel="fraction grokked", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    return fig, "grok success vs capacity ratio at WD = 1, boundary with CI"


def u_shape_figure(hs: list, g: dict):
    """capacity-u-shape: grok step against ratio for WD 0.01 and 1, censored runs at their budget."""
    wd, x, t = B.wd_of(hs), B.log_ratio(hs), B.grok_steps(hs)
    fig, ax = _plt().subplots(figsize=(5, 3.5))
    for i, w in enumerate((0.01, 1.0)):
        sel = (wd == w) & np.isfinite(t)
        ax.scatter(np.exp(x[sel]), t[sel], color=f"C{i}", label=f"WD={w:g} grokked")
        cen = (wd == w) & ~np.isfinite(t)
        ax.scatter(np.exp(x[cen]), [g["steps"][w]] * int(cen.sum()), marker="^", color=f"C{i}", alpha=0.4,
                   label=f"WD={w:g} censored")
    ax.set(xscale="log", yscale="log", xlabel="d_model / p", ylabel="grok step")
    ax.legend(fontsize=7)
    return fig, "grok step vs capacity ratio, WD = 0.01 vs 1 (triangles: censored at budget)"


def wd_shift_figure(hs: list, wds: list):
    """wd-shifts-boundary: fraction grokked per ratio, one line per WD."""
    wd, x, y = B.wd_of(hs), B.log_ratio(hs), B.grokked(hs)
    fig, ax = _plt().subplots(figsize=(5, 3.5))
    for i, w in enumerate(wds):
        _plot_success(ax, x[wd == w], y[wd == w], f"WD={w:g}", f"C{i}")
    ax.set(xscale="log", xlabel="d_model / p", ylabel="fraction grokked", ylim=(-0.05, 1.05))
    ax.legend(fontsize=8)
    return fig, "grok success vs capacity ratio per WD"


def detection_figure(data: dict):
    """detection-robust: verdict per claim (rows) and detection rule (columns)."""
    base, table = data["base"], data["table"]
    ids, code = list(base), {"supported": 1.0, "inconclusive": 0.5, "refuted": 0.0}
    grid = np.array([[code[base[cid]]] + [code[table[rk][cid]] for rk in table] for cid in ids])
    fig, ax = _plt().subplots(figsize=(8, 4))
    ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table) + 1), ["own rule"] + list(table), rotation=45, fontsize=7)
    ax.set_yticks(range(len(ids)), ids, fontsize=7)
    return fig, "verdict per claim and detection rule: supported (green), inconclusive (yellow), refuted (red)"
