"""numba kernels of the plate domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imaging._shared.errors import DTypeError, ShapeError
from imaging._shared.jit import njit

__all__ = ["u8_percentiles", "u8_percentiles_reference"]


@njit
def _u8_percentiles(values: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    counts = np.zeros(256, np.int64)
    for row in range(values.shape[0]):
        for col in range(values.shape[1]):
            counts[values[row, col]] += 1
    n = values.shape[0] * values.shape[1]
    out = np.empty(len(fractions), np.float64)
    for k in range(len(fractions)):
        position = fractions[k] * (n - 1)
        below = int(np.floor(position))
        above = min(below + 1, n - 1)
        # the i-th smallest value is the first v with more than i values <= v
        low, high, seen = -1, -1, 0
        for v in range(256):
            seen += counts[v]
            if low < 0 and seen > below:
                low = v
            if seen > above:
                high = v
                break
        out[k] = low + (high - low) * (position - below)
    return out


def u8_percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, q)`` (linear interpolation) of a 2-D uint8 image, from its
    histogram in one compiled pass: the same numbers, without numpy's per-call overhead that
    dominates on a plate crop's few thousand pixels. Views (strided slices) are fine.

    Parameters
    ----------
    values : ndarray (H, W), uint8
        Not empty.
    q : sequence of float
        Percentiles in [0, 100].

    Returns
    -------
    ndarray of float64, one per ``q``.

    Examples
    --------
    >>> import numpy as np
    >>> u8_percentiles(np.arange(100, dtype=np.uint8).reshape(10, 10), (5, 50, 95))
    array([ 4.95, 49.5 , 94.05])
    """
    if values.dtype != np.uint8:
        raise DTypeError(f"u8_percentiles: expected uint8 values, got {values.dtype}")
    if values.ndim != 2 or values.size == 0:
        raise ShapeError(f"u8_percentiles: expected a non-empty 2-D array, got {values.shape}")
    return _u8_percentiles(values, np.asarray(q, np.float64) / 100.0)


def u8_percentiles_reference(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """The plain numpy version of :func:`u8_percentiles`."""
    return np.percentile(values, q)
