"""Seed-001 decision rules (grokcore.decide.rules_empirical): every verdict each rule can give is
reachable on synthetic measurements, and under a simulated null the false "supported" and
false "refuted" rates stay <= alpha (+ Monte Carlo error)."""
import dataclasses
import math

import numpy as np
import pytest

from grokcore.decide import rules_empirical as R
from grokcore.decide import verdicts as V
from grokcore.engine.config import ModelSpec, OptimSpec, RunConfig
from grokcore.engine.train import History

ALPHA = 0.05
LAMBDAS, ALPHAS = [1e-3, 1e-2, 1e-1, 1.0], [0.0, 0.1, 0.25, 0.5]  # the seed-001 sweep's levels
MC = 0.035  # Monte Carlo allowance: ~2 se at p = 0.05 over 150-300 draws (trend draws cost 2 x 5000 permutations)


def _rates(draw, rule, n=300, seed=0):
    rng = np.random.default_rng(seed)
    out = [rule(*draw(rng)).verdict for _ in range(n)]
    return out.count(V.SUPPORTED) / n, out.count(V.REFUTED) / n


# ------------------------------------------------------------------ grok-delayed

def test_delay_reaches_every_verdict():
    tm = np.full(8, 40.0)
    tg = np.array([580, 660, 760, 1120, 900, 1140, 720, 800.0])
    assert R.delay_verdict(tm, tg, 2500).verdict == V.SUPPORTED
    # generalizes right after memorizing: ratio ~1.2 < 2 in every seed, none censored
    assert R.delay_verdict(tm, tm * np.linspace(1.1, 1.3, 8), 2500).verdict == V.REFUTED
    # mixed: ratio straddles 2
    assert R.delay_verdict(tm, tm * np.array([1.2, 3, 1.5, 2.5, 1.8, 2.2, 1.9, 2.1]), 2500).verdict == V.INCONCLUSIVE
    # nothing groks within the budget: censored, not a refutation of the delay
    v = R.delay_verdict(tm, np.full(8, np.nan), 2500)
    assert v.verdict == V.INCONCLUSIVE and "censored" in v.reason
    # a censored seed (lower bound) cannot count toward "ratio < 2"
    tg2 = tm * np.linspace(1.1, 1.3, 8)
    tg2[0] = np.nan
    assert R.delay_verdict(tm, tg2, 60).verdict != V.REFUTED
    # seeds that never memorize are dropped; fewer than 2 left: inconclusive
    assert R.delay_verdict([np.nan, 40], [np.nan, 600], 2500).verdict == V.INCONCLUSIVE
    # too few seeds for an exact test at alpha: inconclusive, and the power says so
    v = R.delay_verdict(tm[:4], tg[:4], 2500)
    assert v.verdict == V.INCONCLUSIVE and "seeds" in v.power


def test_delay_null_calibration():
    tm = np.full(10, 50.0)

    def draw(r):  # log ratio symmetric about log 2: the null boundary of "ratio > 2"
        return tm, tm * 2 * np.exp(r.normal(0, 0.3, 10)), 1e6
    sup, ref = _rates(draw, R.delay_verdict)
    assert sup <= ALPHA + MC and ref <= ALPHA + MC, (sup, ref)


# ------------------------------------------------------------------ censored trends

def test_censored_trend_reaches_every_verdict():
    x = np.repeat([0.0, 1, 2, 3], 4)
    t = np.tile([100.0, 120, 140, 160], 4) + 200 * x
    t_cens = np.where(x == 3, np.nan, t)  # the slowest level never groks: censored at 2500
    assert R.censored_trend(x, t_cens, 2500, "greater").verdict == V.SUPPORTED
    assert R.censored_trend(-x, t_cens, 2500, "greater").verdict == V.REFUTED
    assert R.censored_trend(x, t_cens, 2500, "less").verdict == V.REFUTED
    assert R.censored_trend(x, np.tile([100.0, 160, 120, 140], 4), 2500, "greater").verdict == V.INCONCLUSIVE
    v = R.censored_trend(x, np.full(16, np.nan), 2500, "greater")
    assert v.verdict == V.INCONCLUSIVE and "censored" in v.reason


def test_censored_trend_excludes_diverged_runs_and_reports_them():
    x = np.repeat([0.0, 1, 2, 3], 4)
    t = np.where(x == 3, np.nan, np.tile([100.0, 120, 140, 160], 4) + 200 * x)
    ok = np.ones(16, bool)
    ok[[0, 15]] = False  # diverged: neither grokked nor censored
    v = R.censored_trend(x, t, 2500, "greater", ok=ok)
    assert v.verdict == V.SUPPORTED and "2 diverged runs excluded" in v.reason and "KM median" in v.reason
    assert v.effect.value < 0  # a rising t_grok is a falling hazard of grokking


def test_censored_trend_null_calibration():
    x = np.repeat([0.0, 1, 2, 3], 3)

    def draw(r):  # i.i.d. times, ~45% censored at the budget
        t = r.exponential(1.0, x.size)
        return x, np.where(t > 0.8, np.nan, t), 0.8
    sup, ref = _rates(draw, lambda a, b, c: R.censored_trend(a, b, c, "greater"), n=150)
    assert sup <= ALPHA + MC and ref <= ALPHA + MC, (sup, ref)


def test_success_trend_null_calibration():
    x = np.repeat([0.0, 0.1, 0.25, 0.5], 3)
    sup, ref = _rates(lambda r: (x, np.where(r.random(x.size) < 0.5, 1.0, np.nan)),
                      lambda a, b: R.success_trend(a, b, "less", ALPHA / 2), n=150)
    assert sup <= ALPHA / 2 + MC and ref <= ALPHA / 2 + MC, (sup, ref)


# ------------------------------------------------------------------ order-params

def test_change_reaches_both_directions_and_is_never_refuted():
    up = np.array([1.0, 1.2, 0.8, 1.1, 0.9, 1.3, 1.05, 0.95, 1.0, 1.1])
    v = R.change_verdict(up, np.zeros(10), 0.01)
    assert v.verdict == V.SUPPORTED and v.reason.startswith("increases")
    v = R.change_verdict(-up, np.zeros(10), 0.01)
    assert v.verdict == V.SUPPORTED and v.reason.startswith("decreases")
    assert R.change_verdict(up * np.array([1, -1] * 5), np.zeros(10), 0.01).verdict == V.INCONCLUSIVE
    assert R.change_verdict(np.zeros(10), np.zeros(10), 0.01).verdict == V.INCONCLUSIVE
    # 7 pairs: 2^(1-7) = 0.016 > 0.01, no exact two-sided test can decide
    v = R.change_verdict(up[:7], np.zeros(7), 0.01)
    assert v.verdict == V.INCONCLUSIVE and "needs >= 8 pairs" in v.power


def test_change_null_calibration():
    sup, ref = _rates(lambda r: (r.normal(size=10), r.normal(size=10)), lambda a, b: R.change_verdict(a, b, ALPHA))
    assert sup <= ALPHA + MC and ref == 0.0, (sup, ref)


# ------------------------------------------------------------------ history rules on synthetic runs

def _hist(alpha=0.0, lam=1.0, seed=0, t_grok=600, steps=2500, order=None):
    """A fake seed-001 history: train acc saturates at step 40, test acc jumps at t_grok (None: never)."""
    cfg = RunConfig(M=31, ratio=0.7, model=ModelSpec(family="mu_mlp", width=8, alpha=alpha),
                    optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=lam), steps=steps, eval_every=20,
                    seed=seed, split_seed=seed)
    st = np.arange(0, steps + 1, 20)
    test = np.where(st >= (t_grok if t_grok is not None else math.inf), 0.99, 0.3)
    m = {"step": st, "train/acc": np.where(st >= 40, 1.0, 0.5), "test/acc": test,
         "train/loss": np.zeros(st.size), "test/loss": np.zeros(st.size)}
    if order is not None:
        ost = np.arange(0, steps + 1, 100)
        m["order/step"] = ost
        for k in R.ORDER_NAMES:
            m[k] = order(ost, t_grok) if k != "order/rqi" else np.zeros(ost.size)
    return History(cfg, m, "ok")


def test_history_rules_read_detection_and_censoring():
    col = [_hist(alpha=a, seed=s, t_grok=None if a == 0.5 else 500 + 37 * s) for a in ALPHAS for s in range(4)]
    v = R.grok_lazy_rich_rule(col)
    assert v.verdict == V.SUPPORTED, v.reason
    row = [_hist(lam=lam, seed=s, t_grok=500 + 37 * s if lam == 1.0 else None) for lam in LAMBDAS for s in range(4)]
    assert R.grok_wd_speeds_rule(row).verdict == V.SUPPORTED
    # a stricter detection rule that no run meets: every run censored -> inconclusive, not refuted
    assert R.grok_wd_speeds_rule(row, grok_rule=(1.01, 1)).verdict == V.INCONCLUSIVE
    cell = [_hist(seed=s, t_grok=500 + 37 * s) for s in range(8)]
    assert R.grok_delayed_rule(cell).verdict == V.SUPPORTED
    with pytest.raises(ValueError):
        R.budget_of([_hist(steps=2500), _hist(steps=1000)])


def test_order_change_on_histories():
    def rising(ost, tg):  # jumps by 1 (+ seed-free noise) when the test accuracy jumps
        return np.where(ost >= tg, 2.0, 1.0) + 0.01 * np.sin(ost)
    cell = [_hist(seed=s, t_grok=500 + 40 * s, order=rising) for s in range(10)]
    v = R.order_change(cell, "order/pr", alpha=0.01)
    assert v.verdict == V.SUPPORTED and v.reason.startswith("increases"), v.reason
    v = R.order_change(cell, "order/rqi", alpha=0.01)
    assert v.verdict == V.INCONCLUSIVE and "degenerate" in v.reason
    # no transition inside the budget: every seed left out
    never = [dataclasses.replace(_hist(seed=s, t_grok=None, order=lambda o, t: np.ones(o.size) * (1 + 0.1 * s)))
             for s in range(10)]
    assert R.order_change(never, "order/pr", alpha=0.01).verdict == V.INCONCLUSIVE
    # the claim's rule: the same test at alpha / 5 (Bonferroni over the five parameters)
    assert R.order_params_rule(cell, "order/pr") == R.order_change(cell, "order/pr", alpha=ALPHA / 5)


def test_card_statistics_name_what_the_cards_show():
    cell = [_hist(seed=s, t_grok=500 + 37 * s if s < 6 else None) for s in range(8)]
    st = {d["name"]: d for d in R.delay_stats(cell)}
    assert st["grokked seeds"]["est"] == "6/8" and st["median t_mem"]["est"] == 40.0
    row = [_hist(lam=lam, seed=s, t_grok=500 + 37 * s if lam == 1.0 else None) for lam in LAMBDAS for s in range(4)]
    items = R.wd_speeds_stats(row, LAMBDAS)
    assert items[0] == {"note": "slope not estimable: grokked lambda levels [1.0]"}  # one grokking level
    assert [d["name"] for d in items[-4:]] == [f"lambda={lv:g}: grokked" for lv in LAMBDAS]
    col = [_hist(alpha=a, seed=s, t_grok=None if a == 0.5 else 600) for a in ALPHAS for s in range(4)]
    diff = next(d for d in R.lazy_rich_stats(col, ALPHAS) if d["name"].startswith("success(alpha=0)"))
    assert diff["est"].value == 1.0
