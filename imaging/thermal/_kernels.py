"""numba kernels of the thermal domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

import numpy as np

from imaging._shared.jit import njit

__all__ = [
    "component_stats",
    "component_stats_reference",
    "local_percentile",
    "local_percentile_reference",
    "lookup_counts",
    "lookup_counts_reference",
]


@njit
def _lookup(table: np.ndarray, raw: np.ndarray, out: np.ndarray) -> None:
    for i in range(raw.size):
        out[i] = table[raw[i]]


def lookup_counts(table: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """``table[raw]`` for uint16 counts and a 65,536-entry float32 table, in one pass (numpy's
    fancy indexing first widens every index to 64 bits)."""
    if table.shape != (65536,) or raw.dtype != np.uint16:
        raise ValueError("expected a 65,536-entry table and uint16 counts")
    flat = np.ascontiguousarray(raw).reshape(-1)
    out = np.empty(flat.size, table.dtype)
    _lookup(np.ascontiguousarray(table), flat, out)
    return out.reshape(raw.shape)


def lookup_counts_reference(table: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """:func:`lookup_counts` with numpy indexing (for the tests)."""
    return table[raw]


@njit
def _component_stats(labels: np.ndarray, values: np.ndarray, n: int) -> tuple:
    minimum = np.full(n, np.inf)
    maximum = np.full(n, -np.inf)
    total = np.zeros(n)
    count = np.zeros(n, np.int64)
    argmax = np.full(n, -1, np.int64)
    area = np.zeros(n, np.int64)
    box = np.empty((n, 4), np.int64)  # x0, y0, x1, y1 (exclusive)
    box[:, 0] = labels.shape[1]
    box[:, 1] = labels.shape[0]
    box[:, 2] = 0
    box[:, 3] = 0
    sum_x = np.zeros(n)
    sum_y = np.zeros(n)
    h, w = labels.shape
    for y in range(h):
        for x in range(w):
            k = labels[y, x]
            if k <= 0 or k >= n:
                continue
            area[k] += 1
            sum_x[k] += x
            sum_y[k] += y
            if x < box[k, 0]:
                box[k, 0] = x
            if x + 1 > box[k, 2]:
                box[k, 2] = x + 1
            if y < box[k, 1]:
                box[k, 1] = y
            box[k, 3] = y + 1
            v = values[y, x]
            if not np.isfinite(v):
                continue
            if v < minimum[k]:
                minimum[k] = v
            if v > maximum[k]:
                maximum[k] = v
                argmax[k] = y * w + x
            total[k] += v
            count[k] += 1
    return minimum, maximum, total, count, argmax, area, box, sum_x, sum_y


def _finish(mn, mx, total, count, argmax, area, box, sum_x, sum_y) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        centroid = np.stack([sum_x, sum_y], axis=1) / np.maximum(area, 1)[:, None]
    return {
        "min": mn, "max": mx, "mean": mean, "count": count, "argmax": argmax,
        "area": area, "box": box, "centroid": centroid,
    }  # fmt: skip


def component_stats(labels: np.ndarray, values: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Per-label statistics in one pass over the image.

    ``labels`` (H, W) integer with 0 as background, ``values`` (H, W) float; ``n`` = number
    of labels including the background. Returns arrays indexed by label (row 0 meaningless):
    ``min``, ``max``, ``mean``, ``count`` (finite values only), ``argmax`` (flat index of the
    maximum, -1 when none), ``area`` (pixels, NaN included), ``box`` (x0, y0, x1, y1 with
    exclusive ends) and ``centroid`` (x, y) of the pixels.
    """
    values = np.asarray(values)
    if values.dtype != np.float32:
        values = values.astype(np.float64, copy=False)
    return _finish(
        *_component_stats(
            np.ascontiguousarray(labels, np.int32), np.ascontiguousarray(values), int(n)
        )
    )


def component_stats_reference(
    labels: np.ndarray, values: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """The same statistics computed with plain numpy (for the tests)."""
    h, w = labels.shape
    flat_labels = labels.ravel().astype(np.int64)
    flat = values.ravel().astype(np.float64)
    inside = (flat_labels > 0) & (flat_labels < n)
    ok = np.isfinite(flat) & inside
    idx, vals = flat_labels[ok], flat[ok]
    mn = np.full(n, np.inf)
    mx = np.full(n, -np.inf)
    np.minimum.at(mn, idx, vals)
    np.maximum.at(mx, idx, vals)
    count = np.bincount(idx, minlength=n)
    total = np.bincount(idx, weights=vals, minlength=n)
    argmax = np.full(n, -1, np.int64)
    positions = np.flatnonzero(ok)
    for k in range(1, n):
        members = positions[idx == k]
        if members.size:
            argmax[k] = members[np.argmax(flat[members])]
    where = np.flatnonzero(inside)
    labelled = flat_labels[where]
    xs, ys = where % w, where // w
    area = np.bincount(labelled, minlength=n)
    box = np.array([[w, h, 0, 0]] * n, np.int64)
    np.minimum.at(box[:, 0], labelled, xs)
    np.minimum.at(box[:, 1], labelled, ys)
    np.maximum.at(box[:, 2], labelled, xs + 1)
    np.maximum.at(box[:, 3], labelled, ys + 1)
    sum_x = np.bincount(labelled, weights=xs, minlength=n).astype(np.float64)
    sum_y = np.bincount(labelled, weights=ys, minlength=n).astype(np.float64)
    return _finish(mn, mx, total, count, argmax, area, box, sum_x, sum_y)


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
            position = q / 100.0 * (n - 1)
            lower = int(np.floor(position))
            frac = position - lower
            values = np.partition(buffer[:n], lower)  # O(n), unlike a sort
            low = values[lower]
            high = low if lower + 1 >= n else values[lower + 1 :].min()
            out[y, x] = low + (high - low) * frac
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
