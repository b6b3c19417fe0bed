"""Number-plate detection with the shipped ONNX detector (boxes and four corners)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imaging._shared.validation import check_image
from imaging.results import Detections

__all__ = [
    "DEFAULT_DETECTOR",
    "MAX_TILES",
    "TILE_OVERLAP",
    "TILE_SIDE",
    "detect_plates",
    "tile_windows",
    "to_rgb8",
]

DEFAULT_DETECTOR = "anpr-detector"


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W, 3) uint8 RGB: grey repeated, alpha dropped, 16-bit and float
    data scaled from their range.

    Examples
    --------
    >>> import numpy as np
    >>> to_rgb8(np.zeros((4, 5), np.uint16)).shape
    (4, 5, 3)
    """
    image = check_image(image, dtypes=None)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.dtype != np.uint8:
        values = np.nan_to_num(image.astype(np.float32))
        if np.issubdtype(image.dtype, np.integer):
            values *= 255.0 / float(np.iinfo(image.dtype).max)
        elif values.max() <= 1.0:
            values *= 255.0
        image = np.clip(values, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image)


TILE_SIDE = 832  # images larger than this are also searched in tiles of about this side
TILE_OVERLAP = 0.25  # of a tile's side, shared with its neighbour
MAX_TILES = 4  # along a side


def detect_plates(
    image: np.ndarray,
    *,
    model: str = DEFAULT_DETECTOR,
    conf_threshold: float = 0.3,
    iou_threshold: float = 0.3,
    max_plates: int = 32,
    tiles: bool = True,
    merge: bool = True,
    zoom: float = 1.0,
    providers: str | Sequence[str] = "cpu",
) -> Detections:
    """Find number plates in a photograph.

    The detector sees the whole image brought down to its input size; a plate that is small
    beside a large frame (a wide camera view, a high-resolution photo) shrinks below what it
    can find, so an image whose longer side exceeds :data:`TILE_SIDE` is also searched in
    overlapping tiles of about that side, and the boxes of both passes are merged. On the CPU
    the passes run side by side (:func:`imaging.runtime.run_side_by_side`).

    Parameters
    ----------
    image : ndarray
        (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16 or float.
    model : str
        A shipped model name or the path of a compatible ONNX file.
    conf_threshold : float
        Minimum plate score.
    iou_threshold : float
        Overlap above which the weaker of two boxes is dropped.
    max_plates : int
        At most this many plates, best first.
    tiles : bool
        Also search large images in tiles (see above); False: the whole image only.
    zoom : float
        The whole image is brought down to this fraction of the detector's input, in its
        middle (1: it fills the input). Below 1 a plate that fills much of the frame is seen
        at the size the detector was trained on (the analyzer searches close-ups again at
        0.5).
    merge : bool
        Suppress overlapping boxes across the passes by score (True), or only within each
        pass, so that a plate found by both keeps both boxes for the caller to choose by
        what it reads in them (the analyzer does: ``data["pass"]`` is 0 for the whole
        image, k for the k-th tile).
    providers : str or sequence of str
        ONNX execution providers (see :func:`imaging.runtime.resolve_providers`).

    Returns
    -------
    Detections
        Boxes in image pixels (float32), scores, ``data["label"]`` = ``"plate"`` and
        ``data["corners"]`` (N, 4, 2) float32: top-left, top-right, bottom-right, bottom-left.

    Examples
    --------
    >>> import numpy as np
    >>> len(detect_plates(np.zeros((240, 320, 3), np.uint8)))
    0
    """
    from imaging.runtime import get_session, model_spec, nms, run_side_by_side

    if not 0.0 < zoom <= 1.0:
        raise ValueError(f"zoom: expected a fraction in (0, 1], got {zoom}")
    rgb = to_rgb8(image)
    h, w = rgb.shape[:2]
    inputs = get_session(model, providers=providers).get_inputs()[0]
    size = (
        tuple(inputs.shape[2:4])
        if all(isinstance(v, int) for v in inputs.shape[2:4])
        else (model_spec(model).input_size or (416, 416))
    )

    def search(session, window: tuple[int, int, int, int]) -> tuple[np.ndarray, ...]:
        x0, y0, x1, y1 = window
        whole = window == (0, 0, w, h)
        xyxy, score, quad = _detect_in(
            rgb[y0:y1, x0:x1], session, inputs.name, size, conf_threshold, zoom if whole else 1.0
        )
        inner = _clear_of_inner_edges(xyxy, window, (h, w))
        return xyxy[inner] + [x0, y0, x0, y0], score[inner], quad[inner] + [x0, y0]

    windows = [(0, 0, w, h), *(tile_windows(h, w) if tiles else [])]
    found = run_side_by_side(model, windows, search, providers=providers)
    passes = [np.full(len(f[1]), k, np.int16) for k, f in enumerate(found)]
    if not merge:
        kept_per_pass = [nms(f[0], f[1], iou_threshold) for f in found]
        found = [tuple(v[k] for v in f) for f, k in zip(found, kept_per_pass, strict=True)]
        passes = [p[k] for p, k in zip(passes, kept_per_pass, strict=True)]
    xyxy = np.concatenate([f[0] for f in found])
    score = np.concatenate([f[1] for f in found])
    quad = np.concatenate([f[2] for f in found])
    origin = np.concatenate(passes)
    best_first = nms(xyxy, score, iou_threshold) if merge else np.argsort(-score, kind="stable")
    kept = best_first[:max_plates]
    xyxy = xyxy[kept]
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    return Detections(
        xyxy.astype(np.float32),
        confidence=np.clip(score[kept], 0, 1).astype(np.float32),
        data={
            "label": np.full(len(kept), "plate"),
            "corners": quad[kept].astype(np.float32),
            "pass": origin[kept],
        },
    )


def tile_windows(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """The overlapping tiles ``(x0, y0, x1, y1)`` a large image is also searched in: none
    when both sides are at most :data:`TILE_SIDE`, else a grid of tiles of about that side
    sharing :data:`TILE_OVERLAP` of it with their neighbours; at most :data:`MAX_TILES`
    along a side (a huge image gets larger tiles, so that its search time stays bounded).

    Examples
    --------
    >>> tile_windows(480, 640)
    []
    >>> tile_windows(1080, 1920)[:2]
    [(0, 0, 832, 832), (544, 0, 1376, 832)]
    >>> len(tile_windows(6000, 8000))
    16
    """
    if max(height, width) <= TILE_SIDE:
        return []

    def spans(extent: int) -> list[tuple[int, int]]:
        if extent <= TILE_SIDE:
            return [(0, extent)]
        step = TILE_SIDE * (1 - TILE_OVERLAP)
        count = min(int(np.ceil((extent - TILE_SIDE) / step)) + 1, MAX_TILES)
        side = max(TILE_SIDE, int(np.ceil(extent / (1 + (count - 1) * (1 - TILE_OVERLAP)))))
        starts = [round(i * (extent - side) / (count - 1)) for i in range(count)]
        return [(start, min(start + side, extent)) for start in starts]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height) for x0, x1 in spans(width)]


def _clear_of_inner_edges(
    xyxy: np.ndarray, window: tuple[int, int, int, int], shape: tuple[int, int]
) -> np.ndarray:
    """Boxes of a tile that do not touch one of its edges inside the image (a plate cut by
    the tile is found whole by the neighbouring tile or the whole-image pass)."""
    x0, y0, x1, y1 = window
    h, w = shape
    margin = 2.0
    ok = np.ones(len(xyxy), bool)
    if x0 > 0:
        ok &= xyxy[:, 0] > margin
    if y0 > 0:
        ok &= xyxy[:, 1] > margin
    if x1 < w:
        ok &= xyxy[:, 2] < (x1 - x0) - margin
    if y1 < h:
        ok &= xyxy[:, 3] < (y1 - y0) - margin
    return ok


def _detect_in(
    rgb: np.ndarray,
    session,
    input_name: str,
    size: tuple[int, int],
    conf_threshold: float,
    zoom: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (N, 4), scores (N,) and corners (N, 4, 2) above ``conf_threshold`` in ``rgb``'s
    pixels, before non-maximum suppression."""
    from imaging.runtime import letterbox

    boxed, scale, (pad_x, pad_y) = letterbox(rgb, size, zoom=zoom)
    tensor = boxed.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
    outputs = session.run(None, {input_name: tensor})
    boxes = np.asarray(outputs[0], np.float32)[0]
    keep = np.flatnonzero(boxes[4] >= conf_threshold)
    cx, cy, bw, bh = boxes[0, keep], boxes[1, keep], boxes[2, keep], boxes[3, keep]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    xyxy = (xyxy - [pad_x, pad_y, pad_x, pad_y]) / scale
    if len(outputs) > 1:
        quad = np.asarray(outputs[1], np.float32)[0][:, keep].T.reshape(-1, 4, 2)
        quad = (quad - [pad_x, pad_y]) / scale
    else:
        x0, y0, x1, y1 = xyxy.T
        quad = np.stack([np.c_[x0, y0], np.c_[x1, y0], np.c_[x1, y1], np.c_[x0, y1]], axis=1)
    return xyxy.reshape(-1, 4), boxes[4, keep], quad.reshape(-1, 4, 2)
