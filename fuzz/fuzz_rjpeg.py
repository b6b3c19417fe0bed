"""Coverage-guided fuzzing of the FLIR R-JPEG and FFF parsers: APP1 segment reassembly, the
FFF record directory, CameraInfo, raw data as TIFF or byte-swapped PNG, the embedded visual
image (:func:`read_thermal`, :func:`read_visual`).

Any exception other than an ``ImagingError`` (or a warning) is a finding (``make fuzz``).
"""

from __future__ import annotations

import warnings

import atheris
from _harness import fff_frames, main

with atheris.instrument_imports():
    from imaging import ImagingError
    from imaging.thermal.radiometry import read_thermal, read_visual


def test_one_input(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for reader in (read_thermal, read_visual):
            try:
                reader(data)
            except ImagingError:
                pass


def seeds() -> dict[str, bytes]:
    fff, fff_be = fff_frames()  # puts the test helpers on the path
    from fff_builder import wrap_in_jpeg

    return {
        "fff": fff,
        "fff_be": fff_be,
        "rjpeg": wrap_in_jpeg(fff, chunk=200),
        "rjpeg_one_chunk": wrap_in_jpeg(fff, chunk=60000),
    }


if __name__ == "__main__":
    main("rjpeg", test_one_input, seeds)
