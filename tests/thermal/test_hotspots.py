import numpy as np
import pytest

from imaging import DTypeError, ShapeError
from imaging.analyzer import get_analyzer
from imaging.cli.main import main
from imaging.io import imread, imwrite
from imaging.thermal._kernels import (
    component_stats,
    component_stats_reference,
    local_percentile,
    local_percentile_reference,
)
from imaging.thermal.analyzer import ThermalAnalyzer
from imaging.thermal.hotspots import (
    describe_regions,
    detect_hotspots,
    getis_ord_gi_star,
    local_background,
    person_like_flags,
)
from imaging.thermal.palettes import PALETTES, colorbar, render


def scene(rng, shape=(120, 160), base=15.0):
    t = base + rng.normal(0, 0.3, shape).astype(np.float32)
    return t.astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (33, 47), (5, 300)])
def test_component_stats_kernel_equals_reference(rng, shape):
    labels = rng.integers(0, 5, size=shape).astype(np.int32)
    values = rng.normal(20, 5, size=shape)
    values[rng.random(shape) < 0.1] = np.nan
    got = component_stats(labels, values, 5)
    ref = component_stats_reference(labels, values, 5)
    for key in ("min", "max", "count", "argmax"):
        np.testing.assert_array_equal(got[key][1:], ref[key][1:], err_msg=key)
    np.testing.assert_allclose(got["mean"][1:], ref["mean"][1:], equal_nan=True)


def test_hotspots_found_with_exact_statistics(rng):
    t = scene(rng)
    t[20:30, 40:50] = 45.0
    t[25, 45] = 50.0
    t[80:84, 100:104] = 30.0
    dets = detect_hotspots(t)
    assert len(dets) == 2
    assert dets.xyxy[0].tolist() == [40, 20, 50, 30]
    assert dets.data["max_temp_c"][0] == 50.0 and dets.data["max_xy"][0].tolist() == [45, 25]
    assert dets.data["area_px"].tolist() == [100, 16]
    assert dets.confidence[0] > dets.confidence[1]
    assert len(detect_hotspots(t, threshold_c=40)) == 1
    assert len(detect_hotspots(t, min_area_px=20)) == 1


def test_no_hotspot_in_a_uniform_scene(rng):
    assert len(detect_hotspots(scene(rng))) == 0


def test_gi_star_marks_clusters_not_noise(rng):
    t = scene(rng)
    t[50:60, 70:80] += 3.0  # a warm cluster only 3 degrees above, many noise sigmas
    z = getis_ord_gi_star(t)
    assert z[55, 75] > 2.58
    assert np.mean(z[:30, :30] > 2.58) < 0.01
    dets = detect_hotspots(t, above_background_c=None, gi_star_z=2.58)
    assert len(dets) >= 1 and dets.xyxy[0, 0] >= 60


def test_nan_pixels_never_hot(rng):
    t = scene(rng)
    t[10:20, 10:20] = np.nan
    t[50:55, 50:55] = 40
    dets = detect_hotspots(t)
    assert len(dets) == 1 and np.isfinite(dets.data["mean_temp_c"]).all()


def test_person_like_signature(rng):
    t = scene(rng, (240, 320), base=8.0)  # a cold trailer
    t[60:180, 140:175] = 31.0  # a standing person, 120 x 35 px
    t[200:204, 10:300] = 33.0  # a warm pipe: too elongated
    flags = person_like_flags(t)
    assert len(flags) == 1
    assert flags[0].kind == "person" and flags[0].box == (140, 60, 175, 180)
    t2 = scene(rng, (240, 320), base=30.0)  # a warm container: no contrast
    t2[60:180, 140:175] = 32.0
    assert person_like_flags(t2) == []


def test_input_checks():
    with pytest.raises(DTypeError):
        detect_hotspots(np.zeros((4, 4), np.uint16))
    with pytest.raises(ShapeError):
        detect_hotspots(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        detect_hotspots(np.zeros((4, 4), np.float32), above_background_c=None)


@pytest.mark.parametrize("palette", PALETTES)
def test_palettes(palette):
    t = np.linspace(10, 40, 200, dtype=np.float32).reshape(10, 20)
    t[0, 0] = np.nan
    image = render(t, palette=palette, range_c=(10, 40))
    assert image.shape == (10, 20, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [0, 0, 0]
    bar = colorbar(image, palette=palette, range_c=(10, 40))
    assert bar.shape[1] > image.shape[1]
    with pytest.raises(ValueError):
        render(t, palette="nope")


def test_analyzer_on_arrays_and_overrides(rng):
    from imaging.thermal.planck import ThermalParameterError, ThermalParams

    analyzer = ThermalAnalyzer()
    raw = np.full((40, 50), 17000, np.uint16)
    raw[10:20, 10:20] = 19000
    with pytest.raises(ThermalParameterError, match="Planck constants"):
        analyzer.analyze(raw)  # raw counts mean nothing without the camera's constants
    a = analyzer.analyze(raw, params=ThermalParams())
    b = analyzer.analyze(raw, params=ThermalParams(), emissivity=0.6)
    assert a.measurements["max_c"] < b.measurements["max_c"]
    assert b.measurements["parameters"]["emissivity"] == 0.6
    assert set(a.maps) == {"temperature_c", "display", "valid_mask"}
    assert a.maps["temperature_c"].dtype == np.float32 and a.maps["valid_mask"].all()
    assert len(a.detections) == 1
    planck = {"planck_r1": 21106.77, "planck_r2": 0.012545258, "planck_b": 1501,
              "planck_f": 1, "planck_o": -7340}  # fmt: skip
    c = analyzer.analyze(raw, **planck)
    assert c.measurements["max_c"] == a.measurements["max_c"]
    d = ThermalAnalyzer(params=ThermalParams()).analyze(raw, params={"emissivity": 0.6})
    assert d.measurements["max_c"] == b.measurements["max_c"]
    tl = analyzer.analyze(np.full((8, 8), 7329, np.uint16), tlinear_scale=0.04)
    assert tl.measurements["kind"] == "tlinear" and tl.measurements["max_c"] == pytest.approx(
        20.01, abs=1e-3
    )
    with pytest.raises(ThermalParameterError, match="unknown"):
        analyzer.analyze(raw, params={"emisivity": 0.9})


def test_analyzer_registered_and_cli(shared_data, tmp_path, capsys):
    assert get_analyzer("thermal").name == "thermal"
    path = shared_data / "thermal" / "thermimage" / "IR_2412.jpg"
    assert main(["thermal", "decode", str(path), "-o", str(tmp_path / "t.tiff")]) == 0
    t = imread(tmp_path / "t.tiff")
    assert t.dtype == np.float32 and t.shape == (480, 640)
    assert (
        main(["thermal", "decode", str(path), "-o", str(tmp_path / "t.csv"), "--emissivity", "0.9"])
        == 0
    )
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert len(rows) == 480 and len(rows[0].split(",")) == 640
    assert (
        main(
            ["thermal", "render", str(path), "-o", str(tmp_path / "r.png"), "--palette", "rainbow"]
        )
        == 0
    )
    assert imread(tmp_path / "r.png").shape[0] == 480
    imwrite(tmp_path / "bad.jpg", np.zeros((8, 8, 3), np.uint8))
    code = main(
        ["thermal", "analyze", str(path), str(tmp_path / "bad.jpg"), "--json", "--humidity", "40"]
    )
    assert code == 1
    assert "without radiometric data" in capsys.readouterr().err


def gi_star_brute_force(t, window):
    """Getis-Ord Gi* straight from its definition, pixel by pixel (NaN: no neighbour)."""
    finite = np.isfinite(t)
    values = t[finite].astype(np.float64)
    n, mean, std = values.size, values.mean(), values.std()
    r = window // 2
    out = np.full(t.shape, np.nan)
    for y in range(t.shape[0]):
        for x in range(t.shape[1]):
            if not finite[y, x]:
                continue
            patch = t[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
            patch = patch[np.isfinite(patch)].astype(np.float64)
            w = patch.size
            out[y, x] = (patch.sum() - mean * w) / (std * np.sqrt((n * w - w * w) / (n - 1)))
    return out


@pytest.mark.parametrize("window", [3, 5, 9])
def test_gi_star_equals_its_definition(rng, window):
    t = scene(rng, (23, 31))
    t[5:9, 10:14] += 4
    t[rng.random(t.shape) < 0.05] = np.nan
    got = getis_ord_gi_star(t, window=window)
    ref = gi_star_brute_force(t, window)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, atol=1e-4, equal_nan=True)
    with pytest.raises(ValueError, match="odd"):
        getis_ord_gi_star(t, window=4)


@pytest.mark.parametrize("size", [1, 3, 7, 15])
@pytest.mark.parametrize("q", [0, 10, 50, 95, 100])
@pytest.mark.parametrize("step", [1, 3])
def test_local_percentile_kernel_equals_reference(rng, size, q, step):
    image = rng.normal(20, 3, size=(19, 27))
    image[rng.random(image.shape) < 0.15] = np.nan
    image[:8, :8] = np.nan  # windows of NaN only give NaN
    got = local_percentile(image, size, q, step=step)
    ref = local_percentile_reference(image, size, q, step=step)
    assert got.dtype == np.float32 and got.shape == (-(-19 // step), -(-27 // step))
    np.testing.assert_allclose(got, ref, rtol=1e-6, equal_nan=True)


def test_local_percentile_rejects_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        local_percentile(np.zeros((4, 4)), 4, 50)
    with pytest.raises(ValueError, match="q"):
        local_percentile(np.zeros((4, 4)), 3, 101)
    with pytest.raises(ValueError, match="step"):
        local_percentile(np.zeros((4, 4)), 3, 50, step=0)


def test_local_background_is_the_scene_around_a_hotspot(rng):
    t = scene(rng, (240, 320), base=12.0)
    t[:, 160:] += 10  # a warm half: the background follows it
    t[100:110, 60:70] = 60.0
    bg = local_background(t)
    assert bg.dtype == np.float32 and bg.shape == t.shape
    assert abs(bg[105, 65] - 12) < 0.5 and abs(bg[105, 260] - 22) < 0.5
    cool = local_background(t, percentile=10)
    assert (cool[20:220, 20:140] <= bg[20:220, 20:140] + 1e-5).all()
    t[0:50, 0:50] = np.nan
    assert np.isfinite(local_background(t)).all()
    with pytest.raises(ValueError, match="size"):
        local_background(t, size=1)


def test_hotspot_criteria_combine(rng):
    t = scene(rng)
    t[:, 80:] += 20  # a warm wall: hot in absolute terms, not against its background
    t[20:26, 20:26] = 30.0  # warm against a 15 degree background
    absolute = detect_hotspots(t, threshold_c=32, above_background_c=None)
    assert len(absolute) == 1 and absolute.xyxy[0, 0] == 80  # the wall
    relative = detect_hotspots(t, above_background_c=8)
    assert relative.xyxy.tolist() == [[20, 20, 26, 26]]
    both = detect_hotspots(t, threshold_c=32, above_background_c=8)
    assert len(both) == 0
    keys = {"label", "area_px", "centroid_xy", "min_temp_c", "max_temp_c", "mean_temp_c",
            "max_xy", "background_temp_c"}  # fmt: skip
    assert set(relative.data) == keys and set(both.data) == keys
    assert relative.data["centroid_xy"][0].tolist() == [22.5, 22.5]
    assert abs(relative.data["background_temp_c"][0] - 15) < 0.5
    assert relative.to_list()[0]["max_temp_c"] == 30.0


def test_describe_regions(rng):
    t = scene(rng, (30, 40))
    mask = np.zeros(t.shape, bool)
    mask[2:5, 3:9] = True
    mask[20:22, 30:31] = True
    t[3, 4] = np.nan
    dets = describe_regions(t, mask, label="zone")
    assert len(dets) == 2 and dets.data["label"].tolist() == ["zone", "zone"]
    big = dets[dets.data["area_px"] == 18]
    region = t[2:5, 3:9]
    assert big.data["mean_temp_c"][0] == pytest.approx(np.nanmean(region), abs=1e-5)
    assert big.data["max_temp_c"][0] == np.nanmax(region)
    assert len(describe_regions(t, mask, min_area_px=5)) == 1
    with pytest.raises(ShapeError):
        describe_regions(t, mask[:5])


def test_person_flag_rejects_heaters_and_texture(rng):
    t = scene(rng, (240, 320), base=8.0)
    t[60:180, 40:75] = 31.0 + rng.normal(0, 0.5, (120, 35))  # a person
    t[60:120, 150:190] = 33.0
    t[80:100, 160:180] = 80.0  # a heater: its core is far above skin temperature
    t[150:210, 220:280] = np.where(rng.random((60, 60)) < 0.5, 29.0, 36.5)  # mottled texture
    flags = person_like_flags(t)
    assert [f.box for f in flags] == [(40, 60, 75, 180)]
    assert flags[0].data["std_c"] < 1 and 30 < flags[0].data["mean_temp_c"] < 32
    assert len(person_like_flags(t, max_std_c=10)) == 2  # the texture passes a loose limit
    with pytest.raises(ValueError, match="band_c"):
        person_like_flags(t, band_c=(37, 28))


def test_real_hand_in_sample_csq_is_person_like(shared_data):
    import warnings

    from imaging.thermal.radiometry import iter_frames

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the sample's cut padding
        frame = next(iter_frames(shared_data / "thermal" / "thermimage" / "SampleCSQ.csq"))
    flags = person_like_flags(frame.temperature_c())
    assert len(flags) == 1 and flags[0].data["area_px"] > 100_000
    assert 28 < flags[0].data["mean_temp_c"] < 37


def test_a_large_warm_object_is_one_hotspot(rng, shared_data):
    t = scene(rng, (240, 320), base=20.0)
    t[80:160, 120:200] = 45.0  # 80 x 80 px: 8 % of the frame, 44 % of the background window
    dets = detect_hotspots(t)
    assert dets.xyxy.tolist() == [[120, 80, 200, 160]] and dets.data["area_px"][0] == 6400
    from imaging.thermal.radiometry import read_thermal

    mug = read_thermal(shared_data / "thermal" / "read_thermal" / "flir_example.jpg")
    dets = detect_hotspots(mug.temperature_c())
    assert len(dets) == 2 and dets.data["area_px"].max() > 5000  # the body, then the rim
    assert dets.data["max_temp_c"][0] == pytest.approx(62.32, abs=0.01)


def test_extend_takes_in_the_warm_rim(rng):
    t = scene(rng, (120, 160))
    t[40:80, 60:100] = 21.0  # a warm rim, 6 degrees above the scene
    t[50:70, 70:90] = 30.0  # the hot core
    core = detect_hotspots(t, above_background_c=8)
    assert core.xyxy.tolist() == [[70, 50, 90, 70]]
    whole = detect_hotspots(t, above_background_c=8, extend_c=3)
    assert whole.xyxy.tolist() == [[60, 40, 100, 80]] and whole.data["area_px"][0] == 1600
    assert whole.data["max_temp_c"][0] == 30.0
    alone = t.copy()
    alone[40:80, 60:100] = 21.0  # a rim without a core is no hotspot
    assert len(detect_hotspots(alone, above_background_c=8, extend_c=3)) == 0
    with pytest.raises(ValueError, match="extend_c"):
        detect_hotspots(t, extend_c=-1)
    with pytest.raises(ValueError, match="extend_c loosens"):
        detect_hotspots(t, above_background_c=None, gi_star_z=1.96, extend_c=2)
