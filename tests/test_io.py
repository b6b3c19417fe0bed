import struct
import zlib

import cv2
import numpy as np
import pytest
import tifffile

from imaging import (
    DTypeError,
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    ImagingError,
    PageError,
    ReadError,
    ShapeError,
    TruncatedImageError,
    UnsupportedFormatError,
    WriteError,
)
from imaging.io import detect_format, exif_upright, imread, imwrite


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".npy"])
def test_lossless_round_trip_keeps_rgb_order(tmp_path, rgb, ext):
    path = tmp_path / f"img{ext}"
    imwrite(path, rgb)
    back = imread(path)
    assert back.dtype == np.uint8 and back.shape == rgb.shape
    np.testing.assert_array_equal(back, rgb)


def test_rgb_order_matches_opencv_bgr_file(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 255  # pure red in RGB
    path = tmp_path / "red.png"
    imwrite(path, image)
    assert cv2.imread(str(path))[0, 0].tolist() == [0, 0, 255]  # BGR on disk
    assert imread(path)[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("ext", [".png", ".tiff", ".npy"])
def test_sixteen_bit_stays_sixteen_bit(tmp_path, rng, ext):
    image = rng.integers(0, 65536, size=(17, 23), dtype=np.uint16)
    path = tmp_path / f"raw{ext}"
    imwrite(path, image)
    back = imread(path)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_rgba_png(tmp_path, rng):
    image = rng.integers(0, 256, size=(5, 6, 4), dtype=np.uint8)
    imwrite(tmp_path / "a.png", image)
    np.testing.assert_array_equal(imread(tmp_path / "a.png"), image)


def test_jpeg_round_trip_is_close(tmp_path):
    image = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    imwrite(tmp_path / "g.jpg", image, quality=98)
    back = imread(tmp_path / "g.jpg")
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).max() <= 4


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64, np.int16])
def test_tiff_dtypes(tmp_path, rng, dtype):
    image = (rng.random((8, 9)) * 100).astype(dtype)
    imwrite(tmp_path / "t.tif", image)
    back = imread(tmp_path / "t.tif")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, image)


def test_multipage_tiff(tmp_path, rng):
    stack = rng.integers(0, 65536, size=(2, 10, 12), dtype=np.uint16)
    path = tmp_path / "dual.tiff"
    tifffile.imwrite(path, stack)
    np.testing.assert_array_equal(imread(path), stack)
    np.testing.assert_array_equal(imread(path, page=1), stack[1])
    with pytest.raises(PageError, match="page 5"):
        imread(path, page=5)


def test_reads_from_bytes(tmp_path, rgb):
    imwrite(tmp_path / "b.png", rgb)
    np.testing.assert_array_equal(imread((tmp_path / "b.png").read_bytes()), rgb)


def test_dicom_projection(tmp_path, rng):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    pixels = rng.integers(0, 4096, size=(12, 16), dtype=np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(tmp_path / "x.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(tmp_path / "x.dcm", enforce_file_format=True)
    back = imread(tmp_path / "x.dcm")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, pixels)
    del ds.PixelData
    ds.save_as(tmp_path / "empty.dcm", enforce_file_format=True)
    with pytest.raises(EmptyImageError, match="no pixel data"):
        imread(tmp_path / "empty.dcm")


def test_array_input_is_validated():
    image = np.zeros((3, 4), np.uint16)
    assert imread(image) is image
    with pytest.raises(DTypeError):
        imread(np.zeros((3, 4), np.complex64))
    with pytest.raises(DTypeError):
        imread(np.zeros((3, 4), object))
    with pytest.raises(ShapeError):
        imread(np.zeros(5, np.uint8))
    with pytest.raises(EmptyImageError):
        imread(np.zeros((0, 4), np.uint8))
    with pytest.raises(DTypeError):
        imread(12)


# --- broken files --------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ImageNotFoundError, match="no such file") as info:
        imread(tmp_path / "nope.png")
    assert "nope.png" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_folder(tmp_path):
    with pytest.raises(ReadError, match="folder"):
        imread(tmp_path)


def test_zero_byte_file(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(EmptyImageError, match=r"zero\.png.*empty"):
        imread(tmp_path / "zero.png")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_truncated_png(tmp_path, rng, keep):
    image = rng.integers(0, 256, size=(40, 40), dtype=np.uint8)
    imwrite(tmp_path / "full.png", image)
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TruncatedImageError, match=r"cut\.png"):
        imread(tmp_path / "cut.png")


def test_truncated_png_header(tmp_path):
    (tmp_path / "h.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(TruncatedImageError):
        imread(tmp_path / "h.png")


def test_truncated_jpeg(tmp_path, rgb):
    imwrite(tmp_path / "full.jpg", rgb)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedImageError, match=r"cut\.jpg"):
        imread(tmp_path / "cut.jpg")
    (tmp_path / "head.jpg").write_bytes(data[:30])
    with pytest.raises(TruncatedImageError):
        imread(tmp_path / "head.jpg")


def test_truncated_tiff(tmp_path, rng):
    image = rng.integers(0, 65536, size=(64, 64), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "full.tif", image)
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match=r"cut\.tif"):
        imread(tmp_path / "cut.tif")


def test_garbage_behind_png_signature(tmp_path, rng):
    body = rng.integers(0, 256, size=200, dtype=np.uint8).tobytes()
    (tmp_path / "g.png").write_bytes(b"\x89PNG\r\n\x1a\n" + body + b"IEND")
    with pytest.raises(ReadError):
        imread(tmp_path / "g.png")


def test_wrong_extension_is_read_by_content(tmp_path, rgb):
    imwrite(tmp_path / "real.png", rgb)
    (tmp_path / "named.jpg").write_bytes((tmp_path / "real.png").read_bytes())
    np.testing.assert_array_equal(imread(tmp_path / "named.jpg"), rgb)


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("hello, this is text")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.png.*not a supported"):
        imread(tmp_path / "notes.png")


def _png_claiming(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_png_bomb_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_claiming(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png.*100000x100000"):
        imread(tmp_path / "bomb.png")


def test_jpeg_bomb_refused_before_decoding(tmp_path, rgb):
    imwrite(tmp_path / "s.jpg", rgb)
    data = bytearray((tmp_path / "s.jpg").read_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError):
        imread(tmp_path / "bomb.jpg")


def test_tiff_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.tif"
    # a 60000 x 60000 uint8 TIFF whose strips are never written: the header alone claims it
    with tifffile.TiffWriter(path) as tif:
        tif.write(shape=(60000, 60000), dtype=np.uint8)
    with pytest.raises(ImageTooLargeError, match="TIFF"):
        imread(path)


def test_limit_is_configurable(tmp_path, rgb, monkeypatch):
    imwrite(tmp_path / "a.png", rgb)
    with pytest.raises(ImageTooLargeError):
        imread(tmp_path / "a.png", max_pixels=100)
    monkeypatch.setenv("IMAGING_MAX_PIXELS", "100")
    with pytest.raises(ImageTooLargeError):
        imread(tmp_path / "a.png")
    assert imread(tmp_path / "a.png", max_pixels=10_000).shape == rgb.shape


def test_npy_with_objects_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DTypeError, match="unpickling"):
        imread(tmp_path / "o.npy")


def test_every_failure_is_an_imaging_error(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"II*\x00" + b"\xff" * 40)
    with pytest.raises(ImagingError):
        imread(tmp_path / "x.tif")


def test_detect_format():
    assert detect_format(b"\xff\xd8\xff\xe0") == "jpeg"
    assert detect_format(b"MM\x00*") == "tiff"
    assert detect_format(b"\0" * 128 + b"DICM") == "dicom"


# --- writing -------------------------------------------------------------------------------


def test_imwrite_errors(tmp_path):
    with pytest.raises(DTypeError, match="tiff"):
        imwrite(tmp_path / "f.png", np.zeros((2, 2), np.float32))
    with pytest.raises(UnsupportedFormatError, match="extension"):
        imwrite(tmp_path / "f.gif", np.zeros((2, 2), np.uint8))
    with pytest.raises(WriteError, match="does not exist"):
        imwrite(tmp_path / "missing" / "f.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(EmptyImageError):
        imwrite(tmp_path / "f.png", np.zeros((0, 2), np.uint8))
    with pytest.raises(ShapeError):
        imwrite(tmp_path / "f.png", np.zeros((2, 2, 2, 2), np.uint8))


def test_imwrite_replaces_atomically_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.png"
    imwrite(path, np.zeros((3, 3), np.uint8))
    imwrite(path, np.full((3, 3), 7, np.uint8))
    assert imread(path).max() == 7
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_a_write_removes_the_temporary_files_of_killed_writers(tmp_path):
    import os
    import subprocess
    import sys

    from imaging._shared.atomic import atomic_write

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    orphan = tmp_path / f".out.json.{int(gone.stdout)}.abc123.tmp"  # its writer was killed
    living = tmp_path / f".out.json.{os.getppid()}.def456.tmp"  # a writer still at work
    other = tmp_path / f".other.json.{int(gone.stdout)}.x.tmp"  # another file's
    for path in (orphan, living, other):
        path.write_text("partial")
    atomic_write(tmp_path / "out.json", "[]")
    assert orphan.exists()  # only on request: it lists the folder
    atomic_write(tmp_path / "out.json", "{}", remove_orphans=True)
    assert (tmp_path / "out.json").read_text() == "{}"
    assert not orphan.exists() and living.exists() and other.exists()


def jpeg_with_orientation(jpeg: bytes, orientation: int, order: str = "<") -> bytes:
    """``jpeg`` with an APP1 Exif segment whose IFD0 holds only the orientation tag."""
    tiff = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 8)
    tiff += struct.pack(order + "H", 1) + struct.pack(order + "HHI", 0x0112, 3, 1)
    tiff += struct.pack(order + "HH", orientation, 0) + struct.pack(order + "I", 0)
    segment = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_a_jpeg_as_opencv_does(order, orientation):
    stored = np.zeros((48, 80, 3), np.uint8)
    stored[:16, :24] = 255
    stored[30:, 60:, 2] = 200
    encoded = cv2.imencode(".jpg", stored)[1].tobytes()
    data = jpeg_with_orientation(encoded, orientation, order)
    shown = cv2.cvtColor(
        cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB
    )
    assert np.array_equal(imread(data, upright=True), shown)
    as_stored = imread(data)
    assert as_stored.shape == (48, 80, 3)
    assert (imread(data, upright=True).shape[:2] == (80, 48)) == (orientation >= 5)


def test_upright_ignores_a_broken_or_absent_tag(tmp_path):
    encoded = cv2.imencode(".jpg", np.full((10, 20, 3), 90, np.uint8))[1].tobytes()
    broken = encoded[:2] + b"\xff\xe1\x00\x0bExif\x00\x00MM\x00" + encoded[2:]
    assert imread(broken, upright=True).shape == (10, 20, 3)
    assert imread(encoded, upright=True).shape == (10, 20, 3)
    png = tmp_path / "plain.png"
    imwrite(png, np.zeros((10, 20), np.uint8))
    assert imread(png, upright=True).shape == (10, 20)
    assert exif_upright(np.zeros((2, 3)), 9).shape == (2, 3)
