"""Results store: one SQLite file of finished training runs, addressed by run key.

A run's ``key`` is a hex digest of its frozen config plus the library's
training-semantics version (computed elsewhere), so a key present in the store
means "this exact run was already done" and callers skip recomputing it.

Schema (see ``_TABLES`` and ``_VIEWS``)::

    runs       key TEXT PRIMARY KEY, experiment, config_json, status ('ok' | 'diverged'),
               summary_json, wall_s REAL, device, version, created,
               -- denormalized from config_json (NULL when absent), for the views:
               task, M, model (config.model.family), width (config.model.width),
               ratio, n_train, weight_decay (config.optim.weight_decay), seed
    histories  key TEXT PRIMARY KEY REFERENCES runs ON DELETE CASCADE,
               blob BLOB (an .npz zip of metric name -> array), sha256 TEXT, nbytes INTEGER
    artifacts  key TEXT PRIMARY KEY, kind TEXT, blob BLOB (pickle), sha256 TEXT, created
               -- derived results that are not one run (a staged curriculum with the LLC
               -- of its checkpoints); the caller's key must cover everything they depend on

    VIEW run_summary          one row per run: grid columns, status, memorized_step,
                              generalized_step, final_test_acc, final_train_acc,
                              grokked (= generalized_step IS NOT NULL)
    VIEW grid_success         per experiment and grid point: n_runs, n_grokked,
                              success_rate, mean/min/max_generalized_step
    VIEW experiment_overview  per experiment: n_runs, n_diverged, n_grokked,
                              fastest_grok, slowest_grok, total_wall_s

Entries that fail to decode (checksum mismatch, broken blob, bad JSON) are
reported with a ``CorruptEntry`` warning and deleted, so they get recomputed.

Device-safe: everything written is on the CPU (histories are numpy; artifacts go
through `to_cpu`, which moves every torch tensor inside dicts, lists, tuples, sets
and dataclasses to the CPU), and artifacts are unpickled with every tensor storage
mapped to the CPU (as ``torch.load(..., map_location="cpu")``), so one pickled on
a CUDA machine by older code still loads on a machine without CUDA.

Concurrency: several processes (e.g. pytest-xdist workers) may write at once.
The file runs in WAL mode, every write is one ``BEGIN IMMEDIATE`` transaction
with a 60 s busy timeout, and each process opens its own connection.

Also here: ``format_rows`` (aligned text table) and ``db_main``, the
``grokcore db [--store PATH] [VIEW]`` command.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import io
import json
import os
import pickle
import sqlite3
import sys
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_BUSY_TIMEOUT_S = 60.0
# Bump when _VIEWS changes: stores made by older code then get their views rebuilt.
_SCHEMA_VERSION = 1
_STATUSES = ("ok", "diverged")

# Separate statements, not one script: executescript() would commit our transaction.
_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
        key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config_json TEXT NOT NULL,
        status TEXT NOT NULL, summary_json TEXT NOT NULL, wall_s REAL, device TEXT,
        version TEXT, created TEXT,
        task TEXT, M INTEGER, model TEXT, width INTEGER, ratio REAL, n_train INTEGER,
        weight_decay REAL, seed INTEGER)""",
    "CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment)",
    """CREATE TABLE IF NOT EXISTS histories (
        key TEXT PRIMARY KEY REFERENCES runs (key) ON DELETE CASCADE,
        blob BLOB NOT NULL, sha256 TEXT NOT NULL, nbytes INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, blob BLOB NOT NULL, sha256 TEXT NOT NULL, created TEXT)""",
)

_GRID = "experiment, task, M, model, width, n_train, ratio, weight_decay"
_VIEWS = {
    "run_summary": """
        SELECT key, experiment, task, M, model, width, ratio, n_train, weight_decay, seed, status,
            json_extract(summary_json, '$.memorized_step') AS memorized_step,
            json_extract(summary_json, '$.generalized_step') AS generalized_step,
            json_extract(summary_json, '$."final/test_acc"') AS final_test_acc,
            json_extract(summary_json, '$."final/train_acc"') AS final_train_acc,
            json_extract(summary_json, '$.generalized_step') IS NOT NULL AS grokked,
            wall_s, device, version, created
        FROM runs ORDER BY experiment, created, key""",
    "grid_success": f"""
        SELECT {_GRID}, COUNT(*) AS n_runs, SUM(grokked) AS n_grokked,
            1.0 * SUM(grokked) / COUNT(*) AS success_rate,
            AVG(generalized_step) AS mean_generalized_step,
            MIN(generalized_step) AS min_generalized_step,
            MAX(generalized_step) AS max_generalized_step
        FROM run_summary GROUP BY {_GRID} ORDER BY {_GRID}""",
    "experiment_overview": """
        SELECT experiment, COUNT(*) AS n_runs, SUM(status = 'diverged') AS n_diverged,
            SUM(grokked) AS n_grokked, MIN(generalized_step) AS fastest_grok,
            MAX(generalized_step) AS slowest_grok, SUM(wall_s) AS total_wall_s
        FROM run_summary GROUP BY experiment ORDER BY experiment""",
}


@dataclass(frozen=True)
class StoredRun:
    """One finished run. ``history`` maps metric names ("step", "test/acc") to arrays."""

    key: str
    experiment: str
    config: dict
    status: str
    summary: dict
    history: dict[str, np.ndarray]
    wall_s: float
    device: str
    version: str
    created: str


class CorruptEntry(UserWarning):
    """A stored run could not be decoded; it was deleted so it will be recomputed."""


class _Corrupt(Exception):
    """Internal: why a row failed to decode."""


def default_store_path() -> Path:
    """$GROKCORE_STORE, else $XDG_CACHE_HOME (or ~/.cache) / grokcore/store.sqlite."""
    if explicit := os.environ.get("GROKCORE_STORE"):
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache).expanduser() / "grokcore" / "store.sqlite"


def _json_default(value: Any) -> Any:
    # Summaries are often built from numpy reductions; store them as plain numbers.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def _to_json(value: dict, what: str, key: str) -> str:
    # allow_nan=False: NaN/Infinity are not JSON, and SQLite's json_extract would
    # then fail for every query over the views, not just for this run.
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=_json_default)
    except ValueError as err:
        raise ValueError(f"run {key}: {what} has a non-finite float ({err})") from None


def to_cpu(obj: Any) -> Any:
    """``obj`` with every torch tensor moved to the CPU (detached), recursing into dicts,
    lists, tuples (named ones too), sets and dataclass instances. Containers holding no
    tensor off the CPU are returned as they are (not copied); others are shallow-copied."""
    torch = sys.modules.get("torch")  # no tensor can exist unless torch was imported
    return obj if torch is None else _to_cpu(obj, torch, {})


def _to_cpu(obj: Any, torch: Any, memo: dict[int, Any]) -> Any:
    if isinstance(obj, (str, bytes, int, float, bool, type(None), np.ndarray, np.generic)):
        return obj
    if id(obj) in memo:  # shared or cyclic references keep their sharing
        return memo[id(obj)]
    memo[id(obj)] = obj  # a cycle back to obj before it is rebuilt sees the original
    out = obj
    if isinstance(obj, torch.Tensor):
        out = obj.detach().cpu() if obj.device.type != "cpu" else obj
    elif isinstance(obj, dict):
        items = {k: _to_cpu(v, torch, memo) for k, v in obj.items()}
        if any(items[k] is not v for k, v in obj.items()):
            out = copy.copy(obj)  # keeps the dict's type (OrderedDict, defaultdict, ...)
            out.update(items)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = [_to_cpu(v, torch, memo) for v in obj]
        if any(a is not b for a, b in zip(items, obj)):
            if isinstance(obj, list):
                out = copy.copy(obj)
                out[:] = items
            elif hasattr(obj, "_fields"):  # namedtuple
                out = type(obj)(*items)
            else:
                out = type(obj)(items)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if hasattr(obj, f.name)}
        moved = {k: _to_cpu(v, torch, memo) for k, v in fields.items()}
        if any(moved[k] is not v for k, v in fields.items()):
            out = copy.copy(obj)
            for k, v in moved.items():
                object.__setattr__(out, k, v)  # frozen dataclasses too
    memo[id(obj)] = out
    return out


class _CpuUnpickler(pickle.Unpickler):
    """Unpickles torch tensors onto the CPU whatever device they were pickled from: a pickled
    tensor's storage is a ``torch.storage._load_from_bytes(torch.save bytes)`` call, which here
    becomes ``torch.load(..., map_location="cpu")``."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch.storage" and name == "_load_from_bytes":
            return _load_storage_on_cpu
        return super().find_class(module, name)


def _load_storage_on_cpu(b: bytes) -> Any:
    import torch

    return torch.load(io.BytesIO(b), map_location="cpu", weights_only=False)


def _encode_history(history: dict[str, np.ndarray]) -> bytes:
    # Same layout as np.savez, written by hand so that any metric name works
    # (savez's own keyword names would clash) and object arrays are refused
    # here rather than becoming unreadable under allow_pickle=False.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, array in history.items():
            with zf.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _decode_history(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _dig(config: dict, *path: str) -> Any:
    """config[path[0]][path[1]]..., or None if missing or not a plain scalar."""
    value: Any = config
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, (str, int, float)) else None


def _run_row(run: StoredRun) -> tuple:
    if run.status not in _STATUSES:
        raise ValueError(f"run {run.key}: status must be one of {_STATUSES}, got {run.status!r}")
    cfg = run.config
    return (
        run.key, run.experiment, _to_json(cfg, "config", run.key), run.status,
        _to_json(run.summary, "summary", run.key), float(run.wall_s), run.device,
        run.version, run.created, _dig(cfg, "task"), _dig(cfg, "M"),
        _dig(cfg, "model", "family"), _dig(cfg, "model", "width"), _dig(cfg, "ratio"),
        _dig(cfg, "n_train"), _dig(cfg, "optim", "weight_decay"), _dig(cfg, "seed"),
    )


def _history_row(run: StoredRun) -> tuple:
    blob = _encode_history(run.history)
    return run.key, blob, hashlib.sha256(blob).hexdigest(), len(blob)


_SELECT = """
    SELECT r.key, r.experiment, r.config_json, r.status, r.summary_json, r.wall_s,
           r.device, r.version, r.created, h.blob, h.sha256
    FROM runs r LEFT JOIN histories h ON h.key = r.key"""


def _decode_row(row: tuple) -> StoredRun:
    key, experiment, config_json, status, summary_json, wall_s, device, version, created, blob, sha = row
    if blob is None:
        raise _Corrupt("history missing")
    if hashlib.sha256(blob).hexdigest() != sha:
        raise _Corrupt("history checksum mismatch")
    try:
        config, summary = json.loads(config_json), json.loads(summary_json)
        history = _decode_history(blob)
    except (ValueError, TypeError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise _Corrupt(f"undecodable: {err!r}") from None
    return StoredRun(key, experiment, config, status, summary, history, wall_s, device, version, created)


class Store:
    """SQLite results store; safe to share one file between processes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._pid = -1
        self._db: sqlite3.Connection | None = None
        self._parent_db: sqlite3.Connection | None = None
        self._connection()

    def _connection(self) -> sqlite3.Connection:
        # SQLite connections must not cross fork(): a child process opens its own.
        # The parent's handle is kept, not closed, because closing it in the child
        # could touch the parent's locks/WAL. (A ":memory:" store is empty in a child.)
        if self._db is None or self._pid != os.getpid():
            self._parent_db, self._db, self._pid = self._db, self._open(), os.getpid()
        return self._db

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves.
        db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        # Switching to WAL takes an exclusive lock, so only ask when needed (once per file).
        # SQLite may answer that switch with SQLITE_BUSY at once, without calling the busy
        # handler, while another process creates the file: retry until the busy timeout.
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while self.path != ":memory:":
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                    break
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as e:
                if not ("locked" in str(e) or "busy" in str(e)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        db.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
        with self._write(db):
            for statement in _TABLES:
                db.execute(statement)
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                for name, sql in _VIEWS.items():
                    db.execute(f'DROP VIEW IF EXISTS "{name}"')
                    db.execute(f'CREATE VIEW "{name}" AS {sql}')
                db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        return db

    @staticmethod
    @contextmanager
    def _write(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front (waiting up to the busy timeout);
        # a deferred read-then-write upgrade can fail with "database is locked" at once.
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may already have rolled back by itself
                db.execute("ROLLBACK")
            raise

    def get(self, key: str) -> StoredRun | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredRun]:
        """Runs found among ``keys`` (one query); absent or corrupt keys are left out."""
        db = self._connection()
        # json_each binds the whole key list as one parameter: no host-parameter limit.
        rows = db.execute(
            f"{_SELECT} WHERE r.key IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),)
        ).fetchall()
        found: dict[str, StoredRun] = {}
        for row in rows:
            try:
                found[row[0]] = _decode_row(row)
            except _Corrupt as err:
                self._drop_corrupt(row[0], str(err))
        return found

    def _drop_corrupt(self, key: str, reason: str) -> None:
        warnings.warn(CorruptEntry(f"store entry {key} is corrupt ({reason}); deleted"), stacklevel=4)
        db = self._connection()
        with self._write(db):
            # Re-check under the write lock: another process may have just re-put it.
            row = db.execute(f"{_SELECT} WHERE r.key = ?", (key,)).fetchone()
            try:
                if row is not None:
                    _decode_row(row)
            except _Corrupt:
                db.execute("DELETE FROM runs WHERE key = ?", (key,))  # cascades to histories

    def put(self, run: StoredRun) -> None:
        self.put_many([run])

    def put_many(self, runs: list[StoredRun]) -> None:
        """Insert or replace all ``runs`` in one transaction."""
        # Encode before taking the lock, so other writers wait only for the inserts.
        run_rows = [_run_row(run) for run in runs]
        history_rows = [_history_row(run) for run in runs]
        db = self._connection()
        with self._write(db):
            # REPLACE deletes the old runs row, which cascades to its history.
            db.executemany(f"INSERT OR REPLACE INTO runs VALUES ({', '.join('?' * 17)})", run_rows)
            db.executemany("INSERT OR REPLACE INTO histories VALUES (?, ?, ?, ?)", history_rows)

    def get_artifact(self, key: str) -> Any | None:
        """The object stored under ``key`` by `put_artifact`, or None. An entry that fails
        its checksum or does not unpickle (e.g. made by an incompatible version of the
        code) is reported with a ``CorruptEntry`` warning and deleted."""
        row = self._connection().execute("SELECT blob, sha256 FROM artifacts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        blob, sha = row
        try:
            if hashlib.sha256(blob).hexdigest() != sha:
                raise _Corrupt("checksum mismatch")
            try:
                return _CpuUnpickler(io.BytesIO(blob)).load()
            except Exception as err:  # noqa: BLE001 - any unpickling failure means "recompute"
                raise _Corrupt(f"does not unpickle: {type(err).__name__}: {err}") from err
        except _Corrupt as err:
            warnings.warn(CorruptEntry(f"store artifact {key} is corrupt ({err}); deleted"), stacklevel=2)
            db = self._connection()
            with self._write(db):
                db.execute("DELETE FROM artifacts WHERE key = ? AND sha256 = ?", (key, sha))
            return None

    def put_artifact(self, key: str, obj: Any, kind: str = "") -> None:
        """Store ``obj`` (pickled, its tensors moved to the CPU by `to_cpu`; ``obj`` itself is
        not modified) under ``key``, replacing any earlier entry, atomically."""
        blob = pickle.dumps(to_cpu(obj), protocol=pickle.HIGHEST_PROTOCOL)
        db = self._connection()
        with self._write(db):
            db.execute("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?, datetime('now'))",
                       (key, kind, blob, hashlib.sha256(blob).hexdigest()))

    def keys(self) -> set[str]:
        return {key for (key,) in self._connection().execute("SELECT key FROM runs")}

    def view_names(self) -> list[str]:
        rows = self._connection().execute("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")
        return [name for (name,) in rows]

    def view(self, name: str) -> list[dict]:
        """All rows of the named view; ValueError if there is no such view."""
        if name not in self.view_names():  # also keeps ``name`` out of SQL unless it is a real view
            raise ValueError(f"unknown view {name!r}; views: {', '.join(self.view_names())}")
        cursor = self._connection().execute(f'SELECT * FROM "{name}"')
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_rows(rows: list[dict]) -> str:
    """Aligned text table of ``rows`` (columns in first-seen order; numbers right-aligned)."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(col for row in rows for col in row))
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    numeric = [all(isinstance(row.get(col), (int, float, type(None))) for row in rows) for col in columns]

    def line(values: list[str]) -> str:
        parts = (v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(columns), rule, *(line(r) for r in cells)])


def db_main(argv: list[str] | None = None) -> int:
    """``grokcore db [--store PATH] [VIEW]``: list views with row counts, or print one view."""
    parser = argparse.ArgumentParser(prog="grokcore db", description=db_main.__doc__)
    parser.add_argument("--store", type=Path, help="store file (default: $GROKCORE_STORE, else user cache dir)")
    parser.add_argument("view", nargs="?", help="view to print; omit to list views")
    args = parser.parse_args(argv)
    path = args.store or default_store_path()
    if not path.exists():
        print(f"grokcore db: no store at {path} (nothing has been run yet)", file=sys.stderr)
        return 1
    with Store(path) as store:
        if args.view is None:
            print(f"store {path}: {len(store.keys())} runs")
            print(format_rows([{"view": n, "rows": len(store.view(n))} for n in store.view_names()]))
            return 0
        try:
            rows = store.view(args.view)
        except ValueError as err:
            print(f"grokcore db: {err}", file=sys.stderr)
            return 2
        print(format_rows(rows))
        return 0
