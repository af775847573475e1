"""A store a team can share: nothing read from it runs code, a read-only or damaged file gives
one clear error, a newer schema is refused, every field a reader gets back is checksummed and
shape-checked, and nothing is deleted unless its checksum fails.

The schema-1 stores here are built with the DDL that schema-1 code ran (copied below), so the
upgrade is tested against the layout real old stores have."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from grokcore.engine import artifact_codec, staged
from grokcore.engine import store as store_mod
from grokcore.engine import store_rows
from grokcore.engine.config import RunConfig
from grokcore.engine.store import (
    CorruptEntry,
    Store,
    StoreError,
    UnverifiedEntry,
    db_main,
)
from grokcore.tests.test_store import assert_same_run, make_run

REPO = Path(__file__).resolve().parents[2]

# The tables schema-1 code created (grokcore/engine/store.py before schema 2), verbatim.
V1_DDL = (
    """CREATE TABLE runs (
        key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config_json TEXT NOT NULL,
        status TEXT NOT NULL, summary_json TEXT NOT NULL, wall_s REAL, device TEXT,
        version TEXT, created TEXT,
        task TEXT, M INTEGER, model TEXT, width INTEGER, ratio REAL, n_train INTEGER,
        weight_decay REAL, seed INTEGER)""",
    "CREATE INDEX runs_by_experiment ON runs (experiment)",
    """CREATE TABLE histories (
        key TEXT PRIMARY KEY REFERENCES runs (key) ON DELETE CASCADE,
        blob BLOB NOT NULL, sha256 TEXT NOT NULL, nbytes INTEGER NOT NULL)""",
    """CREATE TABLE artifacts (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, blob BLOB NOT NULL, sha256 TEXT NOT NULL, created TEXT)""",
)


class _Evil:
    """A pickle that runs a shell command when loaded: what a hostile writer of a shared store plants."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def make_v1_store(path: Path, runs=(), artifacts: dict[str, bytes] | None = None) -> None:
    """A store as schema-1 code left it: its tables, user_version 1, rows without a row checksum."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for statement in V1_DDL:
        db.execute(statement)
    for name, sql in store_rows._VIEWS.items():
        db.execute(f'CREATE VIEW "{name}" AS {sql}')
    for run in runs:
        row, hist = store_rows._run_row(run)
        db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * 17)})", row[:17])  # no row_sha256
        db.execute("INSERT INTO histories VALUES (?, ?, ?, ?)", hist)
    for key, blob in (artifacts or {}).items():
        db.execute("INSERT INTO artifacts VALUES (?, 't', ?, ?, NULL)", (key, blob, _sha(blob)))
    db.execute("PRAGMA user_version = 1")
    db.close()


def _file_state(path: Path) -> tuple:
    return path.read_bytes(), path.stat().st_mtime_ns


# ---------------------------------------------------------------- no pickle on any load path


@pytest.mark.parametrize("where", ["v1-store", "v1-store-read-only", "v2-store-unmarked", "v2-store-marked"])
def test_planted_pickle_artifact_never_runs_and_is_recomputed(tmp_path: Path, where: str) -> None:
    """A pickle whose loading runs `touch MARKER`, planted as an artifact: in a schema-1 store
    (as old code wrote artifacts), read-only, and in a new store both unmarked and falsely
    marked as safetensors. Reading it runs nothing and reports it missing; `cached_set`
    then recomputes it and the new entry replaces the planted one."""
    marker = tmp_path / "PWNED"
    evil = pickle.dumps(_Evil(marker))
    path = tmp_path / "s.sqlite"
    if where.startswith("v1"):
        make_v1_store(path, artifacts={"a": evil})
    else:
        with Store(path) as s:
            fmt = "'safetensors'" if where == "v2-store-marked" else "NULL"  # marked: a lie about the format
            s._connection().execute(f"INSERT INTO artifacts VALUES ('a', 't', ?, ?, NULL, {fmt})", (evil, _sha(evil)))
    mode = "ro" if where.endswith("read-only") else "auto"
    with Store(path, mode=mode) as s:
        with pytest.warns(CorruptEntry, match="store artifact a"):
            assert s.get_artifact("a") is None
        assert not marker.exists(), "reading the store ran the planted pickle"
        n_left = s._connection().execute("SELECT COUNT(*) FROM artifacts WHERE key = 'a'").fetchone()[0]
        assert n_left == 1  # checksum intact: reported, not deleted
    if mode == "ro":
        return
    base = RunConfig()
    key = staged.set_key("t", base, v=1)
    with Store(path) as s:
        s._connection().execute("UPDATE artifacts SET key = ? WHERE key = 'a'", (key,))
        staged.clear_set_cache()
        calls = []
        with pytest.warns(CorruptEntry):
            out = staged.cached_set(s, "t", base, lambda: calls.append(1) or {"x": np.arange(3)}, v=1)
        staged.clear_set_cache()
        assert calls == [1] and not marker.exists()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the replacement reads cleanly
            again = staged.cached_set(s, "t", base, lambda: calls.append(2), v=1)
        assert calls == [1] and np.array_equal(again["x"], out["x"])


def test_history_holding_a_pickled_object_array_never_runs(tmp_path: Path) -> None:
    """The history blob is npz read with allow_pickle=False: an object array holding the same
    pickle (checksums recomputed to match, as a hostile writer would) is refused, not run.
    (Histories were already read this way; this guards the path.)"""
    import io
    import zipfile

    marker = tmp_path / "PWNED"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("step.npy", "w") as member:
            np.lib.format.write_array(member, np.array([_Evil(marker)], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    with Store(tmp_path / "s.sqlite") as s:
        s.put(make_run("k"))
        db = s._connection()
        row = db.execute(f"{store_rows._select(True)} WHERE r.key = 'k'").fetchone()
        db.execute("UPDATE histories SET blob = ?, sha256 = ?", (blob, _sha(blob)))
        db.execute("UPDATE runs SET row_sha256 = ?", (store_rows._row_digest(*row[:9], _sha(blob)),))
        with pytest.warns(CorruptEntry, match="undecodable"):
            assert s.get("k") is None
    assert not marker.exists()


def test_no_pickle_load_path_in_the_package() -> None:
    """`grep pickle|weights_only=False|allow_pickle=True` over the library finds no load path:
    the one pickle left is Ray's cloudpickle *registration* for shipping test functions."""
    bad = re.compile(r"import pickle|pickle\.load|Unpickler|weights_only\s*=\s*False|allow_pickle\s*=\s*True"
                     r"|torch\.load\((?![^)]*weights_only\s*=\s*True)")
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}"
            for p in sorted((REPO / "grokcore").rglob("*.py")) if "tests" not in p.parts
            for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert hits == []


def test_artifact_naming_a_type_off_the_allow_list_is_kept_not_deleted(tmp_path: Path) -> None:
    """The ModuleNotFoundError case: an entry this reader cannot build (a class it does not know,
    as a newer grokcore might write) reads as missing and stays in the shared store."""
    blob = artifact_codec.encode({"x": 1})
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + header_len])
    manifest = {"format": artifact_codec.FORMAT, "root": {"$": "dataclass", "type": "os:system", "fields": []}}
    header["__metadata__"]["grokcore"] = json.dumps(manifest)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    forged = len(raw).to_bytes(8, "little") + raw + blob[8 + header_len:]
    with Store(tmp_path / "s.sqlite") as s:
        s._connection().execute("INSERT INTO artifacts VALUES ('a', 't', ?, ?, NULL, 'safetensors')",
                                (forged, _sha(forged)))
        with pytest.warns(CorruptEntry, match="not allowed.*left in the store"):
            assert s.get_artifact("a") is None
        assert s._connection().execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 1


def test_codec_refuses_what_it_cannot_store() -> None:
    class Unknown:
        pass

    with pytest.raises(TypeError, match="Unknown"):
        artifact_codec.encode({"x": Unknown()})
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(TypeError, match="cycle"):
        artifact_codec.encode(cyclic)
    with pytest.raises(TypeError, match="dtype"):
        artifact_codec.encode(np.array(["a"]))
    with pytest.raises(artifact_codec.ArtifactDecodeError):
        artifact_codec.decode(pickle.dumps({"x": 1}))


# ---------------------------------------------------------------- read-only stores


def _v2_store(path: Path) -> Path:
    with Store(path) as s:
        s.put(make_run("a"))
    return path


def test_explicit_read_only_mode_never_writes(tmp_path: Path) -> None:
    path = _v2_store(tmp_path / "s.sqlite")
    before = _file_state(path)
    with Store(path, mode="ro") as s:
        assert s.read_only
        assert_same_run(s.get("a"), make_run("a"))
        with pytest.raises(StoreError, match="read-only"):
            s.put(make_run("b"))
        with pytest.raises(StoreError, match="read-only"):
            s.put_artifact("x", {"y": 1})
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # SQLite itself refuses
            s._connection().execute("CREATE TABLE t (x)")
    assert _file_state(path) == before


def test_read_only_v1_store_is_read_without_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    make_v1_store(path, runs=[make_run("a")])
    with Store(path, mode="ro") as s:
        with pytest.warns(UnverifiedEntry, match="1 run"):
            got = s.get("a")
        assert got.checksum == "history"
        assert_same_run(got, make_run("a"))
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (1,)


def test_auto_mode_opens_an_unwritable_file_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user without write permission would see it (root ignores file modes, so the
    permission check itself is replaced here; the next test uses the real thing)."""
    path = _v2_store(tmp_path / "s.sqlite")
    monkeypatch.setattr(store_mod, "_writable", lambda p: False)
    with Store(path) as s:
        assert s.mode == "ro" and s.get("a") is not None


@pytest.fixture
def immutable(tmp_path: Path):
    """Make paths read-only for everyone, root included: chattr +i as root, else chmod."""
    done: list[Path] = []

    def make(*paths: Path) -> None:
        for p in paths:
            if os.geteuid() == 0:
                r = subprocess.run(["chattr", "+i", str(p)], capture_output=True, check=False)
                if r.returncode:
                    pytest.skip(f"root, and chattr +i is not available here: {r.stderr.decode().strip()}")
            else:
                p.chmod(0o555 if p.is_dir() else 0o444)
            done.append(p)

    yield make
    for p in reversed(done):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(p)], check=True)
        else:
            p.chmod(0o755 if p.is_dir() else 0o644)


def test_really_read_only_store_and_folder(tmp_path: Path, immutable, capsys: pytest.CaptureFixture[str]) -> None:
    """A store whose file and folder cannot be written: it opens (read-only), reads, and
    `grokcore db` lists it; before, opening wrote the schema and failed."""
    folder = tmp_path / "shared"
    path = _v2_store(folder / "s.sqlite")
    immutable(path, folder)
    with Store(path) as s:
        assert s.read_only and s.keys() == {"a"}
        with pytest.raises(StoreError, match="read-only"):
            s.put(make_run("b"))
    assert db_main(["--store", str(path)]) == 0
    assert "1 runs" in capsys.readouterr().out


def test_read_only_store_reports_corrupt_rows_without_deleting(tmp_path: Path) -> None:
    path = _v2_store(tmp_path / "s.sqlite")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE runs SET summary_json = replace(summary_json, '900', '5')")
    with Store(path, mode="ro") as s:
        with pytest.warns(CorruptEntry, match="row checksum.*left in the store"):
            assert s.get("a") is None
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)


# ---------------------------------------------------------------- damaged files, newer schema


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "tiny":
        path.write_bytes(data[:50])
    elif how == "bad-header":
        path.write_bytes(b"NOT AN SQLITE DB" + data[16:])
    elif how == "text":
        path.write_text("hello, I am a text file\n" * 100)


@pytest.mark.parametrize("how", ["truncated", "tiny", "bad-header", "text"])
@pytest.mark.parametrize("mode", ["auto", "ro"])
def test_damaged_file_gives_one_clear_error(tmp_path: Path, how: str, mode: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as s:  # enough rows that half the file loses pages
        s.put_many([make_run(f"k{i}") for i in range(40)])
        s._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _damage(path, how)
    with pytest.raises(StoreError) as err:
        with Store(path, mode=mode) as s:
            s.get_many([f"k{i}" for i in range(40)])
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and "move it aside" in msg
    assert db_main(["--store", str(path)]) == 1
    out = capsys.readouterr()
    assert out.err.count("\n") == 1 and "Traceback" not in out.err and "move it aside" in out.err


def test_cli_prints_a_store_error_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_text("not a database at all" * 50)
    for args in (["db", "--store", str(path)],
                 ["sweep", "--M", "5", "--ratio", "0.5", "--seeds", "1", "--steps", "2", "--store", str(path)]):
        r = subprocess.run([sys.executable, "-m", "grokcore.suite.cli", *args], capture_output=True, text=True,
                           check=False, cwd=REPO, timeout=300)
        assert r.returncode == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert str(path) in r.stderr and "move it aside" in r.stderr


@pytest.mark.parametrize("mode", ["auto", "ro"])
def test_newer_schema_is_refused_not_downgraded(tmp_path: Path, mode: str) -> None:
    path = _v2_store(tmp_path / "s.sqlite")
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {store_rows._SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this grokcore"):
        Store(path, mode=mode)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (store_rows._SCHEMA_VERSION + 1,)


# ---------------------------------------------------------------- upgrade, checksums, shape


def test_v1_store_is_upgraded_in_place_and_old_rows_are_flagged(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.sqlite"
    old = make_run("old")
    make_v1_store(path, runs=[old])
    with Store(path) as s:
        assert s.keys() == {"old"}  # keys are unchanged: cached runs are still found
        with pytest.warns(UnverifiedEntry, match="history is checksummed"):
            got = s.get("old")
        assert got.checksum == "history"
        assert_same_run(got, old)
        s.put(make_run("new"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert s.get("new").checksum == "row"
        assert s.unverified_count() == 1
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone() == (store_rows._SCHEMA_VERSION,)
    assert {r[1] for r in raw.execute("PRAGMA table_info(runs)")} >= {"row_sha256"}
    assert {r[1] for r in raw.execute("PRAGMA table_info(artifacts)")} >= {"format"}
    raw.close()
    assert db_main(["--store", str(path)]) == 0
    assert "2 runs (1 written before schema 2" in capsys.readouterr().out


def _rewrite_row(s: Store, key: str, **changes) -> None:
    """Change fields of a stored run and recompute every checksum, as a foreign or hostile
    writer could: only the shape check stands between this row and a caller."""
    db = s._connection()
    row = list(db.execute(f"{store_rows._select(True)} WHERE r.key = ?", (key,)).fetchone())
    names = ["key", "experiment", "config_json", "status", "summary_json", "wall_s", "device", "version", "created"]
    for name, value in changes.items():
        if name == "history":
            row[10] = store_rows._encode_history(value)
            row[11] = _sha(row[10])
        else:
            row[names.index(name)] = value
    db.execute("UPDATE histories SET blob = ?, sha256 = ? WHERE key = ?", (row[10], row[11], key))
    db.execute("UPDATE runs SET config_json = ?, status = ?, summary_json = ?, wall_s = ?, row_sha256 = ? "
               "WHERE key = ?", (row[2], row[3], row[4], row[5], store_rows._row_digest(*row[:9], row[11]), key))


@pytest.mark.parametrize("changes, reason", [
    ({"history": {"test/acc": np.ones(3)}}, "no 'step'"),
    ({"history": {"step": np.zeros((2, 2))}}, "1-D"),
    ({"history": {"step": np.array([], dtype=np.int64)}}, "non-empty"),
    ({"status": "bogus"}, "status must be one of"),
    ({"config_json": "[1, 2]"}, "JSON objects"),
    ({"summary_json": '"a string"'}, "JSON objects"),
    ({"summary_json": '{"status": "diverged"}'}, "summary status"),
    ({"wall_s": "fast"}, "wall_s"),
], ids=["no-step", "2d-step", "empty-step", "bogus-status", "config-list", "summary-string",
        "status-mismatch", "wall-text"])
def test_badly_shaped_row_is_reported_not_a_key_error(tmp_path: Path, changes: dict, reason: str) -> None:
    with Store(tmp_path / "s.sqlite") as s:
        s.put_many([make_run("k"), make_run("other")])
        _rewrite_row(s, "k", **changes)
        with pytest.warns(CorruptEntry, match=re.escape(reason)):
            assert set(s.get_many(["k", "other"])) == {"other"}
        assert s.keys() == {"k", "other"}  # checksums match: not deleted


def test_put_refuses_a_run_that_could_not_be_read_back(tmp_path: Path) -> None:
    run = make_run("k")
    with Store(tmp_path / "s.sqlite") as s:
        with pytest.raises(ValueError, match="no 'step'"):
            s.put(store_mod.StoredRun(**{**run.__dict__, "history": {"test/acc": np.ones(3)}}))
        assert s.keys() == set()


# ---------------------------------------------------------------- journal mode


def _journal(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()


def test_journal_mode_option_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(store_mod.JOURNAL_ENV, raising=False)
    Store(tmp_path / "a.sqlite").close()
    assert _journal(tmp_path / "a.sqlite") == "wal"  # a new store: WAL
    Store(tmp_path / "a.sqlite", journal="delete").close()
    assert _journal(tmp_path / "a.sqlite") == "delete"
    with Store(tmp_path / "a.sqlite") as s:  # no setting: the store keeps its mode
        s.put(make_run("k"))
    assert _journal(tmp_path / "a.sqlite") == "delete" and not Path(f"{tmp_path}/a.sqlite-wal").exists()
    monkeypatch.setenv(store_mod.JOURNAL_ENV, "DELETE")
    Store(tmp_path / "b.sqlite").close()
    assert _journal(tmp_path / "b.sqlite") == "delete"
    monkeypatch.setenv(store_mod.JOURNAL_ENV, "nfs")
    with pytest.raises(ValueError, match=store_mod.JOURNAL_ENV):
        Store(tmp_path / "c.sqlite")
