"""Decision rules: measurements -> a Verdict (supported / refuted / inconclusive).

A rule is a plain function of measurements (arrays, estimates), not of pytest or of
training, so it can be read in one place, unit-tested on synthetic data (every verdict
reachable; false "supported" and false "refuted" rates <= alpha under a simulated null,
grokcore/tests/test_verdicts.py) and called again on perturbed data by the robustness
gates (grokcore.decide.gates).

Every rule states the claimed direction and alpha, and returns the effect it decided on
with its confidence interval. The generic shapes:

  interval      CI of an effect vs a null value:
                supported  <=> CI on the claimed side of the null (and p < alpha if a p is given)
                refuted    <=> CI on the other side (the opposite one-sided test rejects)
  rate          a success rate vs p0 (exact binomial tests; shown with two one-sided
                Clopper-Pearson bounds at 1 - alpha each: a 1 - 2 alpha interval), same logic
  within        a value claimed to lie in [a, b]: supported <=> CI inside [a, b] and at
                most ``max_span`` wide; refuted <=> CI disjoint from [a, b]
  paired_source_gap  a paired difference claimed at the source's size: supported <=> the
                claimed direction; refuted <=> the opposite one, or a difference as large as
                the source's is excluded
  all_of        a conjunction of sub-claims: refuted if any part is refuted, supported if
                every part is supported, else inconclusive

A one-sided claim ("effect > 0") uses one-sided tests at level alpha in each direction: the
two decisions are mutually exclusive and each has error rate <= alpha under its null.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from grokcore.decide import stats
from grokcore.decide.stats import Estimate

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
VERDICTS = (SUPPORTED, REFUTED, INCONCLUSIVE)
SIDES = ("greater", "less")


@dataclass(frozen=True)
class Verdict:
    """What a rule decided, on which effect, at which alpha, and why.

    ``grid`` maps a group (e.g. M) to the estimate's position on a design grid (e.g. log n*),
    for the grid gate; ``power`` says what the rule cannot detect at this scale."""

    verdict: str
    effect: Estimate | None
    alpha: float
    reason: str
    claimed: object = None
    grid: dict = field(default_factory=dict)
    power: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def decided(self) -> bool:
        return self.verdict != INCONCLUSIVE

    def to_dict(self) -> dict:
        d = asdict(self)
        d["effect"] = self.effect.to_dict() if self.effect is not None else None
        d["grid"] = {str(k): stats._json(v) for k, v in self.grid.items()}
        return stats._json(d)


def fmt_estimate(e: Estimate) -> str:
    return f"{e.name} = {e.value:.4g} [{e.lo:.4g}, {e.hi:.4g}]" + (f", p = {e.p:.3g}" if e.p is not None else "")


def check_side(side: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES} (the claimed direction), got {side!r}")


# ------------------------------------------------------------------ generic shapes

def interval(effect: Estimate, side: str, null: float = 0.0, alpha: float | None = None,
             opposite: Estimate | None = None, claimed: object = None, what: str = "") -> Verdict:
    """Claim: effect > null (side="greater") or < null ("less").

    ``effect`` carries a CI whose lower (upper) end decides support; when it also carries a
    p-value (of the one-sided test in the claimed direction) that p must be < alpha too.
    ``opposite`` is the estimate of the opposite one-sided test; refutation needs its CI
    beyond the null on the other side (and its p < alpha). Without it, the effect's own CI
    end on the other side decides refutation."""
    check_side(side)
    a = effect.alpha if alpha is None else alpha
    what = what or effect.name
    sgn = 1 if side == "greater" else -1
    p_ok = effect.p is None or effect.p < a
    opp = opposite if opposite is not None else effect
    opp_p_ok = opposite is None or opposite.p is None or opposite.p < a
    beyond = effect.lo > null if side == "greater" else effect.hi < null
    against = opp.hi < null if side == "greater" else opp.lo > null
    cmp = ">" if sgn > 0 else "<"
    claimed = claimed if claimed is not None else f"{cmp} {null:g}"
    if not all(math.isfinite(v) or math.isinf(v) for v in (effect.lo, effect.hi)) or math.isnan(effect.value):
        return Verdict(INCONCLUSIVE, effect, a, f"{what}: no finite estimate", claimed)
    if beyond and p_ok:
        return Verdict(SUPPORTED, effect, a, f"{fmt_estimate(effect)}: CI {cmp} {null:g} at alpha = {a:g}", claimed)
    if against and opp_p_ok:
        return Verdict(REFUTED, effect, a, f"{fmt_estimate(opp)}: the opposite one-sided test rejects at alpha = {a:g} "
                                           f"(claimed {what} {cmp} {null:g})", claimed)
    return Verdict(INCONCLUSIVE, effect, a, f"{fmt_estimate(effect)}: neither direction significant at alpha = {a:g}",
                   claimed)


def rate(k: int, n: int, p0: float = 0.5, side: str = "greater", alpha: float = 0.05, what: str = "rate") -> Verdict:
    """Claim: a success rate > p0 (or < p0). Exact one-sided binomial tests in each direction,
    with the matching one-sided Clopper-Pearson bounds (lower = Beta_alpha(k, n - k + 1),
    upper = Beta_{1-alpha}(k + 1, n - k)); the interval shown is [lower, upper], each end at
    level 1 - alpha, so together a 1 - 2 alpha interval: the Estimate carries alpha = 2 alpha
    (a card shows it as a 90 % interval at alpha = 0.05) while the Verdict decides at alpha.
    (Wilson bounds are anti-conservative here: at n = 12, p0 = 0.5 the one-sided Wilson rule
    rejects 7.3% of the time; measured in test_verdicts.)"""
    from scipy import stats as sps

    check_side(side)
    if n == 0:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: no runs to rate", f"> {p0:g}")
    lo = float(sps.beta.ppf(alpha, k, n - k + 1)) if k > 0 else 0.0
    hi = float(sps.beta.ppf(1 - alpha, k + 1, n - k)) if k < n else 1.0
    p = float(sps.binomtest(k, n, p0, alternative=side).pvalue)
    q = float(sps.binomtest(k, n, p0, alternative="less" if side == "greater" else "greater").pvalue)
    shown = min(2 * alpha, 1.0)  # two one-sided 1 - alpha bounds = a 1 - 2 alpha interval
    how = (f"exact one-sided binomial tests at alpha = {alpha:g}; interval: one-sided Clopper-Pearson bounds at "
           f"1 - alpha each, together a {100 * (1 - shown):g} % interval")
    e = Estimate(what, k / n, lo, hi, shown, p, how, f"{k}/{n}")
    o = Estimate(what, k / n, lo, hi, shown, q, how + " (opposite direction)", f"{k}/{n}")
    return interval(e, side, p0, alpha, opposite=o, what=what)


def within(effect: Estimate, lo: float, hi: float, max_span: float | None = None, log: bool = False,
           what: str = "") -> Verdict:
    """Claim: the effect lies in [lo, hi]. supported: CI inside [lo, hi] (and, with
    ``max_span``, hi/lo of the CI <= max_span when ``log`` else hi - lo <= max_span);
    refuted: CI disjoint from [lo, hi]; else inconclusive."""
    what = what or effect.name
    claimed = f"in [{lo:g}, {hi:g}]"
    if math.isnan(effect.lo) or math.isnan(effect.hi):
        return Verdict(INCONCLUSIVE, effect, effect.alpha, f"{what}: no CI", claimed)
    if effect.hi < lo or effect.lo > hi:
        return Verdict(REFUTED, effect, effect.alpha, f"{fmt_estimate(effect)}: CI disjoint from [{lo:g}, {hi:g}]", claimed)
    span = (effect.hi / effect.lo if effect.lo > 0 else math.inf) if log else effect.hi - effect.lo
    if lo <= effect.lo and effect.hi <= hi and (max_span is None or span <= max_span):
        return Verdict(SUPPORTED, effect, effect.alpha, f"{fmt_estimate(effect)}: CI inside [{lo:g}, {hi:g}]", claimed)
    return Verdict(INCONCLUSIVE, effect, effect.alpha, f"{fmt_estimate(effect)}: CI overlaps [{lo:g}, {hi:g}] but is not "
                                                        "inside it", claimed)


def _combine(parts: dict[str, Verdict], headline: str | None, who: str) -> tuple[Verdict, str, float]:
    """(headline part, joined reasons, smallest alpha) of a combination of parts."""
    if not parts:
        raise ValueError(f"{who} needs at least one part")
    head = parts[headline or next(iter(parts))]
    text = "; ".join(f"{k}: {v.verdict} ({v.reason})" for k, v in parts.items())
    return head, text, min(v.alpha for v in parts.values())


def all_of(parts: dict[str, Verdict], headline: str | None = None) -> Verdict:
    """Conjunction of decided parts: refuted if any part is refuted, supported if every part is,
    else inconclusive. The effect reported is the headline part's (default: the first).
    With parts decided at alpha each, a refutation errs with up to m alpha under the null
    (measured 0.11 for m = 2): use ``conjunction``, which decides refutation at alpha / m."""
    head, text, alpha = _combine(parts, headline, "all_of")
    grid = {k: v for p in parts.values() for k, v in p.grid.items()}
    if any(v.verdict == REFUTED for v in parts.values()):
        verdict = REFUTED
    elif all(v.verdict == SUPPORTED for v in parts.values()):
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    return Verdict(verdict, head.effect, alpha, text, head.claimed, grid, "; ".join(v.power for v in parts.values()
                                                                                     if v.power))


def conjunction(parts, alpha: float = 0.05, headline: str | None = None) -> Verdict:
    """A claim that needs every part: ``parts`` maps a name to f(alpha) -> Verdict. Supported
    iff every part is supported at alpha (an intersection-union test: level alpha as it is);
    refuted iff some part is refuted at alpha / m (Bonferroni over the m parts, since one
    refuted part refutes the whole: the union of m refutations at alpha would err up to m
    alpha); else inconclusive. verdicts.all_of on the parts so decided."""
    m = len(parts)
    out = {}
    for name, f in parts.items():
        v, strict = f(alpha), f(alpha / m)
        if v.verdict == REFUTED and strict.verdict != REFUTED:
            v = replace(v, verdict=INCONCLUSIVE, reason=f"{v.reason}; not at alpha/{m} = {alpha / m:g} "
                                                       f"(Bonferroni over the {m} parts a refutation may come from)")
        elif strict.verdict == REFUTED:
            v = replace(v, verdict=REFUTED, reason=f"{strict.reason} (alpha/{m}, Bonferroni)")
        out[name] = v
    return all_of(out, headline=headline)


def any_of(parts: dict[str, Verdict], headline: str | None = None) -> Verdict:
    """Disjunction over conditions where the claim is meant to hold in each: supported if any
    part is supported and none refuted; refuted only if every part is refuted."""
    head, text, alpha = _combine(parts, headline, "any_of")
    vs = [v.verdict for v in parts.values()]
    verdict = (REFUTED if all(v == REFUTED for v in vs) else
               SUPPORTED if SUPPORTED in vs and REFUTED not in vs else INCONCLUSIVE)
    return Verdict(verdict, head.effect, alpha, text, head.claimed)


# ------------------------------------------------------------------ rules on raw measurements

def paired(a, b, side: str, alpha: float = 0.05, what: str = "mean(a - b)") -> Verdict:
    """Claim: a > b (side="greater") or a < b, paired by seed. Decided by one-sided exact
    sign-flip tests with Student t intervals (stats.one_sample on d = a - b): supported if
    the claimed-direction test rejects and its CI excludes 0; refuted if the opposite one does."""
    check_side(side)
    d = np.asarray(a, float) - np.asarray(b, float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: fewer than 2 complete pairs", f"{side} 0")
    if np.ptp(d) == 0 and d[0] == 0:
        e = Estimate(what, 0.0, 0.0, 0.0, alpha, 1.0, "all differences are 0")
        return Verdict(INCONCLUSIVE, e, alpha, f"{what}: every pair is tied", f"{side} 0",
                       power=_sign_power(d.size, alpha))
    other = "less" if side == "greater" else "greater"
    e = _named(stats.one_sample(d, 0.0, alpha=alpha, alternative=side), what)
    o = _named(stats.one_sample(d, 0.0, alpha=alpha, alternative=other), what)
    v = interval(e, side, 0.0, alpha, opposite=o, what=what)
    return Verdict(v.verdict, v.effect, v.alpha, v.reason, v.claimed, power=_sign_power(d.size, alpha))


def paired_source_gap(a, b, side: str, gap, alpha: float = 0.05, what: str = "mean(a - b)",
                      gap_text: str = "the source's gap") -> Verdict:
    """Claim: a > b (side="greater"; "less" mirrored), paired by seed, by about the source's
    own gap, where the source reports the size of its difference (e.g. "100% vs 98.9%").

    ``paired`` decides the direction. When it cannot, the source's gap decides whether the
    claim, at the size the source states, is excluded: with d = a - b and s = +1 ("greater")
    or -1, e = s d - gap per pair (``gap`` a number, or one per pair, e.g. a fraction of each
    pair's b), H0: mean(e) >= 0 (a difference at least the source's), tested by the exact
    one-sided sign-flip p of mean(e) < 0 with the Student t bound of mean(e):
      supported     the claimed direction (``paired``: its test rejects, CI beyond 0);
      refuted       the opposite direction (``paired``), or the direction is not shown and
                    p < alpha with the bound of mean(e) below 0: the data exclude a difference
                    as large as the source's;
      inconclusive  otherwise.
    Errors at alpha (grokcore/tests/test_verdicts.py simulates them): "supported" when mean(d)
    = 0, <= alpha (``paired``); "refuted" when mean(d) = the gap, <= alpha (the sign-flip test is
    exact for symmetric e; the opposite-direction test adds ~0 there). A difference in the
    claimed direction but smaller than the source's, which the direction test cannot see, is
    refuted at the source's size: the verdict's reason says so."""
    v = paired(a, b, side, alpha, what)
    if v.decided:
        return v
    d = np.asarray(a, float) - np.asarray(b, float)
    g = np.broadcast_to(np.asarray(gap, float), d.shape)
    ok = np.isfinite(d) & np.isfinite(g)
    sgn = 1.0 if side == "greater" else -1.0
    cmp = ">" if side == "greater" else "<"
    g_mean = float(g[ok].mean()) if ok.any() else math.nan
    claimed = f"{cmp} 0, by about {gap_text} ({sgn * g_mean:+.3g})"
    if ok.sum() < 2:
        return replace(v, claimed=claimed)
    e = sgn * d[ok] - g[ok]
    m = stats.one_sample(e, 0.0, alpha=alpha, alternative="less")
    bound = stats.one_sample(d[ok], 0.0, alpha=alpha, alternative="less" if side == "greater" else "greater")
    eff = Estimate(what, bound.value, bound.lo, bound.hi, alpha, m.p,
                   f"{bound.method}; exact sign-flip p of {'' if sgn > 0 else '-'}({what}) - gap < 0",
                   f"{gap_text}: {sgn * g_mean:+.4g} (mean over pairs); mean of the excess over it "
                   f"{m.value:+.4g}, one-sided bound {m.hi:+.4g}")
    if m.p < alpha and m.hi < 0:
        return Verdict(REFUTED, eff, alpha,
                       f"{what} = {bound.value:.4g} (one-sided {1 - alpha:.0%} bound {bound.hi if sgn > 0 else bound.lo:.4g}): "
                       f"{gap_text} ({sgn * g_mean:+.3g}) is excluded (exact sign-flip p = {m.p:.3g} at alpha = "
                       f"{alpha:g}); the direction alone is not shown ({v.reason})", claimed, power=v.power)
    return replace(v, claimed=claimed, reason=f"{v.reason}; {gap_text} ({sgn * g_mean:+.3g}) is not excluded either "
                                              f"(sign-flip p = {m.p:.3g} of an excess over it below 0)")


def one_sample(values, null: float, side: str, alpha: float = 0.05, what: str = "mean") -> Verdict:
    """Claim: mean(values) > null (or < null): exact sign-flip tests of values - null in each
    direction with Student t intervals, as ``paired``; the effect is the level (mean, CI)."""
    check_side(side)
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    cmp = ">" if side == "greater" else "<"
    if v.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: fewer than 2 finite values", f"{cmp} {null:g}")
    if np.all(v == null):
        e = Estimate(what, float(null), float(null), float(null), alpha, 1.0, "every value equals the null")
        return Verdict(INCONCLUSIVE, e, alpha, f"{what}: every value equals {null:g}", f"{cmp} {null:g}",
                       power=_sign_power(v.size, alpha))
    other = "less" if side == "greater" else "greater"
    e = _named(stats.one_sample(v, null, alpha=alpha, alternative=side), what)
    o = _named(stats.one_sample(v, null, alpha=alpha, alternative=other), what)
    r = interval(e, side, null, alpha, opposite=o, what=what)
    return Verdict(r.verdict, r.effect, r.alpha, r.reason, r.claimed, power=_sign_power(v.size, alpha))


def two_groups(a, b, side: str, alpha: float = 0.05, what: str = "a vs b") -> Verdict:
    """Claim: a tends to exceed b (side="greater") or to fall below it; unpaired groups whose
    values may be censored (tied at a common bound). Decided by the one-sided Mann-Whitney
    test in each direction (exact for small groups without ties): supported if the claimed
    direction rejects at alpha, refuted if the opposite one does. The effect reported is the
    difference of means with its Welch t interval (stats.two_sample), the rank-biserial
    r = P(a > b) - P(a < b) in its note."""
    check_side(side)
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: fewer than 2 values in a group", side)
    if np.ptp(np.r_[a, b]) == 0:
        e = Estimate(what, 0.0, math.nan, math.nan, alpha, 1.0, "every value equal")
        return Verdict(INCONCLUSIVE, e, alpha, f"{what}: every value is equal (e.g. all censored)", side)
    other = "less" if side == "greater" else "greater"
    r = stats.two_sample(a, b, alpha=alpha, alternative=side)
    ro = stats.two_sample(a, b, alpha=alpha, alternative=other)
    dm = r.diff_mean
    e = Estimate(what, dm.value, dm.lo, dm.hi, alpha, r.p_mannwhitney, dm.method,
                 f"rank-biserial {r.rank_biserial:+.2f}; opposite p = {ro.p_mannwhitney:.3g}; n = {a.size}, {b.size}")
    cmp = ">" if side == "greater" else "<"
    if r.p_mannwhitney < alpha:
        return Verdict(SUPPORTED, e, alpha, f"{fmt_estimate(e)}: one-sided Mann-Whitney ({cmp}) rejects at alpha = {alpha:g}",
                       f"{cmp} 0")
    if ro.p_mannwhitney < alpha:
        return Verdict(REFUTED, e, alpha, f"{fmt_estimate(e)}: the opposite one-sided Mann-Whitney rejects "
                                          f"(p = {ro.p_mannwhitney:.3g}) at alpha = {alpha:g}", f"{cmp} 0")
    return Verdict(INCONCLUSIVE, e, alpha, f"{fmt_estimate(e)}: Mann-Whitney p = {r.p_mannwhitney:.3g} (claimed), "
                                           f"{ro.p_mannwhitney:.3g} (opposite), alpha = {alpha:g}", f"{cmp} 0",
                   power=_mw_power(a.size, b.size, alpha))


def trend(x, y, side: str, alpha: float = 0.05, what: str = "kendall tau") -> Verdict:
    """Claim: y increases (side="greater") or decreases with x. Kendall tau-b with one-sided
    permutation p-values in each direction (valid with ties, e.g. censored values tied last)
    and a bootstrap CI; supported if the claimed-direction p < alpha, refuted if the opposite
    p < alpha."""
    check_side(side)
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: fewer than 3 pairs or a constant variable "
                                                  "(e.g. every run censored)", f"{side} 0")
    other = "less" if side == "greater" else "greater"
    e = _named(stats.kendall_trend(x, y, alpha=alpha, alternative=side), what)
    o = stats.kendall_trend(x, y, alpha=alpha, alternative=other)
    v = interval(e, side, 0.0, alpha, opposite=o, what=what)
    return v


def rate_difference(k1: int, n1: int, k2: int, n2: int, side: str = "greater", alpha: float = 0.05,
                    what: str = "p1 - p2") -> Verdict:
    """Claim: p1 > p2 (or <): one-sided Fisher exact tests in each direction, Newcombe CIs."""
    check_side(side)
    if n1 == 0 or n2 == 0:
        return Verdict(INCONCLUSIVE, None, alpha, f"{what}: an empty group", f"{side} 0")
    other = "less" if side == "greater" else "greater"
    e = _named(stats.rate_difference(k1, n1, k2, n2, alpha=alpha, alternative=side), what)
    o = stats.rate_difference(k1, n1, k2, n2, alpha=alpha, alternative=other)
    return interval(e, side, 0.0, alpha, opposite=o, what=what)


# ------------------------------------------------------------------ power statements


def paired_t_power(n: int, effect: float, sd: float, alpha: float = 0.05) -> float:
    """Power of the one-sided one-sample t test at level alpha with n pairs when the pairs'
    differences are N(effect, sd^2): P(T > t_{1-alpha, n-1}) for T ~ noncentral t(n - 1,
    effect sqrt(n) / sd). The planning model for ``paired`` (whose sign-flip p is exact for
    symmetric differences, and close to the t test's for normal ones)."""
    from scipy.stats import nct, t

    if n < 2 or not (sd > 0) or not math.isfinite(effect):
        return math.nan
    return float(nct.sf(t.ppf(1 - alpha, n - 1), n - 1, effect * math.sqrt(n) / sd))


def paired_pairs_needed(effect: float, sd: float, alpha: float = 0.05, target: float = 0.8,
                        n_max: int = 500) -> int | None:
    """Smallest n (>= 2) with paired_t_power(n, effect, sd, alpha) >= target; None beyond n_max
    or for an effect <= 0 (no number of pairs detects it in the claimed direction)."""
    if not (effect > 0 and sd > 0):
        return None
    return next((n for n in range(2, n_max + 1) if paired_t_power(n, effect, sd, alpha) >= target), None)


def paired_power_text(d, effects: dict, alpha: float = 0.05, target: float = 0.8, unit: str = "pairs") -> str:
    """What ``paired`` can detect with the measured differences d: for each named effect (the
    source's gap, the observed mean, ...) the power at this many pairs and the pairs needed for
    ``target`` power under the normal model with d's sd (paired_t_power), plus one for the
    leave-one-seed-out gate (it drops the most favourable pair)."""
    d = np.asarray(d, float)
    d = d[np.isfinite(d)]
    if d.size < 2 or not np.std(d, ddof=1) > 0:
        return ""
    sd, n = float(np.std(d, ddof=1)), d.size
    parts = []
    for name, eff in effects.items():
        need = paired_pairs_needed(abs(eff), sd, alpha, target)
        parts.append(f"{name} ({eff:+.3g}): power {paired_t_power(n, abs(eff), sd, alpha):.2f} at {n} {unit}, "
                     + (f"{target:.0%} needs {need + 1} {unit}" if need else f"{target:.0%} needs > 500 {unit}"))
    return (f"normal model, sd of the paired differences {sd:.3g} (measured), one-sided alpha = {alpha:g}, "
            "+1 for leaving one seed out: " + "; ".join(parts))



def _sign_power(n: int, alpha: float) -> str:
    """The smallest one-sided exact sign-flip p with n pairs is 2^-n."""
    need = next(m for m in range(1, 64) if 0.5**m < alpha)
    if 0.5**n >= alpha:
        return (f"with {n} pairs no exact one-sided test can reach p < {alpha:g} (smallest p = 2^-{n} = "
                f"{0.5**n:.3g}); needs >= {need} pairs, more to survive leaving one out")
    return f"{n} pairs: smallest attainable one-sided p = {0.5**n:.3g}; leave-one-out needs >= {need + 1} pairs"


def _mw_power(na: int, nb: int, alpha: float) -> str:
    p_min = 1 / math.comb(na + nb, na)
    return (f"{na} vs {nb} runs: smallest one-sided Mann-Whitney p = {p_min:.3g}; a shift that separates the "
            "groups completely is needed to decide with this many runs" if p_min * 20 > alpha else "")


def _named(e: Estimate, name: str) -> Estimate:
    from dataclasses import replace
    return replace(e, name=name)
