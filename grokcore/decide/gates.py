"""Robustness gates: a verdict must survive half the budget, leaving any seed out, and
losing the grid point nearest its estimate; otherwise it is "inconclusive" and says which
gate moved it.

    decide(rule, data, perturb)  ->  Decision

``rule`` maps data to a grokcore.decide.verdicts.Verdict; ``perturb`` (a Perturbations) knows
how to build the perturbed data sets for this kind of data:

  budget  the same runs read at half their step budget (histories truncated at T/2: a
          run of T/2 steps is the first T/2 steps of a run of T, as training is a
          deterministic function of the config and the step);
  seed    each seed left out in turn;
  grid    per group, the design-grid value nearest the estimate left out (the verdict's
          ``grid`` names the estimate's position per group);
  width   (only where a design has a width check) the same data with the largest group's runs
          replaced by that group's runs at twice the width: an estimate that depends on the
          width there is a width limit, not the claim's law.

Decision rules (``combine``): a gate whose verdict differs from the base verdict moves it
to inconclusive ("budget-limited", "seed-fragile", "grid-limited"). A refutation must also
not be "at this budget only": if the effect at T/2 lies outside the CI at T and further
from the claimed value, the effect is still moving toward the claim as the budget grows,
and the refutation is budget-limited. A gate that cannot be applied (e.g. one seed only,
no budget axis) is recorded as not applicable, never as passed. The card shows the base
verdict's power statement only, so a rule that can skip its own (``with_power=False``) is
applied to the perturbed data without it: a power simulation can cost more than the test.
"""
from __future__ import annotations

import functools
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from grokcore.decide.verdicts import INCONCLUSIVE, REFUTED, Verdict

GATE_NAMES = {"budget": "budget-limited", "seed": "seed-fragile", "grid": "grid-limited", "width": "width-limited",
              "scope": "budget drift (scope, not a veto)"}


@dataclass(frozen=True)
class Gate:
    name: str  # "budget" | "seed" | "grid"
    label: str  # what was perturbed, e.g. "half budget (500 steps)" or "without seed 3"
    verdict: str | None  # None: not applicable
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "verdict": self.verdict, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    verdict: str
    reason: str
    base: Verdict
    gates: tuple[Gate, ...]

    @property
    def moved_gates(self) -> list[str]:
        """Names ("budget", "seed", ...) of the gates that moved a decided base verdict to
        inconclusive (none if the base was); the scope row never moves a verdict."""
        if self.base.verdict == INCONCLUSIVE:
            return []
        return sorted({g.name for g in self.gates
                       if g.verdict is not None and g.verdict != self.base.verdict and g.name != "scope"})

    @property
    def moved_by(self) -> list[str]:
        """moved_gates as the card words them ("budget-limited", "seed-fragile", ...)."""
        return sorted(GATE_NAMES[n] for n in self.moved_gates)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reason": self.reason, "base": self.base.to_dict(),
                "gates": [g.to_dict() for g in self.gates], "moved_by": self.moved_by}


@dataclass(frozen=True)
class Perturbations:
    """Builders of perturbed data. Each returns [(label, data)]; an empty list = not applicable
    (then ``why_not`` says why)."""
    budget: Callable[[object], list] | None = None
    seed: Callable[[object], list] | None = None
    grid: Callable[[object, Verdict], list] | None = None
    why_not: dict = field(default_factory=dict)
    # The source states the budget it measured at, and the claim speaks of that budget, not of a
    # limit: the budget perturbations (e.g. T/2 and 2T) are then reported as the claim's scope
    # (how the estimate drifts with the budget) and do not move the verdict (issue 19's rule).
    budget_is_scope: bool = False
    # A design's width check, [(label, data at 2K where it was checked)]: a gate like the others, applied
    # only where given (claims without a width check keep their three gates).
    width: Callable[[object], list] | None = None


_CMP = re.compile(r"^\s*(?:[A-Za-z_ ]*?)(>=|<=|>|<|=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_IN = re.compile(r"in \[\s*([-+.\deE]+|-?inf)\s*,\s*([-+.\deE]+|-?inf)\s*\]")


def claim_distance(claimed: object) -> Callable[[float], float] | None:
    """How far a value lies from what the rule claims, or None when the claim names no value.

    A number c: |x - c|. "> a", "< a", ">= a", "<= a", "= a" (optionally after a name, e.g.
    "log HR < 0"): |x - a|. "in [lo, hi]": the distance to the interval (0 inside)."""
    if isinstance(claimed, (int, float)) and not isinstance(claimed, bool):
        return lambda x: abs(x - float(claimed)) if math.isfinite(float(claimed)) else math.nan
    if not isinstance(claimed, str):
        return None
    m = _IN.search(claimed)
    if m:
        lo, hi = float(m.group(1)), float(m.group(2))
        return lambda x: max(lo - x, x - hi, 0.0)
    m = _CMP.search(claimed)
    if m:
        a = float(m.group(2))
        return lambda x: abs(x - a)
    return None


def budget_drift(base: Verdict, half: Verdict) -> bool | None:
    """Is a refutation "at this budget only"? True when the effect at T/2 lies outside the CI at
    T and further from the claim (the estimate is still moving toward the claim as the budget
    grows); False when it is not; None when it cannot be checked (no effect, a non-finite one,
    or a claim that names no value): a decision must then say so, not pass silently."""
    b, h, dist = base.effect, half.effect, claim_distance(base.claimed)
    if b is None or h is None or dist is None:
        return None
    if not all(math.isfinite(v) for v in (b.value, h.value)):
        return None
    outside = not (b.lo <= h.value <= b.hi)
    return outside and dist(h.value) > dist(b.value)


def combine(base: Verdict, gates: Sequence[Gate]) -> Decision:
    """The final verdict: the base verdict if every applicable gate agrees, else inconclusive.
    A gate named "scope" (a budget perturbation of a claim judged at its source's budget) is
    reported and never moves the verdict."""
    if base.verdict == INCONCLUSIVE:
        return Decision(INCONCLUSIVE, base.reason, base, tuple(gates))
    moved = [g for g in gates if g.verdict is not None and g.verdict != base.verdict and g.name != "scope"]
    if not moved:
        unchecked = [g for g in gates if g.name == "budget" and "drift toward the claim not checked" in g.detail]
        note = "; budget drift toward the claim not checked (the claim names no value)" if unchecked else ""
        return Decision(base.verdict, base.reason + note, base, tuple(gates))
    why = "; ".join(f"{GATE_NAMES[g.name]}: {g.label} gives {g.verdict}" + (f" ({g.detail})" if g.detail else "")
                    for g in moved[:4])
    more = f"; {len(moved) - 4} more" if len(moved) > 4 else ""
    return Decision(INCONCLUSIVE, f"{base.verdict} at full scale ({base.reason}), but {why}{more}", base, tuple(gates))


def _without_power(rule: Callable[[object], Verdict]) -> Callable[[object], Verdict]:
    """``rule`` as the gates apply it: with with_power=False where it takes that keyword (the
    card reads the base verdict's power only; e.g. finetune-accelerates' log-rank power with
    leave-one-out costs ~1 min at 60 runs per arm, once per gate otherwise)."""
    try:
        params = inspect.signature(rule).parameters
    except (TypeError, ValueError):  # a builtin or an object without a signature: apply as given
        return rule
    return functools.partial(rule, with_power=False) if "with_power" in params else rule


def decide(rule: Callable[[object], Verdict], data: object, perturb: Perturbations | None = None) -> Decision:
    """Apply ``rule`` to ``data`` and to every perturbation (without its power statement where
    it can skip it); combine (see module doc)."""
    base = rule(data)
    perturb, rule = perturb or Perturbations(), _without_power(rule)
    gates: list[Gate] = []
    for name in ("budget", "seed", "grid") + (("width",) if perturb.width is not None else ()):
        build = getattr(perturb, name)
        variants = ([] if build is None else build(data, base) if name == "grid" else build(data))
        if not variants:
            gates.append(Gate(name, perturb.why_not.get(name, "not applicable"), None))
            continue
        for label, d in variants:
            v = rule(d)
            verdict, detail = v.verdict, _effect_text(v)
            if name == "budget" and perturb.budget_is_scope:
                gates.append(Gate("scope", f"{label} (the source's budget is the claim's: reported, not a veto)",
                                  verdict, detail))
                continue
            if name == "budget" and base.verdict == REFUTED and verdict == REFUTED:
                drift = budget_drift(base, v)
                if drift:
                    verdict, detail = INCONCLUSIVE, f"refuted at this budget only: {detail} moves toward the claim " \
                                                     f"({base.claimed}) as the budget doubles"
                elif drift is None:
                    detail += (f"; drift toward the claim not checked: the claim ({base.claimed!r}) or the effect "
                               "names no value to measure it by")
            gates.append(Gate(name, label, verdict, detail))
    return combine(base, gates)


def _effect_text(v: Verdict) -> str:
    e = v.effect
    if e is None:
        return v.reason[:160]
    return f"{e.name} = {e.value:.4g} [{e.lo:.4g}, {e.hi:.4g}]"


# ------------------------------------------------------------------ histories

def truncate(h, budget: int):
    """A History read at ``budget`` steps: curves cut at step <= budget (order parameters at
    order/step <= budget), final parameters dropped (not known at T/2), summary recomputed."""
    from grokcore.base.history import History

    m, keep = h.metrics, h.metrics["step"] <= budget
    out = {}
    okeep = m["order/step"] <= budget if "order/step" in m else None
    for k, v in m.items():
        if k.startswith("param/"):
            continue
        if k.startswith("order/") and okeep is not None and np.ndim(v) >= 1 and len(v) == len(okeep):
            out[k] = v[okeep]
        elif np.ndim(v) >= 1 and len(v) == len(keep):
            out[k] = v[keep]
        else:
            out[k] = v
    return History(h.config.replace(steps=int(budget)), out, h.status, h.wall_s, h.device, {})


def _seed_of(h) -> int:
    return h.config.seed


def half_budget(hists: list) -> list:
    """[("half budget (T/2 steps)", truncated histories)]; T = each run's own budget."""
    if not hists:
        return []
    steps = sorted({h.config.steps for h in hists})
    label = f"half budget ({', '.join(str(s // 2) for s in steps)} steps)"
    return [(label, [truncate(h, h.config.steps // 2) for h in hists])]


def leave_seed_out(hists: list, seed_of: Callable = _seed_of) -> list:
    """[("without seed s", histories of every other seed)] for each seed; [] with < 3 seeds."""
    seeds = sorted({seed_of(h) for h in hists})
    if len(seeds) < 3:
        return []
    return [(f"without seed {s}", [h for h in hists if seed_of(h) != s]) for s in seeds]


def drop_nearest(hists: list, verdict: Verdict, value_of: Callable, group_of: Callable = lambda h: None,
                 log: bool = True) -> list:
    """Per group g in verdict.grid, drop the runs at the grid value nearest the estimate
    verdict.grid[g] (in log units when ``log``); [] when the verdict names no grid estimate."""
    grid = {g: v for g, v in verdict.grid.items() if v is not None and math.isfinite(v)}
    if not grid:
        return []
    drop: dict = {}
    for g, est in grid.items():
        vals = np.array(sorted({value_of(h) for h in hists if group_of(h) == g}), float)
        if vals.size < 3:
            continue
        pos = np.log(vals) if log else vals
        drop[g] = vals[int(np.argmin(np.abs(pos - est)))]
    if not drop:
        return []
    label = "without " + ", ".join(f"{'' if g is None else f'{g}: '}{v:g}" for g, v in drop.items())
    return [(label, [h for h in hists if not (group_of(h) in drop and value_of(h) == drop[group_of(h)])])]


def for_histories(grid_value: Callable | None = None, grid_group: Callable = lambda h: None, log: bool = True,
                  budget: bool = True, seed_of: Callable = _seed_of) -> Perturbations:
    """The standard gates for a list of Histories."""
    grid = None
    if grid_value is not None:
        def grid(hs, v):
            return drop_nearest(hs, v, grid_value, grid_group, log)
    return Perturbations(budget=half_budget if budget else None,
                         seed=lambda hs: leave_seed_out(hs, seed_of), grid=grid,
                         why_not={"budget": "not applicable" if budget else "no budget axis",
                                  "seed": "fewer than 3 seeds", "grid": "no grid estimate"})


def for_seeded_dict(drop: Callable[[dict, int], dict], n_seeds: Callable[[dict], int],
                    budget: Callable[[dict], list] | None = None, why_no_budget: str = "") -> Perturbations:
    """Gates for a claim whose data is a dict of per-seed arrays: ``drop(data, r)`` removes seed
    index r; ``budget(data)`` returns [(label, data at T/2)] or is None (with ``why_no_budget``)."""
    def seeds(d):
        n = n_seeds(d)
        return [] if n < 3 else [(f"without seed #{r}", drop(d, r)) for r in range(n)]
    return Perturbations(budget=budget, seed=seeds,
                         why_not={"budget": why_no_budget or "not applicable", "seed": "fewer than 3 seeds"})


def stability_rows(decisions: Iterable[tuple[str, Decision]]) -> list[dict]:
    """One row per claim: base verdict, final verdict, and each gate's outcome (for notes)."""
    rows = []
    for cid, d in decisions:
        by = {}
        for g in d.gates:
            by.setdefault(g.name, []).append(g.verdict)
        rows.append({"claim": cid, "base": d.base.verdict, "final": d.verdict,
                     **{n: ("n/a" if all(v is None for v in vs) else
                            "ok" if all(v in (None, d.base.verdict) for v in vs) else "moved")
                        for n, vs in by.items()}})
    return rows


__all__ = ["Gate", "Decision", "Perturbations", "decide", "combine", "truncate", "half_budget", "leave_seed_out",
           "drop_nearest", "for_histories", "for_seeded_dict", "stability_rows"]
