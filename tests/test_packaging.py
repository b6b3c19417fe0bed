"""`pip install .` (not only editable) must give a complete install: every package, the
shipped models with their cards and sidecars, and py.typed."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("imaging-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def test_every_package_is_in_the_wheel(wheel_names):
    packages = [p.parent for p in (ROOT / "imaging").rglob("__init__.py")]
    for package in packages:
        module = package.relative_to(ROOT).as_posix() + "/__init__.py"
        assert module in wheel_names, f"{module} missing: list it in pyproject.toml packages"
    assert "imaging/py.typed" in wheel_names


def test_shipped_models_are_in_the_wheel(wheel_names):
    for path in (ROOT / "models").glob("*/*"):
        if path.suffix in (".onnx", ".json", ".md"):
            name = "imaging/models/" + path.relative_to(ROOT / "models").as_posix()
            assert name in wheel_names, f"{name} missing from the wheel"


def test_console_script_declared(wheel_names):
    entry_points = [n for n in wheel_names if n.endswith("entry_points.txt")]
    assert entry_points, "no entry_points.txt in the wheel"


def test_package_data_files_are_in_the_wheel(wheel_names):
    for path in (ROOT / "imaging").rglob("*.json"):
        name = path.relative_to(ROOT).as_posix()
        assert name in wheel_names, f"{name} missing: add its pattern to package-data"
