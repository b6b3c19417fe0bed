"""numba compilation with the library's defaults: ``cache=True, nogil=True``.

The on-disk cache goes to ``$IMAGING_CACHE_DIR/numba`` when that variable is set (use it for
read-only installs); otherwise numba's own rule applies (``NUMBA_CACHE_DIR``, else beside the
source, else the user's cache folder). numba itself is imported only when a kernel module is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["njit"]

_cache_dir = os.environ.get("IMAGING_CACHE_DIR")
if _cache_dir and "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(_cache_dir, "numba")

import numba  # noqa: E402  (the cache folder must be set before numba is imported)


def njit(target: Any = None, /, **options: Any) -> Callable:
    """``numba.njit`` with ``cache=True`` and ``nogil=True`` unless told otherwise.

    Use it bare (``@njit``), with options (``@njit(fastmath=True)``) or with a signature
    (``@njit("f4(f4)")``).
    """
    options.setdefault("cache", True)
    options.setdefault("nogil", True)
    if callable(target):
        return numba.njit(**options)(target)
    if target is None:
        return numba.njit(**options)
    return numba.njit(target, **options)
