import copy
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fff_builder import build_fff

from imaging import PageError
from imaging.thermal.analyzer import ThermalAnalyzer
from imaging.thermal.planck import ThermalParams
from imaging.thermal.rjpeg import DJIRadiometricError


def comparable(result):
    data = result.to_dict()
    data.pop("timings_ms")
    return json.dumps(data, sort_keys=True, allow_nan=False)


def test_result_layout_on_an_rjpeg(shared_data):
    result = ThermalAnalyzer().analyze(shared_data / "thermal" / "thermimage" / "IR_2412.jpg")
    m = result.measurements
    # the peer decoder's statistics of this file (README table)
    assert (m["min_c"], m["max_c"], m["mean_c"], m["median_c"]) == pytest.approx(
        (22.736, 35.250, 28.259, 29.008), abs=0.0015
    )
    assert m["kind"] == "rjpeg" and m["camera_model"] == "FLIR SC660" and m["invalid_px"] == 0
    assert m["parameters"]["emissivity"] == 0.95 and m["parameters"]["planck_r1"] == 21106.77
    t = result.maps["temperature_c"]
    assert t.dtype == np.float32 and t.shape == (480, 640) == result.image_shape
    assert result.maps["display"].shape == (480, 640, 3)
    assert set(result.timings_ms) == {"decode", "temperature", "statistics", "hotspots", "render"}
    assert result.modality == "thermal" and result.source.endswith("IR_2412.jpg")
    json.dumps(result.to_dict(), allow_nan=False)


def test_sequences_tiffs_and_refusals(shared_data):
    analyzer = ThermalAnalyzer()
    folder = shared_data / "thermal"
    second = analyzer.analyze(folder / "thermimage" / "SampleSEQ.seq", frame=1)
    assert second.measurements["frame"] == 1 and second.measurements["kind"] == "seq"
    with pytest.raises(PageError, match="no frame 5"):
        analyzer.analyze(folder / "thermimage" / "SampleSEQ.seq", frame=5)
    tiff = analyzer.analyze(folder / "flirpy" / "example_radiometric.tiff")
    m = tiff.measurements
    assert m["kind"] == "tlinear" and m["tlinear_scale"] == 0.04 and "parameters" not in m
    assert (m["min_c"], m["max_c"], m["mean_c"]) == pytest.approx((-3.43, 9.93, 6.18), abs=0.01)
    with pytest.raises(DJIRadiometricError):
        analyzer.analyze(folder / "thermal_parser" / "M3T" / "DJI_0001_R.JPG")


def test_undefined_pixels_are_masked_not_averaged():
    raw = np.full((30, 40), 18000, np.uint16)
    raw[:5, :5] = 0  # far below the camera's offset: the model is undefined there
    result = ThermalAnalyzer().analyze(raw, params=ThermalParams())
    t, valid = result.maps["temperature_c"], result.maps["valid_mask"]
    assert np.isnan(t[:5, :5]).all() and not valid[:5, :5].any() and valid.sum() == 1175
    assert result.measurements["invalid_px"] == 25
    assert result.measurements["min_c"] == pytest.approx(23.058, abs=0.001)
    assert result.to_dict()["maps"]["temperature_c"]["min"] == pytest.approx(23.058, abs=0.001)


def test_alarms_and_options():
    t = np.full((40, 50), 20.0, np.float32)
    t[5, 7] = 90.0
    t[30, 40] = -10.0
    result = ThermalAnalyzer(alarm_above_c=60, alarm_below_c=0, palette=None).analyze(t)
    alarms = {f.data["rule"]: f for f in result.flags if f.kind == "alarm"}
    assert alarms["above"].box == (7, 5, 8, 6) and alarms["below"].box == (40, 30, 41, 31)
    assert "display" not in result.maps
    with pytest.raises(ValueError, match="palette"):
        ThermalAnalyzer(palette="sepia")
    with pytest.raises(ValueError, match="at least one"):
        ThermalAnalyzer(above_background_c=None)
    with pytest.raises(ValueError, match="tlinear_scale"):
        ThermalAnalyzer(tlinear_scale=-1)
    hot = ThermalAnalyzer(threshold_c=50, above_background_c=None).analyze(t)
    assert hot.detections.xyxy.tolist() == []  # a single pixel is below min_area_px
    assert len(ThermalAnalyzer(threshold_c=50, min_area_px=1).analyze(t).detections) == 1
    grown = ThermalAnalyzer(threshold_c=50, min_area_px=1, extend_c=40).analyze(t)
    assert grown.detections.data["area_px"].tolist() == [1999]  # all but the cold pixel
    with pytest.raises(ValueError, match="extend_c"):
        ThermalAnalyzer(extend_c=-2)


def test_analyze_never_changes_the_analyzer_and_threads_agree(rng):
    analyzer = ThermalAnalyzer(alarm_above_c=40)
    analyzer.warmup()
    state = copy.deepcopy(vars(analyzer))
    raws = []
    for k in range(6):
        raw = rng.integers(17000, 17600, size=(60, 80)).astype(np.uint16)
        raw[10 + k : 20 + k, 30:40] = 21000 + 500 * k
        raws.append(raw)
    inputs = [build_fff(r, ThermalParams(emissivity=0.9 + 0.01 * k)) for k, r in enumerate(raws)]
    serial = [comparable(analyzer.analyze(d, source=str(k))) for k, d in enumerate(inputs)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [(k % 6, inputs[k % 6]) for k in range(48)]
        threaded = list(
            pool.map(lambda j: comparable(analyzer.analyze(j[1], source=str(j[0]))), jobs)
        )
    assert all(threaded[i] == serial[j[0]] for i, j in enumerate(jobs))
    assert vars(analyzer).keys() == state.keys()
    assert all(
        np.array_equal(v, state[k]) if isinstance(v, np.ndarray) else v == state[k]
        for k, v in vars(analyzer).items()
    )


def test_alarm_rules_from_the_site_and_the_call():
    t = np.full((40, 50), 20.0, np.float32)
    t[5:10, 5:10] = 35.0  # a warm patch in the left half
    door = {"type": "box", "x0": 0, "y0": 0, "x1": 25, "y1": 40}
    wall = {"type": "box", "x0": 25, "y0": 0, "x1": 50, "y1": 40}
    site = [{"rule": "delta", "region": door, "reference": wall, "delta_c": 10, "name": "door"}]
    analyzer = ThermalAnalyzer(alarms=site, detect_people=False)
    result = analyzer.analyze(t)
    (flag,) = [f for f in result.flags if f.kind == "alarm"]
    assert flag.data["rule"] == "delta" and flag.data["difference_c"] == 15.0
    assert "door" in flag.message
    more = analyzer.analyze(t, alarms=[{"rule": "below", "level_c": 25, "statistic": "mean"}])
    assert [f.data["rule"] for f in more.flags if f.kind == "alarm"] == ["delta", "below"]
    assert len(analyzer.analyze(np.full((40, 50), 20.0, np.float32)).flags) == 0
    with pytest.raises(ValueError, match="alarm rule"):
        ThermalAnalyzer(alarms=[{"rule": "sideways"}])
    with pytest.raises(ValueError, match="missing or unknown"):
        analyzer.analyze(t, alarms=[{"rule": "above"}])
    with pytest.raises(TypeError):
        analyzer.alarms[0]["delta_c"] = 1  # the site rules are read-only


def test_analyze_sequence_frame_by_frame(rng, shared_data):
    analyzer = ThermalAnalyzer()
    raws = []
    for k in range(3):
        raw = rng.integers(17000, 17600, size=(40, 50)).astype(np.uint16)
        raw[5:15, 5 + 10 * k : 15 + 10 * k] = 22000
        raws.append(raw)
    seq = b"".join(build_fff(r, ThermalParams()) for r in raws)
    results = list(analyzer.analyze_sequence(seq, source="cam7"))
    assert [r.source for r in results] == ["cam7#0", "cam7#1", "cam7#2"]
    assert [r.detections.xyxy[0, 0] for r in results] == [5, 15, 25]
    assert set(results[0].timings_ms) >= {"decode", "temperature", "hotspots"}
    assert [r.source for r in analyzer.analyze_sequence(seq, start=2)] == ["<bytes>#2"]
    with pytest.warns(UserWarning, match="stopped after 2"):
        assert len(list(analyzer.analyze_sequence(seq[:-50]))) == 2
    emissive = next(analyzer.analyze_sequence(seq, emissivity=0.5))
    assert emissive.measurements["max_c"] > results[0].measurements["max_c"] + 5
    path = shared_data / "thermal" / "thermimage" / "SampleSEQ.seq"
    both = list(analyzer.analyze_sequence(path))
    assert [r.measurements["frame"] for r in both] == [0, 1]
    assert both[1].source.endswith("SampleSEQ.seq#1")
    assert comparable(both[1]).replace("#1", "") == comparable(
        analyzer.analyze(path, frame=1, source=str(path))
    )


def test_saturated_pixels_are_counted(raw_range=(8000, 50000)):
    import struct

    raw = np.full((20, 30), 18000, np.uint16)
    raw[0, :7] = 50000  # at the top of the camera's range: clipped
    fff = bytearray(build_fff(raw, ThermalParams()))
    cam = struct.unpack_from("<I", fff, 0x40 + 32 + 0x0C)[0]
    struct.pack_into("<HH", fff, cam + 0x310, *raw_range)  # RawValueRangeMin/Max
    result = ThermalAnalyzer().analyze(bytes(fff))
    assert result.measurements["saturated_px"] == 7
    assert "saturated_px" not in ThermalAnalyzer().analyze(raw.astype(np.float32)).measurements


def test_warmup_frame_is_a_valid_fff(rng):
    import imagecodecs

    from imaging.thermal.fff import _synthetic_frame, parse_fff

    raw = rng.integers(15000, 20000, size=(8, 12)).astype(np.uint16)
    frame = parse_fff(_synthetic_frame(raw, imagecodecs.png_encode(raw.byteswap())))
    np.testing.assert_array_equal(frame.raw, raw)
    assert frame.raw_format == "png" and frame.params == ThermalParams()
    ThermalAnalyzer().warmup()
