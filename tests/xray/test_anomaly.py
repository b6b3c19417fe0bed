import numpy as np
import pytest

from imaging import EmptyImageError, ModelError
from imaging.cli.main import main
from imaging.io import imwrite
from imaging.xray.analyzer import XrayAnalyzer
from imaging.xray.anomaly import anomaly_flags, anomaly_map, export_normal_model, fit_normal
from imaging.xray.calibrate import attenuation
from imaging.xray.simulate import project_threat, simulate_scan


def empty_container(seed):
    scan = simulate_scan(
        seed, shape=(128, 256), threats=(), container=True, clutter=0, dead_elements=0
    )
    return attenuation(scan.high, dark=scan.dark, air=scan.air[1])


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    model = fit_normal([empty_container(s) for s in range(8)], size=(128, 256), cell=8)
    return export_normal_model(model, tmp_path_factory.mktemp("m") / "normal.onnx")


def test_normal_scan_is_quiet_and_an_inserted_object_is_flagged(model_path):
    normal = empty_container(100)
    z = anomaly_map(normal, model_path)
    assert z.shape == normal.shape and z.dtype == np.float32
    assert anomaly_flags(z) == []
    block = np.zeros((24, 40), np.float32)
    block[4:20, 4:36] = 1.0
    loaded = project_threat(normal, block, top=50, left=120)
    flags = anomaly_flags(anomaly_map(loaded, model_path))
    assert len(flags) == 1
    x0, y0, x1, y1 = flags[0].box
    assert x0 <= 124 and x1 >= 156 and y0 <= 54 and y1 >= 70


def test_analyzer_and_cli_use_the_model(model_path, tmp_path, capsys):
    normal = empty_container(101)
    result = XrayAnalyzer(anomaly_model=str(model_path)).analyze(normal)
    assert "anomaly" in result.maps and not [f for f in result.flags if f.kind == "anomaly"]
    folder = tmp_path / "normal"
    folder.mkdir()
    for s in range(4):
        imwrite(folder / f"scan{s}.tiff", empty_container(200 + s))
    assert main(["xray", "fit-normal", str(folder), "-o", str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0


def test_errors(tmp_path, model_path):
    with pytest.raises(EmptyImageError, match="at least 3"):
        fit_normal([np.zeros((16, 16), np.float32)] * 2, size=(16, 16))
    with pytest.raises(ValueError, match="multiple"):
        fit_normal([], size=(30, 30), cell=8)
    from onnx_graphs import constant_output_model

    other = constant_output_model(
        tmp_path / "other.onnx", np.zeros((1, 5, 2), np.float32), input_shape=(1, 1, 16, 16)
    )
    with pytest.raises(ModelError, match="fit-normal"):
        anomaly_map(np.zeros((16, 16), np.float32), other)
