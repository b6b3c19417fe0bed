"""Property tests of the X-ray numba kernel against its numpy reference."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging.xray._kernels import flat_field_attenuation, flat_field_attenuation_reference

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
