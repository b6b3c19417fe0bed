"""Shared runner of the fuzz targets: seeds on first run, then atheris until the time limit.

Each ``fuzz_<parser>.py`` defines ``test_one_input(data)`` (anything but an ``ImagingError``
or a warning is a finding) and ``seeds()`` (small valid files of its format) and calls
:func:`main`. The corpus lives in ``fuzz/corpus/<parser>/`` (not committed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_test_helpers() -> None:
    """Make ``tests/`` and ``tests/hostile/`` importable for the seed builders."""
    for folder in (ROOT / "tests", ROOT / "tests" / "hostile"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def main(name: str, test_one_input: Callable[[bytes], None], seeds: Callable[[], dict]) -> None:
    import atheris

    corpus = Path(__file__).parent / "corpus" / name
    if not corpus.exists() or not any(corpus.iterdir()):
        corpus.mkdir(parents=True, exist_ok=True)
        for seed_name, data in seeds().items():
            (corpus / seed_name).write_bytes(data)
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(str(corpus))
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def sample_arrays() -> tuple:
    """A small random 8-bit and 16-bit image, the content of the image-format seeds."""
    import numpy as np

    rng = np.random.default_rng(0)
    raw16 = rng.integers(0, 65536, size=(12, 16), dtype=np.uint16)
    return (raw16 >> 8).astype(np.uint8), raw16


def fff_frames() -> tuple[bytes, bytes]:
    """A small FFF frame in little- and in big-endian order, the thermal seeds' content."""
    import numpy as np

    import_test_helpers()
    from fff_builder import build_fff

    from imaging.thermal.planck import ThermalParams

    raw = np.arange(48, dtype=np.uint16).reshape(6, 8) + 15000
    return build_fff(raw, ThermalParams()), build_fff(raw, ThermalParams(), ">")
