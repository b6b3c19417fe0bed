"""X-ray: calibration kernel against its numpy version, 16-bit CLAHE against scikit-image,
material classification, the whole analyzer on a dual-energy scan."""

from __future__ import annotations

import pytest

from imaging.xray._kernels import flat_field_attenuation, flat_field_attenuation_reference
from imaging.xray.enhance import clahe, grey
from imaging.xray.simulate import simulate_scan


@pytest.fixture(scope="module")
def scan():
    return simulate_scan(5, shape=(1024, 1536), threats=("gun", "knife", "dense_block"))


@pytest.fixture(scope="module")
def levels(scan):
    return scan.dark.mean(axis=1), scan.air[1].mean(axis=1)


@pytest.mark.benchmark(group="flat field + log, 1024x1536 uint16")
def test_flat_field_numba(benchmark, scan, levels):
    dark, air = levels
    flat_field_attenuation(scan.high, dark, air, floor=1e-4)
    benchmark(flat_field_attenuation, scan.high, dark, air, floor=1e-4)


@pytest.mark.benchmark(group="flat field + log, 1024x1536 uint16")
def test_flat_field_peer_numpy(benchmark, scan, levels):
    dark, air = levels
    benchmark(flat_field_attenuation_reference, scan.high, dark, air, floor=1e-4)


@pytest.fixture(scope="module")
def attenuation(scan, levels):
    dark, air = levels
    return flat_field_attenuation(scan.high, dark, air, floor=1e-4)


@pytest.mark.benchmark(group="super-enhancement (CLAHE), 1024x1536")
def test_clahe_16bit(benchmark, attenuation):
    benchmark(clahe, attenuation)


@pytest.mark.benchmark(group="super-enhancement (CLAHE), 1024x1536")
def test_clahe_peer_skimage(benchmark, attenuation):
    from skimage.exposure import equalize_adapthist

    image = grey(attenuation)
    benchmark.pedantic(equalize_adapthist, args=(image,), kwargs={"clip_limit": 0.01}, rounds=3)


@pytest.mark.benchmark(group="xray analyzer, dual energy 1024x1536")
def test_analyzer_dual(benchmark, scan):
    from imaging.xray.analyzer import XrayAnalyzer

    analyzer = XrayAnalyzer()
    analyzer.warmup()
    benchmark.pedantic(
        analyzer.analyze,
        args=(scan.high,),
        rounds=3,
        kwargs={"low": scan.low, "dark": scan.dark, "air": scan.air},
    )
