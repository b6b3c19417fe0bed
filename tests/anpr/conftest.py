"""Fixtures of the plate tests: the held-back development photographs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def held_back_photos(shared_data) -> list[tuple[Path, tuple[float, float, float, float]]]:
    """The development photos no model trained on (every 4th of each openalpr set, sorted
    by name, as ``split`` in models/anpr/train_detector.py): (path, annotated x0, y0, x1, y1)."""
    root = shared_data / "anpr" / "openalpr-benchmarks" / "endtoend"
    photos = []
    for folder in sorted(root.iterdir()):
        for k, txt in enumerate(sorted(folder.glob("*.txt"))):
            if k % 4 == 3:
                fields = txt.read_text().strip().split("\t")
                x, y, w, h = (float(v) for v in fields[1:5])
                photos.append((folder / fields[0], (x, y, x + w, y + h)))
    return photos
