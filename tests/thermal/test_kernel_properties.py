"""Property tests of the thermal numba kernels against their numpy references: equal results,
finite output for finite input, shapes and dtypes kept, odd sizes (1x1, 1xN, long strips)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imaging.thermal._kernels import (
    component_stats,
    component_stats_reference,
    local_percentile,
    local_percentile_reference,
    lookup_counts,
    lookup_counts_reference,
)

shapes = st.tuples(st.integers(1, 30), st.integers(1, 30)) | st.sampled_from(
    [(1, 1), (1, 257), (257, 1), (2, 400)]
)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=shapes)
def test_lookup_counts_matches_indexing(data, shape):
    raw = data.draw(arrays(np.uint16, shape))
    table = np.linspace(-40, 900, 65536, dtype=np.float32)
    table[:5] = np.nan  # counts below the model's range
    got = lookup_counts(table, raw)
    assert got.shape == raw.shape and got.dtype == np.float32
    np.testing.assert_array_equal(got, lookup_counts_reference(table, raw))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    n=st.integers(1, 6),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_component_stats_matches_reference(data, shape, n, dtype):
    labels = data.draw(arrays(np.int32, shape, elements=st.integers(0, n - 1)))
    values = data.draw(
        arrays(dtype, shape, elements=st.floats(-50, 500, width=32) | st.just(np.nan))
    )
    got = component_stats(labels, values, n)
    ref = component_stats_reference(labels, values, n)
    for key in ("min", "max", "count", "argmax", "area", "box"):
        np.testing.assert_array_equal(got[key][1:], ref[key][1:], err_msg=key)
    for key in ("mean", "centroid"):
        np.testing.assert_allclose(got[key][1:], ref[key][1:], rtol=1e-9, equal_nan=True)
    present = got["count"][1:] > 0
    assert np.isfinite(got["mean"][1:][present]).all()
    assert (got["area"][1:] >= got["count"][1:]).all()


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    size=st.sampled_from([1, 3, 5, 9]),
    q=st.floats(0, 100),
    step=st.integers(1, 4),
)
def test_local_percentile_matches_reference(data, shape, size, q, step):
    image = data.draw(arrays(np.float32, shape, elements=st.floats(-40, 400, width=32)))
    size = min(size, (2 * min(shape) - 1) | 1)  # the mirrored pad must fit in the image
    got = local_percentile(image, size, q, step=step)
    ref = local_percentile_reference(image, size, q, step=step)
    assert got.dtype == np.float32
    assert got.shape == (-(-shape[0] // step), -(-shape[1] // step))
    assert np.isfinite(got).all()  # finite input, finite output
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5)
