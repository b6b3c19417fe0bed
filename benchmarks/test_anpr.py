"""Plates: end-to-end speed per photograph against RapidOCR's whole-image pipeline (measured in
the same run), and the OCR alone per crop in batches.

Needs ``pip install rapidocr-onnxruntime`` (its weights ship inside the wheel; benchmark only)
and the development photographs in ../shared/data/anpr.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imaging.io import imread

DATA = Path(
    os.environ.get("IMAGING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ENDTOEND = DATA / "anpr" / "openalpr-benchmarks" / "endtoend"
PHOTOS = sorted((ENDTOEND / "eu").glob("*.jpg"))[:20]
# every development photograph, EU and US: the larger US photos are also searched in tiles
ALL_PHOTOS = sorted((ENDTOEND / "eu").glob("*.jpg")) + sorted((ENDTOEND / "us").glob("*.jpg"))

pytestmark = pytest.mark.skipif(not PHOTOS, reason="needs ../shared/data/anpr")


# benchmark group -> photographs (the ratios pair ours and the peer within a group)
PHOTO_SETS = {
    "plates end to end, 20 dev photos": PHOTOS,
    "plates end to end, all dev photos (EU and US)": ALL_PHOTOS,
}


@pytest.fixture(scope="module", params=list(PHOTO_SETS))
def photo_set(request) -> tuple[str, list[np.ndarray]]:
    return request.param, [imread(p) for p in PHOTO_SETS[request.param]]


def test_anpr_analyzer(benchmark, photo_set):
    from imaging.anpr.analyzer import AnprAnalyzer

    benchmark.group, images = photo_set
    analyzer = AnprAnalyzer()
    analyzer.warmup()
    benchmark.pedantic(lambda: [analyzer.analyze(im) for im in images], rounds=3, warmup_rounds=1)
    benchmark.extra_info["photos_per_second"] = len(images) / benchmark.stats.stats.median


def test_rapidocr_peer(benchmark, photo_set):
    rapidocr = pytest.importorskip("rapidocr_onnxruntime")
    benchmark.group, images = photo_set
    engine = rapidocr.RapidOCR()
    bgr = [np.ascontiguousarray(im[..., ::-1]) for im in images]
    engine(bgr[0])
    benchmark.pedantic(lambda: [engine(im) for im in bgr], rounds=1, warmup_rounds=0)


@pytest.mark.benchmark(group="plate OCR, 64 crops per batch")
def test_ocr_batch(benchmark):
    from imaging.anpr.read import read_plates
    from imaging.anpr.synth import augment, render_plate

    rng = np.random.default_rng(5)
    crops = [augment(render_plate(rng).image, rng) for _ in range(64)]
    read_plates(crops)
    benchmark.pedantic(read_plates, args=(crops,), rounds=5, warmup_rounds=1)
    benchmark.extra_info["ms_per_crop"] = benchmark.stats.stats.median / len(crops) * 1000
