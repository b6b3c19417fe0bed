import json

import numpy as np
import pytest

from imaging import Detections, Flag, Result, ShapeError
from imaging.results import SCHEMA_VERSION


def make_dets():
    return Detections(
        np.array([[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]]),
        confidence=[0.9, 0.4, 0.7],
        class_id=[0, 1, 0],
        data={"label": ["knife", "gun", "knife"], "text": ["A", "B", "C"]},
    )


def test_detections_coerces_dtypes():
    dets = make_dets()
    assert dets.xyxy.dtype == np.float32 and dets.xyxy.shape == (3, 4)
    assert dets.confidence.dtype == np.float32
    assert dets.class_id.dtype == np.int64
    assert dets.data["text"].tolist() == ["A", "B", "C"]


def test_detections_defaults_and_empty():
    dets = Detections([[0, 0, 1, 1]])
    assert dets.confidence.tolist() == [1.0] and dets.class_id.tolist() == [0]
    empty = Detections.empty()
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4)
    assert Detections(np.zeros((0, 4))).to_list() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"xyxy": np.zeros((2, 3))},
        {"xyxy": [[5, 0, 1, 1]]},
        {"xyxy": [[0, 0, np.nan, 1]]},
        {"xyxy": [[0, 0, 1, 1]], "confidence": [1.5]},
        {"xyxy": [[0, 0, 1, 1]], "confidence": [0.5, 0.5]},
        {"xyxy": [[0, 0, 1, 1]], "class_id": [1, 2]},
        {"xyxy": [[0, 0, 1, 1]], "data": {"text": ["a", "b"]}},
        {"xyxy": [[0, 0, 1, 1]], "mask": np.zeros((2, 4, 4))},
    ],
)
def test_detections_validation(kwargs):
    with pytest.raises(ShapeError):
        Detections(**kwargs)


def test_detections_filter_by_mask_index_and_int():
    dets = make_dets()
    kept = dets[dets.confidence > 0.5]
    assert len(kept) == 2
    assert kept.data["label"].tolist() == ["knife", "knife"]
    assert dets[1].data["text"].tolist() == ["B"]
    assert dets[[2, 0]].confidence.tolist() == pytest.approx([0.7, 0.9])
    assert len(dets[1:]) == 2
    with pytest.raises(ShapeError):
        dets[np.array([True, False])]


def test_detections_area():
    assert make_dets().area.tolist() == [100.0, 375.0, 4.0]


def test_merge_fills_missing_extras_and_masks():
    a = Detections([[0, 0, 1, 1]], data={"text": ["X"]}, mask=np.ones((1, 4, 4)))
    b = Detections([[2, 2, 3, 3]], class_id=[3], mask=np.zeros((1, 4, 4)))
    merged = Detections.merge([a, Detections.empty(), b])
    assert len(merged) == 2
    assert merged.class_id.tolist() == [0, 3]
    assert merged.data["text"].tolist() == ["X", None]
    assert merged.mask.shape == (2, 4, 4)
    assert len(Detections.merge([])) == 0


def test_labels_from_names_or_ids():
    dets = Detections([[0, 0, 1, 1], [0, 0, 2, 2]], class_id=[1, 7])
    assert dets.labels(["a", "b"]) == ["b", "7"]
    assert dets.labels({7: "seven"}) == ["1", "seven"]


def test_flag_validation_and_dict():
    flag = Flag("dense", (1, 2, 3, 4), 0.5, "look here", {"area_px": np.int64(7)})
    d = flag.to_dict()
    assert d == {
        "kind": "dense",
        "label": "dense",
        "box": [1.0, 2.0, 3.0, 4.0],
        "score": 0.5,
        "message": "look here",
        "area_px": 7,
    }
    assert Flag.from_dict(d) == flag
    with pytest.raises(ShapeError):
        Flag("x", (0, 0, 1), 0.5)
    with pytest.raises(ShapeError):
        Flag("x", (0, 0, 1, 1), 2.0)


def test_result_round_trip_is_json_and_lossless():
    result = Result(
        source="bag 1.png",
        modality="xray",
        detections=make_dets(),
        flags=[Flag("dense", (0, 0, 5, 5), 1.0, "impenetrable")],
        maps={"enhanced": np.arange(6, dtype=np.float32).reshape(2, 3)},
        measurements={"max_c": np.float32(36.5), "nan": float("nan")},
        timings_ms={"read": 1.23456},
        models={"threat": "ab" * 32},
        image_shape=(2, 3),
    )
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)
    d = json.loads(text)
    assert d["schema_version"] == SCHEMA_VERSION
    assert d["detections"][1] == {
        "box": [5.0, 5.0, 20.0, 30.0],
        "score": 0.4,
        "label": "gun",
        "class_id": 1,
        "text": "B",
    }
    assert d["maps"]["enhanced"] == {"shape": [2, 3], "dtype": "float32", "min": 0.0, "max": 5.0}
    assert d["measurements"] == {"max_c": 36.5, "nan": None}
    back = Result.from_dict(d)
    assert back.source == "bag 1.png" and back.image_shape == (2, 3)
    np.testing.assert_array_equal(back.detections.xyxy, result.detections.xyxy)
    assert back.detections.labels() == ["knife", "gun", "knife"]
    assert back.detections.data["text"].tolist() == ["A", "B", "C"]
    assert back.flags == result.flags
    assert back.models == result.models
    assert back.to_dict()["detections"] == d["detections"]


def test_from_dict_refuses_other_schemas():
    with pytest.raises(ValueError, match="not an"):
        Result.from_dict({"schema": "other"})
    d = Result("a", "b").to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        Result.from_dict(d)


def test_result_type_checks():
    with pytest.raises(TypeError):
        Result("a", "b", detections=[1, 2])
    with pytest.raises(TypeError):
        Result("a", "b", flags=["x"])
