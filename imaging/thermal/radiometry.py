"""Reading radiometric thermal files: FLIR R-JPEG, FFF, SEQ and CSQ, TLinear TIFF, arrays.

Everything is parsed in Python: no external program (exiftool) is needed.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imaging._shared.errors import (
    EmptyImageError,
    ImageNotFoundError,
    ReadError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from imaging.thermal.fff import HEADER_SIZE, FFFError, embedded_visual, frame_length, parse_fff
from imaging.thermal.planck import ThermalParameterError, ThermalParams, raw_to_celsius
from imaging.thermal.rjpeg import flir_fff_from_jpeg

__all__ = [
    "TLINEAR_SCALES",
    "ThermalImage",
    "iter_frames",
    "read_thermal",
    "read_visual",
    "temperature_c",
    "tlinear_to_celsius",
]

TLINEAR_SCALES = (0.04, 0.01)
"""Kelvin per count of 16-bit TLinear data: 0.04 (Tau 2, flirpy output), 0.01 (Lepton, Boson)."""

_MAX_SEARCH = 8 << 20


@dataclass
class ThermalImage:
    """One thermal frame: raw counts with their parameters, or temperatures directly.

    Attributes
    ----------
    raw : ndarray of uint16 or None
        Sensor counts in the camera's orientation (None when the file holds temperatures).
    params : ThermalParams or None
        Parameters read from the file (None for temperature data).
    celsius : ndarray of float32 or None
        Temperatures given by the file itself (TLinear TIFF, float rasters).
    info : dict
        Camera model, serial number and other fields of the file.
    source : str
        Where the frame came from.
    kind : str
        ``"rjpeg"``, ``"fff"``, ``"seq"``, ``"csq"``, ``"tlinear"``, ``"celsius"``, ``"raw"``.
    """

    raw: np.ndarray | None
    params: ThermalParams | None
    celsius: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    source: str = "<array>"
    kind: str = "raw"

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the frame."""
        data = self.raw if self.raw is not None else self.celsius
        return tuple(data.shape[:2])  # type: ignore[union-attr]

    def temperature_c(
        self, *, return_mask: bool = False, **overrides: Any
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Per-pixel temperature in °C, float32, NaN where undefined.

        ``overrides`` replace the file's parameters (``emissivity=``, ``distance_m=``,
        ``reflected_c=``, ``atmosphere_c=``, ``window_c=``, ``window_transmission=``,
        ``humidity_percent=``...; ``None`` values are ignored). Files that hold temperatures
        take no overrides. With ``return_mask=True`` also return the boolean map of valid
        (finite) pixels.
        """
        if self.raw is None:
            given = {k: v for k, v in overrides.items() if v is not None}
            if given:
                raise ThermalParameterError(
                    f"{self.source}: holds temperatures, not raw counts: parameters "
                    f"({', '.join(given)}) cannot be applied"
                )
            t = self.celsius.astype(np.float32, copy=False)  # type: ignore[union-attr]
            return (t, np.isfinite(t)) if return_mask else t
        return raw_to_celsius(self.raw, params=self.params, return_mask=return_mask, **overrides)


def tlinear_to_celsius(
    counts: np.ndarray, *, scale: float | str = "auto"
) -> tuple[np.ndarray, float]:
    """Convert 16-bit TLinear counts (kelvin / scale) to °C; return (°C float32, scale used).

    ``scale="auto"`` picks, of 0.04 and 0.01 K per count, the one whose median lies in a
    plausible scene range (−60 to 200 °C); pass the scale explicitly when both or neither fit.

    Examples
    --------
    >>> import numpy as np
    >>> t, s = tlinear_to_celsius(np.array([[7329]], np.uint16))
    >>> s, round(float(t[0, 0]), 2)
    (0.04, 20.01)
    """
    counts = np.asarray(counts)
    if scale == "auto":
        median = float(np.median(counts))
        fits = [s for s in TLINEAR_SCALES if -60.0 <= median * s - 273.15 <= 200.0]
        if len(fits) != 1:
            raise ThermalParameterError(
                f"cannot tell the TLinear scale (median count {median:g}); pass "
                "tlinear_scale=0.04 or 0.01 (kelvin per count)"
            )
        scale = fits[0]
    scale = float(scale)
    if scale <= 0:
        raise ThermalParameterError(f"tlinear_scale must be positive, got {scale}")
    return (counts.astype(np.float32) * np.float32(scale) - np.float32(273.15)), scale


def _name(source: Any) -> str:
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<bytes>"


def _read_bytes(source: Any) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise EmptyImageError("<bytes>: no data (0 bytes)")
        return bytes(source), "<bytes>"
    path = Path(source)
    if not path.exists():
        raise ImageNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ReadError(f"{path}: is a folder, not a thermal file")
    data = path.read_bytes()
    if not data:
        raise EmptyImageError(f"{path}: the file is empty (0 bytes)")
    return data, str(path)


def read_thermal(
    source: str | os.PathLike | bytes | np.ndarray,
    *,
    params: ThermalParams | None = None,
    tlinear_scale: float | str = "auto",
) -> ThermalImage:
    """Read one radiometric frame (the first of a sequence).

    Parameters
    ----------
    source : path, bytes or ndarray
        A FLIR R-JPEG, FFF, SEQ or CSQ file; a 16-bit TLinear TIFF or PNG (raw counts with
        ``params``); a float TIFF/NPY of °C; or an array: uint16 raw counts (converted with
        ``params``), uint16 TLinear counts (with a numeric ``tlinear_scale``) or float °C.
    params : ThermalParams, optional
        The camera's constants and scene parameters for a uint16 array of raw counts (or a
        16-bit TIFF of raw counts). Files that carry their own parameters ignore it; override
        those per call with :meth:`ThermalImage.temperature_c`.
    tlinear_scale : float or "auto"
        Kelvin per count of TLinear data: 0.04 or 0.01, or ``"auto"`` (16-bit TIFFs only).
        A uint16 array without ``params`` is read as TLinear when this is a number.

    Raises
    ------
    NotRadiometricError, DJIRadiometricError
        JPEGs that hold no usable radiometric data, with the reason.
    FFFError, TruncatedImageError, UnsupportedFormatError
        Damaged or unknown files.

    Examples
    --------
    >>> import numpy as np
    >>> frame = read_thermal(np.full((2, 3), 17994, np.uint16), params=ThermalParams())
    >>> round(float(frame.temperature_c()[0, 0]), 2)
    23.03
    """
    if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray)):
        if isinstance(source, (list, tuple)) or hasattr(source, "__array__"):
            source = np.asarray(source)
        else:
            from imaging._shared.errors import DTypeError

            raise DTypeError(
                f"source: expected a path, bytes or an array, got {type(source).__name__}"
            )
    if isinstance(source, np.ndarray):
        return _from_array(
            source, params, tlinear_scale=None if tlinear_scale == "auto" else tlinear_scale
        )
    name = _name(source)
    head = _peek(source)
    if head[:4] in _FFF_MAGIC:  # FFF, SEQ, CSQ: stream, never load the whole file
        frames = iter_frames(source)
        try:
            return next(frames)
        except StopIteration:  # pragma: no cover - iter_frames raises on an empty stream
            raise UnsupportedFormatError(f"{name}: no FLIR FFF frame found") from None
        finally:
            frames.close()
    if head and head[:2] != b"\xff\xd8" and head not in _SINGLE_FRAME_MAGIC:
        raise UnsupportedFormatError(  # refused before reading the whole file
            f"{name}: not a radiometric format this library reads (FLIR R-JPEG, FFF, SEQ, "
            "CSQ, 16-bit TLinear TIFF/PNG, float TIFF/NPY of °C)"
        )
    data, name = _read_bytes(source)
    if data.startswith(b"\xff\xd8"):
        fff = flir_fff_from_jpeg(data, name=name)
        frame = parse_fff(fff, name=name)
        if frame.missing_bytes:
            raise TruncatedImageError(f"{name}: the FLIR data ends inside the raw frame")
        return ThermalImage(
            frame.raw,
            frame.params,
            info=frame.info | {"raw_format": frame.raw_format},
            source=name,
            kind="rjpeg",
        )
    if data[:4] in (b"II*\0", b"MM\0*") or data.startswith(b"\x89PNG\r\n\x1a\n"):
        from imaging.io import imread

        array = imread(data)
        if array.ndim != 2:
            raise UnsupportedFormatError(
                f"{name}: expected a single-channel thermal image (16-bit TLinear or raw "
                f"counts, or float °C), got shape {array.shape} of {array.dtype}"
            )
        if array.dtype == np.uint16 and params is None:
            image = _from_array(array, None, tlinear_scale=tlinear_scale)
        else:
            image = _from_array(array, params)
        image.source = name
        return image
    if data.startswith(b"\x93NUMPY"):
        from imaging.io import imread

        image = _from_array(imread(data), params)
        image.source = name
        return image
    raise UnsupportedFormatError(
        f"{name}: not a radiometric format this library reads (FLIR R-JPEG, FFF, SEQ, CSQ, "
        "16-bit TLinear TIFF/PNG, float TIFF/NPY of °C)"
    )


def read_visual(source: str | os.PathLike | bytes) -> np.ndarray:
    """The visual (daylight) photo embedded in a FLIR R-JPEG or FFF frame.

    Returns
    -------
    ndarray (H, W, 3) uint8, RGB
        Often larger than the thermal frame and offset from it (parallax).

    Raises
    ------
    FFFError
        The file embeds no visual photo (many cameras store only the thermal frame).

    Examples
    --------
    >>> read_visual("FLIR0001.jpg").shape  # doctest: +SKIP
    (640, 480, 3)
    """
    name = _name(source)
    if _peek(source)[:4] in _FFF_MAGIC:  # the first frame only, never the whole sequence
        import io

        handle: Any = (
            io.BytesIO(bytes(source))
            if isinstance(source, (bytes, bytearray, memoryview))
            else Path(source).open("rb")
        )
        with handle:
            size = handle.seek(0, os.SEEK_END)
            length = _frame_extent(handle, 0, size, name)
            handle.seek(0)
            return embedded_visual(handle.read(length), name=name)
    data, name = _read_bytes(source)
    if data.startswith(b"\xff\xd8"):
        return embedded_visual(flir_fff_from_jpeg(data, name=name), name=name)
    raise UnsupportedFormatError(f"{name}: not a FLIR R-JPEG or FFF file")


def _peek(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:4])
    path = Path(source)
    if not path.is_file():
        return b""  # _read_bytes reports what is wrong
    with path.open("rb") as handle:
        return handle.read(4)


def _from_array(
    array: np.ndarray, params: ThermalParams | None, *, tlinear_scale: float | str | None = None
) -> ThermalImage:
    from imaging._shared.validation import check_image

    array = check_image(array, name="thermal image", ndim=2, dtypes=None)
    if array.dtype == np.uint16:
        if params is not None:
            return ThermalImage(array, params, kind="raw")
        if tlinear_scale is not None:
            celsius, scale = tlinear_to_celsius(array, scale=tlinear_scale)
            return ThermalImage(
                None, None, celsius=celsius, kind="tlinear", info={"tlinear_scale": scale}
            )
        raise ThermalParameterError(
            "thermal image: a uint16 array is either raw sensor counts (pass params="
            "ThermalParams(...) with the camera's Planck constants) or TLinear data (pass "
            "tlinear_scale=0.04 or 0.01 kelvin per count)"
        )
    if np.issubdtype(array.dtype, np.floating):
        return ThermalImage(None, None, celsius=array.astype(np.float32), kind="celsius")
    raise UnsupportedFormatError(
        f"thermal image: expected uint16 raw counts or float °C, got dtype {array.dtype}"
    )


def iter_frames(source: str | os.PathLike | bytes, *, start: int = 0) -> Iterator[ThermalImage]:
    """Yield the frames of a FLIR SEQ, CSQ or FFF file one at a time.

    Files of a single frame (R-JPEG, TIFF, NPY) yield that frame, so that one loop serves
    every input. ``start`` skips the frames before it without decoding them (their record
    directories are read to find the next frame).

    Only one frame is held in memory at a time, whatever the length of the file. A file cut
    or damaged mid-sequence yields every frame before the damage, then warns
    (``UserWarning``); damage in the first frame raises. A last frame whose compressed image is
    complete but whose trailing padding is cut off is delivered, with a warning.

    Yields
    ------
    ThermalImage
        ``kind`` is ``"csq"`` (JPEG-LS frames), ``"seq"`` or ``"fff"``; ``info["frame"]`` is
        the index in the file.

    Raises
    ------
    UnsupportedFormatError
        No FFF frame in the data.
    FFFError, TruncatedImageError
        The first frame is damaged.

    Examples
    --------
    >>> for frame in iter_frames("flight.seq"):  # doctest: +SKIP
    ...     print(frame.info["frame"], frame.temperature_c().max())
    >>> import io, numpy as np
    >>> buffer = io.BytesIO(); np.save(buffer, np.zeros((2, 2), np.float32))
    >>> [frame.kind for frame in iter_frames(buffer.getvalue())]
    ['celsius']
    """
    name = _name(source)
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        import io

        handle: Any = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.exists():
            raise ImageNotFoundError(f"{path}: no such file")
        handle = path.open("rb")
    with handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        if size == 0:
            raise EmptyImageError(f"{name}: the file is empty (0 bytes)")
        head = handle.read(4)
        if head[:2] == b"\xff\xd8" or head in _SINGLE_FRAME_MAGIC:
            # an R-JPEG, a TIFF or an NPY holds one frame
            if start == 0:
                yield read_thermal(source)
            return
        pos = 0
        index = 0
        while pos < size:
            handle.seek(pos)
            if handle.read(4) not in _FFF_MAGIC:
                found = _resync(handle, pos, size)
                if found is None:
                    if index == 0:
                        raise UnsupportedFormatError(f"{name}: no FLIR FFF frame found")
                    if size - pos > 16:
                        warnings.warn(
                            f"{name}: {size - pos} bytes after frame {index - 1} hold no FFF "
                            "frame; ignored",
                            stacklevel=2,
                        )
                    return
                pos = found
                continue
            label = f"{name} frame {index}"
            try:
                length = _frame_extent(handle, pos, size, label)
                if index < start:
                    index += 1
                    pos += length
                    continue
                handle.seek(pos)
                frame = parse_fff(handle.read(length), name=label)
            except ReadError as exc:
                if index <= start:  # nothing delivered yet
                    raise
                warnings.warn(f"{name}: stopped after {index} frame(s): {exc}", stacklevel=2)
                return
            if frame.missing_bytes:
                warnings.warn(
                    f"{label}: the file ends {frame.missing_bytes} bytes before the frame's "
                    "end; its image data is complete and was decoded",
                    stacklevel=2,
                )
            if frame.raw_format == "jpegls":
                kind = "csq"
            else:
                kind = "fff" if index == 0 and pos + length >= size else "seq"
            yield ThermalImage(
                frame.raw,
                frame.params,
                info=frame.info | {"frame": index, "raw_format": frame.raw_format},
                source=name,
                kind=kind,
            )
            index += 1
            pos += length


_FFF_MAGIC = (b"FFF\0", b"AFF\0")
_SINGLE_FRAME_MAGIC = (b"II*\0", b"MM\0*", b"\x93NUM", b"\x89PNG")


def _frame_extent(handle: Any, pos: int, size: int, name: str) -> int:
    """Bytes from ``pos`` to the end of the frame's last record, read from its directory."""
    handle.seek(pos)
    header = handle.read(HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise TruncatedImageError(f"{name}: the file ends inside the FFF header")
    order = "<" if 100 <= struct.unpack_from("<I", header, 0x14)[0] < 200 else ">"
    offset, count = struct.unpack_from(order + "II", header, 0x18)
    need = offset + 32 * count
    if count > 4096 or offset < HEADER_SIZE or pos + need > size:
        raise FFFError(f"{name}: FFF directory at {offset} ({count} entries) lies outside the file")
    handle.seek(pos)
    return frame_length(handle.read(need), 0, name=name)


def _resync(handle: Any, pos: int, size: int) -> int | None:
    """Position of the next FFF header after ``pos`` (within 8 MiB), or None."""
    handle.seek(pos + 1)
    window = handle.read(min(_MAX_SEARCH, size - pos - 1))
    found = [k for k in (window.find(m) for m in _FFF_MAGIC) if k >= 0]
    return None if not found else pos + 1 + min(found)


def temperature_c(
    source: Any,
    *,
    params: ThermalParams | None = None,
    tlinear_scale: float | str = "auto",
    **overrides: Any,
) -> np.ndarray:
    """Read a radiometric file (or array) and return its temperatures in °C.

    ``overrides`` replace the file's parameters (see :meth:`ThermalImage.temperature_c`);
    ``params`` and ``tlinear_scale`` are those of :func:`read_thermal`.

    Returns
    -------
    ndarray (H, W) float32
        NaN where the model is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.full((1, 1), 17994, np.uint16)
    >>> temperature_c(raw, params=ThermalParams(), emissivity=0.9).shape
    (1, 1)
    """
    return read_thermal(source, params=params, tlinear_scale=tlinear_scale).temperature_c(
        **overrides
    )
