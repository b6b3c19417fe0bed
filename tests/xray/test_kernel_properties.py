"""Property tests of the X-ray numba kernel against its numpy reference."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging.xray._kernels import (
    flat_field_attenuation,
    flat_field_attenuation_reference,
    flat_field_window_u16,
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
