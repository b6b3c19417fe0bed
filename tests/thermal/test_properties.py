"""Property tests: the model inverts itself, the table equals the formula, parsers never crash."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imaging import ImagingError
from imaging.thermal.fff import parse_fff
from imaging.thermal.planck import ThermalParams, celsius_to_raw, raw_to_celsius
from imaging.thermal.radiometry import iter_frames, read_thermal

scene = st.fixed_dictionaries(
    {
        "emissivity": st.floats(0.3, 1.0),
        "distance_m": st.floats(0.0, 200.0),
        "reflected_c": st.floats(-20.0, 50.0),
        "atmosphere_c": st.floats(-20.0, 45.0),
        "window_c": st.floats(-20.0, 50.0),
        "window_transmission": st.floats(0.5, 1.0),
        "humidity_percent": st.floats(1.5, 100.0),
    }
)
# three real cameras: SC660 (Thermimage), Duo Pro R (flirpy), E40 style
cameras = st.sampled_from(
    [
        {},
        {"planck_r1": 364058, "planck_r2": 1, "planck_b": 1428, "planck_f": 1, "planck_o": -228},
        {"planck_r1": 14364.633, "planck_r2": 0.010603162, "planck_b": 1385.4,
         "planck_f": 1, "planck_o": -5753},
    ]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(scene=scene, camera=cameras, t=st.floats(-10.0, 150.0))
def test_raw_to_celsius_inverts_celsius_to_raw(scene, camera, t):
    p = ThermalParams().replace(**camera, **scene)
    raw = celsius_to_raw(t, params=p)
    assert float(raw_to_celsius(raw, params=p)) == pytest.approx(t, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=scene, camera=cameras, seed=st.integers(0, 2**32 - 1))
def test_lookup_table_equals_the_formula(scene, camera, seed):
    p = ThermalParams().replace(**camera, **scene)
    raw = np.random.default_rng(seed).integers(0, 65536, size=200).astype(np.uint16)
    table, valid = raw_to_celsius(raw, params=p, return_mask=True)
    direct = raw_to_celsius(raw.astype(np.float64), params=p)
    np.testing.assert_array_equal(valid, np.isfinite(direct))
    np.testing.assert_allclose(table, direct, atol=1e-4, equal_nan=True)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), prefix=st.sampled_from([b"", b"FFF\0", b"\xff\xd8"]))
def test_parsers_raise_only_imaging_errors(data, prefix):
    blob = prefix + data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in (lambda: parse_fff(blob), lambda: read_thermal(blob),
                     lambda: list(iter_frames(blob))):  # fmt: skip
            try:
                call()
            except ImagingError:
                pass
