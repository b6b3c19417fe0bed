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


def main() -> None:
    limit_mb = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    from corpus import build_corpus

    from imaging import ImagingError
    from imaging.io import imread

    for name, data in build_corpus():
        start = time.perf_counter()
        try:
            image = imread(data)
            outcome, detail = "ok", f"{image.shape} {image.dtype}"
        except ImagingError as exc:
            outcome, detail = "imaging_error", f"{type(exc).__name__}: {exc}"
        except BaseException as exc:
            outcome, detail = "other", f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - start
        print(json.dumps({"name": name, "outcome": outcome, "detail": detail[:300],
                          "seconds": round(seconds, 4)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
