import os
import subprocess
import sys
import textwrap


def test_kernel_cache_goes_to_imaging_cache_dir(tmp_path):
    module = tmp_path / "kern.py"
    module.write_text(
        textwrap.dedent(
            """
            from imaging._shared.jit import njit

            @njit
            def add_one(x):
                return x + 1

            @njit(fastmath=False)
            def twice(x):
                return 2 * x
            """
        )
    )
    env = dict(os.environ, IMAGING_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    code = "import kern; print(kern.add_one(41), kern.twice(4))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["42", "8"]
    cached = list((tmp_path / "cache" / "numba").rglob("*.nbi"))
    assert len(cached) == 2, "both kernels were cached under IMAGING_CACHE_DIR/numba"
