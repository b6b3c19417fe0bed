"""``imaging xray ...``: analyze, enhance, colorize, simulate."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

MODALITY = "xray"


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--low", metavar="LOW", help="low-energy image of a dual-energy pair")
    parser.add_argument("--reference", metavar="REF", help="reference scan (empty container)")
    parser.add_argument(
        "--detector",
        metavar="MODEL",
        help="threat detector: a YOLO-layout ONNX file or shipped name (default xray-threat)",
    )
    parser.add_argument("--no-detector", action="store_true", help="run no threat detector")
    parser.add_argument("--anomaly-model", metavar="M.onnx", help="a model from fit-normal")
    parser.add_argument("--material-table", metavar="TABLE.json", help="calibrated material table")
    parser.add_argument("--preset", default="super", help="enhancement of the overlays")


def analyze_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    options: dict[str, Any] = {"preset": args.preset}
    if args.no_detector:
        options["detector"] = None
    elif args.detector:
        options["detector"] = args.detector
    if args.material_table:
        options["material_table"] = args.material_table
    if args.anomaly_model:
        options["anomaly_model"] = args.anomaly_model
    context = {"low": args.low, "reference": args.reference}
    return options, {k: v for k, v in context.items() if v is not None}


def add_commands(actions: Any) -> None:
    enh = actions.add_parser("enhance", help="apply a console preset, write an 8-bit PNG")
    enh.add_argument("input", metavar="IN")
    enh.add_argument("-o", "--output", required=True, metavar="OUT.png")
    enh.add_argument("--preset", default="super")
    enh.set_defaults(func=_run_enhance)

    col = actions.add_parser("colorize", help="material colouring of a dual-energy pair")
    col.add_argument(
        "input", metavar="HIGH", help="high-energy image, or a 2-page TIFF (low, high)"
    )
    col.add_argument("--low", metavar="LOW")
    col.add_argument("-o", "--output", required=True, metavar="OUT.png")
    col.add_argument("--strip", choices=["organic", "inorganic"], default=None)
    col.set_defaults(func=_run_colorize)

    fit = actions.add_parser("fit-normal", help="fit a model of normal scans, export ONNX")
    fit.add_argument("folder", metavar="DIR", help="normal scans of one kind")
    fit.add_argument("-o", "--output", required=True, metavar="MODEL.onnx")
    fit.add_argument("--size", type=int, nargs=2, default=(128, 256), metavar=("H", "W"))
    fit.add_argument("--cell", type=int, default=8)
    fit.set_defaults(func=_run_fit_normal)

    sim = actions.add_parser("simulate", help="write simulated dual-energy scans with truth")
    sim.add_argument("count", type=int)
    sim.add_argument("-o", "--output", required=True, metavar="DIR")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--size", type=int, nargs=2, default=(256, 384), metavar=("H", "W"))
    sim.add_argument("--container", action="store_true")
    sim.set_defaults(func=_run_simulate)


def _run_enhance(args: argparse.Namespace) -> int:
    import numpy as np

    from imaging.io import imread, imwrite
    from imaging.xray.enhance import enhance

    out = enhance(imread(args.input), preset=args.preset)
    imwrite(Path(args.output), np.round(out * 255).astype(np.uint8))
    return 0


def _run_colorize(args: argparse.Namespace) -> int:
    from imaging.io import imwrite
    from imaging.xray.analyzer import XrayAnalyzer
    from imaging.xray.materials import strip

    result = XrayAnalyzer().analyze(args.input, **({"low": args.low} if args.low else {}))
    if "materials" not in result.maps:
        print(
            "imaging: error: colorize needs a dual-energy pair (--low, or a 2-page TIFF) "
            "or a pseudo-coloured image",
            file=sys.stderr,
        )
        return 1
    image = result.maps["display"]
    if args.strip:
        image = strip(result.maps["attenuation"], result.maps["materials"], remove=args.strip)
    imwrite(Path(args.output), image)
    return 0


def _run_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from imaging.io import imwrite
    from imaging.xray.simulate import simulate_scan

    if args.count < 1:
        print("imaging: error: count must be at least 1", file=sys.stderr)
        return 2
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(args.count):
        scan = simulate_scan(args.seed + k, shape=tuple(args.size), container=args.container)
        stem = folder / f"scan_{args.seed + k:05d}"
        imwrite(stem.with_suffix(".tiff"), np.stack([scan.low, scan.high]))
        imwrite(stem.parent / f"{stem.name}_material.png", scan.material)
        np.save(
            stem.parent / f"{stem.name}_reference_lines.npy",
            np.concatenate([scan.dark[None].astype(np.uint16), scan.air]),
        )
        truth = {
            "source": stem.with_suffix(".tiff").name,
            "detections": [
                {"box": b.tolist(), "label": label}
                for b, label in zip(scan.boxes, scan.labels, strict=True)
            ],
        }
        (stem.parent / f"{stem.name}.json").write_text(json.dumps(truth) + "\n")
    print(f"{args.count} scan(s) in {folder}", file=sys.stderr)
    return 0


def _run_fit_normal(args: argparse.Namespace) -> int:
    from imaging.cli.main import expand_paths
    from imaging.xray.anomaly import export_normal_model, fit_normal

    paths = expand_paths([args.folder])
    model = fit_normal(paths, size=tuple(args.size), cell=args.cell)
    export_normal_model(model, args.output)
    print(f"{args.output}: fitted on {model.count} scan(s)", file=sys.stderr)
    return 0
