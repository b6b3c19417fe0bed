import subprocess
import sys

import imaging.thermal as thermal


def test_import_is_light():
    code = (
        "import sys, imaging.thermal, imaging.thermal.radiometry; "
        "print(sorted(m for m in ('cv2', 'numba', 'tifffile', 'imagecodecs') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_exports():
    for name in thermal.__all__:
        assert getattr(thermal, name) is not None
    assert thermal.ThermalAnalyzer.name == "thermal"
    assert "read_thermal" in dir(thermal)
