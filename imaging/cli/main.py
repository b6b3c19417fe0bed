"""The ``imaging`` command line.

``imaging MODALITY analyze PATH... --json`` prints one JSON object per input per line (the
:meth:`imaging.Result.to_dict` schema); a failed input prints ``{"source": ..., "error": ...}``
and is reported on stderr. Exit status: 0 when every input was processed, 1 when some failed,
2 for bad arguments.

Every registered analyzer gets a ``MODALITY analyze`` command. Modules in this package that
define ``MODALITY`` add to it (see :mod:`imaging.cli` plug-ins): ``add_analyze_arguments``,
``analyze_options`` and ``add_commands``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from imaging._shared.errors import ImagingError
from imaging._shared.jsonable import to_jsonable
from imaging._version import __version__
from imaging.batch.run import INPUT_SUFFIXES

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _plugins() -> dict[str, ModuleType]:
    """CLI modules of this package that extend a modality, by modality name."""
    import imaging.cli as package

    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name == "main":
            continue
        module = importlib.import_module(f"imaging.cli.{info.name}")
        modality = getattr(module, "MODALITY", None)
        if modality:
            found[modality] = module
    return found


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (analyzers and plug-ins discovered at call time)."""
    from imaging.analyzer import available_analyzers

    parser = argparse.ArgumentParser(
        prog="imaging",
        description="Image analysis for customs control: X-ray scans, number plates, thermal.",
    )
    parser.add_argument("--version", action="version", version=f"imaging {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    plugins = _plugins()
    for name in available_analyzers():
        modality = commands.add_parser(name, help=f"{name} analysis")
        actions = modality.add_subparsers(dest="action", metavar="ACTION")
        actions.required = True
        analyze = actions.add_parser("analyze", help=f"analyze images with the {name} analyzer")
        analyze.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
        analyze.add_argument("--json", action="store_true", help="one JSON object per line")
        analyze.add_argument("--overlay", metavar="DIR", help="write annotated PNGs here")
        analyze.add_argument(
            "--providers", default="cpu", help="ONNX providers: cpu (default), auto, cuda..."
        )
        plugin = plugins.get(name)
        if plugin is not None and hasattr(plugin, "add_analyze_arguments"):
            plugin.add_analyze_arguments(analyze)
        analyze.set_defaults(func=_run_analyze, modality=name, plugin=plugin)
        if plugin is not None and hasattr(plugin, "add_commands"):
            plugin.add_commands(actions)

    models = commands.add_parser("models", help="list or verify the shipped ONNX models")
    model_actions = models.add_subparsers(dest="action", metavar="ACTION")
    model_actions.required = True
    listing = model_actions.add_parser("list", help="list shipped models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_run_models_list)
    verify = model_actions.add_parser("verify", help="check every shipped model's SHA-256")
    verify.set_defaults(func=_run_models_verify)

    batch = commands.add_parser("batch", help="analyze a folder of images, resumably")
    batch.add_argument("in_dir", metavar="IN_DIR")
    batch.add_argument("-o", "--out", required=True, metavar="OUT_DIR")
    batch.add_argument("--modality", required=True, help="analyzer name (xray, anpr, thermal)")
    batch.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
    batch.add_argument("--include", action="append", metavar="GLOB", help="repeatable")
    batch.add_argument("--exclude", action="append", metavar="GLOB", default=[])
    batch.add_argument("--no-recursive", action="store_true")
    batch.add_argument("--overlays", action="store_true", help="write annotated PNGs too")
    batch.add_argument("--retry-failed", action="store_true", help="redo inputs that failed")
    batch.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="Dask scheduler")
    batch.add_argument("--no-progress", action="store_true")
    batch.set_defaults(func=_run_batch)

    comp = commands.add_parser("compare", help="compare outputs with reference images")
    comp.add_argument("out_dir", metavar="OUT_DIR")
    comp.add_argument("ref_dir", metavar="REF_DIR")
    comp.add_argument("--report", metavar="DIR", help="where the report goes (OUT_DIR/compare)")
    comp.add_argument("--modality", help="thermal: compare float rasters in degrees C")
    comp.add_argument("--iou", type=float, default=0.5, help="box match threshold (0.5)")
    comp.add_argument(
        "--fail-under",
        action="append",
        metavar="METRIC=VALUE",
        default=[],
        help="exit 1 when a summary metric is below VALUE (repeatable)",
    )
    comp.add_argument(
        "--fail-over",
        action="append",
        metavar="METRIC=VALUE",
        default=[],
        help="exit 1 when a summary metric (an error) is above VALUE",
    )
    comp.set_defaults(func=_run_compare)

    warmup = commands.add_parser(
        "warmup", help="compile kernels and open models before the first scan"
    )
    warmup.set_defaults(func=_run_warmup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help/--version
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except ImagingError as exc:
        print(f"imaging: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("imaging: interrupted", file=sys.stderr)
        return 130


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files as given; folders replaced by the image files inside them, sorted, recursively."""
    out: list[str] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
            )
            out.extend(str(p) for p in files)
        else:
            out.append(text)
    return out


def _overlay_path(folder: Path, source: str, used: set[str]) -> Path:
    stem = Path(source).stem or "image"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).lstrip(".") or "image"
    name, k = f"{safe}.png", 1
    while name in used:
        k += 1
        name = f"{safe}-{k}.png"
    used.add(name)
    return folder / name


def _run_analyze(args: argparse.Namespace) -> int:
    from imaging.analyzer import get_analyzer

    options: dict[str, Any] = {}
    context: dict[str, Any] = {}
    if args.plugin is not None and hasattr(args.plugin, "analyze_options"):
        options, context = args.plugin.analyze_options(args)
    if args.providers != "cpu":
        options["providers"] = args.providers
    analyzer = get_analyzer(args.modality, **options)
    overlay_dir = Path(args.overlay) if args.overlay else None
    if overlay_dir is not None:
        try:
            overlay_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"imaging: error: cannot create {overlay_dir}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
    sources = expand_paths(args.paths)
    if not sources:
        print("imaging: error: no input files found", file=sys.stderr)
        return EXIT_FAILED
    failed = 0
    used: set[str] = set()
    for source, result, error in _analyze_each(analyzer, sources, context):
        if error is not None:
            failed += 1
            shown = error if source in error else f"{source}: {error}"
            print(f"imaging: error: {shown}", file=sys.stderr)
            if args.json:
                _print_json({"source": source, "error": error})
            continue
        if overlay_dir is not None:
            try:
                from imaging.draw import overlay
                from imaging.io import imwrite

                imwrite(_overlay_path(overlay_dir, source, used), overlay(result, source))
            except ImagingError as exc:
                print(f"imaging: warning: {source}: no overlay ({exc})", file=sys.stderr)
        if args.json:
            _print_json(result.to_dict())
        else:
            print(_summary(result))
    return EXIT_FAILED if failed else EXIT_OK


def _analyze_each(
    analyzer: Any, sources: list[str], context: dict[str, Any]
) -> Iterator[tuple[str, Any, str | None]]:
    from tqdm import tqdm

    progress = tqdm(
        sources, unit="image", file=sys.stderr, disable=None if len(sources) > 1 else True
    )
    for source in progress:
        try:
            if not os.path.exists(source):
                raise FileNotFoundError(f"{source}: no such file")
            yield source, analyzer.analyze(source, source=source, **context), None
        except ImagingError as exc:
            yield source, None, str(exc)
        except FileNotFoundError as exc:
            yield source, None, str(exc)
        except Exception as exc:  # one bad input must not stop the others
            if os.environ.get("IMAGING_DEBUG"):
                traceback.print_exc()
            yield source, None, f"internal error ({type(exc).__name__}: {exc})"


def _print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


def _summary(result: Any) -> str:
    parts = [f"{len(result.detections)} detection(s)"]
    if result.flags:
        kinds = sorted({f.kind for f in result.flags})
        parts.append(f"{len(result.flags)} flag(s) ({', '.join(kinds)})")
    texts = result.detections.data.get("text")
    if texts is not None and len(texts):
        parts.append("text " + ", ".join(str(t) for t in texts))
    total = sum(result.timings_ms.values())
    return f"{result.source}: {'; '.join(parts)} [{total:.1f} ms]"


def _run_models_list(args: argparse.Namespace) -> int:
    from imaging.runtime import shipped_models

    specs = shipped_models()
    if args.json:
        for spec in specs.values():
            _print_json(
                {
                    "name": spec.name,
                    "task": spec.task,
                    "file": str(spec.path),
                    "sha256": spec.sha256,
                    "input_size": spec.input_size,
                    "labels": list(spec.labels),
                    "card": None if spec.card is None else str(spec.card),
                }
            )
        return EXIT_OK
    if not specs:
        print("no shipped models")
    for spec in specs.values():
        size = spec.path.stat().st_size / 1e6 if spec.path.exists() else float("nan")
        print(
            f"{spec.name:24s} {spec.task:10s} {size:6.2f} MB  {(spec.sha256 or '')[:12]}  "
            f"{spec.description}"
        )
    return EXIT_OK


def _run_models_verify(args: argparse.Namespace) -> int:
    from imaging.runtime import shipped_models, verify_model

    failed = 0
    for name, spec in shipped_models().items():
        try:
            verify_model(spec)
            print(f"ok      {name}")
        except ImagingError as exc:
            failed += 1
            print(f"FAILED  {name}: {exc}")
    return EXIT_FAILED if failed else EXIT_OK


def _run_batch(args: argparse.Namespace) -> int:
    from imaging.analyzer import available_analyzers
    from imaging.batch import DEFAULT_INCLUDE, run_batch

    if args.modality not in available_analyzers():
        known = ", ".join(available_analyzers())
        print(f"imaging: error: no analyzer named {args.modality!r}; available: {known}",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print("imaging: error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    summary = run_batch(
        args.in_dir,
        args.out,
        modality=args.modality,
        include=args.include or DEFAULT_INCLUDE,
        exclude=args.exclude,
        recursive=not args.no_recursive,
        workers=args.workers,
        overlays=args.overlays,
        retry_failed=args.retry_failed,
        scheduler=args.scheduler,
        progress=False if args.no_progress else None,
    )
    print(
        f"{summary.total} input(s): {summary.processed} analyzed, {summary.skipped} already "
        f"done, {summary.failed} failed in {summary.elapsed_s:.1f} s -> {summary.database}"
    )
    return EXIT_FAILED if summary.failed else EXIT_OK


def _run_compare(args: argparse.Namespace) -> int:
    from imaging.compare import compare, parse_thresholds

    try:
        under = parse_thresholds(args.fail_under)
        over = parse_thresholds(args.fail_over)
    except ValueError as exc:
        print(f"imaging: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = compare(
        args.out_dir,
        args.ref_dir,
        report_dir=args.report,
        modality=args.modality,
        iou_threshold=args.iou,
        fail_under=under,
        fail_over=over,
    )
    shown = {k: v for k, v in report.summary.items() if not isinstance(v, list)}
    print(json.dumps(to_jsonable(shown)))
    print(f"report: {report.report_html}", file=sys.stderr)
    for failure in report.failures:
        print(f"imaging: threshold missed: {failure}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def _run_warmup(args: argparse.Namespace) -> int:
    from imaging.analyzer import available_analyzers, get_analyzer
    from imaging.runtime import get_session, shipped_models

    failed = 0
    for name in available_analyzers():
        start = time.perf_counter()
        try:
            analyzer = get_analyzer(name)
            if hasattr(analyzer, "warmup"):
                analyzer.warmup()
            print(f"analyzer {name}: ready in {(time.perf_counter() - start) * 1000:.0f} ms")
        except ImagingError as exc:
            failed += 1
            print(f"analyzer {name}: FAILED ({exc})")
    for name in shipped_models():
        start = time.perf_counter()
        try:
            get_session(name)
            print(f"model {name}: loaded in {(time.perf_counter() - start) * 1000:.0f} ms")
        except ImagingError as exc:
            failed += 1
            print(f"model {name}: FAILED ({exc})")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
