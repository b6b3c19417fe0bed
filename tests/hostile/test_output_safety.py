"""Output safety: whatever the input files are called, the CLI and the batch runner write only
inside the output folder chosen, one overlay per input, and never touch the inputs."""

import hashlib
import os
import sys

import numpy as np
import pytest

from imaging.batch import run_batch
from imaging.cli.main import main
from imaging.io import imwrite

HOSTILE_NAMES = [
    "..png",
    "...png",
    ".hidden.png",
    "-rf.png",
    "--overlay.png",
    "a b  c.png",
    "semi;colon&amp$(x).png",
    "back\\slash.png",
    "quote'\"`.png",
    "new\nline.png",
    "tab\there.png",
    "ünïcødé 名字.png",
    "RTL\u202egnp.exe.png",
    "CON.png",
    "x" * 240 + ".png",
    "x" * 240 + ".PNG",  # same stem as the one above
    "sub/dup.png",
    "sub2/dup.png",  # same name in another folder
    "sub/../sub/dot.png",
]


def _tree(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, root)] = (digest, stat.st_mtime_ns)
    return found


@pytest.fixture()
def hostile_inputs(tmp_path):
    inputs = tmp_path / "in"
    rng = np.random.default_rng(0)
    written = []
    for name in HOSTILE_NAMES:
        path = inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            continue
        try:
            imwrite(path, rng.integers(0, 255, size=(24, 32), dtype=np.uint8))
        except Exception:  # a name this file system refuses is not a test case here
            continue
        written.append(path)
    assert len(written) >= 15
    return tmp_path, inputs, written


def _check_outputs(tmp_path, before, out_dir):
    after = _tree(tmp_path)
    inputs_before = {k: v for k, v in before.items() if k.startswith("in" + os.sep)}
    inputs_after = {k: v for k, v in after.items() if k.startswith("in" + os.sep)}
    assert inputs_after == inputs_before, "an input was modified, removed or added"
    new = set(after) - set(before)
    out_rel = os.path.relpath(out_dir, tmp_path)
    outside = [k for k in new if not k.startswith(out_rel + os.sep)]
    assert not outside, f"written outside {out_dir}: {outside}"
    for key in new:
        resolved = (tmp_path / key).resolve()
        assert resolved.is_relative_to(out_dir.resolve())
    return [k for k in new if k.lower().endswith(".png")]


def test_cli_overlays_stay_inside_the_overlay_folder(hostile_inputs, capsys):
    tmp_path, _, written = hostile_inputs
    before = _tree(tmp_path)
    out_dir = tmp_path / "out"
    code = main(["xray", "analyze", *map(str, written), "--overlay", str(out_dir), "--json"])
    assert code == 0, capsys.readouterr().err
    overlays = _check_outputs(tmp_path, before, out_dir)
    assert len(overlays) == len(written)  # one each, none overwritten by a namesake
    names = [os.path.basename(k) for k in overlays]
    assert all(n.isprintable() and not n.startswith(".") and "\\" not in n for n in names)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(written)  # the JSON stays one object per line


def test_batch_overlays_stay_inside_the_output_folder(hostile_inputs):
    tmp_path, inputs, written = hostile_inputs
    before = _tree(tmp_path)
    out_dir = tmp_path / "batch-out"
    summary = run_batch(inputs, out_dir, modality="xray", workers=1, overlays=True, progress=False)
    assert summary.total == len(written) and summary.failed == 0
    overlays = _check_outputs(tmp_path, before, out_dir)
    assert len(overlays) == len(written)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_batch_does_not_follow_a_link_out_of_the_input_folder(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    imwrite(outside / "secret.png", np.zeros((8, 8), np.uint8))
    inputs = tmp_path / "in"
    inputs.mkdir()
    imwrite(inputs / "ok.png", np.zeros((8, 8), np.uint8))
    (inputs / "link").symlink_to(outside, target_is_directory=True)
    before = _tree(tmp_path)
    out_dir = tmp_path / "out"
    run_batch(inputs, out_dir, modality="xray", workers=1, overlays=True, progress=False)
    _check_outputs(tmp_path, before, out_dir)
    assert _tree(outside) == {
        k[len("elsewhere/") :]: v for k, v in before.items() if k.startswith("elsewhere/")
    }
