"""Train the plate OCR (a small CNN with CTC) and export it to ONNX (PyTorch, CPU, training only).

Data: synthetic plates of every format in ``imaging.anpr.formats`` rendered by
``imaging.anpr.synth`` (one- and two-line, augmented), plus the real crops of
``../shared/data/anpr``: the 751 US crops of openalpr's seg_and_ocr set (every 5th held back)
and the plates of the end-to-end photographs (the detector's held-back quarter held back here
too). Inputs go through ``imaging.anpr.read.plate_views`` exactly as at run time.

    python models/anpr/train_ocr.py --minutes 20
    python models/anpr/train_ocr.py --evaluate-only
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import queue
import sys
import threading
import time
from functools import cache
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from train_detector import freeze_batch_norms, load_folded_convs, load_photos, split  # noqa: E402

from imaging.anpr.formats import ALPHABET, FORMATS, match_plate, normalize_text  # noqa: E402
from imaging.anpr.read import plate_views  # noqa: E402
from imaging.anpr.synth import (  # noqa: E402
    Spacing,
    SyntheticPlate,
    augment,
    composite_plate,
    jpeg_round_trip,
    render_plate,
)

DATA = ROOT.parent / "shared" / "data" / "anpr"
SEED = 20261126
EVAL_SEED = 99991
# synthetic plates measured per format: with 40, one miss was 0.975, under the 0.98 target
SYNTHETIC_PER_FORMAT = 200
CLASSES = 1 + len(ALPHABET)
INPUT_SIZE = (
    40,
    160,
)  # (H, W) of the OCR input (set by --arch); read_plates reads it from the model


def us_crops() -> tuple[list, list]:
    folder = DATA / "openalpr-benchmarks" / "seg_and_ocr"
    with (folder / "groundtruth.csv").open(encoding="utf-8", newline="") as table:
        rows = list(csv.reader(table))
    rows = sorted(r for r in rows if len(r) >= 3 and (folder / "usimages" / r[0]).exists())
    train, held = [], []
    for k, (name, _state, text) in enumerate(rows):
        item = (folder / "usimages" / name, normalize_text(text))
        (held if k % 5 == 4 else train).append(item)
    return train, held


def format_consistent(text: str) -> str:
    """The annotation with each ``O`` written for a ``0`` put right: when the text fits only
    loose formats (or none) and some choice of its O's as 0's fits a specific one, that
    choice, most O's turned first (annotators write O for 0, not the reverse). The openalpr
    annotations write ``RKO82AL`` for the Slovak plate RK 082AL; trained on as written, the
    OCR learns to read a 0 as O there.

    >>> format_consistent("RKO82AL"), format_consistent("RK3OOAG"), format_consistent("OYO9FEU")
    ('RK082AL', 'RK300AG', 'OY09FEU')
    >>> format_consistent("4BO4979")  # fits only the loose US format either way: kept
    '4BO4979'
    """
    from itertools import combinations

    def specific(t: str) -> bool:
        return any(not f.loose for f in match_plate(t))

    if specific(text):
        return text
    spots = [k for k, c in enumerate(text) if c == "O"]
    for n in range(len(spots), 0, -1):
        for chosen in combinations(spots, n):
            fixed = "".join("0" if k in chosen else c for k, c in enumerate(text))
            if specific(fixed):
                return fixed
    return text


def photo_crops(items: list[dict]) -> list[tuple[np.ndarray, str]]:
    out = []
    for item in items:
        text = format_consistent(normalize_text(item["text"]))
        if not text:
            continue
        image = cv2.cvtColor(cv2.imread(str(item["path"])), cv2.COLOR_BGR2RGB)
        x0, y0 = item["corners"].min(axis=0)
        x1, y1 = item["corners"].max(axis=0)
        out.append((image, (x0, y0, x1, y1), text))
    return out


def detector_quads(photos: list, detector: str = "anpr-detector") -> list:
    """For each (image, box, text) photo plate: the corners the shipped detector gives for it
    (the best match with IoU over 0.3), or None. Training on these rectified crops matches
    what the OCR sees at run time."""
    from imaging.anpr.detect import detect_plates
    from imaging.compare.metrics import box_iou

    quads = []
    for image, box, _ in photos:
        dets = detect_plates(image, conf_threshold=0.2, model=detector)
        if len(dets) == 0:
            quads.append(None)
            continue
        overlap = box_iou(np.asarray([box], np.float32), dets.xyxy)[0]
        k = int(np.argmax(overlap))
        quads.append(dets.data["corners"][k] if overlap[k] > 0.3 else None)
    return quads


def rectified_with_jitter(image, quad, rng, jitter=0.04):
    """The run-time crop (``rectify`` of detector corners), corners moved by up to
    ``jitter`` of the plate's size."""
    from imaging.anpr.rectify import rectify

    size = quad.max(axis=0) - quad.min(axis=0)
    moved = quad + rng.uniform(-jitter, jitter, (4, 2)) * size
    return rectify(image, moved.astype(np.float32))


def crop_with_jitter(image, box, rng, jitter=0.08):
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    dx = rng.uniform(-jitter, jitter, 4) * [w, h, w, h]
    a = int(max(0, x0 + dx[0] - 0.04 * w))
    b = int(max(0, y0 + dx[1] - 0.08 * h))
    c = int(min(image.shape[1], x1 + dx[2] + 0.04 * w))
    d = int(min(image.shape[0], y1 + dx[3] + 0.08 * h))
    return image[b:d, a:c]


def photo_like(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A high-resolution plate crop at the resolution plates have in the photographs (45 to
    140 pixels wide, where the seg_and_ocr crops are about 320), upsampled again to the
    64-pixel height of :func:`imaging.anpr.rectify.rectify` as at run time."""
    h, w = image.shape[:2]
    width = int(rng.uniform(45, 140))
    if w <= width:
        return image
    small = cv2.resize(image, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        small = jpeg_round_trip(small, int(rng.integers(35, 90)))
    return cv2.resize(small, (round(64 * w / h), 64), interpolation=cv2.INTER_LINEAR)


def farther(image: np.ndarray, box, quad, rng: np.random.Generator):
    """The surroundings of a photo's plate as a camera farther away (or a cheaper one) would
    see them: brought down to 35-80 % of the photo's resolution, half of the time JPEG
    compressed; returns the region with the plate's box and corners in its pixels."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    left, top = int(max(0, x0 - w)), int(max(0, y0 - 2 * h))
    right, bottom = int(min(image.shape[1], x1 + w)), int(min(image.shape[0], y1 + 2 * h))
    region = image[top:bottom, left:right]
    scale = rng.uniform(0.35, 0.8)
    size = (max(8, round(region.shape[1] * scale)), max(8, round(region.shape[0] * scale)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        small = jpeg_round_trip(small, int(rng.integers(40, 90)))
    sx, sy = size[0] / region.shape[1], size[1] / region.shape[0]
    moved = ((x0 - left) * sx, (y0 - top) * sy, (x1 - left) * sx, (y1 - top) * sy)
    if quad is not None:
        quad = ((quad - [left, top]) * [sx, sy]).astype(np.float32)
    return small, moved, quad


def blurred_view(view: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A network input as an out-of-focus or moving camera gives it: blurred at the input's
    own scale (a Gaussian of 0.5-1.8 pixels on characters about 20 pixels high; ``augment``
    blurs a rendered plate before it is brought down, and the photo plates are mostly
    sharp), a third of the time along the rows only, then stretched between its 2nd and 98th
    percentiles again as :func:`imaging.anpr.read.plate_views` stretches every view."""
    sigma = rng.uniform(0.5, 1.8)
    along_rows = rng.random() < 1 / 3
    out = cv2.GaussianBlur(view, (0, 0), sigmaX=sigma, sigmaY=0.01 if along_rows else sigma)
    return _stretched(out)


def toned_view(view: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A network input as an under- or over-exposed photo gives it: a gamma of 0.4-2.5
    (log-uniform: shadows or highlights crushed, the characters' strokes thinned or thickened
    against the plate) and a little sensor noise, stretched between its 2nd and 98th
    percentiles again as :func:`imaging.anpr.read.plate_views` stretches every view."""
    gamma = float(np.exp(rng.uniform(np.log(0.4), np.log(2.5))))
    out = np.power(np.clip(view, 0.0, 1.0), gamma)
    out = out + rng.normal(0.0, rng.uniform(0.0, 0.03), out.shape)
    return _stretched(out)


def _stretched(view: np.ndarray) -> np.ndarray:
    """``view`` stretched between its 2nd and 98th percentiles to [0, 1], float32."""
    lo, hi = np.percentile(view, (2, 98))
    return np.clip((view - lo) / max(hi - lo, 0.03), 0.0, 1.0).astype(np.float32)


def encode(text: str) -> list[int]:
    return [1 + ALPHABET.index(c) for c in text]


# Upright sans fonts, by file name, from Debian packages: fonts-dejavu-core and
# fonts-liberation (on most machines), and, for more plate-like lettering where installed,
# fonts-roboto-unhinted (Roboto Condensed), fonts-bebas-neue (condensed caps, close to
# Brazilian and many US state plates), fonts-urw-base35 (Nimbus Sans Narrow, a Helvetica
# Narrow), fonts-freefont-ttf, fonts-b612 and fonts-allerta (signage and cockpit lettering).
FONT_FILES = (
    "dejavu/DejaVuSans*.ttf",
    "liberation/LiberationSans*.ttf",
    "liberation/LiberationMono*.ttf",
    *(f"roboto/unhinted/RobotoCondensed-{w}.ttf" for w in ("Regular", "Medium", "Bold")),
    *(f"roboto/unhinted/RobotoTTF/Roboto-{w}.ttf" for w in ("Regular", "Medium", "Bold", "Black")),
    *(f"bebas-neue/BebasNeue-{w}.otf" for w in ("Regular", "Bold", "Book")),
    *(f"urw-base35/NimbusSans{n}-{w}.otf" for n in ("", "Narrow") for w in ("Regular", "Bold")),
    "freefont/FreeSans.ttf",
    "freefont/FreeSansBold.ttf",
    *(f"b612/B612{n}-{w}.otf" for n in ("", "Mono") for w in ("Regular", "Bold")),
    "allerta/allerta_medium.otf",
    "opendin/OSP-DIN.ttf",  # a DIN 1451 revival, the lettering of German and many other plates
)


def system_fonts() -> list[str]:
    """The machine's fonts of :data:`FONT_FILES` (closer to plate lettering, DIN,
    FE-Schrift, GOST and US state fonts, than OpenCV's own); the fonts found are listed in
    the training log."""
    found = [
        str(path)
        for root in (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
        for pattern in FONT_FILES
        for path in sorted(root.glob(pattern))
        if not any(k in path.stem for k in ("Oblique", "Italic", "Light", "Math"))
    ]
    return list(dict.fromkeys(found))


FONTS = system_fonts()
TTF_SHARE = 0.0  # share of synthetic plates in a TrueType font (--ttf-share)
US_SHARE = 0.2  # share of synthetic plates in the US layout (--us-share); one format in 23 else
BR_SHARE = 0.1  # share of synthetic plates in the Brazilian layouts (--br-share)
PHOTO_LIKE_SHARE = 0.0  # share of the US crops brought down to photo resolution (--photo-like)
PHOTO_SMALL_SHARE = 0.0  # share of the photo plates seen as from farther away (--photo-small)
RU_SHARE = 0.0  # share of synthetic plates in the Russian layout (--ru-share)
SCENE_SHARE = 0.0  # share of synthetic plates put in photographs' scenes (--scene-share)
US_SCENE_SHARE = 0.0  # share of the real US crops put in those scenes (--us-scene-share)
SPACING_SHARE = 0.0  # share of TrueType plates set with other letter spacing (--spacing-share)
VIEW_BLUR_SHARE = 0.0  # share of training views blurred at the network's scale (--view-blur)
VIEW_TONE_SHARE = 0.0  # share of training views given another tone curve (--view-tone)
US_FORMAT = next(f for f in FORMATS if f.country == "US")
BR_FORMATS = [f for f in FORMATS if f.country == "BR"]
RU_FORMAT = next(f for f in FORMATS if f.country == "RU")
US_TEXTS: tuple[str, ...] = ()  # the real US training labels, set by train()


def real_like_text(labels: tuple[str, ...], rng: np.random.Generator) -> str:
    """A text laid out like a random one of the real ``labels`` (letters where it has letters,
    digits where it has digits), each letter and digit drawn with its frequency in ``labels``
    (plus one, so that every character stays possible). US plates follow state layouts and
    rarely use Q or O, which a uniform draw over ``[0-9A-Z]`` ignores.

    >>> text = real_like_text(("ABC123", "1XY2345"), np.random.default_rng(0))
    >>> len(text) in (6, 7) and text.isalnum()
    True
    """
    draws = _character_draws(labels)
    shape = labels[int(rng.integers(len(labels)))]
    out = []
    for c in shape:
        chars, p = draws["digit" if c.isdigit() else "letter"]
        out.append(str(rng.choice(chars, p=p)))
    return "".join(out)


@cache
def _character_draws(labels: tuple[str, ...]) -> dict[str, tuple[list[str], np.ndarray]]:
    """Letters and digits with their probabilities in ``labels`` (counts plus one)."""
    joined = "".join(labels)
    draws = {}
    for kind, chars in (("letter", ALPHABET[10:]), ("digit", ALPHABET[:10])):
        counts = np.array([joined.count(c) + 1.0 for c in chars])
        draws[kind] = (list(chars), counts / counts.sum())
    return draws


def synthetic_plate(rng: np.random.Generator) -> SyntheticPlate:
    """A rendered plate of a format drawn with the trainer's shares (US, Brazilian, Russian,
    else uniform over the formats), in a TrueType font ``TTF_SHARE`` of the time."""
    font_file, spacing = None, None
    if FONTS and rng.random() < TTF_SHARE:
        font_file = FONTS[int(rng.integers(len(FONTS)))]
        if SPACING_SHARE and rng.random() < SPACING_SHARE:
            spacing = Spacing(float(rng.uniform(-0.06, 0.3)), bool(rng.random() < 0.5))
    draw = rng.random()
    fmt, text = None, None
    if draw < US_SHARE:
        fmt = US_FORMAT
        if US_TEXTS and rng.random() < 0.5:
            text = real_like_text(US_TEXTS, rng)
    elif draw < US_SHARE + BR_SHARE:
        fmt = BR_FORMATS[int(rng.integers(len(BR_FORMATS)))]
    elif draw < US_SHARE + BR_SHARE + RU_SHARE:
        fmt = RU_FORMAT
    return render_plate(rng, fmt=fmt, text=text, font_file=font_file, spacing=spacing)


def training_view(image: np.ndarray, plate: SyntheticPlate) -> tuple[np.ndarray, str]:
    """The network's input for a crop of ``plate`` and the text it is to read: two-line
    plates are read from the stitched view, Kazakh ones top line first."""
    view = plate_views(image, size=INPUT_SIZE)[1 if plate.two_line else 0]
    text = plate.text
    if plate.two_line and plate.country == "KZ":
        text = text[:3] + text[-2:] + text[3:-2]
    return view, text


def synthetic_sample(rng: np.random.Generator, strength: float = 1.0) -> tuple[np.ndarray, str]:
    plate = synthetic_plate(rng)
    return training_view(augment(plate.image, rng, strength=strength), plate)


def scene_sample(
    rng: np.random.Generator, photos: list, plate: SyntheticPlate | None = None
) -> tuple[np.ndarray, str]:
    """A synthetic plate (or ``plate``: a real crop) put in place of the real plate of a
    training photograph, at the resolution plates have in photographs (45 to 260 pixels
    wide), slightly turned and foreshortened, lit like the scene, blurred, noised and
    JPEG-compressed with it, and cut from it the way the analyzer cuts a detected plate:
    ``rectify`` of an upright box around the plate, off by up to about a tenth of its size as
    the detector's boxes are."""
    from imaging.anpr.rectify import rectify

    image, (x0, y0, x1, y1), _ = photos[int(rng.integers(len(photos)))]
    plate = synthetic_plate(rng) if plate is None else plate
    ph, pw = plate.image.shape[:2]
    width = float(np.exp(rng.uniform(np.log(45), np.log(260))))
    height = width * ph / pw
    scale = width / max(x1 - x0, 1.0) / rng.uniform(0.9, 1.2)
    # a window of the scene around the real plate, brought to the new plate's scale
    win_w, win_h = int(width * 2.2), int(max(height * 3.0, width * 0.8))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = win_w / scale / 2, win_h / scale / 2
    ax, ay = int(max(0, cx - half_w)), int(max(0, cy - half_h))
    bx, by = int(min(image.shape[1], cx + half_w)), int(min(image.shape[0], cy + half_h))
    if bx - ax < 4 or by - ay < 4:
        raise cv2.error("scene window too small")
    window = image[ay:by, ax:bx].copy()
    rx0, ry0 = int(max(0, x0 - ax)), int(max(0, y0 - ay))
    rx1, ry1 = int(min(bx - ax, x1 - ax)), int(min(by - ay, y1 - ay))
    if rx1 > rx0 and ry1 > ry0:  # the real plate's text must not show around the new one
        window[ry0:ry1, rx0:rx1] = cv2.blur(window[ry0:ry1, rx0:rx1], (25, 25))
    size = (round((bx - ax) * scale), round((by - ay) * scale))
    window = cv2.resize(window, (max(size[0], 8), max(size[1], 8)), interpolation=cv2.INTER_AREA)
    small = cv2.resize(
        plate.image, (max(round(width), 8), max(round(height), 4)), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape[:2]
    centre = np.array([(cx - ax) * scale, (cy - ay) * scale]) + rng.normal(0, 0.05, 2) * [sw, sh]
    angle = np.deg2rad(rng.normal(0, 3.0))
    squash = rng.uniform(-0.12, 0.12)  # one side nearer the camera than the other
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * [sw / 2, sh / 2]
    corners[:, 1] *= 1 + squash * np.sign(corners[:, 0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = (corners @ rotation.T + centre).astype(np.float32)
    lit = np.clip(small.astype(np.float32) * rng.uniform(0.55, 1.15) + rng.uniform(-25, 15), 0, 255)
    scene = composite_plate(window, lit, quad)
    if rng.random() < 0.6:
        sigma = rng.uniform(0.2, 1.0) * np.clip(width / 100, 0.4, 1.3)  # small plates are sharp
        scene = cv2.GaussianBlur(scene, (0, 0), sigma)
    scene = np.clip(scene + rng.normal(0, rng.uniform(0, 8), scene.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        scene = jpeg_round_trip(scene, int(rng.integers(30, 90)))
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    extent = hi - lo
    lo = lo + rng.uniform(-0.1, 0.06, 2) * extent
    hi = hi + rng.uniform(-0.06, 0.1, 2) * extent
    box = np.float32([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    return training_view(rectify(scene, box), plate)


class PlateOCR(nn.Module):
    """CNN to a width-wise sequence of frames, a bidirectional GRU, 37 classes
    (blank + 0-9 + A-Z).

    ``arch="base"``: 40x160 input, CNN 32-64-128-128-160, 40 frames, GRU 128 per direction,
    about 160 M multiply-adds per view. ``arch="small"`` (the shipped model): 32x128 input,
    CNN 32-64-96-96-128, 32 frames, GRU 96, about 70 M multiply-adds.
    """

    SIZES: ClassVar[dict[str, tuple[int, int]]] = {"base": (40, 160), "small": (32, 128)}

    def __init__(self, arch: str = "base") -> None:
        super().__init__()
        widths = (32, 64, 128, 128, 160, 128) if arch == "base" else (32, 64, 96, 96, 128, 96)
        height = self.SIZES[arch][0]

        def conv(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )

        c1, c2, c3, c4, c5, hidden = widths
        self.features = nn.Sequential(
            conv(1, c1),
            nn.MaxPool2d(2),  # H/2 x W/2
            conv(c1, c2),
            nn.MaxPool2d(2),  # H/4 x W/4
            conv(c2, c3),
            conv(c3, c4),
            nn.MaxPool2d((2, 1)),  # H/8 x W/4
            conv(c4, c5),
            nn.MaxPool2d((height // 8, 1)),  # 1 x W/4
        )
        self.rnn = nn.GRU(c5, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).squeeze(2).permute(0, 2, 1)  # (N, T, C5)
        seq, _ = self.rnn(f)
        return self.head(seq)  # (N, T, C) logits


def load_onnx_weights(net: PlateOCR, onnx_path: Path) -> None:
    """Start ``net`` from an exported model (the shipped one): the convolutions as
    :func:`train_detector.load_folded_convs` loads them (keep the batch norms in eval mode,
    :func:`freeze_batch_norms`), the GRU's gates from ONNX's (z, r, h) order to PyTorch's
    (r, z, n), the head's matrix transposed."""
    weights, nodes = load_folded_convs(net, onnx_path)
    with torch.no_grad():
        gru = next(n for n in nodes if n.op_type == "GRU")
        w, r, b = (weights[name] for name in gru.input[1:4])
        hidden = r.shape[2]

        def gates(m: np.ndarray) -> torch.Tensor:  # (z, r, h) -> (r, z, n) along axis 0
            z_, r_, h_ = np.split(m, 3, axis=0)
            return torch.from_numpy(np.concatenate([r_, z_, h_], axis=0).copy())

        for k, suffix in enumerate(("", "_reverse")):
            getattr(net.rnn, f"weight_ih_l0{suffix}").copy_(gates(w[k]))
            getattr(net.rnn, f"weight_hh_l0{suffix}").copy_(gates(r[k]))
            getattr(net.rnn, f"bias_ih_l0{suffix}").copy_(gates(b[k, : 3 * hidden]))
            getattr(net.rnn, f"bias_hh_l0{suffix}").copy_(gates(b[k, 3 * hidden :]))
        matmul = next(n for n in nodes if n.op_type == "MatMul")
        net.head.weight.copy_(torch.from_numpy(weights[matmul.input[1]].T.copy()))
        net.head.bias.copy_(torch.from_numpy(weights["head.bias"].copy()))


def train(
    minutes: float,
    batch: int = 48,
    arch: str = "base",
    *,
    detector: str = "anpr-detector",
    init: Path | None = None,
    init_onnx: Path | None = None,
    lr: float = 1e-3,
    average_from: float | None = None,
) -> PlateOCR:
    global US_TEXTS
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    us_train, _ = us_crops()
    US_TEXTS = tuple(t for _, t in us_train)
    photos_train, _ = split(load_photos())
    photos = photo_crops(photos_train)
    quads = detector_quads(photos, detector)
    print(f"detector corners for {sum(q is not None for q in quads)} of {len(quads)} photo plates")
    print(f"{len(FONTS)} system fonts: {', '.join(Path(f).name for f in FONTS)}", flush=True)
    us_images = [(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), t) for p, t in us_train]
    queue_: queue.Queue = queue.Queue(maxsize=6)

    def produce() -> None:
        while True:
            views, texts = [], []
            fresh = init is None and init_onnx is None
            early = fresh and time.monotonic() - start < minutes * 60 / 5
            while len(views) < batch:
                r = rng.random()
                try:
                    if not early and r < 0.5 * SCENE_SHARE:
                        view, text = scene_sample(rng, photos)
                    elif early or r < 0.5:
                        view, text = synthetic_sample(rng, 0.5 if early else 1.0)
                    elif r < 0.78:
                        image, text = us_images[int(rng.integers(len(us_images)))]
                        # drawn only when asked for, so the default runs keep their samples
                        if US_SCENE_SHARE and rng.random() < US_SCENE_SHARE:
                            real = SyntheticPlate(image, text, "US", False)
                            view, text = scene_sample(rng, photos, real)
                        else:
                            if rng.random() < 0.5:
                                image = augment(image, rng, strength=0.4)
                            if rng.random() < PHOTO_LIKE_SHARE:
                                image = photo_like(image, rng)
                            view = plate_views(image, size=INPUT_SIZE)[0]
                    else:
                        k = int(rng.integers(len(photos)))
                        image, box, text = photos[k]
                        quad = quads[k]
                        if PHOTO_SMALL_SHARE and rng.random() < PHOTO_SMALL_SHARE:
                            image, box, quad = farther(image, box, quad, rng)
                        if quad is not None and rng.random() < 0.5:
                            crop = rectified_with_jitter(image, quad, rng)
                        else:
                            crop = crop_with_jitter(image, box, rng, jitter=0.12)
                        if crop.size == 0:
                            continue
                        view = plate_views(crop, size=INPUT_SIZE)[0]
                except cv2.error:
                    continue
                if VIEW_BLUR_SHARE and rng.random() < VIEW_BLUR_SHARE:
                    view = blurred_view(view, rng)
                if VIEW_TONE_SHARE and rng.random() < VIEW_TONE_SHARE:
                    view = toned_view(view, rng)
                views.append(view)
                texts.append(text)
            queue_.put((views, texts))

    start = time.monotonic()
    deadline = start + minutes * 60
    threading.Thread(target=produce, daemon=True).start()
    net = PlateOCR(arch)
    if init is not None:
        net.load_state_dict(torch.load(init))
    if init_onnx is not None:
        load_onnx_weights(net, init_onnx)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.train()
    if init_onnx is not None:
        freeze_batch_norms(net)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    step = 0
    averaged: dict[str, torch.Tensor] | None = None  # weights averaged over the run's end
    averages = 0
    while time.monotonic() < deadline:
        views, texts = queue_.get(timeout=120)
        x = torch.from_numpy(np.stack(views)[:, None].astype(np.float32))
        targets = torch.tensor([i for t in texts for i in encode(t)], dtype=torch.long)
        lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
        progress = (time.monotonic() - start) / (minutes * 60)
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))
        logits = net(x)
        log_probs = F.log_softmax(logits, dim=2).permute(1, 0, 2)  # (T, N, C)
        input_lengths = torch.full((len(texts),), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, targets, input_lengths, lengths)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        if average_from is not None and progress >= average_from and step % 10 == 0:
            state = {k: v.detach().clone().float() for k, v in net.state_dict().items()}
            if averaged is None:
                averaged = state
            else:
                for key, value in state.items():
                    averaged[key] += (value - averaged[key]) / (averages + 1)
            averages += 1
        if step % 50 == 0:
            print(
                f"step {step} {time.monotonic() - start:6.0f}s loss {loss.item():.3f}", flush=True
            )
    if averaged is not None:
        current = net.state_dict()
        net.load_state_dict({k: v.to(current[k].dtype) for k, v in averaged.items()})
        print(f"weights averaged over the last {averages} snapshots (every 10 steps)")
    return net


def export(net: PlateOCR, path: Path) -> None:
    net.eval()
    dummy = torch.zeros(2, 1, *INPUT_SIZE)
    torch.onnx.export(
        net,
        dummy,
        str(path),
        input_names=["images"],
        output_names=["logits"],
        dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def evaluate(onnx_path: Path) -> dict:
    from imaging.anpr.read import read_plates

    results: dict = {}
    _, us_held = us_crops()
    crops = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p, _ in us_held]
    read = read_plates(crops, model=str(onnx_path))  # also opens the session
    truth = [t for _, t in us_held]
    results["us_crops_held_out"] = _score(read, truth)
    results["ms_per_crop_batched_us_crops"] = _time_per_crop(crops, onnx_path)
    rng = np.random.default_rng(EVAL_SEED + 2000)
    one_line = [
        augment(render_plate(rng, fmt=FORMATS[k % len(FORMATS)], two_line=False).image, rng)
        for k in range(128)
    ]
    results["ms_per_crop_batched_one_line"] = _time_per_crop(one_line, onnx_path)
    nomeroff = DATA / "nomeroff-net" / "data" / "dataset" / "TextDetector" / "ocr_example" / "test"
    names = sorted(nomeroff.glob("img/*.png"))
    texts = [
        json.loads((nomeroff / "ann" / f"{p.stem}.json").read_text())["description"] for p in names
    ]
    images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in names]
    got = read_plates(images, model=str(onnx_path))
    results["nomeroff_crops"] = {
        **_score(got, [normalize_text(t) for t in texts]),
        "read": {p.name: r.text for p, r in zip(names, got, strict=True)},
    }
    _, photos_held = split(load_photos())
    held = photo_crops(photos_held)
    rng = np.random.default_rng(EVAL_SEED)
    crops = [crop_with_jitter(img, box, rng, jitter=0.0) for img, box, _ in held]
    photo_read = read_plates(crops, model=str(onnx_path))
    results["photo_plates_held_out"] = _score(photo_read, [t for *_, t in held])
    results["calibration_real_held_out"] = _calibration(
        [*read, *photo_read], [*truth, *(t for *_, t in held)]
    )
    per_format = {}
    for index, fmt in enumerate(FORMATS):
        rng = np.random.default_rng(EVAL_SEED + 1 + index)  # seeds the training never drew
        plates = [render_plate(rng, fmt=fmt) for _ in range(SYNTHETIC_PER_FORMAT)]
        images = [augment(p.image, rng, strength=0.5) for p in plates]
        got = read_plates(images, model=str(onnx_path))
        per_format[f"{fmt.country} {fmt.name}"] = _score(got, [p.text for p in plates])["exact"]
    kz = FORMATS[0]
    rng = np.random.default_rng(EVAL_SEED + 1000)
    plates = [render_plate(rng, fmt=kz, two_line=True) for _ in range(SYNTHETIC_PER_FORMAT)]
    got = read_plates([augment(p.image, rng, strength=0.5) for p in plates], model=str(onnx_path))
    per_format["KZ two-line"] = _score(got, [p.text for p in plates])["exact"]
    results["synthetic_exact_per_format"] = per_format
    results["synthetic_exact_mean"] = float(np.mean(list(per_format.values())))
    return results


def _time_per_crop(crops: list, onnx_path: Path, repeats: int = 5) -> dict:
    """Median over ``repeats`` runs of reading all ``crops`` in one call, per crop: wall time
    and the process's CPU time (all threads; less sensitive to other jobs on the machine)."""
    from imaging.anpr.read import read_plates

    read_plates(crops[:8], model=str(onnx_path))
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        read_plates(crops, model=str(onnx_path))
        wall.append((time.perf_counter() - start) / len(crops) * 1000)
        cpu.append((time.process_time() - cpu_start) / len(crops) * 1000)
    return {"wall_ms": round(float(np.median(wall)), 3), "cpu_ms": round(float(np.median(cpu)), 3)}


def _calibration(read, truth) -> dict:
    """Accuracy (O/0 folded) per confidence bin, and the expected calibration error."""
    conf = np.array([r.confidence for r in read])
    right = np.array(
        [r.text.replace("O", "0") == t.replace("O", "0") for r, t in zip(read, truth, strict=True)]
    )
    bins = {}
    ece = 0.0
    for lo, hi in ((0.0, 0.3), (0.3, 0.6), (0.6, 0.8), (0.8, 0.95), (0.95, 1.01)):
        inside = (conf >= lo) & (conf < hi)
        if inside.any():
            bins[f"{lo:.2f}-{min(hi, 1.0):.2f}"] = {
                "n": int(inside.sum()),
                "mean_confidence": round(float(conf[inside].mean()), 3),
                "accuracy": round(float(right[inside].mean()), 3),
            }
            ece += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return {"bins": bins, "ece": round(float(ece), 4)}


def _score(read, truth) -> dict:
    exact = sum(r.text == t for r, t in zip(read, truth, strict=True))
    folded = sum(
        r.text.replace("O", "0") == t.replace("O", "0") for r, t in zip(read, truth, strict=True)
    )
    return {
        "n": len(truth),
        "exact": exact / max(len(truth), 1),
        "exact_o0_folded": folded / max(len(truth), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--arch", choices=["base", "small"], default="small")
    parser.add_argument(
        "--ttf-share",
        type=float,
        default=0.0,
        help="share of synthetic plates drawn in the system's TrueType fonts",
    )
    parser.add_argument(
        "--us-share", type=float, default=0.2, help="share of synthetic plates in the US layout"
    )
    parser.add_argument(
        "--br-share",
        type=float,
        default=0.1,
        help="share of synthetic plates in the Brazilian layouts",
    )
    parser.add_argument(
        "--ru-share",
        type=float,
        default=0.0,
        help="share of synthetic plates in the Russian layout (beyond its share of the rest)",
    )
    parser.add_argument(
        "--scene-share",
        type=float,
        default=0.0,
        help="share of synthetic plates put in place of a training photograph's plate and cut"
        " from the scene as the analyzer cuts detected plates",
    )
    parser.add_argument(
        "--photo-like",
        type=float,
        default=0.0,
        help="share of the real US crops brought down to the plates' resolution in photographs",
    )
    parser.add_argument(
        "--photo-small",
        type=float,
        default=0.0,
        help="share of the photo plates cut from their photo brought down to 35-80 %% of its"
        " resolution (plates farther from the camera)",
    )
    parser.add_argument(
        "--us-scene-share",
        type=float,
        default=0.0,
        help="share of the real US crops put in place of a training photograph's plate and cut"
        " from the scene as --scene-share does",
    )
    parser.add_argument(
        "--spacing-share",
        type=float,
        default=0.0,
        help="share of the TrueType plates set with other letter spacing than the font's, fixed"
        " pitch half of the time (imaging.anpr.synth.Spacing)",
    )
    parser.add_argument(
        "--view-blur",
        type=float,
        default=0.0,
        help="share of the training views blurred at the network's input scale (blurred_view)",
    )
    parser.add_argument(
        "--view-tone",
        type=float,
        default=0.0,
        help="share of the training views given another gamma, as over- or under-exposed"
        " photos give them (toned_view)",
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="save the trained PyTorch weights here (for fine-tuning)"
    )
    parser.add_argument("--init", type=Path, help="start from these PyTorch weights (fine-tune)")
    parser.add_argument(
        "--init-onnx",
        type=Path,
        help="start from an exported model of the same architecture (e.g. the shipped one)",
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument(
        "--average-from",
        type=float,
        help="ship the average of the weights from this fraction of the run on (every 10"
        " steps; meant for fine-tuning from --init-onnx, whose batch norms stay frozen)",
    )
    parser.add_argument(
        "--detector",
        default="anpr-detector",
        help="plate detector whose corners cut the run-time-like training crops",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for the ONNX, its sidecar and metrics"
    )
    args = parser.parse_args()
    global TTF_SHARE, US_SHARE, BR_SHARE, RU_SHARE, PHOTO_LIKE_SHARE, SCENE_SHARE, US_SCENE_SHARE
    global PHOTO_SMALL_SHARE, SPACING_SHARE, VIEW_BLUR_SHARE, VIEW_TONE_SHARE
    TTF_SHARE, US_SHARE, BR_SHARE = args.ttf_share, args.us_share, args.br_share
    RU_SHARE = args.ru_share
    PHOTO_LIKE_SHARE, PHOTO_SMALL_SHARE = args.photo_like, args.photo_small
    SCENE_SHARE = args.scene_share
    US_SCENE_SHARE = args.us_scene_share
    SPACING_SHARE = args.spacing_share
    VIEW_BLUR_SHARE = args.view_blur
    VIEW_TONE_SHARE = args.view_tone
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "plate_ocr.onnx"
    if not args.evaluate_only:
        global INPUT_SIZE
        INPUT_SIZE = PlateOCR.SIZES[args.arch]
        net = train(
            args.minutes,
            arch=args.arch,
            detector=args.detector,
            init=args.init,
            init_onnx=args.init_onnx,
            lr=args.lr,
            average_from=args.average_from,
        )
        if args.checkpoint:
            torch.save(net.state_dict(), args.checkpoint)
        export(net, onnx_path)
        sidecar = {
            "name": "anpr-ocr",
            "file": onnx_path.name,
            "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            "task": "ocr",
            "input_size": list(INPUT_SIZE),
            "input_layout": "NCHW",
            "color": "gray",
            "normalize": {"scale": 1.0, "mean": [0.0], "std": [1.0]},
            "labels": ["<blank>", *ALPHABET],
            "output_layout": "ctc",
            "card": "plate_ocr.md",
            "description": "plate OCR, CNN + bidirectional GRU + CTC, "
            f"{INPUT_SIZE[0]}x{INPUT_SIZE[1]} grey input",
        }
        (args.out / "plate_ocr.json").write_text(json.dumps(sidecar, indent=2) + "\n")
        from imaging.runtime import clear_sessions

        clear_sessions()
    metrics = evaluate(onnx_path)
    print(json.dumps(metrics, indent=2))
    (args.out / "plate_ocr_eval.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
