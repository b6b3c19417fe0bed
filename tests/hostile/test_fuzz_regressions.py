"""Inputs that once crashed a parser or blew its memory under ``make fuzz``, kept so the bug
stays fixed.

A file ``regressions/<target>-<hash>.bin`` is fed to the entry points of that fuzz target in
a child process limited to 3 GB of address space; each must end in an ``ImagingError`` (or
decode), nothing else.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.bin"))

CHILD = r"""
import json, resource, sys, warnings
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from imaging import ImagingError
from imaging.io import imread
from imaging.thermal.radiometry import iter_frames, read_thermal, read_visual

def drain(data):
    for _ in iter_frames(data):
        pass

ENTRY_POINTS = {
    "imread": [imread],
    "tiff": [imread, lambda d: imread(d, page=0)],
    "dicom": [imread, lambda d: imread(d, page=0)],
    "rjpeg": [read_thermal, read_visual],
    "seq": [drain],
}
for path in sys.argv[1:]:
    target = path.rsplit("/", 1)[-1].split("-")[0]
    data = open(path, "rb").read()
    outcome = "ok"
    for read in ENTRY_POINTS.get(target, []):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                read(data)
            except ImagingError:
                pass
            except BaseException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
    if target not in ENTRY_POINTS:
        outcome = "unknown target: name it <target>-<hash>.bin"
    print(json.dumps({"name": path, "outcome": outcome}), flush=True)
"""


def test_fuzz_findings_end_in_an_imaging_error():
    assert REGRESSIONS, "the regressions folder is empty"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, REGRESSIONS)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(REGRESSIONS)
    bad = [r for r in results if r["outcome"] != "ok"]
    assert not bad, bad


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_regression_files_are_small(path):
    assert path.stat().st_size < 64 * 1024
