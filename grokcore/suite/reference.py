"""Reference rows: what each source claims, loaded from fixtures/*.toml.

Each TOML file names its sources and quotes claims from them::

    [sources.seed000]                      # one table per source ([source] if the file has one)
    id = "seed000"; file = "seeds/000_....txt"; title = "..."; citation = "..."; setting = "..."
    [claims."li2-boundary"]
    source_id = "seed000"                  # omitted when the file has a single [source]
    claim = "one line"; quote = "..."; quote_location = "..."; numbers = { c = 1 }; test = "..."
    [[claims."li2-boundary".see_also]]     # optional supporting or qualifying quotes
    source_id = "tian2025"; quote = "..."; quote_location = "..."

A loaded row carries its source table under "source" (and each see_also quote
under its own "source"), so a report needs nothing else. The fixtures
directory is the repository's ``fixtures/`` unless ``GROKCORE_FIXTURES`` (or an
explicit ``root``) says otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ENV_VAR = "GROKCORE_FIXTURES"


def fixtures_root(root: str | os.PathLike | None = None) -> Path:
    """The directory holding the reference TOML files."""
    if root is not None:
        return Path(root)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "fixtures"


def _load_file(path: Path) -> dict[str, dict]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = {sid: {"id": sid, "fixture": path.name, **table} for sid, table in data.get("sources", {}).items()}
    single = {"fixture": path.name, **data.get("source", {})}

    def source_of(claim_id: str, row: dict) -> dict:
        sid = row.get("source_id")
        if sid is None:
            return single
        if sid not in sources:  # a typo here would silently cite nothing
            raise ValueError(f"{path.name}: claim {claim_id!r} cites unknown source_id {sid!r}")
        return sources[sid]

    return {
        claim_id: {
            "id": claim_id, "claim": "", "quote": "", "numbers": {}, "test": "", **row,
            "source": source_of(claim_id, row),
            "see_also": [{**q, "source": source_of(claim_id, q)} for q in row.get("see_also", [])],
        }
        for claim_id, row in data.get("claims", {}).items()
    }


def all_references(root: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every claim row under ``root``, keyed by claim id."""
    refs: dict[str, dict] = {}
    for path in sorted(fixtures_root(root).glob("*.toml")):
        for claim_id, row in _load_file(path).items():
            if claim_id in refs:  # an overwrite would attach the wrong quote to a verdict
                first = refs[claim_id]["source"]["fixture"]
                raise ValueError(f"claim {claim_id!r} is defined in both {first} and {path.name}")
            refs[claim_id] = row
    return refs


def load_reference(claim_id: str, root: str | os.PathLike | None = None) -> dict:
    """The row for ``claim_id``: {id, claim, quote, numbers, test, source, see_also, ...}."""
    refs = all_references(root)
    if claim_id not in refs:
        known = ", ".join(sorted(refs)) or "none"
        raise KeyError(f"unknown claim id {claim_id!r} in {fixtures_root(root)}; known ids: {known}")
    return refs[claim_id]
