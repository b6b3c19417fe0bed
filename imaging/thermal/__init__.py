"""Thermal imaging: radiometric decoding, the Planck model, hotspots, measurements, palettes.

The main functions are importable from here; each submodule (and its heavy dependencies:
OpenCV, numba, tifffile, imagecodecs) loads only when first used.

- :mod:`~imaging.thermal.radiometry`: :func:`read_thermal`, :func:`iter_frames`,
  :func:`temperature_c`, :func:`tlinear_to_celsius` (FLIR R-JPEG, FFF, SEQ, CSQ, TLinear TIFF)
- :mod:`~imaging.thermal.planck`: :class:`ThermalParams`, :func:`raw_to_celsius`,
  :func:`celsius_to_raw`
- :mod:`~imaging.thermal.hotspots`: :func:`detect_hotspots`, :func:`getis_ord_gi_star`,
  :func:`person_like_flags`
- :mod:`~imaging.thermal.measure`: ``measure`` (import it from there), regions,
  :func:`isotherm`, alarms
- :mod:`~imaging.thermal.palettes`: :func:`render`, :func:`colorbar`
- :mod:`~imaging.thermal.analyzer`: :class:`ThermalAnalyzer`

Examples
--------
>>> import numpy as np
>>> from imaging.thermal import ThermalParams, raw_to_celsius
>>> round(float(raw_to_celsius(np.uint16(17994), params=ThermalParams())), 2)
23.03
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ThermalImage": "radiometry",
    "iter_frames": "radiometry",
    "read_thermal": "radiometry",
    "read_visual": "radiometry",
    "temperature_c": "radiometry",
    "tlinear_to_celsius": "radiometry",
    "ThermalParameterError": "planck",
    "ThermalParams": "planck",
    "celsius_to_raw": "planck",
    "raw_to_celsius": "planck",
    "DJIRadiometricError": "rjpeg",
    "NotRadiometricError": "rjpeg",
    "FFFError": "fff",
    "describe_regions": "hotspots",
    "detect_hotspots": "hotspots",
    "getis_ord_gi_star": "hotspots",
    "local_background": "hotspots",
    "person_like_flags": "hotspots",
    "Box": "measure",
    "Ellipse": "measure",
    "Line": "measure",
    "Polygon": "measure",
    "Spot": "measure",
    "alarm_above": "measure",
    "alarm_below": "measure",
    "alarm_delta": "measure",
    "isotherm": "measure",
    "line_profile": "measure",
    "PALETTES": "palettes",
    "colorbar": "palettes",
    "overlay_mask": "palettes",
    "render": "palettes",
    "ThermalAnalyzer": "analyzer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imaging.thermal' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"imaging.thermal.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
