"""Errors of the X-ray domain, all :class:`~imaging.ImagingError` subclasses."""

from __future__ import annotations

from imaging._shared.errors import ImagingError

__all__ = ["CalibrationError", "ScanError", "XrayParameterError"]


class XrayParameterError(ImagingError, ValueError):
    """An option has a value outside what the function accepts (the message names it)."""


class CalibrationError(ImagingError, ValueError):
    """Dark or air lines are missing, mis-shaped or unusable (e.g. air not above dark)."""


class ScanError(ImagingError, ValueError):
    """A scan's values cannot be what the input says they are: float "attenuations" far beyond
    what any scanner measures, or a dual-energy pair whose low-energy image attenuates less
    than its high-energy one (swapped channels) or is the same image."""
