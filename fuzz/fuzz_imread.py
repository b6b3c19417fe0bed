"""Coverage-guided fuzzing of :func:`imaging.io.imread` (PNG, JPEG, BMP, TIFF, DICOM, NPY).

Any exception other than an ``ImagingError`` is a finding. Run with ``make fuzz`` or
``python fuzz/fuzz_imread.py -max_total_time=600 fuzz/corpus/imread``; a crash is saved as
``crash-*`` and belongs in ``tests/hostile/regressions/`` as a regression case.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

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


def write_seeds(folder: Path) -> None:
    """Valid small files of every format, as starting points."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))
    import numpy as np
    from corpus import _bmp, _dicom, _jpeg, _npy, _png, _tiff

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, size=(12, 16), dtype=np.uint8)
    raw16 = rng.integers(0, 65536, size=(12, 16), dtype=np.uint16)
    seeds = {
        "png8": _png(grey), "png16": _png(raw16), "jpeg": _jpeg(np.dstack([grey] * 3)),
        "bmp": _bmp(grey), "tiff": _tiff(raw16), "tiffz": _tiff(raw16, compression="zlib"),
        "npy": _npy(raw16), "dicom": _dicom(raw16),
    }  # fmt: skip
    for name, data in seeds.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    corpus = Path(__file__).parent / "corpus" / "imread"
    if not corpus.exists():
        write_seeds(corpus)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
