"""The ``claim`` recorder: what one claim test measured (its card in the report), and how a
test's pytest outcome becomes a verdict (``outcome_verdict``)."""
from __future__ import annotations

import base64
import functools
import inspect
import io
import os
import time

import pytest

from grokcore.suite import report
from grokcore.suite.device import describe_device, git_commit, now, versions
from grokcore.suite.reference import all_references, load_reference
from grokcore.suite.tiers import MARKERS

CONCLUSIONS = ("supported", "inconclusive")  # "refuted" comes from a strict xfail


def rule_statement(rule) -> dict:
    """The rule's name and docstring, which states its operational question: the card shows it,
    so a rule is stated once, where it is implemented (functools.partial: the wrapped function)."""
    fn = rule.func if isinstance(rule, functools.partial) else rule
    return {"name": f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}".lstrip("."),
            "doc": inspect.getdoc(fn) or ""}


class Claim:
    """What one claim test measured (the ``claim`` fixture); ``record()`` is its JSON form."""

    def __init__(self, item: pytest.Item, device: str | None) -> None:
        groups = "_".join(sorted(str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                                 for m in item.iter_markers("xdist_group")))
        self.nodeid = item.nodeid.removesuffix(f"@{groups}")  # xdist's loadgroup suffix
        params = getattr(item, "callspec", None)
        marked = next((t for t in MARKERS if item.get_closest_marker(t)), None)
        self.tier = params.params.get("tier", marked) if params else marked
        self.device = device
        # a test named test_<id> needs no reference() call: its id and row are known up front
        self.id = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", "-")
        self._reference, self._notes = {}, []
        try:
            self._reference = all_references().get(self.id, {})
        except (OSError, ValueError) as exc:  # a broken fixtures file should not hide the verdict
            self._notes.append(f"fixtures unreadable: {exc}")
        self._tested, self._alpha, self._scale, self._stats, self._figures, self._configs = "", None, {}, [], [], []
        self.verdict, self.reason, self.decision = None, "", None
        self._rule: dict | None = None
        self._started, self._t0 = now(), time.perf_counter()

    def reference(self, claim_id: str) -> dict:
        """Attach the fixtures row of ``claim_id`` (KeyError if unknown) and return it."""
        self._reference, self.id = load_reference(claim_id), claim_id
        return self._reference

    def tested(self, text: str, alpha: float | None = None) -> None:
        """What exactly was tested, including the statistic and α."""
        self._tested, self._alpha = text, alpha if alpha is not None else self._alpha

    def scale(self, **grid: object) -> None:
        """The grid measured at this tier (M values, seeds, width, steps, ...)."""
        self._scale.update(report.jsonable(grid))

    def stat(self, name: str, est: object, claimed: object = None, headline: bool = False, unit: str = "") -> None:
        """One statistic: an Estimate (or anything with ``to_dict``), a dict, or a number."""
        fields = report.jsonable(est)
        fields = fields if isinstance(fields, dict) else {"value": fields}
        for s in self._stats if headline else ():  # one headline per claim
            s["headline"] = False
        claimed = report.jsonable(claimed)
        self._stats.append({**fields, "name": name, "claimed": claimed, "unit": unit, "headline": headline})

    def figure(self, fig: object, title: str, caption: str = "") -> None:
        """Embed a matplotlib figure as PNG and close it."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", facecolor="white")
        plt.close(fig)
        self._figures.append({"title": title, "caption": caption, "png_b64": base64.b64encode(buf.getvalue()).decode()})

    def configs(self, hashes: object) -> None:
        """Run keys (config hashes) the verdict rests on."""
        self._configs.extend(str(h) for h in hashes)

    def conclude(self, verdict: str, reason: str) -> None:
        """The verdict if the test passes; a failed assertion still wins."""
        if verdict not in CONCLUSIONS:
            raise ValueError(f"verdict must be one of {CONCLUSIONS}; mark refuted claims xfail(strict=True)")
        self.verdict, self.reason = verdict, reason

    def note(self, text: str) -> None:
        self._notes.append(text)

    def decide(self, rule, data, perturb=None, effect_name: str | None = None, headline: bool = True,
               to_decide: dict[str, str] | None = None):
        """Decide the claim: ``rule(data)`` -> Verdict, re-run under the robustness gates
        (grokcore.decide.gates.decide), recorded with every gate's outcome. The effect becomes the
        headline statistic. A refutation raises AssertionError with the measured reason (the
        claim's test is then a strict xfail, or it fails); otherwise the verdict is concluded.
        to_decide: per gate name ("budget", "seed", "grid", "width"), the scale that would decide
        a verdict that gate moved to inconclusive; the card notes it for each gate that did."""
        from grokcore.decide import gates

        self._rule = rule_statement(rule)
        d = gates.decide(rule, data, perturb)
        self.decision = d
        if d.base.effect is not None:
            self.stat(effect_name or d.base.effect.name, d.base.effect, claimed=d.base.claimed, headline=headline)
        if d.base.power:
            self.note(f"power: {d.base.power}")
        for name in d.moved_gates if d.verdict == "inconclusive" else ():
            if name in (to_decide or {}):
                self.note(f"to decide ({gates.GATE_NAMES[name]}): {to_decide[name]}")
        if self._alpha is None:
            self._alpha = d.base.alpha
        if d.verdict == "refuted":
            self.verdict, self.reason = None, ""
            raise AssertionError(f"refuted: {d.reason}")
        self.conclude(d.verdict, d.reason)
        return d

    def record(self) -> dict:
        headline = next((s for s in self._stats if s["headline"]), self._stats[0] if self._stats else None)
        return {
            "id": self.id, "nodeid": self.nodeid, "tier": self.tier,
            "reference": {k: v for k, v in self._reference.items() if k != "id"},
            "tested": self._tested, "rule": self._rule, "scale": self._scale, "stats": self._stats, "headline": headline,
            "figures": self._figures, "configs": self._configs, "notes": self._notes,
            "verdict": self.verdict, "reason": self.reason,
            "decision": self.decision.to_dict() if self.decision is not None else None,
            "alpha": self._alpha if self._alpha is not None else (headline or {}).get("alpha"),
            "wall_s": time.perf_counter() - self._t0, "device": describe_device(self.device),
            "worker": os.environ.get("PYTEST_XDIST_WORKER"), "versions": versions(),
            "git_commit": git_commit(), "started": self._started, "outcome": None,
        }


def outcome_verdict(call: pytest.CallInfo, rep: pytest.TestReport, claim: Claim | None) -> tuple[str, str, str]:
    """(verdict, reason, pytest outcome) of a claim test's report for one phase."""
    exc, xfail = call.excinfo, getattr(rep, "wasxfail", None)
    message = str(exc.value).strip()[:1500] if exc else ""
    last_line = (exc.exconly().strip() if exc else (rep.longreprtext.strip().splitlines() or [""])[-1])[:500]
    if rep.skipped and xfail is None:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        return "skipped", reason.removeprefix("Skipped: "), "skipped"
    if rep.when != "call":
        return "error", f"{rep.when}: {last_line}", "error"
    if rep.skipped:  # xfailed: only a failed assertion (or pytest.xfail) measures a refutation
        if exc is not None and exc.errisinstance(pytest.xfail.Exception):
            return "refuted", xfail, "xfailed"
        if exc is not None and exc.errisinstance(AssertionError):
            return "refuted", message.removeprefix("refuted: "), "xfailed"
        return "error", f"expected a failed assertion, got {last_line}", "xfailed"
    if xfail is not None or (rep.failed and exc is None):  # XPASS; strict XPASS fails with no exception
        measured = (claim.verdict or "supported") if claim else "supported"
        why = f": {claim.reason}" if claim and claim.reason else ""
        return measured, f"pinned refuted at this tier, measured {measured}{why} (strict xfail: the test fails)", "xpassed"
    if rep.failed:
        if exc.errisinstance(AssertionError) and claim is not None and claim.decision is not None:
            return "refuted", message.removeprefix("refuted: "), "failed"  # refuted, but not pinned
        return ("failed", message, "failed") if exc.errisinstance(AssertionError) else ("error", last_line, "error")
    return (claim and claim.verdict) or "supported", claim.reason if claim else "", "passed"
