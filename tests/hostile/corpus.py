"""A deterministic generator of malformed inputs for the file readers (nothing is committed).

Each case is ``(name, bytes)``. Mutations start from small valid files made here, so the
corpus covers every format :func:`imaging.io.imread` reads: truncations, random bytes behind a
valid signature, bit flips in headers, headers claiming huge sizes (decompression bombs),
TIFF offsets pointing outside the file, NPY headers lying about shape or dtype, DICOM files
without pixel data or with absurd sizes; then damaged FLIR R-JPEG, FFF and SEQ files
(:func:`build_thermal_corpus`) and arrays with NaN, inf, no pixels, wrong dtypes or dimensions
for the analyzers (:func:`build_array_corpus`).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np


def _png(image: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".png", image)[1].tobytes()


def _jpeg(image: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".jpg", image)[1].tobytes()


def _bmp(image: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".bmp", image)[1].tobytes()


def _tiff(image: np.ndarray, **kwargs) -> bytes:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, image, **kwargs)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _dicom(pixels: np.ndarray | None, rows: int | None = None, cols: int | None = None) -> bytes:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("x.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    shape = pixels.shape if pixels is not None else (8, 8)
    ds.Rows = rows if rows is not None else shape[0]
    ds.Columns = cols if cols is not None else shape[1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    if pixels is not None:
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _png_chunk(kind: bytes, body: bytes, length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return struct.pack(">I", size) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_claiming(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))  # fmt: skip


def _mutations(name: str, data: bytes, rng: np.random.Generator, header: int) -> list:
    cases = []
    for frac in (0.0, 0.05, 0.2, 0.5, 0.8, 0.99):
        cases.append((f"{name}-truncated-{frac}", data[: int(len(data) * frac)]))
    for k in range(4):
        flipped = bytearray(data)
        for pos in rng.integers(0, min(header, len(data)), size=3):
            flipped[pos] ^= 1 << int(rng.integers(0, 8))
        cases.append((f"{name}-headerflip-{k}", bytes(flipped)))
    for k in range(3):
        cut = int(rng.integers(8, max(9, min(header, len(data)))))
        noise = rng.integers(0, 256, size=int(rng.integers(16, 4096)), dtype=np.uint8).tobytes()
        cases.append((f"{name}-random-after-{k}", data[:cut] + noise))
    return cases


def build_corpus(seed: int = 1234) -> list[tuple[str, bytes]]:
    """Return at least 200 malformed inputs, the same for the same seed."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(0, 256, size=(24, 32), dtype=np.uint8)
    rgb = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    raw16 = rng.integers(0, 65536, size=(24, 32), dtype=np.uint16)
    valid = {
        "png8": (_png(grey), 64),
        "png16": (_png(raw16), 64),
        "pngrgb": (_png(rgb), 64),
        "jpeg": (_jpeg(rgb), 300),
        "bmp": (_bmp(rgb), 54),
        "tiff16": (_tiff(raw16), 200),
        "tiffzlib": (_tiff(np.stack([raw16, raw16]), compression="zlib"), 400),
        "tiffbig": (_tiff(grey, bigtiff=True), 200),
        "npy": (_npy(raw16), 128),
        "dicom": (_dicom(raw16), 400),
    }
    cases: list[tuple[str, bytes]] = [("empty", b""), ("one-byte", b"\x89")]
    for name, (data, header) in valid.items():
        cases.extend(_mutations(name, data, rng, header))
    for k in range(20):
        size = int(rng.integers(1, 5000))
        cases.append((f"noise-{k}", rng.integers(0, 256, size=size, dtype=np.uint8).tobytes()))
    signatures = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM",
                  b"\x93NUMPY", b"\0" * 128 + b"DICM"]  # fmt: skip
    for k, sig in enumerate(signatures):
        for j in range(3):
            noise = rng.integers(0, 256, size=int(rng.integers(4, 3000)), dtype=np.uint8)
            cases.append((f"signature-{k}-noise-{j}", sig + noise.tobytes()))

    # decompression bombs: headers claiming huge images
    for w, h in ((100_000, 100_000), (2**31 - 1, 2**31 - 1), (1, 2**31 - 1), (70_000, 70_000)):
        cases.append((f"png-bomb-{w}x{h}", _png_claiming(w, h)))
    cases.append(("png-bomb-16bit-rgba", _png_claiming(60_000, 60_000, 16, 6)))
    cases.append(("png-zero-size", _png_claiming(0, 0)))
    cases.append(
        (
            "png-huge-chunk-length",
            b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0), length=2**31 - 1),
        )
    )
    jpeg = bytearray(_jpeg(rgb))
    sof = jpeg.find(b"\xff\xc0")
    for w, h in ((65_535, 65_535), (0, 100), (100, 0), (30_000, 30_000)):
        bomb = bytearray(jpeg)
        bomb[sof + 5 : sof + 9] = struct.pack(">HH", h, w)
        cases.append((f"jpeg-bomb-{w}x{h}", bytes(bomb)))
    bmp = bytearray(_bmp(rgb))
    for w, h in ((100_000, 100_000), (-5, 2**30), (0, 0)):
        bomb = bytearray(bmp)
        bomb[18:26] = struct.pack("<ii", w, h)
        cases.append((f"bmp-bomb-{w}x{h}", bytes(bomb)))

    # TIFF: offsets outside the file, huge dimensions, strip counts beyond the end
    tiff = _tiff(raw16)
    first_ifd = struct.unpack("<I", tiff[4:8])[0]
    for k, offset in enumerate((len(tiff) + 10, 2**32 - 1, 3, 0)):
        cases.append((f"tiff-ifd-offset-{k}", tiff[:4] + struct.pack("<I", offset) + tiff[8:]))
    count = struct.unpack("<H", tiff[first_ifd : first_ifd + 2])[0]
    for k in range(count):
        entry = first_ifd + 2 + 12 * k
        tag = struct.unpack("<H", tiff[entry : entry + 2])[0]
        for label, value in (("huge", 2**31 - 1), ("outside", len(tiff) + 1000)):
            patched = bytearray(tiff)
            patched[entry + 8 : entry + 12] = struct.pack("<I", value)
            cases.append((f"tiff-tag{tag}-{label}", bytes(patched)))

    # NPY headers lying about shape or dtype
    for k, header in enumerate(
        (
            "{'descr': '<u2', 'fortran_order': False, 'shape': (100000, 100000), }",
            "{'descr': '<u2', 'fortran_order': False, 'shape': (24, 32), }",
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': '<c16', 'fortran_order': False, 'shape': (4, 4), }",
            "{'descr': '<u2', 'fortran_order': False, 'shape': (0, 5), }",
            "not a dict at all",
            "{'descr': '<u2', 'fortran_order': False, 'shape': (-1, 5), }",
        )
    ):
        text = header.ljust(118) + "\n"
        cases.append((f"npy-header-{k}", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text))
                      + text.encode() + b"\0" * 64))  # fmt: skip

    # DICOM without pixel data, or with sizes that do not fit the data
    cases.append(("dicom-no-pixels", _dicom(None)))
    cases.append(("dicom-huge-rows", _dicom(raw16, rows=65_535, cols=65_535)))
    cases.append(("dicom-zero-rows", _dicom(raw16, rows=0)))
    cases.append(("dicom-short-data", _dicom(raw16, rows=48)))
    return cases


def build_thermal_corpus(seed: int = 4321) -> list[tuple[str, bytes]]:
    """Damaged radiometric files: FLIR R-JPEGs with broken FFF records, FFF frames with bad
    offsets and lengths, SEQ streams with bad frame offsets or cut mid-frame."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fff_builder import build_fff, wrap_in_jpeg

    from imaging.thermal.planck import ThermalParams

    rng = np.random.default_rng(seed)
    raw = (15000 + rng.integers(0, 3000, size=(12, 16))).astype(np.uint16)
    fff = build_fff(raw, ThermalParams())
    fff_be = build_fff(raw, ThermalParams(), ">")
    valid = {
        "fff": (fff, 0x200),
        "fff-be": (fff_be, 0x200),
        "rjpeg": (wrap_in_jpeg(fff, chunk=300), 0x300),
        "seq": (fff * 3, 0x200),
    }
    cases = []
    for name, (data, header) in valid.items():
        for mutated_name, mutated in _mutations(name, data, rng, header):
            cases.append((f"thermal-{mutated_name.replace('truncated', 'cut')}", mutated))
    # directory entries pointing outside the frame: overwrite 4-byte fields with huge values
    for k in range(12):
        patched = bytearray(fff)
        pos = int(rng.integers(0x40, min(0x200, len(fff) - 4)))
        patched[pos : pos + 4] = struct.pack("<I", int(rng.integers(2**24, 2**32)))
        cases.append((f"thermal-fff-badfield-{k}", bytes(patched)))
    for k in range(6):  # a SEQ whose second frame starts at a wrong place
        shift = int(rng.integers(1, 64))
        cases.append((f"thermal-seq-offset-{k}", fff + fff[shift:] + fff))
    return cases


def build_array_corpus() -> list[tuple[str, np.ndarray]]:
    """Arrays an analyzer may be handed: NaN, inf, empty, wrong dtype or dimensions."""
    nan = np.full((16, 16), np.nan, np.float32)
    some_nan = np.ones((16, 16), np.float32)
    some_nan[3:5] = np.nan
    inf = np.ones((16, 16), np.float64)
    inf[0, 0] = np.inf
    return [
        ("array-all-nan", nan),
        ("array-some-nan", some_nan),
        ("array-inf", inf),
        ("array-neg-inf", -inf),
        ("array-empty-0x5", np.zeros((0, 5), np.uint8)),
        ("array-empty-5x0", np.zeros((5, 0), np.uint16)),
        ("array-1d", np.zeros(100, np.uint8)),
        ("array-4d", np.zeros((2, 3, 4, 5), np.uint8)),
        ("array-complex", np.zeros((8, 8), np.complex64)),
        ("array-bool", np.ones((8, 8), bool)),
        ("array-int64-huge", np.full((8, 8), 2**62, np.int64)),
        ("array-float16", np.ones((8, 8), np.float16)),
        ("array-1x1", np.zeros((1, 1), np.uint8)),
        ("array-7-channels", np.zeros((8, 8, 7), np.uint8)),
        ("array-object", np.array([[None, 1], [2, 3]], dtype=object)),
        ("array-strings", np.array([["a", "b"], ["c", "d"]])),
        ("array-huge-aspect", np.zeros((1, 20000), np.uint8)),
        ("array-scalar", np.array(3.0)),
    ]
