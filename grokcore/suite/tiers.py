"""The cost tiers of a claim test and the marks claim modules use.

``fast``: every claim at reduced scale on a laptop CPU; ``gpu``: paper scale on a CUDA device;
``long`` (pyproject.toml) is not a tier of every claim: only the claims the fast tier cannot
decide carry it, so --claims-plan plans it only when -m selects it."""
from __future__ import annotations

import re

import pytest

MARKERS = {"fast": "every claim at reduced scale, CPU", "gpu": "paper scale, needs a GPU"}
TIERS = [pytest.param("fast", marks=pytest.mark.fast, id="fast"), pytest.param("gpu", marks=pytest.mark.gpu, id="gpu")]
PINNED = "pinned refuted at this tier (strict xfail): the verdict is the measured message"


_TIER_MARKS = {"fast": pytest.mark.fast, "gpu": pytest.mark.gpu}


def _marks(tier_mark: pytest.MarkDecorator, pinned: bool) -> list:
    # a pinned claim is a strict xfail whose report reason is the measured failure message
    return [tier_mark, pytest.mark.xfail(strict=True, reason=PINNED)] if pinned else [tier_mark]


def pinned_refuted(tier: str = "fast") -> list:
    """Tier params for a claim that does not reproduce at ``tier``: a strict xfail there, whose
    report reason is the measured failure message (not a stored string)."""
    return [pytest.param(t, marks=_marks(m, t == tier), id=t) for t, m in _TIER_MARKS.items()]


def condition_params(conditions, label, pinned=()) -> list:
    """(tier, condition) params for a claim decided once per condition (one claim record each),
    id "<tier>-<label(condition)>"; the (tier, condition) pairs in ``pinned`` are pinned refuted."""
    return [pytest.param(t, c, marks=_marks(m, (t, c) in pinned), id=f"{t}-{label(c)}")
            for t, m in _TIER_MARKS.items() for c in conditions]


def share_sweep(name: str) -> pytest.MarkDecorator:
    """Mark tests that share a sweep so xdist runs them on one worker (``--dist loadgroup``)."""
    return pytest.mark.xdist_group(name)


_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def marker_expression_selects(markexpr: str, marker: str) -> bool:
    """Whether pytest's -m expression selects a test that carries exactly ``marker``.

    The -m grammar (pytest's docs): identifiers, ``not``, ``and``, ``or``, parentheses;
    precedence not > and > or. Parsed here by recursive descent (pytest's own parser is
    private API); a malformed expression raises ValueError."""
    tokens = [t for t in _TOKEN.findall(markexpr)]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"-m {markexpr!r}: unexpected end")
        pos += 1
        return tokens[pos - 1]

    def atom() -> bool:
        t = take()
        if t == "not":
            return not atom()
        if t == "(":
            v = disj()
            if take() != ")":
                raise ValueError(f"-m {markexpr!r}: expected )")
            return v
        if t in (")", "and", "or"):
            raise ValueError(f"-m {markexpr!r}: unexpected {t!r}")
        return t == marker

    def conj() -> bool:
        v = atom()
        while peek() == "and":
            take()
            v = atom() and v
        return v

    def disj() -> bool:
        v = conj()
        while peek() == "or":
            take()
            v = conj() or v
        return v

    v = disj()
    if pos != len(tokens):
        raise ValueError(f"-m {markexpr!r}: unexpected {tokens[pos]!r}")
    return v


def plan_tiers(markexpr: str) -> list[str]:
    """The tiers a -m expression selects (a claim test carries exactly one tier marker);
    fast and gpu when the expression is empty or selects no tier; `long` (only the claims that
    have it) when the expression selects it."""
    if not markexpr:
        return list(MARKERS)
    chosen = [t for t in (*MARKERS, "long") if marker_expression_selects(markexpr, t)]
    return chosen or list(MARKERS)
