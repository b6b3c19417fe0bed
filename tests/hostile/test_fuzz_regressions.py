"""Inputs that once crashed a parser under ``make fuzz``, kept so the bug stays fixed.

A file ``regressions/<target>-<hash>.bin`` is fed to the entry points of that fuzz target;
each must end in an ``ImagingError`` (or decode), nothing else.
"""

import warnings
from pathlib import Path

import pytest

from imaging import ImagingError
from imaging.io import imread
from imaging.thermal.radiometry import iter_frames, read_thermal, read_visual

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.bin"))


def _drain(data: bytes) -> None:
    for _ in iter_frames(data):
        pass


ENTRY_POINTS = {
    "imread": [imread],
    "tiff": [imread, lambda data: imread(data, page=0)],
    "dicom": [imread, lambda data: imread(data, page=0)],
    "rjpeg": [read_thermal, read_visual],
    "seq": [_drain],
}


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_fuzz_finding_ends_in_an_imaging_error(path):
    target = path.name.split("-")[0]
    assert target in ENTRY_POINTS, f"{path.name}: name it <target>-<hash>.bin"
    data = path.read_bytes()
    for read in ENTRY_POINTS[target]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read(data)
            except ImagingError:
                pass


def test_there_are_regressions_to_check():
    assert REGRESSIONS, "the regressions folder is empty"
