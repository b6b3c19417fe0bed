"""Coverage-guided fuzzing of the thermal parsers: FLIR R-JPEG (APP1/FFF), FFF records, SEQ
and CSQ streams. Any exception other than an ``ImagingError`` (or a warning) is a finding.

``make fuzz`` runs it; seeds are small FFF frames and R-JPEGs built in memory.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from imaging import ImagingError
    from imaging.thermal.radiometry import iter_frames, read_thermal


def test_one_input(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_thermal(data)
        except ImagingError:
            pass
        try:
            for _ in iter_frames(data):
                pass
        except ImagingError:
            pass


def write_seeds(folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import numpy as np
    from fff_builder import build_fff, wrap_in_jpeg

    from imaging.thermal.planck import ThermalParams

    folder.mkdir(parents=True, exist_ok=True)
    raw = np.arange(48, dtype=np.uint16).reshape(6, 8) + 15000
    fff = build_fff(raw, ThermalParams())
    (folder / "fff").write_bytes(fff)
    (folder / "fff_be").write_bytes(build_fff(raw, ThermalParams(), ">"))
    (folder / "seq").write_bytes(fff * 3)
    (folder / "rjpeg").write_bytes(wrap_in_jpeg(fff, chunk=200))


if __name__ == "__main__":
    corpus = Path(__file__).parent / "corpus" / "thermal"
    if not corpus.exists():
        write_seeds(corpus)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
