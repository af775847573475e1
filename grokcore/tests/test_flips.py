"""Tests of grokcore.suite.flips on fabricated claims.json files: no training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grokcore.suite import cli, flips
from grokcore.suite.flips import FLOAT_PATHS, diff, flip_table, load_verdicts, run_condition

ORDER = ["order/rqi", "order/eff_rank", "order/pr", "order/kernel_align", "order/fourier_snr"]


def record(claim_id: str, verdict: str, value: float | None = None, lo: float | None = None,
           hi: float | None = None, nodeid: str | None = None, tier: str = "fast", reason: str = "") -> dict:
    headline = None if value is None else {"name": "c", "value": value, "lo": lo, "hi": hi, "headline": True}
    return {"id": claim_id, "tier": tier, "verdict": verdict, "reason": reason, "headline": headline,
            "stats": [headline] if headline else [], "outcome": "passed",
            "nodeid": nodeid or f"claims/test_x.py::test_{claim_id.replace('-', '_')}[{tier}]"}


def order_records(verdicts: dict[str, str]) -> list[dict]:
    return [record("order-params", verdicts.get(p, "supported"), 0.5, 0.1, 0.9,
                   nodeid=f"claims/test_empirical.py::test_order_params[fast-{p}]") for p in ORDER]


def write(tmp_path: Path, name: str, records: list[dict]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"meta": {"seed": 0}, "claims": records}))
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two runs: grok-delayed and one order parameter flip, li2-boundary is missing from B."""
    a = [record("grok-delayed", "supported", 3.14159, 2.0, 4.5, reason="lag > 0\nsecond line"),
         record("li2-boundary", "supported", 1.234567, 1.1, 1.4),
         record("detection-robust", "refuted", reason="rule changes verdict"),
         *order_records({})]
    b = [record("grok-delayed", "inconclusive", 1.98765, -0.2, 4.1),
         record("detection-robust", "refuted"),
         *order_records({"order/pr": "refuted"})]
    return write(tmp_path, "a.json", a), write(tmp_path, "b.json", b)


def test_load_verdicts_labels_and_fields(pair):
    v = load_verdicts(pair[0])
    assert set(v) == {"grok-delayed[fast]", "li2-boundary[fast]", "detection-robust[fast]",
                      *(f"order-params[fast-{p}]" for p in ORDER)}
    g = v["grok-delayed[fast]"]
    assert (g["verdict"], g["name"], g["value"], g["lo"], g["hi"]) == ("supported", "c", 3.14159, 2.0, 4.5)
    assert g["reason"] == "lag > 0"
    assert v["detection-robust[fast]"]["value"] is None


def test_load_verdicts_same_claim_twice_and_no_tier(tmp_path):
    """Two functions checking one claim at one tier keep separate rows."""
    path = write(tmp_path, "c.json", [
        record("curriculum", "supported", nodeid="claims/test_slt.py::test_curriculum_vs_direct[fast]"),
        record("curriculum", "refuted", nodeid="claims/test_slt.py::test_curriculum_llc[fast]"),
        record("plain", "supported", nodeid="claims/test_y.py::test_plain", tier=None),
    ])
    assert set(load_verdicts(path)) == {"curriculum[fast]::test_curriculum_vs_direct",
                                        "curriculum[fast]::test_curriculum_llc", "plain"}


def test_load_verdicts_bare_list_and_bad_file(tmp_path):
    p = tmp_path / "list.json"
    p.write_text(json.dumps([record("x", "supported")]))
    assert list(load_verdicts(p)) == ["x[fast]"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nope": 1}))
    with pytest.raises(ValueError):
        load_verdicts(bad)


def test_diff(pair):
    a, b = map(load_verdicts, pair)
    assert diff(a, b) == ["grok-delayed[fast]: supported -> inconclusive",
                          "li2-boundary[fast]: supported -> missing",
                          "order-params[fast-order/pr]: supported -> refuted"]
    assert diff(b, a)[1] == "li2-boundary[fast]: missing -> supported"
    assert diff(a, a) == []


def test_flip_table(pair):
    a, b = map(load_verdicts, pair)
    table = flip_table({(0, "native"): a, (1, "avx2"): b})
    lines = table.splitlines()
    assert lines[0] == "| claim | s0/native | s1/avx2 | flips |"
    rows = {ln.split(" | ")[0].removeprefix("| "): ln for ln in lines[2:] if ln.startswith("| ")}
    assert len(rows) == 3 + len(ORDER)
    assert rows["grok-delayed[fast]"] == ("| grok-delayed[fast] | supported (3.14 [2, 4.5]) "
                                          "| inconclusive (1.99 [-0.2, 4.1]) | 1 |")
    assert rows["li2-boundary[fast]"].endswith("| supported (1.23 [1.1, 1.4]) | missing | 1 |")
    assert rows["detection-robust[fast]"].endswith("| refuted | refuted | 0 |")
    assert rows["order-params[fast-order/pr]"].endswith("| 1 |")
    assert rows["order-params[fast-order/rqi]"].endswith("| 0 |")
    assert lines[-1] == "3 of 8 claims change verdict across 2 conditions."


def test_flip_table_three_conditions_counts_distinct_verdicts(tmp_path):
    runs = {(s, "native"): {"x[fast]": {"verdict": v, "value": None, "lo": None, "hi": None}}
            for s, v in enumerate(["supported", "refuted", "inconclusive"])}
    table = flip_table(runs)
    assert "| x[fast] | supported | refuted | inconclusive | 2 |" in table
    assert table.rstrip().endswith("1 of 1 claims change verdict across 3 conditions.")


def test_compare_exit_codes(pair, tmp_path, capsys):
    a, b = pair
    assert flips.main(["compare", str(a), str(a)]) == 0
    assert "all verdicts agree" in capsys.readouterr().out
    assert flips.main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "| claim | " in out and "VERDICT DIFFERS  li2-boundary[fast]: supported -> missing" in out
    assert "3 verdict(s) differ" in out
    assert flips.main(["compare", str(a), str(tmp_path / "absent.json")]) == 2
    with pytest.raises(SystemExit) as exc:
        flips.main(["compare", str(a)])
    assert exc.value.code == 2


def test_compare_module_entry_point(pair):
    a, b = pair
    run = subprocess.run([sys.executable, "-m", "grokcore.suite.flips", "compare", str(a), str(b)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "order-params[fast-order/pr]: supported -> refuted" in run.stdout


class FakeRun:
    """Stands in for subprocess.run: records the call and writes what pytest would."""

    def __init__(self, rc: int = 0, write_json: bool = True) -> None:
        self.calls, self.rc, self.write_json = [], rc, write_json

    def __call__(self, cmd, env=None, cwd=None, stdout=None, stderr=None, **kw):
        self.calls.append({"cmd": cmd, "env": env, "cwd": cwd})
        report = Path(cmd[cmd.index("--claims-report") + 1])
        if self.write_json:
            report.with_suffix(".json").write_text(json.dumps({"claims": [record("x", "refuted")]}))
        return subprocess.CompletedProcess(cmd, self.rc)


def test_run_condition_command_and_env(tmp_path, monkeypatch):
    fake = FakeRun(rc=1)  # a red run (strict xfail XPASS) still yields verdicts
    monkeypatch.setattr(flips.subprocess, "run", fake)
    monkeypatch.setattr(flips.importlib.util, "find_spec", lambda name: object())  # as if xdist is installed
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx512")  # inherited: must not leak into another path
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    out = tmp_path / "s3-default"
    out.mkdir()
    (out / "store.sqlite").write_text("stale")  # a fresh store: out_dir is emptied first
    path = run_condition(3, "default", out, ["-k", "grok"])
    assert path == out.resolve() / "claims.json" and path.exists()
    assert not (out / "store.sqlite").exists()
    assert (out / "pytest_rc").read_text().strip() == "1"
    (call,) = fake.calls
    o = out.resolve()
    assert call["cmd"] == [sys.executable, "-m", "pytest", "claims", "-m", "fast", "-p", "no:cacheprovider",
                           "--claims-seed", "3", "--claims-store", str(o / "store.sqlite"),
                           "--claims-report", str(o / "claims.html"),
                           "-n", "2", "--dist", "loadgroup", "-k", "grok"]
    env = call["env"]
    for key, value in FLOAT_PATHS["default"].items():
        assert env[key] == value
    assert env["SOMETHING_ELSE"] == "kept"
    assert (Path(call["cwd"]) / "claims").is_dir()


def test_run_condition_long_tier(tmp_path, monkeypatch):
    fake = FakeRun(rc=0)
    monkeypatch.setattr(flips.subprocess, "run", fake)
    monkeypatch.setattr(flips.importlib.util, "find_spec", lambda name: object())
    run_condition(1, "native", tmp_path / "l", tier="long")
    (call,) = fake.calls
    assert call["cmd"][3:6] == ["claims", "-m", "long"]


def test_run_condition_native_clears_float_vars_and_respects_own_n(tmp_path, monkeypatch):
    fake = FakeRun()
    monkeypatch.setattr(flips.subprocess, "run", fake)
    monkeypatch.setattr(flips.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")
    run_condition(0, "native", tmp_path / "n", ["-n", "0"])
    (call,) = fake.calls
    assert not set(call["env"]) & {k for env in FLOAT_PATHS.values() for k in env}
    assert call["cmd"][-2:] == ["-n", "0"] and "loadgroup" not in call["cmd"]


def test_run_condition_without_xdist(tmp_path, monkeypatch):
    fake = FakeRun()
    monkeypatch.setattr(flips.subprocess, "run", fake)
    monkeypatch.setattr(flips.importlib.util, "find_spec", lambda name: None)
    run_condition(0, "avx2", tmp_path / "a")
    assert fake.calls[0]["cmd"][-1] == str((tmp_path / "a").resolve() / "claims.html")


def test_run_condition_no_json_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(flips.subprocess, "run", FakeRun(rc=4, write_json=False))
    with pytest.raises(flips.FlipsError, match="exited 4"):
        run_condition(0, "native", tmp_path / "e")
    with pytest.raises(ValueError, match="unknown float path"):
        run_condition(0, "avx9000", tmp_path / "e")


def test_main_runs_reuses_and_exit_codes(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_condition(seed, path, out_dir, pytest_args=None, tier="fast"):
        calls.append((seed, path, tuple(pytest_args)))
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        verdict = "supported" if seed == 0 else "refuted"
        return write(Path(out_dir), "claims.json", [record("x", verdict, 1.0, 0.5, 2.0), record("y", "supported")])

    monkeypatch.setattr(flips, "run_condition", fake_condition)
    out = tmp_path / "flips"
    assert flips.main(["--seeds", "0", "1", "--paths", "native", "avx2", "--out", str(out), "--", "-k", "x"]) == 1
    assert calls == [(0, "native", ("-k", "x")), (0, "avx2", ("-k", "x")),
                     (1, "native", ("-k", "x")), (1, "avx2", ("-k", "x"))]
    table = (out / "flip_table.md").read_text()
    assert "| claim | s0/native | s0/avx2 | s1/native | s1/avx2 | flips |" in table
    assert "1 of 2 claims change verdict across 4 conditions." in table
    assert table in capsys.readouterr().out
    calls.clear()
    assert flips.main(["--seeds", "0", "--paths", "native", "avx2", "--out", str(out), "--reuse"]) == 0
    assert calls == []  # both claims.json exist


def test_main_bad_flags(tmp_path):
    with pytest.raises(SystemExit) as exc:
        flips.main(["--paths", "sse9"])
    assert exc.value.code == 2


def test_cli_flips_forwards_and_bad_flag_exits_2(pair, capsys):
    assert cli.main(["flips", "compare", str(pair[0]), str(pair[1])]) == 1
    assert "VERDICT DIFFERS" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["flips", "--bad-flag"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bad-flag" in capsys.readouterr().err
