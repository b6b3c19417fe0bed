"""X-ray targets of the issue on a 2048x4096 scan, each a ratio against a peer in the same run.

- the default console chain (flat field, attenuation, 16-bit CLAHE, edge enhancement) against
  the same chain written with numpy and scikit-image, and against OpenCV's CLAHE alone; its
  unsharp mask against OpenCV's Gaussian blur and weighted sum;
- material classification and colouring of the dual-energy pair against ``np.copyto`` of the
  pair (the memory-bandwidth floor);
- peak memory of a whole dual-energy analysis, in a child process, as a multiple of the
  input's bytes (reported in ``extra_info``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from imaging.xray.simulate import simulate_scan

SHAPE = (2048, 4096)


@pytest.fixture(scope="module")
def scan():
    return simulate_scan(5, shape=SHAPE, threats=("gun", "knife", "dense_block"))


@pytest.fixture(scope="module")
def levels(scan):
    return scan.dark.mean(axis=1), scan.air[1].mean(axis=1)


def _chain(benchmark, scan, levels):
    from imaging.xray.enhance import console_chain

    dark, air = levels
    console_chain(scan.high, dark=dark, air=air)
    benchmark(console_chain, scan.high, dark=dark, air=air)


@pytest.mark.benchmark(group="console chain 2048x4096 vs scikit-image")
def test_console_chain(benchmark, scan, levels):
    _chain(benchmark, scan, levels)


@pytest.mark.benchmark(group="console chain 2048x4096 vs scikit-image")
def test_console_chain_peer_skimage(benchmark, scan, levels):
    from skimage.exposure import equalize_adapthist
    from skimage.filters import unsharp_mask

    dark, air = levels

    def chain():
        t = (scan.high.astype(np.float64) - dark[:, None]) / (air - dark)[:, None]
        a = -np.log(np.clip(t, 1e-4, 1e4))
        g = 1.0 - np.clip(a / np.percentile(a, 99.5), 0, 1)
        return unsharp_mask(equalize_adapthist(g, clip_limit=0.01), radius=2.0, amount=1.0)

    benchmark.pedantic(chain, rounds=2, iterations=1)


@pytest.mark.benchmark(group="console chain 2048x4096 vs OpenCV CLAHE alone")
def test_console_chain_whole(benchmark, scan, levels):
    _chain(benchmark, scan, levels)


@pytest.mark.benchmark(group="console chain 2048x4096 vs OpenCV CLAHE alone")
def test_opencv_clahe_alone_peer(benchmark, scan, levels):
    import cv2

    from imaging.xray._kernels import flat_field_window_u16

    dark, air = levels
    g16 = flat_field_window_u16(scan.high, dark, air, floor=1e-4, lo=0.0, hi=6.0)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    benchmark(clahe.apply, g16)


@pytest.fixture(scope="module")
def equalised(scan, levels):
    import cv2

    from imaging.xray._kernels import flat_field_window_u16

    dark, air = levels
    g16 = flat_field_window_u16(scan.high, dark, air, floor=1e-4, lo=0.0, hi=6.0)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g16)


@pytest.mark.benchmark(group="unsharp mask 2048x4096 uint16 vs OpenCV blur + weighted sum")
def test_unsharp_mask_kernel(benchmark, equalised):
    from imaging.xray._kernels import unsharp_u16

    unsharp_u16(equalised, amount=1.0, sigma=2.0)
    benchmark(unsharp_u16, equalised, amount=1.0, sigma=2.0)


@pytest.mark.benchmark(group="unsharp mask 2048x4096 uint16 vs OpenCV blur + weighted sum")
def test_unsharp_mask_peer_opencv(benchmark, equalised):
    import cv2

    def unsharp():  # the chain's edge enhancement before the fused kernel
        blurred = cv2.GaussianBlur(equalised, (9, 9), 2.0)
        return cv2.addWeighted(equalised, 2.0, blurred, -1.0, 0.0)

    benchmark(unsharp)


@pytest.fixture(scope="module")
def pair(scan):
    from imaging.xray.calibrate import attenuation

    return (
        attenuation(scan.low, dark=scan.dark, air=scan.air[0]),
        attenuation(scan.high, dark=scan.dark, air=scan.air[1]),
    )


@pytest.mark.benchmark(group="materials 2048x4096 pair vs np.copyto")
def test_classify_and_colour(benchmark, pair):
    from imaging.xray import materials as mat

    a_low, a_high = pair
    mat.colorize(a_high, mat.classify(a_low, a_high))
    benchmark(lambda: mat.colorize(a_high, mat.classify(a_low, a_high)))


@pytest.mark.benchmark(group="materials 2048x4096 pair vs np.copyto")
def test_copy_of_the_pair_peer(benchmark, pair):
    a_low, a_high = pair
    out_low, out_high = np.empty_like(a_low), np.empty_like(a_high)

    def copy():
        np.copyto(out_low, a_low)
        np.copyto(out_high, a_high)

    benchmark(copy)


PEAK_CHILD = r"""
import json, sys
import numpy as np
from imaging.xray.analyzer import XrayAnalyzer
from imaging.xray.simulate import simulate_scan
analyzer = XrayAnalyzer(detector=None)
small = simulate_scan(1, shape=(64, 96))
analyzer.analyze(small.high, low=small.low, dark=small.dark, air=small.air)  # JIT, tables
folder = sys.argv[1]
low, high = np.load(folder + "/low.npy"), np.load(folder + "/high.npy")
dark, air = np.load(folder + "/dark.npy"), np.load(folder + "/air.npy")
import os, threading, time
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * page
peak, done = [0], threading.Event()
def watch():  # the JIT compiler's earlier peak hides ru_maxrss: sample the resident size
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.0005)
before = rss()
watcher = threading.Thread(target=watch)
watcher.start()
analyzer.analyze(high, low=low, dark=dark, air=air)
done.set()
watcher.join()
peak[0] = max(peak[0], rss())
print(json.dumps({"input_bytes": low.nbytes + high.nbytes, "peak_growth_bytes": peak[0] - before}))
"""


def test_peak_memory_of_a_dual_energy_analysis(benchmark, scan, tmp_path):
    for name in ("low", "high", "dark", "air"):
        np.save(tmp_path / f"{name}.npy", getattr(scan, name))

    def measure():
        proc = subprocess.run(
            [sys.executable, "-c", PEAK_CHILD, str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return json.loads(proc.stdout.strip().splitlines()[-1])

    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    ratio = figures["peak_growth_bytes"] / figures["input_bytes"]
    benchmark.extra_info.update(figures, peak_over_input=round(ratio, 2))
    print(f"\npeak memory growth {ratio:.2f}x the input's bytes")
    assert figures["input_bytes"] == 2 * 2048 * 4096 * 2
