"""The exception hierarchy: every failure the library reports is an :class:`ImagingError`."""

from __future__ import annotations

__all__ = [
    "AnalyzerNotFoundError",
    "DTypeError",
    "EmptyImageError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "ImagingError",
    "ModelError",
    "ModelIntegrityError",
    "NonFiniteError",
    "PageError",
    "ReadError",
    "ShapeError",
    "TruncatedImageError",
    "UnsupportedFormatError",
    "WriteError",
]


class ImagingError(Exception):
    """Base class of every error raised on purpose by :mod:`imaging`."""


class ReadError(ImagingError, OSError):
    """A file could not be read: missing, unreadable, or corrupt."""


class ImageNotFoundError(ReadError, FileNotFoundError):
    """The path names no file."""


class WriteError(ImagingError, OSError):
    """An output file could not be written (the destination is left untouched)."""


class TruncatedImageError(ReadError):
    """A file ends before the image data it announces."""


class EmptyImageError(ReadError, ValueError):
    """A file or array holds no pixels."""


class UnsupportedFormatError(ReadError, ValueError):
    """The content is not in a format the library reads."""


class PageError(ImagingError, IndexError):
    """A page or frame was requested that the file does not have."""


class ImageTooLargeError(ImagingError, ValueError):
    """An image exceeds the configured pixel limit (decompression-bomb guard)."""


class ShapeError(ImagingError, ValueError):
    """An array has the wrong number of dimensions or the wrong shape."""


class NonFiniteError(ImagingError, ValueError):
    """An array holds NaN or infinite values where finite values are required."""


class DTypeError(ImagingError, TypeError):
    """An array has a dtype the function does not accept."""


class ModelError(ImagingError):
    """An ONNX model is missing, malformed, or gives output of an unexpected layout."""


class ModelIntegrityError(ModelError):
    """A model file's SHA-256 does not match the registry: it was altered or damaged."""


class AnalyzerNotFoundError(ImagingError, KeyError):
    """No analyzer is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
