"""Core speed: image reading against the bare decoders, ONNX call overhead against a bare
session, import time against an empty interpreter, first analysis after warm-up."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import tifffile

from imaging.io import imread, imwrite
from imaging.runtime import OnnxDetector, get_session


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    rng = np.random.default_rng(0)
    raw = (rng.normal(30000, 8000, size=(1024, 1280))).clip(0, 65535).astype(np.uint16)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (5, 5), 0)
    imwrite(folder / "raw16.png", raw)
    imwrite(folder / "photo.jpg", photo)
    tifffile.imwrite(folder / "stack.tiff", np.stack([raw, raw]))
    return folder


@pytest.mark.benchmark(group="read 16-bit PNG 1280x1024")
def test_imread_png16(benchmark, files):
    benchmark(imread, files / "raw16.png")


@pytest.mark.benchmark(group="read 16-bit PNG 1280x1024")
def test_png16_peer_cv2(benchmark, files):
    benchmark(cv2.imread, str(files / "raw16.png"), cv2.IMREAD_UNCHANGED)


@pytest.mark.benchmark(group="read JPEG 1280x720")
def test_imread_jpeg(benchmark, files):
    benchmark(imread, files / "photo.jpg")


@pytest.mark.benchmark(group="read JPEG 1280x720")
def test_jpeg_peer_cv2(benchmark, files):
    benchmark(cv2.imread, str(files / "photo.jpg"), cv2.IMREAD_UNCHANGED)


@pytest.mark.benchmark(group="read 2-page TIFF")
def test_imread_tiff(benchmark, files):
    benchmark(imread, files / "stack.tiff")


@pytest.mark.benchmark(group="read 2-page TIFF")
def test_tiff_peer_tifffile(benchmark, files):
    benchmark(tifffile.imread, files / "stack.tiff")


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "tests"))
    from onnx_graphs import constant_output_model

    out = np.zeros((1, 6, 100), np.float32)
    out[0, :4] = 32.0
    out[0, 4, :5] = 0.9
    path = constant_output_model(
        tmp_path_factory.mktemp("m") / "det.onnx", out, input_shape=(1, 3, 320, 320)
    )
    return path


@pytest.mark.benchmark(group="ONNX detector call, 320x320")
def test_onnx_detector_call(benchmark, tiny_detector):
    detector = OnnxDetector(tiny_detector)
    image = np.zeros((480, 640, 3), np.uint8)
    detector(image)
    benchmark(detector, image)


@pytest.mark.benchmark(group="ONNX detector call, 320x320")
def test_onnx_peer_bare_session(benchmark, tiny_detector):
    """The floor: the same session run on an already prepared tensor."""
    session = ort.InferenceSession(str(tiny_detector), providers=["CPUExecutionProvider"])
    tensor = np.zeros((1, 3, 320, 320), np.float32)
    benchmark(session.run, None, {"images": tensor})


@pytest.mark.benchmark(group="ONNX cached session lookup")
def test_get_session_cached(benchmark, tiny_detector):
    get_session(tiny_detector)
    benchmark(get_session, tiny_detector)


@pytest.mark.benchmark(group="ONNX cached session lookup")
def test_session_peer_create_each_time(benchmark, tiny_detector):
    benchmark(ort.InferenceSession, str(tiny_detector), providers=["CPUExecutionProvider"])


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.benchmark(group="cold start: import")
def test_import_imaging(benchmark):
    benchmark.pedantic(_run, args=("import imaging",), rounds=7, warmup_rounds=1)


@pytest.mark.benchmark(group="cold start: import")
def test_import_peer_empty_interpreter(benchmark):
    benchmark.pedantic(_run, args=("pass",), rounds=7, warmup_rounds=1)


@pytest.mark.benchmark(group="cold start: import")
def test_import_peer_numpy(benchmark):
    benchmark.pedantic(_run, args=("import numpy",), rounds=7, warmup_rounds=1)
