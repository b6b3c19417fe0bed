"""The batch result store: one SQLite file in the output folder, one row per input.

The file is written by the coordinating process only, in WAL mode, in short transactions: a
batch killed at any moment keeps every committed row and never leaves a half-written one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imaging._shared.errors import ImagingError

__all__ = ["BatchStoreError", "ResultStore", "Row"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    source TEXT NOT NULL,
    modality TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    analyzer_version TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error TEXT,
    result_json TEXT,
    timings_json TEXT NOT NULL DEFAULT '{}',
    finished_at REAL NOT NULL,
    PRIMARY KEY (source, modality)
);
CREATE INDEX IF NOT EXISTS results_status ON results (status);
"""


class BatchStoreError(ImagingError):
    """The batch database cannot be used (corrupt, read-only, disk full...)."""


@dataclass(frozen=True)
class Row:
    """One input's outcome."""

    source: str
    modality: str
    content_hash: str
    analyzer_version: str
    status: str
    error: str | None = None
    result: dict[str, Any] | None = None
    models: dict[str, str] | None = None
    timings_ms: dict[str, float] | None = None


class ResultStore:
    """Open (or create) ``path`` as a batch database.

    Raises
    ------
    BatchStoreError
        If the file is not a database of this kind, or cannot be written; the message says how
        to recover.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            found = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if found is None:
                self.db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(found[0]) > SCHEMA_VERSION:
                raise BatchStoreError(
                    f"{self.path}: written by a newer imaging (schema {found[0]}); upgrade imaging"
                )
            self.db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BatchStoreError(self._explain(exc)) from None
        self._pending = 0
        self._last_commit = time.monotonic()
        self._in_tx = False

    def _explain(self, exc: Exception) -> str:
        text = str(exc)
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return (
                f"{self.path} is corrupt ({text}). Move it away to start the batch afresh, "
                f"or salvage its rows with: sqlite3 '{self.path}' .recover | sqlite3 fixed.sqlite"
            )
        if "readonly" in text or "unable to open" in text:
            return f"{self.path}: cannot write the batch database ({text}); check the folder"
        if "full" in text:
            return f"{self.path}: the disk is full ({text}); free space and run again to resume"
        return f"{self.path}: database error ({text})"

    def done_keys(self, modality: str) -> dict[str, tuple[str, str, str]]:
        """Map source → (content hash, analyzer version, status) for every stored row."""
        try:
            rows = self.db.execute(
                "SELECT source, content_hash, analyzer_version, status FROM results "
                "WHERE modality = ?",
                (modality,),
            )
            return {r[0]: (r[1], r[2], r[3]) for r in rows}
        except sqlite3.DatabaseError as exc:
            raise BatchStoreError(self._explain(exc)) from None

    def lookup(self, source: str, modality: str) -> tuple[str, str, str] | None:
        """(content hash, analyzer version, status) of one stored input, or ``None``."""
        try:
            row = self.db.execute(
                "SELECT content_hash, analyzer_version, status FROM results "
                "WHERE source = ? AND modality = ?",
                (source, modality),
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise BatchStoreError(self._explain(exc)) from None
        return None if row is None else (row[0], row[1], row[2])

    def put(self, row: Row, *, commit_every: int = 64, commit_seconds: float = 1.0) -> None:
        """Insert or replace one row; commits in small groups (and on :meth:`commit`)."""
        try:
            if not self._in_tx:
                self.db.execute("BEGIN IMMEDIATE")
                self._in_tx = True
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.source,
                    row.modality,
                    row.content_hash,
                    row.analyzer_version,
                    json.dumps(row.models or {}),
                    row.status,
                    row.error,
                    None if row.result is None else json.dumps(row.result, allow_nan=False),
                    json.dumps(row.timings_ms or {}),
                    time.time(),
                ),
            )
            self._pending += 1
            if (
                self._pending >= commit_every
                or time.monotonic() - self._last_commit >= commit_seconds
            ):
                self.commit()
        except sqlite3.DatabaseError as exc:
            raise BatchStoreError(self._explain(exc)) from None

    def commit(self) -> None:
        """Make every row put so far durable."""
        try:
            if self._in_tx:
                self.db.execute("COMMIT")
                self._in_tx = False
        except sqlite3.DatabaseError as exc:
            raise BatchStoreError(self._explain(exc)) from None
        self._pending = 0
        self._last_commit = time.monotonic()

    def iter_rows(self, modality: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored row as a dict, in source order (streamed, not loaded at once)."""
        query = "SELECT source, modality, status, error, result_json FROM results"
        args: tuple = ()
        if modality is not None:
            query += " WHERE modality = ?"
            args = (modality,)
        for source, mod, status, error, result_json in self.db.execute(
            query + " ORDER BY source", args
        ):
            if status == "ok" and result_json:
                yield json.loads(result_json)
            else:
                yield {"source": source, "modality": mod, "error": error}

    def counts(self, modality: str | None = None) -> dict[str, int]:
        """Number of rows per status."""
        query = "SELECT status, COUNT(*) FROM results"
        args: tuple = ()
        if modality is not None:
            query += " WHERE modality = ?"
            args = (modality,)
        return dict(self.db.execute(query + " GROUP BY status", args).fetchall())

    def close(self) -> None:
        """Commit and close."""
        try:
            self.commit()
        finally:
            self.db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
