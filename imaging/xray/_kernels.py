"""numba kernels of the X-ray domain, each beside the plain numpy version the tests compare."""

from __future__ import annotations

import numpy as np

from imaging._shared.jit import njit

__all__ = ["flat_field_attenuation", "flat_field_attenuation_reference"]

MIN_GAIN = 1e-9  # air - dark below this (counts) is a dead detector row: transmission 0


@njit
def _flat_field(raw, dark, gain, floor, out):
    h, w = raw.shape
    for y in range(h):
        d = dark[y]
        g = gain[y]
        for x in range(w):
            t = (raw[y, x] - d) / g if g > MIN_GAIN else 0.0
            if t < floor:
                t = floor
            elif t > 1.0 / floor:
                t = 1.0 / floor
            out[y, x] = 0.0 - np.log(t)
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
    return _flat_field(
        np.ascontiguousarray(raw, np.float64), dark.astype(np.float64), gain, float(floor), out
    )


def flat_field_attenuation_reference(
    raw: np.ndarray, dark: np.ndarray, air: np.ndarray, *, floor: float
) -> np.ndarray:
    """The same in plain numpy."""
    gain = (air - dark).astype(np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.where(gain > MIN_GAIN, (raw.astype(np.float64) - dark[:, None]) / gain, 0.0)
    return (0.0 - np.log(np.clip(t, floor, 1.0 / floor))).astype(np.float32)
