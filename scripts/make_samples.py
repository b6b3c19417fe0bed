"""Regenerate the bundled samples that the project makes itself (X-ray and plates).

The thermal samples are third-party files whose licences allow redistribution; see
``samples/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from imaging.io import imwrite

ROOT = Path(__file__).resolve().parents[1]


def xray(folder: Path) -> None:
    from imaging.xray.calibrate import interpolate_rows
    from imaging.xray.simulate import simulate_scan

    folder.mkdir(parents=True, exist_ok=True)
    bag = simulate_scan(101, shape=(320, 480), threats=("gun", "dense_block", "knife"))
    # as scanners export it: dark-subtracted and flat-fielded, 16-bit transmission
    pages = []
    for k, raw in enumerate((bag.low, bag.high)):
        dark = bag.dark.mean(axis=1, keepdims=True)
        air = bag.air[k].mean(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            transmission = np.clip((raw - dark) / (air - dark), 1e-4, 1.0)
        transmission = interpolate_rows(np.nan_to_num(transmission, nan=1.0), bag.dead_rows)
        pages.append(np.round(transmission * 65535).astype(np.uint16))
    imwrite(folder / "bag_dual_energy.tiff", np.stack(pages))
    other = simulate_scan(202, shape=(320, 480), threats=("organic_slab", "blade"))
    imwrite(folder / "bag_high_energy.png", other.high)


def plates(folder: Path) -> None:
    import cv2

    from imaging.anpr.formats import FORMATS
    from imaging.anpr.synth import render_plate

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(303)
    wanted = [
        ("KZ", "private since 2012", False),
        ("RU", "standard", False),
        ("KZ", "private since 2012", True),
        ("BY", "car", False),
    ]
    for k, (country, name, two_line) in enumerate(wanted):
        fmt = next(f for f in FORMATS if f.country == country and f.name == name)
        plate = render_plate(rng, fmt=fmt, two_line=two_line)
        scene = _scene(rng)
        h, w = plate.image.shape[:2]
        target_w = int(scene.shape[1] * (0.16 if two_line else 0.22))
        resized = cv2.resize(
            plate.image, (target_w, int(h * target_w / w)), interpolation=cv2.INTER_AREA
        )
        y = int(scene.shape[0] * 0.62)
        x = (scene.shape[1] - target_w) // 2
        scene[y : y + resized.shape[0], x : x + target_w] = resized
        imwrite(folder / f"vehicle_{k + 1}_{country}.jpg", scene, quality=92)


def _scene(rng: np.random.Generator) -> np.ndarray:
    """A plain synthetic scene: road, sky, the rear of a car."""
    import cv2

    h, w = 480, 640
    scene = np.zeros((h, w, 3), np.uint8)
    scene[: h // 3] = (170, 190, 215)
    scene[h // 3 :] = (95, 95, 100)
    body = tuple(int(v) for v in rng.integers(30, 200, 3))
    cv2.rectangle(scene, (120, 140), (520, 400), body, -1)
    cv2.rectangle(scene, (160, 160), (480, 250), (60, 70, 80), -1)  # rear window
    for x in (150, 450):
        cv2.rectangle(scene, (x, 270), (x + 40, 300), (200, 30, 30), -1)  # lights
    cv2.rectangle(scene, (110, 390), (530, 420), (30, 30, 30), -1)  # bumper
    noise = rng.normal(0, 4, scene.shape)
    return np.clip(scene + noise, 0, 255).astype(np.uint8)


if __name__ == "__main__":
    xray(ROOT / "samples" / "xray")
    plates(ROOT / "samples" / "anpr")
