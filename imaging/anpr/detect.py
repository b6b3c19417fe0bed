"""Number-plate detection with the shipped ONNX detector (boxes and four corners)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imaging._shared.validation import check_image
from imaging.results import Detections

__all__ = ["DEFAULT_DETECTOR", "detect_plates", "to_rgb8"]

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


def detect_plates(
    image: np.ndarray,
    *,
    model: str = DEFAULT_DETECTOR,
    conf_threshold: float = 0.3,
    iou_threshold: float = 0.3,
    max_plates: int = 32,
    providers: str | Sequence[str] = "cpu",
) -> Detections:
    """Find number plates in a photograph.

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
    from imaging.runtime import get_session, letterbox, model_spec, nms

    spec = model_spec(model)
    session = get_session(spec, providers=providers)
    inputs = session.get_inputs()[0]
    size = (
        tuple(inputs.shape[2:4])
        if all(isinstance(v, int) for v in inputs.shape[2:4])
        else (spec.input_size or (416, 416))
    )
    rgb = to_rgb8(image)
    h, w = rgb.shape[:2]
    boxed, scale, (pad_x, pad_y) = letterbox(rgb, size)
    tensor = boxed.transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255.0)
    outputs = session.run(None, {inputs.name: tensor})
    boxes = np.asarray(outputs[0], np.float32)[0]
    corners = np.asarray(outputs[1], np.float32)[0] if len(outputs) > 1 else None
    score = boxes[4]
    keep = np.flatnonzero(score >= conf_threshold)
    if keep.size == 0:
        return Detections(
            np.zeros((0, 4), np.float32),
            data={"label": np.array([], dtype=str), "corners": np.zeros((0, 4, 2), np.float32)},
        )
    cx, cy, bw, bh = boxes[0, keep], boxes[1, keep], boxes[2, keep], boxes[3, keep]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    kept = nms(xyxy, score[keep], iou_threshold)[:max_plates]
    xyxy = (xyxy[kept] - [pad_x, pad_y, pad_x, pad_y]) / scale
    xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
    xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
    if corners is not None:
        quad = corners[:, keep[kept]].T.reshape(-1, 4, 2)
        quad = (quad - [pad_x, pad_y]) / scale
    else:
        x0, y0, x1, y1 = xyxy.T
        quad = np.stack([np.c_[x0, y0], np.c_[x1, y0], np.c_[x1, y1], np.c_[x0, y1]], axis=1)
    return Detections(
        xyxy.astype(np.float32),
        confidence=np.clip(score[keep[kept]], 0, 1),
        data={"label": np.full(len(kept), "plate"), "corners": quad.astype(np.float32)},
    )
