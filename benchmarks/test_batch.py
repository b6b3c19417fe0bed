"""Batch runner: scaling with workers, per-file overhead, memory over many inputs."""

from __future__ import annotations

import shutil
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from batch_analyzers import Noop

from imaging.batch import run_batch
from imaging.io import imwrite


def make_files(folder: Path, n: int, shape=(64, 64)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        imwrite(folder / f"f{i:05d}.png", rng.integers(0, 256, size=shape, dtype=np.uint8))
    return folder


BUSY = {"iterations": 400}


@pytest.fixture(scope="module")
def busy_inputs(tmp_path_factory):
    return make_files(tmp_path_factory.mktemp("busy"), 24, shape=(256, 256))


def _run(inputs: Path, out: Path, modality: str, workers: int, options=None) -> None:
    shutil.rmtree(out, ignore_errors=True)
    summary = run_batch(
        inputs, out, modality=modality, workers=workers, progress=False, analyzer_options=options
    )
    assert summary.failed == 0


@pytest.mark.benchmark(group="batch throughput, CPU-bound")
def test_batch_two_workers(benchmark, busy_inputs, tmp_path):
    benchmark.pedantic(
        _run, args=(busy_inputs, tmp_path / "o2", "batch_analyzers:Busy", 2, BUSY), rounds=2
    )


@pytest.mark.benchmark(group="batch throughput, CPU-bound")
def test_batch_peer_one_worker(benchmark, busy_inputs, tmp_path):
    benchmark.pedantic(
        _run, args=(busy_inputs, tmp_path / "o1", "batch_analyzers:Busy", 1, BUSY), rounds=2
    )


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory):
    return make_files(tmp_path_factory.mktemp("tiny"), 300, shape=(8, 8))


@pytest.mark.benchmark(group="batch overhead per file (no-op analyzer)")
def test_batch_noop(benchmark, tiny_inputs, tmp_path):
    benchmark.pedantic(
        _run, args=(tiny_inputs, tmp_path / "noop", "batch_analyzers:Noop", 1), rounds=3
    )
    per_file_ms = benchmark.stats.stats.median / 300 * 1e3
    benchmark.extra_info["ms_per_file"] = per_file_ms


@pytest.mark.benchmark(group="batch overhead per file (no-op analyzer)")
def test_noop_peer_plain_loop(benchmark, tiny_inputs):
    analyzer = Noop()
    paths = sorted(tiny_inputs.iterdir())

    def loop():
        for path in paths:
            analyzer.analyze(path, source=path.name).to_dict()

    benchmark.pedantic(loop, rounds=3)


def test_memory_does_not_grow_with_inputs(tmp_path):
    """Peak traced memory for 10,000 inputs against 1,000 (coordinator, in-process)."""
    peaks = {}
    for n in (1_000, 10_000):
        inputs = tmp_path / f"in{n}"
        inputs.mkdir()
        payload = b"\x89PNG\r\n\x1a\n" + b"x" * 40  # the no-op analyzer never decodes it
        for i in range(n):
            (inputs / f"f{i:05d}.png").write_bytes(payload + str(i).encode())
        tracemalloc.start()
        start = time.perf_counter()
        summary = run_batch(
            inputs, tmp_path / f"out{n}", modality="batch_analyzers:Noop", workers=1, progress=False
        )
        elapsed = time.perf_counter() - start
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert summary.total == n
        print(f"{n} inputs: {elapsed:.1f} s, peak traced memory {peaks[n] / 1e6:.2f} MB")
    assert peaks[10_000] < 2 * peaks[1_000] + 2_000_000
