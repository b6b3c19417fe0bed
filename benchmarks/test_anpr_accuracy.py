"""Plates end to end (detect, rectify, read) on the development photographs the models never
trained on: every 4th photo of each openalpr set, sorted by name (``split`` in
``models/anpr/train_detector.py``), 28 photos. Figures go to ``extra_info`` and are printed.

A photo counts as read when the analyzer's most confident plate has the annotated text
(strict), or the same text with O and 0 folded (the annotations sometimes write O for 0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("IMAGING_SHARED_DATA", ROOT.parent / "shared" / "data")) / "anpr"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"needs {DATA}")


def _analyzer():
    """The shipped models, or candidates named by IMAGING_DETECTOR_MODEL / IMAGING_OCR_MODEL /
    IMAGING_REFINER_MODEL (``none``: the detector's boxes only)."""
    from imaging.anpr.analyzer import AnprAnalyzer

    refiner = os.environ.get("IMAGING_REFINER_MODEL", "anpr-box-refiner")
    return AnprAnalyzer(
        detector=os.environ.get("IMAGING_DETECTOR_MODEL", "anpr-detector"),
        ocr=os.environ.get("IMAGING_OCR_MODEL", "anpr-ocr"),
        refiner=None if refiner.lower() == "none" else refiner,
    )


def _run_and_report(benchmark, measure, listed: str, line) -> dict:
    """Measure once; the figures but ``listed`` go to ``extra_info``; print its rows, then them."""
    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    summary = {k: v for k, v in figures.items() if k != listed}
    benchmark.extra_info.update(summary)
    for row in figures[listed]:
        print(line(*row))
    print(summary)
    return figures


def _best_text(detections) -> str:
    """The text of the analyzer's most confident plate ("" when it found none)."""
    texts = detections.data.get("text", [])
    return str(texts[int(detections.confidence.argmax())]) if len(texts) else ""


def _exact_figures(rows: list) -> dict:
    """Strict and O/0-folded exact match of ``(name, truth, read)`` rows."""
    folded = sum(t.replace("O", "0") == b.replace("O", "0") for _, t, b in rows)
    return {
        "photos": len(rows),
        "exact": sum(t == b for _, t, b in rows) / len(rows),
        "exact_o0_folded": folded / len(rows),
        "rows": rows,
    }


def _photo_row(name: str, truth: str, read: str) -> str:
    return f"{name:28s} {truth:10s} {read:10s} {'ok' if truth == read else ''}"


def _held_back_scenes() -> list:
    """(RGB image, annotation) of each held-back development photo."""
    import cv2

    sys.path.insert(0, str(ROOT / "models" / "anpr"))
    from train_detector import load_photos, split

    _, held = split(load_photos())
    return [(cv2.cvtColor(cv2.imread(str(i["path"])), cv2.COLOR_BGR2RGB), i) for i in held]


def test_end_to_end_on_held_back_photos(benchmark):
    sys.path.insert(0, str(ROOT / "models" / "anpr"))
    from train_detector import load_photos, split

    from imaging.anpr.formats import normalize_text

    _, held = split(load_photos())
    analyzer = _analyzer()

    def measure():
        rows = []
        for item in held:
            detections = analyzer.analyze(str(item["path"])).detections
            rows.append((item["path"].name, normalize_text(item["text"]), _best_text(detections)))
        return _exact_figures(rows)

    figures = _run_and_report(benchmark, measure, "rows", _photo_row)
    assert figures["photos"] == len(held)


@pytest.mark.parametrize("scale", [0.5, 0.7, 1.5, 2.0])
def test_end_to_end_on_held_back_photos_at_other_sizes(benchmark, scale):
    """The held-back photos resized (area interpolation down, cubic up) before reading: plates
    from a farther or cheaper camera, or a larger sensor, than the development photos'."""
    import cv2

    from imaging.anpr.formats import normalize_text

    photos = _held_back_scenes()
    analyzer = _analyzer()
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC

    def measure():
        rows = []
        for rgb, item in photos:
            resized = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=interpolation)
            detections = analyzer.analyze(resized).detections
            rows.append((item["path"].name, normalize_text(item["text"]), _best_text(detections)))
        return {"scale": scale, **_exact_figures(rows)}

    figures = _run_and_report(benchmark, measure, "rows", _photo_row)
    assert figures["photos"] == len(photos)


def _read_in_place(analyzer, plates) -> dict:
    """Each ``(plate, photo, annotation)`` of ``plates``: the synthetic plate put over the
    photo's annotated plate, the photo JPEG-compressed (quality 85), then read end to end
    (the analyzer's most confident plate) and at the pasted corners; counted per country."""
    import collections

    import numpy as np

    from imaging.anpr.read import read_plates
    from imaging.anpr.rectify import rectify
    from imaging.anpr.synth import jpeg_round_trip, plate_in_place

    counts = collections.defaultdict(lambda: [0, 0, 0])  # end to end, at the box, plates
    misses = []
    for plate, rgb, item in plates:
        (x0, y0), (x1, y1) = item["corners"][0], item["corners"][2]
        scene, quad = plate_in_place(rgb, (x0, y0, x1, y1), plate.image)
        scene = jpeg_round_trip(scene, 85)
        texts = analyzer.analyze(scene).detections.data.get("text", [])
        read = str(texts[0]) if len(texts) else ""
        at_box = read_plates([rectify(scene, quad)], model=analyzer.ocr)[0].text
        tally = counts[plate.country]
        tally[0] += read == plate.text
        tally[1] += at_box == plate.text
        tally[2] += 1
        if read != plate.text:
            misses.append((item["path"].name, plate.text, read))
    total = np.sum(list(counts.values()), axis=0)
    return {
        "plates": int(total[2]),
        "end_to_end": float(total[0] / total[2]),
        "at_box": float(total[1] / total[2]),
        "per_country": {c: [round(e / n, 3), round(b / n, 3)] for c, (e, b, n) in counts.items()},
        "misses": misses,
    }


def test_synthetic_plates_in_place_of_the_held_back_photos_plates(benchmark):
    """Every supported format on real cars: a synthetic plate of each format (fixed seed, half
    of them in a TrueType font) put over the annotated plate of each held-back photo, in its
    own aspect ratio, as large (plates of every format are about as large: 520 x 112 mm EU,
    305 x 152 mm US, 280 x 200 mm two-line), the photo then JPEG-compressed (quality 85).
    Counted per country, end to end (the analyzer's most confident plate) and at the pasted corners
    (``rectify`` and ``read_plates`` alone), which tells reading errors from detection and
    cutting ones. 27 formats x 28 photos."""

    import numpy as np

    sys.path.insert(0, str(ROOT / "models" / "anpr"))
    from train_ocr import FONTS

    from imaging.anpr.formats import FORMATS
    from imaging.anpr.synth import render_plate

    photos = _held_back_scenes()
    analyzer = _analyzer()

    def measure():
        rng = np.random.default_rng(20261202)

        def plates():
            for fmt in FORMATS:
                for rgb, item in photos:
                    font = str(rng.choice(FONTS)) if FONTS and rng.random() < 0.5 else None
                    yield render_plate(rng, fmt=fmt, font_file=font), rgb, item

        figures = _read_in_place(analyzer, plates())
        figures.pop("misses")
        return figures

    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(figures)
    assert figures["plates"] == len(FORMATS) * len(photos)


def test_two_line_plates_in_place_of_the_held_back_photos_plates(benchmark):
    """Two-line plates (square plates of imported cars, trailers, motorcycles) on real cars:
    one of every format of a country with two-line plates (Kazakhstan since 2012, Russia,
    Belarus, Kyrgyzstan, Armenia; fixed seed) put over the annotated plate of each held-back
    photo as in the test above, the photo then JPEG-compressed (quality 85). Counted per
    country end to end (the analyzer's most confident plate) and at the pasted corners."""

    import numpy as np

    from imaging.anpr.formats import FORMATS
    from imaging.anpr.read import TWO_LINE_COUNTRIES
    from imaging.anpr.synth import render_plate

    photos = _held_back_scenes()
    analyzer = _analyzer()
    # the Kazakh 1993-2012 plates were one-line only
    formats = [f for f in FORMATS if f.country in TWO_LINE_COUNTRIES and f.name != "1993-2012"]

    def measure():
        rng = np.random.default_rng(20261208)
        plates = (
            (render_plate(rng, fmt=fmt, two_line=True), rgb, item)
            for fmt in formats
            for rgb, item in photos
        )
        figures = _read_in_place(analyzer, plates)
        figures["end_to_end"] = round(figures["end_to_end"], 3)
        figures["at_box"] = round(figures["at_box"], 3)
        return figures

    figures = _run_and_report(
        benchmark, measure, "misses", lambda n, t, g: f"{n[:16]:16s} {t:10s} {g:10s}"
    )
    assert figures["plates"] == len(formats) * len(photos)


def test_real_us_plates_in_place_of_the_held_back_photos_plates(benchmark):
    """Real plates on real cars, at a larger count than the 28 photos: the 150 held-out US
    crops of openalpr's seg_and_ocr set (every 5th, never trained on) each put over the
    annotated plate of a held-back photo (in turn), the photo then JPEG-compressed (quality
    85). Counted end to end (the analyzer's most confident plate), at the pasted corners
    (``rectify`` and ``read_plates`` alone) and as found (a box with IoU 0.5 or more)."""
    import cv2
    import numpy as np

    sys.path.insert(0, str(ROOT / "models" / "anpr"))
    from train_ocr import us_crops

    from imaging.anpr.read import read_plates
    from imaging.anpr.rectify import rectify
    from imaging.anpr.synth import jpeg_round_trip, plate_in_place
    from imaging.compare.metrics import box_iou

    photos = _held_back_scenes()
    _, us_held = us_crops()
    analyzer = _analyzer()

    def measure():
        counts, misses = np.zeros(3), []
        for k, (path, text) in enumerate(us_held):
            crop = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            rgb, item = photos[k % len(photos)]
            (x0, y0), (x1, y1) = item["corners"][0], item["corners"][2]
            scene, quad = plate_in_place(rgb, (x0, y0, x1, y1), crop)
            scene = jpeg_round_trip(scene, 85)
            found = analyzer.analyze(scene).detections
            texts = [str(t) for t in found.data.get("text", [])]
            at_box = read_plates([rectify(scene, quad)], model=analyzer.ocr)[0].text
            truth_box = np.float32([[*quad.min(axis=0), *quad.max(axis=0)]])
            overlap = box_iou(truth_box, found.xyxy)[0] if len(found) else np.zeros(1)
            hits = (bool(texts) and texts[0] == text, at_box == text, overlap.max() >= 0.5)
            counts += hits
            if not hits[0]:
                misses.append((path.name, text, texts[0] if texts else ""))
        n = len(us_held)
        names = ("end_to_end", "at_box", "found")
        figures = dict(zip(names, (counts / n).round(3).tolist(), strict=True))
        return {"crops": n, **figures, "misses": misses}

    figures = _run_and_report(
        benchmark, measure, "misses", lambda n, t, g: f"{n:16s} {t:10s} {g:10s}"
    )
    assert figures["crops"] == len(us_held)


def test_end_to_end_on_ukrainian_car_photos(benchmark):
    """nomeroff-net's benchmark photographs of cars with Ukrainian plates (the Cyrillic
    look-alike letters of Customs Union plates), which no model here was trained on: 11 with
    one-line plates and 4 with two-line plates. A photo counts as read when any plate the
    analyzer returns has an annotated text (one photo can show several)."""
    import json

    from imaging.anpr.formats import normalize_text

    examples = DATA / "nomeroff-net" / "data" / "examples"
    sets = {
        "one_line": ("benchmark_oneline_np_images", "accuracy_test_data.json"),
        "two_line": ("benchmark_multiline_np_images", "accuracy_test_data_multiline.json"),
    }
    analyzer = _analyzer()

    def measure():
        figures, rows = {}, []
        for key, (folder, truth_file) in sets.items():
            truth = json.loads((examples / truth_file).read_text(encoding="utf-8"))
            photos = sorted((examples / folder).glob("*.jpeg"), key=lambda p: int(p.stem))
            right = 0
            for path in photos:
                texts = {normalize_text(t) for t in truth[path.name]}
                result = analyzer.analyze(str(path))
                got = [str(t) for t in result.detections.data.get("text", [])]
                hit = bool(texts & set(got))
                right += hit
                rows.append((f"{folder[10:13]}/{path.name}", "/".join(sorted(texts)), got, hit))
            figures[key] = {"photos": len(photos), "read": right / max(len(photos), 1)}
        return figures, rows

    figures, rows = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    for name, truth, got, hit in rows:
        print(f"{name:16s} {truth:10s} {' '.join(got):24s} {'ok' if hit else ''}")
    print(figures)
    assert figures["one_line"]["photos"] == 11 and figures["two_line"]["photos"] == 4


def test_false_plates_on_images_without_vehicles(benchmark):
    """Real images with no vehicle in them (thermal camera JPEGs with overlay text, X-ray
    baggage scans): every plate returned is a false plate."""
    from imaging import ImagingError

    shared = DATA.parent
    images = sorted((shared / "thermal").rglob("*.jpg")) + sorted(
        (shared / "thermal").rglob("*.JPG")
    )
    images += [p for p in sorted((shared / "xray").rglob("*.png")) if "annotations" not in p.parts]
    images += sorted((shared / "xray").rglob("*.jpg"))
    analyzer = _analyzer()

    def measure():
        found, read = [], 0
        for path in images:
            try:
                result = analyzer.analyze(str(path))
            except ImagingError:  # DJI's thermal JPEGs are refused
                continue
            read += 1
            found += [(path.name, str(t)) for t in result.detections.data.get("text", [])]
        return {"images": read, "false_plates": len(found), "found": found}

    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in figures.items() if k != "found"})
    print(figures)
    assert figures["images"] >= 25
