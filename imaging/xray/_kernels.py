"""numba kernels of the X-ray domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imaging._shared.jit import njit
from imaging._shared.validation import check_image

__all__ = [
    "flat_field_attenuation",
    "flat_field_attenuation_reference",
    "flat_field_window_u16",
    "gaussian_taps",
    "sampled_transmission",
    "sampled_transmission_reference",
    "unsharp_u16",
    "unsharp_u16_reference",
    "window_u16",
    "window_u16_reference",
]

MIN_GAIN = 1e-9  # air - dark below this (counts) is a dead detector row: transmission 0


PARALLEL_MIN_PIXELS = 1 << 20  # below this, one thread is faster than handing out work


def _row_blocks(out: np.ndarray) -> np.ndarray | None:
    """Row edges of the blocks that threads work on, or None when one thread is faster."""
    rows = out.shape[0]
    workers = min(4, os.cpu_count() or 1, max(1, rows // 64))
    if out.size < PARALLEL_MIN_PIXELS or workers < 2:
        return None
    return np.linspace(0, rows, workers + 1).astype(int)


def _by_row_blocks(kernel, out: np.ndarray, sliced: tuple, fixed: tuple = ()) -> np.ndarray:
    """``kernel(*sliced, *fixed, out)`` for a per-row kernel compiled with ``nogil``: on blocks
    of rows in parallel threads when the image is large (each block writes its own rows of
    ``out``), in one call otherwise. ``sliced`` arrays are cut by rows with ``out``."""
    edges = _row_blocks(out)
    if edges is None:
        return kernel(*sliced, *fixed, out)
    with ThreadPoolExecutor(len(edges) - 1) as pool:
        jobs = [
            pool.submit(kernel, *(v[a:b] for v in sliced), *fixed, out[a:b])
            for a, b in itertools.pairwise(edges)
        ]
        for job in jobs:
            job.result()
    return out


def _by_row_ranges(
    kernel, out: np.ndarray, arguments: tuple, block_arguments: Callable[[int, int], tuple]
) -> np.ndarray:
    """``kernel(*arguments, *block_arguments(y0, y1), y0, y1, out)`` for a ``nogil`` kernel
    that writes rows y0..y1 of ``out`` and may read any row of its inputs (a neighbourhood
    filter): on blocks of rows in parallel threads when the image is large, in one call
    otherwise. Every block's ``block_arguments`` are made before any block starts."""
    edges = _row_blocks(out)
    if edges is None:
        return kernel(*arguments, *block_arguments(0, out.shape[0]), 0, out.shape[0], out)
    blocks = [(int(a), int(b)) for a, b in itertools.pairwise(edges)]
    extra = [block_arguments(a, b) for a, b in blocks]
    with ThreadPoolExecutor(len(blocks)) as pool:
        jobs = [
            pool.submit(kernel, *arguments, *more, a, b, out)
            for (a, b), more in zip(blocks, extra, strict=True)
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
def _sampled_transmission(raw, rows, dark, inverse, step, out):
    w = raw.shape[1]
    k = 0
    for i in range(rows.size):
        x = k * step - i * w  # the first sampled column of this row
        while x < w:
            out[k] = (np.float32(raw[rows[i], x]) - dark[i]) * inverse[i]
            k += 1
            x += step
    return out


def _sample_levels(rows: np.ndarray, dark: np.ndarray, air: np.ndarray) -> tuple:
    gain = (air - dark)[rows].astype(np.float64)
    inverse = np.divide(1.0, gain, out=np.zeros_like(gain), where=gain > MIN_GAIN)
    return dark[rows].astype(np.float32), inverse.astype(np.float32)


def sampled_transmission(
    raw: np.ndarray, rows: np.ndarray, dark: np.ndarray, air: np.ndarray, *, step: int
) -> np.ndarray:
    """t = (raw − dark) / (air − dark) in float32, as :func:`flat_field_attenuation` computes
    it before its clip and logarithm, at every step-th pixel of the given rows taken in order
    (``raw[rows].reshape(-1)[::step]``); 0 on dead rows. ``dark`` and ``air`` are (H,).

    One pass over the sampled pixels only (float32 (n,) out).
    """
    rows = np.asarray(rows, np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= raw.shape[0]):
        raise ValueError(f"rows: expected indices in [0, {raw.shape[0]}), got {rows}")
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    raw = np.asarray(raw)
    if raw.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raw = raw.astype(np.float64)
    out = np.empty(-(-rows.size * raw.shape[1] // step), np.float32)
    dark32, inverse32 = _sample_levels(rows, dark, air)
    return _sampled_transmission(raw, rows, dark32, inverse32, step, out)  # any strides


def sampled_transmission_reference(
    raw: np.ndarray, rows: np.ndarray, dark: np.ndarray, air: np.ndarray, *, step: int
) -> np.ndarray:
    """:func:`sampled_transmission` in plain numpy (the same float32 operations)."""
    dark32, inverse32 = _sample_levels(np.asarray(rows, np.int64), dark, air)
    t = (raw[rows].astype(np.float32) - dark32[:, None]) * inverse32[:, None]
    return t.reshape(-1)[::step]


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


# ln(1 + f) ≈ f + f² (c2 + c3 f + ... + c8 f⁶) for f in [√½ − 1, √2 − 1): least squares on
# Chebyshev nodes, error 4e-8 (under the float32 rounding of ln t itself, 5e-7 at t = 1e-4)
_LN1P_C2 = np.float32(-0.5000070333480835)
_LN1P_C3 = np.float32(0.33334726095199585)
_LN1P_C4 = np.float32(-0.24956773221492767)
_LN1P_C5 = np.float32(0.19902953505516052)
_LN1P_C6 = np.float32(-0.17389093339443207)
_LN1P_C7 = np.float32(0.1623944491147995)
_LN1P_C8 = np.float32(-0.09731464833021164)
_SQRT2_MANTISSA = 0x3504F3  # the 23 mantissa bits of √2


@njit(fastmath={"contract"})  # fused multiply-adds in the polynomial
def _flat_field_window(raw, dark, gain, floor, lo, scale, out):
    h, w = raw.shape
    low = np.float32(floor)
    high = np.float32(1.0 / floor)
    ln2 = np.float32(0.6931471805599453)
    one = np.float32(1.0)
    # the window as one multiply-add: 65535 (1 − (−ln t − lo) scale) + 0.5 = c0 + c1 ln t,
    # kept within [0.5, 65535.5] and truncated
    c1 = np.float32(65535.0 * scale)
    c0 = np.float32(65535.0 * (1.0 + lo * scale) + 0.5)
    buffer = np.empty(w, np.float32)
    bits = buffer.view(np.int32)
    mantissa_bits = np.empty(w, np.int32)
    mantissa = mantissa_bits.view(np.float32)
    # three vectorised passes over a row: t; the bits of m in [√½, √2) with t = 2^e m; then
    # ln t = e ln 2 + ln(1 + (m − 1)) by the polynomial, and the window. Integer constants are
    # int32: int64 arithmetic would not vectorise as well
    for y in range(h):
        d = np.float32(dark[y])
        inverse = np.float32(1.0 / gain[y]) if gain[y] > MIN_GAIN else np.float32(0.0)
        for x in range(w):
            t = (np.float32(raw[y, x]) - d) * inverse
            buffer[x] = min(max(t, low), high)
        for x in range(w):
            fraction = bits[x] & np.int32(0x7FFFFF)
            above = fraction > np.int32(_SQRT2_MANTISSA)  # m ≥ √2: halve it (e one more)
            mantissa_bits[x] = fraction | (np.int32(0x3F000000) if above else np.int32(0x3F800000))
        for x in range(w):
            m = mantissa[x]
            e = np.float32((bits[x] >> np.int32(23)) - np.int32(127))
            e += one if m < one else np.float32(0.0)  # t > 0: no sign bit
            f = m - one
            q = _LN1P_C8
            q = q * f + _LN1P_C7
            q = q * f + _LN1P_C6
            q = q * f + _LN1P_C5
            q = q * f + _LN1P_C4
            q = q * f + _LN1P_C3
            q = q * f + _LN1P_C2
            ln_t = e * ln2 + (f + f * f * q)
            u = c0 + c1 * ln_t
            out[y, x] = np.uint16(min(max(u, np.float32(0.5)), np.float32(65535.5)))
    return out


def flat_field_window_u16(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float, lo: float, hi: float
) -> np.ndarray:
    """``window_u16(flat_field_attenuation(raw, dark, air, floor=floor), lo, hi)`` in one
    pass, without the float32 attenuation image in between (uint16).

    The logarithm comes from the float's exponent and a degree-8 polynomial of its mantissa,
    vectorised: A to within 1e-6, so within a count or two of the float64 reference even
    for a window a tenth of an attenuation unit wide. ``floor`` must lie in [1e-30, 1].
    """
    if not 1e-30 <= floor <= 1.0:
        raise ValueError(f"floor must lie in [1e-30, 1], got {floor}")
    gain = (air - dark).astype(np.float64)
    raw = np.asarray(raw)
    if raw.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raw = raw.astype(np.float64)
    out = np.empty(raw.shape, np.uint16)
    scale = 1.0 / max(float(hi) - float(lo), 1e-6)
    sliced = (np.ascontiguousarray(raw), dark.astype(np.float64), gain)
    return _by_row_blocks(_flat_field_window, out, sliced, (float(floor), float(lo), scale))


def gaussian_taps(sigma: float) -> np.ndarray:
    """The weights of a normalised Gaussian cut at ``r = round(2 sigma)`` pixels, as the
    centre weight then one weight per distance 1..r: shape (r + 1,) float64.

    The kernel is ``cv2.getGaussianKernel(2 r + 1, sigma)`` folded at its centre; a sigma
    of 0.25 or less leaves one tap (no blur).

    Examples
    --------
    >>> gaussian_taps(1.0).round(4).tolist()
    [0.4026, 0.2442, 0.0545]
    """
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
    radius = round(2 * float(sigma))
    if radius == 0:
        return np.ones(1)
    taps = np.exp(-(np.arange(radius + 1.0) ** 2) / (2.0 * float(sigma) ** 2))
    return taps / (taps[0] + 2.0 * taps[1:].sum())


@njit
def _reflect_101(p, n):
    """OpenCV's ``BORDER_REFLECT_101`` index (``gfedcb|abcdefgh|gfedcba``), repeated for
    distances beyond the image; 0 when there is one pixel."""
    if n == 1:
        return 0
    while p < 0 or p >= n:
        p = -p if p < 0 else 2 * n - 2 - p
    return p


@njit
def _load_row(src, above, below, s, y0, y1, dst):
    """Row s of the image, as float32 into ``dst``, from ``above`` / ``below`` (copies of the
    rows next to the block y0..y1, which other threads may be writing) or ``src``."""
    if s < y0:
        row = above[s - y0 + above.shape[0]]
    elif s >= y1:
        row = below[s - y1]
    else:
        row = src[s]
    for x in range(dst.size):
        dst[x] = np.float32(row[x])


@njit(fastmath=True)
def _unsharp_u16(src, taps, radius, amount, above, below, y0, y1, out):
    # rows y0..y1 of out, which may be src: source rows y - r .. y + r are kept as float32 in
    # a ring (each row read and converted once, r rows before out's row of the same index is
    # written). A vertical then a horizontal pass of the separable Gaussian into row buffers,
    # the last one with the unsharp sum. taps holds the centre weight then groups of four
    # distances with zero weights past the radius: a group is one vectorised pass, and a
    # distance past the radius reads the centre (weight 0)
    h, w = src.shape
    r = radius
    n = 2 * r + 1
    window = np.empty((n, w), np.float32)  # source row s at s % n
    padded = np.empty(w + 2 * r, np.float32)  # the vertical pass, with r border pixels a side
    blur = np.empty(w, np.float32)
    column = padded[r : r + w]
    gain = np.float32(1.0 + amount)
    a = np.float32(amount)
    for s in range(max(0, y0 - r), min(h, y0 + r)):
        _load_row(src, above, below, s, y0, y1, window[s % n])
    for y in range(y0, y1):
        if y + r < h:
            _load_row(src, above, below, y + r, y0, y1, window[(y + r) % n])
        centre = window[y % n]
        for g in range((taps.size - 1) // 4):
            k = 1 + 4 * g
            w1, w2, w3, w4 = taps[k], taps[k + 1], taps[k + 2], taps[k + 3]
            u1 = window[_reflect_101(y - k, h) % n] if k <= r else centre
            d1 = window[_reflect_101(y + k, h) % n] if k <= r else centre
            u2 = window[_reflect_101(y - k - 1, h) % n] if k + 1 <= r else centre
            d2 = window[_reflect_101(y + k + 1, h) % n] if k + 1 <= r else centre
            u3 = window[_reflect_101(y - k - 2, h) % n] if k + 2 <= r else centre
            d3 = window[_reflect_101(y + k + 2, h) % n] if k + 2 <= r else centre
            u4 = window[_reflect_101(y - k - 3, h) % n] if k + 3 <= r else centre
            d4 = window[_reflect_101(y + k + 3, h) % n] if k + 3 <= r else centre
            w0 = taps[0] if g == 0 else np.float32(0.0)
            for x in range(w):
                s = (
                    w1 * (u1[x] + d1[x])
                    + w2 * (u2[x] + d2[x])
                    + w3 * (u3[x] + d3[x])
                    + w4 * (u4[x] + d4[x])
                )
                column[x] = w0 * centre[x] + s if g == 0 else column[x] + s
        for k in range(1, r + 1):
            padded[r - k] = column[_reflect_101(-k, w)]
            padded[r + w - 1 + k] = column[_reflect_101(w - 1 + k, w)]
        groups = (taps.size - 1) // 4
        for g in range(groups):
            k = 1 + 4 * g
            w1, w2, w3, w4 = taps[k], taps[k + 1], taps[k + 2], taps[k + 3]
            k1 = k if k <= r else 0
            k2 = k + 1 if k + 1 <= r else 0
            k3 = k + 2 if k + 2 <= r else 0
            k4 = k + 3 if k + 3 <= r else 0
            l1, r1 = padded[r - k1 : r - k1 + w], padded[r + k1 : r + k1 + w]
            l2, r2 = padded[r - k2 : r - k2 + w], padded[r + k2 : r + k2 + w]
            l3, r3 = padded[r - k3 : r - k3 + w], padded[r + k3 : r + k3 + w]
            l4, r4 = padded[r - k4 : r - k4 + w], padded[r + k4 : r + k4 + w]
            w0 = taps[0] if g == 0 else np.float32(0.0)
            if g < groups - 1:
                for x in range(w):
                    s = (
                        w1 * (l1[x] + r1[x])
                        + w2 * (l2[x] + r2[x])
                        + w3 * (l3[x] + r3[x])
                        + w4 * (l4[x] + r4[x])
                    )
                    blur[x] = w0 * column[x] + s if g == 0 else blur[x] + s
            else:  # the last group, and the unsharp sum in the same pass
                for x in range(w):
                    s = (
                        w1 * (l1[x] + r1[x])
                        + w2 * (l2[x] + r2[x])
                        + w3 * (l3[x] + r3[x])
                        + w4 * (l4[x] + r4[x])
                    )
                    b = w0 * column[x] + s if g == 0 else blur[x] + s
                    v = gain * centre[x] - a * b
                    v = min(max(v, np.float32(0.0)), np.float32(65535.0))
                    out[y, x] = np.uint16(v + np.float32(0.5))
    return out


def unsharp_u16(
    image: np.ndarray, *, amount: float, sigma: float, out: np.ndarray | None = None
) -> np.ndarray:
    """Unsharp mask of a 16-bit image: ``image + amount (image − blur)``, rounded and
    saturated to uint16, where blur is the Gaussian of :func:`gaussian_taps` (``sigma``, cut
    at two sigma) with OpenCV's default border (``BORDER_REFLECT_101``).

    One pass over the image (``cv2.GaussianBlur`` then ``cv2.addWeighted`` are two, and keep
    the blur in 16 bits), on blocks of rows in parallel threads for large images.

    Parameters
    ----------
    image : ndarray (H, W) uint16
        Raises ``DTypeError`` for another dtype, ``ShapeError`` for another shape.
    amount : float
        Strength (finite); 0 gives the image back.
    sigma : float
        The blur's standard deviation in pixels (finite, >= 0).
    out : ndarray (H, W) uint16, optional
        Where to write the result; may be ``image`` itself (in place, the same result).

    Returns
    -------
    ndarray (H, W) uint16
        ``out`` when given.

    Examples
    --------
    >>> import numpy as np
    >>> edge = np.repeat(np.array([[1000, 1000, 1000, 3000, 3000, 3000]], np.uint16), 3, axis=0)
    >>> unsharp_u16(edge, amount=1.0, sigma=0.5)[1].tolist()
    [1000, 1000, 787, 3213, 3000, 3000]
    """
    image = check_image(image, name="image", ndim=2, dtypes=(np.uint16,))
    if not np.isfinite(amount):
        raise ValueError(f"amount must be finite, got {amount}")
    taps = gaussian_taps(sigma)
    radius = taps.size - 1
    padded = np.zeros(1 + 4 * max(1, -(-radius // 4)), np.float32)  # whole groups of four
    padded[: radius + 1] = taps
    src = np.ascontiguousarray(image)
    if out is None:
        out = np.empty(image.shape, np.uint16)
    elif out.shape != image.shape or out.dtype != np.uint16 or not out.flags.c_contiguous:
        raise ValueError(f"out: expected a C-contiguous uint16 array of shape {image.shape}")
    elif np.may_share_memory(out, src) and out.ctypes.data != src.ctypes.data:
        src = src.copy()  # overlapping, not the same pixels: in place would not be row by row
    h = src.shape[0]

    def halo(y0: int, y1: int) -> tuple:  # the rows next to a block, copied before any write
        return src[max(0, y0 - radius) : y0].copy(), src[y1 : min(h, y1 + radius)].copy()

    return _by_row_ranges(_unsharp_u16, out, (src, padded, radius, float(amount)), halo)


def unsharp_u16_reference(image: np.ndarray, *, amount: float, sigma: float) -> np.ndarray:
    """:func:`unsharp_u16` in plain numpy (float64; ``np.pad``'s "reflect" is OpenCV's
    ``BORDER_REFLECT_101``)."""
    taps = gaussian_taps(sigma)
    r = taps.size - 1
    kernel = np.concatenate([taps[:0:-1], taps])
    h, w = image.shape
    x = image.astype(np.float64)
    padded = np.pad(x, r, mode="reflect")
    vertical = sum(kernel[k] * padded[k : k + h] for k in range(2 * r + 1))
    blur = sum(kernel[k] * vertical[:, k : k + w] for k in range(2 * r + 1))
    sharp = np.clip(x + amount * (x - blur), 0.0, 65535.0)
    return np.floor(sharp + 0.5).astype(np.uint16)


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
