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
    import cv2

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
        handle_material = str(rng.choice(["polyethylene", "polyethylene", "aluminium"]))
        handle_cm = 1.5 if handle_material == "polyethylene" else 0.4
        return [(mask, "iron", rng.uniform(0.15, 0.4)), (handle_mask, handle_material, handle_cm)]
    if kind == "gun":
        size = rng.uniform(45, 70) * scale
        slide = np.array([[0, 0], [size, 0], [size, size * 0.2], [0, size * 0.2]])
        grip = np.array(
            [
                [size * 0.02, size * 0.18],
                [size * 0.3, size * 0.18],
                [size * 0.24, size * 0.72],
                [-size * 0.04, size * 0.68],
            ]
        )
        guard = np.array(
            [
                [size * 0.3, size * 0.18],
                [size * 0.5, size * 0.18],
                [size * 0.46, size * 0.38],
                [size * 0.3, size * 0.38],
            ]
        )
        points = [_rotate(p + [cx, cy], angle, (cx, cy)) for p in (slide, grip, guard)]
        body = _polygon(shape, points[0]) | _polygon(shape, points[1])
        ring = _polygon(shape, points[2])
        hole = cv2.erode(
            ring.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, round(scale))
        )
        return [
            (body, "iron", rng.uniform(1.0, 2.5)),
            (ring & ~hole.astype(bool), "iron", rng.uniform(0.4, 0.8)),
        ]
    if kind == "blade":
        length, width = rng.uniform(25, 40) * scale, rng.uniform(8, 12) * scale
        rect = np.array([[0, 0], [length, 0], [length, width], [0, width]])
        mask = _polygon(shape, _rotate(rect + [cx, cy], angle, (cx, cy)))
        return [(mask, "iron", rng.uniform(0.06, 0.2))]
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


def _bag_hardware(shape, rng: np.random.Generator, scale: float) -> list:
    """Harmless metal every real bag shows: frame wire, handle, zip, trolley bars."""
    import cv2

    h, w = shape
    parts = []
    line = max(1, round(2 * scale))
    if rng.random() < 0.7:  # frame wire along the bag's outline
        frame = np.zeros(shape, np.uint8)
        axes = (
            round(w * 0.45 * rng.uniform(0.85, 0.97)),
            round(h * 0.42 * rng.uniform(0.85, 0.97)),
        )
        cv2.ellipse(frame, (w // 2, h // 2), axes, 0, 0, 360, 1, line)
        parts.append(
            (frame.astype(bool), str(rng.choice(["iron", "aluminium"])), rng.uniform(0.2, 0.6))
        )
    if rng.random() < 0.6:  # handle: an arc near the top edge
        handle = np.zeros(shape, np.uint8)
        cx = round(w * rng.uniform(0.4, 0.6))
        cv2.ellipse(
            handle, (cx, round(h * 0.12)), (round(w * 0.12), round(h * 0.08)), 0, 180, 360, 1, line
        )
        parts.append((handle.astype(bool), "iron", rng.uniform(0.3, 0.8)))
    if rng.random() < 0.6:  # zip: a row of small teeth plus its pull tab
        zip_mask = np.zeros(shape, np.uint8)
        y = round(h * rng.uniform(0.12, 0.25))
        x0, x1 = round(w * 0.15), round(w * rng.uniform(0.6, 0.85))
        for x in range(x0, x1, max(2, round(3 * scale))):
            zip_mask[y : y + line, x : x + line] = 1
        tab = (x1, y), (x1 + round(8 * scale), y + round(4 * scale))
        cv2.rectangle(zip_mask, tab[0], tab[1], 1, -1)
        parts.append((zip_mask.astype(bool), "aluminium", rng.uniform(0.2, 0.5)))
    if rng.random() < 0.35:  # trolley bars: two long tubes
        bars = np.zeros(shape, np.uint8)
        for y in (round(h * 0.3), round(h * 0.7)):
            cv2.rectangle(bars, (round(w * 0.08), y), (round(w * 0.92), y + 2 * line), 1, -1)
        parts.append((bars.astype(bool), "aluminium", rng.uniform(0.3, 0.8)))
    for _ in range(int(rng.integers(0, 4))):  # coins, keys, buckles
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.15, 0.85) * w
        r = rng.uniform(3, 7) * scale
        parts.append(
            (_ellipse(shape, cy, cx, r, r * rng.uniform(1, 2.5)), "iron", rng.uniform(0.1, 0.3))
        )
    return parts


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
        layers.extend(_bag_hardware(shape, rng, scale))
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
