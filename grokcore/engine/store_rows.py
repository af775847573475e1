"""What one row of the results store is: the schema (tables, views, version), the ``StoredRun``
record, its encoding (config and summary as JSON, the history as an npz without pickle), the
row checksum over every field a reader gets back, the shape checks applied on write and on
read, and the store's errors and warnings. ``store.Store`` holds the connection and the
transactions; this module holds no state."""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

_BUSY_TIMEOUT_S = 60.0
# 1: tables and views. 2: runs.row_sha256, artifacts.format (pickled artifacts no longer read).
# Bump when the tables or _VIEWS change; older stores are upgraded, newer ones refused.
_SCHEMA_VERSION = 2
_STATUSES = ("ok", "diverged")
ARTIFACT_FORMAT = "safetensors"  # artifacts.format of entries `artifact_codec` wrote
JOURNAL_ENV = "GROKCORE_STORE_JOURNAL"
JOURNAL_MODES = ("wal", "delete")
MODES = ("auto", "rw", "ro")

# Separate statements, not one script: executescript() would commit our transaction.
# New columns go last, in the order an upgrade's ALTER TABLE appends them (_ADDED_COLUMNS).
_TABLES = (
    """CREATE TABLE IF NOT EXISTS runs (
        key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config_json TEXT NOT NULL,
        status TEXT NOT NULL, summary_json TEXT NOT NULL, wall_s REAL, device TEXT,
        version TEXT, created TEXT,
        task TEXT, M INTEGER, model TEXT, width INTEGER, ratio REAL, n_train INTEGER,
        weight_decay REAL, seed INTEGER, row_sha256 TEXT)""",
    "CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment)",
    """CREATE TABLE IF NOT EXISTS histories (
        key TEXT PRIMARY KEY REFERENCES runs (key) ON DELETE CASCADE,
        blob BLOB NOT NULL, sha256 TEXT NOT NULL, nbytes INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS artifacts (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, blob BLOB NOT NULL, sha256 TEXT NOT NULL, created TEXT,
        format TEXT)""",
)
_ADDED_COLUMNS = (("runs", "row_sha256", "TEXT"), ("artifacts", "format", "TEXT"))  # schema 2
_RUN_COLUMNS = ("key", "experiment", "config_json", "status", "summary_json", "wall_s", "device", "version",
                "created", "task", "M", "model", "width", "ratio", "n_train", "weight_decay", "seed", "row_sha256")

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
    """One finished run. ``history`` maps metric names ("step", "test/acc") to arrays.

    ``checksum`` says what a read verified: "row" (every field, checksummed together
    with the history) or "history" (a run written before schema 2: only its history
    blob; its config, summary and status are unverified). Ignored by ``put``."""

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
    checksum: str = "row"


class StoreError(Exception):
    """The store cannot be used as asked (damaged file, newer schema, read-only, cannot
    open). The message is one line naming the file and what to do."""


class CorruptEntry(UserWarning):
    """A stored entry could not be read; it is left out so the caller recomputes it (and
    deleted only if its checksum failed)."""


class UnverifiedEntry(UserWarning):
    """Runs written before schema 2 were read: only their history blob is checksummed."""


class _Corrupt(Exception):
    """Internal: why an entry failed to decode; ``checksum``: a checksum failed (the
    bytes are damaged, so the entry may be deleted)."""

    def __init__(self, reason: str, checksum: bool = False) -> None:
        super().__init__(reason)
        self.checksum = checksum


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


def _problem(experiment: Any, config: Any, status: Any, summary: Any, history: Any, wall_s: Any) -> str | None:
    """What is wrong with the shape of a run, or None. The same check guards ``put`` (so a
    run that could not be read back is refused) and every read (so an edited or foreign
    row is reported, not a KeyError deep in a caller)."""
    if not isinstance(experiment, str):
        return f"experiment is {type(experiment).__name__}, not str"
    if status not in _STATUSES:
        return f"status must be one of {_STATUSES}, got {status!r}"
    if not isinstance(config, dict) or not isinstance(summary, dict):
        return "config and summary must be JSON objects"
    if summary.get("status", status) != status:
        return f"summary status {summary['status']!r} differs from the row's {status!r}"
    if wall_s is not None and (isinstance(wall_s, bool) or not isinstance(wall_s, (int, float))):
        return f"wall_s is {type(wall_s).__name__}, not a number"
    if not isinstance(history, dict) or "step" not in history:
        return "history has no 'step'"
    step = np.asarray(history["step"])
    if step.ndim != 1 or len(step) == 0 or step.dtype.kind not in "iuf":
        return f"history 'step' must be a non-empty 1-D numeric array, got {step.dtype} {step.shape}"
    odd = [name for name, a in history.items() if np.asarray(a).dtype.kind not in "biuf"]
    if odd:
        return f"history arrays of non-numeric dtype: {odd[:5]}"
    return None


def _sql_real(x: Any) -> float | None:
    """A float as SQLite keeps it: SQLite stores NaN as NULL, so the row checksum must see None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _row_digest(key: str, experiment: str, config_json: str, status: str, summary_json: str,
                wall_s: float | None, device: Any, version: Any, created: Any, history_sha: str) -> str:
    """sha256 binding every field a reader gets back to the history's checksum. A JSON list of
    the exact stored strings: unambiguous, and independent of JSON key order or whitespace."""
    fields = [key, experiment, config_json, status, summary_json, wall_s, device, version, created, history_sha]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def _run_row(run: StoredRun) -> tuple[tuple, tuple]:
    """(runs row in `_RUN_COLUMNS` order, histories row); ValueError for a run that could not
    be read back (bad status, no step, a non-finite float in its JSON, object arrays)."""
    if problem := _problem(run.experiment, run.config, run.status, run.summary, run.history, run.wall_s):
        raise ValueError(f"run {run.key}: {problem}")
    cfg = run.config
    config_json, summary_json = _to_json(cfg, "config", run.key), _to_json(run.summary, "summary", run.key)
    blob = _encode_history(run.history)
    history_sha = hashlib.sha256(blob).hexdigest()
    wall_s = _sql_real(run.wall_s)
    digest = _row_digest(run.key, run.experiment, config_json, run.status, summary_json, wall_s,
                         run.device, run.version, run.created, history_sha)
    runs_row = (
        run.key, run.experiment, config_json, run.status, summary_json, wall_s, run.device,
        run.version, run.created, _dig(cfg, "task"), _dig(cfg, "M"),
        _dig(cfg, "model", "family"), _dig(cfg, "model", "width"), _dig(cfg, "ratio"),
        _dig(cfg, "n_train"), _dig(cfg, "optim", "weight_decay"), _dig(cfg, "seed"), digest,
    )
    return runs_row, (run.key, blob, history_sha, len(blob))


def _select(row_sha: bool) -> str:
    # A read-only schema-1 store has no row_sha256 column: its rows read as unverified.
    return f"""
    SELECT r.key, r.experiment, r.config_json, r.status, r.summary_json, r.wall_s,
           r.device, r.version, r.created, {'r.row_sha256' if row_sha else 'NULL'}, h.blob, h.sha256
    FROM runs r LEFT JOIN histories h ON h.key = r.key"""


def _verify_checksums(row: tuple) -> bool:
    """Check a row's checksums (raises _Corrupt); True if it has a row checksum, False for
    a schema-1 row (history checksum only)."""
    key, experiment, config_json, status, summary_json, wall_s, device, version, created, row_sha, blob, sha = row
    if blob is None:
        raise _Corrupt("history missing")  # not a checksum failure: nothing to delete
    if not isinstance(blob, bytes) or hashlib.sha256(blob).hexdigest() != sha:
        raise _Corrupt("history checksum mismatch", checksum=True)
    if row_sha is None:
        return False
    if row_sha != _row_digest(key, experiment, config_json, status, summary_json, wall_s, device, version,
                              created, sha):
        raise _Corrupt("row checksum mismatch: config, summary or status edited or damaged", checksum=True)
    return True


def _decode_row(row: tuple) -> StoredRun:
    key, experiment, config_json, status, summary_json, wall_s, device, version, created, _, blob, _ = row
    verified = _verify_checksums(row)
    try:
        config, summary = json.loads(config_json), json.loads(summary_json)
        history = _decode_history(blob)
    except (ValueError, TypeError, OSError, EOFError, KeyError, RecursionError, zipfile.BadZipFile) as err:
        raise _Corrupt(f"undecodable: {err!r}") from None
    if problem := _problem(experiment, config, status, summary, history, wall_s):
        raise _Corrupt(f"invalid: {problem}")
    return StoredRun(key, experiment, config, status, summary, history, wall_s, device, version, created,
                     checksum="row" if verified else "history")


_F = TypeVar("_F", bound=Callable[..., Any])


def _sqlite_errors(method: _F) -> _F:
    """Turn SQLite's errors in a `Store` method into one `StoreError` naming the file."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            raise StoreError(self._explain(err)) from None

    return wrapper  # type: ignore[return-value]


def _writable(path: Path) -> bool:
    """The file and its directory are writable (SQLite creates journal files beside it)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _journal_setting(journal: str | None) -> str | None:
    """The journal mode to enforce: ``journal``, else $GROKCORE_STORE_JOURNAL, else None (keep)."""
    value = journal if journal is not None else os.environ.get(JOURNAL_ENV) or None
    if value is not None and value.lower() not in JOURNAL_MODES:
        source = "journal" if journal is not None else f"${JOURNAL_ENV}"
        raise ValueError(f"{source} must be one of {JOURNAL_MODES}, got {value!r}")
    return value.lower() if value is not None else None
