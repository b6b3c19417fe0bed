"""Tighten the detector's plate boxes with the shipped box refiner (ONNX).

The detector sees a whole photograph brought down to 416 pixels, so on a plate 20-60 pixels
wide in the photo its box can end a character short or shift off the first one. The refiner
sees a window around each box, cut from the photo at its own resolution, and gives the
plate's box within that window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_REFINER",
    "REFINE_SIZE",
    "cut_window",
    "refine_boxes",
    "refine_window",
    "refit_corners",
]

DEFAULT_REFINER = "anpr-box-refiner"
REFINE_SIZE = (48, 96)  # (height, width) of the refiner's input
WINDOW_ACROSS = 2.0  # the window is this many box widths wide ...
WINDOW_DOWN = 3.0  # ... and at least this many box heights high (twice as wide as high)


def refine_window(xyxy: np.ndarray) -> np.ndarray:
    """The windows ``(x0, y0, width, height)`` the refiner sees around boxes ``(x0, y0, x1,
    y1)``: centred on each box, :data:`WINDOW_ACROSS` widths wide or :data:`WINDOW_DOWN`
    heights high, whichever is larger, in the aspect ratio of :data:`REFINE_SIZE`.

    Examples
    --------
    >>> import numpy as np
    >>> refine_window(np.array([[100.0, 50.0, 200.0, 70.0]]))
    array([[ 50.,  10., 200., 100.]], dtype=float32)
    """
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    aspect = REFINE_SIZE[1] / REFINE_SIZE[0]
    w = np.maximum(xyxy[:, 2] - xyxy[:, 0], 1.0)
    h = np.maximum(xyxy[:, 3] - xyxy[:, 1], 1.0)
    width = np.maximum(WINDOW_ACROSS * w, WINDOW_DOWN * h * aspect)
    height = width / aspect
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    return np.stack([cx - width / 2, cy - height / 2, width, height], axis=1).astype(np.float32)


def cut_window(
    rgb: np.ndarray, window: Sequence[float], size: tuple[int, int] = REFINE_SIZE
) -> np.ndarray:
    """The part of ``rgb`` inside ``window`` = ``(x0, y0, width, height)``, resized to ``size``
    = (H, W); outside the image the edge pixels are repeated.

    Examples
    --------
    >>> import numpy as np
    >>> cut_window(np.zeros((40, 60, 3), np.uint8), (-10, -5, 80, 40)).shape
    (48, 96, 3)
    """
    import cv2

    x0, y0, width, height = (float(v) for v in window)
    out_h, out_w = size
    sx, sy = width / out_w, height / out_h
    if sx > 1.0 or sy > 1.0:  # shrink by area from the integer window, like a camera would
        ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
        ix1, iy1 = int(np.ceil(x0 + width)), int(np.ceil(y0 + height))
        h, w = rgb.shape[:2]
        pad = (max(0, -iy0), max(0, iy1 - h), max(0, -ix0), max(0, ix1 - w))
        part = rgb[max(0, iy0) : min(h, iy1), max(0, ix0) : min(w, ix1)]
        if part.size == 0:
            return np.zeros((out_h, out_w, 3), np.uint8)
        if any(pad):
            part = cv2.copyMakeBorder(part, *pad, cv2.BORDER_REPLICATE)
        return cv2.resize(part, (out_w, out_h), interpolation=cv2.INTER_AREA)
    matrix = np.array([[sx, 0, x0 + 0.5 * sx - 0.5], [0, sy, y0 + 0.5 * sy - 0.5]], np.float32)
    return cv2.warpAffine(
        rgb,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def refine_boxes(
    rgb: np.ndarray,
    xyxy: np.ndarray,
    *,
    model: str = DEFAULT_REFINER,
    passes: int = 1,
    providers: str | Sequence[str] = "cpu",
    plate_scores: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """Tighten plate boxes: each pass cuts a window around every box (:func:`refine_window`)
    and replaces the box by the refiner's box of the plate in it.

    Parameters
    ----------
    rgb : ndarray
        (H, W, 3) uint8 RGB photograph.
    xyxy : ndarray
        (N, 4) boxes ``x0, y0, x1, y1`` in its pixels, such as the detector's.
    model : str
        A shipped model name or the path of a compatible ONNX file.
    passes : int
        Refinement passes (the second starts from the first's boxes).
    providers : str or sequence of str
        ONNX execution providers.
    plate_scores : bool
        Also return, for each box given, the model's probability that it holds a plate (a
        second look at the photo's own resolution, where the detector saw it brought down),
        or None for a model that gives none.

    Returns
    -------
    boxes : ndarray
        (N, 4) float32 refined boxes.
    scores : ndarray or None
        (N,) float32 plate probabilities, only with ``plate_scores``.

    Examples
    --------
    >>> import numpy as np
    >>> photo = np.zeros((120, 200, 3), np.uint8)
    >>> refine_boxes(photo, np.array([[60.0, 50.0, 140.0, 70.0]])).shape
    (1, 4)
    >>> box = np.array([[60.0, 50.0, 140.0, 70.0]])
    >>> boxes, scores = refine_boxes(photo, box, plate_scores=True)
    >>> bool(scores[0] < 0.1)  # a black photo holds no plate
    True
    """
    from imaging.runtime import get_session

    boxes = np.asarray(xyxy, np.float32).reshape(-1, 4).copy()
    session = get_session(model, providers=providers)
    gives_scores = len(session.get_outputs()) > 1
    scores = np.zeros(0, np.float32) if gives_scores else None
    if len(boxes) == 0:
        return (boxes, scores) if plate_scores else boxes
    name = session.get_inputs()[0].name
    for done in range(passes):
        windows = refine_window(boxes)
        batch = np.stack([cut_window(rgb, win) for win in windows])
        tensor = batch.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        outputs = [np.asarray(out, np.float32) for out in session.run(None, {name: tensor})]
        if outputs[0].size != 4 * len(boxes) or (gives_scores and outputs[1].size != len(boxes)):
            from imaging._shared.errors import ModelError

            raise ModelError(
                f"box refiner {model!r}: expected boxes ({len(boxes)}, 4) and plate scores "
                f"({len(boxes)},), got shapes {[out.shape for out in outputs]}"
            )
        unit = outputs[0].reshape(-1, 4)
        if gives_scores and done == 0:
            scores = outputs[1].reshape(-1)
        scale = np.repeat(windows[:, 2:4], 2, axis=0).reshape(-1, 4)
        origin = np.tile(windows[:, 0:2], 2)
        boxes = unit * scale + origin
        boxes[:, 2] = np.maximum(boxes[:, 2], boxes[:, 0] + 1.0)
        boxes[:, 3] = np.maximum(boxes[:, 3], boxes[:, 1] + 1.0)
    return (boxes, scores) if plate_scores else boxes


def refit_corners(corners: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Move and stretch each quadrilateral of ``corners`` (N, 4, 2) along x and y so that the
    box ``old`` (N, 4) it was found with becomes ``new``: the quadrilateral keeps its shape.

    Examples
    --------
    >>> import numpy as np
    >>> quad = np.array([[[0, 0], [10, 0], [10, 5], [0, 5]]], np.float32)
    >>> refit_corners(quad, np.array([[0, 0, 10, 5]]), np.array([[2, 1, 22, 6]]))[0].tolist()
    [[2.0, 1.0], [22.0, 1.0], [22.0, 6.0], [2.0, 6.0]]
    """
    corners = np.asarray(corners, np.float32).reshape(-1, 4, 2)
    old = np.asarray(old, np.float32).reshape(-1, 4)
    new = np.asarray(new, np.float32).reshape(-1, 4)
    scale = (new[:, 2:4] - new[:, 0:2]) / np.maximum(old[:, 2:4] - old[:, 0:2], 1e-3)
    return ((corners - old[:, None, 0:2]) * scale[:, None] + new[:, None, 0:2]).astype(np.float32)
