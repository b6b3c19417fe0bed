"""DICOS / DICOM projection images as the X-ray analyzer reads them: brighter is more
transmission.

DICOS (NEMA's DICOM-based standard for security imaging) stores 2-D projections like DICOM
radiographs. A ``MONOCHROME2`` image already shows air bright; a ``MONOCHROME1`` image stores
its minimum as white, so its values rise with attenuation and are turned round here, within
the range its ``BitsStored`` allow. Everything else (pixel limit, damaged files, compressed
syntaxes) is :func:`imaging.imread`'s.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["is_dicom", "read_projection"]


def is_dicom(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` starts like a DICOM file (preamble, then ``DICM``)."""
    from imaging.io import detect_format

    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return detect_format(head) == "dicom"


def read_projection(path: str | os.PathLike) -> np.ndarray:
    """Read a DICOS/DICOM projection with air bright (``MONOCHROME1`` turned round).

    Parameters
    ----------
    path : str or path
        A DICOM file (2-D, or frames as (F, H, W)).

    Returns
    -------
    ndarray
        The stored values, or ``2**BitsStored - 1 - value`` for ``MONOCHROME1`` images; the
        dtype is the file's.

    Raises
    ------
    ImagingError
        As :func:`imaging.imread` for a file it cannot read.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from pydicom.dataset import FileDataset, FileMetaDataset
    >>> from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
    >>> meta = FileMetaDataset()
    >>> meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    >>> meta.MediaStorageSOPInstanceUID = generate_uid()
    >>> meta.TransferSyntaxUID = ExplicitVRLittleEndian
    >>> path = os.path.join(tempfile.mkdtemp(), "bag.dcm")
    >>> ds = FileDataset(path, {}, file_meta=meta, preamble=b"\\0" * 128)
    >>> ds.Rows, ds.Columns, ds.SamplesPerPixel = 1, 2, 1
    >>> ds.PhotometricInterpretation = "MONOCHROME1"
    >>> ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    >>> ds.PixelData = np.array([[0, 4000]], np.uint16).tobytes()
    >>> ds.save_as(path, enforce_file_format=True)
    >>> read_projection(path).tolist()
    [[4095, 95]]
    """
    import pydicom

    from imaging.io import imread

    pixels = imread(path)
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
        photometric = str(header.get("PhotometricInterpretation", "")).strip().upper()
        bits = int(header.get("BitsStored", 0) or 0)
    except Exception:  # imread read it: a header element it did not need is damaged
        return pixels
    if photometric != "MONOCHROME1" or not np.issubdtype(pixels.dtype, np.unsignedinteger):
        return pixels
    top = (1 << bits) - 1 if 0 < bits <= 8 * pixels.dtype.itemsize else np.iinfo(pixels.dtype).max
    return (top - np.minimum(pixels, top)).astype(pixels.dtype)
