"""Robustness gates (grokcore.decide.gates): combination rule, budget trend, and the perturbations
of histories (truncation at T/2, leave-one-seed-out, nearest grid point)."""
import math

import numpy as np
import pytest

from grokcore.decide import gates as G
from grokcore.decide import verdicts as V
from grokcore.engine.config import RunConfig
from grokcore.decide.stats import Estimate
from grokcore.base.history import History


def verdict(kind, value=1.0, lo=0.5, hi=1.5, claimed=None, grid=None):
    return V.Verdict(kind, Estimate("e", value, lo, hi, 0.05), 0.05, f"{kind} because", claimed, grid or {})


def test_combine_moves_to_inconclusive_and_names_the_gate():
    base = verdict(V.SUPPORTED)
    ok = G.combine(base, [G.Gate("seed", "without seed 1", V.SUPPORTED), G.Gate("budget", "n/a", None)])
    assert ok.verdict == V.SUPPORTED and ok.moved_by == []
    moved = G.combine(base, [G.Gate("seed", "without seed 1", V.INCONCLUSIVE), G.Gate("grid", "without n=40", V.SUPPORTED)])
    assert moved.verdict == V.INCONCLUSIVE and "seed-fragile: without seed 1" in moved.reason
    assert moved.moved_by == ["seed-fragile"]
    inc = G.combine(verdict(V.INCONCLUSIVE), [G.Gate("seed", "x", V.SUPPORTED)])
    assert inc.verdict == V.INCONCLUSIVE


def test_refuted_at_this_budget_only():
    """n* claimed 400; at T it is 1900 [1500, 2400], at T/2 3000: still falling toward the claim."""
    rule = {"full": verdict(V.REFUTED, 1900, 1500, 2400, claimed=400),
            "half": verdict(V.REFUTED, 3000, 2500, 3600, claimed=400)}
    perturb = G.Perturbations(budget=lambda d: [("half budget", "half")])
    d = G.decide(lambda k: rule[k], "full", perturb)
    assert d.verdict == V.INCONCLUSIVE and "refuted at this budget only" in d.reason
    rule["half"] = verdict(V.REFUTED, 1800, 1400, 2300, claimed=400)  # converged: refutation stands
    assert G.decide(lambda k: rule[k], "full", perturb).verdict == V.REFUTED


@pytest.mark.parametrize("claimed, full, half, want", [
    ("> 0", (-0.5, -0.8, -0.2), (-1.2, -1.5, -0.9), V.INCONCLUSIVE),  # moving up toward "> 0"
    ("> 0", (-0.5, -0.8, -0.2), (-0.4, -0.7, -0.1), V.REFUTED),  # converged
    ("log HR < 0 (time to grok rises)", (0.6, 0.2, 1.0), (1.5, 1.1, 1.9), V.INCONCLUSIVE),  # falling toward < 0
    ("in [300, 500]", (1900, 1500, 2400), (3000, 2500, 3600), V.INCONCLUSIVE),  # toward the interval
    ("in [300, 500]", (1900, 1500, 2400), (1000, 800, 1200), V.REFUTED),  # T/2 nearer than T: moving away
])
def test_budget_drift_reads_string_claims(claimed, full, half, want):
    """A refutation whose claim is a string ("> 0", "in [lo, hi]") is budget-checked too (it was
    skipped silently when only numeric claims were read)."""
    rule = {"full": verdict(V.REFUTED, *full, claimed=claimed), "half": verdict(V.REFUTED, *half, claimed=claimed)}
    d = G.decide(lambda k: rule[k], "full", G.Perturbations(budget=lambda d: [("half budget", "half")]))
    assert d.verdict == want


def test_unmeasurable_drift_is_said_not_passed_silently():
    rule = {"full": verdict(V.REFUTED, claimed="a rise then a fall"),
            "half": verdict(V.REFUTED, claimed="a rise then a fall")}
    d = G.decide(lambda k: rule[k], "full", G.Perturbations(budget=lambda d: [("half budget", "half")]))
    assert d.verdict == V.REFUTED
    assert "drift toward the claim not checked" in d.gates[0].detail
    assert "budget drift toward the claim not checked" in d.reason


def test_claim_distance():
    assert G.claim_distance(400)(1900) == 1500
    assert G.claim_distance("> 0")(-2.0) == 2.0 and G.claim_distance("k >= 1.5")(1.0) == 0.5
    assert G.claim_distance("in [1, 2]")(1.5) == 0 and G.claim_distance("in [1, 2]")(3.5) == 1.5
    assert G.claim_distance("rises then falls") is None and G.claim_distance(None) is None


def test_budget_as_scope_is_reported_not_a_veto():
    """A claim judged at its source's budget: the budget perturbations are the claim's scope."""
    rule = {"T": verdict(V.REFUTED, 1900, 1500, 2400, claimed=400), "2T": verdict(V.INCONCLUSIVE, 700, 300, 1100,
                                                                                  claimed=400)}
    perturb = G.Perturbations(budget=lambda d: [("2T", "2T")], budget_is_scope=True)
    d = G.decide(lambda k: rule[k], "T", perturb)
    assert d.verdict == V.REFUTED and d.moved_by == []
    assert [(g.name, g.verdict) for g in d.gates if g.name == "scope"] == [("scope", V.INCONCLUSIVE)]
    assert G.decide(lambda k: rule[k], "T", G.Perturbations(budget=lambda d: [("2T", "2T")])).verdict == V.INCONCLUSIVE


def test_decide_records_not_applicable_gates():
    d = G.decide(lambda _: verdict(V.SUPPORTED), None, G.for_seeded_dict(lambda d, r: d, lambda d: 2))
    assert d.verdict == V.SUPPORTED
    assert [(g.name, g.verdict) for g in d.gates] == [("budget", None), ("seed", None), ("grid", None)]


def test_the_power_statement_is_computed_for_the_base_verdict_only():
    """A rule that takes with_power gets it False on every perturbed data set (the card shows the
    base verdict's power only); the base verdict keeps its power; a rule without it is unchanged."""
    calls = []

    def rule(d, with_power=True):
        calls.append((d, with_power))
        return V.Verdict(V.SUPPORTED, None, 0.05, "ok", power="power text" if with_power else "")

    perturb = G.for_seeded_dict(lambda d, r: d[:r] + d[r + 1:], len)
    d = G.decide(rule, [1, 2, 3], perturb)
    assert calls[0] == ([1, 2, 3], True) and d.base.power == "power text"
    assert [w for _, w in calls[1:]] == [False] * 3 and [g.verdict for g in d.gates if g.name == "seed"] == [
        V.SUPPORTED] * 3
    plain = G.decide(lambda d: verdict(V.SUPPORTED), [1, 2], perturb)  # no with_power: applied as given
    assert plain.verdict == V.SUPPORTED


def _hist(seed, n_train=100, grok_at=60, steps=200):
    s = np.arange(0, steps + 1, 5)
    acc = np.where(s >= grok_at, 1.0, 0.1)
    m = {"step": s, "train/acc": np.ones_like(acc), "test/acc": acc, "train/loss": 1 - acc, "test/loss": 1 - acc,
         "param/W": np.zeros(3), "order/step": np.array([0, 50, 100]), "order/x": np.array([1.0, 2.0, 3.0])}
    return History(RunConfig(steps=steps, seed=seed, n_train=n_train, ratio=None), m, "ok")


def test_truncate_recomputes_summary_and_drops_final_params():
    h = _hist(0, grok_at=40, steps=100)
    t = G.truncate(h, 50)
    assert t.config.steps == 50 and t.metrics["step"][-1] == 50 and "param/W" not in t.metrics
    assert list(t.metrics["order/step"]) == [0, 50] and list(t.metrics["order/x"]) == [1.0, 2.0]
    assert t.summary["generalized_step"] is None  # 40..50 holds only 3 evals of the 10 the rule needs
    assert h.summary["generalized_step"] == 40.0


def test_leave_seed_out_and_drop_nearest():
    hs = [_hist(s, n) for s in range(3) for n in (40, 80, 160)]
    assert G.leave_seed_out(hs[:6]) == [] or len({h.config.seed for h in hs[:6]}) >= 3
    loo = G.leave_seed_out(hs)
    assert [lab for lab, _ in loo] == ["without seed 0", "without seed 1", "without seed 2"]
    assert all(len(d) == 6 and all(h.config.seed != i for h in d) for i, (_, d) in enumerate(loo))
    v = verdict(V.SUPPORTED, grid={None: math.log(90)})
    (label, kept), = G.drop_nearest(hs, v, lambda h: h.config.n_train)
    assert label == "without 80" and {h.config.n_train for h in kept} == {40, 160}
    assert G.drop_nearest(hs, verdict(V.SUPPORTED), lambda h: h.config.n_train) == []


def test_for_histories_runs_all_three_gates():
    hs = [_hist(s, n, grok_at=60 if n >= 80 else 1000, steps=200) for s in range(3) for n in (40, 80, 160)]

    def rule(hists):
        y = np.array([h.summary["generalized_step"] is not None for h in hists])
        k = int(y.sum())
        return V.Verdict(V.rate(k, len(y), 0.3).verdict, None, 0.05, f"{k}/{len(y)}", grid={None: math.log(60)})
    d = G.decide(rule, hs, G.for_histories(grid_value=lambda h: h.config.n_train))
    names = [g.name for g in d.gates]
    assert names.count("seed") == 3 and names.count("budget") == 1 and names.count("grid") == 1
    # at half budget (100 steps) nothing has generalized: the budget gate moves the verdict
    assert d.base.verdict == V.SUPPORTED and d.verdict == V.INCONCLUSIVE and "budget-limited" in d.reason


def test_width_gate_applies_only_where_given_and_moves_a_width_limited_verdict():
    """A boundary law decided on n* at the largest M: the width gate swaps that M's runs at K for its
    runs at 2K (rules_li2.boundary_gates(wide=...)); a law whose verdict rests on the K runs moves to
    inconclusive ("width-limited"), one that holds at 2K keeps its verdict; without a width check
    there is no width gate at all (no "not applicable" row added to every other claim)."""
    from dataclasses import replace

    from grokcore.decide import rules_li2 as R
    from grokcore.engine.config import ModelSpec

    def runs(M, width, n_star):
        cfg = RunConfig(M=M, ratio=None, n_train=50, steps=200, model=ModelSpec(family="li2", width=width))
        return [History(cfg.replace(seed=s, n_train=n), _hist(s, n).metrics if n >= n_star else
                        _hist(s, n, grok_at=10_000).metrics, "ok") for s in range(3) for n in (50, 100, 200, 400)]

    base = runs(17, 8, 100) + runs(83, 8, 400)
    wide = runs(83, 16, 100)

    def rule(hists):  # "n* does not grow with M": refuted when the largest M needs more pairs
        big = [h for h in hists if h.config.M == 83]
        ok = sum(h.summary["generalized_step"] is not None for h in big)
        return verdict(V.REFUTED if ok <= 3 else V.SUPPORTED)

    p = R.boundary_gates(wide=wide)
    d = G.decide(rule, base, replace(p, budget=None, seed=None, grid=None))
    assert [g.name for g in d.gates if g.verdict is not None] == ["width"]
    assert d.base.verdict == V.REFUTED and d.verdict == V.INCONCLUSIVE and "width-limited" in d.reason
    assert "M = 83 at K = 16" in d.gates[-1].label
    same = G.decide(rule, base, replace(R.boundary_gates(wide=runs(83, 16, 400)), budget=None, seed=None, grid=None))
    assert same.verdict == V.REFUTED
    assert "width" not in [g.name for g in G.decide(rule, base, R.boundary_gates()).gates]
