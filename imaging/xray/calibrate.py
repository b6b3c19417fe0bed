"""From detector counts to attenuation: flat field, dead elements, stripes, line flicker.

Image rows are detector elements and columns scan lines (the belt direction), so element
gain errors show as horizontal stripes. Functions take and return (H, W) arrays.
"""

from __future__ import annotations

import numpy as np

from imaging._shared.errors import DTypeError, ShapeError
from imaging._shared.validation import check_image

__all__ = [
    "DEFAULT_FLOOR",
    "attenuation",
    "check_counts",
    "dead_elements",
    "destripe",
    "interpolate_rows",
    "normalize_lines",
    "reference_levels",
]


def check_counts(image: np.ndarray, name: str) -> None:
    """Refuse dtypes that are not intensities or attenuations (bool, complex, strings...).

    Raises
    ------
    DTypeError
        For any dtype other than integers and floats.

    Examples
    --------
    >>> import numpy as np
    >>> check_counts(np.zeros((2, 2), np.uint16), "raw")
    >>> try:
    ...     check_counts(np.zeros((2, 2), bool), "raw")
    ... except DTypeError as exc:
    ...     print(str(exc).split(",")[-1])
     got bool
    """
    if image.dtype == bool or not (
        np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)
    ):
        raise DTypeError(
            f"{name}: X-ray data must be integer counts or float attenuation, got {image.dtype}"
        )


DEFAULT_FLOOR = 1e-4
"""Smallest transmission kept: A is clipped at −ln(1e−4) ≈ 9.2."""


def _levels(lines: np.ndarray | None, h: int, name: str) -> np.ndarray | None:
    if lines is None:
        return None
    lines = np.asarray(lines, np.float64)
    if lines.ndim == 1 and lines.shape[0] == h:
        return lines
    if lines.ndim == 2 and lines.shape[0] == h:
        return np.median(lines, axis=1)
    raise ShapeError(f"{name}: expected ({h},) or ({h}, n) reference lines, got {lines.shape}")


def dead_elements(
    air: np.ndarray, dark: np.ndarray | None = None, *, tolerance: float = 0.5
) -> np.ndarray:
    """Indices of detector elements whose air response is off by more than ``tolerance``
    (relative to the median element), e.g. dead (no signal) or hot elements.

    Examples
    --------
    >>> import numpy as np
    >>> dead_elements(np.array([1000, 1010, 0, 990, 5000.0]))
    array([2, 4])
    """
    air_level = np.asarray(air, np.float64)
    if air_level.ndim == 2:
        air_level = np.median(air_level, axis=1)
    dark_level = 0.0 if dark is None else _levels(dark, air_level.shape[0], "dark")
    signal = air_level - dark_level
    median = np.median(signal)
    if median <= 0:
        return np.arange(len(signal))
    return np.flatnonzero(np.abs(signal / median - 1.0) > tolerance)


def interpolate_rows(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Replace the given rows by linear interpolation from the nearest good rows (a copy)."""
    out = np.array(image, dtype=np.float32, copy=True)
    bad = np.zeros(out.shape[0], bool)
    bad[np.asarray(rows, int)] = True
    good = np.flatnonzero(~bad)
    if good.size == 0 or not bad.any():
        return out
    rows = np.flatnonzero(bad)
    upper = np.clip(np.searchsorted(good, rows), 0, good.size - 1)
    lower = np.clip(upper - 1, 0, good.size - 1)
    lo, hi = good[lower], good[upper]
    span = np.where(hi != lo, hi - lo, 1).astype(np.float32)
    weight = np.clip((rows - lo) / span, 0.0, 1.0)[:, None]
    out[rows] = (1 - weight) * out[lo] + weight * out[hi]
    return out


def reference_levels(
    raw: np.ndarray, *, dark: np.ndarray | None = None, air: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row dark and air levels (H,) float64 for a raw scan: the medians of the reference
    lines when given; else 0 for dark, and for air 255 (uint8 transmission) or the 99.5th
    percentile of each row's counts (a row usually sees air somewhere).

    Examples
    --------
    >>> import numpy as np
    >>> dark, air = reference_levels(np.full((2, 3), 900, np.uint16), dark=np.array([100, 90]))
    >>> dark.tolist(), air.tolist()
    ([100.0, 90.0], [900.0, 900.0])
    """
    h = raw.shape[0]
    dark_level = _levels(dark, h, "dark")
    if dark_level is None:
        dark_level = np.zeros(h)
    air_level = _levels(air, h, "air")
    if air_level is None:
        if raw.dtype == np.uint8:
            air_level = np.full(h, 255.0)
        else:
            row_top = np.percentile(raw, 99.5, axis=1).astype(np.float64)
            air_level = np.maximum(row_top, dark_level + 1)
    return dark_level, air_level


def attenuation(
    raw: np.ndarray,
    *,
    dark: np.ndarray | None = None,
    air: np.ndarray | None = None,
    floor: float = DEFAULT_FLOOR,
    fix_dead: bool = True,
) -> np.ndarray:
    """Flat-field correct raw counts and return attenuation A = −ln(I / I0) as float32.

    Parameters
    ----------
    raw : ndarray (H, W)
        Detector counts (uint16 raw data, or any numeric dtype). uint8 display images are
        taken as transmission scaled to 255.
    dark : ndarray (H,) or (H, n), optional
        Beam-off lines (offsets); default 0.
    air : ndarray (H,) or (H, n), optional
        Empty-tunnel lines (gains); default: for uint8 input 255, otherwise the 99.5th
        percentile of each row's counts (a row usually sees air somewhere).
    floor : float
        Transmission floor, so that photon-starved pixels give a finite A.
    fix_dead : bool
        Interpolate detector elements found dead in the air lines.

    Returns
    -------
    ndarray (H, W) float32, A ≥ 0 where the object attenuates.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[1000, 368, 1000]], np.uint16)
    >>> attenuation(raw, air=np.array([1000.0])).round(2).tolist()
    [[0.0, 1.0, 0.0]]
    """
    from imaging.xray._kernels import flat_field_attenuation

    raw = check_image(raw, name="raw", ndim=2, dtypes=None)
    check_counts(raw, "raw")
    h = raw.shape[0]
    dark_level, air_level = reference_levels(raw, dark=dark, air=air)
    a = flat_field_attenuation(raw, dark_level, air_level, floor=floor)
    if fix_dead and air is not None:
        dead = dead_elements(air_level, dark_level)
        if dead.size and dead.size < h // 2:
            a = interpolate_rows(a, dead)
    return a


def destripe(
    a: np.ndarray, *, air_threshold: float = 0.05, min_air_fraction: float = 0.05
) -> np.ndarray:
    """Remove residual per-element offsets (horizontal stripes) from an attenuation image.

    Each row's offset is the median of its air pixels (A below ``air_threshold`` in a
    column-smoothed image); rows with too few air pixels take the interpolated offset of their
    neighbours.

    Returns
    -------
    ndarray float32, the corrected attenuation (A ≥ 0).
    """
    a = check_image(a, name="attenuation", ndim=2, dtypes=(np.float32, np.float64))
    a = a.astype(np.float32)
    air = a < air_threshold
    h, w = a.shape
    offsets = np.full(h, np.nan, np.float32)
    counts = air.sum(axis=1)
    for row in np.flatnonzero(counts >= max(3, min_air_fraction * w)):
        offsets[row] = np.median(a[row, air[row]])
    known = np.isfinite(offsets)
    if not known.any():
        return a
    offsets = np.interp(np.arange(h), np.flatnonzero(known), offsets[known]).astype(np.float32)
    offsets -= np.median(offsets)
    return np.maximum(a - offsets[:, None], 0.0)


def normalize_lines(a: np.ndarray, *, air_rows: slice | np.ndarray | None = None) -> np.ndarray:
    """Remove line-to-line flicker (tube output drift): subtract, from every scan line
    (column), the median attenuation of its air pixels.

    ``air_rows`` are detector rows known to see air (e.g. above the belt); by default the rows
    whose median attenuation is lowest (the lowest tenth).
    """
    a = check_image(a, name="attenuation", ndim=2, dtypes=(np.float32, np.float64)).astype(
        np.float32
    )
    if air_rows is None:
        order = np.argsort(np.median(a, axis=1))
        air_rows = order[: max(1, a.shape[0] // 10)]
    reference = np.median(a[air_rows], axis=0)
    return np.maximum(a - reference[None, :], 0.0)
