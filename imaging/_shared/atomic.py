"""Atomic file writes: a temporary file in the target folder, flushed, then renamed."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write"]


@contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "wb", *, remove_orphans: bool = False, **kwargs: Any
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` at once.

    A crash or an exception leaves ``path`` as it was and removes the temporary file. The new
    file gets the mode of the file it replaces, or 0644. A process killed mid-write cannot
    remove its temporary file; the temporary names carry the writer's process id, and with
    ``remove_orphans`` this write of ``path`` removes those whose writer is gone (it lists the
    folder, so it is for files rewritten in place, not for each of many files in one folder).
    """
    target = Path(path)
    if remove_orphans:
        _remove_orphans(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        mode_bits = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp, mode_bits)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | os.PathLike, data: bytes | str, *, remove_orphans: bool = False
) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    if isinstance(data, str):
        with atomic_open(path, "w", encoding="utf-8", remove_orphans=remove_orphans) as fh:
            fh.write(data)
    else:
        with atomic_open(path, "wb", remove_orphans=remove_orphans) as fh:
            fh.write(data)


def _remove_orphans(target: Path) -> None:
    """Remove temporary files of ``target`` left by writers that no longer run."""
    prefix = f".{target.name}."
    try:
        candidates = list(target.parent.glob(f"{glob.escape(prefix)}*.tmp"))
    except OSError:
        return
    for candidate in candidates:
        pid = candidate.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            candidate.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
