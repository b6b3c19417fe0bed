"""Hotspots in a temperature map: absolute and background-relative thresholds, the local
Getis-Ord Gi* statistic, connected components, and the "person-like heat signature" flag."""

from __future__ import annotations

import math

import numpy as np

from imaging._shared.validation import check_image
from imaging.results import Detections, Flag
from imaging.thermal._kernels import component_stats

__all__ = ["detect_hotspots", "getis_ord_gi_star", "person_like_flags"]

SKIN_BAND_C = (28.0, 37.0)


def _check_map(temperature_c: np.ndarray) -> np.ndarray:
    t = check_image(temperature_c, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
    return t.astype(np.float32, copy=False)


def _box_mean(values: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(
        values, cv2.CV_64F, (size, size), normalize=True, borderType=cv2.BORDER_REFLECT
    )


def getis_ord_gi_star(temperature_c: np.ndarray, *, window: int = 9) -> np.ndarray:
    """Local Getis-Ord Gi* z-scores with a square neighbourhood of ``window`` pixels a side.

    Gi* = (Σ_j w_ij x_j − x̄ W) / (S √((n W − W²)/(n − 1))) with binary weights (W = window²),
    x̄ and S the mean and standard deviation of the whole map (NaN pixels replaced by the
    mean). Values above 1.96 (2.58) are hot spots at the 5 % (1 %) level.

    Returns
    -------
    ndarray of float32, same shape

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((40, 40), 20.0, np.float32); t[18:22, 18:22] = 40
    >>> bool(getis_ord_gi_star(t)[20, 20] > 2.58)
    True
    """
    t = _check_map(temperature_c)
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd number >= 3, got {window}")
    finite = np.isfinite(t)
    if not finite.any():
        return np.full(t.shape, np.nan, np.float32)
    mean = float(t[finite].mean())
    x = np.where(finite, t, mean).astype(np.float64)
    n = x.size
    std = float(x.std())
    if std == 0:
        return np.zeros(t.shape, np.float32)
    w = float(window * window)
    local_sum = _box_mean(x, window) * w
    denominator = std * math.sqrt(max((n * w - w * w) / (n - 1), 1e-12))
    return ((local_sum - mean * w) / denominator).astype(np.float32)


def detect_hotspots(
    temperature_c: np.ndarray,
    *,
    threshold_c: float | None = None,
    above_background_c: float | None = 5.0,
    background_size: int | None = None,
    gi_star_z: float | None = None,
    gi_window: int = 9,
    min_area_px: int = 4,
    max_hotspots: int = 100,
) -> Detections:
    """Find warm regions and describe each as a detection.

    A pixel is hot when it passes every criterion given:

    - ``threshold_c``: at or above this absolute temperature;
    - ``above_background_c``: this much above the local background, the median of a
      ``background_size`` window (default a quarter of the shorter image side);
    - ``gi_star_z``: Getis-Ord Gi* z-score at or above this value.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C; NaN pixels are never hot.
    min_area_px : int
        Smaller components are dropped.
    max_hotspots : int
        At most this many, hottest first.

    Returns
    -------
    Detections
        Boxes of the components, ``confidence`` rising with the excess over background, and
        ``data``: ``label`` ("hotspot"), ``area_px``, ``centroid_xy``, ``min_c``, ``max_c``,
        ``mean_c``, ``max_xy`` (location of the maximum), ``background_c``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((60, 80), 18.0, np.float32); t[10:20, 30:36] = 34.0
    >>> dets = detect_hotspots(t)
    >>> dets.xyxy.tolist(), float(dets.data["max_c"][0])
    ([[30.0, 10.0, 36.0, 20.0]], 34.0)
    """
    import cv2

    t = _check_map(temperature_c)
    if threshold_c is None and above_background_c is None and gi_star_z is None:
        raise ValueError("give at least one of threshold_c, above_background_c, gi_star_z")
    finite = np.isfinite(t)
    hot = finite.copy()
    filled = np.where(finite, t, np.nanmedian(t) if finite.any() else 0.0).astype(np.float32)
    size = background_size or max(15, (min(t.shape) // 4) | 1)
    size = size | 1
    background = _median_background(filled, size)
    if threshold_c is not None:
        hot &= filled >= threshold_c
    if above_background_c is not None:
        hot &= filled - background >= above_background_c
    if gi_star_z is not None:
        hot &= getis_ord_gi_star(t, window=gi_window) >= gi_star_z
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(
        hot.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return _empty()
    measured = component_stats(labels, np.where(finite, t, np.nan), count)
    keep = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= min_area_px]
    keep.sort(key=lambda k: -measured["max"][k])
    keep = keep[:max_hotspots]
    if not keep:
        return _empty()
    keep_arr = np.array(keep)
    x0 = stats[keep_arr, cv2.CC_STAT_LEFT]
    y0 = stats[keep_arr, cv2.CC_STAT_TOP]
    x1 = x0 + stats[keep_arr, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[keep_arr, cv2.CC_STAT_HEIGHT]
    argmax = measured["argmax"][keep_arr]
    w = t.shape[1]
    max_xy = np.stack([argmax % w, argmax // w], axis=1).astype(np.float32)
    bg = background.ravel()[argmax]
    excess = measured["max"][keep_arr] - bg
    confidence = np.clip(1.0 - np.exp(-np.maximum(excess, 0) / 5.0), 0.0, 1.0)
    return Detections(
        np.stack([x0, y0, x1, y1], axis=1).astype(np.float32),
        confidence=confidence.astype(np.float32),
        data={
            "label": np.full(len(keep), "hotspot"),
            "area_px": stats[keep_arr, cv2.CC_STAT_AREA].astype(np.int64),
            "centroid_xy": centroids[keep_arr].astype(np.float32),
            "min_c": measured["min"][keep_arr].astype(np.float32),
            "max_c": measured["max"][keep_arr].astype(np.float32),
            "mean_c": measured["mean"][keep_arr].astype(np.float32),
            "max_xy": max_xy,
            "background_c": bg.astype(np.float32),
        },
    )


def _median_background(t: np.ndarray, size: int) -> np.ndarray:
    """Local median of a window ``size`` wide, computed on a reduced image for speed."""
    import cv2

    h, w = t.shape
    factor = max(1, size // 15)
    small = cv2.resize(t, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    k = max(3, (size // factor) | 1)
    lo, hi = float(small.min()), float(small.max())
    if hi - lo < 1e-6:
        return np.full(t.shape, lo, np.float32)
    # cv2.medianBlur takes 8-bit images for large kernels: quantise over the range
    scaled = np.round((small - lo) / (hi - lo) * 255).astype(np.uint8)
    median = cv2.medianBlur(scaled, min(k, 255 if k % 2 else 254)).astype(np.float32)
    median = median / 255 * (hi - lo) + lo
    return cv2.resize(median, (w, h), interpolation=cv2.INTER_LINEAR)


def _empty() -> Detections:
    return Detections(
        np.zeros((0, 4), np.float32),
        data={
            "label": np.array([], str),
            "area_px": np.zeros(0, np.int64),
            "centroid_xy": np.zeros((0, 2), np.float32),
            "min_c": np.zeros(0, np.float32),
            "max_c": np.zeros(0, np.float32),
            "mean_c": np.zeros(0, np.float32),
            "max_xy": np.zeros((0, 2), np.float32),
            "background_c": np.zeros(0, np.float32),
        },
    )


def person_like_flags(
    temperature_c: np.ndarray,
    *,
    band_c: tuple[float, float] = SKIN_BAND_C,
    min_contrast_c: float = 3.0,
    min_area_fraction: float = 0.002,
    max_area_fraction: float = 0.4,
) -> list[Flag]:
    """Flag regions that look like a person's heat signature in a cooler space.

    A region qualifies when its pixels lie in the skin-surface band (about 28–37 °C), it is at
    least ``min_contrast_c`` warmer than the scene's median, its area is a plausible share of
    the frame, and its shape is compact and person-like: filled (solidity ≥ 0.5) with an
    aspect ratio between 1:4 and 4:1 (standing, sitting or lying).

    Returns
    -------
    list of Flag
        ``kind="person"``, score from the contrast, message for the operator, and data with
        ``area_px``, ``mean_c``, ``contrast_c``.
    """
    import cv2

    t = _check_map(temperature_c)
    finite = np.isfinite(t)
    if not finite.any():
        return []
    scene = float(np.median(t[finite]))
    lo, hi = band_c
    mask = finite & (t >= lo) & (t <= hi) & (t - scene >= min_contrast_c)
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    total = t.size
    flags = []
    for k in range(1, count):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if not min_area_fraction * total <= area <= max_area_fraction * total:
            continue
        x, y, w, h = (int(stats[k, i]) for i in range(4))
        aspect = w / max(h, 1)
        solidity = area / max(w * h, 1)
        if not (0.25 <= aspect <= 4.0 and solidity >= 0.5):
            continue
        region = labels == k
        mean_c = float(t[region].mean())
        contrast = mean_c - scene
        score = float(np.clip(contrast / 10.0, 0.0, 1.0))
        flags.append(
            Flag(
                "person",
                (x, y, x + w, y + h),
                score,
                f"person-like heat signature: {area} px at {mean_c:.1f} °C, "
                f"{contrast:.1f} °C above the scene: inspect",
                {"area_px": area, "mean_c": round(mean_c, 2), "contrast_c": round(contrast, 2)},
            )
        )
    return flags
