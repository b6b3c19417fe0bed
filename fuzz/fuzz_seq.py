"""Coverage-guided fuzzing of the FLIR SEQ/CSQ frame stream (:func:`iter_frames`): frame
boundaries, resynchronisation after damage, frames cut mid-record.

Any exception other than an ``ImagingError`` (or a warning) is a finding (``make fuzz``).
"""

from __future__ import annotations

import warnings

import atheris
from _harness import fff_frames, main

with atheris.instrument_imports():
    from imaging import ImagingError
    from imaging.thermal.radiometry import iter_frames


def test_one_input(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for _ in iter_frames(data):
                pass
        except ImagingError:
            pass


def seeds() -> dict[str, bytes]:
    fff, fff_be = fff_frames()
    return {
        "seq3": fff * 3,
        "seq_be": fff_be * 2,
        "seq_gap": fff + b"\0" * 37 + fff,
        "seq_cut": fff * 2 + fff[: len(fff) // 2],
    }


if __name__ == "__main__":
    main("seq", test_one_input, seeds)
