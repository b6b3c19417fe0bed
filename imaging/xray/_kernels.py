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


def _by_row_blocks(kernel, out: np.ndarray, raw: np.ndarray, dark, gain, *args) -> np.ndarray:
    """Run a per-row kernel (compiled with ``nogil``) on blocks of rows in parallel threads
    when the image is large; the blocks write disjoint parts of ``out``."""
    import itertools
    import os
    from concurrent.futures import ThreadPoolExecutor

    workers = min(4, os.cpu_count() or 1, max(1, raw.shape[0] // 64))
    if raw.size < PARALLEL_MIN_PIXELS or workers < 2:
        return kernel(raw, dark, gain, *args, out)
    edges = np.linspace(0, raw.shape[0], workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(kernel, raw[a:b], dark[a:b], gain[a:b], *args, out[a:b])
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
    return _by_row_blocks(
        _flat_field, out, np.ascontiguousarray(raw), dark.astype(np.float64), gain, float(floor)
    )


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


@njit(fastmath={"afn"})
def _flat_field_window(raw, dark, gain, floor, lo, scale, out):
    h, w = raw.shape
    low = np.float32(floor)
    high = np.float32(1.0 / floor)
    lo32 = np.float32(lo)
    scale32 = np.float32(scale)
    for y in range(h):
        d = np.float32(dark[y])
        inverse = np.float32(1.0 / gain[y]) if gain[y] > MIN_GAIN else np.float32(0.0)
        for x in range(w):
            t = (np.float32(raw[y, x]) - d) * inverse
            v = (-np.log(min(max(t, low), high)) - lo32) * scale32
            v = min(max(v, np.float32(0.0)), np.float32(1.0))
            out[y, x] = np.uint16(np.float32(65535.0) * (np.float32(1.0) - v) + np.float32(0.5))
    return out


def flat_field_window_u16(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float, lo: float, hi: float
) -> np.ndarray:
    """``window_u16(flat_field_attenuation(raw, dark, air, floor=floor), lo, hi)`` in one
    pass, without the float32 attenuation image in between."""
    gain = (air - dark).astype(np.float64)
    raw = np.asarray(raw)
    if raw.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raw = raw.astype(np.float64)
    out = np.empty(raw.shape, np.uint16)
    scale = 1.0 / max(float(hi) - float(lo), 1e-6)
    return _by_row_blocks(
        _flat_field_window,
        out,
        np.ascontiguousarray(raw),
        dark.astype(np.float64),
        gain,
        float(floor),
        float(lo),
        scale,
    )
