"""Claim records -> claims.json -> one self-contained HTML report.

A record is the JSON-able dict that the pytest plugin (grokcore.suite.plugin) builds
for each claim test: reference row, what was tested, statistics, verdict,
scale, figures (base64 PNG) and provenance. ``render`` turns a list of records
into a single HTML page (inline CSS, figures as data: URIs, no scripts, no
network), ``write_report`` writes the JSON and the HTML atomically, and
``report_main`` backs ``grokcore report claims.json [-o out.html]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import jinja2

VERDICTS = ("supported", "refuted", "inconclusive", "failed", "error", "skipped")
TEMPLATE = Path(__file__).parent / "templates" / "report.html.j2"
MAX_CONFIGS = 10  # config hashes shown per card; the count says how many more


def jsonable(obj: object) -> object:
    """``obj`` as plain JSON types; non-finite floats become None (strict JSON has no NaN)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return jsonable(obj.tolist())
    return str(obj)


# ---------------------------------------------------------------- formatting


def fmt_num(x: object) -> str:
    """A number for humans: 3 significant digits, scientific outside [1e-3, 1e5)."""
    if x is None or isinstance(x, jinja2.Undefined):
        return "—"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if 100 <= abs(x) < 1e5:  # .3g would print 1840.0 as 1.84e+03
            return f"{x:.0f}"
        return f"{x:.3g}" if x == 0 or 1e-3 <= abs(x) < 1e5 else f"{x:.2e}"
    if isinstance(x, Mapping):
        return ", ".join(f"{k}={fmt_num(v)}" for k, v in x.items())
    if isinstance(x, (list, tuple)):
        shown = ", ".join(fmt_num(v) for v in x[:12])
        return f"[{shown}{', …' if len(x) > 12 else ''}]" + (f" ({len(x)})" if len(x) > 12 else "")
    return str(x)


def fmt_p(p: object) -> str:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or abs(p) > 1e300:  # an int too big for a float
        return "—"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def fmt_ci(stat: Mapping) -> str:
    lo, hi = stat.get("lo"), stat.get("hi")
    return "" if lo is None and hi is None else f"[{fmt_num(lo)}, {fmt_num(hi)}]"


def fmt_duration(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def format_stat(stat: Mapping | None) -> str:
    """One line: ``c = 2.1 [1.6, 2.9]`` (unit after the value)."""
    if not stat:
        return ""
    unit = f" {stat['unit']}" if stat.get("unit") else ""
    ci = fmt_ci(stat)
    return f"{stat.get('name', '?')} = {fmt_num(stat.get('value'))}{unit}" + (f" {ci}" if ci else "")


# ---------------------------------------------------------------- rendering


# A claim with one gate per seed left out (60 chains per arm: 61 gates) gets its gates table folded
# under a one-line tally; the gates that moved the verdict are named above it either way.
MAX_GATES_SHOWN = 12


def _anchor(record: Mapping, taken: set[str]) -> str:
    """``claim-<id>-<tier>``, made HTML-safe and unique (two tests may check one claim)."""
    base = "claim-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{record.get('id') or 'unknown'}-{record.get('tier') or 'na'}")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _view(record: Mapping, taken: set[str]) -> dict:
    """The record with every field the template reads (crashed tests leave most out)."""
    stats = [s for s in record.get("stats") or [] if isinstance(s, Mapping)]
    flagged = next((s for s in stats if s.get("headline")), stats[0] if stats else None)
    headline = record.get("headline") or flagged
    verdict = record.get("verdict") if record.get("verdict") in VERDICTS else "error"
    configs = [str(c) for c in record.get("configs") or []]
    ref = {"claim": "", "quote": "", "numbers": {}, **(record.get("reference") or {})}
    ref["source"] = ref.get("source") or {}
    ref["see_also"] = [q for q in ref.get("see_also") or [] if isinstance(q, Mapping)]
    decision = record.get("decision") if isinstance(record.get("decision"), Mapping) else {}
    gates = [g for g in decision.get("gates") or [] if isinstance(g, Mapping)]
    tally = Counter(g.get("verdict") or "n/a" for g in gates)
    return {
        **record,
        "id": record.get("id") or "unknown",
        "gates": gates,
        # "61 gates: 61 supported", verdicts in VERDICTS order: the line a collapsed gates table shows
        "gates_tally": ", ".join(f"{tally[v]} {v}" for v in [*VERDICTS, *sorted(set(tally) - set(VERDICTS))] if tally[v]),
        "gates_collapsed": len(gates) > MAX_GATES_SHOWN,
        "tier": record.get("tier") or "",
        "anchor": _anchor(record, taken),
        "verdict": verdict,
        "reference": ref,
        "stats": stats,
        "headline": headline,
        "figures": [f for f in record.get("figures") or [] if isinstance(f, Mapping) and f.get("png_b64")],
        "scale": record.get("scale") or {},
        "notes": record.get("notes") or [],
        "configs_shown": configs[:MAX_CONFIGS],
        "configs_count": len(configs),
        "versions": record.get("versions") or {},
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        autoescape=True,  # every string in a record is untrusted text
        undefined=jinja2.ChainableUndefined,  # a missing field renders empty, never raises
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_num, p=fmt_p, ci=fmt_ci, duration=fmt_duration, stat=format_stat)
    return env


def render(records: Sequence[Mapping], meta: Mapping) -> str:
    """One self-contained HTML page for ``records``."""
    taken: set[str] = set()
    views = [_view(r, taken) for r in records]
    counts = Counter(v["verdict"] for v in views)
    return _environment().get_template(TEMPLATE.name).render(
        records=views,
        meta={"title": "grokcore claims report", **meta},
        counts=[(v, counts[v]) for v in VERDICTS if counts[v]],
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
    )


# ---------------------------------------------------------------- files


def _atomic_write(path: Path, text: str) -> None:
    """Write a sibling temp file, then rename: readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same filesystem, so os.replace is atomic
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_report(records: Sequence[Mapping], meta: Mapping, html_path: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``<html_path stem>.json`` (meta + records) and the HTML beside it; return both paths."""
    html_path = Path(html_path)
    json_path = html_path.with_suffix(".json")
    payload = jsonable({"meta": meta, "claims": list(records)})
    _atomic_write(json_path, json.dumps(payload, indent=1, allow_nan=False))
    _atomic_write(html_path, render(payload["claims"], payload["meta"]))
    return json_path, html_path


def _finite(text: str) -> float:
    """json parse_float/parse_constant hook: strict JSON has no NaN or Infinity (write_report
    never writes them), and 1e400 would parse as inf."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite number {text} (not strict JSON)")
    return value


def load_records(json_path: str | os.PathLike) -> tuple[list[dict], dict]:
    """(records, meta) from a claims.json; ValueError if it is not one (wrong top-level
    shape, a record that is not an object, meta not an object, a non-finite number)."""
    data = json.loads(Path(json_path).read_text(encoding="utf-8"), parse_float=_finite, parse_constant=_finite)
    if isinstance(data, list):  # a bare list of records is accepted too
        data = {"claims": data}
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError("expected an object with a 'claims' list")
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise ValueError(f"'meta' must be an object, got {_json_type(meta)}")
    for i, record in enumerate(data["claims"]):
        if not isinstance(record, dict):
            raise ValueError(f"claims[{i}] must be an object, got {_json_type(record)}")
    return data["claims"], meta


def _json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


# What the template reads from a record and from meta, with the JSON type each field must
# have when present (null counts as absent). Checked before rendering, so a claims.json of
# the wrong shape gets one line naming the field, not a traceback from inside the template.
_RECORD_SHAPE: dict[str, type] = {
    "reference": dict, "scale": dict, "versions": dict, "decision": dict, "rule": dict, "headline": dict,
    "stats": list, "figures": list, "configs": list, "notes": list, "reason": str,
}
_NESTED_SHAPE: dict[str, dict[str, type]] = {
    "reference": {"source": dict, "see_also": list},
    "decision": {"gates": list, "moved_by": list},
}
_SOURCE_SHAPE: dict[str, type] = {"title": str, "id": str}  # truncated as text in the summary table
_META_SHAPE: dict[str, type] = {"versions": dict, "args": list}


def _shape_errors(obj: Mapping, shape: Mapping[str, type], where: str) -> Iterator[str]:
    for field, want in shape.items():
        value = obj.get(field)
        if value is not None and not isinstance(value, want):
            yield f"{where}.{field} must be {_json_type(want())}, got {_json_type(value)}"


def shape_errors(records: Sequence[Mapping], meta: Mapping) -> list[str]:
    """Every field of ``records`` and ``meta`` whose JSON type the report cannot render."""
    errors = list(_shape_errors(meta, _META_SHAPE, "meta"))
    for i, record in enumerate(records):
        where = f"claims[{i}]"
        errors += _shape_errors(record, _RECORD_SHAPE, where)
        for field, shape in _NESTED_SHAPE.items():
            if isinstance(record.get(field), Mapping):
                errors += _shape_errors(record[field], shape, f"{where}.{field}")
        ref = record.get("reference")
        if isinstance(ref, Mapping) and isinstance(ref.get("source"), Mapping):
            errors += _shape_errors(ref["source"], _SOURCE_SHAPE, f"{where}.reference.source")
    return errors


def _output_error(json_path: Path, out: Path) -> str | None:
    """Why ``out`` must not be written, or None: it is the input (the records would be lost
    under HTML) or a .json path (where records, not a page, belong)."""
    same = out.resolve() == json_path.resolve() or (out.exists() and json_path.exists()
                                                    and os.path.samefile(out, json_path))
    if same:
        return f"refusing to write the report over its input {json_path}; choose another -o"
    if out.suffix.lower() == ".json":
        return f"refusing to write HTML to {out}: a .json path is for records; name the report .html"
    return None


def report_main(argv: Sequence[str] | None = None) -> int:
    """``grokcore report claims.json [-o out.html]``: re-render the HTML report. Exit 2, with
    one line, for input that is not a claims.json of the right shape or an output path that
    would overwrite it."""
    parser = argparse.ArgumentParser(prog="grokcore report", description="Re-render the HTML report of a claims.json.")
    parser.add_argument("json_path", type=Path, help="claims.json written by a pytest run")
    parser.add_argument("-o", "--output", type=Path, help="HTML file to write (default: beside the JSON, .html)")
    args = parser.parse_args(argv)
    out = args.output or args.json_path.with_suffix(".html")
    if problem := _output_error(args.json_path, out):
        print(f"grokcore report: {problem}", file=sys.stderr)
        return 2
    try:
        records, meta = load_records(args.json_path)
        if errors := shape_errors(records, meta):
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ValueError(errors[0] + more)
    except (OSError, ValueError) as exc:
        print(f"grokcore report: cannot read {args.json_path}: {exc}", file=sys.stderr)
        return 2
    try:
        html = render(records, meta)
    except (TypeError, ValueError, AttributeError, OverflowError, jinja2.TemplateError) as exc:
        # A field of a type shape_errors does not know about: still one line, naming the input.
        print(f"grokcore report: cannot render {args.json_path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    _atomic_write(out, html)
    print(f"grokcore report: wrote {out} ({len(records)} claims)")
    return 0
