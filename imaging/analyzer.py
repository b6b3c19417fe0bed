"""The :class:`Analyzer` protocol and the registry that finds analyzers by name.

Domains register their analyzer under the entry-point group ``imaging.analyzers`` (loaded
lazily on first use) or at run time with :func:`register_analyzer`; the core never names a
domain. Analyzers build their state once and never mutate it per call, so one instance can be
shared by several threads.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import numpy as np

from imaging._shared.errors import AnalyzerNotFoundError
from imaging.draw import draw
from imaging.results import Result

__all__ = [
    "ENTRY_POINT_GROUP",
    "Analyzer",
    "ImageInput",
    "available_analyzers",
    "draw",
    "get_analyzer",
    "register_analyzer",
    "source_name",
]

ENTRY_POINT_GROUP = "imaging.analyzers"

ImageInput = np.ndarray | str | os.PathLike


@runtime_checkable
class Analyzer(Protocol):
    """What every analyzer offers.

    ``analyze`` takes an image array (or, where the modality needs the file itself, such as a
    radiometric thermal JPEG, a path) and keyword context such as ``source=`` and returns one
    :class:`~imaging.results.Result`. ``analyze_many`` does the same over an iterable, lazily.
    """

    name: str

    def analyze(self, image: ImageInput, /, **context: Any) -> Result: ...

    def analyze_many(self, images: Iterable[ImageInput], /, **context: Any) -> Iterator[Result]: ...


class AnalyzerBase:
    """Optional base class giving :meth:`analyze_many` and :meth:`warmup` for free.

    Subclasses set ``name`` and implement ``analyze``.
    """

    name: str = ""

    def analyze(self, image: ImageInput, /, **context: Any) -> Result:
        raise NotImplementedError

    def analyze_many(self, images: Iterable[ImageInput], /, **context: Any) -> Iterator[Result]:
        """Analyze each image in turn, yielding one :class:`Result` per image."""
        for image in images:
            yield self.analyze(image, **context)

    def warmup(self) -> None:
        """Compile kernels and open models ahead of the first real image (default: nothing)."""


def source_name(image: ImageInput, context: dict[str, Any]) -> str:
    """Return the ``source`` to record for ``image``: the context's, the path, or ``"<array>"``."""
    if context.get("source") is not None:
        return str(context["source"])
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    return "<array>"


_factories: dict[str, Callable[..., Analyzer]] = {}
_instances: dict[str, Analyzer] = {}
_lock = threading.RLock()
_entry_points_loaded = False


def register_analyzer(
    name: str, factory: Callable[..., Analyzer], *, replace: bool = False
) -> None:
    """Register ``factory`` (a class or a function returning an analyzer) under ``name``.

    Examples
    --------
    >>> from imaging.results import Result
    >>> class Echo(AnalyzerBase):
    ...     name = "echo-doc"
    ...     def analyze(self, image, /, **context):
    ...         return Result(source_name(image, context), self.name)
    >>> register_analyzer("echo-doc", Echo, replace=True)
    >>> get_analyzer("echo-doc").analyze(np.zeros((2, 2))).modality
    'echo-doc'
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"register_analyzer: name must be a non-empty string, got {name!r}")
    with _lock:
        if name in _factories and not replace and _factories[name] is not factory:
            raise ValueError(f"register_analyzer: {name!r} is already registered")
        _factories[name] = factory
        _instances.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    with _lock:
        if _entry_points_loaded:
            return
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in _factories:
                _factories[ep.name] = _LazyFactory(ep)
        _entry_points_loaded = True


class _LazyFactory:
    """Imports an entry point's target only when an analyzer is first requested."""

    def __init__(self, ep: Any) -> None:
        self.ep = ep

    def __call__(self, **options: Any) -> Analyzer:
        return self.ep.load()(**options)


def available_analyzers() -> list[str]:
    """Names of every registered analyzer, sorted.

    Examples
    --------
    >>> isinstance(available_analyzers(), list)
    True
    """
    _load_entry_points()
    with _lock:
        return sorted(_factories)


def _import_factory(spec: str) -> Callable[..., Analyzer]:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise AnalyzerNotFoundError(f"cannot import analyzer {spec!r}: {exc}") from None
    if not callable(factory):
        raise AnalyzerNotFoundError(f"{spec!r} is not a class or function")
    return factory


def get_analyzer(name: str, **options: Any) -> Analyzer:
    """Return the analyzer registered under ``name``.

    ``name`` may also be ``"package.module:Factory"``: the factory is imported and registered
    under that name (for a site's own analyzer without an entry point).

    Without options the same shared instance is returned on every call (analyzers are
    thread-safe); with options a new instance is built.

    Raises
    ------
    AnalyzerNotFoundError
        If no analyzer has that name; the message lists the names there are.
    """
    _load_entry_points()
    with _lock:
        factory = _factories.get(name)
        if factory is None and ":" in name:
            factory = _import_factory(name)
            _factories[name] = factory
        if factory is None:
            known = ", ".join(sorted(_factories)) or "none"
            raise AnalyzerNotFoundError(f"no analyzer named {name!r}; available: {known}")
        if options:
            return factory(**options)
        if name not in _instances:
            _instances[name] = factory()
        return _instances[name]
