"""Reading plate crops with the shipped ONNX OCR (CTC), then format-constrained decoding.

Every crop is read twice in one batch: as a one-line plate, and as a two-line plate whose
halves are put side by side (top line first). The reading that fits a plate format better
wins, and two-line texts are put in reading order by the country rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imaging._shared.validation import check_image
from imaging.anpr.formats import ALPHABET, PlateReading, constrained_decode, reorder_two_line

__all__ = [
    "DEFAULT_OCR",
    "OCR_SIZE",
    "PlateText",
    "ctc_segments",
    "plate_views",
    "read_plates",
]

DEFAULT_OCR = "anpr-ocr"
OCR_SIZE = (40, 160)  # (H, W) of the OCR input


@dataclass(frozen=True)
class PlateText:
    """The reading of one crop."""

    text: str
    country: str
    pattern: str
    confidence: float
    two_line: bool
    alternatives: tuple[tuple[str, str, float], ...]


def _grey(image: np.ndarray) -> np.ndarray:
    import cv2

    image = check_image(image, name="plate crop", dtypes=None)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    elif image.ndim == 3:
        image = image[..., 0]
    if image.dtype != np.uint8:
        values = image.astype(np.float32)
        lo, hi = np.nanpercentile(values, [1, 99]) if values.size else (0, 1)
        values = (values - lo) / max(hi - lo, 1e-6) * 255
        image = np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)
    return image


def _fit(grey: np.ndarray) -> np.ndarray:
    import cv2

    h, w = OCR_SIZE
    resized = cv2.resize(
        grey, (w, h), interpolation=cv2.INTER_AREA if grey.shape[1] > w else cv2.INTER_LINEAR
    )
    values = resized.astype(np.float32)
    lo, hi = np.percentile(values, [2, 98])
    values = (values - lo) / max(hi - lo, 8.0)
    if np.median(values) < 0.5:  # light text on a dark plate: make it dark on light
        values = 1.0 - values
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def plate_views(crop: np.ndarray) -> np.ndarray:
    """The two OCR inputs of a crop: (2, H, W) float32 in [0, 1], dark text on light.

    View 0 reads the crop as one line; view 1 as two lines, top half then bottom half.

    Examples
    --------
    >>> import numpy as np
    >>> plate_views(np.zeros((50, 200, 3), np.uint8)).shape
    (2, 40, 160)
    """
    grey = _grey(crop)
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        from imaging._shared.errors import ShapeError

        raise ShapeError(f"plate crop: too small to read ({grey.shape[1]}x{grey.shape[0]})")
    half = grey.shape[0] // 2
    stitched = np.concatenate([grey[:half], grey[grey.shape[0] - half :]], axis=1)
    return np.stack([_fit(grey), _fit(stitched)]).astype(np.float32)


def ctc_segments(probs: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Greedy CTC alignment: per-character probability rows and the column span of each.

    ``probs`` is (T, 1 + len(ALPHABET)) with the blank first. Returns (K, len(ALPHABET))
    averaged probabilities of the K characters read, and their (start, end) frames.
    """
    best = probs.argmax(axis=1)
    rows, spans = [], []
    t = 0
    n = len(best)
    while t < n:
        c = best[t]
        end = t
        while end + 1 < n and best[end + 1] == c:
            end += 1
        if c != 0:
            segment = probs[t : end + 1, 1:].mean(axis=0)
            rows.append(segment / max(segment.sum(), 1e-9))
            spans.append((t, end + 1))
        t = end + 1
    if not rows:
        return np.zeros((0, len(ALPHABET))), []
    return np.stack(rows), spans


def _decode_view(probs: np.ndarray, countries: Sequence[str] | None) -> PlateReading:
    slots, _ = ctc_segments(probs)
    if len(slots) == 0:
        return PlateReading("", "", "", 0.0, ())
    return constrained_decode(slots, countries=countries)


def read_plates(
    crops: Sequence[np.ndarray],
    *,
    model: str = DEFAULT_OCR,
    countries: Sequence[str] | None = None,
    batch_size: int = 64,
    providers: str | Sequence[str] = "cpu",
) -> list[PlateText]:
    """Read the text of plate crops.

    Parameters
    ----------
    crops : sequence of ndarray
        Plate images (grey, RGB or RGBA; any supported dtype), roughly rectified.
    model : str
        Shipped OCR model name or the path of a compatible ONNX file.
    countries : sequence of str, optional
        Only consider these countries' formats (e.g. ``["KZ", "RU"]`` at a Kazakh post).
    batch_size : int
        Crops per ONNX call.

    Returns
    -------
    list of PlateText
        One per crop, in order; ``text`` is empty when nothing could be read.

    Examples
    --------
    >>> import numpy as np
    >>> from imaging.anpr.synth import render_plate
    >>> from imaging.anpr.formats import FORMATS
    >>> plate = render_plate(np.random.default_rng(5), fmt=FORMATS[0], text="123ABC02")
    >>> read_plates([plate.image])[0].text  # doctest: +SKIP
    '123ABC02'
    """
    from imaging.runtime import _as_spec, get_session

    if len(crops) == 0:
        return []
    session = get_session(_as_spec(model), providers=providers)
    input_name = session.get_inputs()[0].name
    views = np.concatenate([plate_views(c) for c in crops])[:, None]
    outputs = []
    for start in range(0, len(views), batch_size * 2):
        logits = session.run(None, {input_name: views[start : start + batch_size * 2]})[0]
        outputs.append(logits)
    logits = np.concatenate(outputs).astype(np.float64)
    logits -= logits.max(axis=2, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=2, keepdims=True)
    results = []
    for k in range(len(crops)):
        one = _decode_view(probs[2 * k], countries)
        two = _decode_view(probs[2 * k + 1], countries)
        two_text = two.text
        if two.country == "" and len(two.text) >= 5:
            two_text = two.text
        use_two = (two.country != "" and one.country == "" and two.confidence > 0.3) or (
            two.confidence > one.confidence * 1.15 and len(two.text) >= len(one.text) - 1
        )
        chosen = two if use_two else one
        text = chosen.text
        if use_two:
            half = _top_length(probs[2 * k + 1])
            if half is not None and 0 < half < len(two_text):
                reordered = reorder_two_line(two_text[:half], two_text[half:])
                again = (
                    constrained_decode(
                        _reorder_rows(probs[2 * k + 1], half, reordered, two_text),
                        countries=countries,
                    )
                    if reordered != two_text
                    else None
                )
                text = again.text if again is not None else reordered
                if again is not None:
                    chosen = again
        results.append(
            PlateText(
                text,
                chosen.country,
                chosen.pattern,
                chosen.confidence,
                use_two,
                chosen.alternatives,
            )
        )
    return results


def _top_length(probs: np.ndarray) -> int | None:
    """Number of characters read in the left half of a stitched two-line view (the top line)."""
    _, spans = ctc_segments(probs)
    if not spans:
        return None
    middle = probs.shape[0] / 2
    return sum(1 for start, end in spans if (start + end) / 2 < middle)


def _reorder_rows(probs: np.ndarray, half: int, reordered: str, original: str) -> np.ndarray:
    """Per-character rows permuted the way ``reorder_two_line`` permuted the characters."""
    slots, _ = ctc_segments(probs)
    top, bottom = slots[:half], slots[half:]
    if reordered == original:
        return slots
    # KZ rule: top = 3 digits + 2 region digits, bottom = letters -> digits, letters, region
    return np.concatenate([top[:3], bottom, top[3:]])
