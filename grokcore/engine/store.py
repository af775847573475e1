"""Results store: one SQLite file of finished training runs, addressed by run key.

A run's ``key`` is a hex digest of its frozen config plus the library's
training-semantics version (computed elsewhere), so a key present in the store
means "this exact run was already done" and callers skip recomputing it.

Schema version 2 (see ``_TABLES`` and ``_VIEWS``)::

    runs       key TEXT PRIMARY KEY, experiment, config_json, status ('ok' | 'diverged'),
               summary_json, wall_s REAL, device, version, created,
               -- denormalized from config_json (NULL when absent), for the views:
               task, M, model (config.model.family), width (config.model.width),
               ratio, n_train, weight_decay (config.optim.weight_decay), seed,
               row_sha256  -- sha256 over every field a reader gets back (`_row_digest`):
                           -- key, experiment, config_json, status, summary_json, wall_s,
                           -- device, version, created and the history's sha256
    histories  key TEXT PRIMARY KEY REFERENCES runs ON DELETE CASCADE,
               blob BLOB (an .npz zip of metric name -> array), sha256 TEXT, nbytes INTEGER
    artifacts  key TEXT PRIMARY KEY, kind TEXT, blob BLOB, sha256 TEXT, created,
               format TEXT  -- 'safetensors': arrays plus a JSON manifest (`artifact_codec`)
               -- derived results that are not one run (a staged curriculum with the LLC
               -- of its checkpoints); the caller's key must cover everything they depend on

    VIEW run_summary          one row per run: grid columns, status, memorized_step,
                              generalized_step, final_test_acc, final_train_acc,
                              grokked (= generalized_step IS NOT NULL)
    VIEW grid_success         per experiment and grid point: n_runs, n_grokked,
                              success_rate, mean/min/max_generalized_step
    VIEW experiment_overview  per experiment: n_runs, n_diverged, n_grokked,
                              fastest_grok, slowest_grok, total_wall_s

Nothing read from the store can run code. Histories are npz read with
``allow_pickle=False``; artifacts are safetensors plus JSON (`artifact_codec`), which
instantiates only allow-listed classes. Artifacts written by schema 1 were pickles:
they are never read (no unpickler exists here), only reported missing, so the caller
recomputes them and the new entry replaces the old one.

Reading checks, in this order: the history checksum, the row checksum, the JSON,
the history blob, then the shape of what came back (`_problem`: a status in
``_STATUSES``, a 1-D numeric ``step`` history, dict config and summary ...). An entry
that fails is reported with a ``CorruptEntry`` warning and left out (the caller
recomputes it, and ``put`` replaces it). It is deleted only when a checksum fails:
an entry this reader merely cannot decode (written by a newer grokcore, say) stays
for the readers that can.

Upgrades: a schema-1 store is upgraded in place when opened writable (two columns
added, views rebuilt). Its existing runs have no row checksum, and the upgrade cannot
vouch for rows it did not write: they are read with their history checksum only,
come back with ``StoredRun.checksum == "history"``, and one ``UnverifiedEntry``
warning per store says how many were read. A store with a *newer* schema version is
refused (`StoreError`), never downgraded.

Opening: ``Store(path, mode="auto" | "rw" | "ro")``. "auto" opens an existing file
read-only when the file or its directory is not writable; "ro" always does
(SQLite's ``mode=ro`` URI: the file is never written, not even its schema); a
read-only store refuses ``put`` with a `StoreError` and never deletes anything. A
file that is not an SQLite database, is truncated, or cannot be opened raises one
`StoreError` whose message names the file and what to do. A WAL-mode store in a
folder this process cannot write, with no ``-wal`` file beside it, is read as
``immutable`` (SQLite cannot create the ``-shm`` it would share otherwise), so a writer
with more rights would go unseen: publish a read-only store in ``delete`` journal mode.

Concurrency: several processes (e.g. pytest-xdist workers) may write at once. Every
write is one ``BEGIN IMMEDIATE`` transaction with a 60 s busy timeout, and each
process opens its own connection. A new store runs in WAL mode, which needs a local
filesystem (its readers share memory through the ``-wal``/``-shm`` files). On NFS and
the like use the rollback journal: ``journal="delete"`` or ``GROKCORE_STORE_JOURNAL=
delete`` (either switches an existing store; without either, a store keeps the mode
it has). In WAL mode the ``-wal`` file is part of the store: copy it with the main
file, or checkpoint first (``sqlite3 store.sqlite 'PRAGMA wal_checkpoint(TRUNCATE)'``).

Rows (schema, encoding, checksums, shape checks, errors) are defined in
``grokcore.engine.store_rows``. Also here: ``format_rows`` (aligned text table) and ``db_main``, the
``grokcore db [--store PATH] [--read-only] [VIEW]`` command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


from grokcore.engine import artifact_codec
from grokcore.engine.store_rows import (
    ARTIFACT_FORMAT,
    CorruptEntry,
    JOURNAL_ENV,
    MODES,
    StoreError,
    StoredRun,
    UnverifiedEntry,
    _ADDED_COLUMNS,
    _BUSY_TIMEOUT_S,
    _Corrupt,
    _RUN_COLUMNS,
    _SCHEMA_VERSION,
    _TABLES,
    _VIEWS,
    _decode_row,
    _journal_setting,
    _run_row,
    _select,
    _sqlite_errors,
    _verify_checksums,
    _writable,
    default_store_path,
)

class Store:
    """SQLite results store; safe to share one file between processes.

    mode: "auto" (read-only if the file or its directory is not writable), "rw" (a
    `StoreError` now if they are not: for callers that will write, e.g. before training)
    or "ro".
    journal: "wal" or "delete" (for NFS), else $GROKCORE_STORE_JOURNAL, else the store's
    own (a new store: WAL). See the module docstring."""

    def __init__(self, path: str | os.PathLike, mode: str = "auto", journal: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.path = str(path)
        self.journal = _journal_setting(journal)
        self.mode = self._resolve_mode(mode)
        self._pid = -1
        self._db: sqlite3.Connection | None = None
        self._parent_db: sqlite3.Connection | None = None
        self._columns: dict[str, set[str]] = {}
        self._warned_unverified = False
        self._connect_checked()

    @property
    def read_only(self) -> bool:
        return self.mode == "ro"

    def _resolve_mode(self, mode: str) -> str:
        """'rw' or 'ro' for this path (see the class docstring); creates a new store's folder."""
        if self.path == ":memory:":
            if mode == "ro":
                raise ValueError("an in-memory store cannot be read-only")
            return "rw"
        path = Path(self.path)
        if path.is_dir():
            raise StoreError(f"{path}: is a directory; give the store's file path (e.g. {path / 'store.sqlite'})")
        if mode == "ro" or (mode == "auto" and path.exists() and not _writable(path)):
            if not path.is_file():
                raise StoreError(f"{path}: no store there to open read-only")
            return "ro"
        if path.exists() and not _writable(path):  # mode "rw": say so now, not at the first put
            raise StoreError(f"{path}: the store or its folder is not writable; fix the permissions, "
                             "or use another store (--store / $GROKCORE_STORE)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"{path}: cannot create the store's folder ({err.strerror}); "
                             "choose a writable place (--store / $GROKCORE_STORE)") from None
        return "rw"

    def _explain(self, err: sqlite3.DatabaseError) -> str:
        """One line for a SQLite error: the file, what happened, what to do."""
        msg = str(err)
        if "not a database" in msg or "malformed" in msg or "encrypted" in msg:
            return (f"{self.path}: damaged or not a grokcore store ({msg}); move it aside together with its "
                    "-wal and -shm files (the next run starts a new store) or restore it from a copy")
        if "readonly" in msg:
            return (f"{self.path}: cannot write the store ({msg}); fix the permissions of the file, its -wal/-shm "
                    "files and its folder, or open it read-only (mode='ro', grokcore db --read-only)")
        if "locked" in msg or "busy" in msg:
            return (f"{self.path}: {msg} for over {_BUSY_TIMEOUT_S:.0f} s; another process holds it "
                    f"(on NFS, set {JOURNAL_ENV}=delete for every process that opens it)")
        if "unable to open" in msg:
            return f"{self.path}: cannot open the store ({msg}); check that the file and its folder are readable"
        return f"{self.path}: SQLite error: {msg}"

    @_sqlite_errors
    def _connect_checked(self) -> sqlite3.Connection:
        return self._connection()

    def _connection(self) -> sqlite3.Connection:
        # SQLite connections must not cross fork(): a child process opens its own.
        # The parent's handle is kept, not closed, because closing it in the child
        # could touch the parent's locks/WAL. (A ":memory:" store is empty in a child.)
        if self._db is None or self._pid != os.getpid():
            self._parent_db, self._db, self._pid = self._db, self._open(), os.getpid()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if not self.read_only:
            return self._prepare(self._connect(self.path, uri=False))
        # mode=ro: SQLite itself refuses every write, schema included.
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        try:
            return self._prepare(self._connect(uri, uri=True))
        except sqlite3.OperationalError as err:
            # A WAL store in a folder we cannot write, with no -shm to share: SQLite can read it
            # only as immutable. Safe when no -wal file exists (no committed data lives outside
            # the main file); a writer elsewhere would be ignored, so say so in the docs.
            if "unable to open" not in str(err) or os.access(Path(self.path).parent, os.W_OK) \
                    or os.path.exists(self.path + "-wal"):
                raise
            return self._prepare(self._connect(uri + "&immutable=1", uri=True))

    @staticmethod
    def _connect(target: str, uri: bool) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE/COMMIT ourselves.
        return sqlite3.connect(target, timeout=_BUSY_TIMEOUT_S, isolation_level=None, uri=uri)

    def _prepare(self, db: sqlite3.Connection) -> sqlite3.Connection:
        """Check the schema version, then (writable) set the journal mode and create or upgrade
        the tables, or (read-only) check that the tables exist. Closes ``db`` on failure."""
        try:
            db.execute("PRAGMA foreign_keys = ON")
            self._refuse_newer(db)  # the first read: a bad header fails here, before any write
            if self.read_only:
                self._check_tables(db)
            else:
                self._set_journal(db)
                self._create_or_upgrade(db)
            self._columns = {t: self._table_columns(db, t) for t in ("runs", "artifacts")}
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_newer(self, db: sqlite3.Connection) -> int:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema version {version} is newer than this grokcore's "
                             f"({_SCHEMA_VERSION}); upgrade grokcore, or use another store (--store / $GROKCORE_STORE)")
        return version

    @staticmethod
    def _table_columns(db: sqlite3.Connection, table: str) -> set[str]:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}

    def _check_tables(self, db: sqlite3.Connection) -> None:
        missing = [t for t in ("runs", "histories", "artifacts") if not self._table_columns(db, t)]
        if missing:
            raise StoreError(f"{self.path}: not a grokcore store (no {', '.join(missing)} table); "
                             "check the path, or open it writable once to create the tables")

    def _set_journal(self, db: sqlite3.Connection) -> None:
        """Put the file in the requested journal mode; a new store gets WAL, an existing
        one keeps its mode unless one is requested (so one process without the setting
        cannot flip an NFS store back to WAL)."""
        if self.path == ":memory:":
            return
        want = self.journal or ("wal" if not self._table_columns(db, "runs") else None)
        # Switching takes an exclusive lock, so only ask when needed. SQLite may answer the
        # switch with SQLITE_BUSY at once, without calling the busy handler, while another
        # process creates the file: retry until the busy timeout.
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while want is not None:
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] == want:
                    break
                got = db.execute(f"PRAGMA journal_mode = {want.upper()}").fetchone()[0]
            except sqlite3.OperationalError as e:
                if not ("locked" in str(e) or "busy" in str(e)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            if got != want:  # refused without an error (e.g. no WAL on this filesystem): do not spin
                other = "delete" if want == "wal" else "wal"
                raise StoreError(f"{self.path}: SQLite kept journal mode {got!r}, not {want!r} (the filesystem "
                                 f"may not support it); set {JOURNAL_ENV}={other}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            db.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster

    def _create_or_upgrade(self, db: sqlite3.Connection) -> None:
        """Create the tables, or upgrade an older schema in place (columns added, views rebuilt)."""
        if db.execute("PRAGMA user_version").fetchone()[0] == _SCHEMA_VERSION:
            return  # current: no write transaction at all
        with self._write(db):
            version = self._refuse_newer(db)  # again under the lock: another process may have upgraded
            if version == _SCHEMA_VERSION:
                return
            for statement in _TABLES:
                db.execute(statement)
            for table, column, decl in _ADDED_COLUMNS:
                if column not in self._table_columns(db, table):
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
            for name, sql in _VIEWS.items():
                db.execute(f'DROP VIEW IF EXISTS "{name}"')
                db.execute(f'CREATE VIEW "{name}" AS {sql}')
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

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

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; nothing can be stored "
                             "(make the file and its folder writable, or use another store)")

    def get(self, key: str) -> StoredRun | None:
        return self.get_many([key]).get(key)

    @_sqlite_errors
    def get_many(self, keys: Iterable[str]) -> dict[str, StoredRun]:
        """Runs found among ``keys`` (one query); absent or unreadable keys are left out."""
        db = self._connection()
        # json_each binds the whole key list as one parameter: no host-parameter limit.
        rows = db.execute(
            f"{self._select()} WHERE r.key IN (SELECT value FROM json_each(?))", (json.dumps(list(keys)),)
        ).fetchall()
        found: dict[str, StoredRun] = {}
        for row in rows:
            try:
                found[row[0]] = _decode_row(row)
            except _Corrupt as err:
                self._report_corrupt(row[0], err)
        unverified = sum(run.checksum != "row" for run in found.values())
        if unverified and not self._warned_unverified:
            self._warned_unverified = True
            warnings.warn(UnverifiedEntry(
                f"store {self.path}: {unverified} run(s) written before schema {_SCHEMA_VERSION} were read; only "
                "their history is checksummed, their config and summary are not verified"), stacklevel=3)
        return found

    def _select(self) -> str:
        return _select("row_sha256" in self._columns.get("runs", ()))

    def _report_corrupt(self, key: str, err: _Corrupt) -> None:
        """Warn; delete the entry only if a checksum failed (damaged bytes) and the store is
        writable. Anything else stays for readers that can decode it."""
        delete = err.checksum and not self.read_only
        fate = "deleted" if delete else "left in the store"
        warnings.warn(CorruptEntry(f"store entry {key} is unreadable ({err}); {fate}, will be recomputed"),
                      stacklevel=4)
        if not delete:
            return
        db = self._connection()
        with self._write(db):
            # Re-check under the write lock: another process may have just re-put it.
            row = db.execute(f"{self._select()} WHERE r.key = ?", (key,)).fetchone()
            try:
                if row is not None:
                    _verify_checksums(row)
            except _Corrupt as again:
                if again.checksum:
                    db.execute("DELETE FROM runs WHERE key = ?", (key,))  # cascades to histories

    def put(self, run: StoredRun) -> None:
        self.put_many([run])

    @_sqlite_errors
    def put_many(self, runs: list[StoredRun]) -> None:
        """Insert or replace all ``runs`` in one transaction."""
        self._require_writable()
        # Encode before taking the lock, so other writers wait only for the inserts.
        rows = [_run_row(run) for run in runs]
        db = self._connection()
        columns = ", ".join(_RUN_COLUMNS)
        with self._write(db):
            # REPLACE deletes the old runs row, which cascades to its history.
            db.executemany(f"INSERT OR REPLACE INTO runs ({columns}) VALUES ({', '.join('?' * len(_RUN_COLUMNS))})",
                           [r for r, _ in rows])
            db.executemany("INSERT OR REPLACE INTO histories (key, blob, sha256, nbytes) VALUES (?, ?, ?, ?)",
                           [h for _, h in rows])

    @_sqlite_errors
    def get_artifact(self, key: str) -> Any | None:
        """The object stored under ``key`` by `put_artifact`, or None. An entry that is not
        readable is reported with a ``CorruptEntry`` warning and None is returned, so the
        caller recomputes it: a pickled entry of schema 1 (never unpickled), one that fails
        its checksum (then deleted), one `artifact_codec` cannot decode (left in place)."""
        fmt = "format" if "format" in self._columns.get("artifacts", ()) else "NULL"
        row = self._connection().execute(f"SELECT blob, sha256, {fmt} FROM artifacts WHERE key = ?",
                                         (key,)).fetchone()
        if row is None:
            return None
        blob, sha, fmt = row
        if fmt != ARTIFACT_FORMAT:
            warnings.warn(CorruptEntry(f"store artifact {key} has format {fmt or 'pickle (schema 1)'}, which is "
                                       "never read; left in the store, will be recomputed"), stacklevel=3)
            return None
        if not isinstance(blob, bytes) or hashlib.sha256(blob).hexdigest() != sha:
            self._drop_artifact(key, sha, "checksum mismatch")
            return None
        try:
            return artifact_codec.decode(blob)
        except artifact_codec.ArtifactDecodeError as err:
            warnings.warn(CorruptEntry(f"store artifact {key} is unreadable ({err}); left in the store, "
                                       "will be recomputed"), stacklevel=3)
            return None

    def _drop_artifact(self, key: str, sha: str, reason: str) -> None:
        fate = "left in the store (read-only)" if self.read_only else "deleted"
        warnings.warn(CorruptEntry(f"store artifact {key} is corrupt ({reason}); {fate}, will be recomputed"),
                      stacklevel=4)
        if not self.read_only:
            with self._write(self._connection()) as db:  # only the row we read: not one re-put since
                db.execute("DELETE FROM artifacts WHERE key = ? AND sha256 IS ?", (key, sha))

    @_sqlite_errors
    def put_artifact(self, key: str, obj: Any, kind: str = "") -> None:
        """Store ``obj`` under ``key`` as arrays plus JSON (`artifact_codec.encode`: tensors are
        written from the CPU, ``obj`` itself is not modified), replacing any earlier entry,
        atomically. TypeError if ``obj`` holds a type the codec does not store."""
        self._require_writable()
        blob = artifact_codec.encode(obj)
        db = self._connection()
        with self._write(db):
            db.execute("INSERT OR REPLACE INTO artifacts (key, kind, blob, sha256, created, format) "
                       "VALUES (?, ?, ?, ?, datetime('now'), ?)",
                       (key, kind, blob, hashlib.sha256(blob).hexdigest(), ARTIFACT_FORMAT))

    @_sqlite_errors
    def keys(self) -> set[str]:
        return {key for (key,) in self._connection().execute("SELECT key FROM runs")}

    @_sqlite_errors
    def unverified_count(self) -> int:
        """Runs written before schema 2 (no row checksum: config and summary unverified)."""
        if "row_sha256" not in self._columns.get("runs", ()):
            return len(self.keys())
        return self._connection().execute("SELECT COUNT(*) FROM runs WHERE row_sha256 IS NULL").fetchone()[0]

    @_sqlite_errors
    def view_names(self) -> list[str]:
        rows = self._connection().execute("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")
        return [name for (name,) in rows]

    @_sqlite_errors
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
    """``grokcore db [--store PATH] [VIEW]``: list views with row counts, or print one view.
    Opens the store read-only (it only reads), so it also works on a store it may not write."""
    parser = argparse.ArgumentParser(prog="grokcore db", description=db_main.__doc__)
    parser.add_argument("--store", type=Path, help="store file (default: $GROKCORE_STORE, else user cache dir)")
    parser.add_argument("view", nargs="?", help="view to print; omit to list views")
    args = parser.parse_args(argv)
    path = args.store or default_store_path()
    if not path.exists():
        print(f"grokcore db: no store at {path} (nothing has been run yet)", file=sys.stderr)
        return 1
    try:
        with Store(path, mode="ro") as store:
            return _print_db(store, path, args.view)
    except StoreError as err:
        print(f"grokcore db: {err}", file=sys.stderr)
        return 1


def _print_db(store: Store, path: Path, view: str | None) -> int:
    if view is None:
        unverified = store.unverified_count()
        note = f" ({unverified} written before schema {_SCHEMA_VERSION}: history checksum only)" if unverified else ""
        print(f"store {path}: {len(store.keys())} runs{note}")
        print(format_rows([{"view": n, "rows": len(store.view(n))} for n in store.view_names()]))
        return 0
    try:
        rows = store.view(view)
    except ValueError as err:
        print(f"grokcore db: {err}", file=sys.stderr)
        return 2
    print(format_rows(rows))
    return 0
