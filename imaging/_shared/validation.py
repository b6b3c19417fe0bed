"""Small named checks that raise precise errors (argument, expected, received)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from imaging._shared.errors import DTypeError, EmptyImageError, NonFiniteError, ShapeError

__all__ = ["as_float32", "check_finite", "check_image", "check_ndim"]

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def check_ndim(array: np.ndarray, ndim: int | Iterable[int], *, name: str = "image") -> None:
    """Raise :class:`ShapeError` unless ``array.ndim`` is one of ``ndim``."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        expected = " or ".join(f"{n}-D" for n in allowed)
        raise ShapeError(
            f"{name}: expected a {expected} array, got {array.ndim}-D shape {array.shape}"
        )


def check_image(
    image: object,
    *,
    name: str = "image",
    ndim: int | Iterable[int] = (2, 3),
    dtypes: Iterable[type] | None = SUPPORTED_DTYPES,
    channels: Iterable[int] | None = (1, 3, 4),
) -> np.ndarray:
    """Validate an image array and return it (as an ndarray, never copied).

    Parameters
    ----------
    image : array_like
        The candidate image.
    name : str
        The argument name used in error messages.
    ndim : int or iterable of int
        Accepted numbers of dimensions.
    dtypes : iterable of dtype, optional
        Accepted dtypes; ``None`` accepts any real numeric dtype (integers, floats, bool).
    channels : iterable of int, optional
        Accepted sizes of the last axis for 3-D input; ``None`` skips that check.

    Returns
    -------
    ndarray
        ``image`` itself as an ndarray.

    Examples
    --------
    >>> import numpy as np
    >>> check_image(np.zeros((4, 5), np.uint8)).shape
    (4, 5)
    """
    if not isinstance(image, np.ndarray):
        if isinstance(image, (str, bytes)) or not hasattr(image, "__array__"):
            raise DTypeError(f"{name}: expected a numpy array, got {type(image).__name__}")
        image = np.asarray(image)
    check_ndim(image, ndim, name=name)
    if image.size == 0:
        raise EmptyImageError(f"{name}: the array has no pixels (shape {image.shape})")
    if dtypes is not None:
        allowed = tuple(np.dtype(d) for d in dtypes)
        if image.dtype not in allowed:
            names = ", ".join(str(d) for d in allowed)
            raise DTypeError(f"{name}: expected dtype {names}; got {image.dtype}")
    elif not (
        np.issubdtype(image.dtype, np.integer)
        or np.issubdtype(image.dtype, np.floating)
        or image.dtype == np.bool_
    ):
        raise DTypeError(f"{name}: expected a real numeric array, got dtype {image.dtype}")
    if channels is not None and image.ndim == 3 and image.shape[-1] not in tuple(channels):
        raise ShapeError(
            f"{name}: expected {tuple(channels)} channels on the last axis, got shape {image.shape}"
        )
    return image


def check_finite(array: np.ndarray, *, name: str = "image") -> None:
    """Raise :class:`NonFiniteError` if a float array holds NaN or inf."""
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise NonFiniteError(f"{name}: the array holds NaN or infinite values")


def as_float32(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as float32 using the library's one dtype rule.

    Integer images are scaled to [0, 1] by the maximum of their dtype (uint8 / 255,
    uint16 / 65535); float images keep their values. The input is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> as_float32(np.array([0, 255], np.uint8)).tolist()
    [0.0, 1.0]
    """
    if np.issubdtype(image.dtype, np.integer):
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    return image.astype(np.float32, copy=False)
