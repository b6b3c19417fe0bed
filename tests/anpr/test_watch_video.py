"""`watch` on a video: one crossing per vehicle, stored once, even when run twice."""

import numpy as np
import pytest

from imaging.anpr.formats import FORMATS
from imaging.anpr.register import CrossingRegister
from imaging.anpr.synth import render_plate
from imaging.cli.main import main


def write_video(path, text="123ABC02", frames=24, cut=False):
    import cv2

    plate = render_plate(np.random.default_rng(3), fmt=FORMATS[0], text=text, two_line=False).image
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12, (640, 480))
    assert writer.isOpened()
    for k in range(frames):
        scene = np.full((480, 640, 3), 90, np.uint8)
        scene[:160] = (200, 190, 170)
        cv2.rectangle(scene, (150, 120 + 4 * k), (490, 380 + 4 * k), (40, 60, 120), -1)
        width = 180 + 3 * k  # the vehicle approaches: its plate grows
        small = cv2.resize(plate, (width, int(width * plate.shape[0] / plate.shape[1])))
        y, x = 280 + 2 * k, 320 - width // 2
        scene[y : y + small.shape[0], x : x + width] = small
        writer.write(cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    writer.release()
    if cut:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * 0.6)])
    return path


def test_watch_registers_one_crossing(tmp_path, capsys):
    video = write_video(tmp_path / "gate.avi")
    db = tmp_path / "crossings.sqlite"
    assert main(["anpr", "watch", str(video), "--db", str(db), "--camera", "gate-1"]) == 0
    assert main(["anpr", "watch", str(video), "--db", str(db), "--camera", "gate-1"]) == 0
    with CrossingRegister(db) as register:
        crossings = register.search()
    assert len(crossings) == 1  # the second run found the same crossing: stored once
    c = crossings[0]
    assert c.plate == "123ABC02" and c.country == "KZ" and c.camera == "gate-1"
    assert c.direction == "approaching" and c.frames >= 10
    assert c.crop_png and c.crop_png[:4] == b"\x89PNG"


def test_video_cut_mid_file_keeps_what_was_read(tmp_path):
    from imaging.anpr.track import watch_video

    video = write_video(tmp_path / "cut.avi", cut=True)
    try:
        crossings = list(watch_video(video))
    except Exception as exc:  # a cut file must not raise anything but a clear error
        from imaging import ImagingError

        assert isinstance(exc, ImagingError), exc
        pytest.skip("OpenCV refused the cut file outright")
    assert [c.plate for c in crossings] in ([], ["123ABC02"])
