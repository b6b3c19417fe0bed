"""Thermal palettes (iron, rainbow, white-hot, black-hot, grey) and a °C colour bar."""

from __future__ import annotations

from functools import cache

import numpy as np

from imaging._shared.validation import check_image

__all__ = ["PALETTES", "colorbar", "overlay_mask", "palette_lut", "render"]

# control points (position, R, G, B) of each palette
_POINTS = {
    "iron": [
        (0.0, 0, 0, 0),
        (0.15, 30, 0, 90),
        (0.35, 130, 0, 150),
        (0.55, 220, 50, 40),
        (0.75, 250, 150, 0),
        (0.9, 255, 220, 60),
        (1.0, 255, 255, 255),
    ],
    "rainbow": [
        (0.0, 0, 0, 130),
        (0.15, 0, 0, 255),
        (0.35, 0, 200, 255),
        (0.5, 0, 220, 0),
        (0.65, 255, 255, 0),
        (0.85, 255, 100, 0),
        (1.0, 255, 0, 0),
    ],
    "white-hot": [(0.0, 0, 0, 0), (1.0, 255, 255, 255)],
    "black-hot": [(0.0, 255, 255, 255), (1.0, 0, 0, 0)],
    "grey": [(0.0, 0, 0, 0), (1.0, 255, 255, 255)],
}
PALETTES = tuple(_POINTS)


@cache
def palette_lut(name: str) -> np.ndarray:
    """The 256×3 uint8 RGB table of a palette.

    Examples
    --------
    >>> palette_lut("iron").shape
    (256, 3)
    """
    if name not in _POINTS:
        raise ValueError(f"unknown palette {name!r}; choose one of {', '.join(PALETTES)}")
    points = np.array(_POINTS[name], np.float64)
    x = np.linspace(0, 1, 256)
    lut = np.stack([np.interp(x, points[:, 0], points[:, c]) for c in (1, 2, 3)], axis=1)
    lut = np.round(lut).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def render(
    temperature_c: np.ndarray,
    *,
    palette: str = "iron",
    range_c: tuple[float, float] | None = None,
    invalid_rgb: tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Colour a temperature map with a palette.

    Parameters
    ----------
    temperature_c : ndarray (H, W) float
        Temperatures; NaN pixels get ``invalid_rgb``.
    palette : str
        One of :data:`PALETTES`.
    range_c : (float, float), optional
        Temperatures mapped to the palette's ends; default the 1st and 99th percentiles.

    Returns
    -------
    ndarray (H, W, 3) uint8, RGB

    Examples
    --------
    >>> import numpy as np
    >>> render(np.array([[20.0, 30.0]]), range_c=(20, 30))[0].tolist()
    [[0, 0, 0], [255, 255, 255]]
    """
    t = check_image(temperature_c, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
    lo, hi = range_c if range_c is not None else _auto_range(t)
    lut = palette_lut(palette)
    finite = np.isfinite(t)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    index = np.clip((np.where(finite, t, lo) - lo) * scale, 0, 255).astype(np.uint8)
    out = lut[index]
    out[~finite] = invalid_rgb
    return out


def _auto_range(t: np.ndarray) -> tuple[float, float]:
    finite = t[np.isfinite(t)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [1, 99])
    return float(lo), float(max(hi, lo + 0.1))


def colorbar(
    image_rgb: np.ndarray,
    *,
    palette: str,
    range_c: tuple[float, float],
    width: int | None = None,
) -> np.ndarray:
    """Append a vertical colour bar labelled in °C to the right of a rendered image.

    Parameters
    ----------
    image_rgb : ndarray (H, W, 3) uint8
        A rendered image (:func:`render`).
    palette : str
        The palette it was rendered with.
    range_c : (float, float)
        The temperatures of the palette's ends.
    width : int, optional
        Width of the bar in pixels; default just wide enough for its labels.

    Returns
    -------
    ndarray (H, W + width, 3) uint8

    Examples
    --------
    >>> import numpy as np
    >>> rgb = render(np.zeros((100, 80), np.float32), range_c=(0, 1))
    >>> colorbar(rgb, palette="iron", range_c=(0, 1)).shape[:2] > (100, 80)
    True
    """
    import cv2

    image_rgb = check_image(image_rgb, name="image_rgb", ndim=3, dtypes=(np.uint8,), channels=(3,))
    h = image_rgb.shape[0]
    lo, hi = range_c
    scale = max(0.3, h / 600)
    labels = [(frac, f"{lo + frac * (hi - lo):.1f}C") for frac in (0.0, 0.25, 0.5, 0.75, 1.0)]
    sizes = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1) for _, text in labels]
    if width is None:
        width = 24 + max(size[0][0] for size in sizes)
    bar = np.full((h, width, 3), 255, np.uint8)
    ramp = palette_lut(palette)[np.linspace(255, 0, h).astype(np.uint8)]
    bar[:, 4:18] = ramp[:, None, :]
    for (frac, label), ((_, text_h), base) in zip(labels, sizes, strict=True):
        y = round((1 - frac) * (h - 1))
        cv2.putText(
            bar,
            label,
            (20, min(h - 1 - base, max(text_h + 1, y + text_h // 2))),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return np.concatenate([image_rgb, bar], axis=1)


def overlay_mask(
    image_rgb: np.ndarray,
    mask: np.ndarray,
    *,
    color: tuple[int, int, int] = (0, 255, 0),
    alpha: float = 1.0,
) -> np.ndarray:
    """Paint the pixels of ``mask`` (an isotherm, a hotspot) over a rendered image.

    Parameters
    ----------
    image_rgb : ndarray (H, W, 3) uint8
        A rendered image (:func:`render`).
    mask : ndarray (H, W) bool
        The pixels to paint, e.g. from :func:`imaging.thermal.measure.isotherm`.
    color : (int, int, int)
        RGB colour of the painted pixels.
    alpha : float
        Opacity in [0, 1].

    Returns
    -------
    ndarray (H, W, 3) uint8
        A new image; the input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((1, 2, 3), np.uint8)
    >>> overlay_mask(rgb, np.array([[True, False]]))[0].tolist()
    [[0, 255, 0], [0, 0, 0]]
    """
    image = check_image(image_rgb, name="image_rgb", ndim=3, dtypes=(np.uint8,), channels=(3,))
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask: expected shape {image.shape[:2]}, got {mask.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    out = image.copy()
    paint = np.asarray(color, np.float32)
    blended = (1 - alpha) * out[mask].astype(np.float32) + alpha * paint
    out[mask] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return out
