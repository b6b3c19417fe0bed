"""Coverage-guided fuzzing of the TIFF path of :func:`imaging.io.imread` (tifffile underneath):
strips and tiles, compression, multi-page stacks, BigTIFF, both byte orders, 8/16-bit and
float pages, with the first page and all pages read.

Any exception other than an ``ImagingError`` is a finding (``make fuzz``).
"""

from __future__ import annotations

import atheris
from _harness import import_test_helpers, main, sample_arrays

with atheris.instrument_imports():
    import tifffile  # noqa: F401

    from imaging import ImagingError
    from imaging.io import imread


def test_one_input(data: bytes) -> None:
    for page in (None, 0):
        try:
            imread(data, page=page, max_pixels=1 << 22)
        except ImagingError:
            pass


def seeds() -> dict[str, bytes]:
    import numpy as np

    import_test_helpers()
    from corpus import _tiff

    grey, raw16 = sample_arrays()
    return {
        "u16": _tiff(raw16),
        "u16_be": _tiff(raw16, byteorder=">"),
        "zlib": _tiff(raw16, compression="zlib"),
        "lzw": _tiff(grey, compression="lzw"),
        "packbits": _tiff(grey, compression="packbits"),
        "tiled": _tiff(np.tile(raw16, (2, 2)), tile=(16, 16)),
        "stack": _tiff(np.stack([raw16, raw16[::-1]])),
        "bigtiff": _tiff(raw16, bigtiff=True),
        "float": _tiff(raw16.astype(np.float32) / 7),
        "rgb": _tiff(np.dstack([grey] * 3), photometric="rgb"),
        "predictor": _tiff(raw16, compression="zlib", predictor=True),
    }


if __name__ == "__main__":
    main("tiff", test_one_input, seeds)
