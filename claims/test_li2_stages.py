"""Li² stage and Fourier claims (CLAIMS.md, "Li² scaling law and stages"; seed 003; Tian, arXiv
2509.21519): li2-wd-needed, -lazy-freeze, -independent, -interactive, -gf-dynamics, -fourier.

One test per claim: load the design's runs (claims/designs/li2_stages.py: grids, builders,
sweeps, figures, card sections), decide with the claim's rule (grokcore.decide.rules_li2_stages,
whose docstring states the rule on the card), add the figures. "Generalized" everywhere is seed
002's rule (test acc >= 0.95 for 10 consecutive evals within the step budget).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from claims.designs import li2_stages as D
from grokcore.decide import gates, stats
from grokcore.decide import measures_li2 as Mz
from grokcore.decide import measures_li2_stages as Ms
from grokcore.decide import rules_li2_stages as R
from grokcore.engine.train import torch_threads
from grokcore.suite.tiers import TIERS, condition_params, pinned_refuted, share_sweep


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Train these small nets single-threaded: with 2 intra-op threads on a loaded 2-core CPU
    the per-step barriers made training ~10x slower (measured); restored afterwards."""
    with torch_threads(1):
        yield


# ------------------------------------------------------------------ Fourier claim

@share_sweep("li2-fourier")
@pytest.mark.parametrize("tier", TIERS)
def test_li2_fourier(tier, claim, claims_store, claims_device, claims_seed):
    """Runs li2-fourier's own runs (D.GRIDS[tier]["fourier"], the boundary's hyperparameters): at
    one M, n well above the boundary (fast: 0.9 M², ~1.8x n*) with weight decay and, the equal-n
    arm, the same n, seeds and splits with η = 0; and n below the boundary (0.25 M², shown); final
    W kept; orderparams.fourier_concentration of W per run and at its init. Cost: 18 runs at the
    fast tier (FLOPs in the scale row).
    """
    g = D.fourier_grid(tier)
    hists = D.fourier_sweep(tier, claims_store, claims_device, claims_seed)
    recs = D.fourier_records(hists, g["M"])
    claim.scale(**g, n=sorted({h.config.n_train for h in hists}), n_generalized=sum(r["gen"] == 1 for r in recs),
                n_not=sum(r["gen"] == 0 for r in recs), cost_flops=D.flops([h.config for h in hists]))
    claim.configs([h.config.key for h in hists if h.config.M == g["M"]])
    D.fourier_card(claim, recs, g["M"])
    claim.decide(R.fourier_rule, recs, R.fourier_gates())


# ------------------------------------------------------------------ stage claims
# All five read the stages sweep (D.GRIDS[tier]["stages"]): one (M, n) point above the boundary
# (fast: M = 17, 85% train; gpu: the paper's Fig. 3 point M = 71, n = 2016). Cost (fast): 4 η x 6
# seeds Li² Adam + 6 Li² SGD + 12 embed_mlp runs x 1500 steps; (gpu): 4 η x 15 + 15 + 30 runs x
# 20000 steps at K = 2048.

@share_sweep("li2-stages")
@pytest.mark.parametrize("tier", TIERS)
def test_li2_wd_needed(tier, claim, claims_store, claims_device, claims_seed):
    """Reads the Li² net under Adam at the base η and at η = 0 (the whole η grid in the figure).
    Does not check: other optimizers, or settings where the paper itself says weight decay is
    sufficient, not necessary.
    """
    run = D.stages_sweep(tier, claims_store, claims_device, claims_seed)
    g = run.grid
    hists = [h for h in run.groups["li2/adam"] if h.config.optim.weight_decay in (0.0, g["wd"])]
    claim.scale(**g, cost_flops=D.flops(run.configs))
    claim.configs([h.config.key for h in hists])
    for wd in g["wds"]:
        ys = [Mz.generalized(h) for h in run.adam(wd)]
        claim.stat(f"P(generalized), η={wd}", stats.wilson_ci(int(np.nansum(ys)), int(np.sum(~np.isnan(ys))), R.ALPHA))
    claim.figure(D.curves_figure({f"η={wd}": run.adam(wd) for wd in g["wds"]}, "test/acc",
                                 "test accuracy, Li² net, Adam", hline=0.95, logy=False),
                 "test accuracy curves per weight decay")
    claim.decide(R.wd_needed_rule, hists, gates.for_histories())


# One record per optimizer of the Li² net (R.LAZY; why: lazy_freeze_rule's docstring). Under Adam
# pinned refuted as measured at base seed 0 (CI's): W1's weights move at least as coherently as
# the output layer's over Stage I (contrast +0.012-0.019, ~1 sd). With 6 seeds per condition it was
# refuted at base seeds 0 and 12 only (80 % power needs ~9 runs); with 12 (since 2026-12-04) refuted
# at each of the design seeds 0, 12, 13, 14 and the unseen 15, 16, 17 on the native and generic
# float paths. Under gradient descent supported at every one of them.
LAZY_PARAMS = condition_params(R.LAZY, lambda c: c.split("/")[1], pinned={("fast", "li2/adam")})


@share_sweep("li2-stages")
@pytest.mark.parametrize("tier, opt", LAZY_PARAMS)
def test_li2_lazy_freeze(tier, opt, claim, claims_store, claims_device, claims_seed):
    """Reads the four conditions at the base η (Li² net and embed_mlp, each under Adam and under
    full-batch SGD with momentum); decides on the Li² net under ``opt`` (one of R.LAZY), reports
    the other three.
    """
    cond, hists = D.stage_card(claim, D.stages_sweep(tier, claims_store, claims_device, claims_seed))
    claim.scale(decides_on=opt)
    for c, rs in Ms.by_condition(Ms.stage_rows(hists)).items():
        D.mean_stat(claim, f"W1 vs output layer in Stage I{' (decides)' if c == opt else ''}, {c}",
                    [r.get("lazy_wv") for r in rs], claimed="< 0" if c == opt else None)
        D.mean_stat(claim, f"‖W1_mem − W1_0‖/‖W1_0‖ (how far W1 moved in Stage I), {c}",
                    [r.get("I_drift_hid") for r in rs])
        D.mean_stat(claim, f"‖out_mem − out_0‖/‖out_0‖, {c}", [r.get("I_drift_out") for r in rs])
        D.mean_stat(claim, f"old contrast, not deciding: log(rel ΔW1 Stage I / Stage II), {c}",
                    [r.get("lazy_log_ratio") for r in rs])
    claim.figure(D.curves_figure(cond, lambda h: f"drift/{Ms.HIDDEN_IN[h.config.model.family]}",
                                 "‖W1_t − W1_0‖/‖W1_0‖", hline=None),
                 "hidden input weights: distance from init in units of their initial norm")
    claim.figure(D.curves_figure(cond, lambda h: f"drift/{Ms.OUTPUT[h.config.model.family]}",
                                 "‖out_t − out_0‖/‖out_0‖", hline=None),
                 "output layer: distance from init in units of its initial norm")
    claim.decide(partial(R.lazy_freeze_rule, conditions=(opt,)), hists, gates.for_histories())


@share_sweep("li2-stages")
@pytest.mark.parametrize("tier", pinned_refuted("fast"))
def test_li2_independent(tier, claim, claims_store, claims_device, claims_seed):
    """Reads the four conditions at the base η; Stage II's gradient cosine and ‖W1‖ growth per run.
    Does not check: the paper's diagonal-F̃ᵀF̃ independence diagnostic.
    """
    cond, hists = D.stage_card(claim, D.stages_sweep(tier, claims_store, claims_device, claims_seed))
    rows = Ms.stage_rows(hists)
    D.rate_note(claim, rows, R.independent_pass, "cos > 0.6 and ‖W1‖ grows")
    for c, rs in Ms.by_condition(rows).items():
        D.mean_stat(claim, f"median grad cosine in Stage II, {c}", [r.get("II_cos_med") for r in rs], claimed=0.6)
        D.mean_stat(claim, f"‖W1‖ end/start of Stage II, {c}", [r.get("II_norm_ratio") for r in rs], claimed="> 1")
    claim.figure(D.curves_figure(cond, "grad/cos", "mean pairwise gradient cosine (red: 0.6)", 0.6, logy=False),
                 "gradient cosine")
    claim.decide(R.independent_rule, hists, gates.for_histories())


# One record per Adam model (R.PRIMARY; why: interactive_rule's docstring), measured at base seeds
# 0, 12, 13, 14 with 12 seeds per condition (2026-12-04): the embedding MLP's loss gradient in
# Stage III sits 1.6-2.0 % above the weight-decay balance (supported at each); the Li² net's 0.3 %
# below it, but at half the budget 0.8 % below: moving toward the claim, so budget-limited
# (inconclusive at each), not pinned. The same at the unseen base seeds 15, 16, 17 (2 float paths).
INTERACTIVE_PARAMS = condition_params(R.PRIMARY, lambda c: c.split("/")[0])


@share_sweep("li2-stages")
@pytest.mark.parametrize("tier, model", INTERACTIVE_PARAMS)
def test_li2_interactive(tier, model, claim, claims_store, claims_device, claims_seed):
    """Reads the four conditions at the base η; decides on the Adam run of ``model`` (one of
    R.PRIMARY: the Li² net, the embedding MLP), reports the other.
    """
    cond, hists = D.stage_card(claim, D.stages_sweep(tier, claims_store, claims_device, claims_seed))
    claim.scale(decides_on=model)
    rows = Ms.stage_rows(hists)
    D.rate_note(claim, rows, lambda r: (r["III_gnorm_med"] > 0.1) if "III_gnorm_med" in r else None,
                "shown, not deciding: the seed's absolute grad norm > 0.1")
    for c, rs in Ms.by_condition(rows).items():
        D.mean_stat(claim, f"log(‖∇L‖ / η‖θ‖) in Stage III{' (decides)' if c == model else ''}, {c}",
                    [r.get("III_eq_log_ratio") for r in rs], claimed="> 0" if c == model else None)
        D.mean_stat(claim, f"shown: log(max ‖∇L‖ after gen / ‖∇L‖ at gen) ('new peak'), {c}",
                    [r.get("III_peak_log") for r in rs])
    claim.figure(D.curves_figure(cond, lambda h: Ms.total_grad_norm(h.metrics) / (
        h.config.optim.weight_decay * Ms.total_param_norm(h.metrics)), "‖∇L‖ / η‖θ‖ (red: the fixed point, 1)",
        hline=1.0), "loss gradient over its weight-decay fixed-point value")
    claim.decide(partial(R.interactive_rule, conditions=(model,)), hists, gates.for_histories())


@share_sweep("li2-stages")
@pytest.mark.parametrize("tier", TIERS)
def test_li2_gf_dynamics(tier, claim, claims_store, claims_device, claims_seed):
    """Reads the Li² net under Adam over the whole η grid (η = 0 included): ‖G_F‖ per run.
    """
    run = D.stages_sweep(tier, claims_store, claims_device, claims_seed)
    hs = [h for h in run.groups["li2/adam"] if h.status == "ok"]
    claim.scale(**run.grid, cost_flops=D.flops(run.configs))
    claim.configs([h.config.key for h in hs])
    for wd in run.grid["wds"]:
        sh = [s for h in hs if h.config.optim.weight_decay == wd and (s := Ms.gf_shape(h)) is not None]
        D.mean_stat(claim, f"plateau ‖G_F‖ at η={wd}", [s.plateau for s in sh])
        D.mean_stat(claim, f"log(peak/start), log(peak/plateau) min, at η={wd}", [s.shape(1.0) for s in sh],
                    claimed=f"> log {R.GF_FACTOR:g}")
        if wd > 0 and sh:
            claim.note(f"plateau/η at η={wd}: {np.mean([s.plateau for s in sh]) / wd:.3g}")
    _, slope = R.gf_seed_stats([(h.config.seed, h.config.optim.weight_decay, s) for h in hs
                                if (s := Ms.gf_shape(h)) is not None])
    D.mean_stat(claim, "per-seed slope d log plateau / d log η (theory's O(η): 1)", list(slope.values()), claimed=1.0)
    claim.figure(D.curves_figure({f"η={wd}": [h for h in hs if h.config.optim.weight_decay == wd]
                                  for wd in run.grid["wds"]}, "gf/norm", "‖G_F‖ = ‖∂L/∂F‖, Li² net, Adam", hline=None),
                 "‖G_F‖ trajectories per weight decay")
    claim.decide(R.gf_dynamics_rule, hs, gates.for_histories())
