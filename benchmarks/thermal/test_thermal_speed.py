"""Thermal speed, each figure a ratio against a plain-numpy peer measured in the same run.

- raw counts to °C: the cached 65,536-entry lookup table against the formula per pixel;
- the local-percentile kernel (numba) against its numpy reference (sliding windows);
- per-component statistics (numba) against their numpy reference (``ufunc.at``);
- decoding an R-JPEG with the PNG-compressed raw frame against decoding that PNG alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from imaging.thermal._kernels import (
    component_stats,
    component_stats_reference,
    local_percentile,
    local_percentile_reference,
)
from imaging.thermal.planck import ThermalParams, _to_celsius, raw_to_celsius

PARAMS = ThermalParams(emissivity=0.95, distance_m=3.0, humidity_percent=60.0)


@pytest.fixture(scope="module")
def raw():
    rng = np.random.default_rng(20261125)
    return rng.integers(15000, 25000, size=(480, 640)).astype(np.uint16)


@pytest.mark.benchmark(group="raw to degC 640x480")
def test_raw_to_celsius_lookup_table(benchmark, raw):
    raw_to_celsius(raw, params=PARAMS)  # the table is built once, outside the timing
    out = benchmark(raw_to_celsius, raw, params=PARAMS)
    assert out.dtype == np.float32


@pytest.mark.benchmark(group="raw to degC 640x480")
def test_raw_to_celsius_peer_formula_per_pixel(benchmark, raw):
    p = PARAMS.checked()
    benchmark(lambda: _to_celsius(raw.astype(np.float64), p).astype(np.float32))


@pytest.fixture(scope="module")
def reduced():
    rng = np.random.default_rng(1)
    return (20 + rng.normal(0, 2, size=(64, 80))).astype(np.float32)


@pytest.mark.benchmark(group="local median 64x80, 17x17 window")
def test_local_percentile_kernel(benchmark, reduced):
    local_percentile(reduced, 17, 50)  # JIT compilation outside the timing
    benchmark(local_percentile, reduced, 17, 50)


@pytest.mark.benchmark(group="local median 64x80, 17x17 window")
def test_local_percentile_peer_numpy(benchmark, reduced):
    benchmark(local_percentile_reference, reduced, 17, 50)


@pytest.fixture(scope="module")
def labelled():
    import cv2

    rng = np.random.default_rng(2)
    values = (20 + rng.normal(0, 3, size=(512, 640))).astype(np.float32)
    count, labels = cv2.connectedComponents((values > 24).astype(np.uint8), connectivity=8)
    return labels, values, count


@pytest.mark.benchmark(group="component statistics 640x512")
def test_component_stats_kernel(benchmark, labelled):
    component_stats(*labelled)
    benchmark(component_stats, *labelled)


@pytest.mark.benchmark(group="component statistics 640x512")
def test_component_stats_peer_numpy(benchmark, labelled):
    labels, values, count = labelled
    # the reference's per-label argmax loop is the slow part; time its vectorised statistics
    benchmark(component_stats_reference, labels, values, min(count, 50))


@pytest.fixture(scope="module")
def flir_png_rjpeg():
    import os
    from pathlib import Path

    root = Path(
        os.environ.get(
            "IMAGING_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"
        )
    )
    path = root / "thermal" / "read_thermal" / "flir_example.jpg"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path.read_bytes()


@pytest.mark.benchmark(group="R-JPEG with PNG raw, 240x320")
def test_read_rjpeg_to_celsius(benchmark, flir_png_rjpeg):
    from imaging.thermal.radiometry import read_thermal

    read_thermal(flir_png_rjpeg).temperature_c()
    benchmark(lambda: read_thermal(flir_png_rjpeg).temperature_c())


@pytest.mark.benchmark(group="R-JPEG with PNG raw, 240x320")
def test_read_rjpeg_peer_png_decode_only(benchmark, flir_png_rjpeg):
    import imagecodecs

    start = flir_png_rjpeg.find(b"\x89PNG")
    end = flir_png_rjpeg.find(b"IEND", start) + 8
    png = flir_png_rjpeg[start:end]
    if b"\xff\xe1" in png:  # the PNG spans two APP1 segments: decode the reassembled one
        from imaging.thermal.rjpeg import flir_fff_from_jpeg

        fff = flir_fff_from_jpeg(flir_png_rjpeg)
        start = fff.find(b"\x89PNG")
        png = fff[start : fff.find(b"IEND", start) + 8]
    benchmark(imagecodecs.png_decode, png)
