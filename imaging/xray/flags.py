"""Operator alerts on X-ray scans: impenetrable (dense) areas and differences from a reference
scan. Both work in attenuation space."""

from __future__ import annotations

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.validation import check_image
from imaging.results import Flag

__all__ = ["dense_flags", "reference_flags", "register_to_reference"]


def _components(
    mask: np.ndarray, min_area_px: int
) -> list[tuple[tuple[int, int, int, int], int, np.ndarray]]:
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    out = []
    for k in range(1, count):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if area < min_area_px:
            continue
        x, y, w, h = (int(stats[k, i]) for i in range(4))
        out.append(((x, y, x + w, y + h), area, labels == k))
    return out


def dense_flags(
    a_high: np.ndarray, *, impenetrable_a: float = 5.0, min_area_px: int = 100
) -> list[Flag]:
    """Flag regions the beam does not penetrate (attenuation above ``impenetrable_a``, i.e.
    fewer than about 1 % of the photons): the operator cannot see inside and must inspect by
    hand.

    Parameters
    ----------
    a_high : ndarray (H, W) float
        Attenuation (of the high-energy image for dual energy).
    impenetrable_a : float
        Attenuation above which a pixel counts as impenetrable (5 ≈ 0.7 % transmission).
    min_area_px : int
        Smallest region flagged.

    Returns
    -------
    list of Flag
        ``kind="dense"``, with ``area_px`` and ``mean_attenuation``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((50, 50), np.float32); a[10:30, 10:25] = 7.0
    >>> [f.box for f in dense_flags(a)]
    [(10.0, 10.0, 25.0, 30.0)]
    """
    import cv2

    a = check_image(a_high, name="a_high", ndim=2, dtypes=(np.float32, np.float64))
    mask = cv2.morphologyEx(
        (a >= impenetrable_a).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
    )
    flags = []
    for box, area, region in _components(mask, min_area_px):
        mean_a = float(a[region].mean())
        flags.append(
            Flag(
                "dense",
                box,
                1.0,
                f"impenetrable area of {area} px (mean attenuation {mean_a:.1f}): inspect by hand",
                {"area_px": area, "mean_attenuation": round(mean_a, 3)},
            )
        )
    return flags


def register_to_reference(
    a: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """Shift ``a`` onto ``reference`` (translation by phase correlation); return the shifted
    image and the (dx, dy) applied. Shapes must match."""
    import cv2

    if a.shape != reference.shape:
        raise ShapeError(f"scan {a.shape} and reference {reference.shape} differ in shape")
    window = cv2.createHanningWindow(a.shape[::-1], cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(reference.astype(np.float64), a.astype(np.float64), window)
    matrix = np.float32([[1, 0, -dx], [0, 1, -dy]])
    shifted = cv2.warpAffine(
        a.astype(np.float32),
        matrix,
        a.shape[::-1],
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return shifted, (float(-dx), float(-dy))


def reference_flags(
    a: np.ndarray,
    reference: np.ndarray,
    *,
    threshold_a: float = 0.3,
    min_area_px: int = 80,
    register: bool = True,
) -> tuple[list[Flag], np.ndarray]:
    """Compare a scan with a reference scan of the same container or vehicle type.

    Both are attenuation images; the scan is registered to the reference, the difference is
    smoothed, and blobs where the scan attenuates at least ``threshold_a`` more than the
    reference are flagged (something is there that should not be: the empty-container check).

    Returns
    -------
    flags : list of Flag
        ``kind="reference"``, score from the excess attenuation, with ``area_px`` and
        ``excess_attenuation``.
    difference : ndarray float32
        The registered difference scan − reference.
    """
    import cv2

    a = check_image(a, name="scan", ndim=2, dtypes=(np.float32, np.float64)).astype(np.float32)
    reference = check_image(
        reference, name="reference", ndim=2, dtypes=(np.float32, np.float64)
    ).astype(np.float32)
    if a.shape != reference.shape:
        reference = cv2.resize(reference, a.shape[::-1], interpolation=cv2.INTER_AREA)
    if register:
        a, _ = register_to_reference(a, reference)
    difference = cv2.GaussianBlur(a - reference, (0, 0), 1.5)
    mask = cv2.morphologyEx(
        (difference >= threshold_a).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
    )
    flags = []
    for box, area, region in _components(mask, min_area_px):
        excess = float(difference[region].mean())
        flags.append(
            Flag(
                "reference",
                box,
                float(np.clip(excess / (3 * threshold_a), 0, 1)),
                f"differs from the reference scan: {area} px with {excess:.2f} more attenuation",
                {"area_px": area, "excess_attenuation": round(excess, 3)},
            )
        )
    return flags, difference.astype(np.float32)
