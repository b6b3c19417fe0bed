"""The main job on the bundled samples: every analyzer over ``samples/<modality>/``.

Writes ``out/<modality>/results.jsonl`` (the CLI's JSON, one line per image) and annotated
overlays in ``out/<modality>/overlays/``. Run it with ``make demo``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from imaging.analyzer import available_analyzers
from imaging.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[1]


def run(samples: Path, out: Path) -> int:
    status = 0
    ran = 0
    for modality in available_analyzers():
        folder = samples / modality
        if not folder.is_dir():
            continue
        target = out / modality
        target.mkdir(parents=True, exist_ok=True)
        results = target / "results.jsonl"
        with results.open("w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
            code = cli(
                [modality, "analyze", str(folder), "--json", "--overlay", str(target / "overlays")]
            )
        status = max(status, code)
        ran += 1
        lines = [json.loads(line) for line in results.read_text().splitlines() if line]
        failed = sum("error" in line for line in lines)
        found = sum(len(line.get("detections", [])) for line in lines)
        flags = sum(len(line.get("flags", [])) for line in lines)
        print(
            f"{modality:8s} {len(lines)} image(s), {failed} failed, {found} detection(s), "
            f"{flags} flag(s) -> {results}"
        )
    if ran == 0:
        print(f"no analyzer has samples in {samples}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=Path, default=ROOT / "samples")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    args = parser.parse_args()
    sys.exit(run(args.samples, args.out))
