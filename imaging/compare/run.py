"""Compare a folder of outputs with a folder of references, matched by name."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imaging._shared.errors import ImagingError
from imaging._shared.jsonable import to_jsonable
from imaging.compare.metrics import (
    detection_metrics,
    image_metrics,
    plate_metrics,
    temperature_metrics,
)

__all__ = ["CompareError", "CompareReport", "compare", "parse_thresholds"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy"}
HIGHER_IS_BETTER = {
    "psnr_db",
    "ssim",
    "precision",
    "recall",
    "f1",
    "exact",
    "exact_o0_folded",
    "char_accuracy",
}


class CompareError(ImagingError):
    """The folders cannot be compared (missing, empty, unreadable references)."""


@dataclass
class CompareReport:
    """What :func:`compare` found: per-item metrics, the summary, and the files written."""

    items: list[dict[str, Any]]
    summary: dict[str, Any]
    metrics_json: Path
    report_html: Path
    plot_png: Path
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every threshold given was met."""
        return not self.failures


def parse_thresholds(pairs: list[str] | None) -> dict[str, float]:
    """Parse ``["ssim=0.95", "f1=0.8"]`` into a dict (``ValueError`` on a malformed pair).

    Examples
    --------
    >>> parse_thresholds(["ssim=0.95"])
    {'ssim': 0.95}
    """
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected METRIC=VALUE, got {pair!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{pair!r}: {value!r} is not a number") from None
    return out


def _key(rel: Path) -> str:
    return rel.with_suffix("").as_posix()


def _walk(root: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            if rel.parts and rel.parts[0] in skip:
                continue
            yield path, rel.as_posix()


def _load_outputs(out_dir: Path, skip: tuple[str, ...]) -> tuple[dict, dict]:
    """Results (by source key) from JSON lines / JSON files, and output images (by key)."""
    results: dict[str, dict] = {}
    images: dict[str, Path] = {}
    for path, rel in _walk(out_dir, skip):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            images.setdefault(_key(Path(rel)), path)
        elif suffix in (".jsonl", ".json"):
            try:
                text = path.read_text(encoding="utf-8")
                docs = (
                    [json.loads(line) for line in text.splitlines() if line.strip()]
                    if suffix == ".jsonl"
                    else [json.loads(text)]
                )
            except (OSError, ValueError):
                continue
            for doc in docs:
                if (
                    isinstance(doc, dict)
                    and "source" in doc
                    and (doc.get("schema") == "imaging.result" or "error" in doc)
                ):
                    results[_key(Path(str(doc["source"])))] = doc
                elif suffix == ".json" and isinstance(doc, dict):
                    results.setdefault(_key(Path(rel)), doc)
    return results, images


def _find(key: str, table: Mapping[str, Any]) -> Any:
    if key in table:
        return table[key]
    stem = key.rsplit("/", 1)[-1]
    hits = [v for k, v in table.items() if k.rsplit("/", 1)[-1] == stem]
    return hits[0] if len(hits) == 1 else None


def _objects(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return [o for o in doc if isinstance(o, dict)]
    if isinstance(doc, dict):
        for key in ("detections", "objects", "plates", "boxes"):
            if isinstance(doc.get(key), list):
                return [o for o in doc[key] if isinstance(o, dict)]
    return []


def _read_raster(path: Path) -> np.ndarray:
    from imaging.io import imread

    return imread(path)


def compare(
    out_dir: str | os.PathLike,
    ref_dir: str | os.PathLike,
    *,
    report_dir: str | os.PathLike | None = None,
    modality: str | None = None,
    iou_threshold: float = 0.5,
    fail_under: Mapping[str, float] | None = None,
    fail_over: Mapping[str, float] | None = None,
) -> CompareReport:
    """Compare outputs with references matched by name; write metrics, a plot and a report.

    References in ``ref_dir``:

    - images or rasters (PNG, TIFF, NPY...): compared with the output image of the same
      relative name (any image extension): PSNR, SSIM and maximum absolute difference, or for
      ``modality="thermal"`` the error in °C (mean, max, 99th percentile);
    - JSON files (a result of this library, ``{"detections": [...]}`` or a list of objects
      with ``box``, ``label`` and for plates ``text``): compared with the output result of
      the same source name (from ``results.jsonl`` or per-file JSON in ``out_dir``):
      precision, recall and F1 at ``iou_threshold``, and for plates exact and character
      accuracy.

    Parameters
    ----------
    out_dir, ref_dir : path
        Outputs and references.
    report_dir : path, optional
        Where ``metrics.json``, ``summary.png`` and ``report.html`` go (default
        ``out_dir/compare``).
    modality : str, optional
        ``"thermal"`` compares float rasters as temperatures.
    iou_threshold : float
        Box match threshold.
    fail_under, fail_over : mapping of metric to value
        Summary metrics that must be at least / at most these values.

    Returns
    -------
    CompareReport

    Examples
    --------
    >>> report = compare("out/", "reference/", fail_under={"ssim": 0.95})  # doctest: +SKIP
    >>> report.ok, report.summary["ssim"]  # doctest: +SKIP
    """
    out_path, ref_path = Path(out_dir), Path(ref_dir)
    for folder, what in ((out_path, "output"), (ref_path, "reference")):
        if not folder.is_dir():
            raise CompareError(f"{folder}: {what} folder does not exist")
    target = Path(report_dir) if report_dir is not None else out_path / "compare"
    target.mkdir(parents=True, exist_ok=True)
    skip = (
        ("compare", "overlays") if target.parent.resolve() == out_path.resolve() else ("overlays",)
    )
    results, images = _load_outputs(out_path, skip)

    items: list[dict[str, Any]] = []
    for path, rel in _walk(ref_path):
        suffix = path.suffix.lower()
        key = _key(Path(rel))
        item: dict[str, Any] = {"name": rel}
        try:
            if suffix in IMAGE_SUFFIXES:
                out_image = _find(key, images)
                if out_image is None:
                    item.update(kind="image", status="missing")
                else:
                    ref = _read_raster(path)
                    out = _read_raster(out_image)
                    item.update(output=str(out_image), reference=str(path), status="ok")
                    if modality == "thermal":
                        item.update(kind="thermal", **temperature_metrics(out, ref))
                    else:
                        item.update(kind="image", **image_metrics(out, ref))
            elif suffix == ".json":
                truth_doc = json.loads(path.read_text(encoding="utf-8"))
                truth = _objects(truth_doc)
                result = _find(key, results)
                plates = any("text" in o for o in truth)
                item["kind"] = "plates" if plates else "detections"
                if result is None or "error" in result:
                    item.update(status="missing" if result is None else "failed")
                    if result is not None:
                        item["error"] = result["error"]
                    pred: list[dict[str, Any]] = []
                else:
                    item["status"] = "ok"
                    pred = _objects(result)
                item.update(
                    detection_metrics(
                        pred, truth, iou_threshold=iou_threshold, use_labels=not plates
                    )
                )
                if plates:
                    item.update(plate_metrics(pred, truth, iou_threshold=iou_threshold))
                item["pred"] = [
                    {k: o.get(k) for k in ("box", "label", "score", "text")} for o in pred
                ]
                item["truth"] = [{k: o.get(k) for k in ("box", "label", "text")} for o in truth]
            else:
                continue
        except (ImagingError, ValueError, OSError) as exc:
            item.update(kind=item.get("kind", "unknown"), status="failed", error=str(exc))
        items.append(item)
    if not items:
        raise CompareError(f"{ref_path}: no reference images or JSON files found")

    summary = _summarise(items)
    failures = _check(summary, fail_under or {}, fail_over or {})
    summary["thresholds_failed"] = failures
    items.sort(key=_badness, reverse=True)
    from imaging.compare.report import write_plot, write_report, write_text

    metrics_json = target / "metrics.json"
    write_text(
        metrics_json,
        json.dumps(to_jsonable({"summary": summary, "items": items}), indent=2, allow_nan=False),
    )
    plot = write_plot(items, target / "summary.png")
    html = write_report(items, summary, target / "report.html")
    return CompareReport(items, summary, metrics_json, html, plot, failures)


def _badness(item: dict[str, Any]) -> float:
    if item.get("status") != "ok":
        return math.inf
    if item["kind"] == "thermal":
        return float(item.get("max_abs_c") or 0.0)
    if item["kind"] == "image":
        ssim = item.get("ssim")
        return 1.0 - (ssim if ssim is not None and math.isfinite(ssim) else 0.0)
    if item["kind"] == "plates":
        return 1.0 - float(item.get("char_accuracy", 0.0))
    return 1.0 - float(item.get("f1", 0.0))


def _summarise(items: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "items": len(items),
        "missing": sum(i.get("status") == "missing" for i in items),
        "failed": sum(i.get("status") == "failed" for i in items),
    }
    images = [i for i in items if i["kind"] == "image" and i.get("status") == "ok"]
    if images:
        psnr = [i["psnr_db"] for i in images if math.isfinite(i["psnr_db"])]
        summary["psnr_db"] = float(np.mean(psnr)) if psnr else float("inf")
        ssim = [i["ssim"] for i in images if math.isfinite(i["ssim"])]
        summary["ssim"] = float(np.mean(ssim)) if ssim else float("nan")
        summary["max_abs_diff"] = max(i["max_abs_diff"] for i in images)
    thermal = [i for i in items if i["kind"] == "thermal" and i.get("status") == "ok"]
    if thermal:
        summary["mean_abs_c"] = float(np.nanmean([i["mean_abs_c"] for i in thermal]))
        summary["max_abs_c"] = float(np.nanmax([i["max_abs_c"] for i in thermal]))
        summary["p99_abs_c"] = float(np.nanmax([i["p99_abs_c"] for i in thermal]))
    boxes = [i for i in items if i["kind"] in ("detections", "plates")]
    if boxes:
        tp = sum(i["tp"] for i in boxes)
        fp = sum(i["fp"] for i in boxes)
        fn = sum(i["fn"] for i in boxes)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        summary.update(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn)
    plates = [i for i in items if i["kind"] == "plates"]
    if plates:
        n = sum(i["plates"] for i in plates)
        for name in ("exact", "exact_o0_folded", "char_accuracy"):
            summary[name] = sum(i[name] * i["plates"] for i in plates) / max(n, 1)
        summary["plates"] = n
    return summary


def _check(
    summary: dict[str, Any], under: Mapping[str, float], over: Mapping[str, float]
) -> list[str]:
    failures = []
    for name, limit in under.items():
        value = summary.get(name)
        if value is None:
            failures.append(f"{name}: not measured (no item of that kind)")
        elif not (value >= limit):
            failures.append(f"{name} = {value:.4g} is under {limit:g}")
    for name, limit in over.items():
        value = summary.get(name)
        if value is None:
            failures.append(f"{name}: not measured (no item of that kind)")
        elif not (value <= limit):
            failures.append(f"{name} = {value:.4g} is over {limit:g}")
    return failures
