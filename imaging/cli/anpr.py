"""``imaging anpr ...``: analyze photographs of vehicles."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
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


def add_commands(actions: Any) -> None:
    watch = actions.add_parser(
        "watch", help="read plates in a video, store one crossing per vehicle"
    )
    watch.add_argument(
        "video", metavar="VIDEO", help="a file, a stream URL OpenCV can open, or a camera number"
    )
    watch.add_argument("--db", required=True, metavar="crossings.sqlite")
    watch.add_argument("--camera", default=None, help="camera name stored with each crossing")
    watch.add_argument("--every", type=int, default=1, metavar="N", help="analyze every Nth frame")
    watch.add_argument("--countries", default=None, metavar="KZ,RU,...")
    watch.add_argument(
        "--reconnect",
        type=int,
        default=5,
        metavar="N",
        help="open a stream that stops giving frames again up to N times in a row (default 5)",
    )
    watch.set_defaults(func=_run_watch)

    search = actions.add_parser("search", help="query the register of crossings")
    search.add_argument("--db", required=True, metavar="crossings.sqlite")
    search.add_argument("--plate", help="plate text; * and ? are wildcards")
    search.add_argument("--since", help="ISO time (UTC unless a zone is given)")
    search.add_argument("--until", help="ISO time")
    search.add_argument("--country")
    search.add_argument("--csv", metavar="OUT.csv", help="export the matches as CSV")
    search.add_argument("--jsonl", metavar="OUT.jsonl", help="export the matches as JSON lines")
    search.set_defaults(func=_run_search)


def _run_watch(args: argparse.Namespace) -> int:
    import json
    import sys

    from imaging import ImagingError
    from imaging.anpr.analyzer import AnprAnalyzer
    from imaging.anpr.register import CrossingRegister
    from imaging.anpr.track import PlateTracker, watch_video

    if args.every < 1:
        print("imaging: error: --every must be at least 1", file=sys.stderr)
        return 2
    if args.reconnect < 0:
        print("imaging: error: --reconnect must be at least 0", file=sys.stderr)
        return 2
    countries = (
        tuple(c.strip().upper() for c in args.countries.split(",")) if args.countries else None
    )
    analyzer = AnprAnalyzer(countries=countries)
    video = args.video
    if video.isdigit() and not os.path.exists(video):
        video = int(video)  # a camera index, as OpenCV numbers the machine's cameras
    camera = args.camera or os.path.basename(str(video))
    tracker = PlateTracker(camera=camera)
    stored = 0
    with CrossingRegister(args.db) as register, _sigterm_as_interrupt():
        storing: list = []  # the crossing being stored when a stop comes

        def store(crossing, *, printed: bool = False) -> None:
            nonlocal stored
            storing[:] = [crossing]
            if not printed:  # first: the line is kept if the store fails
                print(json.dumps(crossing.to_dict()), flush=True)
            stored += register.add(crossing)  # a crossing stored twice is stored once
            storing.clear()

        def keep_the_vehicles_in_view(*, after_an_error: bool = False) -> None:
            left = [(c, True) for c in storing] + [(c, False) for c in tracker.flush()]
            for crossing, printed in left:
                try:
                    store(crossing, printed=printed)
                except ImagingError:
                    if not after_an_error:
                        raise  # else printed, and the first error is the one reported

        try:
            for crossing in watch_video(
                video,
                analyzer=analyzer,
                every_n=args.every,
                tracker=tracker,  # named by the camera
                reconnect=args.reconnect,
            ):
                store(crossing)
        except KeyboardInterrupt:  # a live watch is stopped so
            keep_the_vehicles_in_view()
            print("imaging: watch stopped", file=sys.stderr)
        except Exception:  # kept before the error is reported
            keep_the_vehicles_in_view(after_an_error=True)
            raise
    print(f"{stored} new crossing(s) in {args.db}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager stopping the watch) handled as Ctrl-C, so that the tracks
    open at that moment are stored; in the main thread only, where Python takes signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_search(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from imaging.anpr.register import CrossingRegister

    if not Path(args.db).exists():
        print(f"imaging: error: {args.db}: no such register", file=sys.stderr)
        return 1
    filters = {
        "plate": args.plate,
        "since": args.since,
        "until": args.until,
        "country": args.country,
    }
    with CrossingRegister(args.db) as register:
        if args.csv:
            print(
                f"{register.export_csv(args.csv, **filters)} crossing(s) -> {args.csv}",
                file=sys.stderr,
            )
        if args.jsonl:
            print(
                f"{register.export_jsonl(args.jsonl, **filters)} crossing(s) -> {args.jsonl}",
                file=sys.stderr,
            )
        if not args.csv and not args.jsonl:
            for item in register.iter_dicts(**filters):
                print(json.dumps(item))
    return 0
