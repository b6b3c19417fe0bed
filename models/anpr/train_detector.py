"""Train the number-plate detector and export it to ONNX (PyTorch on the CPU; training only).

A CenterNet-style network: a plate-centre heat map at stride 4, box size and centre offset,
and the four plate corners relative to the centre. It is trained on the real development
photographs of ``../shared/data/anpr`` (a quarter held back for evaluation, see
``split()``), augmented, with synthetic plates composited into those scenes at random
positions, scales and perspectives.

The exported graph decodes its own output to a YOLO-style tensor so that the library's generic
``OnnxDetector`` can also run it: ``boxes`` (1, 5, N) = cx, cy, w, h, score per grid cell, in
input pixels, and ``corners`` (1, 8, N) = x0, y0, ... x3, y3 (top-left, top-right,
bottom-right, bottom-left).

    python models/anpr/train_detector.py --minutes 20            # train, evaluate, export
    python models/anpr/train_detector.py --evaluate-only         # evaluate the shipped model

Seeds are fixed; the run is repeatable on one machine up to thread scheduling.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import queue
import threading
import time
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data" / "anpr"
SIZE = 416
STRIDE = 4
GRID = SIZE // STRIDE
SEED = 20261125

# --- data -----------------------------------------------------------------------------------


def load_photos() -> list[dict]:
    """The real photographs with their plate boxes (openalpr end-to-end sets)."""
    items = []
    for folder in sorted((DATA / "openalpr-benchmarks" / "endtoend").iterdir()):
        for txt in sorted(folder.glob("*.txt")):
            fields = txt.read_text().strip().split("\t")
            image = folder / fields[0]
            if not image.exists():
                continue
            x, y, w, h = (float(v) for v in fields[1:5])
            items.append(
                {
                    "path": image,
                    "set": folder.name,
                    "text": fields[5] if len(fields) > 5 else "",
                    "corners": np.array(
                        [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32
                    ),
                }
            )
    return items


def split(items: list[dict]) -> tuple[list[dict], list[dict]]:
    """Hold back every 4th photograph of each set (sorted by name) for evaluation."""
    train, held = [], []
    for name in sorted({i["set"] for i in items}):
        group = sorted((i for i in items if i["set"] == name), key=lambda i: i["path"].name)
        for k, item in enumerate(group):
            (held if k % 4 == 3 else train).append(item)
    return train, held


GLYPHS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
LIBRARY_PLATE_SHARE = 0.0  # of the pasted plates drawn by imaging.anpr.synth (--library-plates)
DISTRACTOR_SHARE = 0.0  # of the scenes that get distractor text (--distractors)
TILT_SHARE = 0.0  # of the scenes and pasted plates seen at a strong angle (--tilt)
SWAP_SHARE = 0.0  # of the scenes whose plate is replaced by a library plate (--swap-plates)
US_CROP_SHARE = 0.0  # of the pasted and swapped plates that are real US crops (--us-crops)
DARK_PLATE_SHARE = 0.0  # of the pasted and swapped plates turned light-on-dark (the refiner's)
ZOOM_MAX = 1.6  # largest zoom of a training scene (--zoom-max): plates up to ~0.3 x it wide


def render_plate(rng: np.random.Generator) -> np.ndarray:
    """A plate-like picture: light or dark background, a border, 5-9 glyphs, maybe 2 lines."""
    two_lines = rng.random() < 0.2
    h = int(rng.integers(40, 60)) * (2 if two_lines else 1)
    w = int(h * (rng.uniform(1.4, 2.2) if two_lines else rng.uniform(3.5, 5.0)))
    light = rng.random() < 0.8
    bg = rng.integers(170, 256, 3) if light else rng.integers(0, 90, 3)
    if light and rng.random() < 0.25:
        bg = np.array([40, 200, 240]) + rng.integers(-20, 15, 3)  # yellow (RGB order later)
    fg = rng.integers(0, 60, 3) if light else rng.integers(190, 256, 3)
    plate = np.empty((h, w, 3), np.uint8)
    plate[:] = np.clip(bg, 0, 255)
    cv2.rectangle(plate, (1, 1), (w - 2, h - 2), tuple(int(v) for v in fg), max(1, h // 25))
    if rng.random() < 0.4:  # EU band
        band = max(6, w // 12)
        plate[2:-2, 2:band] = (200, 60, 20)
    lines = 2 if two_lines else 1
    for line in range(lines):
        n = int(rng.integers(3, 6)) if two_lines else int(rng.integers(5, 10))
        text = "".join(rng.choice(list(GLYPHS), n))
        scale = (h / lines) / 32.0
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        scale *= min(1.0, 0.85 * w / max(tw, 1))
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = (w - tw) // 2
        y = int((line + 0.5) * h / lines + th / 2)
        thickness = max(1, round(scale * 2.2))
        cv2.putText(
            plate,
            text,
            (x, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            tuple(int(v) for v in fg),
            thickness,
            cv2.LINE_AA,
        )
    return plate


def library_plate(rng: np.random.Generator) -> np.ndarray:
    """A plate of a random supported format as :mod:`imaging.anpr.synth` renders it (EU,
    Customs Union, US and Brazilian layouts), RGB."""
    from imaging.anpr.synth import render_plate as render_format

    return render_format(rng).image


@functools.cache
def _us_training_crops() -> tuple[Path, ...]:
    """The real US plate crops the OCR trains on (its held-out fifth is never used here either,
    so the benchmark that pastes those into scenes stays unseen by both models)."""
    from train_ocr import us_crops

    return tuple(path for path, _text in us_crops()[0])


def real_us_plate(rng: np.random.Generator) -> np.ndarray:
    """A real US plate, tightly cropped (openalpr's ``seg_and_ocr`` crops), RGB: the state
    names, slogans, frames and stickers synthetic plates only imitate, cut where the
    annotators of the photographs put a plate's box."""
    crops = _us_training_crops()
    return _decoded(str(crops[int(rng.integers(len(crops)))]))


def _takes_us_crop(rng: np.random.Generator) -> bool:
    """Whether this plate is to be a real US crop (a draw only when ``--us-crops`` is set, so
    that runs without it keep their samples)."""
    return bool(US_CROP_SHARE) and rng.random() < US_CROP_SHARE


def _darkened(plate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``plate``, or (``DARK_PLATE_SHARE`` of the time) its negative: light characters on a
    dark plate, as on military, police and diplomatic plates."""
    if DARK_PLATE_SHARE > 0 and rng.random() < DARK_PLATE_SHARE:
        return 255 - plate
    return plate


def pasted_plate(rng: np.random.Generator) -> np.ndarray:
    """The picture of a plate to put into a scene: a real US crop (``US_CROP_SHARE``), a plate
    of a supported format (``LIBRARY_PLATE_SHARE``) or the trainer's plate-like picture."""
    if _takes_us_crop(rng):
        return _darkened(real_us_plate(rng), rng)
    if rng.random() < LIBRARY_PLATE_SHARE:
        return _darkened(library_plate(rng), rng)
    return render_plate(rng)


def paste_plate(scene: np.ndarray, rng: np.random.Generator, occupied: list) -> np.ndarray | None:
    """Warp a plate picture (:func:`pasted_plate`) into ``scene`` (in place); return its corners
    or None."""
    plate = pasted_plate(rng)
    ph, pw = plate.shape[:2]
    sh, sw = scene.shape[:2]
    target_w = sw * rng.uniform(0.05, 0.35)
    scale = target_w / pw
    cx, cy = rng.uniform(0.1, 0.9) * sw, rng.uniform(0.1, 0.9) * sh
    tilted = rng.random() < TILT_SHARE
    angle = math.radians(np.clip(rng.normal(0, 14), -35, 35) if tilted else rng.normal(0, 5))
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    local = (src - [pw / 2, ph / 2]) * scale
    if tilted:  # seen from the side: narrower, the far edge shorter
        local[:, 0] *= rng.uniform(0.45, 1.0)
        far = int(rng.integers(2))
        side = (local[:, 0] > 0) if far else (local[:, 0] < 0)
        local[side, 1] *= rng.uniform(0.7, 1.0)
    skew = rng.normal(0, 0.06, size=(4, 2)) * [target_w, target_w * ph / pw]
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = (local @ rot.T + skew + [cx, cy]).astype(np.float32)
    x0, y0 = dst.min(axis=0)
    x1, y1 = dst.max(axis=0)
    if x0 < 0 or y0 < 0 or x1 >= sw or y1 >= sh:
        return None
    for ox0, oy0, ox1, oy1 in occupied:
        if x0 < ox1 and ox0 < x1 and y0 < oy1 and oy0 < y1:
            return None
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate, matrix, (sw, sh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), matrix, (sw, sh))
    shade = rng.uniform(0.55, 1.15)
    blend = (mask[..., None] / 255.0) * np.clip(warped * shade, 0, 255)
    scene[:] = (scene * (1 - mask[..., None] / 255.0) + blend).astype(np.uint8)
    occupied.append((x0, y0, x1, y1))
    return dst


DISTRACTOR_WORDS = (
    "TAXI", "SERVICE", "SELF STORAGE", "POLICE", "SALE", "RENT", "EXPRESS", "DELIVERY",
    "Plumbing", "Heating & Air", "AUTO", "Logistics", "www.example.com", "FRAGILE", "OPEN",
)  # fmt: skip


def distractor_text(rng: np.random.Generator) -> str:
    """Text a photograph holds that is not a plate: phone numbers, time stamps, fleet
    numbers, watermarks, words on vans and signs."""
    digits = lambda n: "".join(rng.choice(list("0123456789"), n))  # noqa: E731
    kind = int(rng.integers(5))
    if kind == 0:
        return (
            f"{digits(3)}-{digits(4)}"
            if rng.random() < 0.5
            else f"({digits(3)}) {digits(3)}-{digits(4)}"
        )
    if kind == 1:
        return f"20{digits(2)}-{digits(2)}-{digits(2)} {digits(2)}:{digits(2)}:{digits(2)}"
    if kind == 2:
        return str(rng.choice(DISTRACTOR_WORDS))
    if kind == 3:
        return digits(int(rng.integers(3, 7)))
    return "".join(rng.choice(list(GLYPHS), int(rng.integers(4, 8))))


def paste_text(
    scene: np.ndarray, rng: np.random.Generator, occupied: list
) -> tuple[int, int, int, int] | None:
    """Draw distractor text straight onto ``scene`` (in place), away from the plates: a
    negative example, text without a plate around it. Returns its box or None (no room)."""
    text = distractor_text(rng)
    font = int(
        rng.choice(
            [
                cv2.FONT_HERSHEY_SIMPLEX,
                cv2.FONT_HERSHEY_DUPLEX,
                cv2.FONT_HERSHEY_COMPLEX,
                cv2.FONT_HERSHEY_TRIPLEX,
                cv2.FONT_HERSHEY_PLAIN,
            ]
        )
    )
    height = rng.uniform(7, 36)
    scale = height / 22.0
    thickness = max(1, round(scale * rng.uniform(1.2, 2.8)))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    sh, sw = scene.shape[:2]
    if tw >= sw - 4 or th + base >= sh - 4:
        return None
    x = int(rng.integers(2, sw - tw - 1))
    y = int(rng.integers(th + 2, sh - base - 1))
    box = (x, y - th, x + tw, y + base)
    for ox0, oy0, ox1, oy1 in occupied:
        if box[0] < ox1 and ox0 < box[2] and box[1] < oy1 and oy0 < box[3]:
            return None
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    if rng.random() < 0.3:  # a dark outline or shadow, as on watermarks and lettering
        cv2.putText(scene, text, (x + 1, y + 1), font, scale, (0, 0, 0), thickness + 1, cv2.LINE_AA)
    cv2.putText(scene, text, (x, y), font, scale, colour, thickness, cv2.LINE_AA)
    return box


def _hide_cut_plates(canvas: np.ndarray, corners: list) -> list:
    """The plates at least 70 % inside ``canvas``; the others are blurred out (in place) so
    that they do not count as misses."""
    size_y, size_x = canvas.shape[:2]
    kept = []
    for c in corners:
        x0, y0 = c.min(axis=0)
        x1, y1 = c.max(axis=0)
        visible = max(0.0, min(x1, size_x) - max(x0, 0)) * max(0.0, min(y1, size_y) - max(y0, 0))
        if x1 > x0 and y1 > y0 and visible / ((x1 - x0) * (y1 - y0)) > 0.7:
            kept.append(c)
        elif visible > 0:
            xa, ya, xb, yb = (
                int(v) for v in (max(x0, 0), max(y0, 0), min(x1, size_x), min(y1, size_y))
            )
            if xb > xa and yb > ya:
                canvas[ya:yb, xa:xb] = cv2.blur(canvas[ya:yb, xa:xb], (15, 15))
    return kept


def random_crop(
    image: np.ndarray, corners: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` window of a training image, at the same scale (plates keep the
    size they have at run time), preferring windows with a plate in them."""
    h, w = image.shape[:2]
    if size >= min(h, w):
        return image, corners
    if len(corners) and rng.random() < 0.8:
        c = corners[int(rng.integers(len(corners)))]
        lo = np.maximum(c.max(axis=0) - size, 0)
        hi = np.minimum(c.min(axis=0), [w - size, h - size])
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        x, y = (int(rng.integers(int(a), int(b) + 1)) for a, b in zip(lo, hi, strict=True))
        x, y = min(max(x, 0), w - size), min(max(y, 0), h - size)
    else:
        x, y = int(rng.integers(0, w - size + 1)), int(rng.integers(0, h - size + 1))
    window = np.ascontiguousarray(image[y : y + size, x : x + size])
    moved = [c - np.array([x, y], np.float32) for c in corners]
    kept = _hide_cut_plates(window, moved)
    return window, np.array(kept, np.float32).reshape(-1, 4, 2)


@functools.lru_cache(maxsize=256)
def _decoded(path: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def swap_plate(image: np.ndarray, corners: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace the real plate at ``corners`` of ``image`` (in place) by a plate of a random
    supported format as :mod:`imaging.anpr.synth` draws it (or, ``US_CROP_SHARE`` of the
    time, a real US crop), about as large, in its own aspect ratio (a Russian plate with its
    region box, a 2:1 US plate), slightly turned, on the real plate's place on the vehicle; the
    real plate is blurred out first. Returns the new plate's corners."""
    from imaging.anpr.synth import composite_plate

    plate = _darkened(real_us_plate(rng) if _takes_us_crop(rng) else library_plate(rng), rng)
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    # the real plate's area: plates of every format are about as large (520 x 112 mm EU,
    # 305 x 152 mm US, 280 x 200 mm two-line)
    area = (x1 - x0) * (y1 - y0) * rng.uniform(0.8, 1.5)
    width = math.sqrt(area * plate.shape[1] / plate.shape[0])
    height = width * plate.shape[0] / plate.shape[1]
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2]) + rng.normal(0, 0.04, 2) * width
    angle = math.radians(rng.normal(0, 3))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    quad = (local @ rot.T + centre).astype(np.float32)
    lo = np.floor(np.minimum(quad.min(axis=0), [x0, y0]) - 4).clip(0).astype(int)
    hi = np.ceil(np.maximum(quad.max(axis=0), [x1, y1]) + 4).astype(int)
    hi = np.minimum(hi, [image.shape[1], image.shape[0]])
    if np.any(hi - lo < 8) or width < 8 or height < 4:
        return corners
    window = image[lo[1] : hi[1], lo[0] : hi[0]]
    ra, rb = np.floor([x0, y0] - lo).clip(0).astype(int), np.ceil([x1, y1] - lo).astype(int)
    window[ra[1] : rb[1], ra[0] : rb[0]] = cv2.blur(window[ra[1] : rb[1], ra[0] : rb[0]], (25, 25))
    small = cv2.resize(plate, (round(width), round(height)), interpolation=cv2.INTER_AREA)
    shaded = np.clip(small * rng.uniform(0.55, 1.15), 0, 255)
    window[:] = np.clip(composite_plate(window, shaded, quad - lo), 0, 255).astype(np.uint8)
    return quad


def make_sample(photos: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented 416x416 RGB training image and its plates' corners (K, 4, 2)."""
    item = photos[int(rng.integers(len(photos)))]
    image = _decoded(str(item["path"]))
    corners = [item["corners"].copy()]
    if rng.random() < SWAP_SHARE:
        image = image.copy()  # the decoded photo is cached
        corners = [swap_plate(image, corners[0], rng)]
    h, w = image.shape[:2]
    # random zoom and crop around the scene, then letterbox to SIZE
    zoom = (
        rng.uniform(0.5, 1.6)
        if ZOOM_MAX <= 1.6 or rng.random() < 0.7
        else rng.uniform(1.6, ZOOM_MAX)
    )
    scale = SIZE / max(h, w) * zoom
    resized = cv2.resize(
        image,
        (max(1, int(w * scale)), max(1, int(h * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    corners = [c * scale for c in corners]
    rh, rw = resized.shape[:2]
    canvas = np.full((SIZE, SIZE, 3), rng.integers(0, 256), np.uint8)
    ox = int(rng.integers(min(0, SIZE - rw), max(0, SIZE - rw) + 1))
    oy = int(rng.integers(min(0, SIZE - rh), max(0, SIZE - rh) + 1))
    sx0, sy0 = max(0, -ox), max(0, -oy)
    dx0, dy0 = max(0, ox), max(0, oy)
    cw, ch = min(rw - sx0, SIZE - dx0), min(rh - sy0, SIZE - dy0)
    canvas[dy0 : dy0 + ch, dx0 : dx0 + cw] = resized[sy0 : sy0 + ch, sx0 : sx0 + cw]
    corners = [c + np.array([ox, oy], np.float32) for c in corners]
    if rng.random() < TILT_SHARE:
        canvas, corners = tilt_scene(canvas, corners, rng)
    kept = _hide_cut_plates(canvas, corners)
    occupied = [tuple(np.r_[c.min(axis=0), c.max(axis=0)]) for c in kept]
    for _ in range(int(rng.choice([0, 1, 1, 2, 3]))):
        dst = paste_plate(canvas, rng, occupied)
        if dst is not None:
            kept.append(dst)
    if rng.random() < DISTRACTOR_SHARE:
        for _ in range(int(rng.integers(1, 4))):
            paste_text(canvas, rng, occupied)
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1].copy()  # mirrored scenes: a plate's outline stays a plate's
        kept = [
            np.stack(
                [
                    [SIZE - c[1, 0], c[1, 1]],
                    [SIZE - c[0, 0], c[0, 1]],
                    [SIZE - c[3, 0], c[3, 1]],
                    [SIZE - c[2, 0], c[2, 1]],
                ]
            )
            for c in kept
        ]
    # photometric jitter
    canvas = canvas.astype(np.float32)
    canvas = canvas * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 1.5))
    canvas += rng.normal(0, rng.uniform(0, 8), canvas.shape)
    if rng.random() < 0.15:
        canvas = np.repeat(canvas.mean(axis=2, keepdims=True), 3, axis=2)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    return canvas, np.array(kept, np.float32).reshape(-1, 4, 2)


def tilt_scene(
    canvas: np.ndarray, corners: list, rng: np.random.Generator
) -> tuple[np.ndarray, list]:
    """The scene turned and seen at an angle (a random homography: rotation up to about 25
    degrees, corners moved by up to 12 % of the side), as photos taken beside a car or from a
    hand-held phone show plates; the plates' corners moved with it."""
    size = canvas.shape[0]
    angle = math.radians(float(np.clip(rng.normal(0, 10), -25, 25)))
    square = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float32)
    centre = square - size / 2
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = centre @ rot.T + rng.uniform(-0.12, 0.12, size=(4, 2)) * size + size / 2
    matrix = cv2.getPerspectiveTransform(square, moved.astype(np.float32))
    border = tuple(int(v) for v in rng.integers(0, 256, 3))
    warped = cv2.warpPerspective(
        canvas, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=border
    )
    moved_corners = [
        cv2.perspectiveTransform(c.reshape(1, 4, 2).astype(np.float32), matrix).reshape(4, 2)
        for c in corners
    ]
    return warped, moved_corners


def targets(corners: np.ndarray, grid: int = GRID, spread: int = 0) -> dict[str, np.ndarray]:
    """Heat map (gaussian per plate centre), size, offset and corner targets on the grid.

    ``spread``: the box targets are also set on the cells up to this many steps from the
    centre (offsets relative to each cell), so a peak one cell off still gives a good box."""
    heat = np.zeros((grid, grid), np.float32)
    reg = np.zeros((12, grid, grid), np.float32)
    mask = np.zeros((grid, grid), np.float32)
    for c in corners:
        x0, y0 = c.min(axis=0)
        x1, y1 = c.max(axis=0)
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < grid and 0 <= iy < grid):
            continue
        sigma_x = max(0.7, w / STRIDE / 6)
        sigma_y = max(0.7, h / STRIDE / 6)
        xs = np.arange(grid)[None, :]
        ys = np.arange(grid)[:, None]
        g = np.exp(-((xs - ix) ** 2) / (2 * sigma_x**2) - ((ys - iy) ** 2) / (2 * sigma_y**2))
        heat = np.maximum(heat, g.astype(np.float32))
        rel = (c - [(x0 + x1) / 2, (y0 + y1) / 2]) / [max(w, 1.0), max(h, 1.0)]
        for jy in range(max(0, iy - spread), min(grid, iy + spread + 1)):
            for jx in range(max(0, ix - spread), min(grid, ix + spread + 1)):
                weight = 1.0 if (jx, jy) == (ix, iy) else 0.5
                if mask[jy, jx] > weight:
                    continue  # a closer plate's centre cell keeps its targets
                reg[0, jy, jx] = cx - jx
                reg[1, jy, jx] = cy - jy
                reg[2, jy, jx] = math.log(max(w, 1.0) / STRIDE)
                reg[3, jy, jx] = math.log(max(h, 1.0) / STRIDE)
                reg[4:, jy, jx] = rel.reshape(-1)
                mask[jy, jx] = weight
    return {"heat": heat, "reg": reg, "mask": mask}


# --- model ----------------------------------------------------------------------------------


def block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class PlateNet(nn.Module):
    """Small encoder-decoder with a stride-4 output of ``outputs`` channels, the first
    ``heat_channels`` of them heat maps (one per class). Also the X-ray threat detector's net."""

    WIDTHS: ClassVar[dict[str, tuple[int, ...]]] = {
        "small": (24, 32, 64, 96, 128, 48),  # the X-ray threat detector's
        "wide": (32, 48, 96, 144, 192, 64),  # the plate detector's since session 3
    }

    def __init__(self, outputs: int = 13, heat_channels: int = 1, arch: str = "small") -> None:
        super().__init__()
        c0, c4, c8, c16, c32, ch = self.WIDTHS[arch]
        self.stem = nn.Sequential(
            nn.Conv2d(3, c0, 3, 2, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True)
        )
        self.s4 = nn.Sequential(block(c0, c4, 2), block(c4, c4, 1))
        self.s8 = nn.Sequential(block(c4, c8, 2), block(c8, c8, 1))
        self.s16 = nn.Sequential(block(c8, c16, 2), block(c16, c16, 1))
        self.s32 = nn.Sequential(block(c16, c32, 2), block(c32, c32, 1))
        self.l16 = nn.Conv2d(c32, c16, 1)
        self.l8 = nn.Conv2d(c16, c8, 1)
        self.l4 = nn.Conv2d(c8, c4, 1)
        self.head = nn.Sequential(block(c4, ch, 1), nn.Conv2d(ch, outputs, 1))
        nn.init.constant_(self.head[-1].bias[:heat_channels], -4.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        f4 = self.s4(x)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        u16 = f16 + self.l16(F.interpolate(f32, size=f16.shape[-2:], mode="nearest"))
        u8 = f8 + self.l8(F.interpolate(u16, size=f8.shape[-2:], mode="nearest"))
        u4 = f4 + self.l4(F.interpolate(u8, size=f4.shape[-2:], mode="nearest"))
        return self.head(u4)


class Exported(nn.Module):
    """The network plus the decoding to input pixels, as exported to ONNX."""

    def __init__(self, net: PlateNet) -> None:
        super().__init__()
        self.net = net
        ys, xs = torch.meshgrid(torch.arange(GRID), torch.arange(GRID), indexing="ij")
        self.register_buffer("gx", xs.reshape(1, -1).float())
        self.register_buffer("gy", ys.reshape(1, -1).float())

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(images).flatten(2)  # (1, 13, N)
        heat = torch.sigmoid(out[:, 0])
        # keep only local maxima of the heat map so that one plate gives one peak
        grid = heat.reshape(1, 1, GRID, GRID)
        peak = F.max_pool2d(grid, 3, 1, 1).reshape(1, -1)
        score = heat * (heat >= peak).float()
        cx = (self.gx + out[:, 1]) * STRIDE
        cy = (self.gy + out[:, 2]) * STRIDE
        w = torch.exp(out[:, 3].clamp(-3, 6)) * STRIDE
        h = torch.exp(out[:, 4].clamp(-3, 6)) * STRIDE
        boxes = torch.stack([cx, cy, w, h, score], dim=1)
        rel = out[:, 5:13].reshape(1, 4, 2, -1)
        corner_x = cx[:, None] + rel[:, :, 0] * w[:, None]
        corner_y = cy[:, None] + rel[:, :, 1] * h[:, None]
        corners = torch.stack([corner_x, corner_y], dim=2).reshape(1, 8, -1)
        return boxes, corners


def load_folded_convs(net: nn.Module, onnx_path: Path) -> tuple[dict[str, np.ndarray], list]:
    """Copy the convolutions of an exported model into ``net``, in graph order; returns all
    its weights by name and its graph's nodes (for the layers that are not convolutions).

    The export folded each batch norm into the convolution before it: that convolution takes
    the folded weights, and its batch norm the folded bias with identity statistics (keep
    such norms in eval mode while fine-tuning: :func:`freeze_batch_norms`)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    graph_nodes = list(model.graph.node)
    nodes = [n for n in graph_nodes if n.op_type == "Conv"]
    modules = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d | None]] = []
    for k, module in enumerate(modules):
        if isinstance(module, nn.Conv2d):
            after = modules[k + 1] if k + 1 < len(modules) else None
            pairs.append((module, after if isinstance(after, nn.BatchNorm2d) else None))
    if len(nodes) != len(pairs):
        raise SystemExit(f"{onnx_path}: {len(nodes)} convolutions, the network has {len(pairs)}")
    with torch.no_grad():
        for (conv, norm), node in zip(pairs, nodes, strict=True):
            kernel = torch.from_numpy(weights[node.input[1]].copy())
            if kernel.shape != conv.weight.shape:
                raise SystemExit(f"{onnx_path}: {node.name} is {tuple(kernel.shape)}, not "
                                 f"{tuple(conv.weight.shape)}")  # fmt: skip
            conv.weight.copy_(kernel)
            bias = torch.from_numpy(weights[node.input[2]].copy())
            if norm is None:
                conv.bias.copy_(bias)
            else:
                norm.weight.fill_(1.0)
                norm.bias.copy_(bias)
                norm.running_mean.zero_()
                norm.running_var.fill_(1.0 - norm.eps)
    return weights, graph_nodes


def freeze_batch_norms(net: nn.Module) -> None:
    """Batch norms in eval mode (fixed statistics), as a model loaded from ONNX needs."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()


def focal(pred_logit: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    pred = torch.sigmoid(pred_logit).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - heat) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


# --- training, evaluation, export -------------------------------------------------------------


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


def train(
    minutes: float,
    batch: int = 12,
    arch: str = "wide",
    crop: int = 320,
    spread: int = 1,
    init: Path | None = None,
    init_onnx: Path | None = None,
    lr: float = 2e-3,
) -> PlateNet:
    """Train for ``minutes`` of wall time on ``crop`` x ``crop`` windows of the 416-pixel
    training scenes (the network is fully convolutional: it is exported at 416)."""
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    photos, _ = split(load_photos())
    net = PlateNet(arch=arch)
    if init is not None:
        net.load_state_dict(torch.load(init))
    if init_onnx is not None:
        load_folded_convs(net, init_onnx)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.train()
    if init_onnx is not None:
        freeze_batch_norms(net)
    deadline = time.monotonic() + minutes * 60
    step = 0
    start = time.monotonic()
    batches: queue.Queue = queue.Queue(maxsize=4)

    def produce() -> None:  # cv2 releases the GIL: samples are made while the net trains
        while True:
            made = []
            while len(made) < batch:
                try:
                    made.append(random_crop(*make_sample(photos, rng), crop, rng))
                except cv2.error as exc:  # a degenerate augmentation: draw another
                    print(f"skipped a sample: {exc}", flush=True)
            grid = made[0][0].shape[0] // STRIDE
            batches.put(([m[0] for m in made], [targets(m[1], grid, spread) for m in made]))

    threading.Thread(target=produce, daemon=True).start()
    while time.monotonic() < deadline:
        images, targs = batches.get(timeout=120)
        x = to_tensor(images)
        heat = torch.from_numpy(np.stack([t["heat"] for t in targs]))
        reg = torch.from_numpy(np.stack([t["reg"] for t in targs]))
        mask = torch.from_numpy(np.stack([t["mask"] for t in targs]))[:, None]
        progress = (time.monotonic() - start) / (minutes * 60)
        for group in opt.param_groups:
            group["lr"] = lr * (0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
        out = net(x)
        loss_heat = focal(out[:, 0], heat)
        n = mask.sum().clamp(min=1)
        loss_off = (F.l1_loss(out[:, 1:3], reg[:, 0:2], reduction="none") * mask).sum() / n
        loss_size = (F.l1_loss(out[:, 3:5], reg[:, 2:4], reduction="none") * mask).sum() / n
        loss_corner = (F.l1_loss(out[:, 5:13], reg[:, 4:12], reduction="none") * mask).sum() / n
        loss = loss_heat + loss_off + loss_size + 2.0 * loss_corner
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print(
                f"step {step} {time.monotonic() - start:6.0f}s loss {loss.item():.3f} "
                f"(heat {loss_heat.item():.3f} size {loss_size.item():.3f} "
                f"corner {loss_corner.item():.3f})",
                flush=True,
            )
    return net


def export_onnx(
    model: nn.Module, path: Path, outputs: list[str], metadata: dict, size: int = SIZE
) -> None:
    """Export a 1x3x``size``x``size`` detector graph and write ``metadata`` (``names``, ``imgsz``,
    ``producer``...) into it, as Ultralytics exports do (the X-ray trainer uses it too)."""
    torch.onnx.export(
        model.eval(),
        torch.zeros(1, 3, size, size),
        str(path),
        input_names=["images"],
        output_names=outputs,
        opset_version=17,
        dynamo=False,
    )
    import onnx

    graph = onnx.load(str(path))
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))


def export(net: PlateNet, path: Path) -> None:
    net.eval()
    export_onnx(
        Exported(net),
        path,
        ["boxes", "corners"],
        {
            "names": "{0: 'plate'}",
            "imgsz": f"[{SIZE}, {SIZE}]",
            "producer": "imaging models/anpr/train_detector.py",
        },
    )


def evaluate(onnx_path: Path) -> dict:
    """Recall, precision and IoU on the held-back photographs, with the library's detector."""
    import sys

    sys.path.insert(0, str(HERE.parents[1]))
    from imaging.anpr.detect import detect_plates
    from imaging.compare.metrics import box_iou

    _, held = split(load_photos())
    tp = fp = fn = 0
    ious, corner_err, times = [], [], []
    for item in held:
        image = cv2.cvtColor(cv2.imread(str(item["path"])), cv2.COLOR_BGR2RGB)
        start = time.perf_counter()
        dets = detect_plates(image, model=str(onnx_path))
        times.append(time.perf_counter() - start)
        c = item["corners"]
        truth = np.r_[c.min(axis=0), c.max(axis=0)][None]
        iou = box_iou(dets.xyxy, truth)[:, 0] if len(dets) else np.zeros(0)
        hit = iou >= 0.5
        tp += int(hit.any())
        fn += int(not hit.any())
        fp += int(len(dets) - hit.any())
        if hit.any():
            ious.append(float(iou.max()))
    return {
        "held_out_photos": len(held),
        "recall_iou50": tp / max(tp + fn, 1),
        "precision_iou50": tp / max(tp + fp, 1),
        "mean_iou_of_hits": float(np.mean(ious)) if ious else 0.0,
        "median_ms_per_photo": 1000 * float(np.median(times)),
        "held_out": [str(i["path"].relative_to(DATA)) for i in held],
        "corner_error": corner_err,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--arch", choices=sorted(PlateNet.WIDTHS), default="wide")
    parser.add_argument("--crop", type=int, default=320, help="training window (pixels)")
    parser.add_argument("--init", type=Path, help="start from these PyTorch weights")
    parser.add_argument(
        "--init-onnx", type=Path, help="start from an exported model (e.g. the shipped one)"
    )
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--checkpoint", type=Path, help="save the PyTorch weights here")
    parser.add_argument(
        "--library-plates",
        type=float,
        default=0.0,
        help="share of pasted plates drawn by imaging.anpr.synth (every format's layout)",
    )
    parser.add_argument(
        "--distractors",
        type=float,
        default=0.0,
        help="share of scenes given text that is not a plate (phone numbers, stamps, words)",
    )
    parser.add_argument(
        "--tilt",
        type=float,
        default=0.0,
        help="share of scenes (and of pasted plates) turned and seen at a strong angle",
    )
    parser.add_argument(
        "--swap-plates",
        type=float,
        default=0.0,
        help="share of scenes whose real plate is replaced by a plate of a random format",
    )
    parser.add_argument(
        "--us-crops",
        type=float,
        default=0.0,
        help="share of pasted and swapped plates that are real US crops (the OCR's training part)",
    )
    parser.add_argument(
        "--zoom-max",
        type=float,
        default=1.6,
        help="largest zoom of a training scene; above 1.6, 30 %% of the scenes are zoomed"
        " 1.6 to it (close-ups: plates filling much of the frame)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for the ONNX, its sidecar and metrics"
    )
    args = parser.parse_args()
    global LIBRARY_PLATE_SHARE, DISTRACTOR_SHARE, TILT_SHARE, SWAP_SHARE, US_CROP_SHARE, ZOOM_MAX
    ZOOM_MAX = args.zoom_max
    LIBRARY_PLATE_SHARE, DISTRACTOR_SHARE = args.library_plates, args.distractors
    TILT_SHARE, SWAP_SHARE, US_CROP_SHARE = args.tilt, args.swap_plates, args.us_crops
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "plate_detector.onnx"
    if not args.evaluate_only:
        net = train(
            args.minutes,
            arch=args.arch,
            crop=args.crop,
            init=args.init,
            init_onnx=args.init_onnx,
            lr=args.lr,
        )
        if args.checkpoint:
            torch.save(net.state_dict(), args.checkpoint)
        export(net, onnx_path)
        digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        sidecar = {
            "name": "anpr-detector",
            "file": onnx_path.name,
            "sha256": digest,
            "task": "detect",
            "input_size": [SIZE, SIZE],
            "input_layout": "NCHW",
            "color": "rgb",
            "normalize": {"scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
            "labels": ["plate"],
            "output_layout": "yolov8+corners",
            "card": "plate_detector.md",
            "description": "number-plate detector with corners, 416x416, CenterNet-style",
        }
        (args.out / "plate_detector.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    metrics = evaluate(onnx_path)
    metrics.pop("corner_error")
    print(json.dumps(metrics, indent=2))
    (args.out / "plate_detector_eval.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
