"""The console chain against the same chain written with OpenCV's Gaussian blur and weighted
sum, and its window top against numpy's percentile of the attenuation sample."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging.xray._kernels import flat_field_attenuation, flat_field_window_u16
from imaging.xray.calibrate import DEFAULT_FLOOR, dead_elements, reference_levels
from imaging.xray.enhance import (
    _display_top,
    _interpolate_rows_u16,
    _order_statistics,
    console_chain,
)
from imaging.xray.simulate import simulate_scan


def _numpy_top(raw, rows, dark, air):
    """The window top as the chain computed it before: np.percentile of A over the sample."""
    sample = flat_field_attenuation(raw[rows], dark[rows], air[rows], floor=DEFAULT_FLOOR)
    flat = sample.reshape(-1)
    return float(np.percentile(flat[:: max(1, flat.size // 250_000)], 99.5))


def _opencv_chain(raw, dark, air, *, amount, sigma):
    """console_chain with cv2.GaussianBlur + cv2.addWeighted as the unsharp mask (the
    previous implementation) and the top from np.percentile."""
    h = raw.shape[0]
    dark_level, air_level = reference_levels(raw, dark=dark, air=air)
    dead = dead_elements(air_level, dark_level)
    if dead.size >= h // 2:
        dead = np.zeros(0, int)
    rows = np.setdiff1d(np.arange(0, h, max(1, h // 128)), dead)
    top = max(_numpy_top(raw, rows, dark_level, air_level), 1e-3)
    g16 = flat_field_window_u16(raw, dark_level, air_level, floor=DEFAULT_FLOOR, lo=0.0, hi=top)
    if dead.size:
        g16 = _interpolate_rows_u16(g16, dead)
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g16)
    size = 2 * round(2 * sigma) + 1
    blurred = cv2.GaussianBlur(equalised, (size, size), sigma)
    return cv2.addWeighted(equalised, 1.0 + amount, blurred, -amount, 0.0)


@pytest.mark.parametrize(("amount", "sigma"), [(1.0, 2.0), (1.5, 1.0), (0.5, 3.3), (3.0, 0.6)])
@pytest.mark.parametrize(("seed", "shape"), [(2, (200, 333)), (3, (517, 260))])
def test_console_chain_matches_the_chain_with_opencv_unsharp_mask(seed, shape, amount, sigma):
    """Tolerance: OpenCV rounds the blur to 16 bits (half a count, times ``amount``) and then
    the weighted sum (half a count): at most 1 + amount / 2 counts of 65,535, everywhere,
    borders included (both use BORDER_REFLECT_101)."""
    scan = simulate_scan(seed, shape=shape, threats=("knife", "gun"))
    got = console_chain(scan.high, dark=scan.dark, air=scan.air[1], amount=amount, sigma=sigma)
    expected = _opencv_chain(scan.high, scan.dark, scan.air[1], amount=amount, sigma=sigma)
    assert got.dtype == np.uint16 and got.shape == shape
    difference = np.abs(got.astype(np.int64) - expected.astype(np.int64))
    assert difference.max() <= int(1 + amount / 2)
    assert difference.mean() < 0.6


def test_console_chain_without_sharpening_is_the_equalised_image():
    scan = simulate_scan(4, shape=(96, 130), threats=("gun",))
    reference = console_chain(scan.high, dark=scan.dark, air=scan.air[1], amount=0.0)
    for sigma in (0.0, 0.25):  # a one-tap Gaussian: no blur, no edge enhancement
        out = console_chain(scan.high, dark=scan.dark, air=scan.air[1], sigma=sigma)
        np.testing.assert_array_equal(out, reference)


@pytest.mark.parametrize("shape", [(1, 64), (64, 1), (3, 5), (70, 2)])
def test_console_chain_on_thin_images(rng, shape):
    raw = rng.integers(500, 30000, size=shape).astype(np.uint16)
    out = console_chain(raw, dark=np.full(shape[0], 300.0), air=np.full(shape[0], 31000.0))
    assert out.shape == shape and out.dtype == np.uint16


@pytest.mark.parametrize("shape", [(1, 5), (300, 1), (37, 53), (1000, 999)])
def test_clahe_equalises_in_place_like_into_a_new_image(rng, shape):
    """The chain lets OpenCV's CLAHE write over its input (its look-up tables are built
    before any pixel is written, and each pixel is read before it is written)."""
    image = rng.integers(0, 65536, size=shape).astype(np.uint16)
    image[: shape[0] // 2] //= 8  # a dark half: uneven tiles
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    expected = clahe.apply(image)
    in_place = image.copy()
    out = clahe.apply(in_place, in_place)
    assert np.shares_memory(out, in_place)
    np.testing.assert_array_equal(out, expected)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    h=st.integers(1, 300),
    w=st.integers(1, 2500),
    dtype=st.sampled_from([np.uint16, np.uint8, np.float64]),
)
def test_display_top_is_numpy_percentile_of_the_attenuation_sample(data, h, w, dtype):
    """The same float as np.percentile over A of the sampled pixels, not only close to it:
    the chain's window, and so its CLAHE input, are those of the percentile."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    top_count = 255 if dtype == np.uint8 else data.draw(st.sampled_from([300, 4000, 65535]))
    raw = rng.integers(0, top_count + 1, size=(h, w)).astype(dtype)
    dark = rng.uniform(0, min(300, top_count / 2), h)
    air = dark + rng.uniform(0, top_count, h)
    air[rng.integers(0, h)] = dark[0]  # a dead row, perhaps sampled
    rows = np.arange(0, h, max(1, h // 128))
    expected = _numpy_top(raw, rows, dark, air)
    assert _display_top(raw, rows, dark, air, floor=DEFAULT_FLOOR) == expected


@settings(max_examples=80, deadline=None)
@given(
    values=arrays(np.float32, st.integers(1, 20000), elements=st.floats(-2, 2, width=32)),
    fraction=st.floats(0, 1),
)
def test_order_statistics_equal_a_full_partition(values, fraction):
    j = int(fraction * (values.size - 1))
    positions = [max(j - 1, 0), j]
    expected = np.partition(values, positions)[positions]
    np.testing.assert_array_equal(_order_statistics(values.copy(), positions), expected)


def test_order_statistics_with_ties_and_a_low_guess():
    values = np.concatenate([np.zeros(5000), np.ones(5000), np.arange(100.0)]).astype(np.float32)
    for j in (0, 4999, 5000, 5100, 10099):
        positions = [max(j - 1, 0), j]
        expected = np.sort(values)[positions]
        np.testing.assert_array_equal(_order_statistics(values, positions), expected)
