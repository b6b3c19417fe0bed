"""``imaging anpr ...``: analyze photographs of vehicles."""

from __future__ import annotations

import argparse
from typing import Any

MODALITY = "anpr"


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--countries", metavar="KZ,RU,...", help="only consider these countries' plate formats"
    )
    parser.add_argument("--min-score", type=float, default=0.3, help="plate detection threshold")


def analyze_options(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    options: dict[str, Any] = {"conf_threshold": args.min_score}
    if args.countries:
        options["countries"] = tuple(
            c.strip().upper() for c in args.countries.split(",") if c.strip()
        )
    return options, {}
