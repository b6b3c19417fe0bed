"""Every reference value of ../shared/data/thermal/README.md, decoded with no external program."""

import numpy as np
import pytest

from imaging.thermal.planck import raw_to_celsius
from imaging.thermal.radiometry import iter_frames, read_thermal
from imaging.thermal.rjpeg import DJIRadiometricError


@pytest.fixture
def thermal(shared_data):
    return shared_data / "thermal"


def stats(t):
    return [float(np.nanmin(t)), float(np.nanmax(t)), float(np.nanmean(t)), float(np.nanmedian(t))]


def test_ir_2412_matches_the_published_raster_at_every_pixel(thermal):
    image = read_thermal(thermal / "thermimage" / "IR_2412.jpg")
    assert image.info["camera_model"] == "FLIR SC660"
    # Thermimage prints the raw matrix column by column
    assert image.raw[:5, 0].tolist() == [18090, 18074, 18064, 18061, 18081]
    reference = np.fromfile(thermal / "thermimage" / "FLIRjpg_W640_H480_F1_I.raw", "<f4")
    reference = reference.reshape(480, 640)
    t = image.temperature_c()
    assert t.shape == (480, 640)
    assert t.dtype == np.float32
    assert np.abs(t - reference).max() < 0.01  # measured: 0.0 (bit-identical)
    np.testing.assert_allclose(t[0, :4], [23.7344, 23.7172, 23.6253, 23.5908], atol=1e-4)
    # Thermimage prints the temperature matrix column by column too, to one decimal
    assert [round(float(v), 1) for v in t[:5, 0]] == [23.7, 23.6, 23.6, 23.6, 23.7]
    assert (float(t.min()), float(t.max()), float(t.mean(dtype=np.float64))) == pytest.approx(
        (22.736, 35.250, 28.259), abs=5e-4
    )
    p = image.params
    assert (p.planck_r1, p.planck_b, p.planck_f, p.planck_o, p.planck_r2) == (
        21106.77, 1501, 1, -7340, 0.012545258
    )  # fmt: skip


def test_sampleseq_frames_and_first_values(thermal):
    frames = list(iter_frames(thermal / "thermimage" / "SampleSEQ.seq"))
    assert len(frames) == 2 and frames[0].raw.shape == (480, 640)
    first = frames[0]
    assert first.raw[0, :6].tolist() == [17870, 17833, 17808, 17829, 17829, 17861]
    np.testing.assert_allclose(
        first.temperature_c()[0, :6],
        [22.46279, 22.24723, 22.10131, 22.22390, 22.22390, 22.41040], atol=1e-4,
    )  # fmt: skip
    p = first.params
    assert (p.emissivity, p.distance_m, p.humidity_percent, p.window_transmission) == (
        0.95, 1, 50, 1
    )  # fmt: skip
    assert (p.reflected_c, p.atmosphere_c, p.window_c) == (20, 20, 20)
    # the README's lookups, made with the file's own parameters
    lookups = raw_to_celsius(np.array([17171, 18272, 24931], np.uint16), params=p)
    np.testing.assert_allclose(lookups, [18.30355, 24.77367, 57.07398], atol=1e-4)
    assert frames[1].info["frame"] == 1 and frames[1].kind == "seq"
    assert not np.array_equal(frames[0].raw, frames[1].raw)


def test_csq_jpegls_frames_stream(thermal):
    count = 0
    # the sample is cut 4 bytes into the padding after its last JPEG-LS frame: that frame's
    # image is complete, so it is delivered, with a warning
    with pytest.warns(UserWarning, match="frame 7: the file ends 4 bytes before"):
        for frame in iter_frames(thermal / "thermimage" / "SampleCSQ.csq"):
            assert frame.raw.shape == (768, 1024) and frame.info["raw_format"] == "jpegls"
            assert frame.kind == "csq" and frame.info["frame"] == count
            assert frame.info["camera_model"].startswith("FLIR T1030sc")
            t = frame.temperature_c()
            assert 19.3 < np.nanmedian(t) < 19.5 and 15 < np.nanmin(t) and np.nanmax(t) < 36
            count += 1
    assert count == 8


def test_csq_cut_inside_a_frame_keeps_the_frames_before(thermal, tmp_path):
    data = (thermal / "thermimage" / "SampleCSQ.csq").read_bytes()
    cut = tmp_path / "cut.csq"
    cut.write_bytes(data[:500_000])  # frames 0 and 1 whole, frame 2 cut in its JPEG-LS data
    with pytest.warns(UserWarning, match="stopped after 2 frame"):
        frames = [f.info["frame"] for f in iter_frames(cut)]
    assert frames == [0, 1]


def test_flirpy_fff_both_byte_orders(thermal):
    big = read_thermal(thermal / "flirpy" / "frame_000000.fff")
    assert big.raw.shape == (512, 640) and big.kind == "fff"
    info, p = big.info, big.params
    # every value of the exiftool dump frame_000000.txt
    assert (p.planck_r1, p.planck_b, p.planck_f, p.planck_o, p.planck_r2) == (
        364058,
        1428,
        1,
        -228,
        1,
    )
    assert p.emissivity == pytest.approx(0.94, abs=1e-4)  # stored 0.9399414, printed 0.94
    assert (p.distance_m, p.reflected_c, p.atmosphere_c) == (50, 20, 20)
    assert (p.window_c, p.window_transmission, p.humidity_percent) == (22, 1, 30)
    assert (p.alpha1, p.alpha2, p.beta1, p.beta2, p.atmospheric_x) == (
        0.006569,
        0.01262,
        -0.002276,
        -0.00667,
        1.9,
    )
    assert info["camera_model"] == "Duo Pro R" and info["camera_part_number"] == "83402-1201"
    assert info["camera_serial_number"] == "8340357" and info["camera_software"] == "V01.01.08"
    assert info["field_of_view_deg"] == 45 and info["camera_range_c"] == (-25, 135)
    assert info["camera_clip_c"] == (-60, 150)
    assert info["raw_value_median"] == 2681 and info["raw_value_range"] == 116
    assert info["date_time_original"] == "2018-11-05T12:14:43.084+01:00"
    assert (info["raw_width"], info["raw_height"]) == (640, 512)
    # the camera's own median (2681, of another frame or region) lies near the decoded one (2699)
    assert abs(np.median(big.raw) - 2681) < 116 / 2
    little = read_thermal(thermal / "flirpy" / "frame_000000_le.fff")
    assert little.raw.shape == (240, 320)
    assert 15 < np.nanmedian(little.temperature_c()) < 35


def test_tlinear_tiff(thermal):
    image = read_thermal(thermal / "flirpy" / "example_radiometric.tiff")
    assert image.kind == "tlinear" and image.info["tlinear_scale"] == 0.04
    mn, mx, mean, _ = stats(image.temperature_c())
    assert (mn, mx, mean) == pytest.approx((-3.43, 9.93, 6.18), abs=0.01)


# flirimageextractor 1.5.11 (the peer decoder) on the same files; it agrees with the file's
# CameraInfo parameters except the object distance, for which it takes another field: 0 m for
# ax8.jpg and 1 m for zenmuse_xtr.jpg (the files' CameraInfo says 1 m and 20 m).
PEER = {
    "thermimage/IR_2412.jpg": ((480, 640), (22.736, 35.250, 28.259, 29.008), None),
    "read_thermal/flir_example.jpg": ((320, 240), (25.948, 62.320, 29.119, 26.578), None),
    "read_thermal/ax8.jpg": ((60, 80), (24.323, 25.424, 24.989, 24.992), 0.0),
    "thermal_parser/FLIR_E40.jpg": ((120, 160), (17.875, 24.700, 21.089, 21.012), None),
    "thermstats/FLIR8565.jpg": ((120, 160), (23.469, 25.336, 24.204, 24.095), None),
    "thermstats/FLIR8583.jpg": ((120, 160), (23.128, 24.995, 23.798, 23.761), None),
    "read_thermal/zenmuse_xtr.jpg": ((512, 640), (16.833, 58.845, 28.065, 28.029), 1.0),
}


@pytest.mark.parametrize("name", sorted(PEER))
def test_rjpegs_match_the_peer_decoder(thermal, name):
    shape, expected, peer_distance = PEER[name]
    image = read_thermal(thermal / name)
    assert image.shape == shape
    t = image.temperature_c(distance_m=peer_distance)
    assert stats(t) == pytest.approx(expected, abs=0.0015)


def test_file_distance_is_used_by_default(thermal):
    image = read_thermal(thermal / "read_thermal" / "zenmuse_xtr.jpg")
    assert image.params.distance_m == pytest.approx(20)
    assert stats(image.temperature_c())[0] == pytest.approx(15.929, abs=0.002)


def test_thermstats_group_statistics(thermal):
    p = {"emissivity": 0.986, "distance_m": 1.838, "reflected_c": 24.0, "atmosphere_c": 24.0,
         "humidity_percent": 96}  # fmt: skip
    pixels = np.concatenate([
        read_thermal(thermal / "thermstats" / n).temperature_c(**p).ravel()
        for n in ("FLIR8565.jpg", "FLIR8583.jpg")
    ])  # fmt: skip
    median, p5, p95 = (
        np.nanmedian(pixels),
        np.nanpercentile(pixels, 5),
        np.nanpercentile(pixels, 95),
    )
    assert (median, p5, p95) == pytest.approx((23.68, 23.24, 24.56), abs=0.02)
    # the vignette's rounded figures
    assert (round(median * 2) / 2, round(p5 * 2) / 2, round(p95 * 2) / 2) == (23.5, 23.0, 24.5)


DJI = {
    "thermal_parser/DJI_H20T.jpg": "ZH20T",
    "thermal_parser/DJI_XTS.jpg": "XT S",
    "thermal_parser/H20N/DJI_0001_R.JPG": "ZH20N",
    "thermal_parser/H20T/DJI_0001_R.JPG": "ZH20T",
    "thermal_parser/H30T/DJI_0001_R.JPG": "H30T",
    "thermal_parser/M2EA/DJI_0001_R.JPG": "MAVIC2-ENTERPRISE-ADVANCED",
    "thermal_parser/M30T/DJI_0001_R.JPG": "M30T",
    "thermal_parser/M3T/DJI_0001_R.JPG": "M3T",
    "thermal_parser/M3TD/DJI_0001_R.JPG": "M3TD",
    "thermal_parser/M4T/DJI_0001_R.JPG": "M4T",
    "thermal_parser/XTS/DJI_0001_R.jpg": "XT S",
}


@pytest.mark.parametrize("name", sorted(DJI))
def test_dji_rjpegs_are_refused_clearly(thermal, name):
    with pytest.raises(DJIRadiometricError, match=f"DJI {DJI[name]} radiometric.*Thermal SDK"):
        read_thermal(thermal / name)


def test_embedded_visual_photos(thermal):
    from imaging.thermal.fff import FFFError
    from imaging.thermal.radiometry import read_visual

    photo = read_visual(thermal / "read_thermal" / "flir_example.jpg")
    assert photo.shape == (640, 480, 3) and photo.dtype == np.uint8 and photo.mean() > 50
    assert read_visual(thermal / "read_thermal" / "ax8.jpg").shape == (480, 640, 3)
    with pytest.raises(FFFError, match="no visual photo"):
        read_visual(thermal / "thermimage" / "IR_2412.jpg")
    with pytest.raises(FFFError, match="no visual photo"):
        read_visual(thermal / "thermimage" / "SampleSEQ.seq")
