"""Plate rectification: perspective correction from the four corners."""

from __future__ import annotations

import numpy as np

from imaging._shared.validation import check_image

__all__ = ["rectify"]


def rectify(
    image: np.ndarray, corners: np.ndarray, *, height: int = 64, margin: float = 0.06
) -> np.ndarray:
    """Warp the quadrilateral ``corners`` of ``image`` to an upright plate crop.

    Parameters
    ----------
    image : ndarray
        The photograph (grey or RGB, any dtype).
    corners : ndarray (4, 2)
        Top-left, top-right, bottom-right, bottom-left in pixels.
    height : int
        Height of the output; the width follows the plate's measured aspect ratio.
    margin : float
        Extra border kept around the plate, as a fraction of its size.

    Returns
    -------
    ndarray
        The rectified crop, same dtype and channels as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> crop = rectify(np.zeros((100, 200, 3), np.uint8),
    ...                np.array([[50, 40], [150, 40], [150, 60], [50, 60]], np.float32))
    >>> crop.shape
    (64, 320, 3)
    """
    import cv2

    image = check_image(image, dtypes=None)
    quad = np.asarray(corners, np.float32).reshape(4, 2)
    top = np.linalg.norm(quad[1] - quad[0])
    bottom = np.linalg.norm(quad[2] - quad[3])
    left = np.linalg.norm(quad[3] - quad[0])
    right = np.linalg.norm(quad[2] - quad[1])
    plate_w, plate_h = max(top, bottom), max(left, right)
    if plate_w < 2 or plate_h < 2:
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        quad = np.float32([[x0, y0], [x1 + 1, y0], [x1 + 1, y1 + 1], [x0, y1 + 1]])
        plate_w, plate_h = float(x1 - x0 + 1), float(y1 - y0 + 1)
    width = max(8, round(height * plate_w / plate_h))
    mx, my = margin * width, margin * height
    target = np.float32([[mx, my], [width - mx, my], [width - mx, height - my], [mx, height - my]])
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
