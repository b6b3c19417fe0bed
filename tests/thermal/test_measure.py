import numpy as np
import pytest
from fff_builder import build_fff

from imaging import ShapeError
from imaging.thermal.analyzer import ThermalAnalyzer
from imaging.thermal.measure import (
    Box,
    Ellipse,
    Line,
    Polygon,
    Spot,
    alarm_above,
    alarm_below,
    alarm_delta,
    isotherm,
    line_profile,
    measure,
    measure_all,
    region_from_dict,
)
from imaging.thermal.palettes import overlay_mask, render
from imaging.thermal.planck import ThermalParams
from imaging.thermal.radiometry import read_thermal


@pytest.fixture
def field(rng):
    t = (20 + rng.normal(0, 0.5, (60, 80))).astype(np.float32)
    t[10, 70] = 55.0
    t[50, 5] = 2.0
    return t


REGIONS = [
    Spot(3, 4),
    Spot(40, 30, radius=5),
    Box(10, 5, 30, 25),
    Ellipse(40, 30, 12, 6, angle_deg=30),
    Polygon(((5, 5), (50, 8), (30, 40))),
    Line(0, 0, 79, 59),
]


@pytest.mark.parametrize("region", REGIONS, ids=lambda r: type(r).__name__)
def test_measure_equals_numpy_on_the_mask(field, region):
    mask = region.mask(field.shape)
    assert mask.dtype == bool and mask.shape == field.shape and mask.any()
    values = field[mask].astype(np.float64)
    s = measure(field, region)
    assert s.area_px == mask.sum() and s.invalid_px == 0
    assert (s.min_c, s.max_c) == (values.min(), values.max())
    assert s.mean_c == pytest.approx(values.mean()) and s.median_c == np.median(values)
    x, y = s.max_xy
    assert mask[y, x] and field[y, x] == s.max_c
    x, y = s.min_xy
    assert mask[y, x] and field[y, x] == s.min_c
    d = s.to_dict()
    assert d["max_c"] == s.max_c and d["max_xy"] == list(s.max_xy) and d["area_px"] == s.area_px


def test_region_geometry():
    assert Box(0, 0, 3, 2).mask((4, 4)).sum() == 6
    assert Box(-5, -5, 2, 2).mask((4, 4)).sum() == 4  # clipped to the image
    assert Spot(1.7, 2.2).mask((4, 4))[2, 1]
    assert Spot(2, 2, radius=1.5).mask((5, 5)).sum() == 9
    square = Polygon(((2, 1), (6, 1), (6, 5), (2, 5))).mask((8, 8))
    np.testing.assert_array_equal(square, Box(2, 1, 6, 5).mask((8, 8)))
    disc = Ellipse(10, 10, 5, 5).mask((20, 20)).sum()
    assert abs(disc - np.pi * 25) < 6
    tilted = Ellipse(10, 10, 8, 2, angle_deg=90).mask((20, 20))
    rows, cols = np.nonzero(tilted)
    assert np.ptp(rows) > np.ptp(cols)  # turned by 90 degrees: long axis vertical
    cols, rows = Line(0, 0, 9, 3).pixels()
    assert len(cols) == 10 and (cols[0], rows[0], cols[-1], rows[-1]) == (0, 0, 9, 3)
    assert np.all(np.abs(np.diff(rows)) <= 1)
    with pytest.raises(ShapeError):
        Polygon(((0, 0), (1, 1)))
    with pytest.raises(ShapeError):
        Box(3, 0, 1, 2).mask((4, 4))
    with pytest.raises(ValueError, match="region type"):
        region_from_dict({"type": "star"})


def test_measure_outside_and_nan(field):
    with pytest.raises(ShapeError, match="outside"):
        measure(field, Box(100, 100, 120, 120))
    t = field.copy()
    t[5:10, 10:20] = np.nan
    s = measure(t, Box(10, 5, 30, 25))
    assert s.invalid_px == 50 and s.area_px == 350 and np.isfinite(s.mean_c)
    t[:] = np.nan
    s = measure(t, Box(0, 0, 2, 2))
    assert s.area_px == 0 and np.isnan(s.max_c) and s.max_xy is None
    assert s.to_dict()["max_c"] is None


def test_emissivity_per_region(rng):
    raw = np.full((20, 30), 19000, np.uint16)
    frame = read_thermal(build_fff(raw, ThermalParams(emissivity=0.95)))
    painted = measure(frame, Box(0, 0, 10, 10), emissivity=0.6)
    metal = measure(frame, Box(10, 0, 30, 20))
    assert painted.mean_c > metal.mean_c + 3
    assert metal.mean_c == pytest.approx(float(frame.temperature_c()[0, 0]))
    stats = measure_all(frame, {"a": {"type": "spot", "x": 1, "y": 1, "emissivity": 0.6},
                                "b": Spot(20, 5)})  # fmt: skip
    assert stats["a"].max_c == pytest.approx(painted.max_c) and stats["b"].max_c == metal.max_c
    with pytest.raises(ValueError, match="raw counts"):
        measure(frame.temperature_c(), Box(0, 0, 2, 2), emissivity=0.5)


def test_line_profile(field):
    distance, values = line_profile(field, Line(0, 10, 79, 10))
    assert distance.dtype == values.dtype == np.float32
    np.testing.assert_array_equal(values, field[10])
    assert distance[-1] == 79
    _, outside = line_profile(field, Line(70, 10, 90, 10))
    assert np.isnan(outside[-5:]).all() and outside[0] == 55.0


def test_isotherm_and_overlay(field):
    band = isotherm(field, low_c=50, high_c=60)
    assert band.sum() == 1 and band[10, 70]
    assert isotherm(field, high_c=5).sum() == 1
    with pytest.raises(ValueError):
        isotherm(field)
    with pytest.raises(ValueError):
        isotherm(field, low_c=30, high_c=20)
    image = render(field, range_c=(0, 60))
    painted = overlay_mask(image, band, color=(0, 255, 0))
    assert painted[10, 70].tolist() == [0, 255, 0]
    assert (painted[~band] == image[~band]).all()
    half = overlay_mask(image, band, color=(255, 255, 255), alpha=0.5)
    assert (half[10, 70] >= image[10, 70]).all()


def test_alarms(field):
    above = alarm_above(field, 50)
    assert above.kind == "alarm" and above.box == (70, 10, 71, 11)
    assert above.data["rule"] == "above" and above.data["value_c"] == 55.0
    assert alarm_above(field, 60) is None
    assert alarm_above(field, 50, region=Box(0, 0, 40, 40)) is None
    below = alarm_below(field, 5, name="floor")
    assert below.box == (5, 50, 6, 51) and "floor" in below.message
    assert alarm_below(field, 20, statistic="mean") is None or field.mean() < 20
    hot = alarm_delta(field, Box(60, 0, 80, 20), reference=Box(0, 20, 40, 40), delta_c=20)
    assert hot is not None and hot.data["difference_c"] == pytest.approx(55 - 20, abs=0.5)
    assert alarm_delta(field, Box(60, 0, 80, 20), reference=60.0, delta_c=1) is None
    cold = alarm_delta(field, Box(0, 45, 10, 55), reference=20.0, delta_c=-10, statistic="min")
    assert cold is not None and cold.data["difference_c"] < -10
    with pytest.raises(ValueError):
        alarm_delta(field, Box(0, 0, 2, 2), reference=0.0, delta_c=0)


def test_analyzer_regions(field):
    regions = {"door": Box(60, 0, 80, 20), "floor": {"type": "spot", "x": 5, "y": 50}}
    result = ThermalAnalyzer().analyze(field, regions=regions)
    got = result.measurements["regions"]
    assert got["door"]["max_c"] == 55.0 and got["door"]["max_xy"] == [70, 10]
    assert got["floor"]["min_c"] == 2.0
    raw = np.full((20, 30), 19000, np.uint16)
    frame_bytes = build_fff(raw, ThermalParams(emissivity=0.95))
    result = ThermalAnalyzer().analyze(
        frame_bytes, regions={"a": Box(0, 0, 5, 5), "b": {"type": "box", "x0": 0, "y0": 0,
                                                         "x1": 5, "y1": 5, "emissivity": 0.6}}
    )  # fmt: skip
    regions = result.measurements["regions"]
    assert regions["a"]["mean_c"] == pytest.approx(result.measurements["mean_c"])
    assert regions["b"]["mean_c"] > regions["a"]["mean_c"] + 3
