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
from typing import Callable

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


def interactive_pass(r: dict, frac: float = 0.1):
    """Stage III gradient still significant, scale-free: median total gradient norm after gen
    > ``frac`` x the run's own total gradient norm at initialization (the seed's absolute
    0.1 depends on loss, width and parametrisation; here 0.1 is a fraction of the same net's
    initial gradient). None without a Stage III window."""
    if "III_gnorm_rel" not in r:
        return None
    return bool(r["III_gnorm_rel"] > frac)


def lazy_verdict(rows: list[dict], primary=PRIMARY, alpha: float = ALPHA) -> Verdict:
    """The decision of lazy_freeze_rule on stage rows (measures_li2.stage_rows): per primary
    condition verdicts.one_sample of the runs' lazy_log_ratio < 0, combined by ``both``."""
    conds = by_condition(rows)
    parts = {}
    for c in primary:
        vals = [r["lazy_log_ratio"] for r in conds.get(c, []) if "lazy_log_ratio" in r]
        parts[c] = verdicts.one_sample(vals, 0.0, "less", alpha, what=f"log(rel ΔW1 Stage I / Stage II), {c}")
    return both(parts)


def lazy_freeze_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-lazy-freeze, scale-free: does the hidden layer move less in Stage I than in Stage II?

    Per run (measures_li2.stage_measures; mem = first eval with train acc >= 0.99, gen = first test
    acc >= 0.95 at or after it): log(median relative per-step change ‖ΔW1‖/‖W1‖ of the hidden input
    weights over the Stage I evals [1, mem) / the same median over Stage II [mem, gen or end)). The
    ratio cancels lr, width, init scale and Adam's per-weight step (the seed's absolute ‖ΔW1‖ < 1e-3
    is set by lr under Adam). Per Adam condition (PRIMARY: Li² net, embed_mlp), exact sign-flip
    tests of mean log ratio < 0 with a t CI (verdicts.one_sample) at α = 0.05, combined by ``both``:
      supported     both conditions supported;
      refuted       both refuted (the opposite one-sided test rejects);
      inconclusive  otherwise (mixed or undecided)."""
    return lazy_verdict(stage_rows(hists), alpha=alpha)


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


def interactive_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-interactive, scale-free: after generalization, is the loss gradient still significant?

    Stage III = the evals from test acc first >= 0.95 to the end of the log. A run passes iff its
    median total loss-gradient norm (weight decay excluded) in Stage III > 0.1 x the same run's total
    gradient norm at initialization (interactive_pass; the seed's absolute 0.1 depends on loss, width
    and parametrisation). Runs without a Stage III are left out and counted. Per Adam condition
    (PRIMARY), the pass rate vs 1/2 by exact one-sided binomial tests (verdicts.rate) at α = 0.05,
    combined by ``both``:
      supported     both conditions' rates above 1/2;
      refuted       both below 1/2;
      inconclusive  otherwise."""
    return stage_rate_verdict(stage_rows(hists), interactive_pass, "grad norm > 0.1 x init", alpha=alpha)


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


def gf_verdict(rise, etas, plateau, alpha: float = ALPHA) -> Verdict:
    """The decision of gf_dynamics_rule on per-run (rise then decay, η, plateau)."""
    parts = {"plateau increases with η": verdicts.trend(etas, plateau, "greater", alpha,
                                                        what="kendall tau (η, plateau ‖G_F‖)"),
             "rise then decay": verdicts.rate(int(sum(rise)), len(rise), 0.5, "greater", alpha,
                                              what="rate(rise then decay)")}
    v = verdicts.all_of(parts)
    n = len(rise)
    return Verdict(v.verdict, v.effect, v.alpha, v.reason, v.claimed,
                   power=f"{n} runs over {len(set(etas))} η: {rate_power(n, 0.5, alpha)}; the trend's smallest "
                         "permutation p is 1/(n_perm + 1)")


def gf_dynamics_rule(hists, alpha: float = ALPHA) -> Verdict:
    """li2-gf-dynamics: does ‖G_F‖ rise then decay, to a plateau that grows with weight decay η?

    Data: the Li² net under Adam over the η grid (0 included). Per run (measures_li2.gf_shape, on
    gf/norm = ‖∂L/∂F‖ on the training batch): rise then decay = the maximum comes after the first
    eval and the plateau (mean over the last 10% of evals) is < half the maximum (ratios: scale-free).
    At α = 0.05, all of (verdicts.all_of):
      rise then decay    the rate of such runs > 1/2 (exact one-sided binomial, verdicts.rate);
      plateau grows      Kendall τ-b(η, plateau) > 0 (one-sided permutation p, ties between seeds
                         at one η allowed; verdicts.trend);
    supported iff both parts are; refuted iff a part's opposite test rejects; else inconclusive."""
    rise, etas, plateau = [], [], []
    for h in hists:
        s = gf_shape(h)
        if s is not None:
            rise.append(s[0])
            plateau.append(s[1])
            etas.append(h.config.optim.weight_decay)
    return gf_verdict(rise, etas, plateau, alpha)


# ------------------------------------------------------------------ Fourier

def fourier_rule(records: list[dict], alpha: float = ALPHA) -> Verdict:
    """li2-fourier: after generalization, do the hidden neurons' input weights concentrate on one
    Fourier frequency?

    records: per run dict(seed, gen (0/1), share = the final W's per-neuron share of the non-DC power
    in its top frequency, averaged over the a- and b-blocks and the neurons, share_init = the same
    run's W at initialization). At α = 0.05, all of (verdicts.all_of):
      level         the generalized runs' mean share > 0.5 (exact sign-flip test, t CI);
      above init    their final share > their share at init (paired sign-flip test);
      above non     generalized > not-generalized runs (one-sided Mann-Whitney);
    supported iff every part is; refuted iff a part's opposite test rejects; else inconclusive."""
    gen = [r for r in records if r["gen"] == 1]
    non = [r for r in records if r["gen"] == 0]
    s_gen = [r["share"] for r in gen]
    parts = {"one frequency dominates": verdicts.one_sample(s_gen, 0.5, "greater", alpha,
                                                            "mean top-frequency share (generalized)"),
             "above init": verdicts.paired(s_gen, [r["share_init"] for r in gen], "greater", alpha,
                                           what="share: final - init (generalized)"),
             "above not generalized": verdicts.two_groups(s_gen, [r["share"] for r in non], "greater", alpha,
                                                          what="share: generalized - not generalized")}
    v = verdicts.all_of(parts)
    return Verdict(v.verdict, v.effect, v.alpha, f"{len(gen)} generalized, {len(non)} not; {v.reason}", v.claimed,
                   power=v.power)
