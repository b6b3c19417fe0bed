"""Hotspots in a temperature map: absolute and background-relative thresholds, the local
Getis-Ord Gi* statistic, connected components, and the "person-like heat signature" flag."""

from __future__ import annotations

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.validation import check_image
from imaging.results import Detections, Flag

__all__ = [
    "SKIN_BAND_C",
    "describe_regions",
    "detect_hotspots",
    "getis_ord_gi_star",
    "hotspot_mask",
    "local_background",
    "person_like_flags",
]

SKIN_BAND_C = (28.0, 37.0)


def _check_map(temperature_c: np.ndarray) -> np.ndarray:
    t = check_image(temperature_c, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
    return t.astype(np.float32, copy=False)


def _box_sum(values: np.ndarray, size: int) -> np.ndarray:
    """Sum over the ``size`` × ``size`` window of every pixel; outside the image counts 0."""
    import cv2

    return cv2.boxFilter(
        values, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT
    )


def getis_ord_gi_star(temperature_c: np.ndarray, *, window: int = 3) -> np.ndarray:
    """Local Getis-Ord Gi* z-scores over a square neighbourhood of ``window`` pixels a side.

    With binary weights (1 for each valid pixel of the window, the pixel itself included):

        Gi* = (Σ_j x_j − x̄ W_i) / (S √((n W_i − W_i²) / (n − 1)))

    where W_i is the number of valid pixels in the window (fewer at the image's edges), n the
    number of valid pixels of the map, x̄ and S their mean and (population) standard
    deviation. NaN pixels are nobody's neighbour and get NaN. Values above 1.96 (2.58) are hot
    spots at the 5 % (1 %) level; this is the statistic ThermStats applies to thermal images.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C.
    window : int
        Odd side of the neighbourhood. The default 3 (the 8 queen neighbours and the pixel)
        is ThermStats' choice; larger windows find larger, fainter warm patches.

    Returns
    -------
    ndarray (H, W) float32

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
    n = int(finite.sum())
    if n < 2:
        return np.full(t.shape, np.nan, np.float32)
    values = t[finite].astype(np.float64)
    mean = float(values.mean())
    std = float(values.std())
    if std == 0:
        return np.where(finite, 0.0, np.nan).astype(np.float32)
    x = np.where(finite, t, 0.0).astype(np.float64)
    local_sum = _box_sum(x, window)
    weight = _box_sum(finite.astype(np.float64), window)
    spread = np.sqrt(np.maximum((n * weight - weight**2) / (n - 1), 1e-12))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (local_sum - mean * weight) / (std * spread)
    return np.where(finite, z, np.nan).astype(np.float32)


def local_background(
    temperature_c: np.ndarray, *, size: int | None = None, percentile: float = 50.0
) -> np.ndarray:
    """The scene background around every pixel: a percentile of a ``size``-wide window.

    The window statistic is computed exactly (NaN ignored) on a copy reduced so that the window
    spans about 15 pixels, on a grid of about a quarter window; each pixel takes the highest
    value of its grid cell's corners (a conservative background: the pixels beside a warm
    wall's edge are not "hot"). ``percentile=50`` is the local median.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C.
    size : int, optional
        Window side in pixels (made odd); default half the shorter side, at least 15. With
        the median, an object covering less than half the window does not raise its own
        background.
    percentile : float
        Which percentile of the window is the background (50: median; 25: a cooler estimate).

    Returns
    -------
    ndarray (H, W) float32

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((60, 80), 18.0, np.float32); t[10:14, 30:34] = 40.0
    >>> float(local_background(t)[12, 32])
    18.0
    """
    import cv2

    from imaging.thermal._kernels import local_percentile

    t = _check_map(temperature_c)
    finite = np.isfinite(t)
    if not finite.any():
        return np.full(t.shape, np.nan, np.float32)
    size = int(size) if size is not None else max(15, min(t.shape) // 2)
    if size < 3:
        raise ValueError(f"size must be at least 3 pixels, got {size}")
    size |= 1
    h, w = t.shape
    factor = max(1, size // 15)
    if finite.all():
        filled = t
    else:
        filled = np.where(finite, t, np.float32(np.median(t[finite]))).astype(np.float32)
    if factor > 1:
        small = cv2.resize(
            filled, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA
        )
    else:
        small = filled
    k = max(3, (size // factor) | 1)
    k = min(k, (2 * min(small.shape) - 1) | 1)  # the mirrored pad must fit in the image
    step = max(1, k // 4)  # evaluated on a grid of about a quarter window
    grid = local_percentile(small, k, percentile, step=step)
    # full-resolution pixel centre -> reduced-image coordinate -> grid cell; the background
    # of a pixel is the highest of its cell's four corners, so that a step edge (a warm
    # wall) never leaves a strip of "hot" pixels beside it
    gx = ((np.arange(w) + 0.5) * small.shape[1] / w - 0.5) / step
    gy = ((np.arange(h) + 0.5) * small.shape[0] / h - 0.5) / step
    x0 = np.clip(np.floor(gx).astype(np.int64), 0, grid.shape[1] - 1)
    y0 = np.clip(np.floor(gy).astype(np.int64), 0, grid.shape[0] - 1)
    # the highest of each cell's four corners, then one gather per axis
    corners = np.maximum(grid, np.pad(grid, ((0, 1), (0, 1)), mode="edge")[1:, 1:])
    corners = np.maximum(corners, np.pad(grid, ((0, 0), (0, 1)), mode="edge")[:, 1:])
    corners = np.maximum(corners, np.pad(grid, ((0, 1), (0, 0)), mode="edge")[1:, :])
    background = corners.astype(np.float32, copy=False)[y0].take(x0, axis=1)
    return background.astype(np.float32, copy=False)


def hotspot_mask(
    temperature_c: np.ndarray,
    *,
    threshold_c: float | None = None,
    above_background_c: float | None = 5.0,
    background_size: int | None = None,
    background_percentile: float = 50.0,
    gi_star_z: float | None = None,
    gi_window: int = 3,
    extend_c: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The pixels that pass every hotspot criterion given, and the local background.

    See :func:`detect_hotspots` for the criteria.

    Returns
    -------
    mask : ndarray (H, W) bool
        Hot pixels (NaN pixels are never hot).
    background : ndarray (H, W) float32
        The local background in °C (NaN when ``above_background_c`` is None).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((30, 30), 20.0, np.float32); t[5:8, 5:8] = 50
    >>> int(hotspot_mask(t, threshold_c=40, above_background_c=None)[0].sum())
    9
    """
    t = _check_map(temperature_c)
    if threshold_c is None and above_background_c is None and gi_star_z is None:
        raise ValueError("give at least one of threshold_c, above_background_c, gi_star_z")
    if extend_c is not None:
        if extend_c < 0:
            raise ValueError(f"extend_c must not be negative, got {extend_c}")
        if threshold_c is None and above_background_c is None:
            raise ValueError("extend_c loosens threshold_c or above_background_c: give one of them")
    hot = np.isfinite(t)
    with np.errstate(invalid="ignore"):
        if threshold_c is not None:
            hot &= t >= threshold_c
        if above_background_c is not None:
            background = local_background(t, size=background_size, percentile=background_percentile)
            hot &= t - background >= above_background_c
        else:
            background = np.full(t.shape, np.nan, np.float32)
        if gi_star_z is not None:
            hot &= getis_ord_gi_star(t, window=gi_window) >= gi_star_z
        if extend_c is not None and hot.any():
            hot = _extend(hot, t, background, threshold_c, above_background_c, extend_c)
    return hot, background


def _extend(
    seeds: np.ndarray,
    t: np.ndarray,
    background: np.ndarray,
    threshold_c: float | None,
    above_background_c: float | None,
    extend_c: float,
) -> np.ndarray:
    """Hysteresis: the pixels connected to a seed that pass the criteria loosened by
    ``extend_c`` degrees join it (a hotspot's warm rim belongs to it)."""
    import cv2

    loose = np.isfinite(t)
    if threshold_c is not None:
        loose &= t >= threshold_c - extend_c
    if above_background_c is not None:
        loose &= t - background >= above_background_c - extend_c
    loose |= seeds
    _, labels = cv2.connectedComponents(loose.astype(np.uint8), connectivity=8)
    keep = np.zeros(int(labels.max()) + 1, bool)
    keep[np.unique(labels[seeds])] = True
    keep[0] = False
    return keep[labels]


def detect_hotspots(
    temperature_c: np.ndarray,
    *,
    threshold_c: float | None = None,
    above_background_c: float | None = 5.0,
    background_size: int | None = None,
    background_percentile: float = 50.0,
    gi_star_z: float | None = None,
    gi_window: int = 3,
    extend_c: float | None = None,
    min_area_px: int = 4,
    max_hotspots: int = 100,
) -> Detections:
    """Find warm regions and describe each as a detection.

    A pixel is hot when it passes every criterion given:

    - ``threshold_c``: at or above this absolute temperature;
    - ``above_background_c``: this much above the local background, the
      ``background_percentile`` (default 50: the median) of a ``background_size`` window
      (default half the shorter image side);
    - ``gi_star_z``: Getis-Ord Gi* z-score at or above this value (1.96: 5 %, 2.58: 1 %),
      over a ``gi_window``-wide neighbourhood.

    With ``extend_c``, a hotspot also takes in the pixels connected to it that pass the
    temperature criteria loosened by that many degrees (hysteresis: its warm rim).

    Hot pixels are grouped into 8-connected components, each measured on the temperatures.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C; NaN pixels are never hot and never enter the statistics.
    min_area_px : int
        Smaller components are dropped.
    max_hotspots : int
        At most this many, hottest first.

    Returns
    -------
    Detections
        Boxes of the components (hottest first), ``confidence`` rising with the excess over
        the background (or over the threshold), and ``data`` (float32 unless said):
        ``label`` ("hotspot"), ``area_px`` (int64), ``centroid_xy`` (N, 2),
        ``min_temp_c``, ``max_temp_c``, ``mean_temp_c``, ``max_xy`` (N, 2, location of the
        maximum), ``background_temp_c`` (at the maximum; NaN without a background criterion).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((60, 80), 18.0, np.float32); t[10:20, 30:36] = 34.0
    >>> dets = detect_hotspots(t)
    >>> dets.xyxy.tolist(), float(dets.data["max_temp_c"][0])
    ([[30.0, 10.0, 36.0, 20.0]], 34.0)
    """
    t = _check_map(temperature_c)
    hot, background = hotspot_mask(
        t,
        threshold_c=threshold_c,
        above_background_c=above_background_c,
        background_size=background_size,
        background_percentile=background_percentile,
        gi_star_z=gi_star_z,
        gi_window=gi_window,
        extend_c=extend_c,
    )
    dets = describe_regions(t, hot, min_area_px=min_area_px, max_regions=max_hotspots)
    if not len(dets):
        dets.data["background_temp_c"] = np.zeros(0, np.float32)
        return dets
    argmax = dets.data["max_xy"].astype(np.int64)
    bg = background[argmax[:, 1], argmax[:, 0]]
    if above_background_c is not None:
        reference = bg
    elif threshold_c is not None:
        reference = np.full(len(dets), threshold_c, np.float32)
    else:
        reference = np.full(len(dets), np.nanmedian(t), np.float32)
    excess = np.maximum(dets.data["max_temp_c"] - reference, 0)
    return Detections(
        dets.xyxy,
        confidence=np.clip(1.0 - np.exp(-excess / 5.0), 0.0, 1.0),
        data=dets.data | {"background_temp_c": bg.astype(np.float32)},
    )


def describe_regions(
    temperature_c: np.ndarray,
    mask: np.ndarray,
    *,
    min_area_px: int = 1,
    max_regions: int | None = None,
    label: str = "hotspot",
) -> Detections:
    """Split a mask into 8-connected components and measure each on the temperatures.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C (NaN pixels are left out of the statistics).
    mask : ndarray (H, W) bool
        The pixels to group.
    min_area_px : int
        Smaller components are dropped.
    max_regions : int, optional
        Keep only this many, hottest first.

    Returns
    -------
    Detections
        Hottest first; ``data``: ``label``, ``area_px`` (int64), ``centroid_xy``,
        ``min_temp_c``, ``max_temp_c``, ``mean_temp_c``, ``max_xy`` (float32).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16, dtype=np.float32).reshape(4, 4)
    >>> describe_regions(t, t > 13).data["mean_temp_c"].tolist()
    [14.5]
    """
    import cv2

    from imaging.thermal._kernels import component_stats

    t = _check_map(temperature_c)
    mask = np.asarray(mask, bool)
    if mask.shape != t.shape:
        raise ShapeError(f"mask: expected shape {t.shape}, got {mask.shape}")
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return _empty(label)
    measured = component_stats(labels, t, count)
    keep = np.flatnonzero((measured["area"] >= min_area_px) & (measured["count"] > 0))
    keep = keep[keep > 0]
    keep = keep[np.argsort(-measured["max"][keep], kind="stable")]
    if max_regions is not None:
        keep = keep[:max_regions]
    if not len(keep):
        return _empty(label)
    argmax = measured["argmax"][keep]
    w = t.shape[1]
    return Detections(
        measured["box"][keep].astype(np.float32),
        data={
            "label": np.full(len(keep), label),
            "area_px": measured["area"][keep].astype(np.int64),
            "centroid_xy": measured["centroid"][keep].astype(np.float32),
            "min_temp_c": measured["min"][keep].astype(np.float32),
            "max_temp_c": measured["max"][keep].astype(np.float32),
            "mean_temp_c": measured["mean"][keep].astype(np.float32),
            "max_xy": np.stack([argmax % w, argmax // w], axis=1).astype(np.float32),
        },
    )


def _empty(label: str = "hotspot") -> Detections:
    return Detections(
        np.zeros((0, 4), np.float32),
        data={
            "label": np.array([], str),
            "area_px": np.zeros(0, np.int64),
            "centroid_xy": np.zeros((0, 2), np.float32),
            "min_temp_c": np.zeros(0, np.float32),
            "max_temp_c": np.zeros(0, np.float32),
            "mean_temp_c": np.zeros(0, np.float32),
            "max_xy": np.zeros((0, 2), np.float32),
        },
    )


def person_like_flags(
    temperature_c: np.ndarray,
    *,
    band_c: tuple[float, float] = SKIN_BAND_C,
    min_contrast_c: float = 3.0,
    min_area_fraction: float = 0.002,
    max_area_fraction: float = 0.4,
    min_area_px: int = 12,
    max_std_c: float = 2.5,
) -> list[Flag]:
    """Flag regions that look like a person's heat signature in a cooler space.

    The typical customs alert: a body at skin-surface temperature (about 28–37 °C) inside a
    cooler trailer or container. A region qualifies when

    - its pixels lie in ``band_c`` and are at least ``min_contrast_c`` warmer than the
      scene's median (so a warm container does not light up as a whole);
    - its area is a plausible share of the frame (``min_area_fraction`` to
      ``max_area_fraction``, and at least ``min_area_px``);
    - its shape is compact and person-like: it fills at least half its box (solidity ≥ 0.5)
      and its aspect ratio lies between 1:4 and 4:1 (standing, sitting or lying). Pipes,
      cables and hot edges are too thin;
    - it is evenly warm like skin and clothing: temperature spread (standard deviation) at
      most ``max_std_c``, and hardly any pixel of its box hotter than the band (a motor or a
      heater is not a person).

    Parameters
    ----------
    temperature_c : ndarray (H, W) float32 or float64
        Temperatures in °C (NaN pixels ignored).

    Returns
    -------
    list of Flag
        Strongest first: ``kind="person"``, a score rising with the contrast (1 at 10 °C), a
        message for the operator, and data ``area_px``, ``mean_temp_c``, ``max_temp_c``,
        ``std_c``, ``contrast_c``, ``aspect``, ``solidity``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((120, 160), 10.0, np.float32); t[30:90, 70:90] = 32.0
    >>> [f.box for f in person_like_flags(t)]
    [(70.0, 30.0, 90.0, 90.0)]
    """
    import cv2

    t = _check_map(temperature_c)
    finite = np.isfinite(t)
    if not finite.any():
        return []
    scene = float(np.median(t[finite]))
    lo, hi = band_c
    if lo >= hi:
        raise ValueError(f"band_c must be (low, high) with low < high, got {band_c}")
    with np.errstate(invalid="ignore"):
        in_band = finite & (t >= lo) & (t <= hi) & (t - scene >= min_contrast_c)
        too_hot = finite & (t > hi + 2.0)
    closed = cv2.morphologyEx(in_band.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    total = t.size
    flags = []
    for k in range(1, count):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if area < min_area_px or not min_area_fraction * total <= area <= max_area_fraction * total:
            continue
        x, y, w, h = (int(stats[k, i]) for i in range(4))
        aspect = w / max(h, 1)
        solidity = area / max(w * h, 1)
        if not (0.25 <= aspect <= 4.0 and solidity >= 0.5):
            continue
        window = np.s_[y : y + h, x : x + w]
        region = labels[window] == k
        values = t[window][region & in_band[window]].astype(np.float64)
        if values.size == 0 or values.std() > max_std_c:
            continue
        if too_hot[window].mean() > 0.05:
            continue
        mean_c = float(values.mean())
        contrast = mean_c - scene
        score = float(np.clip(contrast / 10.0, 0.0, 1.0))
        flags.append(
            Flag(
                "person",
                (x, y, x + w, y + h),
                score,
                f"person-like heat signature: {area} px at {mean_c:.1f} °C, "
                f"{contrast:.1f} °C above the scene: inspect",
                {
                    "area_px": area,
                    "mean_temp_c": round(mean_c, 2),
                    "max_temp_c": round(float(values.max()), 2),
                    "std_c": round(float(values.std()), 2),
                    "contrast_c": round(contrast, 2),
                    "aspect": round(aspect, 3),
                    "solidity": round(solidity, 3),
                },
            )
        )
    flags.sort(key=lambda f: -f.score)
    return flags
