"""Overlays: render a :class:`~imaging.results.Result` onto its image for a human to look at."""

from __future__ import annotations

import numpy as np

from imaging._shared.validation import check_image
from imaging.results import Result

__all__ = ["draw", "overlay", "to_display"]

# RGB colours: detections in a colour per class, flags in red.
_PALETTE = [
    (0, 200, 255),
    (255, 200, 0),
    (0, 255, 100),
    (255, 0, 255),
    (255, 128, 0),
    (128, 128, 255),
]
_FLAG_COLOUR = (255, 40, 40)


def to_display(image: np.ndarray) -> np.ndarray:
    """Return an 8-bit RGB copy of ``image`` for display.

    uint8 images keep their values; other dtypes are stretched between their 0.5th and
    99.5th percentiles. Grey images become three equal channels; alpha is dropped.

    Examples
    --------
    >>> import numpy as np
    >>> to_display(np.arange(12, dtype=np.uint16).reshape(3, 4)).shape
    (3, 4, 3)
    """
    image = check_image(image, dtypes=None)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    if image.dtype != np.uint8:
        values = image.astype(np.float32)
        finite = values[np.isfinite(values)]
        if finite.size:
            lo, hi = np.percentile(finite, [0.5, 99.5])
        else:
            lo, hi = 0.0, 1.0
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        values = np.nan_to_num((values - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
        image = np.clip(values, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image)


def draw(image: np.ndarray, result: Result, *, thickness: int | None = None) -> np.ndarray:
    """Draw the detections and flags of ``result`` on ``image``.

    Parameters
    ----------
    image : ndarray
        The analysed image, any supported dtype, grey or RGB.
    result : Result
        The analyzer's result for it.
    thickness : int, optional
        Line width in pixels; by default about 1/400 of the image diagonal.

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)
        An RGB overlay; the input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from imaging.results import Detections, Result
    >>> r = Result("a", "demo", detections=Detections([[2, 2, 8, 8]]))
    >>> draw(np.zeros((16, 16), np.uint8), r).shape
    (16, 16, 3)
    """
    import cv2

    canvas = to_display(image).copy()
    h, w = canvas.shape[:2]
    if thickness is None:
        thickness = max(1, round((h * h + w * w) ** 0.5 / 400))
    font_scale = max(0.35, thickness * 0.4)
    dets = result.detections
    labels = dets.labels()
    texts = dets.data.get("text")

    def box(xyxy, colour, caption):
        x0, y0, x1, y1 = (round(float(v)) for v in xyxy)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_AA)
        if caption:
            (tw, th), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            ty = y0 - 2 if y0 - th - base - 2 >= 0 else min(h - 1, y1 + th + 2)
            cv2.rectangle(canvas, (x0, ty - th - base), (x0 + tw, ty + base // 2), colour, -1)
            cv2.putText(
                canvas,
                caption,
                (x0, ty - base // 2),
                cv2.FONT_HERSHEY_SIMPLEX,
                font_scale,
                (0, 0, 0),
                1,
                cv2.LINE_AA,
            )

    for i in range(len(dets)):
        colour = _PALETTE[int(dets.class_id[i]) % len(_PALETTE)]
        caption = str(texts[i]) if texts is not None else labels[i]
        box(dets.xyxy[i], colour, f"{caption} {dets.confidence[i]:.2f}")
    for flag in result.flags:
        box(flag.box, _FLAG_COLOUR, f"{flag.kind} {flag.score:.2f}")
    return canvas


def overlay(result: Result, source: object) -> np.ndarray:
    """The annotated picture of an analysis: ``draw`` on the analyzer's ``display`` map, else
    its ``enhanced`` map, else the image read from ``source`` (a path or an array; a plate
    photo turned upright as its analyzer read it)."""
    for key in ("display", "enhanced"):
        if key in result.maps:
            return draw(result.maps[key], result)
    from imaging.io import imread

    return draw(imread(source, upright=result.modality == "anpr"), result)
