"""Reference rows: what each source claims, loaded from fixtures/*.toml.

One TOML file per source. Its ``[source]`` table says where the claims come
from; each ``[claims.<id>]`` table quotes one claim and gives the source's
numbers::

    [source]
    id = "seed000"; file = "seeds/000_....txt"; title = "..."; citation = "Tian, arXiv 2509.21519"
    [claims.li2-boundary]
    quote = "..."; claim = "one-line statement"; numbers = { ratio_crit_M71 = 0.06 }; test = "..."

The fixtures directory is the repository's ``fixtures/`` unless the
``GROKCORE_FIXTURES`` environment variable (or an explicit ``root``) says
otherwise.
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
    return Path(env) if env else Path(__file__).resolve().parents[1] / "fixtures"


def all_references(root: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every claim row under ``root``, keyed by claim id."""
    refs: dict[str, dict] = {}
    for path in sorted(fixtures_root(root).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        source = {"fixture": path.name, **data.get("source", {})}
        for claim_id, row in data.get("claims", {}).items():
            if claim_id in refs:  # a silent overwrite would attach the wrong quote to a verdict
                other = refs[claim_id]["source"]["fixture"]
                raise ValueError(f"claim {claim_id!r} is defined in both {other} and {path.name}")
            refs[claim_id] = {
                "id": claim_id,
                "claim": "",
                "quote": "",
                "numbers": {},
                "test": "",
                **row,
                "source": source,
            }
    return refs


def load_reference(claim_id: str, root: str | os.PathLike | None = None) -> dict:
    """The row for ``claim_id``: {id, claim, quote, numbers, test, source}."""
    refs = all_references(root)
    if claim_id not in refs:
        known = ", ".join(sorted(refs)) or "none"
        raise KeyError(f"unknown claim id {claim_id!r} in {fixtures_root(root)}; known ids: {known}")
    return refs[claim_id]
