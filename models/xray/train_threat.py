"""Train the X-ray threat detector (knife, gun, blade) and export it to ONNX (PyTorch, CPU,
training only).

Data: dual-energy bags from ``imaging.xray.simulate`` with planted threats and clutter,
rendered the two ways operators see them (material colours, or the grey console image), so the
detector works on both pseudo-coloured and grey exports. The real images with gun/knife masks
in ``../shared/data/xray`` are used only to measure (never to train): they are too few.

The network is the CenterNet-style encoder-decoder of ``models/anpr/train_detector.py`` with
one heat-map channel per class; the exported graph decodes to the YOLOv8 layout
(1, 4 + C, N), so the library's generic ``OnnxDetector`` runs it like any user model.

    python models/xray/train_threat.py --minutes 25   # renders 12,000 bags first (~8 min)
    python models/xray/train_threat.py --evaluate-only
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


def _batches(folder: Path, batch: int, rng: np.random.Generator):
    images = np.load(folder / "images.npy", mmap_mode="r")
    boxes = json.loads((folder / "boxes.json").read_text())
    while True:
        chosen = rng.choice(len(images), batch, replace=False)
        made = []
        for k in chosen:
            image = np.array(images[k])
            b = np.array(boxes[k][0], np.float32).reshape(-1, 4)
            labels = np.array(boxes[k][1], np.int64)
            if rng.random() < 0.5:  # mirror across the belt
                image = image[::-1].copy()
                b = b[:, [0, 3, 2, 1]] * [1, -1, 1, -1] + [0, SIZE, 0, SIZE]
            if len(b) and rng.random() < 0.7:  # a crop around one object, else anywhere
                x0, y0, x1, y1 = b[rng.integers(len(b))]
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


def train(minutes: float, folder: Path, batch: int = 24) -> PlateNet:
    torch.manual_seed(SEED)
    batches = _batches(folder, batch, np.random.default_rng(SEED))
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
      (``threat``, ``anomaly`` or ``dense``) and flags that cover no object, per image.
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
    folder = DATA / "styxofsyntax-sixray-gdxray-masks"
    per_image = {}
    tp = fp = fn = 0
    for path in sorted((folder / "img").glob("*.png")):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        mask = cv2.imread(str(folder / "annotations" / path.name), cv2.IMREAD_UNCHANGED)
        if mask.shape != image.shape[:2]:
            image = cv2.resize(image, mask.shape[::-1])
        truth = real_truth(mask)
        res = analyzer.analyze(image)
        hit, wrong = _score_flags(res.flags, [b for _, b in truth])
        per_image[path.name] = {
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
        tp, fp, fn = tp + m["tp"], fp + m["fp"], fn + m["fn"]
    objects = sum(len(v["objects"]) for v in per_image.values())
    result["real_sixray_gdxray_9_images"] = {
        "objects": objects,
        "found_inside_a_flag": sum(v["found"] for v in per_image.values()),
        "false_flags_per_image": round(sum(v["false_flags"] for v in per_image.values()) / 9, 2),
        "detector_alone_iou_0.5": {"tp": tp, "fp": fp, "fn": fn},
        "per_image": per_image,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--samples", type=int, default=12000, help="bags to pre-render")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/imaging-xray-threat"), help="pre-rendered bags"
    )
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.evaluate_only and not (args.cache / "images.npy").exists():
        render_dataset(args.cache, args.samples)
    if args.render_only:
        return
    torch.set_num_threads(2)
    path = HERE / "threat_detector.onnx"
    if not args.evaluate_only:
        export(train(args.minutes, args.cache), path)
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
            "description": "X-ray threat detector (knife, gun, blade), trained on simulated scans",
        }
        (HERE / "threat_detector.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    metrics = evaluate(path)
    print(json.dumps(metrics, indent=2))
    (HERE / "threat_detector_eval.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
