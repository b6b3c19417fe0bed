"""The shipped threat detector through the analyzer, on simulated scans of seeds that neither
training nor the model card's evaluation used."""

import pytest

from imaging.runtime import shipped_models, verify_model
from imaging.xray.analyzer import DEFAULT_DETECTOR, XrayAnalyzer
from imaging.xray.simulate import simulate_scan


@pytest.fixture(scope="module")
def analyzer():
    return XrayAnalyzer()


def _found(flag_box, truth_box) -> bool:
    fx0, fy0, fx1, fy1 = flag_box
    cx, cy = (truth_box[0] + truth_box[2]) / 2, (truth_box[1] + truth_box[3]) / 2
    return fx0 <= cx <= fx1 and fy0 <= cy <= fy1


def test_the_threat_detector_is_shipped_and_used_by_default(analyzer):
    assert DEFAULT_DETECTOR in shipped_models()
    verify_model(DEFAULT_DETECTOR)
    assert analyzer.detector is not None
    assert XrayAnalyzer(detector=None).detector is None


def test_planted_guns_and_knives_raise_threat_flags(analyzer):
    found = total = false = 0
    for seed in range(8_600_000, 8_600_008):
        scan = simulate_scan(seed, shape=(240, 360), threats=("gun", "knife"), clutter=10)
        result = analyzer.analyze(scan.high, low=scan.low, dark=scan.dark, air=scan.air)
        flags = [f for f in result.flags if f.kind == "threat"]
        assert all(f.data["label"] in ("knife", "gun", "blade") for f in flags)
        truth = list(scan.boxes)
        found += sum(any(_found(f.box, b) for f in flags) for b in truth)
        false += sum(not any(_found(f.box, b) for b in truth) for f in flags)
        total += len(truth)
    assert found / total >= 0.8, (found, total)
    assert false / 8 <= 1.0, false


def test_an_empty_bag_raises_few_threat_flags(analyzer):
    flags = 0
    for seed in range(8_700_000, 8_700_006):
        scan = simulate_scan(seed, shape=(240, 360), threats=(), clutter=14)
        result = analyzer.analyze(scan.high, low=scan.low, dark=scan.dark, air=scan.air)
        flags += sum(f.kind == "threat" for f in result.flags)
    assert flags <= 6
