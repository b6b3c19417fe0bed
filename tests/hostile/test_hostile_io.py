"""Every malformed input (image files, radiometric thermal files, odd arrays handed to each
analyzer) ends in an ImagingError, or decodes or analyzes validly, quickly and within a bounded
address space; none crashes the process or raises anything else."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MEMORY_LIMIT_MB = 3072
SECONDS_PER_CASE = 5.0


@pytest.fixture(scope="module")
def outcomes():
    proc = subprocess.run(
        [sys.executable, str(HERE / "run_corpus.py"), str(MEMORY_LIMIT_MB)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0, f"the reader process died: {proc.stderr[-2000:]}"
    return lines


def test_corpus_is_large_enough(outcomes):
    assert len(outcomes) >= 200


def test_every_case_ends_cleanly(outcomes):
    bad = [o for o in outcomes if o["outcome"] not in ("ok", "imaging_error")]
    assert not bad, "\n".join(f"{o['name']}: {o['detail']}" for o in bad)


def test_every_case_is_fast(outcomes):
    slow = [o for o in outcomes if o["seconds"] > SECONDS_PER_CASE]
    assert not slow, slow


def test_bombs_are_refused_as_too_large(outcomes):
    bombs = [o for o in outcomes if "bomb" in o["name"] and "0x" not in o["name"]
             and "x0" not in o["name"]]  # fmt: skip
    assert bombs
    for o in bombs:
        assert o["outcome"] == "imaging_error", o
        assert "ImageTooLargeError" in o["detail"] or "Truncated" in o["detail"], o


def test_truncations_never_pass_silently(outcomes):
    cut = [o for o in outcomes if "-truncated-" in o["name"]]
    assert all(o["outcome"] == "imaging_error" for o in cut), [
        o for o in cut if o["outcome"] != "imaging_error"
    ]


def test_corpus_covers_images_thermal_files_and_arrays(outcomes):
    kinds = {}
    for o in outcomes:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    assert kinds.get("image", 0) >= 200
    assert kinds.get("thermal", 0) >= 50  # R-JPEG, FFF and SEQ damage
    assert kinds.get("array", 0) >= 45  # every odd array through each of the three analyzers
