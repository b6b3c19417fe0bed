"""Feed every corpus case to :func:`imaging.io.imread` under memory and time limits.

Run as a script (``python run_corpus.py LIMIT_MB``); prints one JSON line per case:
``{"name", "outcome": "ok" | "imaging_error" | "other", "detail", "seconds"}``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _thermal(data: bytes) -> str:
    from imaging.thermal.radiometry import iter_frames, read_thermal

    frame = read_thermal(data)
    frames = sum(1 for _ in iter_frames(data))
    return f"{frame.raw.shape}, {frames} frame(s)"


def _analyzers():
    from imaging.analyzer import get_analyzer

    return {name: get_analyzer(name) for name in ("xray", "thermal", "anpr")}


def main() -> None:
    limit_mb = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    import warnings

    from corpus import build_array_corpus, build_corpus, build_thermal_corpus

    from imaging import ImagingError
    from imaging.io import imread

    def shape_of(image) -> str:
        return f"{image.shape} {image.dtype}"

    jobs = [(name, "image", lambda d=data: shape_of(imread(d))) for name, data in build_corpus()]
    jobs += [(name, "thermal", lambda d=data: _thermal(d)) for name, data in build_thermal_corpus()]
    analyzers = _analyzers()
    for name, array in build_array_corpus():
        for modality, analyzer in analyzers.items():
            jobs.append(
                (f"{name}-{modality}", "array", lambda a=array, z=analyzer: z.analyze(a).modality)
            )
    for name, kind, job in jobs:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a repaired input warns; that is allowed
            try:
                outcome, detail = "ok", str(job())
            except ImagingError as exc:
                outcome, detail = "imaging_error", f"{type(exc).__name__}: {exc}"
            except BaseException as exc:
                outcome, detail = "other", f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - start
        print(json.dumps({"name": name, "kind": kind, "outcome": outcome, "detail": detail[:300],
                          "seconds": round(seconds, 4)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
