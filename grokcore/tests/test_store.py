"""Tests for grokcore.engine.store: round trips, cache semantics, corruption, concurrency, views, CLI."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pytest

from grokcore.engine import store_rows
from grokcore.engine.store import CorruptEntry, Store, StoredRun, db_main, default_store_path, format_rows

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier


def make_run(key: str, *, experiment: str = "exp", status: str = "ok", generalized: int | None = 900,
             seed: int = 0, weight_decay: float = 1.0, n_train: int = 100, width: int = 64) -> StoredRun:
    steps = np.arange(0, 1000, 100, dtype=np.int64)
    return StoredRun(
        key=key, experiment=experiment,
        config={"task": "add", "M": 97, "n_train": n_train, "seed": seed,
                "model": {"family": "mlp", "width": width}, "optim": {"weight_decay": weight_decay}},
        status=status,
        summary={"memorized_step": 120, "generalized_step": generalized, "final/test_acc": 0.99},
        history={"step": steps, "test/acc": np.linspace(0, 1, 10, dtype=np.float32),
                 "train/loss": np.linspace(2, 0, 10)},
        wall_s=1.5, device="cpu", version="v1", created="2025-01-01T00:00:00",
    )


def assert_same_run(got: StoredRun, want: StoredRun) -> None:
    for field in ("key", "experiment", "config", "status", "summary", "wall_s", "device", "version", "created"):
        assert getattr(got, field) == getattr(want, field), field
    assert got.history.keys() == want.history.keys()
    for name, array in want.history.items():
        assert got.history[name].dtype == array.dtype, name
        np.testing.assert_array_equal(got.history[name], array)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "sub" / "store.sqlite") as s:
        yield s


def test_round_trip_and_absent(store: Store) -> None:
    run = make_run("k1")
    store.put(run)
    assert_same_run(store.get("k1"), run)
    assert store.get("missing") is None
    assert store.keys() == {"k1"}


def test_get_many_and_replace(store: Store) -> None:
    store.put_many([make_run("a"), make_run("b"), make_run("c")])
    got = store.get_many(["a", "c", "zzz"])
    assert set(got) == {"a", "c"}
    assert_same_run(got["c"], make_run("c"))
    store.put(make_run("a", status="diverged", generalized=None))  # INSERT OR REPLACE
    assert store.get("a").status == "diverged"
    assert store.get("a").summary["generalized_step"] is None
    assert len(store.keys()) == 3


def test_memory_store_and_numpy_scalars_in_summary() -> None:
    with Store(":memory:") as s:
        run = make_run("m")
        s.put(StoredRun(**{**run.__dict__, "summary": {"final/test_acc": np.float32(0.5), "n": np.int64(3)}}))
        assert s.get("m").summary == {"final/test_acc": 0.5, "n": 3}


def test_rejects_unstorable_runs(store: Store) -> None:
    run = make_run("bad")
    with pytest.raises(ValueError, match="status"):
        store.put(StoredRun(**{**run.__dict__, "status": "weird"}))
    with pytest.raises(ValueError, match="non-finite"):
        store.put(StoredRun(**{**run.__dict__, "summary": {"loss": float("nan")}}))
    with pytest.raises(ValueError):
        store.put(StoredRun(**{**run.__dict__, "history": {"x": np.array([object()])}}))
    assert store.keys() == set()


def compute_missing(store: Store, keys: list[str], fn: Callable[[str], StoredRun]) -> None:
    """The caller-side cache loop: compute and store only the keys not stored yet."""
    present = store.get_many(keys)
    store.put_many([fn(key) for key in keys if key not in present])


def test_cached_keys_are_not_recomputed(store: Store) -> None:
    calls: list[str] = []

    def fn(key: str) -> StoredRun:
        calls.append(key)
        return make_run(key)

    keys = [f"k{i}" for i in range(5)]
    compute_missing(store, keys, fn)
    assert sorted(calls) == keys
    calls.clear()
    compute_missing(store, keys, fn)
    assert calls == []


def _flip_bytes(blob: bytes) -> bytes:
    mid = len(blob) // 2
    return blob[:mid] + bytes(b ^ 0xFF for b in blob[mid:mid + 8]) + blob[mid + 8:]


@pytest.mark.parametrize("sql, arg, deleted", [
    ("UPDATE histories SET blob = ? WHERE key = 'k'", "flip", True),
    ("UPDATE histories SET blob = substr(blob, 1, 40) WHERE key = 'k'", None, True),
    ("UPDATE runs SET summary_json = '{\"generalized_step\": 9' WHERE key = 'k'", None, True),
    ("UPDATE runs SET summary_json = replace(summary_json, '900', '5') WHERE key = 'k'", None, True),
    ("UPDATE runs SET config_json = 'not json' WHERE key = 'k'", None, True),
    ("UPDATE runs SET status = 'bogus' WHERE key = 'k'", None, True),
    ("DELETE FROM histories WHERE key = 'k'", None, False),
], ids=["flipped-blob", "truncated-blob", "bad-summary-json", "edited-summary", "bad-config-json", "bogus-status",
        "missing-history"])
def test_corrupt_entry_is_reported_and_deleted_only_if_a_checksum_fails(
        tmp_path: Path, sql: str, arg: str | None, deleted: bool) -> None:
    """Every damaged or edited row reads as missing (a warning, then recomputed and replaced).
    Rows whose checksum fails are deleted; a run without its history is left alone (no
    checksum failed: nothing says the remaining bytes are bad)."""
    path = tmp_path / "store.sqlite"
    with Store(path) as s:
        s.put(make_run("k"))
        s.put(make_run("other"))
    with sqlite3.connect(path) as raw:
        params = (_flip_bytes(raw.execute("SELECT blob FROM histories").fetchone()[0]),) if arg else ()
        assert raw.execute(sql, params).rowcount == 1
    with Store(path) as s:
        with pytest.warns(CorruptEntry, match="k"):
            assert s.get("k") is None
        assert s.keys() == ({"other"} if deleted else {"k", "other"})
        s.put(make_run("k"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert_same_run(s.get("k"), make_run("k"))
            assert_same_run(s.get("other"), make_run("other"))


def test_undecodable_blob_with_matching_checksums_is_kept(tmp_path: Path) -> None:
    """A history whose checksums all match but which this reader cannot decode (as a newer
    writer's format would be) reads as missing and stays in the store for other readers."""
    with Store(tmp_path / "s.sqlite") as s:
        s.put(make_run("k"))
        garbage = b"definitely not a zip file"
        sha = hashlib.sha256(garbage).hexdigest()
        db = s._connection()
        row = db.execute(f"{store_rows._select(True)} WHERE r.key = 'k'").fetchone()
        digest = store_rows._row_digest(*row[:9], sha)
        db.execute("UPDATE histories SET blob = ?, sha256 = ?", (garbage, sha))
        db.execute("UPDATE runs SET row_sha256 = ?", (digest,))
        with pytest.warns(CorruptEntry, match="undecodable.*left in the store"):
            assert s.get_many(["k"]) == {}
        assert s.keys() == {"k"}


def _writer(path: str, worker: int, start: Barrier) -> None:
    start.wait()  # make the workers really overlap, including creating the file
    store = Store(path)
    own = [make_run(f"w{worker}-{i}", seed=i) for i in range(25)]
    shared = [make_run(f"shared-{i}", seed=worker) for i in range(5)]
    for i, run in enumerate(own):
        store.put(run)
        if i % 5 == 0:
            store.put_many(shared)
    store.close()


def test_concurrent_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "fresh" / "store.sqlite")  # workers race to create the file too
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(path, w, start)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Store(path) as s, warnings.catch_warnings():
        warnings.simplefilter("error")
        want = {f"w{w}-{i}" for w in range(4) for i in range(25)} | {f"shared-{i}" for i in range(5)}
        assert s.keys() == want
        runs = s.get_many(want)
        assert set(runs) == want
        assert_same_run(runs["w3-24"], make_run("w3-24", seed=24))
        assert {runs[f"shared-{i}"].config["seed"] for i in range(5)} <= {0, 1, 2, 3}


def _put_from_child(store: Store) -> None:
    inherited = store._db  # the connection object opened by the parent
    store.put(make_run("from-child"))
    assert store._db is not inherited, "child must open its own connection"


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_child_reconnects(store: Store) -> None:
    store.put(make_run("from-parent"))
    child = multiprocessing.get_context("fork").Process(target=_put_from_child, args=(store,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert store.keys() == {"from-parent", "from-child"}
    assert store.get("from-child") is not None


def _grid_store(path: Path) -> Store:
    store = Store(path)
    store.put_many([
        # grid point wd=1.0: 2 of 3 grok
        make_run("a1", seed=0, generalized=800),
        make_run("a2", seed=1, generalized=1200),
        make_run("a3", seed=2, generalized=None),
        # grid point wd=0.0: none grok, one diverges
        make_run("b1", seed=0, weight_decay=0.0, generalized=None),
        make_run("b2", seed=1, weight_decay=0.0, generalized=None, status="diverged"),
        # another experiment
        make_run("c1", experiment="other", generalized=300),
    ])
    return store


def test_views(tmp_path: Path) -> None:
    with _grid_store(tmp_path / "s.sqlite") as s:
        assert s.view_names() == ["experiment_overview", "grid_success", "run_summary"]
        summary = {row["key"]: row for row in s.view("run_summary")}
        assert {k: r["grokked"] for k, r in summary.items()} == {
            "a1": 1, "a2": 1, "a3": 0, "b1": 0, "b2": 0, "c1": 1}
        assert summary["a1"]["final_test_acc"] == 0.99
        assert (summary["a1"]["model"], summary["a1"]["width"], summary["a1"]["M"]) == ("mlp", 64, 97)
        assert summary["a1"]["ratio"] is None  # absent from config -> NULL

        grid = {(r["experiment"], r["weight_decay"]): r for r in s.view("grid_success")}
        assert set(grid) == {("exp", 0.0), ("exp", 1.0), ("other", 1.0)}
        wd1 = grid["exp", 1.0]
        assert (wd1["n_runs"], wd1["n_grokked"]) == (3, 2)
        assert wd1["success_rate"] == pytest.approx(2 / 3)
        assert (wd1["mean_generalized_step"], wd1["min_generalized_step"], wd1["max_generalized_step"]) == (
            1000.0, 800, 1200)
        wd0 = grid["exp", 0.0]
        assert (wd0["n_runs"], wd0["n_grokked"], wd0["success_rate"], wd0["mean_generalized_step"]) == (
            2, 0, 0.0, None)

        overview = {r["experiment"]: r for r in s.view("experiment_overview")}
        assert overview["exp"]["n_runs"] == 5 and overview["exp"]["n_diverged"] == 1
        assert (overview["exp"]["fastest_grok"], overview["exp"]["slowest_grok"]) == (800, 1200)
        assert overview["other"]["n_diverged"] == 0

        with pytest.raises(ValueError, match="unknown view"):
            s.view("runs; DROP TABLE runs")


def test_format_rows() -> None:
    table = format_rows([{"name": "a", "n": 1, "rate": 0.5}, {"name": "long", "n": 100, "rate": None}])
    lines = table.splitlines()
    assert lines[0].split() == ["name", "n", "rate"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["a", "1", "0.5"] and lines[3].split() == ["long", "100", "-"]
    assert lines[2].index("1") + 1 == lines[3].index("100") + 3  # numbers right-aligned
    assert format_rows([]) == "(no rows)"


def test_db_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    _grid_store(path).close()
    assert db_main(["--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "6 runs" in out and "grid_success" in out and "run_summary" in out

    assert db_main(["--store", str(path), "experiment_overview"]) == 0
    out = capsys.readouterr().out
    assert "n_diverged" in out and "other" in out

    assert db_main(["--store", str(path), "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown view 'nope'" in err and "run_summary" in err

    assert db_main(["--store", str(tmp_path / "absent.sqlite")]) == 1
    assert "no store" in capsys.readouterr().err


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GROKCORE_STORE", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("GROKCORE_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "grokcore" / "store.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_store_path() == Path.home() / ".cache" / "grokcore" / "store.sqlite"


def test_artifacts_round_trip_and_corrupt_entries_are_reported(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as s:
        obj = {"llc": np.arange(6.0).reshape(2, 3), "seeds": [0, 1]}
        assert s.get_artifact("a") is None
        s.put_artifact("a", obj, kind="test")
        got = s.get_artifact("a")
        np.testing.assert_array_equal(got["llc"], obj["llc"])
        assert got["seeds"] == [0, 1]
        s._connection().execute("UPDATE artifacts SET blob = ? WHERE key = 'a'", (b"garbage",))
        with pytest.warns(CorruptEntry, match="checksum"):
            assert s.get_artifact("a") is None
        assert s._connection().execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 0  # checksum: deleted
        bad = b"not a pickle"
        s._connection().execute("INSERT INTO artifacts (key, kind, blob, sha256) VALUES ('b', 't', ?, ?)",
                                (bad, hashlib.sha256(bad).hexdigest()))
        with pytest.warns(CorruptEntry, match="never read"):
            assert s.get_artifact("b") is None
        assert s._connection().execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 1  # kept


# ---------------------------------------------------------------- device-safe artifacts

import dataclasses as _dc  # noqa: E402
from collections import OrderedDict as _OrderedDict, namedtuple as _namedtuple  # noqa: E402

from grokcore.engine import artifact_codec as _codec  # noqa: E402

_Pair = _codec.register(_namedtuple("_Pair", "a b"))


@_codec.register
@_dc.dataclass
class _Ckpt:
    step: int
    params: dict


@_codec.register
@_dc.dataclass(frozen=True)
class _Frozen:
    x: object


def _tensors(obj):
    import torch

    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple, set)):
        for v in obj:
            yield from _tensors(v)
    elif _dc.is_dataclass(obj):
        for f in _dc.fields(obj):
            yield from _tensors(getattr(obj, f.name))


def _nested(device):
    import torch

    t = torch.arange(6.0, device=device).reshape(2, 3)
    return {"llc": t, "runs": [_Ckpt(3, _OrderedDict(W=t * 2, b=np.ones(2)))], "pair": _Pair(t, 1),
            "frozen": _Frozen((t, "x")), "same": t, "n": 5}


def _check_round_trip(s: Store, obj) -> None:
    import torch

    s.put_artifact("k", obj, kind="test")
    got = s.get_artifact("k")
    assert all(t.device.type == "cpu" for t in _tensors(got))
    assert len(list(_tensors(got))) == len(list(_tensors(obj))) == 5
    torch.testing.assert_close(got["llc"], obj["llc"].cpu())
    torch.testing.assert_close(got["runs"][0].params["W"], obj["llc"].cpu() * 2)
    assert isinstance(got["runs"][0], _Ckpt) and isinstance(got["runs"][0].params, _OrderedDict)
    assert isinstance(got["pair"], _Pair) and isinstance(got["frozen"], _Frozen) and got["n"] == 5
    assert got["same"] is got["llc"]  # shared tensors stay shared


def test_artifact_tensors_round_trip_on_cpu(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as s:
        _check_round_trip(s, _nested("cpu"))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_cuda_artifact_is_stored_and_read_on_cpu(tmp_path: Path) -> None:
    obj = _nested("cuda")
    with Store(tmp_path / "s.sqlite") as s:
        _check_round_trip(s, obj)
        blob = s._connection().execute("SELECT blob FROM artifacts WHERE key = 'k'").fetchone()[0]
    assert b"cuda" not in blob  # nothing in the stored bytes names a CUDA device
    assert obj["llc"].device.type == "cuda"  # the caller's object is left as it was


def test_truncated_artifact_with_matching_checksum_is_reported_and_kept(tmp_path: Path) -> None:
    import torch

    with Store(tmp_path / "s.sqlite") as s:
        s.put_artifact("t", {"W": torch.arange(4.0)})
        blob = s._connection().execute("SELECT blob FROM artifacts WHERE key = 't'").fetchone()[0]
        bad = blob[: len(blob) - 4]  # truncated data, checksum matches the truncated bytes
        s._connection().execute("UPDATE artifacts SET blob = ?, sha256 = ? WHERE key = 't'",
                                (bad, hashlib.sha256(bad).hexdigest()))
        with pytest.warns(CorruptEntry, match="unreadable"):
            assert s.get_artifact("t") is None
        assert s._connection().execute("SELECT COUNT(*) FROM artifacts").fetchone()[0] == 1
