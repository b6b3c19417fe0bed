"""Plausibility checks of a scan, before anything is read into it.

A scan can be well formed and still useless: no X-rays reached the detector, the detector
saturated, some pixels are not numbers, or the whole image is one value. Each of these gives an
image-wide ``quality`` flag naming the problem (``data["problem"]``), and the analysis still
runs, so nothing is hidden from the operator. Input that cannot mean what it claims raises
:class:`~imaging.xray.errors.ScanError` instead: float "attenuations" beyond any scanner's
range, or a dual-energy pair whose low-energy image does not attenuate more than its
high-energy one (swapped channels, or one image passed twice).
"""

from __future__ import annotations

import numpy as np

from imaging._shared.errors import NonFiniteError
from imaging.results import Flag
from imaging.xray.errors import ScanError

__all__ = [
    "MAX_ATTENUATION",
    "MIN_ENERGY_RATIO",
    "check_attenuation_range",
    "check_energy_order",
    "quality_flags",
]

MAX_ATTENUATION = 30.0
"""Largest plausible attenuation: a transmission of e^-30 is far below any detector's floor."""

MIN_ENERGY_RATIO = 0.98
"""Median A_low / A_high under which a pair counts as swapped (every material gives above 1:
attenuation falls with photon energy; simulated bags give 1.3)."""

_NO_SIGNAL_SHARE = 0.95  # of the pixels at the attenuation floor: nothing reached the detector
_SATURATED_SHARE = 0.01  # of the detector rows whose air reference is at the dtype's maximum


def check_attenuation_range(values: np.ndarray, name: str = "image") -> None:
    """Refuse float input that cannot be attenuation A = −ln(I / I0).

    Raises
    ------
    NonFiniteError
        When no pixel is a finite number.
    ScanError
        When the finite values reach beyond ±:data:`MAX_ATTENUATION` (raw counts stored as
        floats, say).

    Examples
    --------
    >>> import numpy as np
    >>> check_attenuation_range(np.array([[0.0, 2.5]], np.float32))
    >>> try:
    ...     check_attenuation_range(np.array([[0.0, 41000.0]], np.float32))
    ... except ScanError as exc:
    ...     print(str(exc).split(", but")[0])
    image: float input is taken as attenuation A = -ln(I/I0), about 0 to 10
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise NonFiniteError(f"{name}: no pixel is a finite number (all NaN or infinite)")
    lo, hi = float(finite.min()), float(finite.max())
    if hi > MAX_ATTENUATION or lo < -MAX_ATTENUATION:
        raise ScanError(
            f"{name}: float input is taken as attenuation A = -ln(I/I0), about 0 to 10, "
            f"but its values run from {lo:.6g} to {hi:.6g}; pass raw detector counts as "
            "integers (uint16) or convert them to attenuation first"
        )


def check_energy_order(
    a_low: np.ndarray, a_high: np.ndarray, *, min_pixels: int = 200, floor_a: float = 9.0
) -> float | None:
    """Check that the low-energy image attenuates more than the high-energy one.

    Parameters
    ----------
    a_low, a_high : ndarray (H, W)
        Attenuation of the two energies.
    min_pixels : int
        Fewest well-measured object pixels (0.2 < A_high < 6, neither energy at the floor)
        for a verdict; an almost empty belt gives none.
    floor_a : float
        Attenuation at or above which a pixel is photon-starved and not used.

    Returns
    -------
    float or None
        The median A_low / A_high over the object pixels, None when there are too few.

    Raises
    ------
    ScanError
        When the median is under :data:`MIN_ENERGY_RATIO`, or the two images are identical.

    Examples
    --------
    >>> import numpy as np
    >>> a_high = np.linspace(0.5, 2.0, 400, dtype=np.float32).reshape(20, 20)
    >>> round(check_energy_order(1.3 * a_high, a_high), 2)
    1.3
    >>> try:
    ...     check_energy_order(a_high, 1.3 * a_high)
    ... except ScanError as exc:
    ...     print("swapped" in str(exc))
    True
    """
    if a_high.size == 0 or a_high.min() == a_high.max():
        return None  # a blank image: quality_flags says so
    if a_low.shape == a_high.shape and np.array_equal(a_low, a_high):
        raise ScanError(
            "dual-energy pair: the low- and high-energy images are identical (one image "
            "passed twice?); materials cannot be told apart"
        )
    objects = (a_high > 0.2) & (a_high < 6.0) & (a_low < floor_a)
    count = int(objects.sum())
    if count < min_pixels:
        return None
    median = float(np.median(a_low[objects] / a_high[objects]))
    if median < MIN_ENERGY_RATIO:
        raise ScanError(
            "dual-energy pair: the low-energy image attenuates less than the high-energy one "
            f"(median A_low/A_high {median:.2f} over {count} object pixels; every material "
            "gives above 1): the channels look swapped. A (2, H, W) stack or 2-page TIFF "
            "holds the low energy first; low= takes the low-energy image"
        )
    return median


def quality_flags(
    raw: np.ndarray, a: np.ndarray, *, floor_a: float, air: np.ndarray | None = None
) -> list[Flag]:
    """Image-wide ``quality`` flags of one scan (empty for a sound scan).

    Parameters
    ----------
    raw : ndarray
        The scan as given: raw counts, a display image or float attenuation.
    a : ndarray (H, W)
        Its attenuation.
    floor_a : float
        The attenuation that a pixel without signal gets (the calibration's floor).
    air : ndarray, optional
        The air (flat) reference lines of raw counts, (H,) or (H, n). Only with them can
        saturation be told from a flat-fielded export, whose air is at full scale by design.

    Returns
    -------
    list of Flag
        Each with ``kind`` "quality", the whole image as its box and ``data["problem"]``:
        ``"blank"`` (one value everywhere), ``"no-signal"`` (almost every pixel at the
        floor), ``"saturated"`` (air reference lines at the detector's maximum) or
        ``"invalid-pixels"`` (NaN or infinite values, taken as air).

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.zeros((8, 8), np.uint16)
    >>> [f.data["problem"] for f in quality_flags(raw, np.full((8, 8), 9.2), floor_a=9.2)]
    ['blank']
    """
    h, w = a.shape[:2]
    box = (0.0, 0.0, float(w), float(h))

    def flag(problem: str, message: str, **data: object) -> Flag:
        return Flag("quality", box, 1.0, message, data={"problem": problem, **data})

    flags = []
    values = raw
    if np.issubdtype(raw.dtype, np.floating):
        bad = int(raw.size - np.count_nonzero(np.isfinite(raw)))
        if bad:
            flags.append(
                flag(
                    "invalid-pixels",
                    f"{bad} pixels are NaN or infinite and were taken as air: check the export",
                    pixels=bad,
                )
            )
            values = raw[np.isfinite(raw)]
    if values.size and values.min() == values.max():
        message = (
            f"every pixel is {values.flat[0]}: no image (empty belt, source off, detector "
            "fault or a blank export)"
        )
        return [*flags, flag("blank", message)]
    starved = float(np.mean(a >= floor_a - 1e-3))
    if starved >= _NO_SIGNAL_SHARE:
        flags.append(
            flag(
                "no-signal",
                f"no X-rays reached the detector over {starved:.0%} of the scan: check the "
                "source and the detector before reading the image",
                share=round(starved, 4),
            )
        )
    if air is not None and np.issubdtype(raw.dtype, np.integer) and raw.dtype.itemsize >= 2:
        top = np.iinfo(raw.dtype).max
        levels = np.asarray(air, np.float64)
        levels = levels.reshape(levels.shape[0], -1).mean(axis=1) if levels.ndim else levels
        share = float(np.mean(levels >= 0.999 * top))
        if share >= _SATURATED_SHARE:
            flags.append(
                flag(
                    "saturated",
                    f"the air reference of {share:.0%} of the detector rows is at the "
                    f"detector's maximum ({top}): the detector saturates, so thin objects "
                    "there are lost and attenuations read low; lower the source current",
                    share=round(share, 4),
                )
            )
    return flags
