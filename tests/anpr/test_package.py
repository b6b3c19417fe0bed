"""The anpr package stays light to import, and the OCR session is created once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def test_import_is_light():
    code = (
        "import sys, imaging.anpr, imaging.anpr.formats; "
        "print(sorted(m for m in ('cv2', 'onnxruntime', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ocr_session_is_created_once():
    from imaging.anpr.read import _session, read_plates
    from imaging.anpr.synth import render_plate

    plate = render_plate(np.random.default_rng(0)).image
    read_plates([plate])
    first = _session("anpr-ocr", "cpu")
    read_plates([plate, plate])
    assert _session("anpr-ocr", "cpu") is first


def test_shipped_sidecar_describes_the_model():
    import hashlib

    from imaging.anpr.formats import ALPHABET

    folder = Path(__file__).resolve().parents[2] / "models" / "anpr"
    spec = json.loads((folder / "plate_ocr.json").read_text())
    assert spec["name"] == "anpr-ocr" and spec["task"] == "ocr"
    assert spec["labels"] == ["<blank>", *ALPHABET] and spec["output_layout"] == "ctc"
    assert spec["input_layout"] == "NCHW" and spec["color"] == "gray"
    model = (folder / spec["file"]).read_bytes()
    assert hashlib.sha256(model).hexdigest() == spec["sha256"]
    assert len(model) < 5_000_000
    assert (folder / spec["card"]).is_file()
    from imaging.anpr.read import _session

    dims = _session("anpr-ocr", "cpu").get_inputs()[0].shape
    assert list(dims[2:]) == spec["input_size"]
