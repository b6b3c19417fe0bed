"""Bad scans: each gives a quality flag naming the problem or a clear ImagingError."""

import numpy as np
import pytest

from imaging import ImagingError, NonFiniteError, ShapeError
from imaging.xray.analyzer import XrayAnalyzer
from imaging.xray.calibrate import attenuation
from imaging.xray.errors import ScanError
from imaging.xray.quality import check_attenuation_range, check_energy_order, quality_flags
from imaging.xray.simulate import simulate_scan


@pytest.fixture(scope="module")
def scan():
    return simulate_scan(11, shape=(128, 192), threats=("knife", "organic_slab"))


@pytest.fixture(scope="module")
def analyzer():
    return XrayAnalyzer(detector=None)


def problems(result):
    return [f.data["problem"] for f in result.flags if f.kind == "quality"]


def test_a_sound_pair_has_no_quality_flag_and_a_plausible_energy_ratio(scan, analyzer):
    result = analyzer.analyze(scan.high, low=scan.low)
    assert problems(result) == []
    assert 1.1 < result.measurements["energy_ratio_median"] < 2.0


def test_swapped_channels_are_refused_with_the_reason(scan, analyzer):
    with pytest.raises(ScanError, match="swapped"):
        analyzer.analyze(scan.low, low=scan.high)
    with pytest.raises(ScanError, match="swapped"):
        analyzer.analyze(np.stack([scan.high, scan.low]))  # a stack must hold low energy first
    with pytest.raises(ScanError, match="identical"):
        analyzer.analyze(scan.high, low=scan.high)


def test_mismatched_pair_is_a_shape_error(scan, analyzer):
    with pytest.raises(ShapeError):
        analyzer.analyze(scan.high, low=scan.low[:, :-3])


@pytest.mark.parametrize("value", [0, 1234, 65535])
def test_constant_scans_are_flagged_not_analyzed_into_garbage(scan, analyzer, value):
    problem = "blank"
    flat = np.full_like(scan.high, value)
    result = analyzer.analyze(flat, low=flat.copy())
    assert problems(result) == [problem, problem]  # high, then low energy
    low_flag = [f for f in result.flags if f.kind == "quality"][1]
    assert low_flag.data["energy"] == "low" and low_flag.message.startswith("low energy:")
    assert result.flags[0].box == (0.0, 0.0, flat.shape[1], flat.shape[0])
    assert "energy_ratio_median" not in result.measurements


def test_no_signal_and_saturation_are_flagged(scan, analyzer):
    dark = scan.high.copy()
    dark[:] = 0
    dark[:, :4] = 30000  # a few live columns: not blank, but nothing came through the rest
    assert "no-signal" in problems(analyzer.analyze(dark))
    assert problems(analyzer.analyze(scan.high, low=scan.low, air=scan.air)) == []
    air = scan.air.copy()  # (energy, row, line), low energy first
    rows = air.shape[1] // 4
    air[1, :rows] = 65535  # the high-energy detector saturates in a quarter of its rows
    hot = scan.high.copy()
    hot[:rows] = np.maximum(hot[:rows], 60000)
    found = analyzer.analyze(hot, low=scan.low, air=air, dark=scan.dark)
    assert problems(found) == ["saturated"]
    flag = next(f for f in found.flags if f.kind == "quality")
    assert flag.data["share"] == pytest.approx(0.25, abs=0.02)
    # a flat-fielded export has its air at full scale by design: no flag without air lines
    export = np.where(scan.high > 0, 65535, 0).astype(np.uint16)
    export[10:60, 20:90] = 20000
    assert "saturated" not in problems(analyzer.analyze(export))


def test_nan_pixels_are_counted_and_flagged(scan, analyzer):
    a = attenuation(scan.high)
    a[10:12, 20:60] = np.nan
    a[50, 50] = np.inf
    result = analyzer.analyze(a)
    assert problems(result) == ["invalid-pixels"]
    assert result.flags[0].data["pixels"] == 81
    assert np.isfinite(result.maps["attenuation"]).all()
    with pytest.raises(NonFiniteError, match="no pixel is a finite number"):
        analyzer.analyze(np.full((16, 16), np.nan, np.float32))


def test_counts_passed_as_floats_are_refused(scan, analyzer):
    with pytest.raises(ScanError, match="pass raw detector counts as integers"):
        analyzer.analyze(scan.high.astype(np.float32))
    with pytest.raises(ScanError):
        check_attenuation_range(np.array([[-100.0, 1.0]]))
    check_attenuation_range(np.array([[0.0, 9.2]], np.float32))


def test_every_bad_scan_error_is_an_imaging_error():
    assert issubclass(ScanError, ImagingError) and issubclass(ScanError, ValueError)


def test_energy_order_needs_enough_object_pixels():
    empty = np.zeros((32, 32), np.float32)
    empty[0, 0] = 1.0  # one object pixel: no verdict
    assert check_energy_order(empty * 0.5, empty) is None


def test_quality_flags_of_a_display_image():
    black = np.zeros((20, 30), np.uint8)
    black[0, 0] = 1
    a = -np.log(np.maximum(black / 255.0, 1e-4))
    found = quality_flags(black, a, floor_a=float(-np.log(1e-4)))
    assert [f.data["problem"] for f in found] == ["no-signal"]
    assert found[0].to_dict()["label"] == "quality"
