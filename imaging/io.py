"""Reading and writing images with clear errors and a guard against decompression bombs.

:func:`imread` reads PNG, JPEG, BMP, TIFF (8/16/32-bit, float, multi-page), DICOM/DICOS
projection images and ``.npy`` arrays, and validates numpy arrays passed in directly. The
format is recognised from the content, not the file name. Dtype and bit depth are kept (16-bit
data stays 16-bit); colour images come back in RGB(A) order. The pixel count announced by the
header is checked against a limit *before* decoding.

Every failure is an :class:`~imaging.ImagingError` subclass whose message names the file and
what was wrong.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from imaging._shared.atomic import atomic_write
from imaging._shared.errors import (
    DTypeError,
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    PageError,
    ReadError,
    ShapeError,
    TruncatedImageError,
    UnsupportedFormatError,
    WriteError,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_DTYPES",
    "detect_format",
    "exif_upright",
    "imread",
    "imwrite",
    "max_pixels_default",
    "warmup",
]

DEFAULT_MAX_PIXELS = 2**28
"""Default pixel limit; override per call with ``max_pixels=`` or with ``IMAGING_MAX_PIXELS``."""

READ_DTYPES = tuple(
    np.dtype(d)
    for d in (
        np.bool_,
        np.uint8,
        np.int8,
        np.uint16,
        np.int16,
        np.uint32,
        np.int32,
        np.float32,
        np.float64,
    )
)

Source = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\x93NUMPY", "npy"),
    (b"BM", "bmp"),
]


def warmup() -> None:
    """Import the decoders (OpenCV, tifffile, pydicom) and run each once on a tiny image, so
    that the first real read pays no import or initialisation cost."""
    import io as _io

    import tifffile

    tiny = np.zeros((2, 2), np.uint16)
    buffer = _io.BytesIO()
    tifffile.imwrite(buffer, tiny)
    imread(buffer.getvalue())
    imread(_encode(tiny, "png", "<warmup>", 95))
    imread(_encode(tiny.astype(np.uint8), "jpeg", "<warmup>", 95))
    import pydicom  # noqa: F401


def max_pixels_default() -> int:
    """The pixel limit in force: ``$IMAGING_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`."""
    value = os.environ.get("IMAGING_MAX_PIXELS")
    if value is None:
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(value)
    except ValueError:
        raise ValueError(f"IMAGING_MAX_PIXELS must be an integer, got {value!r}") from None
    if limit <= 0:
        raise ValueError(f"IMAGING_MAX_PIXELS must be positive, got {limit}")
    return limit


def detect_format(head: bytes) -> str | None:
    """Return the format name recognised from the first bytes of a file, or ``None``.

    Examples
    --------
    >>> detect_format(b"\\x89PNG\\r\\n\\x1a\\n....")
    'png'
    >>> detect_format(b"hello") is None
    True
    """
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    return None


def imread(
    source: Source,
    *,
    page: int | None = None,
    max_pixels: int | None = None,
    upright: bool = False,
) -> np.ndarray:
    """Read an image file (or validate an array) and return it as a numpy array.

    Parameters
    ----------
    source : str, path, bytes or ndarray
        A file path, the encoded bytes of a file, or an array (validated and returned as is).
    page : int, optional
        For multi-page TIFF and multi-frame DICOM: read only this page. By default every page
        is read and stacked on a first axis, ``(pages, H, W[, C])``; a single page gives a
        2-D or 3-D array.
    max_pixels : int, optional
        Refuse images with more pixels than this (all pages together). Default
        :func:`max_pixels_default` (2**28 unless ``IMAGING_MAX_PIXELS`` says otherwise).
    upright : bool
        Turn a JPEG as its EXIF orientation tag says, as photo viewers show it (a phone
        held upright stores its photos sideways with that tag). Default False: pixels come
        back as stored, as measurements on them need.

    Returns
    -------
    ndarray
        ``(H, W)`` for grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, in the stored dtype
        (uint8, uint16, float32...). The EXIF orientation tag of JPEGs is applied only
        with ``upright``.

    Raises
    ------
    ImageNotFoundError
        The path does not exist.
    EmptyImageError
        A zero-byte file, an image with no pixels, or a DICOM file without pixel data.
    TruncatedImageError
        The file ends before its image data does.
    UnsupportedFormatError
        The content is not in a supported format (the name's extension is not trusted).
    ImageTooLargeError
        The header announces more than ``max_pixels`` pixels.
    DTypeError
        An array or stored sample type the library does not handle (complex, object...).
    ReadError
        Any other unreadable or corrupt file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "scan.png")
    >>> imwrite(path, np.full((4, 6), 40000, np.uint16))
    >>> image = imread(path)
    >>> image.shape, image.dtype
    ((4, 6), dtype('uint16'))
    """
    limit = max_pixels_default() if max_pixels is None else int(max_pixels)
    if isinstance(source, np.ndarray):
        return _check_array(source, "<array>", limit)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(bytes(source), "<bytes>", page=page, limit=limit, upright=upright)
    if not isinstance(source, (str, os.PathLike)):
        raise DTypeError(
            f"imread: expected a path, bytes or a numpy array, got {type(source).__name__}"
        )
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise ImageNotFoundError(f"{name}: no such file")
    if path.is_dir():
        raise ReadError(f"{name}: is a folder, not an image file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise EmptyImageError(f"{name}: the file is empty (0 bytes)")
        with path.open("rb") as fh:
            head = fh.read(256)
        kind = detect_format(head)
        if kind == "tiff":
            return _read_tiff(path, name, page=page, limit=limit)
        if kind == "dicom":
            return _read_dicom(path, name, page=page, limit=limit)
        data = path.read_bytes()
    except PermissionError as exc:
        raise ReadError(f"{name}: permission denied ({exc.strerror})") from None
    except IsADirectoryError:
        raise ReadError(f"{name}: is a folder, not an image file") from None
    except OSError as exc:
        if isinstance(exc, ReadError):
            raise
        raise ReadError(f"{name}: could not be read ({exc})") from None
    return _decode(data, name, page=page, limit=limit, upright=upright)


def _decode(
    data: bytes, name: str, *, page: int | None, limit: int, upright: bool = False
) -> np.ndarray:
    if not data:
        raise EmptyImageError(f"{name}: the file is empty (0 bytes)")
    kind = detect_format(data[:256])
    if kind is None:
        raise UnsupportedFormatError(
            f"{name}: not a supported image format (PNG, JPEG, BMP, TIFF, DICOM, NPY); "
            f"the content starts with {data[:8]!r}"
        )
    if kind == "tiff":
        import io

        return _read_tiff(io.BytesIO(data), name, page=page, limit=limit)
    if kind == "dicom":
        import io

        return _read_dicom(io.BytesIO(data), name, page=page, limit=limit)
    if kind == "npy":
        return _read_npy(data, name, limit)
    width, height = _header_size(data, kind, name)
    _check_pixels(width * height, name, limit, f"{width}x{height}")
    image = _decode_with_opencv(data, kind, name, limit)
    if upright and kind == "jpeg":
        image = exif_upright(image, _jpeg_orientation(data, name))
    return image


def exif_upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` (stored pixels) turned upright as the EXIF ``orientation`` (1-8) says; other
    values leave it as it is.

    Examples
    --------
    >>> import numpy as np
    >>> exif_upright(np.arange(6).reshape(2, 3), 6)  # stored turned 90 degrees anticlockwise
    array([[3, 0],
           [4, 1],
           [5, 2]])
    """
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, 1),
    }.get(orientation)
    return image if turned is None else np.ascontiguousarray(turned(image))


def _jpeg_orientation(data: bytes, name: str) -> int:
    """The EXIF orientation tag (0x0112) of a JPEG's first APP1 Exif segment before its frame
    header; 1 (as stored) when there is none or it cannot be parsed."""
    for marker, pos in _jpeg_segments(data, name):
        if marker in _SOF_MARKERS:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1 and segment[:6] == b"Exif\x00\x00":
            return _tiff_orientation(segment[6:])
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for k in range(count):
        entry = tiff[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        if len(entry) < 12:
            break
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag == 0x0112 and kind == 3:  # SHORT
            return struct.unpack(order + "H", entry[8:10])[0]
    return 1


def _check_pixels(pixels: int, name: str, limit: int, what: str) -> None:
    if pixels > limit:
        raise ImageTooLargeError(
            f"{name}: {what} is {pixels} pixels, over the limit of {limit} "
            "(pass max_pixels= or set IMAGING_MAX_PIXELS to allow it)"
        )


def _header_size(data: bytes, kind: str, name: str) -> tuple[int, int]:
    if kind == "png":
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise TruncatedImageError(f"{name}: PNG header is truncated or has no IHDR chunk")
        width, height = struct.unpack(">II", data[16:24])
        if width == 0 or height == 0:
            raise EmptyImageError(f"{name}: PNG header says {width}x{height} pixels")
        return width, height
    if kind == "bmp":
        if len(data) < 26:
            raise TruncatedImageError(f"{name}: BMP header is truncated")
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    return _jpeg_size(data, name)


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_segments(data: bytes, name: str):
    """(marker, byte position) of each segment of a JPEG's header, up to its start of scan."""
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise ReadError(f"{name}: corrupt JPEG (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        if marker == 0xDA:
            return
        yield marker, pos
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length


def _jpeg_size(data: bytes, name: str) -> tuple[int, int]:
    for marker, pos in _jpeg_segments(data, name):
        if marker in _SOF_MARKERS:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            if width == 0 or height == 0:
                raise EmptyImageError(f"{name}: JPEG header says {width}x{height} pixels")
            return width, height
    raise TruncatedImageError(f"{name}: JPEG ends before its frame header (SOF)")


def _decode_with_opencv(data: bytes, kind: str, name: str, limit: int) -> np.ndarray:
    import cv2

    if kind == "png" and data.rfind(b"IEND", max(0, len(data) - 64)) < 0:
        raise TruncatedImageError(f"{name}: PNG is truncated (no IEND chunk at the end)")
    if kind == "jpeg" and data.rfind(b"\xff\xd9") < 0:
        raise TruncatedImageError(f"{name}: JPEG is truncated (no end-of-image marker)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ReadError(f"{name}: corrupt {kind.upper()} ({str(exc).strip()[:200]})") from None
    if image is None:
        raise ReadError(f"{name}: corrupt {kind.upper()} data: the decoder could not read it")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def _read_npy(data: bytes, name: str, limit: int) -> np.ndarray:
    import io

    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except Exception as exc:  # numpy's header parser raises ValueError, TokenError, EOFError...
        raise ReadError(f"{name}: corrupt .npy header ({type(exc).__name__}: {exc})") from None
    if dtype.hasobject:
        raise DTypeError(f"{name}: .npy holds Python objects ({dtype}); refused (no unpickling)")
    pixels = int(np.prod(shape[:2])) * (int(np.prod(shape[2:])) if len(shape) > 3 else 1)
    _check_pixels(pixels, name, limit, f"array {tuple(shape)}")
    stream.seek(0)
    try:
        array = np.load(stream, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise TruncatedImageError(f"{name}: .npy data is truncated or corrupt ({exc})") from None
    return _check_array(array, name, limit)


def _check_array(array: np.ndarray, name: str, limit: int) -> np.ndarray:
    if array.dtype not in READ_DTYPES:
        raise DTypeError(
            f"{name}: unsupported dtype {array.dtype}; expected one of "
            + ", ".join(str(d) for d in READ_DTYPES)
        )
    if array.ndim not in (2, 3, 4):
        raise ShapeError(f"{name}: expected a 2-D, 3-D or 4-D image array, got shape {array.shape}")
    if array.size == 0:
        raise EmptyImageError(f"{name}: the array has no pixels (shape {array.shape})")
    channels = array.shape[-1] if array.ndim >= 3 and array.shape[-1] in (1, 3, 4) else 1
    _check_pixels(array.size // channels, name, limit, f"array {array.shape}")
    return array


def _read_tiff(source: Any, name: str, *, page: int | None, limit: int) -> np.ndarray:
    import tifffile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with tifffile.TiffFile(source) as tif:
                pages = tif.pages
                if len(pages) == 0:
                    raise EmptyImageError(f"{name}: TIFF holds no image")
                if page is not None:
                    if not 0 <= page < len(pages):
                        raise PageError(f"{name}: page {page} requested, the TIFF has {len(pages)}")
                    target = pages[page]
                    _check_tiff_pages([target], name, limit)
                    array = target.asarray()
                else:
                    series = tif.series[0]
                    _check_tiff_pages(series.pages, name, limit)
                    array = series.asarray()
                    if len(tif.series) > 1 and len(series.pages) < len(pages):
                        warnings.warn(
                            f"{name}: TIFF has {len(tif.series)} series of different shapes; "
                            "read the first (pass page= for another)",
                            stacklevel=3,
                        )
    except (EmptyImageError, ImageTooLargeError, DTypeError, PageError):
        raise
    except ValueError as exc:
        raise ReadError(f"{name}: corrupt TIFF ({exc})") from None
    except (EOFError, struct.error) as exc:
        raise TruncatedImageError(f"{name}: TIFF is truncated ({exc})") from None
    except Exception as exc:  # tifffile raises many types on corrupt input
        raise ReadError(f"{name}: corrupt TIFF ({type(exc).__name__}: {exc})") from None
    if array is None or array.size == 0:
        raise EmptyImageError(f"{name}: TIFF holds no pixels")
    return _check_array(np.asarray(array), name, limit)


def _check_tiff_pages(pages: Any, name: str, limit: int) -> None:
    pixels = 0
    for p in pages:
        if p is None:
            continue
        shape = p.shape
        # up to 4 samples (RGBA) share a pixel; a page claiming more is counted by its samples,
        # so a lying SamplesPerPixel cannot hide a huge page from the limit
        samples = min(4, max(1, int(getattr(p, "samplesperpixel", 1))))
        pixels += int(np.prod(shape, dtype=np.int64)) // samples
        dtype = getattr(p, "dtype", None)
        if dtype is not None and np.dtype(dtype) not in READ_DTYPES:
            raise DTypeError(f"{name}: TIFF sample type {dtype} is not supported")
    _check_pixels(pixels, name, limit, "TIFF")


def _read_dicom(source: Any, name: str, *, page: int | None, limit: int) -> np.ndarray:
    try:
        import pydicom
    except ImportError as exc:  # pragma: no cover - pydicom is a dependency
        raise UnsupportedFormatError(
            f"{name}: reading DICOM needs pydicom: pip install pydicom"
        ) from exc
    try:
        ds = pydicom.dcmread(source)
    except Exception as exc:
        raise ReadError(f"{name}: corrupt DICOM ({type(exc).__name__}: {exc})") from None
    if "PixelData" not in ds:
        raise EmptyImageError(f"{name}: DICOM file holds no pixel data")
    try:  # pydicom decodes elements lazily, so a damaged element fails only when read
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception as exc:
        raise ReadError(f"{name}: corrupt DICOM header ({type(exc).__name__}: {exc})") from None
    if rows == 0 or cols == 0:
        raise EmptyImageError(f"{name}: DICOM says {cols}x{rows} pixels")
    _check_pixels(rows * cols * (1 if page is not None else frames), name, limit, "DICOM")
    try:
        array = ds.pixel_array
    except Exception as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise UnsupportedFormatError(
            f"{name}: DICOM pixel data could not be decoded (transfer syntax {syntax}: {exc}); "
            "compressed syntaxes need a pydicom pixel handler such as pylibjpeg"
        ) from None
    if page is not None:
        if frames == 1 or array.ndim == 2:
            if page != 0:
                raise PageError(f"{name}: page {page} requested, the DICOM has 1 frame")
        else:
            if not 0 <= page < array.shape[0]:
                raise PageError(f"{name}: page {page} requested, the DICOM has {array.shape[0]}")
            array = array[page]
    return _check_array(np.ascontiguousarray(array), name, limit)


_WRITE_FORMATS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".npy": "npy",
    ".bmp": "bmp",
}


def imwrite(path: str | os.PathLike, image: np.ndarray, *, quality: int = 95) -> None:
    """Write ``image`` to ``path``; the format follows the extension.

    The file is written to a temporary name in the same folder and renamed into place, so a
    crash never leaves a half-written file. Colour arrays are taken as RGB(A).

    Parameters
    ----------
    path : str or path
        ``.png`` (uint8, uint16), ``.jpg`` (uint8), ``.bmp`` (uint8), ``.tif``/``.tiff``
        (any supported dtype, float32 included, zlib-compressed), ``.npy`` (any).
    image : ndarray
        ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``; TIFF and NPY also take a page stack.
    quality : int
        JPEG quality, 1–100.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tiff")
    >>> imwrite(path, np.ones((2, 3), np.float32))
    >>> imread(path).dtype
    dtype('float32')
    """
    target = Path(path)
    name = str(target)
    kind = _WRITE_FORMATS.get(target.suffix.lower())
    if kind is None:
        raise UnsupportedFormatError(
            f"{name}: cannot write extension {target.suffix!r}; use one of "
            + ", ".join(sorted(_WRITE_FORMATS))
        )
    if not isinstance(image, np.ndarray):
        raise DTypeError(f"imwrite: image must be a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise EmptyImageError(f"{name}: refusing to write an empty array {image.shape}")
    if kind in ("png", "jpeg", "bmp"):
        allowed = {"png": (np.uint8, np.uint16), "jpeg": (np.uint8,), "bmp": (np.uint8,)}[kind]
        if image.dtype not in [np.dtype(d) for d in allowed]:
            raise DTypeError(
                f"{name}: {kind.upper()} holds {' or '.join(np.dtype(d).name for d in allowed)}, "
                f"got {image.dtype}; write float data as .tiff or .npy"
            )
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
            raise ShapeError(f"{name}: expected (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError(f"{name}: the folder {folder} does not exist")
    encoded = _encode(image, kind, name, quality)
    try:
        atomic_write(target, encoded)
    except OSError as exc:
        raise WriteError(f"{name}: could not be written ({exc.strerror or exc})") from None


def _encode(image: np.ndarray, kind: str, name: str, quality: int) -> bytes:
    if kind == "npy":
        import io

        buffer = io.BytesIO()
        np.save(buffer, image, allow_pickle=False)
        return buffer.getvalue()
    if kind == "tiff":
        import io

        import tifffile

        buffer = io.BytesIO()
        photometric = "rgb" if image.ndim == 3 and image.shape[-1] in (3, 4) else "minisblack"
        tifffile.imwrite(buffer, image, photometric=photometric, compression="zlib")
        return buffer.getvalue()
    import cv2

    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if kind == "jpeg" else []
    ok, encoded = cv2.imencode({"png": ".png", "jpeg": ".jpg", "bmp": ".bmp"}[kind], image, params)
    if not ok:
        raise WriteError(f"{name}: the {kind.upper()} encoder failed")
    return encoded.tobytes()
