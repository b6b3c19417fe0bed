"""Damaged and unusual FFF / R-JPEG / SEQ data: clear ImagingError subclasses, never a crash."""

import struct
import tracemalloc
import warnings

import numpy as np
import pytest
from fff_builder import build_fff, camera_record, raw_record, wrap_in_jpeg

from imaging import ImagingError, TruncatedImageError, UnsupportedFormatError
from imaging.thermal.fff import FFFError, frame_length, parse_fff
from imaging.thermal.planck import ThermalParameterError, ThermalParams, raw_to_celsius
from imaging.thermal.radiometry import iter_frames, read_thermal

SC660 = ThermalParams()


@pytest.fixture
def raw(rng):
    return rng.integers(15000, 20000, size=(12, 16)).astype(np.uint16)


def payloads(raw):
    import cv2
    import imagecodecs

    return {
        "raw": None,
        "png": cv2.imencode(".png", raw.byteswap())[1].tobytes(),
        "jpegls": imagecodecs.jpegls_encode(raw),
        "tiff": imagecodecs.tiff_encode(raw) if hasattr(imagecodecs, "tiff_encode") else None,
    }


@pytest.mark.parametrize("kind", ["raw", "png", "jpegls", "tiff"])
def test_every_raw_encoding_decodes(raw, kind):
    if kind == "tiff":
        import io

        import tifffile

        buffer = io.BytesIO()
        tifffile.imwrite(buffer, raw)
        payload = buffer.getvalue()
    else:
        payload = payloads(raw)[kind]
    frame = parse_fff(build_fff(raw, SC660, payload=payload))
    assert frame.raw_format == kind and frame.raw.dtype == np.uint16
    np.testing.assert_array_equal(frame.raw, raw)
    assert (frame.info["raw_width"], frame.info["raw_height"]) == (16, 12)


def test_wrong_size_in_the_raw_header(raw):
    png = payloads(raw)["png"]
    with pytest.raises(FFFError, match="announces 6x6"):
        parse_fff(build_fff(np.zeros((6, 6), np.uint16), SC660, payload=png))


def _directory_entry(fff, k):
    return 0x40 + 32 * k


def test_bad_directory_and_records(raw):
    fff = build_fff(raw, SC660)
    cases = {
        "directory claims": lambda b: struct.pack_into("<I", b, 0x1C, 10**6),
        "outside the data": lambda b: struct.pack_into("<I", b, 0x18, len(b)),
        "lies outside": lambda b: struct.pack_into("<I", b, _directory_entry(b, 1) + 0x0C, 10**7),
        "no raw thermal": lambda b: struct.pack_into("<H", b, _directory_entry(b, 0), 0x05),
        "no camera": lambda b: struct.pack_into("<H", b, _directory_entry(b, 1), 0x05),
    }
    for message, damage in cases.items():
        data = bytearray(fff)
        damage(data)
        with pytest.raises(FFFError, match=message):
            parse_fff(bytes(data))
    data = bytearray(fff)  # camera record shortened to 0x100 bytes
    struct.pack_into("<I", data, _directory_entry(data, 1) + 0x10, 0x100)
    with pytest.raises(FFFError, match="camera-information record is truncated"):
        parse_fff(bytes(data))
    data = bytearray(fff)  # raw size 0 x 12
    start = struct.unpack_from("<I", data, _directory_entry(data, 0) + 0x0C)[0]
    struct.pack_into("<H", data, start + 2, 0)
    with pytest.raises(FFFError, match="0x12"):
        parse_fff(bytes(data))
    with pytest.raises(UnsupportedFormatError, match="not a FLIR FFF"):
        parse_fff(b"\0" * 200)


@pytest.mark.parametrize("kind", ["raw", "png", "jpegls"])
def test_truncation_anywhere_raises_an_imaging_error(raw, kind):
    fff = build_fff(raw, SC660, payload=payloads(raw)[kind])
    for cut in range(0, len(fff) - 1, max(1, len(fff) // 97)):
        with pytest.raises(ImagingError):
            parse_fff(fff[:cut])


@pytest.mark.parametrize("kind", ["raw", "png", "jpegls"])
def test_random_damage_raises_only_imaging_errors(rng, raw, kind):
    data = wrap_in_jpeg(build_fff(raw, SC660, payload=payloads(raw)[kind]), chunk=300)
    for _ in range(300):
        damaged = bytearray(data)
        for i in rng.integers(0, len(data), 2):
            damaged[i] = rng.integers(0, 256)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a damaged humidity read as a fraction
            try:
                read_thermal(bytes(damaged)).temperature_c()
            except ImagingError:
                pass


def test_truncated_rjpeg(raw):
    data = wrap_in_jpeg(build_fff(raw, SC660), chunk=150)
    for cut in (3, 10, len(data) // 3, len(data) // 2, len(data) - 30):
        with pytest.raises(ImagingError):
            read_thermal(data[:cut])
    with pytest.raises(TruncatedImageError, match="runs past the end"):
        read_thermal(data[: len(data) // 2])


def fff_raw_last(raw, payload):
    """An FFF frame with the raw record last, as in FLIR's CSQ files."""
    records = [(0x20, camera_record(SC660)), (0x01, raw_record(raw, payload=payload))]
    header = bytearray(0x40)
    header[:4] = b"FFF\0"
    struct.pack_into("<III", header, 0x14, 100, 0x40, len(records))
    directory, body = bytearray(), bytearray()
    pos = 0x40 + 32 * len(records)
    for rec_type, data in records:
        entry = bytearray(32)
        struct.pack_into("<HHIIII", entry, 0, rec_type, 1, 100, 1, pos + len(body), len(data))
        directory += entry
        body += data
    return bytes(header + directory + body)


def test_compressed_frame_missing_only_its_padding(raw):
    import imagecodecs

    stream = imagecodecs.jpegls_encode(raw) + b"\0" * 4  # FLIR pads records like this
    fff = fff_raw_last(raw, stream)
    frame = parse_fff(fff[:-4])
    assert frame.missing_bytes == 4
    np.testing.assert_array_equal(frame.raw, raw)
    with pytest.raises(TruncatedImageError, match="ends 9 bytes before"):
        parse_fff(fff[:-9])  # the stream's end marker is gone: the frame is incomplete
    seq = fff * 2
    with pytest.warns(UserWarning, match="frame 1: the file ends 4 bytes before"):
        assert len(list(iter_frames(seq[:-4]))) == 2


def test_seq_resyncs_after_junk_and_warns_on_trailing_junk(raw):
    frame = build_fff(raw, SC660)
    seq = frame + b"\x00JUNK" * 10 + frame
    frames = list(iter_frames(seq))
    assert len(frames) == 2 and frames[1].kind == "seq"
    with pytest.warns(UserWarning, match="hold no FFF frame"):
        assert len(list(iter_frames(frame + b"\x01" * 100))) == 1
    with pytest.raises(UnsupportedFormatError, match="no FLIR FFF frame"):
        list(iter_frames(b"\x01" * 100))


def test_seq_damage_in_the_first_frame_raises(raw):
    seq = build_fff(raw, SC660) * 2
    with pytest.raises(ImagingError):
        list(iter_frames(seq[:100]))


def test_seq_iteration_holds_one_frame_at_a_time(tmp_path, rng):
    raw = rng.integers(15000, 20000, size=(120, 160)).astype(np.uint16)
    frame = build_fff(raw, SC660)
    read_thermal(frame).temperature_c()  # the lookup table is built once, before measuring

    def peak_bytes(count):
        path = tmp_path / f"{count}.seq"
        path.write_bytes(frame * count)
        tracemalloc.start()
        try:
            seen = sum(1 for image in iter_frames(path) if image.temperature_c() is not None)
            return seen, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    short, long = peak_bytes(10), peak_bytes(150)  # 0.4 MB and 5.8 MB of frames
    assert short[0] == 10 and long[0] == 150
    assert long[1] < 10 * len(frame), f"peak {long[1]} bytes for {len(frame)}-byte frames"
    assert long[1] < 1.5 * short[1] + 65536  # memory does not grow with the frame count
    assert frame_length(frame) == len(frame)


def test_read_thermal_of_a_seq_reads_only_the_first_frame(tmp_path, raw):
    path = tmp_path / "a.seq"
    frame = build_fff(raw, SC660)
    path.write_bytes(frame * 3 + b"\xff" * 100)
    image = read_thermal(path)
    np.testing.assert_array_equal(image.raw, raw)
    assert image.kind == "seq" and image.info["frame"] == 0


def test_model_undefined_parameters_raise_clearly():
    for change in ({"planck_b": 1e9}, {"alpha1": -1e6, "distance_m": 1e6}, {"planck_r2": 0}):
        with pytest.raises(ThermalParameterError):
            raw_to_celsius(np.array([18000], np.uint16), params=SC660, **change)


def test_camera_record_with_absurd_values(raw):
    bad = build_fff(raw, SC660.replace(emissivity=0.5))
    data = bytearray(bad)
    cam = struct.unpack_from("<I", data, _directory_entry(data, 1) + 0x0C)[0]
    struct.pack_into("<f", data, cam + 0x20, -0.3)  # emissivity
    image = read_thermal(bytes(data))  # reading works: the parameters are data
    assert image.params.emissivity == pytest.approx(-0.3)
    with pytest.raises(ThermalParameterError, match="emissivity"):
        image.temperature_c()
    assert image.temperature_c(emissivity=0.9).shape == raw.shape  # repaired per call
    struct.pack_into("<f", data, cam + 0x58, float("nan"))  # Planck R1
    with pytest.raises(ThermalParameterError, match="finite"):
        read_thermal(bytes(data)).temperature_c(emissivity=0.9)


def test_iter_frames_serves_single_frame_files(raw, tmp_path):
    rjpeg = wrap_in_jpeg(build_fff(raw, SC660))
    frames = list(iter_frames(rjpeg))
    assert len(frames) == 1 and frames[0].kind == "rjpeg"
    path = tmp_path / "t.npy"
    np.save(path, np.full((4, 5), 21.5, np.float32))
    (frame,) = iter_frames(path)
    assert frame.kind == "celsius" and frame.temperature_c()[0, 0] == 21.5
    empty = tmp_path / "empty.seq"
    empty.write_bytes(b"")
    with pytest.raises(ImagingError, match="empty"):
        list(iter_frames(empty))
    with pytest.raises(ImagingError, match="no such file"):
        list(iter_frames(tmp_path / "missing.seq"))


def test_iter_frames_start_skips_without_decoding(rng):
    raws = [rng.integers(15000, 20000, size=(12, 16)).astype(np.uint16) for _ in range(4)]
    frames = [build_fff(r, SC660) for r in raws]
    broken = bytearray(frames[1])
    start = struct.unpack_from("<I", broken, _directory_entry(broken, 0) + 0x0C)[0]
    struct.pack_into("<H", broken, start + 2, 0)  # frame 1's raw record is undecodable
    seq = frames[0] + bytes(broken) + frames[2] + frames[3]
    got = list(iter_frames(seq, start=2))
    assert [f.info["frame"] for f in got] == [2, 3]
    np.testing.assert_array_equal(got[0].raw, raws[2])
    assert list(iter_frames(seq, start=9)) == []
    with pytest.raises(ValueError):
        list(iter_frames(seq, start=-1))


def test_embedded_visual_in_a_built_frame(raw):
    import cv2

    from imaging.thermal.fff import embedded_visual
    from imaging.thermal.radiometry import read_visual

    photo = np.zeros((20, 30, 3), np.uint8)
    photo[:, :15] = (200, 30, 30)
    jpeg = cv2.imencode(".jpg", photo[:, :, ::-1])[1].tobytes()
    records = [(0x0E, raw_record(np.zeros((20, 30), np.uint16), payload=jpeg)),
               (0x20, camera_record(SC660)), (0x01, raw_record(raw))]  # fmt: skip
    header = bytearray(0x40)
    header[:4] = b"FFF\0"
    struct.pack_into("<III", header, 0x14, 100, 0x40, len(records))
    directory, body = bytearray(), bytearray()
    pos = 0x40 + 32 * len(records)
    for rec_type, data in records:
        entry = bytearray(32)
        struct.pack_into("<HHIIII", entry, 0, rec_type, 1, 100, 1, pos + len(body), len(data))
        directory += entry
        body += data
    fff = bytes(header + directory + body)
    got = embedded_visual(fff)
    assert got.shape == (20, 30, 3) and abs(int(got[10, 5, 0]) - 200) < 10
    assert read_visual(wrap_in_jpeg(fff, chunk=400)).shape == (20, 30, 3)
    np.testing.assert_array_equal(parse_fff(fff).raw, raw)
    damaged = bytearray(fff)
    damaged[pos + 0x20 + 30 : pos + 0x20 + 60] = b"\0" * 30
    with pytest.raises(ImagingError):
        embedded_visual(bytes(damaged)[: pos + 100])
    with pytest.raises(FFFError, match="no visual"):
        embedded_visual(build_fff(raw, SC660))


def test_a_frame_in_the_wrong_byte_order_is_swapped_back(raw):
    import cv2

    fine = cv2.imencode(".png", raw.byteswap())[1].tobytes()  # FLIR's order: swapped
    wrong = cv2.imencode(".png", raw)[1].tobytes()  # a writer that forgot the swap
    median = int(np.median(raw))

    def with_median(payload):
        fff = bytearray(build_fff(raw, SC660, payload=payload))
        cam = struct.unpack_from("<I", fff, _directory_entry(fff, 1) + 0x0C)[0]
        struct.pack_into("<H", fff, cam + 0x338, median)  # the camera's RawValueMedian
        return bytes(fff)

    np.testing.assert_array_equal(parse_fff(with_median(fine)).raw, raw)
    with pytest.warns(UserWarning, match="other byte order"):
        frame = parse_fff(with_median(wrong))
    np.testing.assert_array_equal(frame.raw, raw)
    assert frame.info["byte_order_swapped"]


@pytest.mark.parametrize("kind", ["png", "jpegls"])
def test_a_stream_larger_than_its_record_is_refused_before_decoding(kind):
    import cv2
    import imagecodecs

    big = np.zeros((4000, 4000), np.uint16)  # 32 MB once decoded
    stream = (
        cv2.imencode(".png", big)[1].tobytes() if kind == "png" else imagecodecs.jpegls_encode(big)
    )
    fff = build_fff(np.zeros((12, 16), np.uint16), SC660, payload=stream)
    tracemalloc.start()
    try:
        with pytest.raises(FFFError, match="declares 4000x4000"):
            parse_fff(fff)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(fff) + (1 << 20)


def test_visual_photo_bomb_is_refused(raw, monkeypatch):
    import cv2

    from imaging import ImageTooLargeError
    from imaging.thermal.fff import embedded_visual

    jpeg = cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes()
    records = [(0x0E, raw_record(np.zeros((64, 64), np.uint16), payload=jpeg)),
               (0x20, camera_record(SC660)), (0x01, raw_record(raw))]  # fmt: skip
    header = bytearray(0x40)
    header[:4] = b"FFF\0"
    struct.pack_into("<III", header, 0x14, 100, 0x40, len(records))
    directory, body = bytearray(), bytearray()
    pos = 0x40 + 32 * len(records)
    for rec_type, data in records:
        entry = bytearray(32)
        struct.pack_into("<HHIIII", entry, 0, rec_type, 1, 100, 1, pos + len(body), len(data))
        directory += entry
        body += data
    fff = bytes(header + directory + body)
    assert embedded_visual(fff).shape == (64, 64, 3)
    monkeypatch.setenv("IMAGING_MAX_PIXELS", "1000")
    with pytest.raises(ImageTooLargeError, match="64x64"):
        embedded_visual(fff)
