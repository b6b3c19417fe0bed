"""8 threads sharing one analyzer of each modality give the results of a serial run."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from imaging.analyzer import available_analyzers, get_analyzer
from imaging.cli.main import expand_paths

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("xray", "anpr", "thermal")


def _comparable(result) -> str:
    data = result.to_dict()
    data.pop("timings_ms")
    return json.dumps(data, sort_keys=True)


@pytest.mark.parametrize("modality", DOMAINS)
def test_threads_match_serial(modality):
    if modality not in available_analyzers():
        pytest.skip(f"the {modality} analyzer is not registered in this install")
    samples = expand_paths([str(ROOT / "samples" / modality)])
    assert samples, f"samples/{modality} holds no sample"
    inputs = [samples[i % len(samples)] for i in range(200)]
    analyzer = get_analyzer(modality)
    serial = {path: _comparable(analyzer.analyze(path, source=path)) for path in samples}
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda p: _comparable(analyzer.analyze(p, source=p)), inputs))
    mismatches = [p for p, r in zip(inputs, threaded, strict=True) if r != serial[p]]
    assert not mismatches, f"{len(mismatches)} threaded results differ, e.g. {mismatches[0]}"
