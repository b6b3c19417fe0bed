import subprocess
import sys
import threading

import numpy as np
import pytest

from imaging import AnalyzerNotFoundError, Detections, Flag, Result
from imaging.analyzer import (
    Analyzer,
    AnalyzerBase,
    available_analyzers,
    get_analyzer,
    register_analyzer,
    source_name,
)
from imaging.draw import draw, to_display


class Counting(AnalyzerBase):
    name = "counting"

    def __init__(self, *, threshold=0.5):
        self.threshold = threshold

    def analyze(self, image, /, **context):
        mean = float(np.asarray(image).mean())
        return Result(source_name(image, context), self.name, measurements={"mean": mean})


def test_register_and_get_shared_instance():
    register_analyzer("counting", Counting, replace=True)
    assert "counting" in available_analyzers()
    first = get_analyzer("counting")
    assert first is get_analyzer("counting")
    assert isinstance(first, Analyzer)
    other = get_analyzer("counting", threshold=0.9)
    assert other is not first and other.threshold == 0.9


def test_unknown_analyzer_lists_known_names():
    register_analyzer("counting", Counting, replace=True)
    with pytest.raises(AnalyzerNotFoundError, match="counting") as info:
        get_analyzer("no-such")
    assert isinstance(info.value, KeyError)


def test_duplicate_registration_refused():
    register_analyzer("dup-test", Counting, replace=True)
    with pytest.raises(ValueError, match="already registered"):
        register_analyzer("dup-test", lambda: Counting())
    with pytest.raises(ValueError):
        register_analyzer("", Counting)


def test_analyze_many_is_lazy_and_ordered():
    analyzer = Counting()
    images = (np.full((2, 2), v, np.float32) for v in (1, 2, 3))
    results = analyzer.analyze_many(images, source="s")
    assert [r.measurements["mean"] for r in results] == [1.0, 2.0, 3.0]


def test_source_name():
    assert source_name(np.zeros(1), {}) == "<array>"
    assert source_name("a/b.png", {}) == "a/b.png"
    assert source_name("a/b.png", {"source": "cam-1"}) == "cam-1"


def test_registry_is_thread_safe():
    register_analyzer("counting", Counting, replace=True)
    seen = []

    def work():
        seen.append(get_analyzer("counting"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(a) for a in seen}) == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_to_display_dtypes(rng, dtype):
    image = (rng.random((6, 7)) * 200).astype(dtype)
    shown = to_display(image)
    assert shown.dtype == np.uint8 and shown.shape == (6, 7, 3)
    if dtype is np.uint8:
        np.testing.assert_array_equal(shown[..., 0], image)
    else:
        assert shown.min() == 0 and shown.max() == 255


def test_to_display_handles_nan_and_constant():
    image = np.full((4, 4), np.nan, np.float32)
    assert to_display(image).max() == 0
    assert to_display(np.ones((4, 4), np.float32)).shape == (4, 4, 3)
    assert to_display(np.zeros((4, 4, 4), np.uint8)).shape == (4, 4, 3)


def test_draw_boxes_and_flags_without_touching_input():
    image = np.zeros((40, 60), np.uint8)
    result = Result(
        "x", "demo",
        detections=Detections([[5, 5, 20, 20]], data={"text": ["123ABC02"]}),
        flags=[Flag("dense", (30, 10, 50, 30), 0.9, "look")],
    )  # fmt: skip
    out = draw(image, result)
    assert image.max() == 0
    assert out.shape == (40, 60, 3)
    assert out[10, 5].any()  # detection frame
    red, green, blue = out[20, 50].tolist()  # the flag frame, anti-aliased red
    assert red > 150 and green < 80 and blue < 80


def test_import_is_light():
    code = (
        "import sys, imaging, imaging.results;"
        "heavy = [m for m in ('cv2', 'onnxruntime', 'numba', 'skimage', 'tifffile', 'torch')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
