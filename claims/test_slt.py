"""SLT, curriculum and finetuning claims (seed 004). Reference rows: fixtures/slt.toml.

Three run sets of claims/designs/slt.py (model, optimizer, scale per tier and why): the mod-64
threshold search, the curriculum set (curriculum and direct arms with the LLC of every checkpoint,
shared by four claims) and the finetuning set. Each claim ends in ``claim.decide(R.<claim>_rule,
data, gates)`` with a rule of grokcore.decide.rules_slt (its docstring, on the card, states the
rule). Budget gates: curriculum-vs-direct and curriculum-llc have none (a curriculum read at T/2 is
another stage schedule, not the same design at half the budget; their rules check convergence
instead); llc-spike-collapse and llc-tracks-test read the direct arm, one uninterrupted run, at its
checkpoints up to T/2; the finetuning set's final stage is read at half its budget.
"""
from __future__ import annotations

import pytest

from claims.designs import slt as D
from grokcore.decide import rules_slt as R
from grokcore.suite.tiers import PINNED, TIERS, share_sweep

LONG = pytest.param("long", marks=pytest.mark.long, id="long")
# mod64-threshold at the source's own budget (long tier, 2026-12-02, --claims-seed 0): refuted at T = 50k
# batches, n* = 1593 [1441, 1839], and at 2T, 1482 [1313, 1752]; every seed and grid gate refutes. Since the
# search places n for T and 2T (ebda403): the same at seed 0, and refuted with every gate at base seeds 3, 4
# (design) and 6, 7, 8 on an AVX2-only CPU (one float path; README, "Long tier"). A strict
# xfail there whose report reason is the measured message (tiers.pinned_refuted's convention; it knows
# only the fast and gpu tiers, so the long param is written out here).
LONG_PINNED = pytest.param("long", marks=[pytest.mark.long, pytest.mark.xfail(strict=True, reason=PINNED)], id="long")
# curriculum-llc and curriculum-vs-direct at the source's budget (long tier, since 6ffc2b8 judged at the
# source's stated size, verdicts.paired_source_gap), --claims-seed 0 on a 2-core Intel Xeon (AVX-512),
# 2026-12-03: both refuted with every seed gate. curriculum-llc: curriculum - direct final LLC excludes the
# source's 13.4 % of the direct arm's (~2.3) at seeds 0, 6, 7 and 8 (native and AVX2; at seed 7 native it is
# significantly lower; README, "Long tier"). curriculum-vs-direct: direct - curriculum test acc excludes
# the source's 1.1 points at seeds 0, 6 and 8 on the native path (7 and 8 on AVX2), but not at seed 7 native nor at
# seed 6 on the AVX2 path (one curriculum seed ends 3-6 points lower there): a verdict that moves with the
# seed and the float path, so not decided; pinned at seed 0 as measured on this path (an AVX2-only CPU may
# measure inconclusive there: the strict pin then reports it as stale).

def record(claim, items: list[dict]) -> None:
    """The card's statistics (claim.stat) and notes ({"note": text}) in order."""
    for it in items:
        claim.note(it["note"]) if "note" in it else claim.stat(**it)


@share_sweep("slt-threshold")
@pytest.mark.parametrize("tier", TIERS + [LONG_PINNED])
def test_mod64_threshold(tier, claim, claims_store, claims_device, claims_seed):
    """From scratch on the full mod-64 table, n placed by the adaptive search for n*
    (D.threshold_budgets); judged per D.threshold_decision: at the source's 50k batches (long,
    gpu) or at a CPU budget (fast). Recorded beside the verdict: n* at other budgets of the same
    runs and n*/(M ln M) vs Li²'s c. The source's stage-3 observation is mod64-stage3."""
    searches = D.threshold_search(tier, claims_store, claims_device, claims_seed)
    hists = R.search_hists(searches)
    rule, data, gates = D.threshold_decision(tier, hists)
    m = D.threshold_measures(tier, hists)
    c_li2, c_from = D.li2_c()
    claim.scale(**D.threshold_scale(tier, hists))
    record(claim, R.threshold_stats(searches, m, c_li2, c_from, source_budget=rule is R.mod64_threshold_source_rule))
    claim.figure(*D.threshold_figure(tier, m, c_li2))
    claim.configs(h.config.key for h in hists)
    claim.decide(rule, data, gates, to_decide=D.threshold_to_decide(tier))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", [LONG, pytest.param("gpu", marks=pytest.mark.gpu, id="gpu")])
def test_mod64_stage3(tier, claim, claims_store, claims_device, claims_seed):
    """The source's own observation, rerun as it was made: the curriculum set's curriculum arm
    (stages of 50k batches of 128 from the previous stage's weights) read at the end of stage 3
    on stage 3's own held-out pairs (D.stage_accuracy). Only at the source's batch and budget
    (long, gpu): the fast tier's full-batch stages are not the setting the number was made in."""
    d = D.curriculum_set(tier, claims_seed, claims_device, claims_store)
    data = D.stage_accuracy(d)
    claim.scale(**D.scale(tier, read="end of stage 3 (inputs in [0, 31]) on its own held-out pairs"))
    record(claim, R.stage3_stats(data))
    claim.figure(*D.stage_figure(data))
    claim.configs(d["configs"])
    claim.decide(R.mod64_stage3_rule, data, D.stage3_gates(d), to_decide=D.set_to_decide(tier, "stage3"))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS + [LONG_PINNED])
def test_curriculum_vs_direct(tier, claim, claims_store, claims_device, claims_seed):
    """The curriculum set: equal optimizer-step budgets, paired by seed (same init and split)."""
    d = D.curriculum_set(tier, claims_seed, claims_device, claims_store)
    claim.scale(**D.scale(tier))
    record(claim, R.curriculum_stats(d))
    claim.figure(*D.curriculum_figure(d))
    claim.configs(d["configs"])
    claim.decide(R.curriculum_vs_direct_rule, R.curriculum_data(d), R.curriculum_gates(),
                 to_decide=D.set_to_decide(tier, "curriculum"))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS + [LONG_PINNED])
def test_curriculum_llc(tier, claim, claims_store, claims_device, claims_seed):
    """The curriculum set's final-checkpoint LLC (training split, same SGLD settings and seed for both arms)."""
    d = D.curriculum_set(tier, claims_seed, claims_device, claims_store)
    data = R.curriculum_data(d)
    claim.scale(**D.scale(tier))
    record(claim, R.curriculum_llc_stats(d))
    claim.figure(*D.curriculum_llc_figure(data))
    claim.configs(d["configs"])
    claim.decide(R.curriculum_llc_rule, data, R.curriculum_gates(), to_decide=D.set_to_decide(tier, "curriculum"))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS + [LONG])
def test_llc_spike_collapse(tier, claim, claims_store, claims_device, claims_seed):
    """The curriculum set's direct arm: LLC at every checkpoint and the test-accuracy jump per seed."""
    d = D.curriculum_set(tier, claims_seed, claims_device, claims_store)
    data = R.spike_data(d)
    claim.scale(**D.scale(tier))
    record(claim, R.spike_stats(data))
    claim.figure(*D.spike_figure(d, data))
    claim.configs(d["configs"])
    claim.decide(R.llc_spike_collapse_rule, data, R.direct_gates(d, R.spike_data),
                 to_decide=D.set_to_decide(tier, "direct"))


@share_sweep("slt-curriculum")
@pytest.mark.parametrize("tier", TIERS + [LONG])
def test_llc_tracks_test(tier, claim, claims_store, claims_device, claims_seed):
    """The curriculum set's direct arm: LLC and test loss at every checkpoint (the curriculum arm's
    rho is recorded, not decided)."""
    d = D.curriculum_set(tier, claims_seed, claims_device, claims_store)
    data = R.tracks_data(d)
    claim.scale(**D.scale(tier))
    record(claim, R.tracks_stats(d, data))
    claim.figure(*D.tracks_figure(d))
    claim.configs(d["configs"])
    claim.decide(R.llc_tracks_test_rule, data, R.direct_gates(d, R.tracks_data),
                 to_decide=D.set_to_decide(tier, "direct"))


@share_sweep("slt-finetune")
@pytest.mark.parametrize("tier", TIERS + [LONG])
def test_finetune_accelerates(tier, claim, claims_store, claims_device, claims_seed):
    """The finetuning set: chains through mod 7 -> 11 -> 23 -> 49 -> 53 vs from scratch on mod 53,
    same seeds, splits and final-stage budget (GRIDS[tier]["finetune"])."""
    d = D.finetune_set(tier, claims_seed, claims_device, claims_store)
    data = R.finetune_data(d)
    claim.scale(**D.finetune_scale(tier))
    record(claim, R.finetune_stats(d, data))
    claim.figure(*D.finetune_figure(data))
    claim.configs(d["configs"])
    claim.decide(R.finetune_accelerates_rule, data, R.finetune_gates(d), to_decide=D.set_to_decide(tier, "finetune"))
