"""Following plates across video frames and voting over the frames of each vehicle.

One :class:`PlateTracker` per camera: feed it each frame's plate detections (with their
text); when a track ends (the vehicle left the picture) it emits one :class:`Crossing` with the
voted text, the time of the best frame, the direction and the best crop.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging._shared.errors import ReadError
from imaging.anpr.register import Crossing, _iso
from imaging.results import Detections

__all__ = ["PlateTracker", "watch_video"]


@dataclass
class _Track:
    number: int
    box: np.ndarray
    first_time: float
    last_frame: int
    votes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    countries: dict[str, str] = field(default_factory=dict)
    hits: int = 0
    best_score: float = -1.0
    best_box: np.ndarray | None = None
    best_time: float = 0.0
    best_crop: np.ndarray | None = None
    areas: list[float] = field(default_factory=list)
    centres: list[tuple[float, float]] = field(default_factory=list)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class PlateTracker:
    """Associate plate detections over frames (IoU, or the same text) and vote on the text.

    Parameters
    ----------
    camera : str
        Recorded in every crossing.
    iou_threshold : float
        Minimum overlap to continue a track.
    max_missed_frames : int
        A track ends after this many frames without its plate.
    min_hits : int
        Tracks seen in fewer frames are dropped as noise.

    Examples
    --------
    >>> import numpy as np
    >>> from imaging.results import Detections
    >>> tracker = PlateTracker(min_hits=2, max_missed_frames=1)
    >>> def det(x, text):
    ...     return Detections([[x, 10, x + 40, 20]], data={"text": [text], "country": ["KZ"],
    ...                       "text_confidence": [0.9]})
    >>> for k, text in enumerate(["123ABC02", "123ABC02", "123ABCO2"]):
    ...     _ = tracker.update(det(5 * k, text), frame_index=k, timestamp=k)
    >>> [c.plate for c in tracker.flush()]
    ['123ABC02']
    """

    def __init__(
        self,
        *,
        camera: str = "",
        iou_threshold: float = 0.2,
        max_missed_frames: int = 8,
        min_hits: int = 2,
    ) -> None:
        self.camera = camera
        self.iou_threshold = iou_threshold
        self.max_missed_frames = max_missed_frames
        self.min_hits = min_hits
        self._tracks: list[_Track] = []
        self._next = 0

    def update(
        self,
        detections: Detections,
        *,
        frame_index: int,
        timestamp: float,
        frame: np.ndarray | None = None,
    ) -> list[Crossing]:
        """Add one frame's plates; return the crossings of tracks that ended."""
        texts = detections.data.get("text", np.full(len(detections), "", object))
        text_conf = detections.data.get("text_confidence", np.ones(len(detections)))
        box_score = detections.data.get("detector_score", detections.confidence)
        countries = detections.data.get("country", np.full(len(detections), "", object))
        used: set[int] = set()
        for i in np.argsort(-detections.confidence):
            box = detections.xyxy[i]
            best, best_iou = None, self.iou_threshold
            for track in self._tracks:
                if id(track) in used:
                    continue
                overlap = _iou(track.box, box)
                same_text = bool(texts[i]) and texts[i] in track.votes
                if overlap >= best_iou or (same_text and overlap > 0):
                    best, best_iou = track, max(overlap, best_iou)
            if best is None:
                best = _Track(self._next, box.copy(), timestamp, frame_index)
                self._next += 1
                self._tracks.append(best)
            used.add(id(best))
            score = float(box_score[i]) * float(text_conf[i])
            if texts[i]:
                best.votes[str(texts[i])] += float(text_conf[i])
                best.countries[str(texts[i])] = str(countries[i])
            best.hits += 1
            best.box = box.copy()
            best.last_frame = frame_index
            best.areas.append(float((box[2] - box[0]) * (box[3] - box[1])))
            best.centres.append((float(box[0] + box[2]) / 2, float(box[1] + box[3]) / 2))
            if score > best.best_score:
                best.best_score, best.best_box, best.best_time = score, box.copy(), timestamp
                if frame is not None:
                    x0, y0, x1, y1 = (round(float(v)) for v in box)
                    best.best_crop = np.ascontiguousarray(frame[max(0, y0) : y1, max(0, x0) : x1])
        ended = [t for t in self._tracks if frame_index - t.last_frame > self.max_missed_frames]
        self._tracks = [t for t in self._tracks if t not in ended]
        return [c for c in (self._crossing(t) for t in ended) if c is not None]

    def flush(self) -> list[Crossing]:
        """End every open track (at the end of a video) and return their crossings."""
        ended, self._tracks = self._tracks, []
        return [c for c in (self._crossing(t) for t in ended) if c is not None]

    def _crossing(self, track: _Track) -> Crossing | None:
        if track.hits < self.min_hits or not track.votes:
            return None
        total = sum(track.votes.values())
        ranked = sorted(track.votes.items(), key=lambda kv: -kv[1])
        plate, weight = ranked[0]
        direction = "unknown"
        if len(track.areas) >= 3:
            growth = track.areas[-1] / max(track.areas[0], 1e-6)
            direction = (
                "approaching" if growth > 1.15 else "receding" if growth < 0.87 else "passing"
            )
        crop_png = None
        if track.best_crop is not None and track.best_crop.size:
            import cv2

            rgb = track.best_crop
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
            ok, encoded = cv2.imencode(".png", bgr)
            crop_png = encoded.tobytes() if ok else None
        time_utc = _iso(track.best_time)
        key = f"{self.camera}|{time_utc}|{track.number}|{plate}".encode()
        return Crossing(
            id=hashlib.sha256(key).hexdigest()[:24],
            plate=plate,
            country=track.countries.get(plate, ""),
            confidence=round(weight / total, 4),
            time_utc=time_utc,
            direction=direction,
            camera=self.camera,
            frames=track.hits,
            box=tuple(float(v) for v in track.best_box),
            alternatives=tuple({"text": t, "share": round(w / total, 4)} for t, w in ranked[1:4]),
            crop_png=crop_png,
        )


def watch_video(
    source: str | os.PathLike | int,
    *,
    analyzer: Any = None,
    camera: str | None = None,
    every_n: int = 1,
    start_time: float | None = None,
    tracker: PlateTracker | None = None,
    reconnect: int = 5,
    reconnect_wait: float = 2.0,
) -> Iterator[Crossing]:
    """Read a video file or stream (anything OpenCV opens) and yield one crossing per vehicle.

    Parameters
    ----------
    source : str, path or int
        A video file, a stream URL (``rtsp://``, ``http://``...) or a camera index.
    analyzer : AnprAnalyzer, optional
        Default: a new :class:`~imaging.anpr.analyzer.AnprAnalyzer`.
    camera : str, optional
        Stored with each crossing (default: the source's file name); a ``tracker`` given
        keeps its own.
    every_n : int
        Analyze every n-th frame.
    start_time : float, optional
        Unix time of the first frame: frame times are it plus the frame's position in the
        video. Default: for a file, its modification time less its length (a recorder's
        last write ends the recording); for a stream or camera, each frame's time is the
        clock's when it was read.
    tracker : PlateTracker, optional
        Keeps the open tracks; pass one to end them yourself (``tracker.flush()``) when the
        watch is stopped from outside (a live stream only ends when stopped).
    reconnect, reconnect_wait : int, float
        A stream or camera that stops giving frames is opened again up to ``reconnect``
        times in a row, ``reconnect_wait`` seconds apart, before the watch ends; its open
        tracks carry on. A file ends at its last frame.

    A video that ends mid-frame yields the crossings of the frames read so far.

    Raises
    ------
    ReadError
        The source cannot be opened.
    """
    import cv2

    from imaging.anpr.analyzer import AnprAnalyzer

    if reconnect < 0 or reconnect_wait < 0:
        raise ValueError(
            f"reconnect ({reconnect}) and reconnect_wait ({reconnect_wait}) must be >= 0"
        )
    name = str(source)
    stream = isinstance(source, int) or "://" in name  # a camera index, rtsp://, http://...
    if not stream and not os.path.exists(name):
        raise ReadError(f"{name}: no such video file")
    target = source if isinstance(source, int) else name  # what OpenCV opens
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        if stream:
            raise ReadError(
                f"{name}: OpenCV cannot open this stream or camera (unreachable, refused,"
                " or a format its FFmpeg does not read)"
            )
        raise ReadError(f"{name}: OpenCV cannot open this video (unknown format or codec)")
    analyzer = analyzer or AnprAnalyzer()
    live = stream and start_time is None  # frames timed by the clock as they come
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    if start_time is None and not stream:  # a recording's last write ends it
        frames = max(0.0, capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        start_time = os.path.getmtime(name) - frames / fps
    tracker = tracker or PlateTracker(camera=camera or os.path.basename(name))
    index = -1
    attempts = 0  # reopenings of a stream since its last frame
    try:
        while True:
            ok, bgr = capture.read()
            if not ok or bgr is None:
                if not stream or attempts >= reconnect:
                    break
                attempts += 1
                capture.release()
                time.sleep(reconnect_wait)
                capture = cv2.VideoCapture(target)
                continue
            attempts = 0
            index += 1
            if index % max(1, every_n):
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            result = analyzer.analyze(rgb, source=f"{name}#{index}")
            yield from tracker.update(
                result.detections,
                frame_index=index // max(1, every_n),
                timestamp=time.time() if live else start_time + index / fps,
                frame=rgb,
            )
    finally:
        capture.release()
    yield from tracker.flush()
