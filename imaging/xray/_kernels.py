"""numba kernels of the X-ray domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

import numpy as np

from imaging._shared.jit import njit

__all__ = [
    "flat_field_attenuation",
    "flat_field_attenuation_reference",
    "flat_field_window_u16",
    "window_u16",
    "window_u16_reference",
]

MIN_GAIN = 1e-9  # air - dark below this (counts) is a dead detector row: transmission 0


PARALLEL_MIN_PIXELS = 1 << 20  # below this, one thread is faster than handing out work


def _by_row_blocks(kernel, out: np.ndarray, sliced: tuple, fixed: tuple = ()) -> np.ndarray:
    """``kernel(*sliced, *fixed, out)`` for a per-row kernel compiled with ``nogil``: on blocks
    of rows in parallel threads when the image is large (each block writes its own rows of
    ``out``), in one call otherwise. ``sliced`` arrays are cut by rows with ``out``."""
    import itertools
    import os
    from concurrent.futures import ThreadPoolExecutor

    rows = out.shape[0]
    workers = min(4, os.cpu_count() or 1, max(1, rows // 64))
    if out.shape[0] * (out.size // max(rows, 1)) < PARALLEL_MIN_PIXELS or workers < 2:
        return kernel(*sliced, *fixed, out)
    edges = np.linspace(0, rows, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(kernel, *(v[a:b] for v in sliced), *fixed, out[a:b])
            for a, b in itertools.pairwise(edges)
        ]
        for job in jobs:
            job.result()
    return out


@njit(fastmath={"afn"})  # float32 and an approximate log: vectorised, error below 1e-6
def _flat_field(raw, dark, gain, floor, out):
    h, w = raw.shape
    low = np.float32(floor)
    high = np.float32(1.0 / floor)
    for y in range(h):
        d = np.float32(dark[y])
        inverse = np.float32(1.0 / gain[y]) if gain[y] > MIN_GAIN else np.float32(0.0)
        for x in range(w):
            t = (np.float32(raw[y, x]) - d) * inverse
            out[y, x] = np.float32(0.0) - np.log(min(max(t, low), high))  # never -0.0
    return out


def flat_field_attenuation(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float
) -> np.ndarray:
    """A = −ln(clip((raw − dark) / (air − dark), floor, 1 / floor)) per detector row (float32).

    ``dark`` and ``air`` are per-row levels (H,); a row whose air − dark is not above
    ``MIN_GAIN`` is dead (transmission 0, so A = −ln(floor)). The output is always finite.
    """
    gain = (air - dark).astype(np.float64)
    out = np.empty(raw.shape, np.float32)
    raw = np.asarray(raw)
    if raw.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raw = raw.astype(np.float64)
    sliced = (np.ascontiguousarray(raw), dark.astype(np.float64), gain)
    return _by_row_blocks(_flat_field, out, sliced, (float(floor),))


def flat_field_attenuation_reference(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float
) -> np.ndarray:
    """The same in plain numpy."""
    gain = (air - dark).astype(np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.where(gain > MIN_GAIN, (raw.astype(np.float64) - dark[:, None]) / gain, 0.0)
    return (0.0 - np.log(np.clip(t, floor, 1.0 / floor))).astype(np.float32)


@njit
def _window_u16(a, lo, scale, out):
    h, w = a.shape
    for y in range(h):
        for x in range(w):
            v = (a[y, x] - lo) * scale
            if v < 0.0:
                v = 0.0
            elif v > 1.0:
                v = 1.0
            out[y, x] = np.uint16(65535.0 * (1.0 - v) + 0.5)
    return out


def window_u16(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The grey console window of attenuation as uint16: ``lo`` → 65535 (white), ``hi`` → 0,
    in one pass (the 16-bit input of CLAHE)."""
    out = np.empty(a.shape, np.uint16)
    scale = 1.0 / max(float(hi) - float(lo), 1e-6)
    return _window_u16(np.ascontiguousarray(a), float(lo), scale, out)


def window_u16_reference(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """:func:`window_u16` in plain numpy."""
    scaled = np.clip((a.astype(np.float64) - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.floor(65535.0 * (1.0 - scaled) + 0.5).astype(np.uint16)


# ln(1 + m) at the middle of each of 2^14 mantissa intervals: with the float's exponent, a log
# accurate to 3e-5, two integer operations and one table read per pixel
_LN_MANTISSA = np.log1p((np.arange(1 << 14) + 0.5) / (1 << 14)).astype(np.float32)


@njit
def _flat_field_window(raw, dark, gain, floor, lo, scale, ln_mantissa, out):
    h, w = raw.shape
    low = np.float32(floor)
    high = np.float32(1.0 / floor)
    ln2 = np.float32(0.6931471805599453)
    lo32 = np.float32(lo)
    scale32 = np.float32(scale)
    buffer = np.empty(w, np.float32)
    bits = buffer.view(np.int32)
    for y in range(h):
        d = np.float32(dark[y])
        inverse = np.float32(1.0 / gain[y]) if gain[y] > MIN_GAIN else np.float32(0.0)
        for x in range(w):
            t = (np.float32(raw[y, x]) - d) * inverse
            buffer[x] = min(max(t, low), high)
        for x in range(w):
            b = bits[x]
            ln_t = np.float32(((b >> 23) & 0xFF) - 127) * ln2 + ln_mantissa[(b >> 9) & 0x3FFF]
            v = (np.float32(0.0) - ln_t - lo32) * scale32
            v = min(max(v, np.float32(0.0)), np.float32(1.0))
            out[y, x] = np.uint16(np.float32(65535.0) * (np.float32(1.0) - v) + np.float32(0.5))
    return out


def flat_field_window_u16(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float, lo: float, hi: float
) -> np.ndarray:
    """``window_u16(flat_field_attenuation(raw, dark, air, floor=floor), lo, hi)`` in one
    pass, without the float32 attenuation image in between; the logarithm comes from the
    float's exponent and a 16,384-entry mantissa table (error under 3e-5, a count or two of
    the 16-bit display)."""
    gain = (air - dark).astype(np.float64)
    raw = np.asarray(raw)
    if raw.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raw = raw.astype(np.float64)
    out = np.empty(raw.shape, np.uint16)
    scale = 1.0 / max(float(hi) - float(lo), 1e-6)
    sliced = (np.ascontiguousarray(raw), dark.astype(np.float64), gain)
    fixed = (float(floor), float(lo), scale, _LN_MANTISSA)
    return _by_row_blocks(_flat_field_window, out, sliced, fixed)


@njit
def _filled_ratio(a_low, a_high, min_a_high, out):
    h, w = a_high.shape
    for y in range(h):
        for x in range(w):
            a = a_high[y, x]
            out[y, x] = a_low[y, x] / a if a > min_a_high else np.float32(1.0)
    return out


def filled_ratio(a_low: np.ndarray, a_high: np.ndarray, min_a_high: float) -> np.ndarray:
    """R = A_low / A_high as float32, 1.0 where A_high is too small to divide by (the input
    of the median filter before :func:`classify_cells`)."""
    out = np.empty(a_high.shape, np.float32)
    sliced = (np.ascontiguousarray(a_low, np.float32), np.ascontiguousarray(a_high, np.float32))
    return _by_row_blocks(_filled_ratio, out, sliced, (np.float32(min_a_high),))


@njit
def _bin(edges, value):
    """searchsorted(edges, value, side="right") - 1, clipped to a valid cell."""
    lo, hi = 0, edges.size
    while lo < hi:
        mid = (lo + hi) // 2
        if edges[mid] <= value:
            lo = mid + 1
        else:
            hi = mid
    return min(max(lo - 1, 0), edges.size - 2)


@njit
def _classify_cells(
    a_low, a_high, r_smooth, a_edges, r_edges, cells, min_ratio_a, min_a, max_a, starved_at, out
):
    h, w = a_high.shape
    for y in range(h):
        for x in range(w):
            a = a_high[y, x]
            valid = a > min_ratio_a
            r = r_smooth[y, x] if valid else 1.0
            c = cells[_bin(a_edges, a), _bin(r_edges, r)]
            if starved_at > 0 and a_low[y, x] >= starved_at and a < max_a and valid and r >= 2.5:
                c = 3  # METAL: a photon-starved low channel makes R a lower bound
            if a < min_a:
                c = 0
            elif a < 1.5 * min_a:
                c = 4
            elif a >= max_a:
                c = 5
            out[y, x] = c
    return out


def classify_cells(a_low, a_high, r_smooth, table, *, min_ratio_a: float = 0.02) -> np.ndarray:
    """The per-pixel part of :func:`imaging.xray.materials.classify` in one pass: table cell
    of (A_high, smoothed R), the starved-low-channel rule, then air / thin / impenetrable."""
    a_low = np.ascontiguousarray(a_low, np.float32)
    ceiling = float(a_low.max()) if a_low.size else 0.0
    out = np.empty(a_high.shape, np.uint8)
    sliced = (
        a_low,
        np.ascontiguousarray(a_high, np.float32),
        np.ascontiguousarray(r_smooth, np.float32),
    )
    fixed = (
        np.asarray(table.a_edges, np.float64),
        np.asarray(table.r_edges, np.float64),
        np.ascontiguousarray(table.classes, np.uint8),
        np.float32(min_ratio_a),
        np.float32(table.min_a_high),
        np.float32(table.max_a_high),
        np.float32(ceiling - 0.2 if ceiling >= 6.0 else 0.0),
    )
    return _by_row_blocks(_classify_cells, out, sliced, fixed)


def classify_cells_reference(a_low, a_high, r_smooth, table, *, min_ratio_a: float = 0.02):
    """:func:`classify_cells` in plain numpy."""
    a_low = np.asarray(a_low, np.float32)
    a_high = np.asarray(a_high, np.float32)
    valid = a_high > np.float32(min_ratio_a)
    r = np.where(valid, r_smooth, np.float32(1.0)).astype(np.float32)
    ia = np.clip(
        np.searchsorted(table.a_edges, a_high, side="right") - 1, 0, len(table.a_edges) - 2
    )
    ir = np.clip(np.searchsorted(table.r_edges, r, side="right") - 1, 0, len(table.r_edges) - 2)
    classes = table.classes[ia, ir].astype(np.uint8)
    ceiling = float(a_low.max()) if a_low.size else 0.0
    if ceiling >= 6.0:
        starved = (a_low >= np.float32(ceiling - 0.2)) & (a_high < np.float32(table.max_a_high))
        classes[starved & valid & (r >= 2.5)] = 3
    min_a = np.float32(table.min_a_high)
    classes[a_high < min_a] = 0
    classes[(a_high >= min_a) & (a_high < np.float32(1.5) * min_a)] = 4
    classes[a_high >= np.float32(table.max_a_high)] = 5
    return classes


@njit
def _colour(a_high, classes, lut, scale, out):
    h, w = a_high.shape
    top = lut.shape[1] - 1
    n_classes = lut.shape[0] - 1
    for y in range(h):
        for x in range(w):
            a = a_high[y, x]
            k = 0 if not a > 0 else min(int(a * scale), top)
            c = min(classes[y, x], n_classes)
            out[y, x, 0] = lut[c, k, 0]
            out[y, x, 1] = lut[c, k, 1]
            out[y, x, 2] = lut[c, k, 2]
    return out


def colour_by_class(a_high: np.ndarray, classes: np.ndarray, lut: np.ndarray, max_a: float):
    """RGB uint8 from a (classes, bins, 3) colour table indexed by class and quantised A."""
    out = np.empty((*a_high.shape, 3), np.uint8)
    scale = np.float32((lut.shape[1] - 1) / max_a)
    sliced = (np.ascontiguousarray(a_high, np.float32), np.ascontiguousarray(classes, np.uint8))
    return _by_row_blocks(_colour, out, sliced, (np.ascontiguousarray(lut), scale))


def colour_by_class_reference(a_high, classes, lut, max_a):
    """:func:`colour_by_class` in plain numpy."""
    a = np.clip(np.nan_to_num(np.asarray(a_high, np.float32), nan=0.0), 0, max_a)
    index = np.minimum(
        (a * np.float32((lut.shape[1] - 1) / max_a)).astype(np.int64), lut.shape[1] - 1
    )
    return lut[np.minimum(classes, lut.shape[0] - 1), index]
