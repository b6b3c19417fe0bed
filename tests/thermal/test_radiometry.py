import numpy as np
import pytest
from fff_builder import build_fff, wrap_in_jpeg

from imaging import ImagingError, TruncatedImageError, UnsupportedFormatError
from imaging.thermal.fff import FFFError, parse_fff
from imaging.thermal.planck import (
    ThermalParameterError,
    ThermalParams,
    celsius_to_raw,
    raw_to_celsius,
)
from imaging.thermal.radiometry import iter_frames, read_thermal, tlinear_to_celsius
from imaging.thermal.rjpeg import DJIRadiometricError, NotRadiometricError

SC660 = ThermalParams()


# --- the formula: Thermimage's published test vectors ---------------------------------------


def test_thermimage_temp2raw_vector():
    p = SC660.replace(emissivity=1, distance_m=0, reflected_c=20, atmosphere_c=20, window_c=20,
                      window_transmission=1, humidity_percent=50)  # fmt: skip
    assert float(celsius_to_raw(23.0, params=p)) == pytest.approx(17994.06, abs=5e-3)


def test_thermimage_raw2temp_vector():
    p = SC660.replace(emissivity=0.95, distance_m=1, reflected_c=20, atmosphere_c=20,
                      window_c=20, window_transmission=0.96, humidity_percent=50)  # fmt: skip
    assert float(raw_to_celsius(17994.06, params=p)) == pytest.approx(23.31223, abs=1e-4)


def test_sampleseq_lookup_values():
    p = SC660.replace(emissivity=0.95, distance_m=1, window_transmission=1)
    lookups = raw_to_celsius(np.array([17171, 18272, 24931], np.uint16), params=p)
    np.testing.assert_allclose(lookups, [18.30355, 24.77367, 57.07398], atol=1e-4)


def test_lookup_table_equals_direct_formula(rng):
    raw = rng.integers(8000, 40000, size=(30, 40)).astype(np.uint16)
    p = SC660.replace(emissivity=0.9, distance_m=12, humidity_percent=70, atmosphere_c=31)
    np.testing.assert_allclose(
        raw_to_celsius(raw, params=p), raw_to_celsius(raw.astype(np.float64), params=p), atol=1e-4
    )


def test_round_trip_over_the_range():
    p = SC660.replace(emissivity=0.8, distance_m=5, window_transmission=0.9, window_c=15)
    t = np.linspace(-20, 300, 50)
    np.testing.assert_allclose(raw_to_celsius(celsius_to_raw(t, params=p), params=p), t, atol=1e-6)


def test_undefined_counts_are_nan_not_numbers():
    t = raw_to_celsius(np.array([0, 1, 17994], np.uint16), params=SC660)
    assert np.isnan(t[:2]).all() and np.isfinite(t[2])


@pytest.mark.parametrize(
    "change", [{"emissivity": 0}, {"emissivity": 1.5}, {"distance_m": -1},
               {"window_transmission": 0}, {"humidity_percent": 150}, {"reflected_c": -300},
               {"emissivity": float("nan")}],
)  # fmt: skip
def test_absurd_parameters_raise(change):
    with pytest.raises(ThermalParameterError):
        raw_to_celsius(17994, params=SC660, **change)


def test_humidity_fraction_is_repaired_with_a_warning():
    with pytest.warns(UserWarning, match="fraction"):
        a = raw_to_celsius(17994.0, params=SC660, humidity_percent=0.5, distance_m=10)
    b = raw_to_celsius(17994.0, params=SC660, humidity_percent=50, distance_m=10)
    assert a == pytest.approx(b)


def test_unknown_parameter_name():
    with pytest.raises(ThermalParameterError, match="unknown"):
        SC660.replace(emisivity=0.9)


# --- FFF and R-JPEG built here ----------------------------------------------------------------


@pytest.mark.parametrize("order", ["<", ">"])
def test_synthetic_fff_both_byte_orders(rng, order):
    raw = rng.integers(15000, 20000, size=(6, 8)).astype(np.uint16)
    p = SC660.replace(emissivity=0.9, distance_m=3, humidity_percent=40)
    frame = parse_fff(build_fff(raw, p, order))
    np.testing.assert_array_equal(frame.raw, raw)
    assert frame.params.emissivity == pytest.approx(0.9)
    assert frame.params.distance_m == pytest.approx(3)
    assert frame.params.humidity_percent == pytest.approx(40, abs=1e-4)
    assert frame.info["camera_model"] == "TestCam 1"


def test_synthetic_rjpeg_and_png_raw(rng):
    import cv2

    raw = rng.integers(15000, 20000, size=(6, 8)).astype(np.uint16)
    png = cv2.imencode(".png", raw.byteswap())[1].tobytes()  # FLIR's byte order inside PNG
    data = wrap_in_jpeg(build_fff(raw, SC660, payload=png), chunk=500)
    image = read_thermal(data)
    assert image.kind == "rjpeg" and image.info["raw_format"] == "png"
    np.testing.assert_array_equal(image.raw, raw)
    np.testing.assert_allclose(image.temperature_c(), raw_to_celsius(raw, params=SC660), atol=1e-4)


def test_overrides_change_the_result(rng):
    raw = np.full((2, 2), 18000, np.uint16)
    image = read_thermal(wrap_in_jpeg(build_fff(raw, SC660.replace(emissivity=0.95))))
    assert image.temperature_c(emissivity=0.5)[0, 0] > image.temperature_c()[0, 0] + 1


def test_damaged_files_raise_clear_errors(rng):
    raw = rng.integers(15000, 20000, size=(6, 8)).astype(np.uint16)
    fff = build_fff(raw, SC660)
    with pytest.raises(TruncatedImageError, match="missing"):
        read_thermal(wrap_in_jpeg(fff, chunk=300, drop=1))
    with pytest.raises(ImagingError):
        parse_fff(fff[:100])
    bad = bytearray(fff)
    bad[0x40 + 0x0C : 0x40 + 0x10] = (10**6).to_bytes(4, "little")  # raw record offset
    with pytest.raises(FFFError, match="outside"):
        parse_fff(bytes(bad))
    bad = bytearray(fff)
    bad[0x14:0x18] = (999).to_bytes(4, "little")
    with pytest.raises(UnsupportedFormatError, match="version"):
        parse_fff(bytes(bad))
    cut = fff[: len(fff) - 5]
    with pytest.raises(ImagingError):
        parse_fff(cut)


def test_seq_cut_mid_frame_keeps_earlier_frames(rng):
    frames = [rng.integers(15000, 20000, size=(6, 8)).astype(np.uint16) for _ in range(3)]
    seq = b"".join(build_fff(f, SC660) for f in frames)
    got = list(iter_frames(seq))
    assert len(got) == 3
    for frame, raw in zip(got, frames, strict=True):
        np.testing.assert_array_equal(frame.raw, raw)
    with pytest.warns(UserWarning, match="stopped after 2"):
        got = list(iter_frames(seq[: len(seq) - 40]))
    assert len(got) == 2


def test_plain_and_dji_jpegs_are_refused_with_reasons():
    import cv2

    plain = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    with pytest.raises(NotRadiometricError, match="palette colours"):
        read_thermal(plain)
    app3 = b"\xff\xe3\x00\x10" + b"\x00" * 14
    exif = b"Exif\0\0" + b"DJI" + b"\0" * 20
    dji = plain[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + app3 + plain[2:]
    with pytest.raises(DJIRadiometricError, match="Thermal SDK"):
        read_thermal(dji)


def test_tlinear_scale():
    t, scale = tlinear_to_celsius(np.array([[29315]], np.uint16))
    assert scale == 0.01 and t[0, 0] == pytest.approx(20.0, abs=1e-3)
    with pytest.raises(ThermalParameterError, match="scale"):
        tlinear_to_celsius(np.array([[100]], np.uint16))
    t, _ = tlinear_to_celsius(np.array([[100]], np.uint16), scale=0.04)
    assert t[0, 0] == pytest.approx(4 - 273.15)


def test_arrays():
    celsius = read_thermal(np.full((3, 3), 21.5, np.float32))
    assert celsius.kind == "celsius" and celsius.temperature_c()[0, 0] == 21.5
    with pytest.raises(ThermalParameterError, match="holds temperatures"):
        celsius.temperature_c(emissivity=0.9)
    with pytest.raises(ImagingError):
        read_thermal(np.zeros((3, 3, 3), np.uint8))


@pytest.mark.parametrize("suffix", [".tiff", ".png"])
def test_16bit_files_tlinear_or_raw(tmp_path, suffix):
    from imaging.io import imwrite

    counts = np.full((6, 8), 29315, np.uint16)  # 293.15 K at 0.01 K per count
    path = tmp_path / f"lepton{suffix}"
    imwrite(path, counts)
    image = read_thermal(path)
    assert image.kind == "tlinear" and image.info["tlinear_scale"] == 0.01
    assert image.temperature_c()[0, 0] == pytest.approx(20.0, abs=1e-3)
    forced = read_thermal(path, tlinear_scale=0.04)
    assert forced.temperature_c()[0, 0] == pytest.approx(29315 * 0.04 - 273.15, abs=1e-2)
    raw = read_thermal(path, params=SC660)  # the same counts as raw sensor values
    assert raw.kind == "raw" and raw.temperature_c()[0, 0] == pytest.approx(72.185, abs=1e-3)


def test_float_files_and_bad_dtypes(tmp_path):
    from imaging.io import imwrite

    path = tmp_path / "celsius.tiff"
    imwrite(path, np.full((4, 4), 36.6, np.float32))
    assert read_thermal(path).temperature_c()[0, 0] == pytest.approx(36.6)
    path8 = tmp_path / "eight.png"
    imwrite(path8, np.zeros((4, 4), np.uint8))
    with pytest.raises(UnsupportedFormatError, match="uint8"):
        read_thermal(path8)
    with pytest.raises(UnsupportedFormatError, match="not a radiometric format"):
        read_thermal(b"GIF89a" + b"\0" * 40)
    with pytest.raises(ThermalParameterError, match="TLinear"):
        read_thermal(np.zeros((3, 3), np.uint16))


def test_empty_inputs(tmp_path):
    from imaging import EmptyImageError

    with pytest.raises(EmptyImageError):
        read_thermal(b"")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(EmptyImageError):
        read_thermal(tmp_path / "empty.jpg")


def test_other_source_types():
    from imaging import DTypeError

    assert read_thermal([[20.5, 21.0]]).temperature_c().tolist() == [[20.5, 21.0]]
    with pytest.raises(DTypeError, match="path, bytes or an array"):
        read_thermal(42)
    with pytest.raises(ImagingError):
        read_thermal([[1, 2]])  # int64 is neither raw counts nor °C


def test_celsius_to_raw_edges():
    raw = celsius_to_raw(np.array([-300.0, -273.15, 20.0]), params=SC660)
    assert np.isnan(raw[:2]).all() and np.isfinite(raw[2])
    assert raw.dtype == np.float64


def test_unknown_files_are_refused_from_their_first_bytes(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\0" * 1000)
    with pytest.raises(UnsupportedFormatError, match="not a radiometric format"):
        read_thermal(path)
    with pytest.raises(ImagingError, match="no such file"):
        read_thermal(tmp_path / "missing.jpg")
    with pytest.raises(ImagingError, match="folder"):
        read_thermal(tmp_path)
