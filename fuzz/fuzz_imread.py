"""Coverage-guided fuzzing of :func:`imaging.io.imread` across every format it sniffs
(PNG, JPEG, BMP, TIFF, DICOM, NPY).

Any exception other than an ``ImagingError`` is a finding. Run with ``make fuzz`` or
``python fuzz/fuzz_imread.py -max_total_time=600``; a crash is saved as ``crash-*`` and
belongs in ``tests/hostile/`` as a regression case.
"""

from __future__ import annotations

import atheris
from _harness import import_test_helpers, main, sample_arrays

with atheris.instrument_imports():
    import pydicom  # noqa: F401  (instrumented: the parsers behind imread)
    import tifffile  # noqa: F401

    from imaging import ImagingError
    from imaging.io import imread


def test_one_input(data: bytes) -> None:
    try:
        imread(data, max_pixels=1 << 22)
    except ImagingError:
        pass


def seeds() -> dict[str, bytes]:
    import numpy as np

    import_test_helpers()
    from corpus import _bmp, _dicom, _jpeg, _npy, _png, _tiff

    grey, raw16 = sample_arrays()
    return {
        "png8": _png(grey), "png16": _png(raw16), "jpeg": _jpeg(np.dstack([grey] * 3)),
        "bmp": _bmp(grey), "tiff": _tiff(raw16), "tiffz": _tiff(raw16, compression="zlib"),
        "npy": _npy(raw16), "dicom": _dicom(raw16),
    }  # fmt: skip


if __name__ == "__main__":
    main("imread", test_one_input, seeds)
