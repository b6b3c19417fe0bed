"""Plate rectification: perspective correction from the four corners, deskew from the
plate's edges, and dark-on-light normalisation."""

from __future__ import annotations

import numpy as np

from imaging._shared.validation import check_image

__all__ = [
    "MAX_DIRECT_SHRINK",
    "deskew",
    "estimate_skew",
    "normalize_polarity",
    "order_corners",
    "rectify",
    "shear_corners",
    "turn_corners",
]

# A plate whose crop is less than this fraction of its height in the image is first brought
# down by area, then warped (:func:`rectify`).
MAX_DIRECT_SHRINK = 0.75


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
        The rectified crop, same dtype and channels as ``image``. A plate much larger than
        the crop (a high-resolution photo: :data:`MAX_DIRECT_SHRINK`) is brought down by
        area before the warp, so its strokes stay smooth.

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
    shrink = (height - 2 * my) / plate_h
    if shrink < MAX_DIRECT_SHRINK:
        image, quad = _brought_down(image, quad, target, (width, height), shrink)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _brought_down(
    image: np.ndarray,
    quad: np.ndarray,
    target: np.ndarray,
    size: tuple[int, int],
    shrink: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``image`` the crop of ``size`` = (W, H) samples, brought down by area to
    ``shrink`` of its size, and ``quad`` in its pixels: bilinear sampling of a plate many
    times larger than the crop skips pixels (jagged strokes, noise and JPEG blocks aliased
    into the characters)."""
    import cv2

    inverse = cv2.getPerspectiveTransform(target, quad)
    w, h = size
    outline = np.float32([[[0, 0], [w, 0], [w, h], [0, h]]])
    seen = cv2.perspectiveTransform(outline, inverse)[0]
    pad = 2.0 / shrink
    rows, cols = image.shape[:2]
    x0 = int(np.clip(np.floor(seen[:, 0].min() - pad), 0, cols - 1))
    y0 = int(np.clip(np.floor(seen[:, 1].min() - pad), 0, rows - 1))
    x1 = int(np.clip(np.ceil(seen[:, 0].max() + pad), x0 + 1, cols))
    y1 = int(np.clip(np.ceil(seen[:, 1].max() + pad), y0 + 1, rows))
    part = image[y0:y1, x0:x1]
    out_w = max(1, round((x1 - x0) * shrink))
    out_h = max(1, round((y1 - y0) * shrink))
    source = part.astype(np.float32) if part.dtype == np.float64 else part
    small = cv2.resize(np.ascontiguousarray(source), (out_w, out_h), interpolation=cv2.INTER_AREA)
    if part.ndim == 3 and small.ndim == 2:
        small = small[..., None]
    fx, fy = out_w / (x1 - x0), out_h / (y1 - y0)
    moved = (quad - np.float32([x0, y0]) + 0.5) * np.float32([fx, fy]) - 0.5
    return small.astype(image.dtype, copy=False), moved.astype(np.float32)


def widen_corners(
    corners: np.ndarray, across: float, down: float = 0.0, *, right: float = 0.0
) -> np.ndarray:
    """Grow a plate's quadrilateral about its centre along its own edges.

    Parameters
    ----------
    corners : ndarray (4, 2)
        Top-left, top-right, bottom-right, bottom-left in pixels.
    across, down : float
        Growth of the width and of the height, as fractions of them (0.16: 16 % wider, half
        on each side).
    right : float
        Further growth of the right edge alone, as a fraction of the width.

    Returns
    -------
    ndarray (4, 2), float32

    Examples
    --------
    >>> box = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], np.float32)
    >>> widen_corners(box, 0.2, 0.1).tolist()
    [[-10.0, -1.0], [110.0, -1.0], [110.0, 21.0], [-10.0, 21.0]]
    """
    quad = np.asarray(corners, np.float32).reshape(4, 2)
    width = (quad[1] - quad[0] + quad[2] - quad[3]) / 2
    height = (quad[3] - quad[0] + quad[2] - quad[1]) / 2
    side = np.float32([-1, 1, 1, -1])[:, None]
    level = np.float32([-1, -1, 1, 1])[:, None]
    on_right = np.float32([0, 1, 1, 0])[:, None]
    return (
        quad
        + side * width * (across / 2)
        + level * height * (down / 2)
        + on_right * width * np.float32(right)
    )


def shear_corners(corners: np.ndarray, angle: float) -> np.ndarray:
    """Tilt a plate's quadrilateral so that its top and bottom edges fall by ``angle``.

    A plate seen from the side keeps its vertical edges vertical while its top and bottom
    edges slope; an upright box around it cuts the characters at a slant. Each corner moves
    up or down by its horizontal distance from the centre times ``tan(angle)``, so the box
    becomes the parallelogram the plate fills; :func:`rectify` of it gives a level crop.

    Parameters
    ----------
    corners : ndarray (4, 2)
        Top-left, top-right, bottom-right, bottom-left in pixels.
    angle : float
        Degrees; positive when the plate falls to the right (as :func:`estimate_skew`).

    Returns
    -------
    ndarray (4, 2), float32

    Examples
    --------
    >>> box = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], np.float32)
    >>> shear_corners(box, 45.0).round(1).tolist()
    [[0.0, -50.0], [100.0, 50.0], [100.0, 70.0], [0.0, -30.0]]
    """
    quad = np.asarray(corners, np.float32).reshape(4, 2).copy()
    centre_x = quad[:, 0].mean()
    quad[:, 1] += np.float32(np.tan(np.radians(angle))) * (quad[:, 0] - centre_x)
    return quad


def turn_corners(corners: np.ndarray, angle: float) -> np.ndarray:
    """The rectangle a turned plate fills, from the upright box around it.

    A plate turned in the picture (a tilted camera or mounting) has its verticals turned as
    well; :func:`shear_corners` keeps them upright and so cuts its characters at a slant.
    This cut is the box's centre turned by ``angle``, as long as the box's top edge sloped by
    the angle and as high as the box measured across it (the footprint of the sheared cut);
    :func:`rectify` of it gives a level crop whose characters stand upright.

    Parameters
    ----------
    corners : ndarray (4, 2)
        The plate's box (any four points: their bounding box is used), in pixels.
    angle : float
        Degrees, under 45 either way; positive when the plate falls to the right (as
        :func:`estimate_skew`).

    Returns
    -------
    ndarray (4, 2), float32
        Top-left, top-right, bottom-right, bottom-left of the turned plate.

    Raises
    ------
    ValueError
        For an angle of 45 degrees or more (the box no longer says which side is long).

    Examples
    --------
    >>> box = np.array([[0, 0], [100, 0], [100, 20], [0, 20]], np.float32)
    >>> turn_corners(box, 0.0).round(1).tolist()
    [[0.0, 0.0], [100.0, 0.0], [100.0, 20.0], [0.0, 20.0]]
    >>> turn_corners(box, 10.0)[1].astype(float).round(1).tolist()  # top-right: lower
    [101.7, 9.1]
    """
    if not abs(float(angle)) < 45.0:
        raise ValueError(f"angle: expected under 45 degrees either way, got {angle}")
    quad = np.asarray(corners, np.float32).reshape(4, 2)
    (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)
    radians = np.radians(angle)
    cos, sin = float(np.cos(radians)), float(np.sin(radians))
    half_w, half_h = (x1 - x0) / cos / 2, (y1 - y0) * cos / 2
    corner = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    turned = corner @ np.array([[cos, sin], [-sin, cos]])
    return (turned + [(x0 + x1) / 2, (y0 + y1) / 2]).astype(np.float32)


def order_corners(points: np.ndarray) -> np.ndarray:
    """Put four corner points in the order top-left, top-right, bottom-right, bottom-left.

    Parameters
    ----------
    points : ndarray (4, 2)
        Corners in any order, ``(x, y)`` in pixels.

    Returns
    -------
    ndarray (4, 2), float32

    Examples
    --------
    >>> order_corners(np.array([[10, 5], [0, 0], [0, 5], [10, 0]])).tolist()
    [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]]
    """
    quad = np.asarray(points, np.float32).reshape(-1, 2)
    if quad.shape != (4, 2):
        from imaging._shared.errors import ShapeError

        raise ShapeError(f"points: expected 4 (x, y) corners, got shape {np.shape(points)}")
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]  # clockwise on screen (y down), starting top-left-ish
    start = int(np.argmin(quad.sum(axis=1)))  # the top-left has the smallest x + y
    return np.roll(quad, -start, axis=0)


def estimate_skew(image: np.ndarray, *, max_angle: float = 25.0) -> float:
    """Angle in degrees of the plate's long edges and text rows against the horizontal.

    The straight lines of the edge map within ``max_angle`` of the horizontal (a Hough
    transform over those angles only, in half-degree steps) vote with the number of edge
    pixels on them; the weighted median of the 20 strongest is returned. Positive means the
    plate falls to the right (clockwise on screen); 0.0 when no such line is found.

    Parameters
    ----------
    image : ndarray
        A plate crop, grey or RGB, any supported dtype.
    max_angle : float
        Largest skew considered, in degrees.

    Returns
    -------
    float

    Examples
    --------
    >>> from imaging.anpr.synth import render_plate
    >>> plate = render_plate(np.random.default_rng(3)).image
    >>> abs(estimate_skew(plate)) < 1.0
    True
    """
    import cv2

    grey = _grey8(image)
    h, w = grey.shape
    if h < 8 or w < 8:
        return 0.0
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 50, 150)
    spread = np.radians(float(np.clip(max_angle, 0.5, 89.0)))
    lines = cv2.HoughLinesWithAccumulator(
        edges,
        1,
        np.pi / 360,
        threshold=max(8, w // 4),
        min_theta=np.pi / 2 - spread,
        max_theta=np.pi / 2 + spread,
    )
    if lines is None or len(lines) == 0:
        return 0.0
    strongest = lines.reshape(-1, 3)[:20]  # (rho, theta of the normal, votes), most votes first
    angles = np.degrees(strongest[:, 1] - np.pi / 2)
    votes = strongest[:, 2]
    order = np.argsort(angles)
    cumulative = np.cumsum(votes[order])
    return float(angles[order][np.searchsorted(cumulative, cumulative[-1] / 2)])  # weighted median


def deskew(image: np.ndarray, *, max_angle: float = 25.0) -> np.ndarray:
    """Rotate a plate crop so that its edges and text rows are level.

    Parameters
    ----------
    image : ndarray
        A plate crop, grey or RGB, any supported dtype.
    max_angle : float
        Largest skew corrected, in degrees (see :func:`estimate_skew`).

    Returns
    -------
    ndarray
        Same shape and dtype as ``image``; borders are replicated.

    Examples
    --------
    >>> from imaging.anpr.synth import render_plate
    >>> plate = render_plate(np.random.default_rng(3)).image
    >>> deskew(plate).shape == plate.shape
    True
    """
    import cv2

    image = check_image(image, dtypes=None)
    angle = estimate_skew(image, max_angle=max_angle)
    if abs(angle) < 0.3:
        return image
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    source = image.astype(np.float32) if image.dtype == np.float64 else image
    out = cv2.warpAffine(
        np.ascontiguousarray(source),
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.astype(image.dtype, copy=False)


def normalize_polarity(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """A grey float32 crop in [0, 1] with dark text on a light plate, and whether it was inverted.

    The plate's background covers most of a crop, so a median darker than mid-range means
    light text on a dark plate, which is inverted.

    Parameters
    ----------
    image : ndarray
        A plate crop, grey or RGB, any supported dtype.

    Returns
    -------
    grey : ndarray (H, W), float32 in [0, 1]
        Contrast-stretched between the 2nd and 98th percentiles.
    inverted : bool

    Examples
    --------
    >>> dark = np.zeros((20, 80), np.uint8); dark[5:15, 10:70:8] = 255
    >>> grey, inverted = normalize_polarity(dark)
    >>> inverted, grey.dtype
    (True, dtype('float32'))
    """
    values = _grey8(image).astype(np.float32)
    lo, hi = np.percentile(values, [2, 98])
    values = np.clip((values - lo) / max(float(hi - lo), 8.0), 0.0, 1.0)
    inverted = bool(np.median(values) < 0.5)
    if inverted:
        values = 1.0 - values
    return values.astype(np.float32), inverted


def _grey8(image: np.ndarray) -> np.ndarray:
    """uint8 grey view of a crop (RGB(A) converted, other dtypes stretched to 0-255)."""
    import cv2

    image = check_image(image, dtypes=None)
    if image.ndim == 3:
        image = image[..., :3] if image.shape[2] >= 3 else image[..., 0]
    if image.dtype != np.uint8:
        values = image.astype(np.float32)
        lo, hi = np.percentile(values, [0.5, 99.5])
        image = np.clip((values - lo) / max(float(hi - lo), 1e-6) * 255, 0, 255).astype(np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(image)
