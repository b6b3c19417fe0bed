"""imaging: the image-analysis core for customs control (X-ray, number plates, thermal).

``import imaging`` is light: heavy modules (OpenCV, onnxruntime, numba kernels) load when
first used.

Examples
--------
>>> import numpy as np
>>> import imaging
>>> dets = imaging.Detections([[0, 0, 4, 4]], confidence=[0.8])
>>> len(dets)
1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imaging._shared.errors import (
    AnalyzerNotFoundError,
    DTypeError,
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    ImagingError,
    ModelError,
    ModelIntegrityError,
    NonFiniteError,
    PageError,
    ReadError,
    ShapeError,
    TruncatedImageError,
    UnsupportedFormatError,
    WriteError,
)
from imaging._version import __version__
from imaging.results import Detections, Flag, Result

if TYPE_CHECKING:
    from imaging.analyzer import Analyzer, available_analyzers, get_analyzer, register_analyzer
    from imaging.draw import draw
    from imaging.io import imread, imwrite

_LAZY = {
    "Analyzer": "imaging.analyzer",
    "available_analyzers": "imaging.analyzer",
    "get_analyzer": "imaging.analyzer",
    "register_analyzer": "imaging.analyzer",
    "draw": "imaging.draw",
    "imread": "imaging.io",
    "imwrite": "imaging.io",
}

__all__ = [
    "Analyzer",
    "AnalyzerNotFoundError",
    "DTypeError",
    "Detections",
    "EmptyImageError",
    "Flag",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "ImagingError",
    "ModelError",
    "ModelIntegrityError",
    "NonFiniteError",
    "PageError",
    "ReadError",
    "Result",
    "ShapeError",
    "TruncatedImageError",
    "UnsupportedFormatError",
    "WriteError",
    "__version__",
    "available_analyzers",
    "draw",
    "get_analyzer",
    "imread",
    "imwrite",
    "register_analyzer",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imaging' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
