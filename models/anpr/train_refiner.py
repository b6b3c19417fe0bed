"""Train the plate-box refiner and export it to ONNX (PyTorch on the CPU; training only).

The detector sees a whole photograph brought down to 416 pixels; on a plate 20-60 pixels wide
its box can end a character short or shift off the first one. The refiner sees a window
around a box (``imaging.anpr.refine.refine_window``), cut from the photo at the photo's own
resolution and resized to 48x96, and gives the plate's box in that window as four numbers
in [0, 1] (x0, y0, x1, y1 over the window's width and height).

Training windows come from the real development photographs of ``../shared/data/anpr``
(the detector's split: its held-back quarter is never used), around the annotated plate, a
plate of a random format put in its place, or a plate pasted elsewhere in the scene (as the
detector's trainer does), with the scene first brought to a random size so that the plate is
16-280 pixels wide, JPEG-compressed, blurred and noised, around a box shifted and stretched as
the detector's boxes are (``jitter_box``). With ``--negatives`` a share of the windows is
around no plate (the shipped detector's boxes off the plates of the training photos, text drawn
onto a scene, random places), and the model also gives the probability that the window's box
holds a plate (a second ONNX output, ``plate``). The loss is the L1 error of each edge in units
of the plate's own width (x) and height (y), plus a tenth of the plate-or-not cross-entropy.

    python models/anpr/train_refiner.py --minutes 14 --samples 170000 --negatives 0.3  # shipped
    python models/anpr/train_refiner.py --evaluate-only     # evaluate the shipped model

Seeds are fixed; the run is repeatable on one machine up to thread scheduling.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import train_detector as scenes  # noqa: E402  (the detector trainer's photos and plates)

from imaging.anpr.refine import REFINE_SIZE, cut_window, refine_window  # noqa: E402

SEED = 20261203
SWAP_SHARE = 0.3  # windows around a plate of a random format put in the real plate's place
PASTE_SHARE = 0.3  # windows around a plate pasted elsewhere in the scene
PLATE_WIDTHS = (16.0, 280.0)  # the plate's width in the photo, drawn log-uniformly
NEGATIVE_SHARE = 0.0  # windows around something that is not a plate (--negatives)
# (photo index, box) the shipped detector finds off the annotated plate in the training photos
HARD_NEGATIVES: list[tuple[int, np.ndarray]] = []
PLATE_LOSS_WEIGHT = 0.1  # of the plate-or-not cross-entropy beside the edges' L1 loss


def jitter_box(box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A box like the detector's around the true ``box`` (x0, y0, x1, y1): shifted by about a
    tenth of the plate's width and a sixth of its height, its width and height off by about a
    fifth; one time in three only a third as far off (the refiner must keep good boxes)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    spread = 1 / 3 if rng.random() < 1 / 3 else 1.0
    dx = np.clip(rng.normal(0, 0.10 * spread), -0.35, 0.35) * w
    dy = np.clip(rng.normal(0, 0.16 * spread), -0.5, 0.5) * h
    sw = math.exp(np.clip(rng.normal(0, 0.18 * spread), -0.5, 0.4))
    sh = math.exp(np.clip(rng.normal(0, 0.22 * spread), -0.5, 0.6))
    cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
    return np.array([cx - w * sw / 2, cy - h * sh / 2, cx + w * sw / 2, cy + h * sh / 2])


def _scene_and_plate(photos: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A scene (RGB) and the corners (4, 2) of the plate its window is to be cut around."""
    item = photos[int(rng.integers(len(photos)))]
    image = scenes._decoded(str(item["path"]))
    quad = item["corners"].copy()
    draw = rng.random()
    if draw < SWAP_SHARE:
        image = image.copy()  # the decoded photo is cached
        quad = scenes.swap_plate(image, quad, rng)
    elif draw < SWAP_SHARE + PASTE_SHARE:
        h, w = image.shape[:2]
        side = int(min(h, w) * rng.uniform(0.3, 0.9))
        rx, ry = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        region = image[ry : ry + side, rx : rx + side].copy()
        real = quad - [rx, ry]
        occupied = [tuple(np.r_[real.min(axis=0), real.max(axis=0)])]
        pasted = scenes.paste_plate(region, rng, occupied)
        if pasted is not None:
            return region, pasted
    return image, quad


def _annotated_box(item: dict, scale: float = 1.0) -> np.ndarray:
    """The annotated plate's upright box (x0, y0, x1, y1) of a photo brought to ``scale``."""
    c = item["corners"] * scale
    return np.r_[c.min(axis=0), c.max(axis=0)]


def _photo_at(item: dict, scale: float = 1.0) -> np.ndarray:
    """The photo (RGB) brought to ``scale`` of its size (area down, bilinear up)."""
    image = scenes._decoded(str(item["path"]))
    if scale == 1.0:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _overlaps(box: np.ndarray, plate: np.ndarray, most: float = 0.2) -> bool:
    """Whether ``box`` covers more than ``most`` of the ``plate`` box."""
    ix = min(box[2], plate[2]) - max(box[0], plate[0])
    iy = min(box[3], plate[3]) - max(box[1], plate[1])
    area = (plate[2] - plate[0]) * (plate[3] - plate[1])
    return max(ix, 0.0) * max(iy, 0.0) > most * area


def _scene_and_non_plate(
    photos: list[dict], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A scene (RGB) and a box (4,) that holds no plate: half of the time a box the shipped
    detector gives off the plate in a training photo (:data:`HARD_NEGATIVES`: lettering,
    lamps, grilles, signs), else text drawn onto the scene as the detector's trainer draws its
    distractors (phone numbers, time stamps, words on vans), or a plate-shaped box at a random
    place of the scene."""
    draw = rng.random()
    if draw < 0.5 and HARD_NEGATIVES:
        index, box = HARD_NEGATIVES[int(rng.integers(len(HARD_NEGATIVES)))]
        return scenes._decoded(str(photos[index]["path"])), box
    item = photos[int(rng.integers(len(photos)))]
    image = scenes._decoded(str(item["path"]))
    plate = _annotated_box(item)
    h, w = image.shape[:2]
    if draw < 0.75:
        image = image.copy()  # the decoded photo is cached
        drawn = scenes.paste_text(image, rng, [tuple(plate)])
        if drawn is not None:
            return image, np.array(drawn, np.float64)
    for _ in range(20):
        width = math.exp(rng.uniform(math.log(16), math.log(max(w / 3, 17))))
        height = width / rng.uniform(1.8, 5.0)
        x0, y0 = rng.uniform(0, max(w - width, 1)), rng.uniform(0, max(h - height, 1))
        box = np.array([x0, y0, x0 + width, y0 + height])
        if not _overlaps(box, plate, most=0.0):
            break
    return image, box


def detector_false_boxes(
    photos: list[dict], scales: tuple[float, ...] = (0.5, 0.75, 1.0), threshold: float = 0.2
) -> list[tuple[int, np.ndarray]]:
    """The shipped detector's boxes (score >= ``threshold``) on ``photos`` brought to each of
    ``scales``, that cover at most a fifth of the annotated plate: what it takes for a plate
    and is not (the photos have one annotated plate each and few other vehicles)."""
    from imaging.anpr.detect import detect_plates

    found = []
    for index, item in enumerate(photos):
        plate = _annotated_box(item)
        for scale in scales:
            for box in detect_plates(_photo_at(item, scale), conf_threshold=threshold).xyxy / scale:
                if not _overlaps(box, plate):
                    found.append((index, box.astype(np.float64)))
    return found


def make_sample(photos: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One training window (48, 96, 3) uint8 and its target (5,): the plate's box in window
    units and 1, or (NEGATIVE_SHARE of the time) zeros and 0 for a window around no plate."""
    is_plate = not (NEGATIVE_SHARE > 0 and rng.random() < NEGATIVE_SHARE)
    if is_plate:
        image, quad = _scene_and_plate(photos, rng)
        (x0, y0), (x1, y1) = quad.min(axis=0), quad.max(axis=0)
    else:
        image, (x0, y0, x1, y1) = _scene_and_non_plate(photos, rng)
    width, height = x1 - x0, y1 - y0
    # bring the plate's surroundings to the scale the plate is to be seen at
    lo, hi = np.log(PLATE_WIDTHS)
    scale = math.exp(rng.uniform(lo, hi)) / max(width, 1.0)
    margin = max(2.5 * width, 7.0 * height)
    h, w = image.shape[:2]
    cx0, cy0 = int(max(0, x0 - margin)), int(max(0, y0 - margin))
    cx1, cy1 = int(min(w, x1 + margin)), int(min(h, y1 + margin))
    part = image[cy0:cy1, cx0:cx1]
    size = (max(1, round(part.shape[1] * scale)), max(1, round(part.shape[0] * scale)))
    part = cv2.resize(part, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    sx, sy = size[0] / (cx1 - cx0), size[1] / (cy1 - cy0)
    box = np.array([(x0 - cx0) * sx, (y0 - cy0) * sy, (x1 - cx0) * sx, (y1 - cy0) * sy])
    if rng.random() < 0.3:  # mirrored: a plate's outline stays a plate's
        part = part[:, ::-1]
        box = np.array([part.shape[1] - box[2], box[1], part.shape[1] - box[0], box[3]])
    window = refine_window(jitter_box(box, rng)[None])[0]
    # degrade only what the window holds (and a little more, for blur and JPEG blocks)
    wx0, wy0 = (max(0, int(v) - 8) for v in window[:2])
    wx1, wy1 = (int(v + d) + 8 for v, d in zip(window[:2], window[2:], strict=True))
    held = _degrade(np.ascontiguousarray(part[wy0:wy1, wx0:wx1]), rng)
    window[:2] -= [wx0, wy0]
    box = box - [wx0, wy0, wx0, wy0]
    cut = cut_window(held, window)
    target = (box - np.tile(window[:2], 2)) / np.tile(window[2:], 2)
    if not is_plate:
        return cut, np.zeros(5, np.float32)
    return cut, np.r_[target, 1.0].astype(np.float32)


def _degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photometric jitter, blur, noise, grey and JPEG, as camera pictures come."""
    out = image.astype(np.float32) * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.3))
    out += rng.normal(0, rng.uniform(0, 7), out.shape).astype(np.float32)
    if rng.random() < 0.15:
        out = np.repeat(out.mean(axis=2, keepdims=True), 3, axis=2)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        quality = int(rng.integers(25, 91))
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED).reshape(out.shape)
    return out


# --- network ---------------------------------------------------------------------------------


def conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class RefinerNet(nn.Module):
    """48x96 RGB window -> the plate's box (x0, y0, x1, y1) in window units and the logit of
    the window's box holding a plate."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv(3, 16, 2),  # 24 x 48
            conv(16, 24, 2),  # 12 x 24
            conv(24, 32, 1),
            conv(32, 48, 2),  # 6 x 12
            conv(48, 48, 1),
            conv(48, 64, 2),  # 3 x 6
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 3 * 6, 128), nn.ReLU(inplace=True), nn.Linear(128, 5)
        )
        with torch.no_grad():  # start at the box the window was cut around
            across, down = 0.5 / 2.0, 0.5 / 3.0
            self.head[-1].weight.mul_(0.1)
            prior = [0.5 - across, 0.5 - down, 0.5 + across, 0.5 + down, 0.0]
            self.head[-1].bias.copy_(torch.tensor(prior))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def edge_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 error of each edge in units of the true plate's width (x) and height (y)."""
    w = (target[:, 2] - target[:, 0]).clamp(min=1e-3)
    h = (target[:, 3] - target[:, 1]).clamp(min=1e-3)
    units = torch.stack([w, h, w, h], dim=1)
    return ((pred - target).abs() / units).mean()


def refiner_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:func:`edge_loss` over the windows around a plate (``target[:, 4]`` = 1), plus
    :data:`PLATE_LOSS_WEIGHT` times the cross-entropy of the plate-or-not logit."""
    plates = target[:, 4] > 0.5
    edges = edge_loss(pred[plates, :4], target[plates, :4]) if plates.any() else pred.sum() * 0
    if NEGATIVE_SHARE <= 0:
        return edges
    kind = nn.functional.binary_cross_entropy_with_logits(pred[:, 4], target[:, 4])
    return edges + PLATE_LOSS_WEIGHT * kind


# --- training, evaluation, export -------------------------------------------------------------


def _make_chunk(chunk: int, count: int, shares: tuple, hard_negatives: list) -> tuple:
    """``count`` training windows and targets, drawn with a seed of their own (the pool is the
    same whichever worker makes which chunk)."""
    global SWAP_SHARE, PASTE_SHARE, NEGATIVE_SHARE
    scenes.LIBRARY_PLATE_SHARE, scenes.US_CROP_SHARE, SWAP_SHARE, PASTE_SHARE = shares[:4]
    NEGATIVE_SHARE, scenes.DARK_PLATE_SHARE = shares[4:]
    HARD_NEGATIVES[:] = hard_negatives
    torch.set_num_threads(1)
    rng = np.random.default_rng([SEED, chunk])
    photos, _ = scenes.split(scenes.load_photos())
    made = []
    while len(made) < count:
        try:
            made.append(make_sample(photos, rng))
        except cv2.error as exc:  # a degenerate augmentation: draw another
            print(f"skipped a sample: {exc}", flush=True)
    return np.stack([m[0] for m in made]), np.stack([m[1] for m in made])


def make_pool(samples: int, chunk: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """The training windows (N, 48, 96, 3) uint8 and targets (N, 5), made by two processes."""
    import multiprocessing as mp

    start = time.monotonic()
    hard = []
    if NEGATIVE_SHARE > 0:
        hard = detector_false_boxes(scenes.split(scenes.load_photos())[0])
        print(f"{len(hard)} detector boxes off the plates in {time.monotonic() - start:.0f} s")
    shares = (
        scenes.LIBRARY_PLATE_SHARE,
        scenes.US_CROP_SHARE,
        SWAP_SHARE,
        PASTE_SHARE,
        NEGATIVE_SHARE,
        scenes.DARK_PLATE_SHARE,
    )
    jobs = [
        (k, min(chunk, samples - k * chunk), shares, hard)
        for k in range(math.ceil(samples / chunk))
    ]
    with mp.get_context("spawn").Pool(2) as workers:
        parts = workers.starmap(_make_chunk, jobs)
    print(f"{samples} windows made in {time.monotonic() - start:.0f} s", flush=True)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train(minutes: float, samples: int, batch: int = 128, lr: float = 2e-3) -> RefinerNet:
    """Make the pool of windows, then train for ``minutes`` of wall time over it."""
    windows, targets = make_pool(samples)
    torch.manual_seed(SEED)
    order_rng = np.random.default_rng(SEED)
    net = RefinerNet()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.train()
    start = time.monotonic()
    deadline = start + minutes * 60
    step, running, order = 0, 0.0, np.zeros(0, int)
    while time.monotonic() < deadline:
        if len(order) < batch:
            order = order_rng.permutation(len(windows))
        picked, order = order[:batch], order[batch:]
        x = torch.from_numpy(windows[picked].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        progress = (time.monotonic() - start) / (minutes * 60)
        for group in opt.param_groups:
            group["lr"] = lr * (0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
        loss = refiner_loss(net(x), torch.from_numpy(targets[picked]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 200 == 0:
            print(f"step {step} {time.monotonic() - start:6.0f}s loss {running:.4f}", flush=True)
    return net


class Exported(nn.Module):
    """The network on [0, 1] RGB windows: the boxes, clipped to about the window, and (when
    trained with windows around no plate) the probability that the window's box holds one."""

    def __init__(self, net: RefinerNet, plate_output: bool) -> None:
        super().__init__()
        self.net = net
        self.plate_output = plate_output

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        boxes = out[:, :4].clamp(-0.5, 1.5)
        return (boxes, torch.sigmoid(out[:, 4])) if self.plate_output else boxes


def export(net: RefinerNet, path: Path) -> None:
    height, width = REFINE_SIZE
    plate_output = NEGATIVE_SHARE > 0
    outputs = ["boxes", "plate"] if plate_output else ["boxes"]
    torch.onnx.export(
        Exported(net.eval(), plate_output),
        torch.zeros(2, 3, height, width),
        str(path),
        input_names=["windows"],
        output_names=outputs,
        dynamic_axes={"windows": {0: "n"}, **{name: {0: "n"} for name in outputs}},
        opset_version=17,
        dynamo=False,
    )


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    from imaging.compare.metrics import box_iou

    return float(box_iou(np.float32(a).reshape(1, 4), np.float32(b).reshape(1, 4))[0, 0])


def evaluate(onnx_path: Path, scales: tuple[float, ...] = (0.5, 0.7, 1.0, 1.5)) -> dict:
    """IoU of the shipped detector's box of each held-back plate with the annotated box,
    before and after refinement, at several sizes of the photographs."""
    from imaging.anpr.detect import detect_plates
    from imaging.anpr.refine import refine_boxes

    _, held = scenes.split(scenes.load_photos())
    table = {}
    for scale in scales:
        found, ious = 0, {0: [], 1: [], 2: []}
        for item in held:
            image, truth = _photo_at(item, scale), _annotated_box(item, scale)
            dets = detect_plates(image)
            overlaps = [_box_iou(b, truth) for b in dets.xyxy]
            if not overlaps or max(overlaps) < 0.3:
                continue
            found += 1
            box = dets.xyxy[int(np.argmax(overlaps))][None]
            ious[0].append(_box_iou(box[0], truth))
            for passes in (1, 2):
                refined = refine_boxes(image, box, model=str(onnx_path), passes=passes)[0]
                ious[passes].append(_box_iou(refined, truth))
        named = {"detector": ious[0], "refined_1": ious[1], "refined_2": ious[2]}
        table[str(scale)] = {"found": found}
        for name, values in named.items():
            table[str(scale)][f"iou_{name}"] = round(float(np.mean(values)), 3) if values else 0.0
            table[str(scale)][f"iou70_{name}"] = int(np.sum(np.array(values) >= 0.7))
    return {
        "held_out_photos": len(held),
        "by_scale": table,
        "moved_boxes": moved_boxes(onnx_path),
        "plate_ranking": plate_ranking(onnx_path),
    }


def _auc(positive: list, negative: list) -> float:
    """The probability that a positive scores above a negative (ties count half)."""
    pos, neg = np.asarray(positive, float)[:, None], np.asarray(negative, float)[None, :]
    if not pos.size or not neg.size:
        return float("nan")
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def plate_ranking(onnx_path: Path, scales: tuple[float, ...] = (0.5, 1.0)) -> dict:
    """How well the plate score tells the held-back photos' plates from the detector's other
    boxes: the shipped detector's boxes (IoU >= 0.5 with the annotated plate: a plate; covering
    at most a fifth of it: not), ranked by the detector's score, by the refiner's plate
    probability and by their geometric mean (AUC, and the photos whose best box is the plate)."""
    from imaging.anpr.detect import detect_plates
    from imaging.anpr.refine import refine_boxes

    _, held = scenes.split(scenes.load_photos())
    table = {}
    for scale in scales:
        kinds = {"detector": ([], []), "refiner": ([], []), "mean": ([], [])}
        top = dict.fromkeys(kinds, 0)
        for item in held:
            image, truth = _photo_at(item, scale), _annotated_box(item, scale)
            dets = detect_plates(image)
            if not len(dets):
                continue
            _, plate = refine_boxes(image, dets.xyxy, model=str(onnx_path), plate_scores=True)
            if plate is None:
                return {}
            scores = {
                "detector": dets.confidence,
                "refiner": plate,
                "mean": np.sqrt(dets.confidence * plate),
            }
            is_plate = np.array([_box_iou(b, truth) >= 0.5 for b in dets.xyxy])
            not_plate = np.array([not _overlaps(b, truth) for b in dets.xyxy])
            for name, values in scores.items():
                kinds[name][0].extend(values[is_plate])
                kinds[name][1].extend(values[not_plate])
                top[name] += bool(is_plate[int(np.argmax(values))])
        table[str(scale)] = {
            "plates": len(kinds["detector"][0]),
            "other_boxes": len(kinds["detector"][1]),
            **{f"auc_{name}": round(_auc(*pair), 3) for name, pair in kinds.items()},
            **{f"top_is_plate_{name}": count for name, count in top.items()},
        }
    return table


def moved_boxes(onnx_path: Path, amount: float = 0.15) -> dict:
    """Mean IoU with the annotation of each held-back plate's annotated box moved right or
    left, narrowed or widened by ``amount`` of its width, before and after refinement: whether
    the refiner finds the plate's edges in scenes it never saw."""
    from imaging.anpr.refine import refine_boxes

    _, held = scenes.split(scenes.load_photos())
    moves = {
        "right": (amount, amount),
        "left": (-amount, -amount),
        "narrower": (amount / 2, -amount / 2),
        "wider": (-amount / 2, amount / 2),
    }
    table = {}
    for name, (left, right) in moves.items():
        before, after = [], []
        for item in held:
            image, truth = _photo_at(item), _annotated_box(item)
            width = truth[2] - truth[0]
            box = truth + np.array([left, 0.0, right, 0.0]) * width
            before.append(_box_iou(box, truth))
            refined = refine_boxes(image, box[None], model=str(onnx_path))[0]
            after.append(_box_iou(refined, truth))
        table[name] = {
            "iou_moved": round(float(np.mean(before)), 3),
            "iou_refined": round(float(np.mean(after)), 3),
        }
    return table


def main() -> None:
    global SWAP_SHARE, PASTE_SHARE, NEGATIVE_SHARE
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--samples", type=int, default=60000, help="training windows made")
    parser.add_argument("--library-plates", type=float, default=0.5)
    parser.add_argument("--us-crops", type=float, default=0.3)
    parser.add_argument(
        "--swap", type=float, default=SWAP_SHARE, help="share of windows around a swapped plate"
    )
    parser.add_argument(
        "--paste",
        type=float,
        default=PASTE_SHARE,
        help="share of windows around a plate pasted at a random place of the scene",
    )
    parser.add_argument(
        "--negatives",
        type=float,
        default=NEGATIVE_SHARE,
        help="share of windows around no plate (detector boxes off the plates, drawn text, "
        "random places): the model then also gives the probability that a box holds a plate",
    )
    parser.add_argument(
        "--dark-plates",
        type=float,
        default=0.0,
        help="share of the swapped and pasted plates turned light-on-dark (their negative)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for the ONNX, its sidecar and metrics"
    )
    args = parser.parse_args()
    scenes.LIBRARY_PLATE_SHARE, scenes.US_CROP_SHARE = args.library_plates, args.us_crops
    scenes.DARK_PLATE_SHARE = args.dark_plates
    SWAP_SHARE, PASTE_SHARE, NEGATIVE_SHARE = args.swap, args.paste, args.negatives
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "plate_box_refiner.onnx"
    if not args.evaluate_only:
        net = train(args.minutes, args.samples, lr=args.lr)
        export(net, onnx_path)
        height, width = REFINE_SIZE
        sidecar = {
            "name": "anpr-box-refiner",
            "file": onnx_path.name,
            "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "task": "refine",
            "input_size": [height, width],
            "input_layout": "NCHW",
            "color": "rgb",
            "normalize": {"scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
            "labels": ["x0", "y0", "x1", "y1"],
            "output_layout": "box",
            "card": "plate_box_refiner.md",
            "description": "plate box refiner: the plate's box in a 48x96 window around a box",
        }
        (args.out / "plate_box_refiner.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    metrics = evaluate(onnx_path)
    print(json.dumps(metrics, indent=2))
    (args.out / "plate_box_refiner_eval.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
