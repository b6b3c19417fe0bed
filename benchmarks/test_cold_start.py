"""Cold start: after ``warmup()`` the first analysis is no slower than the tenth.

Runs every registered analyzer that has bundled samples in ``samples/<name>/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys, time
from imaging.analyzer import get_analyzer
from imaging.cli.main import expand_paths
name, folder = sys.argv[1], sys.argv[2]
sample = expand_paths([folder])[0]
start = time.perf_counter()
analyzer = get_analyzer(name)
if hasattr(analyzer, "warmup"):
    analyzer.warmup()
warm = time.perf_counter() - start
times = []
for _ in range(10):
    t = time.perf_counter()
    analyzer.analyze(sample, source=sample)
    times.append(time.perf_counter() - t)
print(json.dumps({"warmup_s": warm, "times_s": times}))
"""


def _modalities() -> list[str]:
    from imaging.analyzer import available_analyzers

    return [m for m in available_analyzers() if (ROOT / "samples" / m).is_dir()]


@pytest.mark.parametrize("modality", _modalities())
def test_first_analysis_after_warmup(modality):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, modality, str(ROOT / "samples" / modality)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    first, tenth = data["times_s"][0], data["times_s"][-1]
    median = sorted(data["times_s"])[5]
    print(f"{modality}: warm-up {data['warmup_s'] * 1e3:.0f} ms, first {first * 1e3:.1f} ms, "
          f"tenth {tenth * 1e3:.1f} ms, median {median * 1e3:.1f} ms")  # fmt: skip
    # the warm-up must leave nothing to compile or load: the first call within noise of the rest
    assert first <= 1.5 * median + 0.005
