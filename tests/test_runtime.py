import json
import os

import numpy as np
import pytest
from onnx_graphs import constant_output_model

from imaging import ModelError, ModelIntegrityError
from imaging.runtime import (
    OnnxDetector,
    clear_sessions,
    get_session,
    letterbox,
    nms,
    read_spec,
    resolve_providers,
    run_side_by_side,
    sha256_file,
    shipped_models,
    side_by_side_workers,
    verify_model,
)

pytest.importorskip("onnx")


@pytest.fixture(autouse=True)
def _fresh_sessions():
    clear_sessions()
    yield
    clear_sessions()


def yolov8_output(boxes_cxcywh, class_scores):
    """(1, 4+C, N) from N boxes and an (N, C) score matrix."""
    rows = np.concatenate([np.asarray(boxes_cxcywh, np.float32), class_scores], axis=1)
    return rows.T[None].astype(np.float32)


def test_letterbox_geometry():
    out, scale, pad = letterbox(np.zeros((100, 200), np.uint16), (64, 64))
    assert out.shape == (64, 64) and out.dtype == np.uint16
    assert scale == pytest.approx(0.32) and pad == (0.0, 16.0)
    out, scale, pad = letterbox(np.zeros((10, 10, 3), np.uint8), (64, 32))
    assert out.shape == (64, 32, 3) and scale == pytest.approx(3.2) and pad == (0.0, 16.0)


def test_nms_per_score_order():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.4], np.float32), 0.5).tolist() == [1, 2]
    assert nms(boxes, np.array([0.5, 0.9, 0.4], np.float32), 0.95).tolist() == [1, 0, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.5).tolist() == []


def test_yolov8_layout_maps_boxes_back_to_image(tmp_path):
    # image 100x200 -> scale 0.32, pad top 16:
    # the model box (16, 24, 48, 40) is the image box (50, 25, 150, 75)
    scores = np.array([[0.9, 0.1], [0.2, 0.85], [0.88, 0.0], [0.1, 0.1]], np.float32)
    boxes = [[32, 32, 32, 16], [10, 50, 8, 8], [33, 32, 32, 16], [5, 5, 2, 2]]
    path = constant_output_model(
        tmp_path / "v8.onnx",
        yolov8_output(boxes, scores),
        metadata={"names": "{0: 'knife', 1: 'gun'}", "imgsz": "[64, 64]"},
    )
    det = OnnxDetector(path)
    assert det.class_names == ("knife", "gun") and det.input_size == (64, 64)
    dets = det(np.zeros((100, 200, 3), np.uint8))
    assert len(dets) == 2  # the duplicate knife is suppressed, the 0.1 box dropped
    assert dets.data["label"].tolist() == ["knife", "gun"]
    np.testing.assert_allclose(dets.xyxy[0], [50, 25, 150, 75], atol=1e-3)
    assert dets.confidence.tolist() == pytest.approx([0.9, 0.85])
    assert dets.class_id.tolist() == [0, 1]


def test_yolov5_layout_multiplies_objectness(tmp_path):
    rows = np.array([[32, 32, 20, 20, 0.5, 0.9, 0.1], [10, 10, 4, 4, 0.9, 0.2, 0.8]], np.float32)[
        None
    ]
    path = constant_output_model(tmp_path / "v5.onnx", rows)
    det = OnnxDetector(path, class_names=["a", "b"], conf_threshold=0.3)
    dets = det(np.zeros((64, 64), np.uint8))  # grey input is expanded to 3 channels
    assert dets.data["label"].tolist() == ["b", "a"]
    assert dets.confidence.tolist() == pytest.approx([0.72, 0.45])
    np.testing.assert_allclose(dets.xyxy[1], [22, 22, 42, 42], atol=1e-3)


def test_end2end_layout_from_metadata(tmp_path):
    rows = np.array([[10, 10, 20, 30, 0.8, 1], [0, 0, 5, 5, 0.1, 0]], np.float32)[None]
    path = constant_output_model(tmp_path / "e2e.onnx", rows, metadata={"end2end": "True"})
    dets = OnnxDetector(path)(np.zeros((64, 64, 3), np.uint8))
    assert len(dets) == 1 and dets.class_id.tolist() == [1]
    np.testing.assert_allclose(dets.xyxy[0], [10, 10, 20, 30])


def test_detector_accepts_16_bit_and_float_images(tmp_path):
    out = yolov8_output([[32, 32, 10, 10]], np.array([[0.9]], np.float32))
    det = OnnxDetector(constant_output_model(tmp_path / "m.onnx", out))
    for image in (np.zeros((64, 64), np.uint16), np.zeros((64, 64, 3), np.float32)):
        assert len(det(image)) == 1


def test_wrong_class_count_is_a_model_error(tmp_path):
    out = yolov8_output([[32, 32, 10, 10]], np.array([[0.9, 0.1, 0.0]], np.float32))
    path = constant_output_model(tmp_path / "m.onnx", out, metadata={"names": "['a', 'b']"})
    with pytest.raises(ModelError, match="2 class names"):
        OnnxDetector(path)(np.zeros((64, 64, 3), np.uint8))


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        get_session(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a loadable"):
        get_session(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="no shipped model"):
        get_session("no-such-model")


def test_session_is_created_once_and_reused(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", np.zeros((1, 5, 3), np.float32))
    assert get_session(path) is get_session(str(path))
    assert get_session(path, intra_op_threads=1) is not get_session(path)


def test_a_session_asked_for_again_is_not_looked_up_again(tmp_path, monkeypatch):
    """The plate analyzer asks for three sessions per photo: a repeated request returns the
    session without resolving the model's path again."""
    import imaging.runtime as runtime

    path = constant_output_model(tmp_path / "m.onnx", np.zeros((1, 5, 3), np.float32))
    first = get_session(str(path))
    monkeypatch.setattr(runtime, "model_spec", lambda model: pytest.fail("looked up again"))
    assert get_session(str(path)) is first


def test_idle_session_threads_sleep_unless_spinning_is_asked_for(tmp_path, monkeypatch):
    path = constant_output_model(tmp_path / "m.onnx", np.zeros((1, 5, 3), np.float32))

    def spinning_entry(session):
        try:
            return session.get_session_options().get_session_config_entry(
                "session.intra_op.allow_spinning"
            )
        except RuntimeError:  # not set: onnxruntime's default, spinning
            return None

    monkeypatch.delenv("IMAGING_ORT_SPINNING", raising=False)
    sleeping = get_session(path)
    assert spinning_entry(sleeping) == "0"
    monkeypatch.setenv("IMAGING_ORT_SPINNING", "1")
    spinning = get_session(path)
    assert spinning is not sleeping
    assert spinning_entry(spinning) is None


def test_jobs_run_side_by_side_on_single_threaded_sessions_give_the_same_results(monkeypatch):
    """Two or more jobs on the CPU run at once, on one thread each of a shared session; the
    results, in the jobs' order, are bit for bit those of the usual session."""
    monkeypatch.delenv("IMAGING_THREADS", raising=False)
    views = np.random.default_rng(0).random((5, 1, 32, 128), dtype=np.float32)
    jobs = [views[:2], views[2:4], views[4:]]
    seen = []

    def run(session, views):
        seen.append(session.get_session_options().intra_op_num_threads)
        return session.run(None, {"images": views})[0]

    apart = [run(get_session("anpr-ocr"), job) for job in jobs]
    seen.clear()
    together = run_side_by_side("anpr-ocr", jobs, run)
    assert [t.shape[0] for t in together] == [2, 2, 1]
    assert all(np.array_equal(a, t) for a, t in zip(apart, together, strict=True))
    cores = os.cpu_count() or 1
    assert seen == ([1, 1, 1] if cores > 1 else [0, 0, 0])
    seen.clear()
    run_side_by_side("anpr-ocr", jobs[:1], run)  # one job: the usual session
    assert seen == [0]


def test_side_by_side_threads(monkeypatch):
    monkeypatch.delenv("IMAGING_THREADS", raising=False)
    cores = os.cpu_count() or 1
    assert side_by_side_workers(0) == side_by_side_workers(1) == 0
    assert side_by_side_workers(3) == (min(3, cores) if cores > 1 else 0)
    assert side_by_side_workers(3, ["CPUExecutionProvider"]) == side_by_side_workers(3)
    monkeypatch.setenv("IMAGING_THREADS", "1")
    assert side_by_side_workers(3) == 0  # one thread asked for: one job after the other
    monkeypatch.setenv("IMAGING_THREADS", "2")
    assert side_by_side_workers(5) == 2


def test_user_model_digest_is_checked(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", np.zeros((1, 5, 3), np.float32))
    digest = sha256_file(path)
    assert get_session(path, sha256=digest) is not None
    with pytest.raises(ModelIntegrityError):
        get_session(path, sha256="0" * 64)


def test_tampered_shipped_model_is_refused(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", np.zeros((1, 5, 3), np.float32))
    sidecar = tmp_path / "m.json"
    sidecar.write_text(json.dumps({"name": "m", "file": "m.onnx", "sha256": sha256_file(path)}))
    spec = read_spec(sidecar)
    assert verify_model(spec) == sha256_file(path)
    assert get_session(spec) is not None
    clear_sessions()
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="altered"):
        verify_model(spec)
    with pytest.raises(ModelIntegrityError):
        get_session(spec)


def test_providers():
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers("auto")[-1] == "CPUExecutionProvider"
    with pytest.raises(ModelError, match="not available"):
        resolve_providers("NoSuchExecutionProvider")


def test_every_shipped_model_verifies():
    for name, spec in shipped_models().items():
        assert verify_model(spec) == spec.sha256, name
        assert spec.card is not None and spec.card.is_file(), f"{name} has no model card"
