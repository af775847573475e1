"""Verdict flips: does a claim's verdict survive another seed or floating-point path?

Runs the fast tier once per condition (base seed x float path), each with a fresh
store, and tabulates every claim's verdict and headline statistic side by side::

  python -m grokcore.suite.flips --seeds 0 1 2 --paths native avx2 --out runs/flips [--reuse] [-- -k grok]
  python -m grokcore.suite.flips compare reports/claims.json reports/claims-fp2.json

A float path sets environment variables that make torch (ATen kernels, MKL,
oneDNN) take other x86 code paths, which round floating point differently; a
verdict that moves with them rests on rounding noise. The table goes to stdout
and OUT/flip_table.md; exit code 1 if any claim's verdict differs between
conditions, 0 if none does, 2 on bad flags or a run that wrote no claims.json.
``compare`` does the same for two existing claims.json files (CI).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

FLOAT_PATHS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}
FLOAT_VARS = sorted({k for env in FLOAT_PATHS.values() for k in env})
MISSING = "missing"  # the "verdict" of a claim that one condition did not record
REPO = Path(__file__).resolve().parents[2]  # holds claims/ in a source checkout


def _rootdir() -> Path:
    """Where pytest runs: the checkout holding claims/, else the current directory."""
    return REPO if (REPO / "claims").is_dir() else Path.cwd()


class FlipsError(RuntimeError):
    """A condition that could not be run or read."""


# ---------------------------------------------------------------- reading verdicts


def _params(nodeid: str) -> str:
    """The parameter part of a nodeid: ``fast-order/rqi`` of ``...::test_order_params[fast-order/rqi]``."""
    name = nodeid.rsplit("::", 1)[-1]
    return name[name.index("[") + 1: name.rindex("]")] if "[" in name and name.endswith("]") else ""


def _label(record: Mapping) -> str:
    """``id[tier]``, or ``id[<params>]`` when the test has parameters beyond the tier."""
    cid, tier, params = record.get("id") or "unknown", record.get("tier"), _params(record.get("nodeid") or "")
    inner = params if params and params != tier else tier
    return f"{cid}[{inner}]" if inner else cid


def load_verdicts(path: str | os.PathLike) -> dict[str, dict]:
    """{label: {verdict, name, value, lo, hi, reason, nodeid, outcome}} from a claims.json.

    Labels are ``id[tier]`` (``grok-delayed[fast]``); a test parametrized beyond the tier
    is labelled by its nodeid's parameters (``order-params[fast-order/rqi]``), so one
    claim checked per parameter keeps one row per parameter. Two test functions that
    check the same claim at the same parameters get ``::<function>`` appended.
    """
    from grokcore.suite.report import load_records  # no torch: just JSON

    records, _ = load_records(path)
    labels = [_label(r) for r in records]
    out: dict[str, dict] = {}
    for label, r in zip(labels, records):
        if labels.count(label) > 1:
            function = (r.get("nodeid") or "").rsplit("::", 1)[-1].split("[", 1)[0]
            label = f"{label}::{function}"
        base, n = label, 2
        while label in out:  # same function and parameters twice: keep both, in file order
            label, n = f"{base}#{n}", n + 1
        head = r.get("headline") if isinstance(r.get("headline"), Mapping) else {}
        reason = (r.get("reason") or "").strip().splitlines()
        out[label] = {"verdict": r.get("verdict") or "error", "name": head.get("name"), "value": head.get("value"),
                      "lo": head.get("lo"), "hi": head.get("hi"), "reason": reason[0] if reason else "",
                      "nodeid": r.get("nodeid"), "outcome": r.get("outcome")}
    return out


def diff(a: Mapping[str, Mapping], b: Mapping[str, Mapping]) -> list[str]:
    """One line per claim whose verdict differs between ``a`` and ``b`` (missing on one side counts)."""
    lines = []
    for label in sorted(set(a) | set(b)):
        va = a[label]["verdict"] if label in a else MISSING
        vb = b[label]["verdict"] if label in b else MISSING
        if va != vb:
            lines.append(f"{label}: {va} -> {vb}")
    return lines


# ---------------------------------------------------------------- the table


def _num(x: object) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "—" if x is None else str(x)
    return f"{x:.3g}"


def _cell(v: Mapping | None) -> str:
    if v is None:
        return MISSING
    if v.get("value") is None and v.get("lo") is None and v.get("hi") is None:
        return str(v["verdict"])
    ci = f" [{_num(v.get('lo'))}, {_num(v.get('hi'))}]" if v.get("lo") is not None or v.get("hi") is not None else ""
    return f"{v['verdict']} ({_num(v.get('value'))}{ci})"


def _column(condition: object) -> str:
    if isinstance(condition, tuple) and len(condition) == 2:
        return f"s{condition[0]}/{condition[1]}"
    return str(condition)


def flips(row: Sequence[Mapping | None]) -> int:
    """Distinct verdicts in a row minus one (a missing claim is a verdict of its own)."""
    return len({v["verdict"] if v is not None else MISSING for v in row}) - 1


def flip_table(results: Mapping[object, Mapping[str, Mapping]]) -> str:
    """Markdown: one row per claim, one column per condition ``s{seed}/{path}``, then ``flips``.

    ``results`` maps (seed, path) -- or any label -- to ``load_verdicts`` output; a cell is
    ``verdict (headline value [lo, hi])``. Ends with a line counting the claims that flip.
    """
    columns = list(results)
    labels = sorted({label for verdicts in results.values() for label in verdicts})
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| claim | " + " | ".join(esc(_column(c)) for c in columns) + " | flips |",
             "|---|" + "---|" * len(columns) + "---:|"]
    flipped = 0
    for label in labels:
        row = [results[c].get(label) for c in columns]
        n = flips(row)
        flipped += n > 0
        lines.append(f"| {esc(label)} | " + " | ".join(esc(_cell(v)) for v in row) + f" | {n} |")
    lines += ["", f"{flipped} of {len(labels)} claims change verdict across {len(columns)} conditions."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- running conditions


def float_env(path: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default os.environ) with the float-path variables of ``path`` (others cleared)."""
    if path not in FLOAT_PATHS:
        raise ValueError(f"unknown float path {path!r}; choose from {', '.join(FLOAT_PATHS)}")
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in FLOAT_VARS}
    env.update(FLOAT_PATHS[path])
    return env


def _parallel(args: Sequence[str]) -> list[str]:
    """``-n 2 --dist loadgroup`` before ``args`` if pytest-xdist is installed and ``args`` choose no -n."""
    chosen = any(a in ("-n", "--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses=")) for a in args)
    if chosen or importlib.util.find_spec("xdist") is None:
        return list(args)
    return ["-n", "2", "--dist", "loadgroup", *args]


def pytest_command(seed: int, out_dir: Path, pytest_args: Sequence[str] = (), tier: str = "fast") -> list[str]:
    return [sys.executable, "-m", "pytest", "claims", "-m", tier, "-p", "no:cacheprovider",
            "--claims-seed", str(seed), "--claims-store", str(out_dir / "store.sqlite"),
            "--claims-report", str(out_dir / "claims.html"), *_parallel(pytest_args)]


def run_condition(seed: int, path: str, out_dir: str | os.PathLike,
                  pytest_args: Sequence[str] | None = None, tier: str = "fast") -> Path:
    """Run ``tier`` (fast, or long) at base seed ``seed`` on float path ``path`` into a fresh ``out_dir``.

    ``pytest_args`` are added to the command, after ``-n 2 --dist loadgroup`` unless they
    pick their own ``-n`` (or xdist is missing). Output goes to out_dir/pytest.log and
    pytest's exit code to out_dir/pytest_rc: a red run (a strict xfail that now passes,
    a failed claim) is a verdict change, not an error. Returns out_dir/claims.json;
    FlipsError if pytest wrote none.
    """
    out_dir = Path(out_dir).resolve()
    env = float_env(path)
    shutil.rmtree(out_dir, ignore_errors=True)  # a fresh store: every claim trains again
    out_dir.mkdir(parents=True)
    cmd = pytest_command(seed, out_dir, pytest_args or (), tier)
    log = out_dir / "pytest.log"
    with log.open("w") as fh:
        fh.write(" ".join(cmd) + "\n" + "".join(f"{k}={v}\n" for k, v in FLOAT_PATHS[path].items()) + "\n")
        fh.flush()
        rc = subprocess.run(cmd, env=env, cwd=_rootdir(), stdout=fh, stderr=subprocess.STDOUT).returncode
    (out_dir / "pytest_rc").write_text(f"{rc}\n")
    claims_json = out_dir / "claims.json"
    if not claims_json.exists():
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:]) if log.exists() else ""
        raise FlipsError(f"s{seed}/{path}: pytest exited {rc} and wrote no {claims_json}\n{tail}")
    return claims_json


# ---------------------------------------------------------------- command line


def compare_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="grokcore flips compare",
                                     description="Compare the verdicts of two claims.json files.")
    parser.add_argument("a", type=Path, help="claims.json of the reference run")
    parser.add_argument("b", type=Path, help="claims.json of the changed run")
    args = parser.parse_args(argv)
    try:
        a, b = load_verdicts(args.a), load_verdicts(args.b)
    except (OSError, ValueError) as exc:
        print(f"grokcore flips compare: cannot read claims: {exc}", file=sys.stderr)
        return 2
    names = (str(args.a), str(args.b)) if str(args.a) != str(args.b) else ("A", "B")
    print(flip_table({names[0]: a, names[1]: b}))
    lines = diff(a, b)
    for line in lines:
        print(f"VERDICT DIFFERS  {line}")
    print(f"{len(lines)} verdict(s) differ between {args.a} and {args.b}" if lines else "all verdicts agree")
    return 1 if lines else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:
        return compare_main(argv[1:])
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(prog="grokcore flips", description=__doc__.split("\n")[0],
                                     epilog="Arguments after -- go to pytest; `compare A.json B.json` diffs two runs.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="base seeds (--claims-seed; default 0 1 2)")
    parser.add_argument("--paths", nargs="+", choices=list(FLOAT_PATHS), default=["native", "avx2"],
                        help="floating-point paths (environment variables for torch; default native avx2)")
    parser.add_argument("--out", type=Path, default=Path("runs/flips"), help="one folder per condition + flip_table.md")
    parser.add_argument("--reuse", action="store_true", help="skip conditions whose claims.json exists")
    parser.add_argument("--tier", choices=("fast", "long"), default="fast",
                        help="the claim tier each condition runs (-m; default fast)")
    args = parser.parse_args(argv)
    results: dict[tuple[int, str], dict] = {}
    for seed in dict.fromkeys(args.seeds):
        for path in dict.fromkeys(args.paths):
            out_dir = args.out / f"s{seed}-{path}"
            claims_json = out_dir / "claims.json"
            try:
                if args.reuse and claims_json.exists():
                    print(f"s{seed}/{path}: reusing {claims_json}", flush=True)
                else:
                    print(f"s{seed}/{path}: running the {args.tier} tier (log: {out_dir / 'pytest.log'})", flush=True)
                    claims_json = run_condition(seed, path, out_dir, extra, args.tier)
                    rc = out_dir / "pytest_rc"
                    print(f"s{seed}/{path}: pytest exit code {rc.read_text().strip() if rc.exists() else '?'}",
                          flush=True)
                results[(seed, path)] = load_verdicts(claims_json)
            except (FlipsError, OSError, ValueError) as exc:
                print(f"grokcore flips: {exc}", file=sys.stderr)
                return 2
    table = flip_table(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "flip_table.md").write_text(table)
    print(table, end="")
    print(f"wrote {args.out / 'flip_table.md'}")
    return 1 if any(flips([v.get(label) for v in results.values()])
                    for label in {k for v in results.values() for k in v}) else 0


if __name__ == "__main__":
    sys.exit(main())
