"""Analyzers used by the batch tests (importable by worker processes as ``batch_analyzers``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from imaging import Detections, Result
from imaging.analyzer import AnalyzerBase, source_name
from imaging.io import imread, imwrite


class SlowMean(AnalyzerBase):
    """Mean brightness, a box over bright pixels, and an optional delay per image."""

    name = "slowmean"

    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def analyze(self, image, /, **context):
        pixels = imread(image)
        if self.delay_s:
            time.sleep(self.delay_s)
        ys, xs = np.nonzero(pixels > 128)
        dets = Detections.empty()
        if len(xs):
            dets = Detections([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])
        return Result(
            source_name(image, context), self.name, detections=dets,
            measurements={"mean": float(pixels.mean())}, image_shape=pixels.shape,
        )  # fmt: skip


class Busy(AnalyzerBase):
    """CPU-bound work (no sleep), for throughput with several workers."""

    name = "busy"

    def __init__(self, *, iterations: int = 40) -> None:
        self.iterations = iterations

    def analyze(self, image, /, **context):
        pixels = imread(image).astype(np.float64)
        total = 0.0
        for _ in range(self.iterations):
            total += float(np.sqrt(pixels * pixels + 1.0).sum())
        return Result(source_name(image, context), self.name, measurements={"total": total})


class Noop(AnalyzerBase):
    """Does nothing: measures the batch machinery's own overhead."""

    name = "noop"

    def analyze(self, image, /, **context):
        return Result(source_name(image, context), self.name)


def make_inputs(folder: Path, n: int = 5, rng=None) -> list[str]:
    rng = rng or np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        image = rng.integers(0, 120, size=(16, 20), dtype=np.uint8)
        image[2 + i : 6 + i, 3:9] = 250
        sub = folder / ("sub dir" if i % 2 else "")
        sub.mkdir(exist_ok=True)
        name = f"scan {i} é.png" if i == 3 else f"scan_{i}.png"
        imwrite(sub / name, image)
        names.append((sub / name).relative_to(folder).as_posix())
    return sorted(names)
