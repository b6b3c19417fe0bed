"""The FLIR radiometric model: raw counts to °C (and back), with a 65,536-entry lookup table.

The formula is the one of Thermimage's ``raw2temp`` (see ``shared/docs/thermal.md``): object
signal corrected for emissivity, reflected radiation, atmosphere and an IR window, then the
inverse Planck curve with the camera's constants R1, R2, B, F, O.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from imaging._shared.errors import ImagingError

__all__ = [
    "ThermalParameterError",
    "ThermalParams",
    "celsius_to_raw",
    "raw_lookup_table",
    "raw_to_celsius",
]


class ThermalParameterError(ImagingError, ValueError):
    """A radiometric parameter is outside the range where the model means anything."""


@dataclass(frozen=True)
class ThermalParams:
    """Camera constants and scene parameters of the radiometric model (frozen).

    :func:`~imaging.thermal.radiometry.read_thermal` fills one from the file's CameraInfo
    record; change any value per call with :meth:`replace` (or the ``**overrides`` of
    :func:`raw_to_celsius`). Defaults are those of a FLIR SC660 in a neutral scene
    (Thermimage's defaults).

    Attributes
    ----------
    planck_r1, planck_r2, planck_b, planck_f, planck_o : float
        The camera's Planck calibration: counts = R1 / (R2 (exp(B / T_K) − F)) − O.
    emissivity : float
        Of the object, in (0, 1].
    distance_m : float
        Object distance in metres, ≥ 0.
    reflected_c, atmosphere_c, window_c : float
        Reflected apparent, atmospheric and IR-window temperatures in °C (files store kelvin).
    window_transmission : float
        Of the IR window, in (0, 1] (1: no window).
    humidity_percent : float
        Relative humidity in percent, 0–100. A value ≤ 1 is taken for a fraction (as
        exiftool prints it) and multiplied by 100, with a warning.
    alpha1, alpha2, beta1, beta2, atmospheric_x : float
        The camera's atmospheric-transmission constants.

    Examples
    --------
    >>> p = ThermalParams().replace(emissivity=0.95)
    >>> p.emissivity
    0.95
    """

    planck_r1: float = 21106.77
    planck_r2: float = 0.012545258
    planck_b: float = 1501.0
    planck_f: float = 1.0
    planck_o: float = -7340.0
    emissivity: float = 1.0
    distance_m: float = 1.0
    reflected_c: float = 20.0
    atmosphere_c: float = 20.0
    window_c: float = 20.0
    window_transmission: float = 1.0
    humidity_percent: float = 50.0
    alpha1: float = 0.006569
    alpha2: float = 0.01262
    beta1: float = -0.002276
    beta2: float = -0.00667
    atmospheric_x: float = 1.9

    def replace(self, **changes: Any) -> ThermalParams:
        """Return a copy with some parameters changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ThermalParameterError(
                f"unknown thermal parameter(s): {', '.join(sorted(unknown))}"
            )
        return replace(self, **{k: float(v) for k, v in changes.items()})

    def checked(self) -> ThermalParams:
        """Validate the parameters; repair humidity given as a fraction (with a warning).

        Raises
        ------
        ThermalParameterError
            Emissivity outside (0, 1], negative distance, window transmission outside (0, 1],
            non-finite values, or camera constants that make the model undefined.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise ThermalParameterError(f"{f.name} must be finite, got {value}")
        if not 0.0 < self.emissivity <= 1.0:
            raise ThermalParameterError(f"emissivity must lie in (0, 1], got {self.emissivity}")
        if self.distance_m < 0:
            raise ThermalParameterError(f"distance_m must not be negative, got {self.distance_m}")
        if not 0.0 < self.window_transmission <= 1.0:
            raise ThermalParameterError(
                f"window_transmission must lie in (0, 1], got {self.window_transmission}"
            )
        if self.planck_r2 == 0 or self.planck_b <= 0:
            raise ThermalParameterError("Planck constants R2 must be non-zero and B positive")
        for name in ("reflected_c", "atmosphere_c", "window_c"):
            if getattr(self, name) <= -273.15:
                raise ThermalParameterError(f"{name} is below absolute zero: {getattr(self, name)}")
        humidity = self.humidity_percent
        if not 0.0 <= humidity <= 100.0:
            raise ThermalParameterError(f"humidity_percent must lie in [0, 100], got {humidity}")
        if 0.0 < humidity <= 1.0:
            warnings.warn(
                f"humidity {humidity} looks like a fraction; read as {humidity * 100:g} percent",
                stacklevel=3,
            )
            return replace(self, humidity_percent=humidity * 100.0)
        return self


def _planck_raw(p: ThermalParams, t_c: float) -> float:
    return (
        p.planck_r1 / (p.planck_r2 * (math.exp(p.planck_b / (t_c + 273.15)) - p.planck_f))
        - p.planck_o
    )


def _transmission(p: ThermalParams) -> float:
    t = p.atmosphere_c
    h2o = (p.humidity_percent / 100.0) * math.exp(
        1.5587 + 0.06939 * t - 0.00027816 * t**2 + 0.00000068455 * t**3
    )
    root = math.sqrt(p.distance_m / 2.0)
    return p.atmospheric_x * math.exp(-root * (p.alpha1 + p.beta1 * math.sqrt(h2o))) + (
        1 - p.atmospheric_x
    ) * math.exp(-root * (p.alpha2 + p.beta2 * math.sqrt(h2o)))


def _terms(p: ThermalParams) -> tuple[float, float]:
    """(gain, offset) so that raw_obj = raw * gain - offset."""
    e, irt = p.emissivity, p.window_transmission
    try:
        tau = _transmission(p)
        refl = (1 - e) / e * _planck_raw(p, p.reflected_c)
        atm1 = (1 - tau) / e / tau * _planck_raw(p, p.atmosphere_c)
        wind = (1 - irt) / e / tau / irt * _planck_raw(p, p.window_c)
        atm2 = (1 - tau) / e / tau / irt / tau * _planck_raw(p, p.atmosphere_c)
        gain = 1.0 / e / tau / irt / tau
        offset = atm1 + atm2 + wind + refl
    except (OverflowError, ZeroDivisionError, ValueError) as exc:
        raise ThermalParameterError(
            f"the parameters make the radiometric model undefined ({exc}): {p}"
        ) from None
    if not (math.isfinite(gain) and math.isfinite(offset) and tau > 0):
        raise ThermalParameterError(
            f"the parameters make the radiometric model undefined (atmospheric transmission "
            f"{tau:g}, gain {gain:g}, offset {offset:g}): {p}"
        )
    return gain, offset


def _to_celsius(raw: np.ndarray, p: ThermalParams) -> np.ndarray:
    gain, offset = _terms(p)
    raw_obj = np.asarray(raw, np.float64) * gain - offset
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = p.planck_r1 / (p.planck_r2 * (raw_obj + p.planck_o)) + p.planck_f
        t = p.planck_b / np.log(inner) - 273.15
    valid = (raw_obj + p.planck_o > 0) & (inner > 0) & np.isfinite(t) & (t > -273.15)
    return np.where(valid, t, np.nan)


@lru_cache(maxsize=32)
def raw_lookup_table(params: ThermalParams) -> np.ndarray:
    """°C for every raw value 0..65535 under ``params`` (float64, NaN where undefined).

    Built once per parameter set and cached; read-only. :func:`raw_to_celsius` indexes it
    with uint16 frames.

    Examples
    --------
    >>> table = raw_lookup_table(ThermalParams())
    >>> table.shape, round(float(table[17994]), 2), bool(np.isnan(table[0]))
    ((65536,), 23.03, True)
    """
    table = _to_celsius(np.arange(65536, dtype=np.float64), params.checked())
    table.setflags(write=False)
    return table


@lru_cache(maxsize=32)
def _table32(params: ThermalParams) -> np.ndarray:
    table = raw_lookup_table(params).astype(np.float32)
    table.setflags(write=False)
    return table


def raw_to_celsius(
    raw: Any,
    *,
    params: ThermalParams | None = None,
    return_mask: bool = False,
    **overrides: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Convert raw sensor counts to temperature in °C.

    Parameters
    ----------
    raw : array_like or float
        uint16 counts (looked up in a cached 65,536-entry table, built once per parameter
        set) or float counts (computed directly, e.g. for interpolated values).
    params : ThermalParams, optional
        Camera and scene parameters (default :class:`ThermalParams`, a FLIR SC660).
    return_mask : bool
        Also return the boolean map of pixels where the model is defined.
    **overrides
        Parameters to replace, e.g. ``emissivity=0.95`` (``None`` values are ignored).

    Returns
    -------
    temperature_c : ndarray of float32 (float64 for float input)
        Temperatures; NaN where the model is undefined (counts too low for the parameters).
    valid : ndarray of bool
        Only with ``return_mask=True``: False exactly where ``temperature_c`` is NaN.

    Raises
    ------
    ThermalParameterError
        Absurd parameters (emissivity outside (0, 1], negative distance, window
        transmission outside (0, 1], humidity outside [0, 100] %...).

    Examples
    --------
    >>> p = ThermalParams(emissivity=0.95, distance_m=1, window_transmission=0.96)
    >>> round(float(raw_to_celsius(17994.06, params=p)), 5)
    23.31223
    >>> t, valid = raw_to_celsius(np.array([0, 17994], np.uint16), params=p, return_mask=True)
    >>> valid.tolist()
    [False, True]
    """
    p = (params or ThermalParams()).replace(**overrides).checked()
    array = np.asarray(raw)
    if array.dtype == np.uint16:
        from imaging.thermal._kernels import lookup_counts  # numba: imported on first use

        t = lookup_counts(_table32(p), array)
    elif np.issubdtype(array.dtype, np.number) and not np.issubdtype(
        array.dtype, np.complexfloating
    ):
        t = _to_celsius(array.astype(np.float64), p)
    else:
        raise ThermalParameterError(f"raw: expected numeric counts, got dtype {array.dtype}")
    if return_mask:
        return t, ~np.isnan(t)
    return t


def celsius_to_raw(
    t_c: Any, *, params: ThermalParams | None = None, **overrides: Any
) -> np.ndarray:
    """The raw counts an object at ``t_c`` °C gives under ``params`` (Thermimage's
    ``temp2raw``): the inverse of :func:`raw_to_celsius`.

    Parameters
    ----------
    t_c : array_like or float
        Object temperatures in °C.
    params : ThermalParams, optional
        Camera and scene parameters (default :class:`ThermalParams`).
    **overrides
        Parameters to replace, e.g. ``emissivity=0.95``.

    Returns
    -------
    ndarray of float64
        Counts (not rounded: a camera would store them as uint16); NaN at or below absolute
        zero.

    Examples
    --------
    >>> p = ThermalParams(emissivity=1, distance_m=0, window_transmission=1)
    >>> round(float(celsius_to_raw(23.0, params=p)), 2)
    17994.06
    """
    p = (params or ThermalParams()).replace(**overrides).checked()
    gain, offset = _terms(p)
    t = np.asarray(t_c, np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kelvin = np.where(t > -273.15, t + 273.15, np.nan)
        obj = p.planck_r1 / (p.planck_r2 * (np.exp(p.planck_b / kelvin) - p.planck_f)) - p.planck_o
    return (obj + offset) / gain
