"""The register of crossings: one SQLite file (WAL, no server), queryable by plate and time,
exported as CSV and JSON lines for the central system.

A crossing has a stable id; adding the same crossing twice stores it once, so a retried write
after a crash or a lock never duplicates a record.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imaging._shared.atomic import atomic_write
from imaging._shared.errors import ImagingError

__all__ = ["Crossing", "CrossingRegister", "RegisterError"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS crossings (
    id TEXT PRIMARY KEY,
    plate TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '',
    confidence REAL NOT NULL,
    time_utc TEXT NOT NULL,
    direction TEXT NOT NULL DEFAULT 'unknown',
    camera TEXT NOT NULL DEFAULT '',
    frames INTEGER NOT NULL DEFAULT 1,
    box TEXT NOT NULL DEFAULT '[]',
    alternatives TEXT NOT NULL DEFAULT '[]',
    crop_png BLOB
);
CREATE INDEX IF NOT EXISTS crossings_plate ON crossings (plate);
CREATE INDEX IF NOT EXISTS crossings_time ON crossings (time_utc);
"""
_COLUMNS = (
    "id",
    "plate",
    "country",
    "confidence",
    "time_utc",
    "direction",
    "camera",
    "frames",
    "box",
    "alternatives",
)


class RegisterError(ImagingError):
    """The register cannot be used: corrupt, locked for too long, or not writable."""


@dataclass(frozen=True)
class Crossing:
    """One vehicle passing the camera: its plate, when, which way, how sure."""

    id: str
    plate: str
    country: str
    confidence: float
    time_utc: str
    direction: str = "unknown"
    camera: str = ""
    frames: int = 1
    box: Sequence[float] = ()
    alternatives: Sequence[dict[str, Any]] = ()
    crop_png: bytes | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the crop is left out)."""
        out = asdict(self)
        out.pop("crop_png")
        out["box"] = [float(v) for v in self.box]
        out["alternatives"] = list(self.alternatives)
        return out


def _iso(value: str | float | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    return _iso(datetime.fromisoformat(str(value)))


class CrossingRegister:
    """Open (or create) a crossings register.

    Parameters
    ----------
    path : path
        The SQLite file.
    timeout_s : float
        How long to wait for a lock held by another process before failing.

    Examples
    --------
    >>> import tempfile, os
    >>> reg = CrossingRegister(os.path.join(tempfile.mkdtemp(), "c.sqlite"))
    >>> reg.add(Crossing("a1", "123ABC02", "KZ", 0.97, "2026-11-25T08:00:00+00:00"))
    True
    >>> [c.plate for c in reg.search(plate="123*")]
    ['123ABC02']
    """

    def __init__(self, path: str | os.PathLike, *, timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RegisterError(self._explain(exc)) from None

    def _explain(self, exc: Exception) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return f"{self.path}: the register is locked by another process ({text}); try again"
        if "not a database" in text or "malformed" in text:
            return (
                f"{self.path} is corrupt ({text}): move it away to start a new register, or "
                f"salvage it with: sqlite3 '{self.path}' .recover | sqlite3 recovered.sqlite"
            )
        return f"{self.path}: register error ({text})"

    def add(self, crossing: Crossing, *, retries: int = 3) -> bool:
        """Store a crossing; return False if one with the same id is already there."""
        row = (
            crossing.id,
            crossing.plate,
            crossing.country,
            float(crossing.confidence),
            _iso(crossing.time_utc),
            crossing.direction,
            crossing.camera,
            int(crossing.frames),
            json.dumps([float(v) for v in crossing.box]),
            json.dumps(list(crossing.alternatives)),
            crossing.crop_png,
        )
        for attempt in range(retries + 1):
            try:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO crossings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row
                )
                return cursor.rowcount == 1
            except sqlite3.OperationalError as exc:
                if ("locked" in str(exc) or "busy" in str(exc)) and attempt < retries:
                    time.sleep(0.2 * (attempt + 1))
                    continue
                raise RegisterError(self._explain(exc)) from None
            except sqlite3.DatabaseError as exc:
                raise RegisterError(self._explain(exc)) from None
        return False  # pragma: no cover

    def search(
        self,
        *,
        plate: str | None = None,
        since: str | float | datetime | None = None,
        until: str | float | datetime | None = None,
        country: str | None = None,
        limit: int | None = None,
    ) -> list[Crossing]:
        """Crossings in time order. ``plate`` may hold wildcards: ``*`` any run, ``?`` one
        character; times are ISO strings, datetimes or Unix seconds (UTC)."""
        query = "SELECT * FROM crossings WHERE 1=1"
        args: list[Any] = []
        if plate:
            from imaging.anpr.formats import normalize_text

            pattern = "".join(
                "*" if c == "*" else "?" if c == "?" else normalize_text(c) for c in plate
            )
            query += " AND plate GLOB ?"
            args.append(pattern)
        if since is not None:
            query += " AND time_utc >= ?"
            args.append(_iso(since))
        if until is not None:
            query += " AND time_utc <= ?"
            args.append(_iso(until))
        if country:
            query += " AND country = ?"
            args.append(country.upper())
        query += " ORDER BY time_utc, id"
        if limit is not None:
            query += " LIMIT ?"
            args.append(int(limit))
        try:
            rows = self.db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RegisterError(self._explain(exc)) from None
        return [self._crossing(r) for r in rows]

    @staticmethod
    def _crossing(row: tuple) -> Crossing:
        values = dict(zip((*_COLUMNS, "crop_png"), row, strict=True))
        values["box"] = tuple(json.loads(values["box"]))
        values["alternatives"] = tuple(json.loads(values["alternatives"]))
        return Crossing(**values)

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM crossings").fetchone()[0])

    def iter_dicts(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """JSON-ready dicts of the crossings matching ``filters`` (see :meth:`search`)."""
        for crossing in self.search(**filters):
            yield crossing.to_dict()

    def export_jsonl(self, path: str | os.PathLike, **filters: Any) -> int:
        """Write matching crossings as JSON lines (atomically); return how many."""
        lines = [json.dumps(d) for d in self.iter_dicts(**filters)]
        atomic_write(path, "".join(line + "\n" for line in lines))
        return len(lines)

    def export_csv(self, path: str | os.PathLike, **filters: Any) -> int:
        """Write matching crossings as CSV (atomically); return how many."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(_COLUMNS)
        count = 0
        for d in self.iter_dicts(**filters):
            writer.writerow(
                [json.dumps(d[c]) if c in ("box", "alternatives") else d[c] for c in _COLUMNS]
            )
            count += 1
        atomic_write(path, buffer.getvalue())
        return count

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CrossingRegister:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
