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

N_SIM = 2000  # draws for the claim-specific calibrations: a false rate of 1.4 alpha fails with prob > 0.95
TOL = 0.012  # = 2.4 se of a rate of 0.05 over 2000 draws


def test_delay_shape_reads_plateau_and_rise_with_censoring():
    tm = np.full(6, 40.0)
    tlo = np.array([400, 60, 400, np.nan, 100, 400.0])
    tg = np.array([600, 900, np.nan, np.nan, np.nan, 2400.0])
    plateau, sudden = R.delay_shape(tm, tlo, tg, budget=2500)
    assert plateau.tolist() == [1, 0, 1, 1, 1, 1]  # seed 3 still near chance at the budget: a plateau
    # 0: rise 200 < plateau 360; 1: no plateau; 2: censored rise already >= 2100 > 360; 3: no rise seen;
    # 4: rise > 2400 > plateau 60; 5: rise 2000 > 360
    assert sudden[[0, 1, 2, 4, 5]].tolist() == [1, 0, 0, 0, 0] and np.isnan(sudden[3])
    # a censored rise that the budget cannot yet call long: undetermined
    assert np.isnan(R.delay_shape([40.0], [400.0], [np.nan], budget=600)[1][0])


def _grokking(n):  # memorized at 40, near chance until 400-500, rise to 0.95 within 150 steps
    return np.full(n, 40.0), np.linspace(400, 500, n), np.linspace(400, 500, n) + 150


def _gradual(n):  # memorized at 40, leaves chance at 100, creeps to 0.95 by 600-1000 (the fast tier's runs)
    return np.full(n, 40.0), np.full(n, 100.0), np.linspace(600, 1000, n)


def test_delay_reaches_every_verdict():
    assert R.delay_verdict(*_grokking(10), 2500).verdict == V.SUPPORTED
    v = R.delay_verdict(*_gradual(10), 2500)
    assert v.verdict == V.REFUTED and "sudden: refuted" in v.reason, v.reason
    # no plateau at all: test accuracy leaves chance before memorization ends
    tm, _, tg = _gradual(10)
    assert R.delay_verdict(tm, np.full(10, 20.0), tg, 2500).verdict == V.REFUTED
    # half the seeds grok, half are gradual: neither part decided
    mix = [np.r_[a[:5], b[5:]] for a, b in zip(_grokking(10), _gradual(10))]
    assert R.delay_verdict(*mix, 2500).verdict == V.INCONCLUSIVE
    # nothing leaves chance within the budget: a plateau, but no rise seen: censored, not refuted
    v = R.delay_verdict(np.full(10, 40.0), np.full(10, np.nan), np.full(10, np.nan), 2500)
    assert v.verdict == V.INCONCLUSIVE and "censored" in v.reason
    # seeds that never memorize are dropped; fewer than 2 left: inconclusive
    assert R.delay_verdict([np.nan, 40], [np.nan, 400], [np.nan, 500], 2500).verdict == V.INCONCLUSIVE
    # 4 seeds: 2^-4 > 0.05, no exact test can decide, and the power says so
    v = R.delay_verdict(*(a[:4] for a in _grokking(10)), 2500)
    assert v.verdict == V.INCONCLUSIVE and "no exact binomial test" in v.power


def test_delay_refutes_through_the_conjunction_at_alpha_over_2():
    # one part refuted at alpha but not at alpha / 2: 2 of 11 seeds sudden (P(X <= 2) = 0.033)
    tm, tl, tg = _grokking(11)
    tg = tg.copy()
    tg[2:] = tl[2:] + 2000  # rise far longer than the plateau in 9 seeds
    v = R.delay_verdict(tm, tl, tg, 1e6)
    assert v.verdict == V.INCONCLUSIVE and "not at alpha/2" in v.reason, v.reason
    tg[1] = tl[1] + 2000  # 1 of 11: P(X <= 1) = 0.006 < 0.025
    assert R.delay_verdict(tm, tl, tg, 1e6).verdict == V.REFUTED


def _shape_draw(p_sudden, n=10):
    """n seeds with a plateau (near chance until 400-600 > 2 t_mem = 80) whose rise is shorter
    than the plateau with probability p_sudden (else 3x longer)."""
    def draw(r):
        tm = np.full(n, 40.0)
        tl = r.uniform(400, 600, n)
        rise = np.where(r.random(n) < p_sudden, 0.5, 3.0) * (tl - tm)
        return tm, tl, tl + rise, 1e6
    return draw


def test_delay_error_rates():
    """The IUT's least favourable null for support: the plateau holds in every seed, the rise is
    shorter than the plateau in exactly half (the part's boundary): exact size P(Bin(10, 1/2) >= 9)
    = 0.0107; support <= alpha within Monte Carlo error over 2000 draws. Refutation at the same
    boundary: each part at alpha / 2. Power: 90 % sudden seeds -> supported 0.74 = P(Bin(10, .9) >= 9);
    90 % gradual seeds -> refuted 0.74."""
    sup, ref = _rates(_shape_draw(0.5), R.delay_verdict, n=N_SIM)
    assert sup <= ALPHA + TOL and abs(sup - 0.0107) < 0.008, sup
    assert ref <= ALPHA / 2 + TOL and abs(ref - 0.0107) < 0.008, ref
    sup, _ = _rates(_shape_draw(0.9), R.delay_verdict, n=400, seed=1)
    assert abs(sup - 0.736) < 0.07, sup
    _, ref = _rates(_shape_draw(0.1), R.delay_verdict, n=400, seed=2)
    assert abs(ref - 0.736) < 0.07, ref


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


# ------------------------------------------------------------------ grok-wd-speeds

def _row(n=4):
    return np.repeat(LAMBDAS, n)


def test_wd_order_reaches_every_verdict():
    lam = _row()
    spread = np.tile([1.0, 1.1, 1.2, 1.3], 4)
    v = R.wd_order_verdict(lam, 600 * spread / lam, 1e7)  # t ~ 1/lambda, every level groks
    assert v.verdict == V.SUPPORTED and v.effect.lo > 0, v.reason
    v = R.wd_order_verdict(lam, 600 * spread * lam, 1e7)  # larger lambda later: each pair p = 1/70 < alpha/3
    assert v.verdict == V.REFUTED, v.reason
    # the fast tier's data: only lambda = 1 groks. The two lower pairs are untested, the top one
    # supported; the headline is the tested pair, with a finite two-sided interval
    t = np.where(lam == 1.0, 600 * spread, np.nan)
    v = R.wd_order_verdict(lam, t, 2500)
    assert v.verdict == V.INCONCLUSIVE and "untested" in v.reason and "untested pairs" in v.power
    assert v.effect.name.startswith("restricted mean t_grok, lambda 0.1 - 1")
    assert np.isfinite([v.effect.lo, v.effect.hi]).all() and 0 < v.effect.lo < v.effect.value < v.effect.hi
    assert "seed gate leaves 3 vs 3" in v.power and ">= 5 seeds per level" in v.power
    # one pair tied, the others ordered: inconclusive (the IUT needs every pair)
    t = 600 * spread / np.where(lam == 1e-2, 1e-3, lam)
    assert R.wd_order_verdict(lam, t, 1e7).verdict == V.INCONCLUSIVE
    # diverged runs are excluded and counted
    ok = np.ones(lam.size, bool)
    ok[0] = False
    v = R.wd_order_verdict(lam, 600 * spread / lam, 1e7, ok=ok)
    assert "1 diverged runs excluded" in v.reason


def test_rmst_difference_is_a_finite_interval():
    e = R.rmst_difference(np.full(4, np.nan), np.array([500.0, 600, 700, 800]), 2500)
    assert e.value == 1850 and e.lo < 1850 < e.hi and np.isfinite(e.hi)
    e = R.rmst_difference(np.full(4, np.nan), np.full(4, np.nan), 2500)
    assert (e.value, e.lo, e.hi) == (0.0, 0.0, 0.0)  # both censored: known exactly


def _wd_draw(shift, n=4, sd=0.4, budget=1e7):
    """t_grok = 600 / lambda^shift_i x lognormal noise, with per-pair log-shifts ``shift`` (a list of 3:
    0 = the pair's two levels have one distribution)."""
    logs = np.r_[0.0, np.cumsum(shift[::-1])][::-1]  # log level offsets, largest at lambda = 1e-3

    def draw(r):
        lam = _row(n)
        base = np.repeat(logs, n)
        t = np.exp(np.log(600) + base + sd * r.normal(size=lam.size))
        return lam, np.where(t <= budget, t, np.nan), budget
    return draw


def test_wd_order_error_rates():
    """Nulls and power of the intersection-union test over the 3 adjacent pairs (4 seeds per level,
    as the fast tier). Least favourable null for support: two pairs far apart in the claimed
    direction, one tied (its exact log-rank test alone can pass: size <= alpha); for refutation:
    each pair at alpha / 3. Power under t ~ 1/lambda with lognormal sd 0.4: every pair at 4 vs 4
    needs complete separation (p = 1/70): ~0.97 per pair."""
    far = np.log(10.0)
    sup, ref = _rates(_wd_draw([far, far, 0.0]), R.wd_order_verdict, n=N_SIM)
    assert sup <= ALPHA + TOL and ref <= ALPHA / 3 + TOL, (sup, ref)
    sup, ref = _rates(_wd_draw([0.0, 0.0, 0.0]), R.wd_order_verdict, n=N_SIM, seed=1)  # no order at all
    assert sup <= ALPHA + TOL and ref <= ALPHA + TOL, (sup, ref)
    sup, _ = _rates(_wd_draw([far, far, far]), R.wd_order_verdict, n=400, seed=2)
    assert sup >= 0.85, sup


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

def _hist(alpha=0.0, lam=1.0, seed=0, t_grok=600, steps=2500, order=None, t_lo=None):
    """A fake seed-001 history: train acc saturates at step 40; test acc at chance (1/31) until it
    jumps at t_grok (None: never), or, with ``t_lo``, rises linearly from 0.2 at t_lo to 0.95 at
    t_grok (a gradual rise) before reaching 0.99."""
    cfg = RunConfig(M=31, ratio=0.7, model=ModelSpec(family="mu_mlp", width=8, alpha=alpha),
                    optim=OptimSpec(name="adamw", lr=1e-2, weight_decay=lam), steps=steps, eval_every=20,
                    seed=seed, split_seed=seed)
    st = np.arange(0, steps + 1, 20)
    tg = t_grok if t_grok is not None else math.inf
    test = np.where(st >= tg, 0.99, 1 / 31)
    if t_lo is not None:
        test = np.where((st >= t_lo) & (st < tg), 0.2 + 0.75 * (st - t_lo) / (tg - t_lo), test)
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
    v = R.grok_wd_speeds_rule(row)  # only lambda = 1 groks: the lower pairs are untested
    assert v.verdict == V.INCONCLUSIVE and "untested" in v.reason and "Omnigrok" in v.power, v.reason
    ordered = [_hist(lam=lam, seed=s, t_grok=int(round(3 / lam)) * 20 + 20 * s, steps=40000)
               for lam in LAMBDAS for s in range(4)]
    assert R.grok_wd_speeds_rule(ordered).verdict == V.SUPPORTED
    # a stricter detection rule that no run meets: every run censored -> inconclusive, not refuted
    assert R.grok_wd_speeds_rule(row, grok_rule=(1.01, 1)).verdict == V.INCONCLUSIVE
    with pytest.raises(ValueError):
        R.budget_of([_hist(steps=2500), _hist(steps=1000)])


def test_grok_delayed_on_synthetic_grokking_and_gradual_curves():
    # grokking: chance until 500-860, then a jump to 0.99 within one eval: plateau >> t_mem, rise ~0
    grok = [_hist(seed=s, t_grok=500 + 40 * s) for s in range(10)]
    d = R.delay_data(grok)
    assert (d["t_mem"] == 40).all() and (d["t_lo"] == d["t_grok"]).all()
    assert R.grok_delayed_rule(grok).verdict == V.SUPPORTED
    # gradual: leaves chance at 100 (2.5 t_mem: a plateau of 60 steps), creeps to 0.95 by 600-960:
    # t_grok / t_mem = 15-24 (the old rule's ratio > 2 passed this), the rise is 8-14x the plateau
    grad = [_hist(seed=s, t_grok=600 + 40 * s, t_lo=100) for s in range(10)]
    d = R.delay_data(grad)
    assert (d["t_lo"] == 100).all() and (d["t_grok"] / d["t_mem"] > 2).all()
    v = R.grok_delayed_rule(grad)
    assert v.verdict == V.REFUTED and "sudden: refuted" in v.reason, v.reason
    # the same gradual curves starting before memorization: no plateau either
    assert R.grok_delayed_rule([_hist(seed=s, t_grok=600, t_lo=20) for s in range(10)]).verdict == V.REFUTED
    # never leaves chance: censored, inconclusive
    assert R.grok_delayed_rule([_hist(seed=s, t_grok=None) for s in range(10)]).verdict == V.INCONCLUSIVE


def test_order_change_on_histories():
    def rising(ost, tg):  # jumps by 1 (+ seed-free noise) when the test accuracy jumps
        return np.where(ost >= tg, 2.0, 1.0) + 0.01 * np.sin(ost)
    cell = [_hist(seed=s, t_grok=500 + 40 * s, order=rising) for s in range(10)]
    v = R.order_change(cell, "order/pr", alpha=0.01)
    assert v.verdict == V.SUPPORTED and v.reason.startswith("increases"), v.reason
    v = R.order_change(cell, "order/rqi", alpha=0.01)
    assert v.verdict == V.INCONCLUSIVE and "degenerate" in v.reason
    # RQI is never decided by the claim's rule, even when it moves: the measure cannot separate the hypotheses
    moving = [dataclasses.replace(h, metrics={**h.metrics, "order/rqi": h.metrics["order/pr"]}) for h in cell]
    assert R.order_change(moving, "order/rqi", alpha=0.01).verdict == V.SUPPORTED
    v = R.order_params_rule(moving, "order/rqi")
    assert v.verdict == V.INCONCLUSIVE and v.reason.startswith("not decided") and v.effect is not None
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
    assert st["median test acc at 2 t_mem (near chance: < 0.129)"]["est"] == pytest.approx(1 / 31)
    row = [_hist(lam=lam, seed=s, t_grok=500 + 37 * s if lam == 1.0 else None) for lam in LAMBDAS for s in range(4)]
    items = R.wd_speeds_stats(row, LAMBDAS)
    assert items[0] == {"note": "slope not estimable: grokked lambda levels [1.0]"}  # one grokking level
    assert [d["name"] for d in items[-4:]] == [f"lambda={lv:g}: grokked" for lv in LAMBDAS]
    col = [_hist(alpha=a, seed=s, t_grok=None if a == 0.5 else 600) for a in ALPHAS for s in range(4)]
    diff = next(d for d in R.lazy_rich_stats(col, ALPHAS) if d["name"].startswith("success(alpha=0)"))
    assert diff["est"].value == 1.0
