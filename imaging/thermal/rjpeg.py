"""Radiometric JPEGs: the FLIR FFF container carried in APP1 segments, and clear refusals of
DJI's closed format and of plain (non-radiometric) JPEGs."""

from __future__ import annotations

import struct

from imaging._shared.errors import TruncatedImageError, UnsupportedFormatError

__all__ = [
    "DJIRadiometricError",
    "NotRadiometricError",
    "exif_model",
    "flir_fff_from_jpeg",
    "jpeg_segments",
]


class NotRadiometricError(UnsupportedFormatError):
    """A JPEG without radiometric data: its pixels are colours, not temperatures."""


class DJIRadiometricError(UnsupportedFormatError):
    """A newer DJI R-JPEG (H20T, M3T, M30T...): decoding needs DJI's closed Thermal SDK."""


def jpeg_segments(data: bytes, *, name: str = "<jpeg>") -> list[tuple[int, bytes]]:
    r"""The (marker, payload) of every segment before the image data (start of scan).

    Raises
    ------
    UnsupportedFormatError
        Not a JPEG.
    TruncatedImageError
        A segment runs past the end, or the data ends before the start of scan.

    Examples
    --------
    >>> jpeg = b"\xff\xd8" + b"\xff\xe1\x00\x06FLIR" + b"\xff\xda\x00\x02"
    >>> jpeg_segments(jpeg)
    [(225, b'FLIR')]
    """
    return [(marker, data[start:end]) for marker, start, end in _segment_spans(data, name)]


def _segment_spans(data: bytes, name: str) -> list[tuple[int, int, int]]:
    """(marker, payload start, payload end) of every segment before the start of scan."""
    if not data.startswith(b"\xff\xd8"):
        raise UnsupportedFormatError(f"{name}: not a JPEG file")
    spans = []
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise TruncatedImageError(f"{name}: corrupt JPEG segment at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if marker in (0xDA, 0xD9):
            return spans
        if pos + 4 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            raise TruncatedImageError(f"{name}: JPEG segment at byte {pos} runs past the end")
        spans.append((marker, pos + 4, pos + 2 + length))
        pos += 2 + length
    raise TruncatedImageError(f"{name}: JPEG ends before its image data")


def exif_model(segments: list[tuple[int, bytes]]) -> str:
    r"""The camera model (EXIF tag 0x0110) of a JPEG's APP1 Exif segment, or ``""``.

    Examples
    --------
    >>> exif_model([(0xE0, b"JFIF\0")])
    ''
    """
    for marker, payload in segments:
        if marker != 0xE1 or not payload.startswith(b"Exif\0\0"):
            continue
        tiff = payload[6:]
        if tiff[:4] not in (b"II*\0", b"MM\0*"):
            return ""
        order = "<" if tiff[:2] == b"II" else ">"
        try:
            (ifd,) = struct.unpack_from(order + "I", tiff, 4)
            (count,) = struct.unpack_from(order + "H", tiff, ifd)
            for k in range(min(count, 512)):
                tag, kind, n, value = struct.unpack_from(order + "HHII", tiff, ifd + 2 + 12 * k)
                if tag == 0x0110 and kind == 2:
                    start = value if n > 4 else ifd + 2 + 12 * k + 8
                    text = tiff[start : start + n].split(b"\0", 1)[0]
                    return text.decode("latin-1").strip()
        except struct.error:
            return ""
        return ""
    return ""


def flir_fff_from_jpeg(data: bytes, *, name: str = "<jpeg>") -> bytes:
    r"""Reassemble the FFF container from a FLIR R-JPEG's APP1 "FLIR" segments.

    Raises
    ------
    DJIRadiometricError
        For DJI's own radiometric JPEGs (APP3/APP4 data), which need DJI's SDK.
    NotRadiometricError
        For a JPEG that carries no radiometric data at all.
    TruncatedImageError
        When segments are missing or cut.

    Examples
    --------
    >>> import struct
    >>> def app1(index, last, part):
    ...     payload = b"FLIR\0\x01" + bytes([index, last]) + part
    ...     return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    >>> jpeg = b"\xff\xd8" + app1(1, 1, b"world") + app1(0, 1, b"hello ") + b"\xff\xd9"
    >>> flir_fff_from_jpeg(jpeg)
    b'hello world'
    """
    view = memoryview(data)
    spans = _segment_spans(data, name)
    chunks: dict[int, memoryview] = {}
    last = -1
    for marker, start, end in spans:
        if marker == 0xE1 and end - start >= 8 and data[start : start + 5] == b"FLIR\0":
            index, last_index = data[start + 6], data[start + 7]
            chunks.setdefault(index, view[start + 8 : end])
            last = max(last, last_index)
    if not chunks:
        segments = [(marker, data[start:end]) for marker, start, end in spans]
        has_app3 = any(marker == 0xE3 for marker, _ in segments)
        is_dji = any(b"DJI" in payload[:4096] for marker, payload in segments if marker == 0xE1)
        if has_app3 and is_dji:
            model = exif_model(segments)
            which = f"DJI {model}" if model else "DJI"
            raise DJIRadiometricError(
                f"{name}: a {which} radiometric JPEG (raw data in APP3, parameters in APP4); "
                "its calibration is not public and decoding it needs DJI's closed Thermal SDK. "
                "Export temperatures with DJI's tools (e.g. the SDK's dji_irp to float32, or "
                "DJI Thermal Analysis Tool to a TIFF) and analyze that file or array instead"
            )
        raise NotRadiometricError(
            f"{name}: a plain JPEG without radiometric data (no FLIR APP1 segments): its "
            "pixel values are palette colours, not temperatures"
        )
    missing = [k for k in range(last + 1) if k not in chunks]
    if missing:
        raise TruncatedImageError(
            f"{name}: FLIR data segment(s) {missing} of {last + 1} are missing"
        )
    return b"".join(chunks[k] for k in range(last + 1))
