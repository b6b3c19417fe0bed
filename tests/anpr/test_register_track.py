import json
import sqlite3
import threading

import numpy as np
import pytest

from imaging import ReadError
from imaging.anpr.register import Crossing, CrossingRegister, RegisterError
from imaging.anpr.track import PlateTracker, watch_video
from imaging.cli.main import main
from imaging.results import Detections


def crossing(k, plate="123ABC02", minute=0):
    return Crossing(
        f"id{k}",
        plate,
        "KZ",
        0.9,
        f"2026-11-25T08:{minute:02d}:00+00:00",
        "approaching",
        "cam1",
        5,
        (1, 2, 3, 4),
        ({"text": "123ABC03", "share": 0.1},),
    )


def test_register_stores_once_and_searches(tmp_path):
    with CrossingRegister(tmp_path / "c.sqlite") as reg:
        assert reg.add(crossing(1)) is True
        assert reg.add(crossing(1)) is False  # never written twice
        reg.add(crossing(2, "A123BC77", minute=5))
        reg.add(crossing(3, "123ABC02", minute=10))
        assert len(reg) == 3
        assert [c.id for c in reg.search(plate="123ABC02")] == ["id1", "id3"]
        assert [c.id for c in reg.search(plate="a123*")] == ["id2"]
        assert [
            c.id for c in reg.search(since="2026-11-25T08:04:00Z", until="2026-11-25T08:06:00Z")
        ] == ["id2"]
        got = reg.search(plate="123ABC02")[0]
        assert got.box == (1.0, 2.0, 3.0, 4.0) and got.alternatives[0]["text"] == "123ABC03"
        assert reg.export_jsonl(tmp_path / "c.jsonl", country="KZ") == 3
        assert reg.export_csv(tmp_path / "c.csv", plate="A*") == 1
    lines = (tmp_path / "c.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["plate"] == "123ABC02"
    assert (tmp_path / "c.csv").read_text().splitlines()[0].startswith("id,plate,country")


def test_register_survives_concurrent_writers(tmp_path):
    path = tmp_path / "c.sqlite"
    CrossingRegister(path).close()

    def write(offset):
        with CrossingRegister(path) as reg:
            for k in range(50):
                reg.add(crossing(offset + k % 40))  # overlapping ids between threads

    threads = [threading.Thread(target=write, args=(o,)) for o in (0, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with CrossingRegister(path) as reg:
        assert len(reg) == 60


def test_corrupt_and_locked_registers(tmp_path):
    (tmp_path / "bad.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(RegisterError, match="corrupt"):
        CrossingRegister(tmp_path / "bad.sqlite")
    path = tmp_path / "c.sqlite"
    CrossingRegister(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with CrossingRegister(path, timeout_s=0.2) as reg:
        with pytest.raises(RegisterError, match="locked"):
            reg.add(crossing(1), retries=1)
    holder.execute("ROLLBACK")
    holder.close()


def frames_of(texts, step=6):
    for k, text in enumerate(texts):
        data = {
            "text": np.array([text], object),
            "country": np.array(["KZ"], object),
            "text_confidence": np.array([0.8], np.float32),
        }
        box = [[100 - 3 * k, 200 + step * k, 180 + 3 * k, 220 + step * k]]
        yield k, Detections(box, confidence=[0.9], data=data)


def test_tracker_votes_over_frames_and_emits_one_crossing():
    tracker = PlateTracker(camera="gate", max_missed_frames=2, min_hits=3)
    crossings = []
    texts = ["123ABC02", "123ABC02", "123A8C02", "123ABC02", "", "123ABC02"]
    for k, dets in frames_of(texts):
        crossings += tracker.update(dets, frame_index=k, timestamp=1_764_057_600 + k / 25)
    for k in range(6, 10):  # the vehicle has left
        crossings += tracker.update(Detections.empty(), frame_index=k, timestamp=0)
    assert len(crossings) == 1
    c = crossings[0]
    assert c.plate == "123ABC02" and c.country == "KZ" and c.frames == 6
    assert c.confidence == pytest.approx(0.8) and c.alternatives[0]["text"] == "123A8C02"
    assert c.direction == "approaching" and c.camera == "gate"
    assert tracker.flush() == []


def test_tracker_drops_one_frame_noise():
    tracker = PlateTracker(min_hits=2)
    for k, dets in frames_of(["999XYZ01"]):
        tracker.update(dets, frame_index=k, timestamp=k)
    assert tracker.flush() == []


def test_video_that_cannot_be_opened(tmp_path):
    with pytest.raises(ReadError, match="no such video"):
        list(watch_video(tmp_path / "missing.mp4", analyzer=object()))
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(ReadError, match="cannot open"):
        list(watch_video(tmp_path / "junk.mp4", analyzer=object()))
    # nothing listens on port 9 of this machine: refused at once, named a stream
    with pytest.raises(ReadError, match="cannot open this stream"):
        list(watch_video("rtsp://127.0.0.1:9/cam", analyzer=object()))


def test_cli_search(tmp_path, capsys):
    with CrossingRegister(tmp_path / "c.sqlite") as reg:
        reg.add(crossing(1))
        reg.add(crossing(2, "A123BC77"))
    assert main(["anpr", "search", "--db", str(tmp_path / "c.sqlite"), "--plate", "A123*"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["plate"] for o in out] == ["A123BC77"]
    assert main(["anpr", "search", "--db", str(tmp_path / "missing.sqlite")]) == 1
