import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from imaging.cli.main import main
from imaging.compare import (
    CompareError,
    compare,
    detection_metrics,
    edit_distance,
    image_metrics,
    parse_thresholds,
    plate_metrics,
    temperature_metrics,
)
from imaging.io import imwrite


def test_image_metrics_identical_and_noisy(rng):
    ref = rng.integers(0, 256, size=(32, 32), dtype=np.uint8)
    same = image_metrics(ref, ref)
    assert same["psnr_db"] == float("inf") and same["ssim"] == pytest.approx(1.0)
    noisy = np.clip(ref.astype(int) + rng.integers(-10, 11, ref.shape), 0, 255).astype(np.uint8)
    m = image_metrics(noisy, ref)
    assert 25 < m["psnr_db"] < 40 and m["ssim"] < 1.0 and m["max_abs_diff"] == 10.0


def test_temperature_metrics_ignores_nan():
    ref = np.array([[20.0, 21.0], [22.0, np.nan]], np.float32)
    out = np.array([[20.5, 21.0], [21.0, 5.0]], np.float32)
    m = temperature_metrics(out, ref)
    assert m["max_abs_c"] == pytest.approx(1.0) and m["mean_abs_c"] == pytest.approx(0.5)
    assert m["invalid_px"] == 1


def test_detection_metrics_counts():
    truth = [{"box": [0, 0, 10, 10], "label": "gun"}, {"box": [20, 20, 30, 30], "label": "knife"}]
    pred = [
        {"box": [1, 1, 10, 10], "label": "gun", "score": 0.9},
        {"box": [20, 20, 30, 30], "label": "gun", "score": 0.8},  # right place, wrong class
        {"box": [50, 50, 60, 60], "label": "gun", "score": 0.7},
    ]
    m = detection_metrics(pred, truth)
    assert (m["tp"], m["fp"], m["fn"]) == (1, 2, 1)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(0.5)
    assert detection_metrics(pred, truth, use_labels=False)["tp"] == 2
    assert detection_metrics([], [])["f1"] == 1.0


def test_plate_metrics_fold_and_characters():
    truth = [
        {"box": [0, 0, 10, 3], "text": "OY09FEU"},
        {"box": [20, 0, 30, 3], "text": "A123BC777"},
    ]
    pred = [{"box": [0, 0, 10, 3], "text": "0Y09FEU"}, {"box": [20, 0, 30, 3], "text": "A123BC77"}]
    m = plate_metrics(pred, truth)
    assert m["exact"] == 0.0 and m["exact_o0_folded"] == 0.5
    assert m["char_accuracy"] == pytest.approx((6 / 7 + 8 / 9) / 2)
    assert edit_distance("", "ABC") == 3


def test_parse_thresholds():
    assert parse_thresholds(["f1=0.8", "ssim = 0.9"]) == {"f1": 0.8, "ssim": 0.9}
    for bad in (["f1"], ["=1"], ["f1=high"]):
        with pytest.raises(ValueError):
            parse_thresholds(bad)


@pytest.fixture
def folders(tmp_path, rng):
    out, ref = tmp_path / "out", tmp_path / "ref"
    for folder in (out, ref):
        folder.mkdir()
    base = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    imwrite(ref / "a.png", base)
    imwrite(out / "a.png", base)  # identical
    noisy = np.clip(base.astype(int) + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)
    imwrite(ref / "b.png", base)
    imwrite(out / "b.tiff", noisy)  # another extension, same name
    imwrite(ref / "c.png", base)  # no output: missing
    result = {
        "schema": "imaging.result",
        "schema_version": 1,
        "source": "scans/bag1.png",
        "modality": "xray",
        "detections": [{"box": [0, 0, 10, 10], "score": 0.9, "label": "gun", "class_id": 0}],
        "flags": [],
    }
    (out / "results.jsonl").write_text(json.dumps(result) + "\n")
    (ref / "bag1.json").write_text(
        json.dumps({"detections": [{"box": [0, 0, 10, 11], "label": "gun"}]})
    )
    return out, ref


def test_compare_writes_metrics_plot_and_report(folders):
    out, ref = folders
    report = compare(out, ref, fail_under={"ssim": 0.99, "f1": 0.9})
    by_name = {i["name"]: i for i in report.items}
    assert by_name["a.png"]["ssim"] == pytest.approx(1.0)
    assert by_name["b.png"]["ssim"] < 0.99
    assert by_name["c.png"]["status"] == "missing"
    assert by_name["bag1.json"]["f1"] == 1.0
    assert report.items[0]["name"] == "c.png"  # worst first
    assert report.summary["missing"] == 1 and report.summary["f1"] == 1.0
    assert not report.ok and any("ssim" in f for f in report.failures)
    saved = json.loads(report.metrics_json.read_text())
    assert saved["summary"]["items"] == 4
    assert report.plot_png.stat().st_size > 0
    text = report.report_html.read_text()
    assert text.count("data:image/png;base64,") == 7  # 2 x 3 image thumbnails + 1 box picture
    assert "http://" not in text and "https://" not in text  # self-contained


def test_compare_thermal_rasters(tmp_path):
    (tmp_path / "o").mkdir()
    (tmp_path / "r").mkdir()
    ref = np.linspace(20, 40, 64, dtype=np.float32).reshape(8, 8)
    imwrite(tmp_path / "r" / "frame.tiff", ref)
    imwrite(tmp_path / "o" / "frame.tiff", ref + np.float32(0.02))
    report = compare(
        tmp_path / "o", tmp_path / "r", modality="thermal", fail_over={"max_abs_c": 0.05}
    )
    assert report.ok and report.summary["max_abs_c"] == pytest.approx(0.02, abs=1e-4)


def test_compare_errors(tmp_path):
    with pytest.raises(CompareError, match="does not exist"):
        compare(tmp_path / "x", tmp_path)
    (tmp_path / "o").mkdir()
    (tmp_path / "r").mkdir()
    with pytest.raises(CompareError, match="no reference"):
        compare(tmp_path / "o", tmp_path / "r")


def test_cli_compare_gate(folders, capsys):
    out, ref = folders
    assert main(["compare", str(out), str(ref)]) == 0
    assert main(["compare", str(out), str(ref), "--fail-under", "ssim=0.99"]) == 1
    assert main(["compare", str(out), str(ref), "--fail-under", "f1=0.5"]) == 0
    assert main(["compare", str(out), str(ref), "--fail-under", "ssim"]) == 2
    summary = json.loads(capsys.readouterr().out.splitlines()[0])
    assert summary["items"] == 4


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_a_real_browser(folders):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium here: .ci/run installs Debian's chromium package for this test")
    out, ref = folders
    report = compare(out, ref)
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={out / 'chrome-profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            report.report_html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert 'data-images-total="7"' in dom
    assert 'data-images-decoded="7"' in dom
    assert 'data-rows="4"' in dom
    assert "<td>a.png" in dom
