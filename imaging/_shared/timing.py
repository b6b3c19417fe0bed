"""Per-stage wall-clock timing for :attr:`imaging.Result.timings_ms`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["stage"]


@contextmanager
def stage(timings_ms: dict[str, float], name: str) -> Iterator[None]:
    """Add the time spent in the ``with`` block, in milliseconds, to ``timings_ms[name]``.

    Examples
    --------
    >>> timings = {}
    >>> with stage(timings, "read"):
    ...     pass
    >>> list(timings)
    ['read']
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = (time.perf_counter() - start) * 1000.0
        timings_ms[name] = timings_ms.get(name, 0.0) + elapsed
