"""numba kernels of the thermal domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

import numpy as np

from imaging._shared.jit import njit

__all__ = [
    "component_stats",
    "component_stats_reference",
    "local_percentile",
    "local_percentile_reference",
]


@njit
def _component_stats(labels: np.ndarray, values: np.ndarray, n: int) -> tuple:
    minimum = np.full(n, np.inf)
    maximum = np.full(n, -np.inf)
    total = np.zeros(n)
    count = np.zeros(n, np.int64)
    argmax = np.full(n, -1, np.int64)
    h, w = labels.shape
    for y in range(h):
        for x in range(w):
            k = labels[y, x]
            v = values[y, x]
            if k <= 0 or k >= n or not np.isfinite(v):
                continue
            if v < minimum[k]:
                minimum[k] = v
            if v > maximum[k]:
                maximum[k] = v
                argmax[k] = y * w + x
            total[k] += v
            count[k] += 1
    return minimum, maximum, total, count, argmax


def component_stats(labels: np.ndarray, values: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Per-label min, max, mean, count and flat index of the maximum, ignoring NaN values.

    ``labels`` (H, W) int32 with 0 as background, ``values`` (H, W) float; ``n`` = number of
    labels including the background. Rows of label 0 are meaningless.
    """
    mn, mx, total, count, argmax = _component_stats(
        np.ascontiguousarray(labels, np.int32), np.ascontiguousarray(values, np.float64), int(n)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return {"min": mn, "max": mx, "mean": mean, "count": count, "argmax": argmax}


def component_stats_reference(
    labels: np.ndarray, values: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """The same statistics computed with plain numpy (for the tests)."""
    flat_labels = labels.ravel().astype(np.int64)
    flat = values.ravel().astype(np.float64)
    ok = np.isfinite(flat) & (flat_labels > 0) & (flat_labels < n)
    idx, vals = flat_labels[ok], flat[ok]
    mn = np.full(n, np.inf)
    mx = np.full(n, -np.inf)
    np.minimum.at(mn, idx, vals)
    np.maximum.at(mx, idx, vals)
    count = np.bincount(idx, minlength=n)
    total = np.bincount(idx, weights=vals, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    argmax = np.full(n, -1, np.int64)
    positions = np.flatnonzero(ok)
    for k in range(1, n):
        members = positions[idx == k]
        if members.size:
            argmax[k] = members[np.argmax(flat[members])]
    return {"min": mn, "max": mx, "mean": mean, "count": count, "argmax": argmax}


@njit
def _window_percentile(padded: np.ndarray, k: int, q: float, step: int) -> np.ndarray:
    h = (padded.shape[0] - k) // step + 1
    w = (padded.shape[1] - k) // step + 1
    out = np.empty((h, w), np.float32)
    buffer = np.empty(k * k, np.float64)
    for y in range(h):
        for x in range(w):
            n = 0
            for dy in range(k):
                for dx in range(k):
                    v = padded[y * step + dy, x * step + dx]
                    if np.isfinite(v):
                        buffer[n] = v
                        n += 1
            if n == 0:
                out[y, x] = np.nan
                continue
            values = np.sort(buffer[:n])
            position = q / 100.0 * (n - 1)
            lower = int(np.floor(position))
            upper = min(lower + 1, n - 1)
            frac = position - lower
            out[y, x] = values[lower] + (values[upper] - values[lower]) * frac
    return out


def local_percentile(image: np.ndarray, size: int, q: float, *, step: int = 1) -> np.ndarray:
    """The ``q``-th percentile of the ``size`` × ``size`` window around every ``step``-th pixel
    (NaN ignored), float32 of shape ``(ceil(H / step), ceil(W / step))``.

    Edges are mirrored (``np.pad`` mode ``"symmetric"``); ``size`` must be odd; the
    percentile interpolates linearly like ``np.percentile``. A window of NaN only gives NaN.
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number, got {size}")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must lie in [0, 100], got {q}")
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    padded = np.pad(np.asarray(image, np.float64), size // 2, mode="symmetric")
    return _window_percentile(np.ascontiguousarray(padded), int(size), float(q), int(step))


def local_percentile_reference(
    image: np.ndarray, size: int, q: float, *, step: int = 1
) -> np.ndarray:
    """:func:`local_percentile` computed with plain numpy (for the tests)."""
    import warnings

    padded = np.pad(np.asarray(image, np.float64), size // 2, mode="symmetric")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[::step, ::step]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        return np.nanpercentile(windows, q, axis=(-2, -1)).astype(np.float32)
