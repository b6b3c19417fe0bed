"""``imaging thermal ...``: analyze, decode to °C, render with a palette."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

MODALITY = "thermal"

_OVERRIDE_FLAGS = [
    ("--emissivity", "emissivity", "object emissivity, (0, 1]"),
    ("--distance-m", "distance_m", "object distance in metres"),
    ("--reflected-c", "reflected_c", "reflected apparent temperature, °C"),
    ("--atmosphere-c", "atmosphere_c", "atmospheric temperature, °C"),
    ("--window-c", "window_c", "IR window temperature, °C"),
    ("--window-transmission", "window_transmission", "IR window transmission, (0, 1]"),
    ("--humidity", "humidity_percent", "relative humidity in percent (0-100)"),
]


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("radiometric overrides (default: the file's values)")
    for flag, dest, text in _OVERRIDE_FLAGS:
        group.add_argument(flag, dest=dest, type=float, default=None, help=text)
    parser.add_argument(
        "--tlinear-scale",
        default="auto",
        help="kelvin per count of 16-bit TLinear TIFFs: 0.04, 0.01 or auto",
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {dest: getattr(args, dest) for _, dest, _ in _OVERRIDE_FLAGS}


def _scale(args: argparse.Namespace) -> float | str:
    return args.tlinear_scale if args.tlinear_scale == "auto" else float(args.tlinear_scale)


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    _add_overrides(parser)
    parser.add_argument("--palette", default="iron", help="palette of the overlays")
    parser.add_argument(
        "--alarm-above",
        type=float,
        default=None,
        metavar="C",
        help="flag images whose maximum exceeds this temperature",
    )
    parser.add_argument(
        "--above-background",
        type=float,
        default=5.0,
        metavar="C",
        help="hotspot: degrees above the local background (5)",
    )


def analyze_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    options = {
        "palette": args.palette,
        "alarm_above_c": args.alarm_above,
        "above_background_c": args.above_background,
        "tlinear_scale": _scale(args),
    }
    return options, _overrides(args)


def add_commands(actions: Any) -> None:
    decode = actions.add_parser("decode", help="write per-pixel °C (float32 TIFF, CSV or NPY)")
    decode.add_argument("input", metavar="IN")
    decode.add_argument(
        "-o", "--output", required=True, metavar="OUT", help=".tiff (float32 °C), .csv or .npy"
    )
    decode.add_argument("--frame", type=int, default=0, help="frame of a SEQ/CSQ file (0)")
    _add_overrides(decode)
    decode.set_defaults(func=_run_decode)

    rend = actions.add_parser("render", help="colour the temperatures with a palette (PNG)")
    rend.add_argument("input", metavar="IN")
    rend.add_argument("-o", "--output", required=True, metavar="OUT.png")
    rend.add_argument(
        "--palette", default="iron", choices=["iron", "rainbow", "white-hot", "black-hot", "grey"]
    )
    rend.add_argument("--range", nargs=2, type=float, metavar=("LO_C", "HI_C"), default=None)
    rend.add_argument("--no-colorbar", action="store_true")
    rend.add_argument("--frame", type=int, default=0)
    _add_overrides(rend)
    rend.set_defaults(func=_run_render)


def _temperatures(args: argparse.Namespace):
    from imaging.thermal.radiometry import iter_frames, read_thermal

    path = Path(args.input)
    if args.frame and path.suffix.lower() in (".seq", ".csq", ".fff"):
        for frame in iter_frames(path, start=args.frame):  # earlier frames are skipped, not decoded
            return frame.temperature_c(**_overrides(args))
        raise SystemExit(f"imaging: error: {path} has no frame {args.frame}")
    return read_thermal(path, tlinear_scale=_scale(args)).temperature_c(**_overrides(args))


def _run_decode(args: argparse.Namespace) -> int:
    import numpy as np

    from imaging.io import imwrite

    t = _temperatures(args)
    out = Path(args.output)
    if out.suffix.lower() == ".csv":
        from imaging.compare.report import write_text

        lines = [",".join("" if not np.isfinite(v) else f"{v:.3f}" for v in row) for row in t]
        write_text(out, "\n".join(lines) + "\n")
    else:
        imwrite(out, t.astype(np.float32))
    finite = t[np.isfinite(t)]
    summary = f"{out}: {t.shape[1]}x{t.shape[0]} °C"
    if finite.size:
        summary += f", {finite.min():.2f} to {finite.max():.2f} °C"
    print(summary, file=sys.stderr)
    return 0


def _run_render(args: argparse.Namespace) -> int:
    import numpy as np

    from imaging.io import imwrite
    from imaging.thermal.palettes import _auto_range, colorbar, render

    t = _temperatures(args)
    span = tuple(args.range) if args.range else _auto_range(t)
    image = render(t, palette=args.palette, range_c=span)
    if not args.no_colorbar:
        image = colorbar(image, palette=args.palette, range_c=span)
    imwrite(Path(args.output), np.ascontiguousarray(image))
    return 0
