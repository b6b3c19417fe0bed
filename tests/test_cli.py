import json
import subprocess
import sys

import numpy as np
import pytest

from imaging import Detections, Flag, Result
from imaging.analyzer import AnalyzerBase, register_analyzer, source_name
from imaging.cli.main import main
from imaging.io import imread, imwrite


class BrightAnalyzer(AnalyzerBase):
    """A trivial analyzer: one detection over the bright pixels, a flag on saturation."""

    name = "bright"

    def analyze(self, image, /, **context):
        pixels = imread(image)
        grey = pixels if pixels.ndim == 2 else pixels.mean(axis=2)
        ys, xs = np.nonzero(grey > 128)
        dets = Detections.empty()
        if len(xs):
            box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            dets = Detections(box, confidence=[0.75], data={"label": ["bright"]})
        flags = []
        if grey.max() >= 255:
            flags.append(Flag("saturated", (0, 0, grey.shape[1], grey.shape[0]), 1.0, "clipped"))
        return Result(
            source_name(image, context), self.name, detections=dets, flags=flags,
            image_shape=pixels.shape, timings_ms={"total": 0.1},
        )  # fmt: skip


@pytest.fixture(autouse=True)
def _register():
    register_analyzer("bright", BrightAnalyzer, replace=True)


@pytest.fixture
def images(tmp_path):
    a = np.zeros((20, 30), np.uint8)
    a[5:10, 8:20] = 255
    imwrite(tmp_path / "a.png", a)
    imwrite(tmp_path / "b.png", np.full((10, 10), 50, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    return tmp_path


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_analyze_json_one_line_per_input(images, capsys):
    code = main(["bright", "analyze", str(images / "a.png"), str(images / "b.png"), "--json"])
    assert code == 0
    lines = json_lines(capsys.readouterr().out)
    assert [line["source"] for line in lines] == [str(images / "a.png"), str(images / "b.png")]
    first = lines[0]
    assert first["schema"] == "imaging.result" and first["modality"] == "bright"
    assert first["detections"] == [
        {"box": [8.0, 5.0, 20.0, 10.0], "score": 0.75, "label": "bright", "class_id": 0}
    ]
    assert first["flags"][0]["box"] == [0.0, 0.0, 30.0, 20.0]
    assert {"box", "score", "label"} <= set(first["flags"][0])
    assert lines[1]["detections"] == [] and lines[1]["flags"] == []


def test_failures_are_reported_and_exit_1(images, capsys):
    code = main(
        ["bright", "analyze", str(images / "broken.png"), str(images / "a.png"),
         str(images / "missing.png"), "--json"]
    )  # fmt: skip
    assert code == 1
    captured = capsys.readouterr()
    lines = json_lines(captured.out)
    assert len(lines) == 3
    assert set(lines[0]) == {"source", "error"} and "broken.png" in lines[0]["error"]
    assert lines[1]["modality"] == "bright"
    assert lines[2]["source"].endswith("missing.png") and "no such file" in lines[2]["error"]
    assert captured.err.count("imaging: error:") == 2


def test_folder_input_and_text_summary(images, capsys):
    code = main(["bright", "analyze", str(images)])
    assert code == 1  # the broken file inside the folder fails, the others go on
    out = capsys.readouterr().out
    assert "a.png: 1 detection(s); 1 flag(s) (saturated)" in out
    assert "b.png: 0 detection(s)" in out


def test_overlay_written(images, tmp_path, capsys):
    out_dir = tmp_path / "overlays"
    assert main(["bright", "analyze", str(images / "a.png"), "--overlay", str(out_dir)]) == 0
    overlay = imread(out_dir / "a.png")
    assert overlay.shape == (20, 30, 3) and overlay.dtype == np.uint8
    assert (overlay[..., 0] > overlay[..., 2]).any()  # the red flag frame is drawn


@pytest.mark.parametrize(
    "argv",
    [[], ["nonexistent-modality", "analyze", "x.png"], ["bright"], ["bright", "analyze"],
     ["models"], ["bright", "analyze", "x.png", "--no-such-flag"]],
)  # fmt: skip
def test_bad_arguments_exit_2(argv, capsys):
    assert main(argv) == 2


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "imaging" in capsys.readouterr().out


def test_models_commands(capsys):
    assert main(["models", "list"]) == 0
    assert main(["models", "verify"]) == 0
    assert main(["models", "list", "--json"]) == 0


def test_warmup(capsys):
    assert main(["warmup"]) == 0
    assert "analyzer bright: ready" in capsys.readouterr().out


def test_console_entry_point_runs_as_a_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "imaging", "no-such-command"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    result = subprocess.run([sys.executable, "-m", "imaging", "--version"], capture_output=True)
    assert result.returncode == 0
