"""Batch processing of a folder of images: parallel, resumable, crash-safe."""

from __future__ import annotations

import concurrent.futures as cf
import fnmatch
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imaging._shared.atomic import atomic_open
from imaging._shared.errors import ImagingError
from imaging._version import __version__
from imaging.batch.store import ResultStore, Row

__all__ = [
    "DEFAULT_INCLUDE",
    "INPUT_SUFFIXES",
    "BatchError",
    "BatchSummary",
    "iter_inputs",
    "run_batch",
]

INPUT_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy", ".dcm", ".dcs", ".seq", ".csq",
    ".fff",
)  # fmt: skip
"""File endings taken as inputs when a folder is given (images, DICOS/DICOM, FLIR files)."""
DEFAULT_INCLUDE = tuple(f"*{suffix}" for suffix in INPUT_SUFFIXES)


class BatchError(ImagingError):
    """A batch cannot start or go on (bad folders, unusable output)."""


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did."""

    total: int
    processed: int
    skipped: int
    failed: int
    elapsed_s: float
    database: Path
    jsonl: Path

    @property
    def ok(self) -> bool:
        """True when no input of this run failed."""
        return self.failed == 0


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(rel.lower(), p.lower()) or fnmatch.fnmatchcase(name.lower(), p.lower())
        for p in patterns
    )


def iter_inputs(
    in_dir: str | os.PathLike,
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    recursive: bool = True,
    skip: Path | None = None,
) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, relative posix name)`` of the inputs below ``in_dir``, sorted, lazily.

    Patterns match the relative path or the file name, case-insensitively. Symbolic links to
    folders are not followed; ``skip`` (e.g. an output folder inside the input) is left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "a.png").write_bytes(b""); (root / "notes.txt").write_bytes(b"")
    0
    0
    >>> [rel for _, rel in iter_inputs(root)]
    ['a.png']
    """
    root = Path(in_dir)
    skip_resolved = skip.resolve() if skip is not None else None

    def walk(folder: Path, prefix: str) -> Iterator[tuple[Path, str]]:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if recursive and (skip_resolved is None or path.resolve() != skip_resolved):
                    yield from walk(path, rel + "/")
            elif entry.is_file() and _matches(rel, include) and not _matches(rel, exclude):
                yield path, rel

    yield from walk(root, "")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_worker_analyzers: dict[tuple, Any] = {}


def _analyzer_for(modality: str, options: dict[str, Any]) -> Any:
    key = (modality, json.dumps(options, sort_keys=True, default=str))
    analyzer = _worker_analyzers.get(key)
    if analyzer is None:
        from imaging.analyzer import get_analyzer

        analyzer = get_analyzer(modality, **options)
        _worker_analyzers[key] = analyzer
    return analyzer


def _process(
    modality: str, options: dict[str, Any], path: str, rel: str, overlay: str | None
) -> dict[str, Any]:
    """Analyze one input (in whatever process runs it); never raises."""
    try:
        analyzer = _analyzer_for(modality, options)
        result = analyzer.analyze(path, source=rel)
        out = {"result": result.to_dict()}
        if overlay is not None:
            from imaging.draw import overlay as render_overlay
            from imaging.io import imwrite

            Path(overlay).parent.mkdir(parents=True, exist_ok=True)
            imwrite(overlay, render_overlay(result, path))
        return out
    except ImagingError as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": "out of memory while analyzing this input"}
    except Exception as exc:  # one bad input must not stop the batch
        return {"error": f"internal error ({type(exc).__name__}: {exc})"}


def _overlay_path(out_dir: Path, rel: str) -> Path:
    target = (out_dir / "overlays" / rel).with_suffix(".png")
    resolved = target.resolve()
    if not resolved.is_relative_to(out_dir.resolve()):
        raise BatchError(f"{rel}: its overlay would land outside {out_dir}")
    return target


def _write_jsonl(store: ResultStore, modality: str, target: Path) -> None:
    with atomic_open(target, "w", encoding="utf-8", remove_orphans=True) as fh:
        for row in store.iter_rows(modality):
            fh.write(json.dumps(row, allow_nan=False) + "\n")


def run_batch(
    in_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    modality: str,
    analyzer_options: dict[str, Any] | None = None,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    recursive: bool = True,
    workers: int | None = None,
    overlays: bool = False,
    retry_failed: bool = False,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Analyze every image below ``in_dir`` and store the results in ``out_dir``.

    Results go to ``out_dir/results.sqlite`` (one row per input: source, content hash,
    analyzer version, models, status, result JSON, timings) and, at the end, to
    ``out_dir/results.jsonl``. Running the same call again skips the inputs already done with
    the same content and analyzer version; failed inputs are redone with ``retry_failed``.

    Parameters
    ----------
    in_dir, out_dir : path
        Input folder (never modified) and output folder (created if needed).
    modality : str
        A registered analyzer name (``"xray"``, ``"anpr"``, ``"thermal"``...).
    analyzer_options : dict, optional
        Keyword options for the analyzer's constructor.
    include, exclude : sequence of str
        Glob patterns on the relative path or file name.
    recursive : bool
        Walk sub-folders.
    workers : int, optional
        Local worker processes; default the number of CPUs. ``1`` runs in this process.
    overlays : bool
        Also write annotated PNGs to ``out_dir/overlays/``.
    retry_failed : bool
        Redo inputs that failed in an earlier run.
    scheduler : str, optional
        A Dask distributed scheduler address (``tcp://host:8786``): run on that cluster
        instead of local processes. Workers must see ``in_dir`` at the same path.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    on_result : callable, optional
        Called with each new row (result dict or ``{"source", "error"}``) as it is stored.

    Returns
    -------
    BatchSummary

    Raises
    ------
    BatchError, BatchStoreError
        The folders cannot be used, or the database is corrupt (the message says how to
        recover).

    Examples
    --------
    >>> summary = run_batch("scans/", "out/", modality="xray")  # doctest: +SKIP
    >>> summary.processed, summary.failed  # doctest: +SKIP
    (120, 1)
    """
    start = time.perf_counter()
    in_path, out_path = Path(in_dir), Path(out_dir)
    if not in_path.is_dir():
        raise BatchError(f"{in_path}: input folder does not exist")
    try:
        out_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out_path}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out_path, os.W_OK):
        raise BatchError(f"{out_path}: the output folder is not writable")
    options = dict(analyzer_options or {})
    version = f"imaging {__version__}"
    if options:
        version += " " + json.dumps(options, sort_keys=True, default=str)
    workers = os.cpu_count() or 1 if workers is None else max(1, int(workers))

    skip_dir = out_path if out_path.resolve().is_relative_to(in_path.resolve()) else None
    walk_args = {"include": include, "exclude": exclude, "recursive": recursive, "skip": skip_dir}
    total = sum(1 for _ in iter_inputs(in_path, **walk_args))
    jsonl = out_path / "results.jsonl"
    processed = skipped = failed = 0

    from tqdm import tqdm

    disable = None if progress is None else not progress
    bar = tqdm(total=total, unit="file", file=sys.stderr, disable=disable, dynamic_ncols=True)
    with ResultStore(out_path / "results.sqlite") as store:
        executor, submit, wait_any = _executor(workers, scheduler)

        def finish(meta: tuple[str, str], outcome: dict[str, Any]) -> None:
            nonlocal processed, failed
            rel, digest = meta
            if "result" in outcome:
                result = outcome["result"]
                row = Row(
                    rel, modality, digest, version, "ok", result=result,
                    models=result.get("models"), timings_ms=result.get("timings_ms"),
                )  # fmt: skip
                processed += 1
                emitted = result
            else:
                row = Row(rel, modality, digest, version, "failed", error=outcome["error"])
                failed += 1
                emitted = {"source": rel, "error": outcome["error"]}
            store.put(row)
            bar.update(1)
            if on_result is not None:
                on_result(emitted)

        pending: dict[Any, tuple[str, str]] = {}
        limit = max(2, 2 * workers)
        try:
            for path, rel in iter_inputs(in_path, **walk_args):
                try:
                    digest = _sha256(path)
                except OSError as exc:
                    finish((rel, "-"), {"error": f"{rel}: could not be read ({exc.strerror})"})
                    continue
                previous = store.lookup(rel, modality)
                if previous is not None and previous[:2] == (digest, version):
                    if previous[2] == "ok" or not retry_failed:
                        skipped += 1
                        bar.update(1)
                        continue
                overlay = str(_overlay_path(out_path, rel)) if overlays else None
                args = (modality, options, str(path), rel, overlay)
                if executor is None:
                    finish((rel, digest), _process(*args))
                    continue
                pending[submit(_process, *args)] = (rel, digest)
                while len(pending) >= limit:
                    for future in wait_any(list(pending)):
                        finish(pending.pop(future), future.result())
            while pending:
                for future in wait_any(list(pending)):
                    finish(pending.pop(future), future.result())
        finally:
            store.commit()
            bar.close()
            if executor is not None and scheduler is None:
                executor.shutdown(wait=True, cancel_futures=True)
            elif executor is not None:
                executor.close()
        _write_jsonl(store, modality, jsonl)
    return BatchSummary(
        total=total, processed=processed, skipped=skipped, failed=failed,
        elapsed_s=time.perf_counter() - start, database=out_path / "results.sqlite", jsonl=jsonl,
    )  # fmt: skip


def _executor(workers: int, scheduler: str | None) -> tuple[Any, Callable, Callable]:
    if scheduler is not None:
        try:
            from distributed import Client, wait
        except ImportError:
            raise BatchError(
                "running on a Dask cluster needs dask.distributed: pip install 'dask[distributed]'"
            ) from None
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise BatchError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None

        def submit_dask(fn: Callable, *args: Any) -> Any:
            return client.submit(fn, *args, pure=False)

        def wait_dask(futures: list) -> set:
            return wait(futures, return_when="FIRST_COMPLETED").done

        return client, submit_dask, wait_dask
    if workers == 1:
        return None, lambda fn, *args: None, lambda futures: set()
    pool = cf.ProcessPoolExecutor(max_workers=workers)

    def wait_local(futures: list) -> set:
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done

    return pool, pool.submit, wait_local
