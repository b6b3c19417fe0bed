"""Physically based dual-energy scans with planted objects and exact ground truth.

Beer–Lambert in each energy with the coefficients of :mod:`imaging.xray.physics`, Poisson
photon noise, per-element detector gain and offset (the stripes of a line scanner), a few dead
elements, dark and air reference lines, clutter, and planted objects (knives, guns, blades,
dense blocks, organic slabs). Image rows are detector elements; columns are scan lines (the
belt direction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imaging.xray.physics import MATERIALS

__all__ = ["CLASS_CODES", "SimulatedScan", "project_threat", "simulate_scan"]

CLASS_CODES = {"none": 0, "organic": 1, "mixed": 2, "metal": 3}
THREATS = ("knife", "gun", "blade", "dense_block", "organic_slab")


@dataclass
class SimulatedScan:
    """A simulated dual-energy scan and its ground truth.

    ``low``/``high`` are raw uint16 detector counts (H, W); ``dark``/``air`` are reference
    lines (H, n) recorded with the beam off and on an empty tunnel; ``attenuation_low``/
    ``attenuation_high`` are the exact noise-free attenuations; ``material`` the dominant
    material class per pixel (:data:`CLASS_CODES`); ``boxes`` (N, 4) and ``labels`` the planted
    objects; ``dead_rows`` the dead detector elements.
    """

    low: np.ndarray
    high: np.ndarray
    dark: np.ndarray
    air: np.ndarray
    attenuation_low: np.ndarray
    attenuation_high: np.ndarray
    material: np.ndarray
    boxes: np.ndarray
    labels: list[str]
    dead_rows: list[int] = field(default_factory=list)
    photons: float = 0.0


def _ellipse(shape, cy, cx, ry, rx, angle=0.0) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (int(cx), int(cy)), (max(1, int(rx)), max(1, int(ry))), angle, 0, 360, 1, -1)
    return mask.astype(bool)


def _polygon(shape, points) -> np.ndarray:
    import cv2

    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)


def _rotate(points: np.ndarray, angle: float, centre) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return (points - centre) @ np.array([[c, s], [-s, c]]) + centre


def _threat_shape(kind: str, shape, rng: np.random.Generator, scale: float) -> tuple:
    """Mask, material and thickness (cm) of one planted object."""
    h, w = shape
    cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.2, 0.8) * w
    angle = rng.uniform(0, np.pi)
    if kind == "knife":
        length, width = rng.uniform(50, 80) * scale, rng.uniform(7, 11) * scale
        blade = np.array(
            [
                [0, -width / 2],
                [length * 0.6, -width / 2],
                [length * 0.75, 0],
                [length * 0.6, width / 2],
                [0, width / 2],
            ]
        )
        handle = np.array(
            [
                [-length * 0.4, -width * 0.6],
                [0, -width * 0.6],
                [0, width * 0.6],
                [-length * 0.4, width * 0.6],
            ]
        )
        mask = _polygon(shape, _rotate(blade + [cx, cy], angle, (cx, cy)))
        handle_mask = _polygon(shape, _rotate(handle + [cx, cy], angle, (cx, cy)))
        return [(mask, "iron", 0.25), (handle_mask, "polyethylene", 1.5)]
    if kind == "gun":
        size = rng.uniform(45, 65) * scale
        barrel = np.array([[0, 0], [size, 0], [size, size * 0.22], [0, size * 0.22]])
        grip = np.array(
            [
                [size * 0.05, size * 0.2],
                [size * 0.3, size * 0.2],
                [size * 0.22, size * 0.7],
                [-size * 0.02, size * 0.7],
            ]
        )
        points = [_rotate(p + [cx, cy], angle, (cx, cy)) for p in (barrel, grip)]
        mask = _polygon(shape, points[0]) | _polygon(shape, points[1])
        return [(mask, "iron", 1.6)]
    if kind == "blade":
        length, width = rng.uniform(25, 40) * scale, rng.uniform(8, 12) * scale
        rect = np.array([[0, 0], [length, 0], [length, width], [0, width]])
        mask = _polygon(shape, _rotate(rect + [cx, cy], angle, (cx, cy)))
        return [(mask, "iron", 0.05)]
    if kind == "dense_block":
        ry, rx = rng.uniform(10, 20) * scale, rng.uniform(12, 25) * scale
        rect = np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]])
        mask = _polygon(shape, _rotate(rect + [cx, cy], angle, (cx, cy)))
        return [(mask, "lead", rng.uniform(1.5, 3.0))]
    if kind == "organic_slab":
        ry, rx = rng.uniform(15, 30) * scale, rng.uniform(20, 40) * scale
        rect = np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]])
        mask = _polygon(shape, _rotate(rect + [cx, cy], angle, (cx, cy)))
        return [(mask, "polyethylene", rng.uniform(3.0, 6.0))]
    raise ValueError(f"unknown threat kind {kind!r}; choose from {', '.join(THREATS)}")


def simulate_scan(
    seed: int = 0,
    *,
    shape: tuple[int, int] = (256, 384),
    threats: tuple[str, ...] | None = None,
    n_threats: int = 2,
    clutter: int = 12,
    photons: float = 30000.0,
    stripes: float = 0.03,
    dead_elements: int = 1,
    container: bool = False,
) -> SimulatedScan:
    """Simulate one dual-energy scan of a bag (or a container) with planted objects.

    Parameters
    ----------
    seed : int
        Everything is drawn from this seed: same seed, same scan.
    shape : (int, int)
        (detector elements, scan lines).
    threats : tuple of str, optional
        Objects to plant, from ``knife``, ``gun``, ``blade``, ``dense_block``,
        ``organic_slab``; default ``n_threats`` drawn at random.
    clutter : int
        Number of harmless objects (clothes, bottles, electronics).
    photons : float
        Mean counts per pixel in air (noise level).
    stripes : float
        Relative spread of the detector elements' gains.
    dead_elements : int
        Detector rows that give a constant signal.
    container : bool
        A container-like scene: walls, corrugation, pallets, instead of a bag.

    Returns
    -------
    SimulatedScan

    Examples
    --------
    >>> scan = simulate_scan(1, shape=(64, 96), threats=("knife",))
    >>> scan.low.dtype, scan.labels
    (dtype('uint16'), ['knife'])
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    scale = min(h, w) / 256.0
    layers: list[tuple[np.ndarray, str, float | np.ndarray]] = []
    if container:
        wall = np.zeros(shape, bool)
        wall[: max(2, h // 40)] = True
        wall[-max(2, h // 40) :] = True
        layers.append((wall, "iron", 0.6))
        corrugation = 0.2 + 0.1 * np.sin(np.arange(w) / (6 * scale))[None, :]
        layers.append((np.ones(shape, bool), "iron", np.broadcast_to(corrugation, shape)))
        for _ in range(clutter):
            y0, x0 = rng.uniform(0.1, 0.6) * h, rng.uniform(0, 0.85) * w
            box = np.zeros(shape, bool)
            box[
                int(y0) : int(y0 + rng.uniform(0.2, 0.4) * h),
                int(x0) : int(x0 + rng.uniform(0.05, 0.15) * w),
            ] = True
            layers.append(
                (box, str(rng.choice(["polyethylene", "water", "fabric"])), rng.uniform(5, 30))
            )
    else:
        bag = _ellipse(shape, h / 2, w / 2, h * 0.42, w * 0.45)
        layers.append((bag, "fabric", 1.5))
        for _ in range(clutter):
            kind = rng.choice(["clothes", "clothes", "bottle", "electronics", "shoes"])
            cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.15, 0.85) * w
            if kind == "clothes":
                mask = _ellipse(
                    shape,
                    cy,
                    cx,
                    rng.uniform(15, 45) * scale,
                    rng.uniform(20, 60) * scale,
                    rng.uniform(0, 180),
                )
                layers.append((mask, "fabric", rng.uniform(2, 8)))
            elif kind == "bottle":
                mask = _ellipse(
                    shape,
                    cy,
                    cx,
                    rng.uniform(10, 15) * scale,
                    rng.uniform(25, 40) * scale,
                    rng.uniform(0, 180),
                )
                layers.append((mask, "water", rng.uniform(4, 7)))
                layers.append((mask, "glass", 0.3))
            elif kind == "electronics":
                mask = _ellipse(
                    shape, cy, cx, rng.uniform(10, 20) * scale, rng.uniform(15, 30) * scale
                )
                layers.append((mask, "aluminium", rng.uniform(0.2, 0.6)))
                inner = _ellipse(shape, cy, cx, 3 * scale, 8 * scale)
                layers.append((inner, "copper", 0.1))
            else:
                mask = _ellipse(
                    shape, cy, cx, rng.uniform(12, 18) * scale, rng.uniform(25, 35) * scale
                )
                layers.append((mask, "polyethylene", rng.uniform(2, 4)))
    if threats is None:
        threats = tuple(str(rng.choice(THREATS)) for _ in range(n_threats))
    boxes, labels = [], []
    for kind in threats:
        parts = _threat_shape(kind, shape, rng, scale)
        union = np.zeros(shape, bool)
        for mask, material, thickness in parts:
            layers.append((mask, material, thickness))
            union |= mask
        ys, xs = np.nonzero(union)
        if len(xs) == 0:
            continue
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        labels.append(kind)

    a_low = np.zeros(shape, np.float64)
    a_high = np.zeros(shape, np.float64)
    by_class = {c: np.zeros(shape) for c in ("organic", "mixed", "metal")}
    for mask, name, thickness in layers:
        m = MATERIALS[name]
        t = np.where(mask, thickness, 0.0)
        a_low += m.attenuation(t, high=False)
        contribution = m.attenuation(t, high=True)
        a_high += contribution
        by_class[m.material_class] += contribution
    stacked = np.stack([by_class["organic"], by_class["mixed"], by_class["metal"]])
    material = np.where(stacked.max(axis=0) > 0.02, stacked.argmax(axis=0) + 1, 0).astype(np.uint8)

    gains = 1.0 + rng.normal(0, stripes, h)
    offsets = 300 + rng.normal(0, 15, h)
    dead = sorted(int(r) for r in rng.choice(np.arange(2, h - 2), dead_elements, replace=False))
    n_ref = 16

    def detect(attenuation: np.ndarray, level: float) -> np.ndarray:
        counts = rng.poisson(level * np.exp(-attenuation)).astype(np.float64)
        raw = counts * gains[:, None] + offsets[:, None] + rng.normal(0, 3, counts.shape)
        raw[dead] = offsets[dead, None]
        return np.clip(np.round(raw), 0, 65535).astype(np.uint16)

    low = detect(a_low, photons * 0.6)
    high = detect(a_high, photons)
    dark = np.clip(np.round(offsets[:, None] + rng.normal(0, 3, (h, n_ref))), 0, 65535)
    air_low = detect(np.zeros((h, n_ref)), photons * 0.6)
    air_high = detect(np.zeros((h, n_ref)), photons)
    return SimulatedScan(
        low=low,
        high=high,
        dark=dark.astype(np.uint16),
        air=np.stack([air_low, air_high]),
        attenuation_low=a_low.astype(np.float32),
        attenuation_high=a_high.astype(np.float32),
        material=material,
        boxes=np.array(boxes, np.float32).reshape(-1, 4),
        labels=labels,
        dead_rows=dead,
        photons=photons,
    )


def project_threat(
    scan_attenuation: np.ndarray, threat_attenuation: np.ndarray, *, top: int, left: int
) -> np.ndarray:
    """Threat image projection: insert an object into a scan by adding attenuations.

    Attenuation is additive over overlapping objects (Beer–Lambert), so the result is what
    the scanner would have recorded with the object in the bag at that place.

    Examples
    --------
    >>> import numpy as np
    >>> out = project_threat(np.zeros((4, 4), np.float32), np.ones((2, 2), np.float32),
    ...                      top=1, left=1)
    >>> float(out.sum())
    4.0
    """
    out = np.array(scan_attenuation, dtype=np.float32, copy=True)
    th, tw = threat_attenuation.shape[:2]
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(out.shape[0], top + th), min(out.shape[1], left + tw)
    if y1 <= y0 or x1 <= x0:
        raise ValueError("the threat lies entirely outside the scan")
    out[y0:y1, x0:x1] += threat_attenuation[y0 - top : y1 - top, x0 - left : x1 - left]
    return out
