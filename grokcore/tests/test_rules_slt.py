"""Rules of the SLT / curriculum / finetuning claims (grokcore.decide.rules_slt): every verdict is
reachable on synthetic measurements, the gates see what they should (a budget-dependent
n*, one seed), and under a simulated null the false "supported" / "refuted" rates stay
<= alpha (+ Monte Carlo error)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import expit

from grokcore.decide import gates
from grokcore.decide import rules_slt as R
from grokcore.decide import verdicts as V
from grokcore.engine.config import RunConfig
from grokcore.engine.train import History

ALPHA = R.ALPHA
MC = 0.035  # Monte Carlo allowance: ~2.5 se of a rate near 0.05 over 150-400 draws


# ------------------------------------------------------------------ helpers

def _hist(n_train, seed, grok_at, steps=1000, every=20):
    """A run that reaches test acc 1 from step grok_at on (never if grok_at is None)."""
    s = np.arange(0, steps + 1, every)
    acc = np.where(s >= (math.inf if grok_at is None else grok_at), 1.0, 0.01)
    m = {"step": s, "train/acc": np.ones_like(acc), "test/acc": acc, "train/loss": 1 - acc, "test/loss": 1 - acc}
    return History(RunConfig(M=64, ratio=None, n_train=int(n_train), steps=steps, seed=seed, eval_every=every), m, "ok")


def _threshold_hists(nstar_at, grid, seeds=3, steps=1000, slow=0.0):
    """Runs with n >= the seed's own threshold grok at step 100 (+ slow * log(nstar/n) * steps
    for a threshold that falls as the budget grows); the per-seed thresholds spread around nstar_at."""
    out = []
    for s in range(seeds):
        thr = nstar_at * (1.0 + 0.08 * (s - (seeds - 1) / 2))
        for n in grid:
            late = 100 + max(0.0, slow * math.log(nstar_at * 2 / n)) * steps
            out.append(_hist(n, s, late if n >= thr and late < steps - 250 else None, steps))
    return out


# ------------------------------------------------------------------ per-seed data sets

def test_drop_seed_removes_one_row_everywhere_and_keeps_scalars():
    d = dict(seed=np.arange(4), a=np.arange(4.0), b=np.arange(8.0).reshape(4, 2), budget=100, other=np.arange(3))
    out = R.drop_seed(d, 1)
    assert list(out["seed"]) == [0, 2, 3] and list(out["a"]) == [0, 2, 3] and out["b"].shape == (3, 2)
    assert out["budget"] == 100 and out["other"].size == 3
    p = R.seeded_gates()
    assert [lab for lab, _ in p.seed(d)] == [f"without seed #{r}" for r in range(4)]
    assert p.budget is None and "stage schedule" in p.why_not["budget"]
    assert p.seed(R.drop_seed(R.drop_seed(d, 0), 0)) == []  # fewer than 3 seeds: n/a


# ------------------------------------------------------------------ mod64-threshold

GRID = [120, 170, 240, 330, 460, 640, 900, 1250, 1750, 2450]


def test_threshold_rule_reaches_every_verdict():
    dense = np.geomspace(150, 1000, 14).round()
    sup = R.mod64_threshold_rule(_threshold_hists(400, dense, seeds=4))
    assert sup.verdict == V.SUPPORTED, sup.reason
    assert 200 <= sup.effect.lo and sup.effect.hi <= 800 and sup.claimed == 400.0 and None in sup.grid
    ref = R.mod64_threshold_rule(_threshold_hists(1800, GRID))
    assert ref.verdict == V.REFUTED and ref.effect.lo > 800, ref.reason
    inc = R.mod64_threshold_rule(_threshold_hists(800, [300, 1300, 2450], seeds=2))
    assert inc.verdict == V.INCONCLUSIVE, inc.reason


def test_nstar_outside_the_range_is_a_bound():
    e = R.nstar(_threshold_hists(5000, GRID))  # nobody generalizes
    assert e.value == pytest.approx(2450) and e.lo == pytest.approx(2450) and e.hi == math.inf
    assert R.mod64_threshold_rule(_threshold_hists(5000, GRID)).verdict == V.REFUTED
    e = R.nstar(_threshold_hists(50, GRID))  # everybody generalizes
    assert e.value == pytest.approx(120) and e.hi == pytest.approx(120)


def test_threshold_budget_gate_catches_a_threshold_that_falls_with_the_budget():
    """Refuted at T, but at T/2 n* is larger and outside the CI at T: refuted at this budget only."""
    hists = _threshold_hists(1500, GRID, steps=1000, slow=0.5)
    perturb = gates.for_histories(grid_value=lambda h: h.config.n_train)
    base = R.mod64_threshold_rule(hists)
    half = R.mod64_threshold_rule([gates.truncate(h, 500) for h in hists])
    assert base.verdict == V.REFUTED and half.effect.value > base.effect.hi
    d = gates.decide(R.mod64_threshold_rule, hists, perturb)
    assert d.verdict == V.INCONCLUSIVE and "refuted at this budget only" in d.reason
    steady = _threshold_hists(1500, GRID, steps=1000)  # n* does not move: the refutation stands
    assert gates.decide(R.mod64_threshold_rule, steady, perturb).verdict == V.REFUTED


def test_nstar_by_budget_reads_the_same_runs_truncated():
    hists = _threshold_hists(1500, GRID, steps=1000, slow=0.5)
    by = R.nstar_by_budget(hists, [250, 500, 1000])
    assert by[1000].value < by[500].value <= by[250].value


def test_threshold_verdict_null_calibration():
    """True n* on the edge of the claim (800): false supported and false refuted <= alpha."""
    rng = np.random.default_rng(1)
    n = np.repeat([300, 420, 590, 830, 1160, 1630, 2280], 3).astype(float)
    p = expit(5.0 * (np.log(n) - math.log(800)))
    out = [R.threshold_verdict(R.nstar_from(n, (rng.random(n.size) < p).astype(float))).verdict
           for _ in range(150)]
    assert out.count(V.SUPPORTED) / len(out) <= ALPHA + MC
    assert out.count(V.REFUTED) / len(out) <= ALPHA + MC


# ------------------------------------------------------------------ curriculum

def _cur(diff, n=7, prev_move=0.0, loss=None, seed=0):
    rng = np.random.default_rng(seed)
    acc_cur = rng.uniform(0.3, 0.6, n)
    acc_dir = acc_cur + np.asarray(diff, float)
    lc = rng.uniform(1, 2, n)
    return dict(seed=np.arange(n), acc_cur=acc_cur, acc_dir=acc_dir, acc_dir_prev=acc_dir - prev_move,
                acc_cur_prev=acc_cur, loss_cur=lc, loss_dir=lc - (0 if loss is None else np.asarray(loss, float)),
                llc_cur=acc_cur * 0 + 20, llc_dir=20 - np.asarray(diff, float) * 10)


def test_curriculum_rule_reaches_every_verdict_and_checks_convergence():
    up = np.array([0.3, 0.25, 0.4, 0.2, 0.35, 0.3, 0.28])
    assert R.curriculum_vs_direct_rule(_cur(up)).verdict == V.SUPPORTED
    assert R.curriculum_vs_direct_rule(_cur(-up)).verdict == V.REFUTED
    assert R.curriculum_vs_direct_rule(_cur(up * [1, -1, 1, -1, 1, -1, 1])).verdict == V.INCONCLUSIVE
    moving = R.curriculum_vs_direct_rule(_cur(up, prev_move=0.2))  # the direct arm still climbing
    assert moving.verdict == V.INCONCLUSIVE and "not converged: the direct arm" in moving.reason
    climbing = _cur(up)
    climbing["acc_cur_prev"] = climbing["acc_cur"] - 0.05  # the curriculum arm still climbing
    v = R.curriculum_vs_direct_rule(climbing)
    assert v.verdict == V.INCONCLUSIVE and "not converged: the curriculum arm" in v.reason
    one_late = _cur(up)
    one_late["acc_dir_prev"][0] -= 0.5  # one seed still moving, the median is on a plateau
    assert R.curriculum_vs_direct_rule(one_late).verdict == V.SUPPORTED
    tied = _cur(np.zeros(7), loss=up)  # every accuracy tied: the test loss decides
    v = R.curriculum_vs_direct_rule(tied)
    assert v.verdict == V.SUPPORTED and "loss" in v.effect.name


def test_curriculum_llc_rule_reaches_every_verdict():
    up = np.array([0.3, 0.25, 0.4, 0.2, 0.35, 0.3, 0.28])
    assert R.curriculum_llc_rule(_cur(up)).verdict == V.SUPPORTED  # llc_dir = 20 - 10 diff
    assert R.curriculum_llc_rule(_cur(-up)).verdict == V.REFUTED
    assert R.curriculum_llc_rule(_cur(up * [1, -1, 1, -1, 1, -1, 1])).verdict == V.INCONCLUSIVE
    climbing = _cur(up)
    climbing["acc_cur_prev"] = climbing["acc_cur"] - 0.05  # the curriculum arm mid-grokking
    v = R.curriculum_llc_rule(climbing)
    assert v.verdict == V.INCONCLUSIVE and "not converged" in v.reason and v.effect is not None


def test_curriculum_rules_null_calibration_and_seed_gate():
    rng = np.random.default_rng(2)
    out, llc = [], []
    for i in range(400):
        d = _cur(rng.normal(0, 0.1, 7), seed=i)
        out.append(R.curriculum_vs_direct_rule(d).verdict)
        llc.append(R.curriculum_llc_rule(d).verdict)
    for o in (out, llc):
        assert o.count(V.SUPPORTED) / len(o) <= ALPHA + MC
        assert o.count(V.REFUTED) / len(o) <= ALPHA + MC
    # one reversed seed among 7 survives leaving any seed out; among 5 it does not (2/32 > 0.05)
    up = np.array([0.3, 0.25, 0.4, 0.2, 0.35, 0.3, -0.05])
    assert gates.decide(R.curriculum_vs_direct_rule, _cur(up), R.seeded_gates()).verdict == V.SUPPORTED
    assert gates.decide(R.curriculum_vs_direct_rule, _cur(up[2:], n=5), R.seeded_gates()).verdict == V.INCONCLUSIVE


# ------------------------------------------------------------------ LLC trajectories

def test_spike_measure_picks_the_peak_on_chain_0_and_reads_other_chains():
    steps = np.array([0, 100, 200, 300])
    ch = np.zeros((2, 4, 3))
    ch[:, :, 0] = [[1, 5, 2, 1], [1, 2, 6, 1]]
    ch[:, :, 1:] = np.array([[2, 8, 3, 2], [2, 3, 6, 3]])[:, :, None]
    m = R.spike_measure(ch, steps, np.array([250.0, np.nan]))
    assert list(m["peak_step"]) == [100, 200] and m["ratio"] == pytest.approx([4.0, 2.0])
    assert m["before"][0] == 1 and np.isnan(m["before"][1])


def test_spike_and_tracks_rules_reach_every_verdict():
    n = 7
    ratio, before = np.array([2.5, 2.2, 2.8, 2.4, 2.6, 2.3, 2.7]), np.ones(n)
    sup = dict(seed=np.arange(n), ratio=ratio, before=before)
    assert R.llc_spike_collapse_rule(sup).verdict == V.SUPPORTED
    assert R.llc_spike_collapse_rule(dict(sup, ratio=1 / ratio)).verdict == V.REFUTED
    assert R.llc_spike_collapse_rule(dict(sup, before=-before)).verdict == V.REFUTED
    assert R.llc_spike_collapse_rule(dict(sup, before=np.r_[1.0, np.full(n - 1, np.nan)])).verdict == V.INCONCLUSIVE
    assert R.llc_spike_collapse_rule(dict(sup, before=before * [1, -1, 1, -1, 1, -1, 1])).verdict == V.INCONCLUSIVE
    rho = np.array([0.8, 0.7, 0.75, 0.85, 0.9, 0.6, 0.7])
    tr = dict(seed=np.arange(n), rho=rho, rho_diff=rho / 2)
    assert R.llc_tracks_test_rule(tr).verdict == V.SUPPORTED
    assert R.llc_tracks_test_rule(dict(tr, rho=-rho, rho_diff=-rho)).verdict == V.REFUTED
    assert R.llc_tracks_test_rule(dict(tr, rho_diff=rho * [1, -1, 1, -1, 1, -1, 1])).verdict == V.INCONCLUSIVE
    # one part refuted at alpha but not at alpha/2 (Bonferroni over 2 parts): not a refutation
    weak = np.array([-0.3, -0.2, -0.25, -0.1, 0.05, -0.3, 0.05])  # opposite p = 5/128
    d = dict(tr, rho_diff=weak)
    assert V.one_sample(weak, 0.0, "greater", ALPHA).verdict == V.REFUTED
    assert V.one_sample(weak, 0.0, "greater", ALPHA / 2).verdict != V.REFUTED
    assert R.llc_tracks_test_rule(d).verdict == V.INCONCLUSIVE and "Bonferroni" in R.llc_tracks_test_rule(d).reason


def test_spearman_rows_levels_and_differences():
    x = np.array([[1.0, 2, 4, 7, 11], [5.0, 4, 3, 2, 1]])  # row 1: constant differences -> NaN
    y = np.array([[1.0, 3, 2, 5, 4], [1.0, 2, 4, 3, 5]])
    assert R.spearman_rows(x, y) == pytest.approx([sps.spearmanr(x[0], y[0]).statistic, -0.9])
    dif = R.spearman_rows(x, y, diff=True)
    assert dif[0] == pytest.approx(sps.spearmanr(np.diff(x[0]), np.diff(y[0])).statistic) and np.isnan(dif[1])


def test_spike_and_tracks_null_calibration():
    rng = np.random.default_rng(3)
    sp, tr = [], []
    for _ in range(400):
        sp.append(R.llc_spike_collapse_rule(dict(seed=np.arange(7), ratio=np.exp(rng.normal(0, 0.3, 7)),
                                    before=rng.choice([-1.0, 1.0], 7))).verdict)
        tr.append(R.llc_tracks_test_rule(dict(seed=np.arange(7), rho=rng.uniform(-1, 1, 7),
                                     rho_diff=rng.uniform(-1, 1, 7))).verdict)
    for o in (sp, tr):
        assert o.count(V.SUPPORTED) / len(o) <= ALPHA + MC
        assert o.count(V.REFUTED) / len(o) <= ALPHA + MC


# ------------------------------------------------------------------ finetuning

def test_grok_steps_reads_truncated_histories_and_censors():
    hs = [_hist(100, 0, 100, steps=1000), _hist(100, 1, 600, steps=1000), _hist(100, 2, None, steps=1000)]
    assert list(R.grok_steps(hs)) == [100.0, 600.0, math.inf]
    assert list(R.grok_steps(hs, 500)) == [100.0, math.inf, math.inf]  # 600 + 10 evals > 500
    assert list(R.censored(R.grok_steps(hs), 1000)) == [100.0, 600.0, 1001.0]


def test_finetune_data_reads_the_final_stage_and_its_gate_halves_the_budget():
    n = 4
    prev = [_hist(100, s, 100 if s < 2 else None, steps=800) for s in range(n)]
    last = [_hist(100, s, 300 + 100 * s, steps=1000) for s in range(n)] + [_hist(100, s, None, 1000) for s in range(n)]
    d = dict(seeds=list(range(n)), budget=1000, st=SimpleNamespace(histories=[prev, last]))
    data = R.finetune_data(d)
    assert list(data["prev"]) == [True, True, False, False] and list(data["ft"]) == [300, 400, 500, 600]
    assert np.isinf(data["sc"]).all() and data["budget"] == 1000
    [(label, half)] = R.finetune_gates(d).budget(data)
    assert "(500 steps)" in label and half["budget"] == 500 and list(half["prev"]) == list(data["prev"])
    assert half["ft"][0] == 300 and np.isinf(half["ft"][-1])  # the last chain's jump is not sustained by step 500


def _ft(ft, sc, budget=4000, prev=True):
    n = len(ft)
    return dict(seed=np.arange(n), ft=np.asarray(ft, float), sc=np.asarray(sc, float), budget=budget,
                prev=np.broadcast_to(np.asarray(prev, bool), (n,)).copy())


def test_finetune_rule_reaches_every_verdict_and_states_power():
    fast, slow = [500, 600, 700, 800, 900], [2000, 2100, 2500, np.inf, np.inf]
    sup = R.finetune_accelerates_rule(_ft(fast, slow))
    assert sup.verdict == V.SUPPORTED and "power" in sup.power and "seeds per arm" in sup.power
    assert R.finetune_accelerates_rule(_ft(slow, fast)).verdict == V.REFUTED
    mixed = _ft([500, 2500, 700, np.inf, 900], [2000, 600, 2100, 800, np.inf])
    assert R.finetune_accelerates_rule(mixed).verdict == V.INCONCLUSIVE
    assert R.finetune_accelerates_rule(_ft([np.inf] * 5, [np.inf] * 5)).verdict == V.INCONCLUSIVE  # every run censored
    # with 4 per arm the seed gate leaves 3 vs 3: the smallest exact one-sided p is 1/20, never < 0.05
    d = gates.decide(R.finetune_accelerates_rule, _ft(fast[:4], slow[:4]), R.seeded_gates())
    assert d.base.verdict == V.SUPPORTED and d.verdict == V.INCONCLUSIVE


def test_finetune_refutation_needs_the_sources_condition():
    """'When a previous model grokked': without >= 2 such chains slower finetuning is not a
    refutation, faster finetuning still supports; with them, the conditioned chains decide."""
    fast, slow = [500, 600, 700, 800, 900], [2000, 2100, 2500, np.inf, np.inf]
    v = R.finetune_accelerates_rule(_ft(slow, fast, prev=False))
    assert v.verdict == V.INCONCLUSIVE and "not a refutation" in v.reason
    assert R.finetune_accelerates_rule(_ft(fast, slow, prev=False)).verdict == V.SUPPORTED
    mixed = [400, 450, 3000, 3100, 3200]  # the two chains whose previous stage grokked are the fast ones
    prev = [True, True, False, False, False]
    assert R.finetune_accelerates_rule(_ft(mixed, [1500, 1600, 1700, 1800, 1900], prev=prev)).verdict == V.SUPPORTED
    assert R.finetune_accelerates_rule(_ft(mixed, [1500, 1600, 1700, 1800, 1900], prev=False)).verdict == V.INCONCLUSIVE


def test_finetune_null_calibration():
    rng = np.random.default_rng(4)
    out = []
    for i in range(200):  # each a lifelines Cox + Nelson-Aalen fit: 200 draws, MC se 0.015 at 0.05
        a, b = (np.exp(rng.normal(math.log(2500), 0.5, 5)) for _ in range(2))
        a, b = np.where(a > 4000, np.inf, a), np.where(b > 4000, np.inf, b)
        out.append(R.finetune_accelerates_rule(_ft(a, b, prev=rng.random(5) < 0.7), with_power=False).verdict)
    assert out.count(V.SUPPORTED) / len(out) <= ALPHA + MC
    assert out.count(V.REFUTED) / len(out) <= ALPHA + MC


def test_finetune_power_grows_with_seeds():
    from grokcore.decide import survival
    assert survival.logrank_power(4, 2.0, 2000, 0.35, 4000) == 0.0  # 3 vs 3 after leaving one out: p >= 1/20
    p5, p8 = survival.logrank_power(5, 2.0, 2000, 0.35, 4000), survival.logrank_power(8, 2.0, 2000, 0.35, 4000)
    assert 0 < p5 < p8 and survival.logrank_power(8, 1.0, 2000, 0.35, 4000) <= ALPHA + MC
