"""Property tests of the X-ray numba kernels against their numpy references."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging import DTypeError, ShapeError
from imaging.xray._kernels import (
    _unsharp_u16,
    flat_field_attenuation,
    flat_field_attenuation_reference,
    flat_field_window_u16,
    gaussian_taps,
    sampled_transmission,
    sampled_transmission_reference,
    unsharp_u16,
    unsharp_u16_reference,
    window_u16,
    window_u16_reference,
)

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40)) | st.sampled_from(
    [(1, 1), (1, 300), (300, 1)]
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=shapes, floor=st.floats(1e-6, 0.5))
def test_flat_field_kernel_matches_reference(data, shape, floor):
    raw = data.draw(arrays(np.uint16, shape))
    dark = data.draw(arrays(np.float64, shape[0], elements=st.floats(0, 1000)))
    gain = data.draw(arrays(np.float64, shape[0], elements=st.floats(0, 60000)))
    air = dark + gain
    got = flat_field_attenuation(raw, dark, air, floor=floor)
    ref = flat_field_attenuation_reference(raw, dark, air, floor=floor)
    assert got.shape == raw.shape and got.dtype == np.float32
    assert np.isfinite(got).all()  # finite output for any finite input
    assert (np.abs(got) <= -np.log(floor) + 1e-5).all()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    lo=st.floats(-1, 2),
    span=st.floats(1e-7, 12),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_window_kernel_matches_reference(data, shape, lo, span, dtype):
    a = data.draw(arrays(dtype, shape, elements=st.floats(-5, 40, width=32)))
    got = window_u16(a, lo, lo + span)
    ref = window_u16_reference(a, lo, lo + span)
    assert got.shape == a.shape and got.dtype == np.uint16
    # one count of rounding freedom where float32 and float64 arithmetic differ at .5
    assert np.abs(got.astype(np.int64) - ref.astype(np.int64)).max(initial=0) <= 1


def test_window_kernel_ends():
    a = np.array([[-1.0, 0.0, 1.0, 2.0, 3.0]], np.float32)
    assert window_u16(a, 0.0, 2.0).tolist() == [[65535, 65535, 32768, 0, 0]]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, hi=st.floats(0.1, 9))
def test_fused_flat_field_window_matches_the_two_steps(data, shape, hi):
    raw = data.draw(arrays(np.uint16, shape))
    dark = data.draw(arrays(np.float64, shape[0], elements=st.floats(0, 1000)))
    air = dark + data.draw(arrays(np.float64, shape[0], elements=st.floats(0, 60000)))
    got = flat_field_window_u16(raw, dark, air, floor=1e-4, lo=0.0, hi=hi)
    two_steps = window_u16_reference(
        flat_field_attenuation_reference(raw, dark, air, floor=1e-4), 0.0, hi
    )
    assert got.shape == raw.shape and got.dtype == np.uint16
    # float32 arithmetic against float64: a few counts of 65,535 at most
    assert np.abs(got.astype(np.int64) - two_steps.astype(np.int64)).max(initial=0) <= 4


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 0.1), (0.0, 9.3), (2.0, 2.05), (-1.0, 12.0)])
def test_fused_flat_field_window_logarithm_holds_on_narrow_windows(lo, hi):
    """Every count of a 16-bit row through windows from a twentieth of an attenuation unit
    wide (a count is then 8e-7 in A) to wider than the floor's range."""
    raw = np.arange(65536, dtype=np.uint16).reshape(4, 16384)
    dark = np.array([0.0, 0.0, 100.5, 3000.25])
    air = np.array([65535.0, 1000.0, 40000.0, 9000.0])
    got = flat_field_window_u16(raw, dark, air, floor=1e-4, lo=lo, hi=hi)
    ref = window_u16_reference(flat_field_attenuation_reference(raw, dark, air, floor=1e-4), lo, hi)
    assert np.abs(got.astype(np.int64) - ref.astype(np.int64)).max() <= 2


def test_fused_flat_field_window_refuses_a_floor_out_of_range():
    raw = np.zeros((2, 2), np.uint16)
    for floor in (0.0, 1e-40, 2.0):
        with pytest.raises(ValueError, match="floor"):
            flat_field_window_u16(raw, np.zeros(2), np.ones(2), floor=floor, lo=0.0, hi=1.0)


def test_large_images_split_across_threads_match_the_reference():
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 40000, size=(1100, 1000)).astype(np.uint16)  # over the parallel size
    dark = rng.uniform(200, 400, 1100)
    air = dark + rng.uniform(0, 40000, 1100)
    air[7] = dark[7]  # a dead row inside one block
    got = flat_field_attenuation(raw, dark, air, floor=1e-4)
    np.testing.assert_allclose(
        got, flat_field_attenuation_reference(raw, dark, air, floor=1e-4), rtol=1e-5, atol=1e-5
    )
    fused = flat_field_window_u16(raw, dark, air, floor=1e-4, lo=0.0, hi=4.0)
    two_steps = window_u16_reference(got, 0.0, 4.0)
    assert np.abs(fused.astype(np.int64) - two_steps.astype(np.int64)).max() <= 4


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    step=st.integers(1, 9) | st.just(1000),
    dtype=st.sampled_from([np.uint16, np.uint8, np.float32, np.float64, np.int32]),
)
def test_sampled_transmission_matches_reference(data, shape, step, dtype):
    raw = data.draw(arrays(np.uint16, shape)).astype(dtype)
    if data.draw(st.booleans()):
        raw = np.asfortranarray(raw)  # any strides
    h = shape[0]
    rows = np.array(data.draw(st.lists(st.integers(0, h - 1), min_size=1, max_size=12)))
    dark = data.draw(arrays(np.float64, h, elements=st.floats(0, 1000)))
    air = dark + data.draw(arrays(np.float64, h, elements=st.floats(0, 60000)))
    got = sampled_transmission(raw, rows, dark, air, step=step)
    expected = sampled_transmission_reference(raw, rows, dark, air, step=step)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # the same float32 operations, bit for bit


def test_sampled_transmission_errors():
    raw = np.zeros((4, 5), np.uint16)
    with pytest.raises(ValueError, match="rows"):
        sampled_transmission(raw, np.array([0, 4]), np.zeros(4), np.ones(4), step=1)
    with pytest.raises(ValueError, match="step"):
        sampled_transmission(raw, np.array([0]), np.zeros(4), np.ones(4), step=0)


# sigma: the one-tap cut (round(2 sigma) = 0 up to 0.25), either side of the radius steps,
# the chain's default, and radii past one group of four taps and past the image
sigmas = st.floats(0, 7) | st.sampled_from([0.0, 0.25, 0.2501, 0.75, 1.2499, 2.0, 2.25, 6.5])


@settings(max_examples=80, deadline=None)
@given(data=st.data(), shape=shapes, sigma=sigmas, amount=st.floats(0, 4))
def test_unsharp_kernel_matches_reference(data, shape, sigma, amount):
    image = data.draw(arrays(np.uint16, shape))
    got = unsharp_u16(image, amount=amount, sigma=sigma)
    ref = unsharp_u16_reference(image, amount=amount, sigma=sigma)
    assert got.shape == image.shape and got.dtype == np.uint16
    # float32 against float64: one count of rounding freedom at .5
    assert np.abs(got.astype(np.int64) - ref.astype(np.int64)).max(initial=0) <= 1


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=shapes, sigma=sigmas)
def test_unsharp_without_amount_or_blur_gives_the_image_back(data, shape, sigma):
    image = data.draw(arrays(np.uint16, shape))
    np.testing.assert_array_equal(unsharp_u16(image, amount=0.0, sigma=sigma), image)
    np.testing.assert_array_equal(unsharp_u16(image, amount=2.5, sigma=0.25), image)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 3), (7, 30), (33, 17)])
@pytest.mark.parametrize("sigma", [0.6, 1.0, 2.0, 4.5])
def test_unsharp_reference_blurs_like_opencv(rng, shape, sigma):
    """The reference's Gaussian and border are OpenCV's: cv2.GaussianBlur in float64 with its
    default BORDER_REFLECT_101, even where the kernel is larger than the image."""
    image = rng.integers(0, 65536, size=shape).astype(np.uint16)
    size = 2 * (gaussian_taps(sigma).size - 1) + 1
    x = image.astype(np.float64)
    blur = cv2.GaussianBlur(x, (size, size), sigma)
    expected = np.floor(np.clip(x + 1.5 * (x - blur), 0, 65535) + 0.5)
    got = unsharp_u16_reference(image, amount=1.5, sigma=sigma)
    assert np.abs(got - expected).max() <= 1  # a tie at .5 may round either way
    assert (got == expected).mean() > 0.99


@pytest.mark.parametrize("sigma", [0.3, 0.8, 1.0, 2.0, 3.7, 10.0])
def test_gaussian_taps_fold_opencv_kernel(sigma):
    taps = gaussian_taps(sigma)
    r = taps.size - 1
    assert r == round(2 * sigma)
    folded = np.concatenate([taps[:0:-1], taps])
    np.testing.assert_allclose(folded, cv2.getGaussianKernel(2 * r + 1, sigma).ravel(), 1e-12)
    assert gaussian_taps(0.0).tolist() == gaussian_taps(0.25).tolist() == [1.0]


@settings(max_examples=50, deadline=None)
@given(data=st.data(), shape=shapes, sigma=sigmas, amount=st.floats(0, 4))
def test_unsharp_in_place_equals_into_a_new_image(data, shape, sigma, amount):
    image = data.draw(arrays(np.uint16, shape))
    expected = unsharp_u16(image, amount=amount, sigma=sigma)
    in_place = image.copy()
    out = unsharp_u16(in_place, amount=amount, sigma=sigma, out=in_place)
    assert out is in_place
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("sigma", [0.6, 2.0, 5.0])
def test_large_images_unsharp_across_threads_like_one_block(sigma):
    rng = np.random.default_rng(4)
    image = rng.integers(0, 65536, size=(1100, 1000)).astype(np.uint16)  # over the parallel size
    image[500:600, 300:400] = 65535  # saturating plateaus across the block edge
    image[540:560] = 0
    got = unsharp_u16(image, amount=1.0, sigma=sigma)
    taps = gaussian_taps(sigma)
    radius = taps.size - 1
    padded = np.zeros(1 + 4 * max(1, -(-radius // 4)), np.float32)
    padded[: radius + 1] = taps
    none = np.zeros((0, 1000), np.uint16)
    one_block = _unsharp_u16(image, padded, radius, 1.0, none, none, 0, 1100, np.empty_like(image))
    np.testing.assert_array_equal(got, one_block)
    in_place = image.copy()
    np.testing.assert_array_equal(
        unsharp_u16(in_place, amount=1.0, sigma=sigma, out=in_place), one_block
    )
    ref = unsharp_u16_reference(image, amount=1.0, sigma=sigma)
    assert np.abs(got.astype(np.int64) - ref.astype(np.int64)).max() <= 1


def test_unsharp_into_an_overlapping_view_works_on_a_copy(rng):
    buffer = rng.integers(0, 65536, size=(41, 30)).astype(np.uint16)
    image = buffer[:40]
    expected = unsharp_u16(image, amount=1.0, sigma=2.0)
    got = unsharp_u16(image, amount=1.0, sigma=2.0, out=buffer[1:])
    np.testing.assert_array_equal(got, expected)


def test_unsharp_errors():
    image = np.zeros((4, 5), np.uint16)
    with pytest.raises(DTypeError, match="image"):
        unsharp_u16(image.astype(np.uint8), amount=1.0, sigma=1.0)
    with pytest.raises(ShapeError, match="image"):
        unsharp_u16(np.zeros((4, 5, 3), np.uint16), amount=1.0, sigma=1.0)
    with pytest.raises(ValueError, match="amount"):
        unsharp_u16(image, amount=float("nan"), sigma=1.0)
    for sigma in (-0.5, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="sigma"):
            unsharp_u16(image, amount=1.0, sigma=sigma)
    for out in (
        np.zeros((4, 6), np.uint16),
        np.zeros((4, 5), np.int32),
        np.zeros((5, 4), np.uint16).T,
    ):
        with pytest.raises(ValueError, match="out"):
            unsharp_u16(image, amount=1.0, sigma=1.0, out=out)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), shape=shapes)
def test_material_kernels_match_their_references(data, shape):
    from imaging.xray import materials as mat
    from imaging.xray._kernels import (
        classify_cells,
        classify_cells_reference,
        colour_by_class,
        colour_by_class_reference,
        filled_ratio,
    )

    a_high = data.draw(arrays(np.float32, shape, elements=st.floats(0, 12, width=32)))
    factor = data.draw(arrays(np.float32, shape, elements=st.floats(0.5, 8, width=32)))
    a_low = (a_high * factor).astype(np.float32)
    table = mat.load_table()
    r = filled_ratio(a_low, a_high, 0.02)
    assert r.dtype == np.float32 and np.isfinite(r).all()
    got = classify_cells(a_low, a_high, r, table)
    np.testing.assert_array_equal(got, classify_cells_reference(a_low, a_high, r, table))
    assert got.shape == shape and got.dtype == np.uint8 and got.max(initial=0) <= mat.IMPENETRABLE
    lut = mat._colour_table()
    colours = colour_by_class(a_high, got, lut, 10.0)
    np.testing.assert_array_equal(colours, colour_by_class_reference(a_high, got, lut, 10.0))
    assert colours.shape == (*shape, 3) and colours.dtype == np.uint8
