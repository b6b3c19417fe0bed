"""models/anpr/interpolate_onnx.py: the weight blend the shipped OCR is made with."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from onnx_graphs import constant_output_model

pytest.importorskip("onnx")
SCRIPT = Path(__file__).resolve().parents[2] / "models" / "anpr" / "interpolate_onnx.py"


def _script():
    spec = importlib.util.spec_from_file_location("interpolate_onnx", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(path: Path) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": np.zeros((1, 3, 64, 64), np.float32)})[0]


def test_the_blend_lies_between_the_two_models_weight_by_weight(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    start = constant_output_model(tmp_path / "a" / "m.onnx", np.array([0.0, 10.0, -4.0]))
    tuned = constant_output_model(tmp_path / "b" / "m.onnx", np.array([1.0, 20.0, 4.0]))
    (tmp_path / "a" / "m.json").write_text(json.dumps({"name": "m", "sha256": "old"}))
    script = _script()
    out = script.write_blend(start, tuned, 0.25, tmp_path / "blend")
    np.testing.assert_allclose(_run(out), [0.25, 12.5, -2.0], rtol=1e-6)
    sidecar = json.loads((tmp_path / "blend" / "m.json").read_text())
    assert sidecar == {"name": "m", "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    # the ends of the line are the two models themselves
    np.testing.assert_array_equal(
        _run(script.write_blend(start, tuned, 0.0, tmp_path / "s")), _run(start)
    )
    np.testing.assert_array_equal(
        _run(script.write_blend(start, tuned, 1.0, tmp_path / "t")), _run(tuned)
    )


def test_models_of_different_networks_or_a_bad_alpha_are_refused(tmp_path):
    import onnx

    script = _script()
    one = onnx.load(constant_output_model(tmp_path / "one.onnx", np.zeros(3)))
    other = onnx.load(constant_output_model(tmp_path / "other.onnx", np.zeros(4)))
    with pytest.raises(ValueError, match="not one network"):
        script.interpolate(one, other, 0.5)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        script.interpolate(one, one, 1.5)
