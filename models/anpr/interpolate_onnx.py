"""Interpolate the weights of two ONNX exports of one network.

A model fine-tuned from another lies in the same basin of the loss; the weights on the line
between them often keep most of what the fine-tune gained on its new data and most of what
the start was good at elsewhere (Wortsman et al., "Robust fine-tuning of zero-shot models",
CVPR 2022: WiSE-FT). The shipped plate OCR is such a blend (see ``plate_ocr.md``)::

    python models/anpr/interpolate_onnx.py START.onnx TUNED.onnx --alpha 0.35 --out DIR
    python models/anpr/train_ocr.py --evaluate-only --out DIR

writes ``DIR/<START's name>.onnx`` = (1 - alpha) * START + alpha * TUNED, weight by weight, and
the sidecar of START with the new file's SHA-256.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from imaging.runtime import sha256_file


def interpolate(start: onnx.ModelProto, tuned: onnx.ModelProto, alpha: float) -> onnx.ModelProto:
    """A copy of ``start`` whose floating-point initializers are ``(1 - alpha) * start +
    alpha * tuned``; integer ones (shapes, indices) must be equal and are kept.

    Raises
    ------
    ValueError
        If ``alpha`` is outside [0, 1] or the two graphs do not hold the same initializers
        (names, shapes, dtypes): they are not exports of one network.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    other = {init.name: numpy_helper.to_array(init) for init in tuned.graph.initializer}
    names = [init.name for init in start.graph.initializer]
    if sorted(names) != sorted(other):
        unmatched = sorted(set(names) ^ set(other))[:5]
        raise ValueError(f"the models hold different weights (e.g. {unmatched}): not one network")
    blended = onnx.ModelProto()
    blended.CopyFrom(start)
    for init in blended.graph.initializer:
        a, b = numpy_helper.to_array(init), other[init.name]
        if a.shape != b.shape or a.dtype != b.dtype:
            raise ValueError(
                f"weight {init.name!r}: {a.shape} {a.dtype} against {b.shape} {b.dtype}: "
                "not one network"
            )
        if np.issubdtype(a.dtype, np.floating):
            mixed = ((1.0 - alpha) * a.astype(np.float64) + alpha * b).astype(a.dtype)
        elif np.array_equal(a, b):
            mixed = a
        else:
            raise ValueError(f"integer initializer {init.name!r} differs between the models")
        init.CopyFrom(numpy_helper.from_array(mixed, init.name))
    return blended


def write_blend(start: Path, tuned: Path, alpha: float, out: Path) -> Path:
    """Write the blend of two exported models and START's sidecar (``.json`` beside it, if
    any) with the blend's SHA-256 into ``out``; return the model's path. Both models are
    read before anything is written, so ``out`` may be START's own folder."""
    model = interpolate(onnx.load(start), onnx.load(tuned), alpha)
    out.mkdir(parents=True, exist_ok=True)
    path = out / start.name
    onnx.save(model, path)
    sidecar_path = start.with_suffix(".json")
    if sidecar_path.is_file():
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        sidecar["sha256"] = sha256_file(path)
        (out / sidecar_path.name).write_text(json.dumps(sidecar, indent=2) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("start", type=Path, help="the model the fine-tune started from")
    parser.add_argument("tuned", type=Path, help="the fine-tuned model")
    parser.add_argument("--alpha", type=float, required=True, help="weight of the fine-tune")
    parser.add_argument("--out", type=Path, required=True, help="folder for the blend")
    args = parser.parse_args()
    print(write_blend(args.start, args.tuned, args.alpha, args.out))


if __name__ == "__main__":
    main()
