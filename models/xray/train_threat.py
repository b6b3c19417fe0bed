"""Train the X-ray threat detector (knife, gun, blade) and export it to ONNX (PyTorch, CPU,
training only).

Data: dual-energy bags from ``imaging.xray.simulate`` with planted threats and clutter,
rendered the two ways operators see them (material colours, or the grey console image), so the
detector works on both pseudo-coloured and grey exports; plus real threats by threat image
projection (TIP). The 9 real images with gun/knife masks in ``../shared/data/xray`` are split
once, by a fixed rule (``real_split``: sorted by file name, 0-based index % 2 == 0 is a
``source``, the others are ``eval``):

- source (B0008_0044, N0293168, N0293200, P02006, P02877; 5 guns and 2 knives as
  ``real_truth`` counts them, 4 guns and 2 knives once a gun's split-off hammer is joined to
  its gun, as training does): each gun or knife is cut out with its soft mask and its own
  transmission (the image divided by an inpainted, blurred estimate of the bag behind it),
  and with probability ``--real-share`` a training sample gets 1-2 of them projected in
  (transmissions multiply per channel), rotated, scaled, flipped and thickened at random, grey
  in grey renders; 30 % of those samples use a source image itself, letterboxed like a sim
  bag, as the background, with its own boxes;
- eval (B0044_0050, N0293171, P00117, P02104; 4 guns, 3 knives): never read by training.

``evaluate`` reports the real images for the eval half (the honest figure), the source half
(marked as trained on) and all 9; the simulated evaluations are unchanged.

The network is the CenterNet-style encoder-decoder of ``models/anpr/train_detector.py`` with
one heat-map channel per class; the exported graph decodes to the YOLOv8 layout
(1, 4 + C, N), so the library's generic ``OnnxDetector`` runs it like any user model.

    python models/xray/train_threat.py --minutes 25   # renders 12,000 bags first (~8 min)
    python models/xray/train_threat.py --minutes 28 --out /tmp/threat --checkpoint /tmp/net.pt
    python models/xray/train_threat.py --evaluate-only --out models/xray
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "models" / "anpr"))

from train_detector import PlateNet, export_onnx, focal  # noqa: E402

from imaging.xray import materials as mat  # noqa: E402
from imaging.xray.calibrate import attenuation  # noqa: E402
from imaging.xray.enhance import grey  # noqa: E402
from imaging.xray.simulate import simulate_scan  # noqa: E402

CLASSES = ("knife", "gun", "blade")
SIZE = 416
STRIDE = 4
GRID = SIZE // STRIDE
CROP = 256  # training crops: the network is fully convolutional, export runs at SIZE
SEED = 20261127
DATA = ROOT.parent / "shared" / "data" / "xray"
REAL = DATA / "styxofsyntax-sixray-gdxray-masks"
REAL_SPLIT_RULE = "img/*.png sorted by file name; 0-based index % 2 == 0 -> source, else eval"
REAL_SHARE = 0.35  # default share of training samples that get 1-2 real cut-outs projected
REAL_BACKGROUND_SHARE = 0.3  # of those, the share drawn on a real source bag, not a sim one
TIP_MAX_SIDE = 232  # longest side (px) of a projected object on the SIZE canvas: fits a CROP
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def render(scan, rng: np.random.Generator) -> np.ndarray:
    """The scan as an operator would see it: material colours or the grey console image,
    with the display gain, blur and compression varying as they do between scanners."""
    a_high = attenuation(scan.high, dark=scan.dark, air=scan.air[1])
    if rng.random() < 0.6:
        a_low = attenuation(scan.low, dark=scan.dark, air=scan.air[0])
        gain = float(rng.uniform(1.0, 3.0))  # consoles show the same bag lighter or darker
        image = mat.colorize(a_high * gain, mat.classify(a_low, a_high))
    else:
        top = float(np.percentile(a_high, 99.5)) * rng.uniform(0.5, 1.2)
        g = grey(a_high, hi=max(top, 0.3), gamma=float(rng.uniform(0.5, 1.4)))
        image = np.repeat((g * 255).astype(np.uint8)[..., None], 3, axis=2)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 1.2)))
    if rng.random() < 0.4:
        _, code = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
        image = cv2.imdecode(code, cv2.IMREAD_UNCHANGED)
    return image


def make_sample(seed: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h = int(rng.integers(200, 320))
    w = int(h * rng.uniform(1.2, 1.8))
    threats = tuple(
        rng.choice(list(CLASSES) + ["dense_block", "organic_slab"], int(rng.integers(0, 4)))
    )
    scan = simulate_scan(
        seed,
        shape=(h, w),
        threats=threats,
        clutter=int(rng.integers(4, 18)),
        photons=float(rng.uniform(8000, 40000)),
    )
    image = render(scan, rng)
    scale = SIZE / max(h, w)
    image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full((SIZE, SIZE, 3), 255, np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    keep = [i for i, label in enumerate(scan.labels) if label in CLASSES]
    boxes = scan.boxes[keep] * scale
    labels = np.array([CLASSES.index(scan.labels[i]) for i in keep], np.int64)
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1].copy()
        boxes = boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [SIZE, 0, SIZE, 0]
    return canvas, boxes.astype(np.float32), labels


def targets(boxes: np.ndarray, labels: np.ndarray, grid: int = GRID) -> dict[str, np.ndarray]:
    heat = np.zeros((len(CLASSES), grid, grid), np.float32)
    reg = np.zeros((4, grid, grid), np.float32)
    mask = np.zeros((grid, grid), np.float32)
    xs = np.arange(grid)[None, :]
    ys = np.arange(grid)[:, None]
    for (x0, y0, x1, y1), c in zip(boxes, labels, strict=True):
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < grid and 0 <= iy < grid):
            continue
        sx, sy = max(0.8, w / STRIDE / 6), max(0.8, h / STRIDE / 6)
        g = np.exp(-((xs - ix) ** 2) / (2 * sx**2) - ((ys - iy) ** 2) / (2 * sy**2))
        heat[c] = np.maximum(heat[c], g)
        reg[:, iy, ix] = (cx - ix, cy - iy, math.log(w / STRIDE), math.log(h / STRIDE))
        mask[iy, ix] = 1.0
    return {"heat": heat, "reg": reg, "mask": mask}


def threat_net() -> PlateNet:
    """The plate detector's encoder-decoder with one heat map per threat class."""
    return PlateNet(outputs=len(CLASSES) + 4, heat_channels=len(CLASSES))


class Exported(nn.Module):
    """Decodes to the YOLOv8 layout (1, 4 + C, N): cx, cy, w, h, class scores (local peaks)."""

    def __init__(self, net: PlateNet) -> None:
        super().__init__()
        self.net = net
        ys, xs = torch.meshgrid(torch.arange(GRID), torch.arange(GRID), indexing="ij")
        self.register_buffer("gx", xs.reshape(1, -1).float())
        self.register_buffer("gy", ys.reshape(1, -1).float())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.net(images)
        c = len(CLASSES)
        heat = torch.sigmoid(out[:, :c])
        peaks = heat * (heat >= F.max_pool2d(heat, 3, 1, 1)).float()
        flat = out.flatten(2)
        cx = (self.gx + flat[:, c]) * STRIDE
        cy = (self.gy + flat[:, c + 1]) * STRIDE
        w = torch.exp(flat[:, c + 2].clamp(-3, 6)) * STRIDE
        h = torch.exp(flat[:, c + 3].clamp(-3, 6)) * STRIDE
        return torch.cat([torch.stack([cx, cy, w, h], dim=1), peaks.flatten(2)], dim=1)


def render_dataset(folder: Path, count: int) -> None:
    """Render ``count`` training bags once (the simulator, not the network, limited the speed
    of training on live renders): images.npy (N, SIZE, SIZE, 3) uint8 and boxes.json."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.lib.format.open_memmap(
        folder / "images.npy.part", mode="w+", dtype=np.uint8, shape=(count, SIZE, SIZE, 3)
    )
    boxes = []
    start = time.monotonic()
    for k in range(count):
        seed = SEED * 1000 + k
        image, b, labels = make_sample(seed, np.random.default_rng(seed))
        images[k] = image
        boxes.append([b.tolist(), labels.tolist()])
        if (k + 1) % 250 == 0:
            print(f"rendered {k + 1}/{count} in {time.monotonic() - start:.0f}s", flush=True)
    images.flush()
    del images
    (folder / "boxes.json").write_text(json.dumps(boxes))
    (folder / "images.npy.part").rename(folder / "images.npy")


# --- real threats: the fixed split of the masked images and threat image projection (TIP) ---


def real_split(folder: Path = REAL) -> dict[str, list[Path]]:
    """The fixed split of the 9 masked real images (``REAL_SPLIT_RULE``).

    ``source``: their guns and knives are cut out and projected into training bags, and the
    images themselves (with their boxes) are training backgrounds. ``eval``: never read by
    training; ``evaluate`` reports them apart. Both halves hold guns and knives.
    """
    paths = sorted((folder / "img").glob("*.png"))
    return {"source": paths[0::2], "eval": paths[1::2]}


def read_real(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A masked real image as RGB uint8, resized to its class-index mask's size if it differs
    (as the README says the masks were made), and the mask (uint8, 1 gun, 2 knife)."""
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(path.parent.parent / "annotations" / path.name), cv2.IMREAD_UNCHANGED)
    if mask.shape != image.shape[:2]:
        image = cv2.resize(image, mask.shape[::-1])
    return image, mask


def _disk(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _is_grey(image: np.ndarray) -> bool:
    """Whether an RGB display image is a grey render: where it is not air, the channels are
    equal up to compression (the colour renders and SIXray images differ by 8-70 on average
    there, even the pale ones)."""
    view = image[::4, ::4]
    r, g, b = view[..., 0], view[..., 1], view[..., 2]
    low = np.minimum(np.minimum(r, g), b)
    chroma = (np.maximum(np.maximum(r, g), b) - low)[low < 235]
    return chroma.size == 0 or float(chroma.mean()) < 3.0


def _objects(mask: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The guns and knives of a class-index mask as (class index, hard mask) pairs.

    Unlike ``real_truth``, parts of one class closer than ~4 px are one object (the masks
    split some guns, e.g. a hammer drawn apart from its pistol); an object needs
    >= 100 annotated pixels, as there.
    """
    found = []
    for value, label in ((1, "gun"), (2, "knife")):
        solid = (mask == value).astype(np.uint8)
        count, groups = cv2.connectedComponents(cv2.dilate(solid, _disk(9)))
        for i in range(1, count):
            part = solid * (groups == i)
            if part.sum() >= 100:
                found.append((CLASSES.index(label), part))
    return found


def _box(solid: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(solid)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


@dataclass
class Cutout:
    """One real gun or knife, ready to project: its own transmission without the bag."""

    ratio: np.ndarray  # (h, w, 3) float32 in [0, 1]: object / local background, 1 = no object
    alpha: np.ndarray  # (h, w) float32 in [0, 1]: soft, slightly dilated mask
    solid: np.ndarray  # (h, w) float32 {0, 1}: the annotated pixels, for the box
    label: int  # index into CLASSES
    grey: bool  # cut from a grey render
    scale: float  # SIZE / the source image's longer side: its size on the sim's canvas
    source: str


def cut_outs(image: np.ndarray, mask: np.ndarray, *, source: str = "") -> list[Cutout]:
    """The gun and knife cut-outs of one masked real image (RGB uint8, class-index mask).

    The bag behind an object is estimated by inpainting every threat pixel (dilated) from
    its surroundings and blurring; the object's transmission is the image divided by that,
    so a cut-out carries the object's own attenuation, not the bag's.
    """
    threat = cv2.dilate((mask > 0).astype(np.uint8), _disk(15))
    behind = cv2.inpaint(image, threat, 5, cv2.INPAINT_TELEA)
    behind = cv2.GaussianBlur(behind, (0, 0), 6).astype(np.float32)
    ratio = np.clip(image.astype(np.float32) / np.maximum(behind, 1.0), 0.0, 1.0)
    grey = _is_grey(image)
    height, width = mask.shape
    made = []
    for label, solid in _objects(mask):
        x0, y0, x1, y1 = _box(solid)
        pad = 10
        x0, y0, x1, y1 = (
            max(x0 - pad, 0),
            max(y0 - pad, 0),
            min(x1 + pad, width),
            min(y1 + pad, height),
        )
        hard = solid[y0:y1, x0:x1].astype(np.float32)
        alpha = cv2.GaussianBlur(cv2.dilate(hard, _disk(5)), (0, 0), 1.2)
        made.append(
            Cutout(
                ratio=np.ascontiguousarray(ratio[y0:y1, x0:x1]),
                alpha=np.clip(alpha, 0.0, 1.0),
                solid=hard,
                label=label,
                grey=grey,
                scale=SIZE / max(height, width),
                source=source,
            )
        )
    return made


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(small, 1.0)


def project(
    canvas: np.ndarray, cut: Cutout, rng: np.random.Generator, *, avoid=()
) -> list[float] | None:
    """Project ``cut`` into ``canvas`` (SIZE x SIZE RGB uint8 display image, white = air) in
    place, at a random rotation, scale (0.6-1.4 of its size on the sim's canvas), flip and
    thickness (gamma); returns its box (x0, y0, x1, y1), or None if nothing was placed.

    Per channel, out = canvas * (1 - alpha + alpha * ratio): transmissions multiply. A colour
    cut-out goes into a grey canvas as grey (luminance); grey cut-outs are only chosen for grey
    canvases (see ``RealThreats``). The place is a non-air spot, away from the boxes in
    ``avoid`` (at most 30 % of the smaller box overlapping).
    """
    ratio, alpha, solid = cut.ratio, cut.alpha, cut.solid
    if _is_grey(canvas) and not cut.grey:
        ratio = np.repeat((ratio @ LUMA)[..., None], 3, axis=2)
    x0, y0, x1, y1 = _box(solid)
    scale = cut.scale * rng.uniform(0.6, 1.4)
    # close-ups (GDXray) would come out larger than a CROP: cap at 0.6-1 of TIP_MAX_SIDE
    scale = min(scale, rng.uniform(0.6, 1.0) * TIP_MAX_SIDE / max(x1 - x0, y1 - y0))
    h, w = solid.shape
    w, h = max(round(w * scale), 2), max(round(h * scale), 2)
    shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    ratio, alpha, solid = (
        cv2.resize(v, (w, h), interpolation=shrink) for v in (ratio, alpha, solid)
    )
    if rng.random() < 0.5:
        ratio, alpha, solid = ratio[:, ::-1], alpha[:, ::-1], solid[:, ::-1]
    # thickness and brightness
    ratio = np.clip(ratio ** rng.uniform(0.7, 1.5) * rng.uniform(0.92, 1.08), 0.0, 1.0)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(0, 360)), 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    nw, nh = int(h * sin + w * cos) + 2, int(h * cos + w * sin) + 2
    turn[0, 2] += nw / 2 - w / 2
    turn[1, 2] += nh / 2 - h / 2
    size = (nw, nh)
    ratio = cv2.warpAffine(
        np.ascontiguousarray(ratio), turn, size, flags=cv2.INTER_LINEAR, borderValue=(1, 1, 1)
    )
    alpha = cv2.warpAffine(np.ascontiguousarray(alpha), turn, size, flags=cv2.INTER_LINEAR)
    solid = cv2.warpAffine(np.ascontiguousarray(solid), turn, size, flags=cv2.INTER_LINEAR) > 0.5
    if not solid.any():
        return None
    bx0, by0, bx1, by1 = _box(solid)
    if bx1 - bx0 > SIZE or by1 - by0 > SIZE:
        return None
    view = canvas[::4, ::4]
    darkest = np.minimum(np.minimum(view[..., 0], view[..., 1]), view[..., 2])
    ys, xs = np.nonzero(darkest < 248)  # the bag's extent (air is white), 1/4 scale
    if len(xs) > 16:
        lo, hi = np.array([xs.min(), ys.min()]) * 4, np.array([xs.max(), ys.max()]) * 4 + 4
        lo, hi = lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)
    else:
        lo, hi = np.zeros(2), np.full(2, float(SIZE))
    spot = None
    for _ in range(16):
        cx, cy = rng.uniform(lo, hi)
        px = int(np.clip(cx - (bx0 + bx1) / 2, -bx0, SIZE - bx1))
        py = int(np.clip(cy - (by0 + by1) / 2, -by0, SIZE - by1))
        box = [px + bx0, py + by0, px + bx1, py + by1]
        if any(_overlap(box, other) > 0.3 for other in avoid):
            continue
        spot = px, py, box
        cx, cy = (box[0] + box[2]) // 8, (box[1] + box[3]) // 8
        if darkest[max(cy - 2, 0) : cy + 3, max(cx - 2, 0) : cx + 3].mean() < 248:
            break  # the object's centre lies on the bag, not in the air around it
    if spot is None:
        return None
    px, py, box = spot
    # the patch's part inside the canvas
    ax0, ay0 = max(px, 0), max(py, 0)
    ax1, ay1 = min(px + nw, SIZE), min(py + nh, SIZE)
    a = alpha[ay0 - py : ay1 - py, ax0 - px : ax1 - px, None]
    r = ratio[ay0 - py : ay1 - py, ax0 - px : ax1 - px]
    region = canvas[ay0:ay1, ax0:ax1].astype(np.float32)
    canvas[ay0:ay1, ax0:ax1] = np.clip(region * (1 - a + a * r) + 0.5, 0, 255).astype(np.uint8)
    return [float(v) for v in box]


class RealThreats:
    """Threat image projection of the real gun and knife cut-outs of the source images.

    ``compose`` takes a pre-rendered sim bag and its boxes and returns it (or, with
    probability ``REAL_BACKGROUND_SHARE``, a source real bag letterboxed to SIZE like
    ``make_sample``) with 1-2 real cut-outs projected in and their boxes appended.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.cutouts: list[Cutout] = []
        self.backgrounds: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for path in paths:
            image, mask = read_real(path)
            self.cutouts += cut_outs(image, mask, source=path.name)
            objects = _objects(mask)
            if not objects:  # a negative: keep its own aspect ratio
                image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            scale = SIZE / max(image.shape[:2])
            small = cv2.resize(
                image,
                (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                interpolation=cv2.INTER_AREA,
            )
            canvas = np.full((SIZE, SIZE, 3), 255, np.uint8)
            canvas[: small.shape[0], : small.shape[1]] = small
            boxes = np.array([_box(s) for _, s in objects], np.float32).reshape(-1, 4) * scale
            labels = np.array([c for c, _ in objects], np.int64)
            self.backgrounds.append((canvas, boxes, labels))
        if not self.cutouts:
            raise ValueError(f"no gun or knife cut-outs in {[p.name for p in paths]}")

    def compose(
        self, image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(image, boxes, labels, number of projected objects, appended last)."""
        if rng.random() < REAL_BACKGROUND_SHARE:
            image, boxes, labels = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
            image = image.copy()
            if rng.random() < 0.5:
                image = image[:, ::-1].copy()
                boxes = boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [SIZE, 0, SIZE, 0]
            gamma = rng.uniform(0.75, 1.35)
            image = cv2.LUT(image, (255 * (np.arange(256) / 255) ** gamma + 0.5).astype(np.uint8))
        else:
            image = image.copy()
        grey = _is_grey(image)
        pool = [c for c in self.cutouts if grey or not c.grey]
        boxes, labels = list(np.asarray(boxes, np.float32).reshape(-1, 4)), list(labels)
        added = 0
        for _ in range(int(rng.integers(1, 3)) if pool else 0):
            cut = pool[int(rng.integers(len(pool)))]
            box = project(image, cut, rng, avoid=boxes)
            if box is not None:
                boxes.append(np.array(box, np.float32))
                labels.append(cut.label)
                added += 1
        if added and rng.random() < 0.3:  # sim renders are often soft; keep the object so too
            image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 1.0)))
        return (
            image,
            np.array(boxes, np.float32).reshape(-1, 4),
            np.array(labels, np.int64),
            added,
        )


def _batches(
    folder: Path,
    batch: int,
    rng: np.random.Generator,
    *,
    real: RealThreats | None = None,
    real_share: float = 0.0,
):
    """Endless lists of ``batch`` (CROP x CROP image, boxes, labels) training windows; with
    probability ``real_share`` a sample first gets real cut-outs projected (``real``)."""
    images = np.load(folder / "images.npy", mmap_mode="r")
    boxes = json.loads((folder / "boxes.json").read_text())
    while True:
        chosen = rng.choice(len(images), batch, replace=False)
        made = []
        for k in chosen:
            image = np.array(images[k])
            b = np.array(boxes[k][0], np.float32).reshape(-1, 4)
            labels = np.array(boxes[k][1], np.int64)
            added = 0
            if real is not None and rng.random() < real_share:
                image, b, labels, added = real.compose(image, b, labels, rng)
            if rng.random() < 0.5:  # mirror across the belt
                image = image[::-1].copy()
                b = b[:, [0, 3, 2, 1]] * [1, -1, 1, -1] + [0, SIZE, 0, SIZE]
            if len(b) and rng.random() < 0.7:  # a crop around one object, else anywhere
                # around a projected real object when there is one (they are appended last)
                pick = len(b) - 1 - int(rng.integers(added)) if added else rng.integers(len(b))
                x0, y0, x1, y1 = b[pick]
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                ox = int(np.clip(cx - rng.uniform(0.2, 0.8) * CROP, 0, SIZE - CROP))
                oy = int(np.clip(cy - rng.uniform(0.2, 0.8) * CROP, 0, SIZE - CROP))
            else:
                ox, oy = (int(v) for v in rng.integers(0, SIZE - CROP + 1, 2))
            image = np.ascontiguousarray(image[oy : oy + CROP, ox : ox + CROP])
            b = b - [ox, oy, ox, oy]
            centre_x, centre_y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            inside = (centre_x >= 0) & (centre_x < CROP) & (centre_y >= 0) & (centre_y < CROP)
            made.append((image, b[inside], labels[inside]))
        yield made


def train(
    minutes: float, folder: Path, batch: int = 24, *, real_share: float = REAL_SHARE
) -> PlateNet:
    torch.manual_seed(SEED)
    real = RealThreats(real_split()["source"]) if real_share > 0 else None
    if real is not None:
        print(
            f"TIP: {len(real.cutouts)} real cut-outs, {len(real.backgrounds)} real backgrounds, "
            f"share {real_share}",
            flush=True,
        )
    batches = _batches(folder, batch, np.random.default_rng(SEED), real=real, real_share=real_share)
    net = threat_net()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    start = time.monotonic()
    step = 0
    while time.monotonic() - start < minutes * 60:
        made = next(batches)
        x = torch.from_numpy(
            np.stack([m[0] for m in made]).transpose(0, 3, 1, 2).astype(np.float32) / 255
        )
        t = [targets(m[1], m[2], CROP // STRIDE) for m in made]
        heat = torch.from_numpy(np.stack([v["heat"] for v in t]))
        reg = torch.from_numpy(np.stack([v["reg"] for v in t]))
        mask = torch.from_numpy(np.stack([v["mask"] for v in t]))[:, None]
        progress = (time.monotonic() - start) / (minutes * 60)
        for group in opt.param_groups:
            group["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        out = net(x)
        c = len(CLASSES)
        n = mask.sum().clamp(min=1)
        loss_heat = focal(out[:, :c], heat)
        loss_reg = (F.l1_loss(out[:, c:], reg, reduction="none") * mask).sum() / n
        loss = loss_heat + loss_reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print(
                f"step {step} {time.monotonic() - start:6.0f}s loss {loss.item():.3f} "
                f"(heat {loss_heat.item():.3f})",
                flush=True,
            )
    return net


def export(net: PlateNet, path: Path) -> None:
    net.eval()
    names = "{" + ", ".join(f"{k}: '{n}'" for k, n in enumerate(CLASSES)) + "}"
    export_onnx(
        Exported(net),
        path,
        ["output0"],
        {
            "names": names,
            "imgsz": f"[{SIZE}, {SIZE}]",
            "producer": "imaging models/xray/train_threat.py",
        },
        size=SIZE,
    )


def _covers(flag_box, truth_box, min_iou: float = 0.3) -> bool:
    """A flag finds an object when it overlaps it (IoU >= min_iou) or contains its centre."""
    fx0, fy0, fx1, fy1 = flag_box
    tx0, ty0, tx1, ty1 = truth_box
    cx, cy = (tx0 + tx1) / 2, (ty0 + ty1) / 2
    if fx0 <= cx <= fx1 and fy0 <= cy <= fy1:
        return True
    iw = max(0.0, min(fx1, tx1) - max(fx0, tx0))
    ih = max(0.0, min(fy1, ty1) - max(fy0, ty0))
    inter = iw * ih
    union = (fx1 - fx0) * (fy1 - fy0) + (tx1 - tx0) * (ty1 - ty0) - inter
    return union > 0 and inter / union >= min_iou


def _score_flags(flags: list, truth: list) -> tuple[int, int]:
    """(objects found by some flag, flags that cover no object)."""
    found = sum(any(_covers(f.box, t) for f in flags) for t in truth)
    false = sum(not any(_covers(f.box, t) for t in truth) for f in flags)
    return found, false


def real_truth(mask: np.ndarray) -> list[tuple[str, list[int]]]:
    """Boxes of the gun (1) and knife (2) components of a class-index mask."""
    truth = []
    for value, label in ((1, "gun"), (2, "knife")):
        count, _, stats, _ = cv2.connectedComponentsWithStats((mask == value).astype(np.uint8))
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            if area >= 100:
                truth.append((label, [int(x), int(y), int(x + w), int(y + h)]))
    return truth


def evaluate(onnx_path: Path) -> dict:
    """Measure on data the training never saw.

    - the detector alone on 60 rendered bags of unseen seeds (precision/recall at IoU 0.5);
    - the whole analyzer (``XrayAnalyzer``) on 60 raw dual-energy scans of unseen seeds, as a
      scanner would feed it: planted knives, guns and blades found by a ``threat`` flag, and
      false ``threat`` flags per scan;
    - the whole analyzer on the 9 real images with gun/knife masks: objects inside any flag
      (``threat``, ``anomaly`` or ``dense``) and flags that cover no object, per image;
      reported for all 9, for the ``eval`` half of ``real_split`` (never read by training:
      the honest real-image figure) and for the ``source`` half, marked as trained on when
      the model's sidecar says it was trained with real cut-outs (``training.real_share``).
    """
    from imaging.compare.metrics import detection_metrics
    from imaging.runtime import OnnxDetector
    from imaging.xray.analyzer import XrayAnalyzer

    detector = OnnxDetector(str(onnx_path), conf_threshold=0.25)
    rng = np.random.default_rng(99)
    tp = fp = fn = 0
    for k in range(60):
        image, boxes, labels = make_sample(7_000_000 + k, rng)
        dets = detector(image)
        pred = [
            {"box": b.tolist(), "label": lab, "score": float(s)}
            for b, lab, s in zip(dets.xyxy, dets.data["label"], dets.confidence, strict=True)
        ]
        truth = [
            {"box": b.tolist(), "label": CLASSES[c]} for b, c in zip(boxes, labels, strict=True)
        ]
        m = detection_metrics(pred, truth)
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
    result: dict = {
        "detector_on_60_rendered_bags": {
            "precision": round(tp / max(tp + fp, 1), 3),
            "recall": round(tp / max(tp + fn, 1), 3),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    }
    analyzer = XrayAnalyzer(detector=str(onnx_path))
    found = total = false = 0
    per_class = {c: [0, 0] for c in CLASSES}
    for k in range(60):
        seed = 8_000_000 + k
        local = np.random.default_rng(seed)
        h = int(local.integers(200, 320))
        threats = tuple(local.choice(list(CLASSES) + ["dense_block"], int(local.integers(1, 4))))
        scan = simulate_scan(seed, shape=(h, int(h * 1.5)), threats=threats, clutter=12)
        res = analyzer.analyze(scan.high, low=scan.low, dark=scan.dark, air=scan.air)
        flags = [f for f in res.flags if f.kind == "threat"]
        truth = [
            b.tolist() for b, lab in zip(scan.boxes, scan.labels, strict=True) if lab in CLASSES
        ]
        hit, wrong = _score_flags(flags, truth)
        found, total, false = found + hit, total + len(truth), false + wrong
        for b, lab in zip(scan.boxes, scan.labels, strict=True):
            if lab in CLASSES:
                per_class[lab][0] += any(_covers(f.box, b.tolist()) for f in flags)
                per_class[lab][1] += 1
    result["analyzer_on_60_raw_dual_energy_scans"] = {
        "threats": total,
        "found_by_threat_flag": found,
        "recall": round(found / max(total, 1), 3),
        "false_threat_flags_per_scan": round(false / 60, 3),
        "recall_per_class": {c: round(a / max(b, 1), 3) for c, (a, b) in per_class.items()},
    }
    split = real_split()
    half = {path.name: name for name, paths in split.items() for path in paths}
    sidecar = onnx_path.with_suffix(".json")
    training = json.loads(sidecar.read_text()).get("training", {}) if sidecar.exists() else {}
    trained_on_sources = float(training.get("real_share", 0.0)) > 0
    per_image = {}
    counts = {name: [0, 0, 0] for name in ("all", *split)}  # detector alone: tp, fp, fn
    for path in sorted(half):
        image, mask = read_real(REAL / "img" / path)
        truth = real_truth(mask)
        res = analyzer.analyze(image)
        hit, wrong = _score_flags(res.flags, [b for _, b in truth])
        per_image[path] = {
            "half": half[path],
            "objects": [label for label, _ in truth],
            "found": hit,
            "false_flags": wrong,
            "flags": [f"{f.kind}:{f.data.get('label', '')}:{f.score:.2f}" for f in res.flags],
        }
        dets = detector(image)
        m = detection_metrics(
            [{"box": b.tolist(), "label": "x"} for b in dets.xyxy],
            [{"box": b, "label": "x"} for _, b in truth],
        )
        for name in ("all", half[path]):
            counts[name] = [a + m[k] for a, k in zip(counts[name], ("tp", "fp", "fn"), strict=True)]

    def summary(name: str) -> dict:
        rows = [v for v in per_image.values() if name == "all" or v["half"] == name]
        tp, fp, fn = counts[name]
        return {
            "images": len(rows),
            "objects": sum(len(v["objects"]) for v in rows),
            "found_inside_a_flag": sum(v["found"] for v in rows),
            "false_flags_per_image": round(sum(v["false_flags"] for v in rows) / len(rows), 2),
            "detector_alone_iou_0.5": {"tp": tp, "fp": fp, "fn": fn},
        }

    result["real_split"] = {
        "rule": REAL_SPLIT_RULE,
        "source": [p.name for p in split["source"]],
        "eval": [p.name for p in split["eval"]],
        "model_trained_on_source_half": trained_on_sources,
    }
    result["real_eval_half_never_trained_on"] = summary("eval")
    result["real_source_half"] = {
        **summary("source"),
        "note": (
            "TRAINED ON: these images and their gun/knife cut-outs are training data"
            if trained_on_sources
            else "the model's sidecar records no real training data"
        ),
    }
    result["real_sixray_gdxray_9_images"] = {**summary("all"), "per_image": per_image}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--samples", type=int, default=12000, help="bags to pre-render")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/imaging-xray-threat"), help="pre-rendered bags"
    )
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument(
        "--real-share",
        type=float,
        default=REAL_SHARE,
        help="share of training samples given 1-2 projected real gun/knife cut-outs (0: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE,
        help="folder for threat_detector.onnx, .json and _eval.json (default: next to this file)",
    )
    parser.add_argument("--checkpoint", type=Path, help="also save the torch state_dict here")
    args = parser.parse_args()
    if not 0.0 <= args.real_share <= 1.0:
        parser.error(f"--real-share must be in [0, 1], got {args.real_share}")
    if not args.evaluate_only and not (args.cache / "images.npy").exists():
        render_dataset(args.cache, args.samples)
    if args.render_only:
        return
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "threat_detector.onnx"
    if not args.evaluate_only:
        net = train(args.minutes, args.cache, real_share=args.real_share)
        if args.checkpoint is not None:
            args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save(net.state_dict(), args.checkpoint)
        export(net, path)
        real = args.real_share > 0
        sidecar = {
            "name": "xray-threat",
            "file": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "task": "detect",
            "input_size": [SIZE, SIZE],
            "input_layout": "NCHW",
            "color": "rgb",
            "normalize": {"scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
            "labels": list(CLASSES),
            "output_layout": "yolov8",
            "card": "threat_detector.md",
            "description": "X-ray threat detector (knife, gun, blade), trained on simulated scans"
            + (" with real gun/knife cut-outs projected in" if real else ""),
            "training": {
                "minutes": args.minutes,
                "real_share": args.real_share,
                "real_split_rule": REAL_SPLIT_RULE,
                "real_sources": [p.name for p in real_split()["source"]] if real else [],
            },
        }
        (args.out / "threat_detector.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    metrics = evaluate(path)
    print(json.dumps(metrics, indent=2))
    (args.out / "threat_detector_eval.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
