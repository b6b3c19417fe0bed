import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from batch_analyzers import make_inputs

from imaging.batch import BatchError, BatchStoreError, iter_inputs, run_batch
from imaging.cli.main import main
from imaging.io import imwrite

MODALITY = "batch_analyzers:SlowMean"
TESTS = Path(__file__).resolve().parents[1]


def read_db(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "results.sqlite") as db:
        return db.execute("SELECT source, status, error FROM results ORDER BY source").fetchall()


def read_jsonl(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_batch_stores_every_input_once(tmp_path):
    names = make_inputs(tmp_path / "in")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    seen = []
    summary = run_batch(
        tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1, overlays=True,
        on_result=seen.append,
    )  # fmt: skip
    assert (summary.total, summary.processed, summary.failed, summary.skipped) == (6, 5, 1, 0)
    rows = read_db(tmp_path / "out")
    assert [r[0] for r in rows] == sorted([*names, "broken.png"])
    failed = [r for r in rows if r[1] == "failed"]
    assert len(failed) == 1 and "broken.png" in failed[0][2]
    lines = read_jsonl(tmp_path / "out")
    assert len(lines) == 6 and len(seen) == 6
    ok = [line for line in lines if "error" not in line]
    assert all(line["schema"] == "imaging.result" for line in ok)
    assert all(len(line["detections"]) == 1 for line in ok)
    overlays = sorted(p.relative_to(tmp_path / "out" / "overlays").as_posix()
                      for p in (tmp_path / "out" / "overlays").rglob("*.png"))  # fmt: skip
    assert overlays == names


def test_rerun_skips_done_and_retries_failed_on_request(tmp_path):
    make_inputs(tmp_path / "in")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    run_batch(tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1)
    again = run_batch(tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1)
    assert (again.processed, again.failed, again.skipped) == (0, 0, 6)
    imwrite(tmp_path / "in" / "scan_0.png", np.full((8, 8), 200, np.uint8))  # content changed
    changed = run_batch(tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1)
    assert (changed.processed, changed.skipped) == (1, 5)
    retried = run_batch(
        tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1, retry_failed=True
    )
    assert (retried.processed, retried.failed, retried.skipped) == (0, 1, 5)
    assert len(read_db(tmp_path / "out")) == 6
    other_options = run_batch(
        tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1,
        analyzer_options={"delay_s": 0.0},
    )  # fmt: skip
    assert other_options.skipped == 0  # another analyzer configuration is another version


def test_parallel_workers_give_the_same_results(tmp_path):
    make_inputs(tmp_path / "in", n=9)
    run_batch(tmp_path / "in", tmp_path / "one", modality=MODALITY, workers=1)
    run_batch(tmp_path / "in", tmp_path / "two", modality=MODALITY, workers=2)

    def strip(lines):
        return [{k: v for k, v in d.items() if k != "timings_ms"} for d in lines]

    assert strip(read_jsonl(tmp_path / "one")) == strip(read_jsonl(tmp_path / "two"))


def test_include_exclude_and_output_inside_input(tmp_path):
    make_inputs(tmp_path / "in")
    out = tmp_path / "in" / "results"
    summary = run_batch(
        tmp_path / "in", out, modality=MODALITY, workers=1, exclude=["sub dir/*"], overlays=True
    )
    assert summary.total == 3
    again = run_batch(tmp_path / "in", out, modality=MODALITY, workers=1, overlays=True)
    assert again.total == 5  # the overlays written inside the input folder are not inputs
    found = [rel for _, rel in iter_inputs(tmp_path / "in", include=["*_1.png"], skip=out)]
    assert found == ["sub dir/scan_1.png"]


def test_inputs_are_never_modified(tmp_path):
    make_inputs(tmp_path / "in")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "in").rglob("*")
              if p.is_file()}  # fmt: skip
    run_batch(tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=2, overlays=True)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "in").rglob("*")
             if p.is_file()}  # fmt: skip
    assert before == after


def test_corrupt_database_is_refused_with_recovery_advice(tmp_path):
    make_inputs(tmp_path / "in", n=1)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.sqlite").write_bytes(b"garbage" * 1000)
    with pytest.raises(BatchStoreError, match=r"corrupt.*\.recover"):
        run_batch(tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1)


def test_unusable_folders(tmp_path):
    with pytest.raises(BatchError, match="does not exist"):
        run_batch(tmp_path / "nope", tmp_path / "out", modality=MODALITY)
    make_inputs(tmp_path / "in", n=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(BatchError, match="cannot create"):
        run_batch(tmp_path / "in", tmp_path / "file" / "out", modality=MODALITY)


def test_cli_batch_exit_codes(tmp_path, capsys):
    make_inputs(tmp_path / "in", n=2)
    args = ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--no-progress"]
    assert main([*args, "--modality", MODALITY, "--workers", "1"]) == 0
    assert "2 analyzed" in capsys.readouterr().out
    (tmp_path / "in" / "bad.png").write_bytes(b"")
    assert main([*args, "--modality", MODALITY, "--workers", "1"]) == 1
    assert main([*args, "--modality", "no-such-analyzer"]) == 2
    assert main([*args, "--modality", MODALITY, "--workers", "0"]) == 2


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from imaging.batch import run_batch
    run_batch(sys.argv[1], sys.argv[2], modality="batch_analyzers:SlowMean",
              analyzer_options={"delay_s": 0.1}, workers=2, progress=False)
    """
)


def _wait_for_more_rows(out: Path, *, than: int, proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if (out / "results.sqlite").exists() and len(read_db(out)) > than:
                return
        except sqlite3.OperationalError:  # the table is not there yet
            pass
        time.sleep(0.05)


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    n = 80
    names = make_inputs(tmp_path / "in", n=n)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    rng = np.random.default_rng(7)
    out = tmp_path / "out"
    counts = []
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "in"), str(out)], env=env,
            start_new_session=True,
        )  # fmt: skip
        # killed once this run has stored something (a loaded machine starts it slowly), at
        # a random moment after that
        _wait_for_more_rows(out, than=counts[-1] if counts else 0, proc=proc)
        time.sleep(float(rng.uniform(0.0, 0.8)))
        if proc.poll() is None:  # not finished already
            os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers
        proc.wait()
        if (out / "results.sqlite").exists():
            counts.append(len(read_db(out)))
    subprocess.run([sys.executable, str(script), str(tmp_path / "in"), str(out)], env=env,
                   check=True, timeout=120)  # fmt: skip
    assert sum(0 < c < n for c in counts) >= 2, f"kills did not land mid-batch: {counts}"
    rows = read_db(out)
    assert [r[0] for r in rows] == names  # every input exactly once
    assert all(r[1] == "ok" for r in rows)
    assert [d["source"] for d in read_jsonl(out)] == names
    assert not list(out.glob(".results.*.tmp"))


def test_a_file_that_vanishes_mid_batch_is_recorded_as_failed(tmp_path):
    make_inputs(tmp_path / "in", n=3)  # scan_0.png, scan_2.png, then "sub dir/scan_1.png"
    victim = tmp_path / "in" / "scan_2.png"  # listed, then gone before it is read

    def remove_victim(_row):
        victim.unlink(missing_ok=True)

    summary = run_batch(
        tmp_path / "in", tmp_path / "out", modality=MODALITY, workers=1, on_result=remove_victim
    )
    assert (summary.total, summary.processed, summary.failed) == (3, 2, 1)
    rows = {r[0]: r for r in read_db(tmp_path / "out")}
    assert rows["scan_2.png"][1] == "failed" and "could not be read" in rows["scan_2.png"][2]
