"""Coverage-guided fuzzing of the DICOM/DICOS path of :func:`imaging.io.imread` (pydicom
underneath): explicit and implicit VR, 8- and 16-bit, signed pixels, multi-frame, RLE.

Any exception other than an ``ImagingError`` is a finding (``make fuzz``).
"""

from __future__ import annotations

import atheris
from _harness import main

with atheris.instrument_imports():
    import pydicom  # noqa: F401

    from imaging import ImagingError
    from imaging.io import imread


def test_one_input(data: bytes) -> None:
    for page in (None, 0):
        try:
            imread(data, page=page, max_pixels=1 << 22)
        except ImagingError:
            pass


def _dataset(pixels, *, signed: bool = False, implicit: bool = False, rle: bool = False) -> bytes:
    import io

    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        SecondaryCaptureImageStorage,
        generate_uid,
    )

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = FileDataset("x.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    frames = pixels if pixels.ndim == 3 else pixels[None]
    if frames.shape[0] > 1:
        ds.NumberOfFrames = frames.shape[0]
    ds.Rows, ds.Columns = frames.shape[1:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = int(signed)
    if rle:
        ds.compress("1.2.840.10008.1.2.5", pixels, encoding_plugin="pydicom")
    else:
        ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def seeds() -> dict[str, bytes]:
    import numpy as np

    rng = np.random.default_rng(0)
    raw16 = rng.integers(0, 4096, size=(12, 16), dtype=np.uint16)
    return {
        "u16": _dataset(raw16),
        "u8": _dataset((raw16 >> 4).astype(np.uint8)),
        "i16": _dataset(raw16.astype(np.int16) - 2048, signed=True),
        "implicit": _dataset(raw16, implicit=True),
        "frames": _dataset(np.stack([raw16, raw16[::-1], raw16[:, ::-1]])),
        "rle": _dataset(raw16, rle=True),
    }


if __name__ == "__main__":
    main("dicom", test_one_input, seeds)
