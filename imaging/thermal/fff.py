"""The FLIR FFF container: header, record directory, raw thermal frame and camera parameters.

Layout (from the public descriptions in exiftool's FLIR module and FLIR's streaming format):
a 64-byte header ``FFF\\0`` (or ``AFF\\0``) whose version at 0x14 (100–199) tells the byte
order, the directory offset at 0x18 and entry count at 0x1c; 32-byte directory entries with
the record type at 0x00, offset at 0x0c and length at 0x10. Record 0x01 holds the raw frame
(width and height at 0x02 and 0x04, data from 0x20: raw uint16 in the record's byte order,
PNG with byte-swapped samples, TIFF, or JPEG-LS in CSQ files); record 0x20 holds the camera
information (Planck constants, emissivity, distance, temperatures in kelvin, humidity,
atmospheric constants, model, raw value range); record 0x0E the embedded visual photo.
Field offsets follow exiftool's FLIR CameraInfo table. The raw frame keeps the orientation
the camera stored it in (its record's width and height), which is also the orientation of the
published reference rasters.
"""

from __future__ import annotations

import datetime
import io
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging._shared.errors import ReadError, TruncatedImageError, UnsupportedFormatError
from imaging.thermal.planck import ThermalParams

__all__ = ["FFFError", "FFFFrame", "embedded_visual", "frame_length", "parse_fff"]

RAW_DATA = 0x01
EMBEDDED_IMAGE = 0x0E
CAMERA_INFO = 0x20
HEADER_SIZE = 0x40


class FFFError(ReadError):
    """A FLIR FFF record is damaged: bad offsets, lengths or contents."""


@dataclass
class FFFFrame:
    """One decoded FFF frame.

    ``raw`` is the (H, W) uint16 sensor image in the camera's orientation; ``params`` the
    radiometric parameters read from the camera record; ``info`` the other camera fields;
    ``raw_format`` how the frame was stored (``"raw"``, ``"png"``, ``"jpegls"``, ``"tiff"``);
    ``missing_bytes`` how many bytes of padding after a complete compressed frame the data
    lacked (0 for an intact frame).
    """

    raw: np.ndarray
    params: ThermalParams
    info: dict[str, Any] = field(default_factory=dict)
    raw_format: str = "raw"
    missing_bytes: int = 0


def _byte_order(header: bytes) -> str:
    for order in ("<", ">"):
        version = struct.unpack_from(order + "I", header, 0x14)[0]
        if 100 <= version < 200:
            return order
    raise UnsupportedFormatError(
        f"unsupported FFF version in header ({header[0x14:0x18].hex()}); expected 100-199"
    )


def _directory(
    data: bytes | memoryview, base: int, name: str
) -> tuple[str, list[tuple[int, int, int]]]:
    if len(data) - base < HEADER_SIZE:
        raise TruncatedImageError(f"{name}: FFF header is truncated")
    header = bytes(data[base : base + HEADER_SIZE])
    if header[:4] not in (b"FFF\0", b"AFF\0"):
        raise UnsupportedFormatError(f"{name}: not a FLIR FFF record (starts with {header[:4]!r})")
    order = _byte_order(header)
    offset, count = struct.unpack_from(order + "II", header, 0x18)
    if count > 4096:
        raise FFFError(f"{name}: FFF directory claims {count} records")
    end = base + offset + 32 * count
    if offset < HEADER_SIZE or end > len(data):
        raise FFFError(f"{name}: FFF record directory at {offset} (x{count}) lies outside the data")
    records = []
    for k in range(count):
        entry = base + offset + 32 * k
        rec_type = struct.unpack_from(order + "H", data, entry)[0]
        if rec_type == 0:
            continue
        rec_offset, rec_length = struct.unpack_from(order + "II", data, entry + 0x0C)
        records.append((rec_type, rec_offset, rec_length))
    return order, records


def frame_length(data: bytes | memoryview, base: int = 0, *, name: str = "<FFF>") -> int:
    r"""Bytes from ``base`` to the end of the FFF frame's last record (for SEQ streaming).

    Examples
    --------
    >>> import struct
    >>> header = bytearray(64); header[:4] = b"FFF\0"
    >>> struct.pack_into("<III", header, 0x14, 100, 64, 1)
    >>> entry = struct.pack("<HHIIII", 1, 0, 0, 0, 96, 500) + bytes(12)
    >>> frame_length(bytes(header) + entry)
    596
    """
    _, records = _directory(data, base, name)
    return max([HEADER_SIZE] + [off + length for _, off, length in records])


def _record_order(record: bytes | memoryview) -> str:
    first = struct.unpack_from("<H", record, 0)[0]
    return ">" if first >= 0x100 else "<"


# signatures of the encoded raw frames; anything else is raw 16-bit counts (a frame that starts
# like a PNG but is not one is damaged, not raw)
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"  # JPEG-LS
_TIFF = (b"II*\0", b"MM\0*")


def _decode_raw(record: bytes | memoryview, name: str) -> tuple[np.ndarray, str]:
    if len(record) < 0x20:
        raise FFFError(f"{name}: raw-data record is shorter than its header")
    order = _record_order(record)
    width, height = struct.unpack_from(order + "HH", record, 2)
    if width == 0 or height == 0 or width * height > 1 << 26:
        raise FFFError(f"{name}: raw-data record gives an image of {width}x{height}")
    if not bytes(record[0x20:0x28]).startswith((_PNG[:4], _JPEG, *_TIFF)):
        needed = width * height * 2
        if len(record) - 0x20 < needed:
            raise TruncatedImageError(
                f"{name}: raw frame {width}x{height} needs {needed} bytes, "
                f"the record has {len(record) - 0x20}"
            )
        image = np.frombuffer(record, dtype=order + "u2", count=width * height, offset=0x20)
        return image.reshape(height, width).astype(np.uint16), "raw"
    payload = bytes(record[0x20:])
    declared = _declared_size(payload)
    if declared is not None and declared[0] * declared[1] != width * height:
        # checked before decoding: a stream may not allocate more than its record announces
        raise FFFError(
            f"{name}: the raw frame's stream declares {declared[0]}x{declared[1]} pixels, its "
            f"record announces {width}x{height}"
        )
    if payload.startswith(_PNG):
        import imagecodecs

        try:  # imagecodecs raises on damage where OpenCV prints libpng errors to stderr
            image = np.asarray(imagecodecs.png_decode(payload))
        except Exception as exc:  # imagecodecs raises its own error types
            raise FFFError(f"{name}: the PNG raw frame could not be decoded ({exc})") from None
        if image.dtype != np.uint16 or image.ndim != 2:
            raise FFFError(
                f"{name}: the PNG raw frame is {image.dtype} {image.shape}, not 16-bit grey"
            )
        # FLIR writes the PNG's 16-bit samples in little-endian order: swap after decoding
        return _checked_shape(image.byteswap(), width, height, name), "png"
    if payload.startswith(_JPEG):
        try:
            import imagecodecs

            image = np.asarray(imagecodecs.jpegls_decode(payload))
        except Exception as exc:  # imagecodecs raises its own error types
            raise FFFError(f"{name}: the JPEG-LS raw frame could not be decoded ({exc})") from None
        if image.dtype.itemsize > 2 or image.ndim != 2:
            raise FFFError(f"{name}: the JPEG-LS raw frame is {image.dtype} {image.shape}")
        return _checked_shape(image.astype(np.uint16), width, height, name), "jpegls"
    if payload.startswith(_TIFF):
        import tifffile

        try:
            image = tifffile.imread(io.BytesIO(payload))
        except Exception as exc:  # tifffile raises many error types on damaged data
            raise FFFError(f"{name}: the TIFF raw frame could not be decoded ({exc})") from None
        if image.dtype != np.uint16 or image.ndim != 2:
            raise FFFError(f"{name}: the TIFF raw frame is {image.dtype} {image.shape}")
        return _checked_shape(image, width, height, name), "tiff"
    raise FFFError(f"{name}: the raw frame starts like a PNG but its signature is damaged")


_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def _declared_size(payload: bytes) -> tuple[int, int] | None:
    """(width, height) written in a PNG, JPEG-LS or TIFF stream's header, read without
    decoding it; None for raw data or when the header cannot be read (the decoder reports)."""
    try:
        if payload.startswith(_PNG) and payload[12:16] == b"IHDR":
            return struct.unpack_from(">II", payload, 16)
        if payload.startswith(_JPEG):
            pos = 2
            while pos + 4 <= len(payload) and payload[pos] == 0xFF:
                marker = payload[pos + 1]
                (length,) = struct.unpack_from(">H", payload, pos + 2)
                if marker == 0xF7 or marker in _JPEG_SOF:  # JPEG-LS or JPEG frame header
                    height, width = struct.unpack_from(">HH", payload, pos + 5)
                    return width, height
                if marker == 0xDA:
                    return None
                pos += 2 + length
            return None
        if payload[:4] in (b"II*\0", b"MM\0*"):
            import tifffile

            with tifffile.TiffFile(io.BytesIO(payload)) as tif:
                shape = tif.pages[0].shape
            if len(shape) < 2:
                return None
            return int(shape[1]), int(shape[0])
    except Exception:  # a damaged header: the decoder gives the precise error
        return None
    return None


def _check_byte_order(
    raw: np.ndarray, raw_format: str, info: dict[str, Any], name: str
) -> np.ndarray:
    """Swap the bytes of a frame whose values only make sense swapped.

    The camera records the median raw value of its frame; the decoded frame's median lies
    close to it (within a few hundred counts on every sample file), the byte-swapped one tens
    of thousands away. A frame that is far off while its swapped version is close was stored
    in the other byte order than its format says: it is swapped back, with a warning.
    """
    expected = info.get("raw_value_median") or 0
    if raw_format == "jpegls" or not 0 < expected < 65535 or raw.size == 0:
        return raw
    sample = raw[:: max(1, raw.shape[0] // 64), :: max(1, raw.shape[1] // 64)]
    as_read = abs(float(np.median(sample)) - expected)
    swapped = abs(float(np.median(sample.byteswap())) - expected)
    if as_read > 4000 and swapped < as_read / 8:
        import warnings

        warnings.warn(
            f"{name}: the {raw_format} raw frame's values lie far from the camera's median "
            f"({expected}); read in the other byte order",
            stacklevel=4,
        )
        info["byte_order_swapped"] = True
        return raw.byteswap()
    return raw


def _checked_shape(image: np.ndarray, width: int, height: int, name: str) -> np.ndarray:
    """The decoded frame, which must have the size its record header announces."""
    if image.shape == (height, width):
        return image
    if image.size == width * height and image.shape[::-1] != (height, width):
        return image.reshape(height, width)  # a stream stored as one long row or column
    raise FFFError(
        f"{name}: the raw frame decodes to {image.shape[1]}x{image.shape[0]}, its record "
        f"announces {width}x{height}"
    )


def _float(value: float) -> float:
    """A float32 field as the decimal it was written as (0.95, not 0.949999988...)."""
    if not math.isfinite(value):
        return value
    return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))


def _kelvin_to_c(value: float) -> float:
    return round(_float(value) - 273.15, 6)


def _date_time(record: bytes | memoryview) -> str | None:
    """DateTimeOriginal (always little-endian): Unix seconds, milliseconds, zone offset."""
    if len(record) < 0x38E:
        return None
    seconds, millis, zone = struct.unpack_from("<IIh", record, 0x384)
    if seconds == 0 or abs(zone) > 24 * 60:
        return None
    local = datetime.datetime.fromtimestamp(seconds - zone * 60, datetime.UTC)
    sign = "-" if zone > 0 else "+"
    return (
        f"{local:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}"
        f"{sign}{abs(zone) // 60:02d}:{abs(zone) % 60:02d}"
    )


def _camera_info(record: bytes | memoryview, name: str) -> tuple[ThermalParams, dict[str, Any]]:
    if len(record) < 0x310:
        raise FFFError(f"{name}: camera-information record is truncated ({len(record)} bytes)")
    order = _record_order(record)

    def f32(offset: int) -> float:
        return _float(struct.unpack_from(order + "f", record, offset)[0])

    def text(offset: int, size: int) -> str:
        return bytes(record[offset : offset + size]).split(b"\0", 1)[0].decode("latin-1").strip()

    humidity = f32(0x3C)
    # stored as a fraction by most cameras, as percent by some: exiftool's rule (> 2 is percent)
    humidity_percent = humidity if humidity > 2 else humidity * 100.0
    try:
        params = ThermalParams(
            planck_r1=f32(0x58),
            planck_b=f32(0x5C),
            planck_f=f32(0x60),
            planck_o=float(struct.unpack_from(order + "i", record, 0x308)[0]),
            planck_r2=f32(0x30C),
            emissivity=f32(0x20),
            distance_m=f32(0x24),
            reflected_c=_kelvin_to_c(f32(0x28)),
            atmosphere_c=_kelvin_to_c(f32(0x2C)),
            window_c=_kelvin_to_c(f32(0x30)),
            window_transmission=f32(0x34),
            humidity_percent=round(humidity_percent, 6),
            alpha1=f32(0x70),
            alpha2=f32(0x74),
            beta1=f32(0x78),
            beta2=f32(0x7C),
            atmospheric_x=f32(0x80),
        )
    except (TypeError, ValueError) as exc:
        raise FFFError(f"{name}: unreadable camera parameters ({exc})") from None
    info: dict[str, Any] = {
        "camera_model": text(0xD4, 32),
        "camera_part_number": text(0xF4, 16),
        "camera_serial_number": text(0x104, 16),
        "camera_software": text(0x114, 16),
        "lens_model": text(0x170, 32),
        "lens_part_number": text(0x190, 16),
        "lens_serial_number": text(0x1A0, 16),
        "field_of_view_deg": f32(0x1B4),
        "filter_model": text(0x1EC, 16),
        "camera_range_c": (_kelvin_to_c(f32(0x94)), _kelvin_to_c(f32(0x90))),
        "camera_clip_c": (_kelvin_to_c(f32(0x9C)), _kelvin_to_c(f32(0x98))),
    }
    if len(record) >= 0x340:
        info["raw_value_range_min"] = struct.unpack_from(order + "H", record, 0x310)[0]
        info["raw_value_range_max"] = struct.unpack_from(order + "H", record, 0x312)[0]
        info["raw_value_median"] = struct.unpack_from(order + "H", record, 0x338)[0]
        info["raw_value_range"] = struct.unpack_from(order + "H", record, 0x33C)[0]
    date_time = _date_time(record)
    if date_time:
        info["date_time_original"] = date_time
    return params, info


def parse_fff(data: bytes | memoryview, base: int = 0, *, name: str = "<FFF>") -> FFFFrame:
    """Decode the FFF frame starting at ``data[base]``.

    Raises
    ------
    UnsupportedFormatError
        Not an FFF record, or an unknown version.
    FFFError, TruncatedImageError
        Records pointing outside the data, short records, undecodable raw data.

    Examples
    --------
    >>> parse_fff(b"JUNK" * 20)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnsupportedFormatError: <FFF>: not a FLIR FFF record
    """
    _, records = _directory(data, base, name)
    found: dict[int, bytes | memoryview] = {}
    missing = 0
    for rec_type, offset, length in records:
        start = base + offset
        end = start + length
        if rec_type == RAW_DATA and offset >= HEADER_SIZE and start + 0x20 < len(data) < end:
            # the data ends inside the raw record: decode what is there; the decoders check
            # that the frame is complete (byte count, PNG/JPEG-LS/TIFF stream structure)
            missing = end - len(data)
            end = len(data)
        if offset < HEADER_SIZE or end > len(data):
            if rec_type in (RAW_DATA, CAMERA_INFO):
                raise FFFError(
                    f"{name}: record 0x{rec_type:02x} at {offset} (+{length} bytes) lies outside "
                    f"the {len(data) - base} bytes of the frame"
                )
            continue
        found.setdefault(rec_type, memoryview(data)[start:end])
    if RAW_DATA not in found:
        raise FFFError(f"{name}: the FFF frame has no raw thermal data record")
    if CAMERA_INFO not in found:
        raise FFFError(f"{name}: the FFF frame has no camera information record")
    try:
        raw, raw_format = _decode_raw(found[RAW_DATA], name)
    except FFFError as exc:
        if missing:
            raise TruncatedImageError(
                f"{name}: the data ends {missing} bytes before the end of the raw frame ({exc})"
            ) from None
        raise
    params, info = _camera_info(found[CAMERA_INFO], name)
    raw = _check_byte_order(raw, raw_format, info, name)
    info["raw_width"], info["raw_height"] = int(raw.shape[1]), int(raw.shape[0])
    return FFFFrame(raw=raw, params=params, info=info, raw_format=raw_format, missing_bytes=missing)


def embedded_visual(data: bytes | memoryview, base: int = 0, *, name: str = "<FFF>") -> np.ndarray:
    """Decode the visual (daylight) photo that an FFF frame embeds (record 0x0E).

    Returns
    -------
    ndarray (H, W, 3) uint8, RGB
        Usually larger than the thermal frame and not aligned with it pixel for pixel.

    Raises
    ------
    FFFError
        The frame has no visual photo, or it cannot be decoded.
    """
    _, records = _directory(data, base, name)
    for rec_type, offset, length in records:
        if rec_type != EMBEDDED_IMAGE:
            continue
        start = base + offset
        if offset < HEADER_SIZE or start + length > len(data) or length <= 0x20:
            raise FFFError(f"{name}: the embedded visual photo record lies outside the data")
        payload = bytes(data[start + 0x20 : start + length])
        size = _declared_size(payload)
        from imaging.io import max_pixels_default

        if size is not None and size[0] * size[1] > max_pixels_default():
            from imaging._shared.errors import ImageTooLargeError

            raise ImageTooLargeError(
                f"{name}: the embedded visual photo declares {size[0]}x{size[1]} pixels, over "
                f"the limit of {max_pixels_default()} (IMAGING_MAX_PIXELS)"
            )
        import imagecodecs

        try:
            if payload.startswith(b"\x89PNG"):
                image = np.asarray(imagecodecs.png_decode(payload))
            else:
                image = np.asarray(imagecodecs.jpeg8_decode(payload))
        except Exception as exc:  # imagecodecs raises its own error types
            raise FFFError(f"{name}: the embedded visual photo cannot be decoded ({exc})") from None
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.dtype != np.uint8 or image.shape[2] not in (3, 4):
            raise FFFError(f"{name}: the embedded visual photo is {image.dtype} {image.shape}")
        return np.ascontiguousarray(image[:, :, :3])
    raise FFFError(f"{name}: the file embeds no visual photo (only the thermal frame)")


def _synthetic_frame(raw: np.ndarray, payload: bytes) -> bytes:
    """A minimal little-endian FFF frame around ``payload`` (used to warm the decoders up):
    the raw record and a camera record with a FLIR SC660's constants."""
    h, w = raw.shape
    raw_record = struct.pack("<HHH", 2, w, h) + bytes(0x1A) + payload
    camera = bytearray(0x340)
    struct.pack_into("<H", camera, 0, 2)
    p = ThermalParams()
    for offset, value in (
        (0x20, p.emissivity),
        (0x24, p.distance_m),
        (0x28, p.reflected_c + 273.15),
        (0x2C, p.atmosphere_c + 273.15),
        (0x30, p.window_c + 273.15),
        (0x34, p.window_transmission),
        (0x3C, p.humidity_percent / 100),
        (0x58, p.planck_r1),
        (0x5C, p.planck_b),
        (0x60, p.planck_f),
        (0x70, p.alpha1),
        (0x74, p.alpha2),
        (0x78, p.beta1),
        (0x7C, p.beta2),
        (0x80, p.atmospheric_x),
        (0x30C, p.planck_r2),
    ):
        struct.pack_into("<f", camera, offset, value)
    struct.pack_into("<i", camera, 0x308, int(p.planck_o))
    records = [(RAW_DATA, raw_record), (CAMERA_INFO, bytes(camera))]
    header = bytearray(HEADER_SIZE)
    header[:4] = b"FFF\0"
    struct.pack_into("<III", header, 0x14, 100, HEADER_SIZE, len(records))
    directory, body = bytearray(), bytearray()
    position = HEADER_SIZE + 32 * len(records)
    for kind, data in records:
        entry = bytearray(32)
        struct.pack_into("<HHIIII", entry, 0, kind, 1, 100, 1, position + len(body), len(data))
        directory += entry
        body += data
    return bytes(header + directory + body)
