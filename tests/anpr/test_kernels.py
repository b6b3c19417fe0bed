"""Property tests of the plate numba kernels against their numpy references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging import DTypeError, ShapeError
from imaging.anpr._kernels import u8_percentiles, u8_percentiles_reference


@settings(max_examples=80, deadline=None)
@given(
    image=arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 3))),
    channel=st.integers(0, 2),
    q=st.lists(st.floats(0, 100), min_size=1, max_size=4),
)
def test_percentiles_kernel_matches_reference_on_views(image, channel, q):
    values = image[..., min(channel, image.shape[2] - 1)]  # a strided view
    got = u8_percentiles(values, q)
    np.testing.assert_allclose(got, u8_percentiles_reference(values, q), rtol=0, atol=1e-9)


def test_percentiles_kernel_of_few_distinct_values():
    values = np.array([[0, 0, 0, 255]], np.uint8)
    np.testing.assert_allclose(u8_percentiles(values, (0, 50, 90, 100)), [0, 0, 178.5, 255])


def test_percentiles_kernel_rejects_what_it_cannot_count():
    with pytest.raises(DTypeError, match="uint8"):
        u8_percentiles(np.zeros((3, 3), np.uint16), (50,))
    with pytest.raises(ShapeError, match="2-D"):
        u8_percentiles(np.zeros((0, 3), np.uint8), (50,))
    with pytest.raises(ShapeError, match="2-D"):
        u8_percentiles(np.zeros((3, 3, 3), np.uint8), (50,))
