"""Metrics of an output against its reference: images, detections, plates, temperatures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from imaging._shared.errors import ShapeError

__all__ = [
    "box_iou",
    "detection_metrics",
    "edit_distance",
    "image_metrics",
    "plate_metrics",
    "temperature_metrics",
]


def image_metrics(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR (dB), SSIM and maximum absolute difference of two images of one shape.

    Integer images use their dtype's range as data range; float images the reference's range.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8), np.uint8)
    >>> image_metrics(a, a)["max_abs_diff"]
    0.0
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    if output.shape != reference.shape:
        raise ShapeError(f"output shape {output.shape} differs from reference {reference.shape}")
    if np.issubdtype(reference.dtype, np.integer):
        data_range = float(np.iinfo(reference.dtype).max - np.iinfo(reference.dtype).min)
    else:
        finite = reference[np.isfinite(reference)]
        data_range = float(finite.max() - finite.min()) if finite.size else 1.0
        data_range = data_range or 1.0
    out = np.nan_to_num(output.astype(np.float64))
    ref = np.nan_to_num(reference.astype(np.float64))
    diff = np.abs(out - ref)
    mse = float(np.mean(diff**2))
    psnr = (
        float("inf")
        if mse == 0
        else float(peak_signal_noise_ratio(ref, out, data_range=data_range))
    )
    channel_axis = 2 if ref.ndim == 3 else None
    win = min(7, *(s if s % 2 else s - 1 for s in ref.shape[:2]))
    if win < 3:
        ssim = 1.0 if mse == 0 else float("nan")
    else:
        ssim = float(
            structural_similarity(
                ref, out, data_range=data_range, channel_axis=channel_axis, win_size=win
            )
        )
    return {"psnr_db": psnr, "ssim": ssim, "max_abs_diff": float(diff.max())}


def temperature_metrics(output_c: np.ndarray, reference_c: np.ndarray) -> dict[str, float]:
    """Errors in °C between two temperature rasters: mean and max absolute, 99th percentile.

    Pixels that are NaN in either raster are left out and counted.

    Examples
    --------
    >>> import numpy as np
    >>> temperature_metrics(np.array([[20.0, 21.0]]), np.array([[20.0, 20.5]]))["max_abs_c"]
    0.5
    """
    if output_c.shape != reference_c.shape:
        raise ShapeError(
            f"output shape {output_c.shape} differs from reference {reference_c.shape}"
        )
    valid = np.isfinite(output_c) & np.isfinite(reference_c)
    err = np.abs(output_c[valid].astype(np.float64) - reference_c[valid].astype(np.float64))
    if err.size == 0:
        return {
            "mean_abs_c": float("nan"),
            "max_abs_c": float("nan"),
            "p99_abs_c": float("nan"),
            "invalid_px": int((~valid).sum()),
        }
    return {
        "mean_abs_c": float(err.mean()),
        "max_abs_c": float(err.max()),
        "p99_abs_c": float(np.percentile(err, 99)),
        "invalid_px": int((~valid).sum()),
    }


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (len(a), len(b)) of boxes ``[x0, y0, x1, y1]``.

    Examples
    --------
    >>> import numpy as np
    >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2]])).round(3).tolist()
    [[0.333]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _match(
    pred: Sequence[dict[str, Any]],
    truth: Sequence[dict[str, Any]],
    iou_threshold: float,
    use_labels: bool,
) -> list[tuple[int, int]]:
    """Greedy matching, highest score first: pairs (pred index, truth index)."""
    if not pred or not truth:
        return []
    ious = box_iou(np.array([p["box"] for p in pred]), np.array([t["box"] for t in truth]))
    order = np.argsort([-float(p.get("score", 1.0)) for p in pred], kind="stable")
    taken: set[int] = set()
    pairs = []
    for i in order:
        best, best_iou = -1, iou_threshold
        for j in range(len(truth)):
            if j in taken or ious[i, j] < best_iou:
                continue
            if use_labels and str(pred[i].get("label")) != str(truth[j].get("label")):
                continue
            best, best_iou = j, ious[i, j]
        if best >= 0:
            taken.add(best)
            pairs.append((int(i), best))
    return pairs


def detection_metrics(
    pred: Sequence[dict[str, Any]],
    truth: Sequence[dict[str, Any]],
    *,
    iou_threshold: float = 0.5,
    use_labels: bool = True,
) -> dict[str, float]:
    """Precision, recall and F1 at an IoU threshold, with true/false positive counts.

    ``pred`` and ``truth`` are lists of dicts with ``box`` (and ``label``, ``score``).

    Examples
    --------
    >>> detection_metrics([{"box": [0, 0, 10, 10], "label": "gun"}],
    ...                   [{"box": [1, 1, 10, 10], "label": "gun"}])["f1"]
    1.0
    """
    pairs = _match(pred, truth, iou_threshold, use_labels)
    tp = len(pairs)
    fp = len(pred) - tp
    fn = len(truth) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings.

    Examples
    --------
    >>> edit_distance("A123BC77", "A123BC777")
    1
    """
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def plate_metrics(
    pred: Sequence[dict[str, Any]], truth: Sequence[dict[str, Any]], *, iou_threshold: float = 0.5
) -> dict[str, float]:
    """Plate reading: exact whole-plate matches (strict and with O/0 folded) and character
    accuracy, over the reference plates. A plate with no matching box counts as unread.

    Boxes are matched at ``iou_threshold`` when both sides have boxes; references without a
    box are matched by text.

    Examples
    --------
    >>> plate_metrics([{"box": [0, 0, 9, 3], "text": "123ABC02"}],
    ...               [{"box": [0, 0, 9, 3], "text": "123ABC02"}])["exact"]
    1.0
    """
    if not truth:
        return {"exact": 1.0, "exact_o0_folded": 1.0, "char_accuracy": 1.0, "plates": 0}
    texts: list[str | None] = [None] * len(truth)
    with_boxes = all("box" in t for t in truth) and all("box" in p for p in pred)
    if with_boxes:
        for i, j in _match(pred, truth, iou_threshold, use_labels=False):
            texts[j] = str(pred[i].get("text", ""))
    else:
        remaining = [str(p.get("text", "")) for p in pred]
        for j, t in enumerate(truth):
            target = str(t.get("text", ""))
            if remaining:
                best = min(remaining, key=lambda s: edit_distance(s, target))
                remaining.remove(best)
                texts[j] = best
    exact = folded = 0
    chars = 0.0
    for got, t in zip(texts, truth, strict=True):
        target = str(t.get("text", "")).upper()
        got = (got or "").upper()
        exact += got == target
        folded += got.replace("O", "0") == target.replace("O", "0")
        chars += max(0.0, 1.0 - edit_distance(got, target) / max(len(target), 1))
    n = len(truth)
    return {
        "exact": exact / n,
        "exact_o0_folded": folded / n,
        "char_accuracy": chars / n,
        "plates": n,
    }
