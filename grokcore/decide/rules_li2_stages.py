"""Decision rules of the Li² stage and Fourier claims (claims/test_li2_stages.py: li2-wd-needed,
li2-lazy-freeze, li2-independent, li2-interactive, li2-gf-dynamics, li2-fourier).

One ``<claim>_rule(data) -> Verdict`` per claim. Its docstring states the operational question
and the decision (α, statistic, what supports, what refutes); the claim's card shows it
(claim.decide records it). The robustness gates (grokcore.decide.gates): ``fourier_gates``,
``gates.for_histories()`` for the stage claims. The ``*_verdict`` functions take the
measurements themselves (measures_li2_stages) and are unit-tested on synthetic data
(grokcore/tests/test_rules_li2_stages.py). Torch-free: nothing trains here.
"""
from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Callable

import numpy as np

from grokcore.decide import gates, verdicts
from grokcore.decide.measures_li2 import ALPHA, generalized
from grokcore.decide.measures_li2_stages import by_condition, condition, gf_shape, stage_rows
from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

PRIMARY = ("li2/adam", "embed_mlp/adam")  # seed 003 trains with Adam; the Li² net is the paper's


# ------------------------------------------------------------------ gates

def fourier_gates() -> gates.Perturbations:
    """Each seed left out; no budget gate: the final parameters (param/W) exist only at the end
    of each run, not at T/2; no grid estimate."""
    p = gates.for_histories(budget=False, seed_of=lambda r: r["seed"])
    return dataclasses.replace(p, why_not={**p.why_not, "budget": "final parameters (param/W) exist only at the "
                                                                  "end of each run, not at T/2"})


# ------------------------------------------------------------------ stages

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
            f"{pi:g} (support tolerates {max(tol, 0)} failing run(s) per condition"
            + (", none at all" if tol < 0 else "")
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


LAZY = ("li2/sgd", "li2/adam")  # the Li² net (the theory's model) under gradient descent and under Adam


def lazy_verdict(rows: list[dict], conditions=LAZY, alpha: float = ALPHA, with_power: bool = False) -> Verdict:
    """The decision of lazy_freeze_rule on stage rows (measures_li2_stages.stage_rows): per
    condition verdicts.one_sample of the runs' lazy_wv < 0, combined by ``both``. with_power:
    each part also states the observed contrast's power and the runs for 80 % (normal model)."""
    conds = by_condition(rows)
    parts = {}
    for c in conditions:
        vals = [r["lazy_wv"] for r in conds.get(c, []) if "lazy_wv" in r]
        what = ("log(drift W1 / drift out) in Stage I" + (" − log(first-step ratio)" if c.endswith("/adam") else "")
                + f", {c}")
        v = verdicts.one_sample(vals, 0.0, "less", alpha, what=what)
        # what this many runs can decide: the observed contrast's power and the runs for 80 % (its card's
        # "to decide"; under Adam the contrast is small, ~1 sd: 6 runs decided it at some base seeds only, 12 at
        # each of the design seeds 0, 12, 13, 14)
        seen = verdicts.paired_power_text(vals, {"observed mean": float(np.mean(vals))}, alpha, unit="runs") \
            if with_power and len(vals) >= 2 else ""
        parts[c] = dataclasses.replace(v, power="; ".join(t for t in (v.power, seen) if t))
    return both(parts)


def lazy_freeze_rule(hists, alpha: float = ALPHA, conditions=LAZY, with_power: bool = True) -> Verdict:
    """li2-lazy-freeze: in Stage I, while the output layer fits the training set, does the hidden
    layer W1 move less than the output layer? Asked per optimizer (``conditions``, one of LAZY
    per claim record: li2-lazy-freeze[fast-sgd] and [fast-adam]).

    Seed 003's toy model (gradient descent + weight decay): "the hidden weights barely change; the
    output weights get trained so as to fit the training set". Per run, Stage I = from init to mem
    (the first eval with train acc >= 0.99); each layer's displacement over it in units of its own
    initial norm, d = ‖p_mem − p_0‖ / ‖p_0‖ (drift/<p>), and the contrast c = log(d_W1 / d_out)
    (measures_li2_stages.stage_measures, lazy_wv):
      gradient descent  null c = 0 (both layers move the same in proportion to their size);
      Adam              each weight moves by at most lr per step, so two layers whose weights move
                        equally coherently have c = log(RMS out_0 / RMS W1_0), an init-scale ratio
                        fixed by the design; it is measured in the same run as the first step's
                        log(‖ΔW1‖/‖W1‖ / ‖Δout‖/‖out‖) (Adam's first update is lr·sign(g) on every
                        weight) and subtracted: c < 0 iff W1's weights moved less coherently than the
                        output layer's (the theory's "gradients reaching W are mostly noise").
    Per condition (LAZY: the Li² net under full-batch gradient descent with momentum 0.9, and
    under Adam), verdicts.one_sample (exact sign-flip test of mean c < 0, t CI) at α = 0.05:
      supported     mean c < 0 (W1 moved less than the output layer, in proportion);
      refuted       the opposite one-sided test rejects: W1 moved as much or more;
      inconclusive  otherwise.
    Why one record per optimizer: seed 003 says it of both settings (its toy model trains with
    gradient descent, its code with Adam) and CLAIMS.md asks for both reported; their conjunction
    (``both``, still what conditions=LAZY decides) called the measured split, gradient descent
    supported and Adam refuted, inconclusive, which no number of runs would change.
    Cannot detect: "barely" as an absolute amount (d_W1 at memorization is reported); the seed's
    per-step ‖ΔW1‖ < 1e-3 (under Adam set by lr); plain gradient descent without momentum; the
    embedding MLP (reported, not deciding). The old contrast, W1's per-step change in Stage I vs
    Stage II, is shown but does not decide: under Adam it exceeds 1 whatever the dynamics."""
    return lazy_verdict(stage_rows(hists), tuple(conditions), alpha=alpha, with_power=with_power)


def independent_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-independent: in Stage II, are the hidden neurons' gradients aligned while ‖W1‖ grows?

    Stage II = the evals [mem, gen): from train acc >= 0.99 until test acc first reaches 0.95. A run
    passes iff the median mean-pairwise cosine of the neurons' input-weight gradients (grad/cos)
    > 0.6 and ‖W1‖ at gen > at mem (independent_pass; both scale-free, so the seed's thresholds are
    kept). Runs without a Stage II (generalized no later than memorized, or never) are left out and
    counted. Per Adam condition (PRIMARY), the pass rate vs 1/2 by exact one-sided binomial tests
    with Clopper-Pearson bounds (verdicts.rate) at α = 0.05, combined by ``both``:
      supported     both conditions' rates above 1/2;
      refuted       both below 1/2;
      inconclusive  otherwise."""
    return stage_rate_verdict(stage_rows(hists), independent_pass, "aligned & growing", alpha=alpha)


def interactive_verdict(rows: list[dict], conditions=PRIMARY, alpha: float = ALPHA) -> Verdict:
    """The decision of interactive_rule on stage rows: per condition verdicts.one_sample of the
    runs' III_eq_log_ratio > 0, combined by ``both``; runs without a Stage III counted."""
    conds = by_condition(rows)
    parts = {}
    for c in conditions:
        rs = conds.get(c, [])
        vals = [r["III_eq_log_ratio"] for r in rs if "III_eq_log_ratio" in r]
        v = verdicts.one_sample(vals, 0.0, "greater", alpha, what=f"log(‖∇L‖ / η‖θ‖) in Stage III, {c}")
        ev = [r["III_evals"] for r in rs if "III_evals" in r]
        parts[c] = dataclasses.replace(v, reason=f"{v.reason} ({len(vals)} runs with a Stage III, "
                                                 f"{len(rs) - len(vals)} without; Stage III evals per run "
                                                 f"{min(ev) if ev else 0}-{max(ev) if ev else 0})")
    return both(parts)


def interactive_rule(hists, alpha: float = ALPHA, conditions=PRIMARY) -> Verdict:
    """li2-interactive: after test accuracy reaches 95%, is the loss gradient still larger than at
    the weight-decay fixed point, i.e. more than weight decay alone keeps it? Asked per model
    (``conditions``, one of PRIMARY per claim record: li2-interactive[fast-li2] and
    [fast-embed_mlp]).

    Seed 003: "accuracy already high (>= 95%), but grad_norm still significant (> 0.1): still
    fine-tuning". With coupled L2 weight decay η the training fixed point has ∇L = −ηθ, so a net that
    has stopped learning keeps ‖∇L‖ = η‖θ‖ > 0: that, not 0 (and not the seed's absolute 0.1, which
    depends on loss, width and scale), is the baseline of "still significant". Per run, Stage III =
    the evals from the first test acc >= 0.95 (at or after memorization) to the end of the log;
    s = median over Stage III of log(‖∇L‖ / (η‖θ‖)), ‖∇L‖ over every parameter (weight decay
    excluded), ‖θ‖ over every parameter (measures_li2_stages.stage_measures, III_eq_log_ratio):
    s > 0, the loss gradient exceeds the fixed point's; s < 0, weight decay outweighs it and the
    weights shrink. Runs without a Stage III (never generalized) are left out and counted. Per
    Adam condition (PRIMARY: the Li² net and seed 003's embedding MLP), verdicts.one_sample (exact
    sign-flip test of mean s > 0, t CI) at α = 0.05:
      supported     mean s > 0;
      refuted       mean s < 0 (the loss gradient is below the weight-decay balance);
      inconclusive  otherwise.
    Why one record per model: seed 003's sentence is about its own net (the embedding MLP) and the
    paper's theory about the Li² net; their conjunction (``both``, still what conditions=PRIMARY
    decides) called the measured split, the Li² net's part refuted before the gates and the
    embedding MLP's supported (12 seeds per condition, base seeds 0, 12, 13, 14), inconclusive,
    which no number of runs would change.
    Cannot detect: a net gradient orthogonal to θ, which changes ‖∇L‖ only at second order (a
    component x·η‖θ‖ gives s ≈ x²/2), so s near 0 does not prove the weights are at rest (‖∇L + ηθ‖
    is not logged); a net settling onto the balance from below (s -> 0 as the budget grows: the
    Li² net's record) is inconclusive by the half-budget gate, not refuted, since "at rest" vs
    "still above" needs an equivalence margin that this sign test lacks; which features G_F
    focuses on. Shown, not deciding: the seed's absolute 0.1, and
    log(largest ‖∇L‖ after gen / ‖∇L‖ at gen), the seed's "new peak" marker."""
    return interactive_verdict(stage_rows(hists), tuple(conditions), alpha=alpha)


def wd_verdict(y_wd, y_0, alpha: float = ALPHA, wd: float | None = None) -> Verdict:
    """The decision of wd_needed_rule on generalized outcomes (1/0; NaN = diverged, dropped)
    with weight decay ``wd`` and without."""
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


def wd_needed_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-wd-needed: does the Li² net under Adam generalize more often with weight decay η > 0 than
    with η = 0?

    Data: the Li² Adam runs at one η > 0 and at η = 0; generalized as in boundary_rule (diverged runs
    dropped). At α = 0.05 (verdicts.rate_difference):
      supported     the one-sided Fisher exact test (η > 0 generalizes more) rejects and the
                    Newcombe CI of P(gen | η) - P(gen | 0) lies above 0;
      refuted       the opposite one-sided Fisher test rejects and the CI lies below 0;
      inconclusive  otherwise; the power note says which counts these seeds can decide."""
    adam = [h for h in hists if condition(h) == "li2/adam"]
    etas = sorted({h.config.optim.weight_decay for h in adam} - {0.0})
    if len(etas) != 1:
        raise ValueError(f"wd_needed_rule compares one η > 0 with η = 0; the data hold η > 0 = {etas}")
    return wd_verdict([generalized(h) for h in adam if h.config.optim.weight_decay == etas[0]],
                      [generalized(h) for h in adam if h.config.optim.weight_decay == 0.0], alpha, etas[0])


GF_FACTOR = 2.0  # "rise then decay": up by more than this factor from the start, down by more than it to the plateau


def gf_seed_stats(runs, factor: float = GF_FACTOR) -> tuple[dict, dict]:
    """From per-run (seed, η, GFShape): per seed the mean shape statistic over its η levels
    (GFShape.shape(factor)), and per seed the least-squares slope of log plateau on log η over its
    η > 0 runs (>= 2 distinct η with a positive plateau; else absent)."""
    shape, pts = defaultdict(list), defaultdict(list)
    for seed, eta, g in runs:
        v = g.shape(factor)
        if math.isfinite(v):
            shape[seed].append(v)
        if eta > 0 and g.plateau > 0:
            pts[seed].append((math.log(eta), math.log(g.plateau)))
    slope = {}
    for seed, xy in pts.items():
        x, y = np.array(xy, float).T
        if np.unique(x).size >= 2:  # least-squares slope
            xc = x - x.mean()
            slope[seed] = float(xc @ (y - y.mean()) / (xc @ xc))
    return {s: float(np.mean(v)) for s, v in shape.items()}, slope


def gf_verdict(runs, alpha: float = ALPHA, factor: float = GF_FACTOR) -> Verdict:
    """The decision of gf_dynamics_rule on per-run (seed, η, measures_li2_stages.GFShape)."""
    shape, slope = gf_seed_stats(runs, factor)
    sv, bv = list(shape.values()), list(slope.values())
    parts = {"plateau grows with η": lambda a: verdicts.one_sample(
                 bv, 0.0, "greater", a, what="per-seed slope d log(plateau ‖G_F‖) / d log η"),
             "rise then decay": lambda a: verdicts.one_sample(
                 sv, 0.0, "greater", a, what=f"per-seed mean of min(log rise, log decay) − log {factor:g}")}
    v = verdicts.conjunction(parts, alpha)
    n_eta = len({eta for _, eta, _ in runs})
    return Verdict(v.verdict, v.effect, v.alpha, f"{len(runs)} runs, {len(shape)} seeds x {n_eta} η; {v.reason}",
                   v.claimed, power=v.power)


def gf_dynamics_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-gf-dynamics: does ‖G_F‖ first rise, then decay, to a plateau that grows with weight decay η?

    Data: the Li² net under Adam over the η grid (0 included); replicate r has the same init and
    split at every η, so seeds are the units. Per run (measures_li2_stages.gf_shape on gf/norm =
    ‖∂L/∂F‖ on the training batch): start = the first eval, peak = the maximum, plateau = the mean
    over the last 10% of evals. Two parts, each tested over seeds by verdicts.one_sample (exact
    sign-flip test, t CI):
      rise then decay    per run min(log(peak/start), log(peak/plateau)) − log 2 (a rise to more
                         than twice the start and a fall to less than half the peak, not merely
                         "the maximum is not the first eval"), averaged per seed over η; mean > 0;
      plateau grows      per seed the least-squares slope b of log plateau on log η over its η > 0
                         runs; mean b > 0 (the theory's O(η) plateau is b = 1, reported);
    combined by verdicts.conjunction at α = 0.05: supported iff both parts are supported at α;
    refuted iff a part's opposite test rejects at α/2 (Bonferroni over the parts); else inconclusive.
    Cannot detect: the exponential form of the decay; the plateau's absolute O(η) size."""
    runs = [(h.config.seed, h.config.optim.weight_decay, s) for h in hists if (s := gf_shape(h)) is not None]
    return gf_verdict(runs, alpha)


# ------------------------------------------------------------------ Fourier

def fourier_pairs(records: list[dict]) -> list[tuple[dict, dict]]:
    """(generalized, not generalized) record pairs at the same (seed, n): the same init, split and
    n trained in two arms (the design: weight decay η > 0 and η = 0), one of which generalized."""
    by: dict = defaultdict(lambda: ([], []))
    for r in records:
        if r["gen"] in (0, 1):
            by[(r["seed"], r["n"])][int(r["gen"] == 0)].append(r)
    return [(g[0], n[0]) for g, n in by.values() if len(g) == 1 and len(n) == 1]


def fourier_rule(records: list[dict], alpha: float = ALPHA) -> Verdict:
    """li2-fourier: after generalization, do the hidden neurons' input weights concentrate on one
    Fourier frequency, beyond what the same net reaches at the same n without generalizing?

    records: per run dict(seed, n, gen (1/0), share, share_init): share = the final W's per-neuron
    share of the non-DC power in its top frequency, averaged over the a- and b-blocks and the
    neurons; share_init = the same run's W at initialization. Three parts:
      level           the generalized runs' mean share > 0.5 (one frequency holds most of the
                      power; verdicts.one_sample);
      above init      their final share > their share at init (verdicts.paired, per run);
      above not gen.  at equal n: per (seed, n) with one generalized and one not-generalized run
                      (the design trains the same n, init and split with η > 0 and with η = 0),
                      share(generalized) − share(not) > 0 (verdicts.paired);
    combined by verdicts.conjunction at α = 0.05: supported iff every part is supported at α;
    refuted iff a part's opposite test rejects at α/3 (Bonferroni); else inconclusive.
    Cannot detect: whether generalization or weight decay makes the difference at equal n (η = 0 is
    what keeps those runs from generalizing); that the frequencies are the paper's Stage-II energy
    maxima. Runs at a smaller n that memorize are reported, not decided on (they differ in n)."""
    gen = [r for r in records if r["gen"] == 1]
    non = [r for r in records if r["gen"] == 0]
    pairs = fourier_pairs(records)
    s_gen = [r["share"] for r in gen]
    parts = {"one frequency dominates": lambda a: verdicts.one_sample(s_gen, 0.5, "greater", a,
                                                                      "mean top-frequency share (generalized)"),
             "above init": lambda a: verdicts.paired(s_gen, [r["share_init"] for r in gen], "greater", a,
                                                     what="share: final - init (generalized)"),
             "above not generalized at equal n": lambda a: verdicts.paired(
                 [g["share"] for g, _ in pairs], [n["share"] for _, n in pairs], "greater", a,
                 what="share: generalized - not generalized, same seed and n")}
    v = verdicts.conjunction(parts, alpha)
    return Verdict(v.verdict, v.effect, v.alpha, f"{len(gen)} generalized, {len(non)} not, {len(pairs)} equal-n "
                                                 f"pairs; {v.reason}", v.claimed, power=v.power)
