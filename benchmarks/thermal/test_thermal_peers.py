"""Thermal speed against outside peers measured in the same run.

- R-JPEG to °C against ``flirimageextractor`` (its exiftool path: three exiftool calls per
  file, then the Planck formula in numpy), on every FLIR R-JPEG of ../shared/data/thermal.
  Needs ``pip install flirimageextractor`` and exiftool (Debian ``libimage-exiftool-perl``);
  skipped without them.
- Decode plus hotspot analysis of a 640x512 R-JPEG frame against the same pipeline written
  with numpy, OpenCV and scikit-image (fancy-indexed lookup table, median-filtered
  background, ``skimage.measure.label`` + ``regionprops``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from imaging.thermal.hotspots import detect_hotspots
from imaging.thermal.radiometry import read_thermal

DATA = (
    Path(
        os.environ.get(
            "IMAGING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"
        )
    )
    / "thermal"
)
RJPEGS = [
    "read_thermal/flir_example.jpg",  # 240x320, PNG raw
    "read_thermal/ax8.jpg",  # 80x60, PNG raw
    "thermal_parser/FLIR_E40.jpg",  # 160x120, TIFF raw
    "thermimage/IR_2412.jpg",  # 640x480, TIFF raw
    "read_thermal/zenmuse_xtr.jpg",  # 640x512, TIFF raw
]
FRAME_640x512 = DATA / "read_thermal" / "zenmuse_xtr.jpg"

pytestmark = pytest.mark.skipif(not FRAME_640x512.exists(), reason=f"needs {DATA}")


def _flirimageextractor(path: str) -> np.ndarray:
    from flirimageextractor import FlirImageExtractor

    fie = FlirImageExtractor()
    fie.loadfile(path)
    fie.fix_endian = fie.get_image_type().upper() == "PNG"
    return fie.extract_thermal_image()


@pytest.mark.parametrize("name", RJPEGS)
def test_rjpeg_to_celsius_ours(benchmark, name):
    path = str(DATA / name)
    benchmark.group = f"R-JPEG to degC: {Path(name).name}"
    read_thermal(path).temperature_c()
    benchmark(lambda: read_thermal(path).temperature_c())


@pytest.mark.parametrize("name", RJPEGS)
def test_rjpeg_to_celsius_peer_flirimageextractor(benchmark, name):
    pytest.importorskip("flirimageextractor")
    if shutil.which("exiftool") is None:
        pytest.skip("flirimageextractor needs exiftool (apt install libimage-exiftool-perl)")
    path = str(DATA / name)
    benchmark.group = f"R-JPEG to degC: {Path(name).name}"
    ours = read_thermal(path).temperature_c()
    theirs = benchmark.pedantic(_flirimageextractor, args=(path,), rounds=5, warmup_rounds=1)
    assert theirs.shape == ours.shape
    benchmark.extra_info["max_abs_diff_c"] = float(np.nanmax(np.abs(theirs - ours)))


@pytest.fixture(scope="module")
def frame_bytes():
    return FRAME_640x512.read_bytes()


@pytest.mark.benchmark(group="decode + hotspots, 640x512 R-JPEG")
def test_decode_and_hotspots(benchmark, frame_bytes):
    detect_hotspots(read_thermal(frame_bytes).temperature_c())  # JIT and tables outside
    dets = benchmark(lambda: detect_hotspots(read_thermal(frame_bytes).temperature_c()))
    benchmark.extra_info["frames_per_second"] = 1.0 / benchmark.stats.stats.median
    assert len(dets) > 0


def _skimage_pipeline(data: bytes, above_c: float = 5.0) -> list:
    import cv2
    from scipy.ndimage import median_filter
    from skimage.measure import label, regionprops

    from imaging.thermal.planck import raw_lookup_table

    frame = read_thermal(data)
    t = raw_lookup_table(frame.params).astype(np.float32)[frame.raw]
    h, w = t.shape
    factor = max(1, (max(15, min(h, w) // 2) | 1) // 15)
    small = cv2.resize(t, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    background = cv2.resize(
        median_filter(small, size=15, mode="mirror"), (w, h), interpolation=cv2.INTER_NEAREST
    )
    labels = label(t - background >= above_c, connectivity=2)
    regions = [r for r in regionprops(labels, intensity_image=t) if r.area >= 4]
    stats = [(r.bbox, r.area, r.centroid, r.intensity_max, r.intensity_mean) for r in regions]
    return sorted(stats, key=lambda s: -s[3])[:100]


@pytest.mark.benchmark(group="decode + hotspots, 640x512 R-JPEG")
def test_decode_and_hotspots_peer_skimage(benchmark, frame_bytes):
    from imaging.thermal.planck import raw_lookup_table

    raw_lookup_table(read_thermal(frame_bytes).params)
    benchmark(_skimage_pipeline, frame_bytes)
