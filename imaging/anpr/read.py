"""Reading plate crops with the shipped ONNX OCR (CTC), then format-constrained decoding.

Every crop is read as a one-line plate in one batch. Squarish crops whose one-line reading is
unsure are read again, in a second batch, as two-line plates whose halves are put side by side
(top line first); the two-line reading wins when it fits the format of a country with square
plates and is the more confident or the longer by two characters or more, and is put in
reading order by the country rule (:data:`TWO_LINE_RULES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from imaging._shared.validation import check_image
from imaging.anpr.formats import (
    ALPHABET,
    FORMATS,
    TWO_LINE_RULES,
    PlateReading,
    constrained_decode,
    ctc_slots,
    reorder_two_line,
)

__all__ = [
    "DEFAULT_OCR",
    "OCR_SIZE",
    "TWO_LINE_COUNTRIES",
    "TWO_LINE_MAX_ASPECT",
    "TWO_LINE_RETRY_BELOW",
    "WEAK_CHARACTER_PROBABILITY",
    "PlateText",
    "ctc_segments",
    "plate_views",
    "read_plates",
]

DEFAULT_OCR = "anpr-ocr"
OCR_SIZE = (40, 160)  # (H, W) of the OCR input when the model does not say
TWO_LINE_MAX_ASPECT = 2.6  # width / height above which a crop is read as one line only
TWO_LINE_RETRY_BELOW = 0.9  # one-line confidence under which a squarish crop is read again
TWO_LINE_LONGER_MIN_CONFIDENCE = 0.2  # a longer two-line reading still needs this confidence
# A squarish crop at least ONE_LINE_MIN_ASPECT times as wide as high whose one-line reading
# has ONE_LINE_MIN_CHARS characters or more at ONE_LINE_MIN_CONFIDENCE or more is a one-line
# plate (a US plate is 2:1) and is not read as two lines: a two-line plate (about 1.6:1) read
# as one line gives a short or unsure text.
ONE_LINE_MIN_ASPECT = 1.8
ONE_LINE_MIN_CHARS = 6
ONE_LINE_MIN_CONFIDENCE = 0.9
TWO_LINE_COUNTRIES = ("KZ", "RU", "BY", "KG", "AM")  # a two-line reading must fit one of these
# A reading of only a catch-all format is decoded again with a character the greedy
# CTC path left out (the blank won its frame, the character had at least this probability),
# and that reading is kept when it fits a country's own format and its probability times the
# format's prior, times the path's (the character's over the blank's), is the higher.
WEAK_CHARACTER_PROBABILITY = 0.1
SHARPEN_RETRY_BELOW = 0.3  # one-line confidence under which a crop is also read sharpened
SHARPEN_AMOUNT = 2.0  # unsharp masking of that view, over one pixel of the OCR input


@dataclass(frozen=True)
class PlateText:
    """The reading of one crop.

    Attributes
    ----------
    text : str
        Normalised plate text in reading order (``""`` when nothing could be read).
    country, pattern : str
        Country code and format name matched (``""`` when no format fits).
    confidence : float
        In [0, 1]: the product of the characters' probabilities times the reading's share
        among the alternatives (see :func:`imaging.anpr.formats.constrained_decode`).
    two_line : bool
        Whether the crop was read as a two-line plate.
    alternatives : tuple of (str, str, float)
        ``(text, country, score)`` of the best readings, best first.
    """

    text: str
    country: str
    pattern: str
    confidence: float
    two_line: bool
    alternatives: tuple[tuple[str, str, float], ...]


def _grey(image: np.ndarray) -> np.ndarray:
    image = check_image(image, name="plate crop", dtypes=None)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[2] == 3:
        image = _most_contrasted_channel(np.ascontiguousarray(image))
    elif image.ndim == 3:
        image = image[..., 0]
    if image.dtype != np.uint8:
        values = image.astype(np.float32)
        lo, hi = np.nanpercentile(values, [1, 99]) if values.size else (0, 1)
        values = (values - lo) / max(hi - lo, 1e-6) * 255
        image = np.clip(np.nan_to_num(values), 0, 255).astype(np.uint8)
    return image


def _most_contrasted_channel(rgb: np.ndarray) -> np.ndarray:
    """The grey rendering of a colour plate in which its characters stand out most: the
    luminance, or one of R, G, B when that spreads the central band's values wider (blue text
    on white, black text on a blue or red background lose contrast in the luminance)."""
    import cv2

    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    spreads = [
        float(np.subtract(*_percentiles(_character_rows(o), (95, 5))))
        for o in (luminance, rgb[..., 0], rgb[..., 1], rgb[..., 2])
    ]
    spreads[0] *= 1.3  # the luminance unless a channel is clearly better
    choice = int(np.argmax(spreads))
    return luminance if choice == 0 else np.ascontiguousarray(rgb[..., choice - 1])


def _percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, q)`` (linear interpolation), from the histogram for unsigned
    integers: the same numbers several times faster on a plate crop's few thousand pixels."""
    if values.dtype not in (np.uint8, np.uint16) or values.size == 0:
        return np.percentile(values, q)
    if values.dtype == np.uint8 and values.ndim == 2:
        from imaging.anpr._kernels import u8_percentiles

        return u8_percentiles(values, q)
    cdf = np.cumsum(np.bincount(values.ravel()))
    position = np.asarray(q, np.float64) / 100.0 * (values.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, values.size - 1)
    # the k-th smallest value is the first v with more than k values <= v
    low = np.searchsorted(cdf, below, side="right")
    high = np.searchsorted(cdf, above, side="right")
    return low + (high - low) * (position - below)


def _character_rows(plate: np.ndarray) -> np.ndarray:
    """The central band of a plate crop, where its characters are: without the frame, screws,
    state name and slogans above and below (the whole crop when it is too small for a band)."""
    h, w = plate.shape[:2]
    band = plate[h // 4 : h - h // 4, w // 10 : w - w // 10]
    return band if band.size else plate


def _fit(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    resized = cv2.resize(
        grey, (w, h), interpolation=cv2.INTER_AREA if grey.shape[1] > w else cv2.INTER_LINEAR
    )
    lo, hi = _percentiles(resized, (2, 98))
    scale = max(hi - lo, 8.0)
    values = (resized.astype(np.float32) - np.float32(lo)) / np.float32(scale)
    if _light_on_dark(resized, lo, scale):
        values = 1.0 - values
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def _surely_one_line(reading: PlateReading, aspect: float) -> bool:
    """Whether a crop of width / height ``aspect`` whose one-line reading is ``reading`` is
    a one-line plate (:data:`ONE_LINE_MIN_ASPECT`)."""
    return (
        aspect >= ONE_LINE_MIN_ASPECT
        and len(reading.text) >= ONE_LINE_MIN_CHARS
        and reading.confidence >= ONE_LINE_MIN_CONFIDENCE
    )


def _sharpened(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``grey`` (uint8) unsharp-masked over one pixel of the OCR input ``size``
    (:data:`SHARPEN_AMOUNT`): a soft plate's strokes closer to a focused one's."""
    import cv2

    sigma = max(grey.shape[0] / size[0], 0.5)
    values = grey.astype(np.float32)
    values += np.float32(SHARPEN_AMOUNT) * (values - cv2.GaussianBlur(values, (0, 0), sigma))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _takes_over(both: PlateReading, plain: PlateReading) -> bool:
    """Whether the reading of a crop and its sharpened view together replaces the crop's own
    reading: it must be the surer one, read no fewer characters (sharpening can thin a
    narrow glyph into the background) and fit a country's format if the first did."""
    return (
        both.confidence > plain.confidence
        and len(both.text) >= len(plain.text)
        and (_specific(both) or not _specific(plain))
    )


def _light_on_dark(grey: np.ndarray, lo: float, scale: float) -> bool:
    """Whether a plate has light text on a dark background, judged by the median of its
    character rows (a light plate's frame and slogans can be dark) once ``lo``..``lo + scale``
    is stretched to [0, 1]."""
    median = float(_percentiles(_character_rows(grey), (50,))[0])
    return (median - lo) / scale < 0.5


def plate_views(crop: np.ndarray, *, size: tuple[int, int] = OCR_SIZE) -> np.ndarray:
    """The two OCR inputs of a crop: (2, H, W) float32 in [0, 1], dark text on light.

    View 0 reads the crop as one line; view 1 as two lines, top half then bottom half.
    ``size`` is the OCR input (H, W); :func:`read_plates` takes it from the model.

    Examples
    --------
    >>> import numpy as np
    >>> plate_views(np.zeros((50, 200, 3), np.uint8)).shape
    (2, 40, 160)
    """
    grey = _checked_grey(crop)
    return np.stack([_fit(grey, size), _two_line_view(grey, size)]).astype(np.float32)


def _checked_grey(crop: np.ndarray) -> np.ndarray:
    grey = _grey(crop)
    if grey.shape[0] < 2 or grey.shape[1] < 2:
        from imaging._shared.errors import ShapeError

        raise ShapeError(f"plate crop: too small to read ({grey.shape[1]}x{grey.shape[0]})")
    return grey


def _two_line_view(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    half = grey.shape[0] // 2
    stitched = np.concatenate([grey[:half], grey[grey.shape[0] - half :]], axis=1)
    return _fit(stitched, size)


def ctc_segments(probs: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Greedy CTC alignment (same as :func:`imaging.anpr.formats.ctc_slots`).

    ``probs`` is (T, 1 + len(ALPHABET)) with the blank first. Returns (K, len(ALPHABET))
    averaged probabilities of the K characters read, and their (start, end) frames.
    """
    return ctc_slots(probs)


def _decode_view(probs: np.ndarray, countries: Sequence[str] | None) -> PlateReading:
    slots, spans = ctc_segments(probs)
    if len(slots) == 0:
        return PlateReading("", "", "", 0.0, ())
    reading = constrained_decode(slots, countries=countries)
    if not reading.country or _specific(reading):
        return reading
    best = reading
    for frame, char in _weak_characters(probs):
        at = sum(start < frame for start, _ in spans)
        row = probs[frame, 1:] / max(float(probs[frame, 1:].sum()), 1e-12)
        longer = constrained_decode(np.insert(slots, at, row, axis=0), countries=countries)
        path = float(np.log(probs[frame, 1 + char] / max(float(probs[frame, 0]), 1e-12)))
        if _specific(longer) and longer.log_score + path > best.log_score:
            share = 1.0 / (1.0 + np.exp(reading.log_score - longer.log_score - path))
            best = replace(
                longer, confidence=longer.confidence * share, log_score=longer.log_score + path
            )
    return best


def _weak_characters(probs: np.ndarray) -> list[tuple[int, int]]:
    """(frame, character index) of the characters the greedy CTC path left out: frames
    where the blank wins but a character has at least :data:`WEAK_CHARACTER_PROBABILITY`,
    apart from the slots read (the most probable frame of each run; at most two, the
    likeliest)."""
    best = probs.argmax(axis=1)
    chars = probs[:, 1:].argmax(axis=1)
    weak = (best == 0) & (probs[:, 1:].max(axis=1) >= WEAK_CHARACTER_PROBABILITY)
    found: list[tuple[float, int, int]] = []
    for frame in np.flatnonzero(weak).tolist():
        char = int(chars[frame])
        beside = [f for f in (frame - 1, frame + 1) if 0 <= f < len(best)]
        if any(best[f] == 1 + char for f in beside):
            continue  # the same character as a slot next to it: that slot, read longer
        p = float(probs[frame, 1 + char])
        if found and found[-1][1] == frame - 1 and found[-1][2] == char:
            if p > found[-1][0]:
                found[-1] = (p, frame, char)
            continue
        found.append((p, frame, char))
    found.sort(reverse=True)
    return [(frame, char) for _, frame, char in found[:2]]


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
        Views per ONNX call (one or two per crop).

    providers : str or sequence of str
        ONNX execution providers (``"cpu"`` by default).

    Returns
    -------
    list of PlateText
        One per crop, in order: ``text`` (normalised, in reading order; empty when nothing
        could be read), ``country`` and ``pattern`` of the format matched (empty when none
        fits), ``confidence`` in [0, 1], ``two_line`` and ``alternatives`` (``(text,
        country, score)``, best first).

    Raises
    ------
    EmptyImageError, ShapeError, DTypeError
        A crop without pixels, of the wrong shape, or not numeric.
    ModelError
        The model is missing or does not give CTC logits.

    Notes
    -----
    The session is created once per process and reused. Every crop is read as one line.
    A crop whose one-line reading has a confidence under ``SHARPEN_RETRY_BELOW`` is read
    again unsharp-masked (``SHARPEN_AMOUNT`` over one pixel of the OCR input, for soft and
    blurred plates); the mean of the two views' probabilities replaces the first reading when
    it is surer, reads no fewer characters and fits a country's format if the first did. A
    crop narrower than ``TWO_LINE_MAX_ASPECT`` times its height whose one-line reading has
    a confidence under ``TWO_LINE_RETRY_BELOW``, or that fits only a loose format (US, NL,
    PL, SI) or none, is read again as two lines (halves side by
    side, in a second batch; not a crop at least ``ONE_LINE_MIN_ASPECT`` times as wide as
    high read surely as ``ONE_LINE_MIN_CHARS`` characters or more, a one-line plate such as
    a US plate), and the two-line reading, reordered by the country rule, wins
    when it fits the format of a country with square plates (``TWO_LINE_COUNTRIES``) and is
    the more confident of the two, or reads at least two characters more with a confidence
    of at least ``TWO_LINE_LONGER_MIN_CONFIDENCE``.

    Examples
    --------
    >>> import numpy as np
    >>> from imaging.anpr.synth import render_plate
    >>> from imaging.anpr.formats import FORMATS
    >>> plate = render_plate(np.random.default_rng(5), fmt=FORMATS[0], text="123ABC02")
    >>> reading = read_plates([plate.image])[0]
    >>> reading.text, reading.country
    ('123ABC02', 'KZ')
    """
    if isinstance(crops, np.ndarray) and crops.ndim in (2, 3) and crops.dtype != object:
        crops = [crops]  # one crop given bare
    if len(crops) == 0:
        return []
    session = _session(model, providers)
    model_input = session.get_inputs()[0]
    input_name = model_input.name
    dims = list(model_input.shape)
    size = OCR_SIZE
    if len(dims) == 4 and all(isinstance(d, int) and d > 0 for d in dims[2:]):
        size = (int(dims[2]), int(dims[3]))
    greys = [_checked_grey(crop) for crop in crops]
    aspects = [g.shape[1] / g.shape[0] for g in greys]
    squarish = [a < TWO_LINE_MAX_ASPECT for a in aspects]
    views = np.stack([_fit(g, size) for g in greys])
    probs = _run(model, providers, input_name, views, batch_size)
    one_line = {k: _decode_view(probs[k], countries) for k in range(len(crops))}
    # An unsure crop is also read sharpened (a soft or blurred plate), and a squarish crop as
    # two lines unless its one-line reading is already sure: both in one batch.
    unsure = [k for k in range(len(crops)) if one_line[k].confidence < SHARPEN_RETRY_BELOW]
    again = [
        k
        for k in range(len(crops))
        if squarish[k]
        and (one_line[k].confidence < TWO_LINE_RETRY_BELOW or not _specific(one_line[k]))
        and not _surely_one_line(one_line[k], aspects[k])
    ]
    two_line: dict[int, PlateReading] = {}
    if unsure or again:
        views = np.stack(
            [_fit(_sharpened(greys[k], size), size) for k in unsure]
            + [_two_line_view(greys[k], size) for k in again]
        )
        more = _run(model, providers, input_name, views, batch_size)
        for i, k in enumerate(unsure):
            # the two views' frames line up: their mean is the reading of both
            both = _decode_view((more[i] + probs[k]) / 2, countries)
            if _takes_over(both, one_line[k]):
                one_line[k] = both
        more = more[len(unsure) :]
        two_line = {k: _decode_two_line(more[i], countries) for i, k in enumerate(again)}
    results = []
    for k in range(len(crops)):
        one = one_line[k]
        two = two_line.get(k)
        use_two = two is not None and _prefer_two_line(one, two)
        chosen = two if use_two else one
        results.append(
            PlateText(
                chosen.text,
                chosen.country,
                chosen.pattern,
                chosen.confidence,
                bool(use_two),
                chosen.alternatives,
            )
        )
    return results


def _run(
    model: str, providers: str | Sequence[str], input_name: str, views: np.ndarray, batch_size: int
) -> np.ndarray:
    """Per-frame CTC probabilities (N, T, C) of a stack of views, in batches run side by side
    on the CPU's cores (:func:`imaging.runtime.run_side_by_side`)."""
    from imaging.runtime import run_side_by_side, side_by_side_workers

    batch = views[:, None].astype(np.float32, copy=False)
    parts = max(1, side_by_side_workers(len(batch), providers))
    step = max(1, min(int(batch_size), -(-len(batch) // parts)))
    chunks = [batch[i : i + step] for i in range(0, len(batch), step)]
    logits = np.concatenate(
        run_side_by_side(
            model,
            chunks,
            lambda session, chunk: session.run(None, {input_name: chunk})[0],
            providers=providers,
        )
    ).astype(np.float64)
    if logits.ndim != 3 or logits.shape[0] != len(batch) or logits.shape[2] != len(ALPHABET) + 1:
        from imaging._shared.errors import ModelError

        raise ModelError(
            f"OCR model {str(model)!r}: expected CTC logits "
            f"({len(batch)}, T, {len(ALPHABET) + 1}), "
            f"got shape {logits.shape}"
        )
    logits -= logits.max(axis=2, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=2, keepdims=True)
    return probs


def _specific(reading: PlateReading) -> bool:
    """Whether a reading matched a specific format (not a loose catch-all such as US)."""
    return any(
        f.country == reading.country and f.name == reading.pattern and not f.loose for f in FORMATS
    )


def _prefer_two_line(one: PlateReading, two: PlateReading) -> bool:
    """Whether a crop's two-line reading replaces its one-line reading: it must fit a country
    with square plates and be the more confident, or read at least two characters more (a
    two-line plate read as one line gives a short reading, often a confident one) with some
    confidence of its own (stitched halves of a one-line plate can read as a long string)."""
    if not _square_country(two):
        return False
    if two.confidence > one.confidence:
        return True
    return len(two.text) >= len(one.text) + 2 and two.confidence >= TWO_LINE_LONGER_MIN_CONFIDENCE


def _square_country(reading: PlateReading) -> bool:
    """Whether a two-line reading matched the format of a country that issues square plates."""
    return reading.country in TWO_LINE_COUNTRIES


def _session(model: str, providers: str | Sequence[str]):
    """The OCR session (created once per model and providers, SHA-256 checked by the runtime)."""
    from imaging.runtime import get_session

    return get_session(model, providers=providers)


def _decode_two_line(probs: np.ndarray, countries: Sequence[str] | None) -> PlateReading:
    """Decode a stitched two-line view (top line left) and put it in reading order."""
    two = _decode_view(probs, countries)
    half = _top_length(probs)
    if not two.text or half is None or not 0 < half < len(two.text):
        return two
    top, bottom = two.text[:half], two.text[half:]
    for country, (_, _, at) in TWO_LINE_RULES.items():
        if reorder_two_line(top, bottom, country=country) != two.text:
            # the character rows take the same permutation as the text, then are decoded
            slots, _ = ctc_slots(probs)
            rows = np.concatenate([slots[:at], slots[half:], slots[at:half]])
            return constrained_decode(rows, countries=countries)
    return two


def _top_length(probs: np.ndarray) -> int | None:
    """Number of characters read in the left half of a stitched two-line view (the top line)."""
    _, spans = ctc_segments(probs)
    if not spans:
        return None
    middle = probs.shape[0] / 2
    return sum(1 for start, end in spans if (start + end) / 2 < middle)
