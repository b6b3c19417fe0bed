"""The operator-console image functions, in attenuation space.

Every function takes an attenuation image A (float32, from :func:`imaging.xray.calibrate.
attenuation` or :func:`to_attenuation`) and returns a display image as float32 in [0, 1]
(1 = white = air, as on a scanner console unless stated otherwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.validation import check_image

__all__ = [
    "PRESETS",
    "clahe",
    "console_chain",
    "density_slice",
    "edge_enhance",
    "enhance",
    "grey",
    "negative",
    "penetration",
    "to_attenuation",
]


def to_attenuation(image: np.ndarray, *, floor: float = 1e-4) -> np.ndarray:
    """Attenuation from any X-ray image the library accepts.

    - float32/float64 (H, W): taken as attenuation already;
    - uint8 (H, W) or RGB: a display image where white is air: A = −ln(I / 255);
      colour images are reduced to their luminance first;
    - uint16 (H, W): raw counts, flat-fielded against each row's air level
      (see :func:`imaging.xray.calibrate.attenuation` to use real dark/air lines).

    Returns
    -------
    ndarray (H, W) float32

    Examples
    --------
    >>> import numpy as np
    >>> to_attenuation(np.array([[255, 94]], np.uint8)).round(2).tolist()
    [[0.0, 1.0]]
    """
    from imaging.xray.calibrate import check_counts

    image = check_image(image, name="image", ndim=(2, 3), dtypes=None)
    check_counts(image, "image")
    if image.ndim == 3:
        if image.dtype != np.uint8 or image.shape[2] not in (3, 4):
            raise ShapeError(
                f"image: colour X-ray images must be 8-bit RGB, got {image.dtype} {image.shape}"
            )
        rgb = image[..., :3].astype(np.float32)
        lum = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        return (-np.log(np.maximum(lum / 255.0, floor))).astype(np.float32)
    if image.dtype == np.uint8:
        t = np.maximum(image.astype(np.float32) / 255.0, floor)
        return (0.0 - np.log(t)).astype(np.float32)
    if np.issubdtype(image.dtype, np.floating):
        return np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=float(-np.log(floor)))
    from imaging.xray.calibrate import attenuation

    return attenuation(image, floor=floor)


def _window(a: np.ndarray, lo: float, hi: float, gamma: float) -> np.ndarray:
    scaled = np.clip((a - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return (1.0 - scaled**gamma).astype(np.float32)


def grey(
    a: np.ndarray, *, lo: float | None = None, hi: float | None = None, gamma: float = 1.0
) -> np.ndarray:
    """Windowed attenuation: ``lo`` maps to white, ``hi`` to black (defaults: 0 and the
    99.5th percentile).

    Examples
    --------
    >>> import numpy as np
    >>> grey(np.array([[0.0, 2.0]], np.float32), hi=2.0).tolist()
    [[1.0, 0.0]]
    """
    a = check_image(a, name="attenuation", ndim=2, dtypes=(np.float32, np.float64))
    lo = 0.0 if lo is None else lo
    hi = float(np.percentile(a, 99.5)) if hi is None else hi
    return _window(a, lo, max(hi, lo + 1e-3), gamma)


def negative(a: np.ndarray, **window: Any) -> np.ndarray:
    """The inverse of :func:`grey`: dense is white."""
    return (1.0 - grey(a, **window)).astype(np.float32)


def penetration(a: np.ndarray, *, level: str = "high") -> np.ndarray:
    """High penetration shows detail inside dense objects (window on the dense range, gamma
    below 1); low penetration shows thin objects (window on the thin range, gamma above 1)."""
    if level == "high":
        lo, hi = np.percentile(a, [50, 99.9])
        return grey(a, lo=float(lo), hi=float(max(hi, lo + 0.5)), gamma=0.6)
    if level == "low":
        return grey(a, lo=0.0, hi=float(max(np.percentile(a, 60), 0.2)), gamma=1.6)
    raise ValueError(f"level must be 'high' or 'low', got {level!r}")


def edge_enhance(a: np.ndarray, *, amount: float = 1.5, sigma: float = 2.0) -> np.ndarray:
    """Unsharp masking of the grey image: edges of objects stand out."""
    import cv2

    g = grey(a)
    blurred = cv2.GaussianBlur(g, (0, 0), sigma)
    return np.clip(g + amount * (g - blurred), 0.0, 1.0).astype(np.float32)


def clahe(a: np.ndarray, *, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Super-enhancement: CLAHE on a 16-bit version of the grey image (no 8-bit squeeze)."""
    import cv2

    g16 = np.round(grey(a) * 65535).astype(np.uint16)
    out = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles)).apply(g16)
    return (out.astype(np.float32) / 65535.0).astype(np.float32)


def density_slice(a: np.ndarray, *, lo: float, hi: float) -> np.ndarray:
    """Show only pixels whose attenuation lies in [lo, hi]; everything else white."""
    g = grey(a)
    keep = (a >= lo) & (a <= hi)
    return np.where(keep, g, 1.0).astype(np.float32)


PRESETS: dict[str, tuple] = {
    "grey": (grey, {}),
    "negative": (negative, {}),
    "high-penetration": (penetration, {"level": "high"}),
    "low-penetration": (penetration, {"level": "low"}),
    "edge": (edge_enhance, {}),
    "super": (clahe, {}),
    "organic-density": (density_slice, {"lo": 0.2, "hi": 1.5}),
    "dense-only": (density_slice, {"lo": 2.5, "hi": 20.0}),
}


def enhance(image: np.ndarray, *, preset: str = "super", **options: Any) -> np.ndarray:
    """Apply a named console preset to any accepted X-ray image.

    Presets: ``grey``, ``negative``, ``high-penetration``, ``low-penetration``, ``edge``,
    ``super`` (CLAHE), ``organic-density``, ``dense-only``.

    Returns
    -------
    ndarray (H, W) float32 in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> enhance(np.full((8, 8), 200, np.uint8), preset="grey").shape
    (8, 8)
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    function, defaults = PRESETS[preset]
    return function(to_attenuation(image), **{**defaults, **options})


def _display_top(
    raw: np.ndarray, rows: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float
) -> float:
    """The 99.5th percentile (numpy's "linear") of A over every step-th pixel of the given
    detector rows, about 250,000 pixels: the display window's top (an exact percentile of a
    2048x4096 scan costs more than the rest of the chain).

    A, as :func:`imaging.xray._kernels.flat_field_attenuation` computes it, falls as the
    float32 transmission t rises: the two order statistics the percentile interpolates
    between are found among the t values, and only those two go through the logarithm (the
    same float32 numbers as A of the whole sample, so the same top).
    """
    from imaging.xray._kernels import flat_field_attenuation, sampled_transmission

    step = max(1, rows.size * raw.shape[1] // 250_000)
    t = sampled_transmission(raw, rows, dark, air, step=step)
    n = t.size
    position = (n - 1) * (99.5 / 100)
    i = int(np.floor(position))
    gamma = position - i
    j = n - 1 - i  # A's i-th and (i+1)-th smallest are at t's j-th and (j-1)-th
    t_pair = _order_statistics(t, [max(j - 1, 0), j])[::-1]
    a, b = flat_field_attenuation(t_pair[:, None], np.zeros(2), np.ones(2), floor=floor)[:, 0]
    # numpy's interpolation, in float32 as for a float32 sample
    top = a + (b - a) * gamma if gamma < 0.5 else b - (b - a) * (1 - gamma)
    return float(top)


def _order_statistics(values: np.ndarray, positions: list[int]) -> np.ndarray:
    """``np.partition(values, positions)[positions]`` for low positions, from the values
    under a bound guessed on a strided subsample (exact: every value up to the bound is kept,
    ties included; all the values when the bound was too low)."""
    k = max(positions) + 1
    subsample = np.sort(values[:: max(1, values.size // 4096)])
    rank = min(subsample.size - 1, 2 * k * subsample.size // values.size + 8)
    candidates = values[values <= subsample[rank]]
    if candidates.size < k:
        candidates = values
    return np.partition(candidates, positions)[positions]


def console_chain(
    raw: np.ndarray,
    *,
    dark: np.ndarray | None = None,
    air: np.ndarray | None = None,
    clip_limit: float = 2.0,
    tiles: int = 8,
    amount: float = 1.0,
    sigma: float = 2.0,
) -> np.ndarray:
    """The default console chain on raw counts: flat field and attenuation, 16-bit CLAHE
    (super-enhancement), then edge enhancement (unsharp masking), all without an 8-bit squeeze.

    Parameters
    ----------
    raw : ndarray (H, W)
        Detector counts (uint16 raw data, or uint8 transmission).
    dark, air : ndarray (H,) or (H, n), optional
        Reference lines, as for :func:`imaging.xray.calibrate.attenuation`.
    clip_limit, tiles : float, int
        CLAHE contrast limit and tiles per side.
    amount, sigma : float
        Unsharp-mask strength and the blur's standard deviation in pixels (a Gaussian cut
        at two sigma, see :func:`imaging.xray._kernels.unsharp_u16`).

    Returns
    -------
    ndarray (H, W) uint16
        The enhanced grey image (65535 = white = air).

    Examples
    --------
    >>> from imaging.xray.simulate import simulate_scan
    >>> scan = simulate_scan(3, shape=(64, 96), threats=("knife",))
    >>> out = console_chain(scan.high, dark=scan.dark, air=scan.air[1])
    >>> out.dtype, out.shape
    (dtype('uint16'), (64, 96))
    """
    import cv2

    from imaging.xray._kernels import flat_field_window_u16, unsharp_u16
    from imaging.xray.calibrate import DEFAULT_FLOOR, dead_elements, reference_levels

    raw = check_image(raw, name="raw", ndim=2, dtypes=None)
    h = raw.shape[0]
    dark_level, air_level = reference_levels(raw, dark=dark, air=air)
    dead = dead_elements(air_level, dark_level) if air is not None else np.zeros(0, int)
    if dead.size >= h // 2:
        dead = np.zeros(0, int)  # mostly "dead": the reference lines are wrong, not the rows
    # the window's top from every step-th good detector row
    rows = np.setdiff1d(np.arange(0, h, max(1, h // 128)), dead)
    if rows.size == 0:
        rows = np.arange(h)
    top = max(_display_top(raw, rows, dark_level, air_level, floor=DEFAULT_FLOOR), 1e-3)
    g16 = flat_field_window_u16(raw, dark_level, air_level, floor=DEFAULT_FLOOR, lo=0.0, hi=top)
    if dead.size:
        g16 = _interpolate_rows_u16(g16, dead)
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    equalised = clahe.apply(g16, g16)  # in place: each pixel is read before it is written
    if amount <= 0:
        return equalised
    return unsharp_u16(equalised, amount=amount, sigma=sigma, out=equalised)  # in place too


def _interpolate_rows_u16(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`imaging.xray.calibrate.interpolate_rows` on a band around the bad rows only,
    written into ``image``."""
    from imaging.xray.calibrate import interpolate_rows

    rows = np.asarray(rows, int)
    lo, hi = max(0, rows.min() - 8), min(image.shape[0], rows.max() + 9)
    band = interpolate_rows(image[lo:hi], rows - lo)
    image[rows] = np.round(band[rows - lo]).astype(image.dtype)  # in place: ours to change
    return image
