"""The command line checks its input before anything trains or is written: device, --out,
finite floats, a usable store; `grokcore report` checks the shape of its JSON and never
writes over its input. Each bad input gives exit code 2 (1 for a store) and one error
line, never a traceback; training is replaced by a tripwire where it must not start."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grokcore.engine import store as store_mod
from grokcore.suite import cli
from grokcore.suite.report import report_main, write_report
from grokcore.tests.test_report import META, sample_records

TINY = ["--M", "5", "--ratio", "0.5", "--model", "li2", "--width", "8", "--steps", "20", "--eval-every", "10",
        "--device", "cpu"]


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training must not start: the checks come first."""
    import grokcore.engine.sweep
    import grokcore.engine.train

    def tripwire(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(grokcore.engine.train, "train", tripwire)
    monkeypatch.setattr(grokcore.engine.sweep, "run", tripwire)


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 2) -> str:
    """Run the CLI; assert it exits with ``code`` and one error line; return that line."""
    try:
        rc = cli.main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    assert rc == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith(("usage:", " "))]  # argparse usage
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("cmd, flag, value", [
    ("train", "--lr", "inf"), ("train", "--wd", "nan"), ("train", "--init-scale", "nan"),
    ("train", "--ratio", "nan"), ("train", "--alpha", "-inf"), ("sweep", "--lr", "inf"), ("sweep", "--wd", "nan"),
])
def test_non_finite_floats_are_argparse_errors(cmd, flag, value, capsys, no_training, tmp_path) -> None:
    extra = ["--store", str(tmp_path / "s.sqlite")] if cmd == "sweep" else []
    line = _fails([cmd, *TINY, *extra, f"{flag}={value}"], capsys)  # "=": argparse reads "-inf" as a flag
    assert flag in line and "finite" in line


@pytest.mark.parametrize("device, cuda, count, says", [
    ("tpu", False, 0, "use auto, cpu, cuda"),
    ("cuda:x", True, 1, "use auto, cpu, cuda"),
    ("cuda", False, 0, "no CUDA device"),
    ("cuda:0", False, 0, "no CUDA device"),
    ("cuda:3", True, 1, "1 CUDA device"),
])
@pytest.mark.parametrize("cmd", ["train", "sweep"])
def test_device_is_checked_before_training(cmd, device, cuda, count, says, capsys, monkeypatch, no_training,
                                           tmp_path) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    extra = ["--store", str(tmp_path / "s.sqlite")] if cmd == "sweep" else []
    line = _fails([cmd, *TINY, *extra, "--device", device], capsys)
    assert f"--device {device}" in line and says in line


def test_unwritable_out_is_refused_before_training(capsys, no_training, tmp_path) -> None:
    line = _fails(["train", *TINY, "--out", "/proc/nope"], capsys)
    assert "--out /proc/nope" in line and "cannot write" in line
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "cannot write" in _fails(["train", *TINY, "--out", str(a_file / "sub")], capsys)


def test_unwritable_store_is_refused_before_sweeping(capsys, monkeypatch, no_training, tmp_path) -> None:
    path = tmp_path / "s.sqlite"
    store_mod.Store(path).close()
    monkeypatch.setattr(store_mod, "_writable", lambda p: False)  # root ignores file modes
    line = _fails(["sweep", *TINY, "--seeds", "1", "--store", str(path)], capsys, code=1)
    assert str(path) in line and "not writable" in line


def test_train_with_out_still_works(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert cli.main(["train", *TINY, "--out", str(out)]) == 0
    doc = json.loads((out / "history.json").read_text())
    assert doc["status"] == "ok" and (out / "curves.png").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".grokcore-write-check")]


# ---------------------------------------------------------------- grokcore report


@pytest.fixture
def claims(tmp_path: Path) -> Path:
    json_path, html_path = write_report(sample_records(), META, tmp_path / "claims.html")
    html_path.unlink()
    return json_path


def _report_fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert report_main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_report_refuses_to_overwrite_its_input(claims: Path, capsys) -> None:
    before = claims.read_bytes()
    assert "over its input" in _report_fails([str(claims), "-o", str(claims)], capsys)
    link = claims.parent / "alias.html"
    link.symlink_to(claims)
    assert "over its input" in _report_fails([str(claims), "-o", str(link)], capsys)
    assert ".json path" in _report_fails([str(claims), "-o", str(claims.with_name("other.JSON"))], capsys)
    assert claims.read_bytes() == before and not claims.with_name("other.JSON").exists()
    html_named = claims.with_name("records.html")  # default output = input with .html = itself
    html_named.write_bytes(before)
    assert "over its input" in _report_fails([str(html_named)], capsys)
    assert html_named.read_bytes() == before


WRONG_SHAPES = {
    "top-level string": "\"claims\"",
    "claims not a list": '{"claims": {"a": 1}}',
    "record a number": '{"claims": [1]}',
    "record a list": '[[1, 2]]',
    "meta a list": '{"claims": [], "meta": [1]}',
    "reference a list": '{"claims": [{"id": "x", "reference": [1]}]}',
    "source a string": '{"claims": [{"id": "x", "reference": {"source": "paper"}}]}',
    "source title a number": '{"claims": [{"id": "x", "reference": {"source": {"title": 3}}}]}',
    "configs a number": '{"claims": [{"id": "x", "configs": 5}]}',
    "scale a list": '{"claims": [{"id": "x", "scale": [1]}]}',
    "headline a string": '{"claims": [{"id": "x", "headline": "c = 2"}]}',
    "reason a number": '{"claims": [{"id": "x", "reason": 7}]}',
    "moved_by a number": '{"claims": [{"id": "x", "decision": {"gates": [{}], "moved_by": 3}}]}',
    "meta.versions a list": '{"claims": [], "meta": {"versions": [1]}}',
    "meta.args a number": '{"claims": [], "meta": {"args": 5}}',
    "NaN": '{"claims": [{"id": "x", "wall_s": NaN}]}',
    "1e400": '{"claims": [{"id": "x", "wall_s": 1e400}]}',
}


@pytest.mark.parametrize("content", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_report_on_well_formed_json_of_the_wrong_shape(content: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "claims.json"
    path.write_text(content)
    assert "cannot read" in _report_fails([str(path)], capsys)
    assert not path.with_suffix(".html").exists()


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | st.text(max_size=5),
                     lambda inner: (st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                     max_leaves=8)
_RECORD_FIELDS = sorted({k for r in sample_records() for k in r} | {"decision", "rule", "headline", "versions"})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_report_json_renders_or_fails_in_one_line(tmp_path_factory, data) -> None:
    """A claims.json with random values in random fields (records, nested reference fields,
    meta): `grokcore report` either renders it or refuses it with exit 2 and one line."""
    records = copy.deepcopy(sample_records()[:2])
    meta = dict(META)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.sampled_from(["record", "reference", "source", "meta"]))
        value = data.draw(_JSON)
        if where == "record":
            records[0][data.draw(st.sampled_from(_RECORD_FIELDS))] = value
        elif where == "meta":
            meta[data.draw(st.sampled_from(["title", "versions", "args", "wall_s", "seed", "device"]))] = value
        elif isinstance(records[0].get("reference"), dict):
            target = records[0]["reference"]
            if where == "source" and isinstance(target.get("source"), dict):
                target = target["source"]
            target[data.draw(st.sampled_from(["source", "see_also", "numbers", "claim", "title", "id", "url"]))] = value
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "claims.json"
    path.write_text(json.dumps({"meta": meta, "claims": records}))
    rc = _run_report(path)
    assert rc in (0, 2)


def _run_report(path: Path) -> int:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        rc = report_main([str(path)])
    text = err.getvalue()
    assert "Traceback" not in text and text.count("\n") == (rc != 0), text
    return rc
