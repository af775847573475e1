"""Li² stage and Fourier decision rules (grokcore.decide.rules_li2_stages) and measurements
(measures_li2_stages): every verdict of each rule is reachable on synthetic measurements, and
under a simulated null the false "supported" / "refuted" rates stay <= alpha + Monte Carlo error."""
import inspect
import math
from types import SimpleNamespace

import numpy as np
import pytest

from grokcore.decide import measures_li2_stages as Ms
from grokcore.decide import rules_li2_stages as R
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

ALPHA = 0.05
MC = 0.025  # Monte Carlo allowance over 400 draws (~2.3 se at p = 0.05)


def hist(steps, **metrics):
    m = {"step": np.asarray(steps)}
    m.update({k: np.asarray(v, float) for k, v in metrics.items()})
    cfg = SimpleNamespace(steps=int(steps[-1]), M=17, n_train=100, seed=0, task="add",
                          model=SimpleNamespace(family="li2"), optim=SimpleNamespace(name="adam", weight_decay=1e-3))
    return SimpleNamespace(config=cfg, metrics=m, status="ok")


def _grok_hist(M, n, t_grok, steps=1500, every=20):
    """A run at (M, n) whose test acc jumps to 0.99 at t_grok (never if None)."""
    st = np.arange(0, steps + every, every)
    h = hist(st, **{"test/acc": np.where(st >= (t_grok if t_grok is not None else 10**9), 0.99, 0.1)})
    h.config.M, h.config.n_train = M, n
    return h


# ------------------------------------------------------------------ stages

def test_both_needs_every_condition_to_agree():
    s = Verdict(SUPPORTED, None, ALPHA, "s")
    r = Verdict(REFUTED, None, ALPHA, "r")
    i = Verdict(INCONCLUSIVE, None, ALPHA, "i")
    assert R.both({"a": s, "b": s}).verdict == SUPPORTED
    assert R.both({"a": r, "b": r}).verdict == REFUTED
    assert R.both({"a": s, "b": r}).verdict == INCONCLUSIVE
    assert R.both({"a": s, "b": i}).verdict == INCONCLUSIVE
    with pytest.raises(ValueError):
        R.both({})


def rows(cond, key, values):
    return [{"cond": cond, key: v} for v in values]


def test_lazy_verdict_reaches_every_verdict_and_is_calibrated():
    up = [2.1, 2.3, 2.2, 2.4, 2.0, 2.2]
    a, b = R.PRIMARY
    assert R.lazy_verdict(rows(a, "lazy_log_ratio", up) + rows(b, "lazy_log_ratio", up)).verdict == REFUTED
    down = [-v for v in up]
    assert R.lazy_verdict(rows(a, "lazy_log_ratio", down) + rows(b, "lazy_log_ratio", down)).verdict == SUPPORTED
    assert R.lazy_verdict(rows(a, "lazy_log_ratio", up) + rows(b, "lazy_log_ratio", down)).verdict == INCONCLUSIVE
    v4 = R.lazy_verdict(rows(a, "lazy_log_ratio", up[:4]) + rows(b, "lazy_log_ratio", up[:4]))
    assert v4.verdict == INCONCLUSIVE and "no exact one-sided test" in v4.power
    rng = np.random.default_rng(4)
    n = 400
    vs = [R.lazy_verdict(rows(a, "lazy_log_ratio", rng.normal(0, 1, 6)) +
                         rows(b, "lazy_log_ratio", rng.normal(0, 1, 6))).verdict for _ in range(n)]
    assert vs.count(SUPPORTED) / n <= ALPHA + MC and vs.count(REFUTED) / n <= ALPHA + MC


def test_stage_rate_verdicts_reach_every_verdict():
    a, b = R.PRIMARY
    good = [{"cond": c, "III_gnorm_rel": 0.9} for c in (a, b) for _ in range(6)]
    bad = [{"cond": c, "III_gnorm_rel": 0.01} for c in (a, b) for _ in range(6)]
    assert R.stage_rate_verdict(good, R.interactive_pass, "x").verdict == SUPPORTED
    assert R.stage_rate_verdict(bad, R.interactive_pass, "x").verdict == REFUTED
    assert R.stage_rate_verdict(good[:6] + bad[6:], R.interactive_pass, "x").verdict == INCONCLUSIVE
    none = [{"cond": c} for c in (a, b) for _ in range(6)]  # no Stage III window anywhere
    assert R.stage_rate_verdict(none, R.interactive_pass, "x").verdict == INCONCLUSIVE
    ind = [{"cond": c, "II_cos_med": 0.0, "II_norm_ratio": 0.97} for c in (a, b) for _ in range(6)]
    assert R.stage_rate_verdict(ind, R.independent_pass, "x").verdict == REFUTED
    assert "6 runs" in R.rate_power(6)


def test_stage_measures_windows_leave_out_the_first_eval():
    steps = np.arange(0, 220, 20)  # 11 evals
    tr = np.array([0.1, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1])  # mem at eval 2
    te = np.array([0.0, 0.1, 0.2, 0.3, 0.5, 0.96, 0.97, 0.98, 0.99, 0.99, 0.99])  # gen at eval 5
    rel = np.array([100.0, 0.5, 0.1, 0.1, 0.1, 0.02, 0.02, 0.02, 0.02, 0.02, np.nan])
    g = np.array([1.0, 0.8, 0.5, 0.4, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    h = hist(steps, **{"train/acc": tr, "test/acc": te, "rel_delta/W": rel, "rel_delta/V": rel * 2,
                       "grad/cos": np.full(11, 0.1), "norm/W": np.linspace(1, 2, 11), "grad/W": g,
                       "grad/V": g * 0, "gf/norm": g})
    r = Ms.stage_measures(h)
    assert (r["mem"], r["gen"]) == (2, 5)
    assert r["I_rel_hid"] == pytest.approx(0.5)  # eval 0 (Adam's first, design-fixed step) left out
    assert r["II_rel_hid"] == pytest.approx(0.1)
    assert r["lazy_log_ratio"] == pytest.approx(math.log(5))
    assert r["II_cos_med"] == pytest.approx(0.1) and r["II_norm_ratio"] > 1
    assert r["III_gnorm_rel"] == pytest.approx(0.2)
    assert R.interactive_pass(r) and not R.independent_pass(r)


def test_wd_and_gf_and_fourier_verdicts_reach_every_verdict():
    assert R.wd_verdict([1] * 6, [0] * 6, wd=1e-3).verdict == SUPPORTED
    assert R.wd_verdict([0] * 6, [1] * 6, wd=1e-3).verdict == REFUTED
    assert R.wd_verdict([1, 0] * 3, [0, 1] * 3, wd=1e-3).verdict == INCONCLUSIVE
    etas = [0.0] * 6 + [1e-3] * 6 + [3e-3] * 6
    up = ([1e-6 * (1 + i % 3) for i in range(6)] + [1e-3 + 1e-5 * i for i in range(6)]
          + [3e-3 + 1e-5 * i for i in range(6)])
    assert R.gf_verdict([True] * 18, etas, up).verdict == SUPPORTED
    assert R.gf_verdict([False] * 18, etas, up).verdict == REFUTED
    assert R.gf_verdict([True] * 18, etas, up[::-1]).verdict == REFUTED
    assert R.gf_verdict([True, False] * 9, etas, up).verdict == INCONCLUSIVE
    rng = np.random.default_rng(5)

    def recs(share_gen, share_non, init=0.2):
        return ([dict(seed=s, gen=1, share=v, share_init=init) for s, v in enumerate(share_gen)] +
                [dict(seed=s, gen=0, share=v, share_init=init) for s, v in enumerate(share_non)])
    assert R.fourier_rule(recs(0.8 + 0.02 * rng.random(8), 0.3 + 0.02 * rng.random(8))).verdict == SUPPORTED
    assert R.fourier_rule(recs(0.1 + 0.02 * rng.random(8), 0.3 + 0.02 * rng.random(8))).verdict == REFUTED
    assert R.fourier_rule(recs(0.8 + 0.02 * rng.random(8), [])).verdict == INCONCLUSIVE


# ------------------------------------------------------------------ rules on histories

@pytest.mark.parametrize("name", sorted(n for n in dir(R) if n.endswith("_rule")))
def test_every_rule_states_its_question_and_decision(name):
    """The card shows the rule's docstring as the rule: it names the claim, α and both outcomes."""
    doc = inspect.getdoc(getattr(R, name))
    assert doc.startswith("li2-") and "?" in doc.split("\n\n")[0]
    assert "α = 0.05" in doc and "supported" in doc and "refuted" in doc


def _adam_run(wd, grok, seed):
    h = _grok_hist(17, 100, 100 if grok else None)
    h.config.optim, h.config.seed = SimpleNamespace(name="adam", weight_decay=wd), seed
    return h


def test_wd_needed_rule_compares_the_one_eta_in_its_data_with_zero():
    hs = [_adam_run(1e-3, True, s) for s in range(6)] + [_adam_run(0.0, s == 0, s) for s in range(6)]
    v, want = R.wd_needed_rule(hs), R.wd_verdict([1.0] * 6, [1.0] + [0.0] * 5, wd=1e-3)
    assert (v.verdict, v.reason) == (want.verdict, want.reason) and v.verdict == SUPPORTED
    with pytest.raises(ValueError):
        R.wd_needed_rule(hs + [_adam_run(3e-3, True, 0)])


def test_fourier_gates_leave_seeds_out_and_say_why_there_is_no_budget_gate():
    p = R.fourier_gates()
    assert p.budget is None and "param/W" in p.why_not["budget"]
    assert [label for label, _ in p.seed([dict(seed=s) for s in range(3)])] == [f"without seed {s}" for s in range(3)]
