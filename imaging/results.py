"""The result types shared by every analyzer: :class:`Detections`, :class:`Flag`, :class:`Result`.

``Result.to_dict()`` is the public JSON schema printed by the CLI (one object per input per
line). Every detection and flag in it has a ``box`` ``[x0, y0, x1, y1]`` in pixels, a ``score``
and a ``label``. The schema only ever grows: fields are added, never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.jsonable import to_jsonable
from imaging._version import __version__

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Detections", "Flag", "Result"]

SCHEMA = "imaging.result"
SCHEMA_VERSION = 1

_RESERVED_KEYS = {"box", "score", "label", "class_id"}


def _column(values: Any, n: int, *, name: str, dtype: Any) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1 or array.shape[0] != n:
        raise ShapeError(f"Detections.{name}: expected shape ({n},), got {array.shape}")
    return array


@dataclass(eq=False)
class Detections:
    """N objects found in one image, as parallel arrays.

    Parameters
    ----------
    xyxy : array_like, shape (N, 4)
        Boxes ``[x0, y0, x1, y1]`` in pixels, stored as float32.
    confidence : array_like, shape (N,), optional
        Scores in [0, 1], float32. Defaults to ones.
    class_id : array_like, shape (N,), optional
        Integer class ids, int64. Defaults to zeros.
    mask : array_like, shape (N, H, W), optional
        Boolean per-object masks.
    data : dict of str to array_like
        Per-object extras of length N, such as ``"label"`` (class names), ``"text"`` (plate
        text) or ``"max_temp_c"``.

    Examples
    --------
    >>> import numpy as np
    >>> dets = Detections(np.array([[0, 0, 10, 10], [5, 5, 8, 9]]), confidence=[0.9, 0.3],
    ...                   data={"label": ["knife", "gun"]})
    >>> len(dets[dets.confidence > 0.5])
    1
    >>> dets[dets.confidence > 0.5].data["label"].tolist()
    ['knife']
    """

    xyxy: np.ndarray
    confidence: np.ndarray | None = None
    class_id: np.ndarray | None = None
    mask: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ShapeError(f"Detections.xyxy: expected shape (N, 4), got {xyxy.shape}")
        if not np.isfinite(xyxy).all():
            raise ShapeError("Detections.xyxy: boxes must be finite")
        if (xyxy[:, 2] < xyxy[:, 0]).any() or (xyxy[:, 3] < xyxy[:, 1]).any():
            raise ShapeError("Detections.xyxy: every box needs x1 >= x0 and y1 >= y0")
        n = xyxy.shape[0]
        self.xyxy = xyxy
        conf = np.ones(n, np.float32) if self.confidence is None else self.confidence
        self.confidence = _column(conf, n, name="confidence", dtype=np.float32)
        if ((self.confidence < 0) | (self.confidence > 1) | np.isnan(self.confidence)).any():
            raise ShapeError("Detections.confidence: scores must lie in [0, 1]")
        cls = np.zeros(n, np.int64) if self.class_id is None else self.class_id
        self.class_id = _column(cls, n, name="class_id", dtype=np.int64)
        if self.mask is not None:
            mask = np.asarray(self.mask, dtype=bool)
            if mask.ndim != 3 or mask.shape[0] != n:
                raise ShapeError(f"Detections.mask: expected shape ({n}, H, W), got {mask.shape}")
            self.mask = mask
        data = {}
        for key, values in dict(self.data).items():
            array = np.asarray(values)
            if array.ndim == 0 or array.shape[0] != n:
                raise ShapeError(
                    f"Detections.data[{key!r}]: expected {n} values, got shape {array.shape}"
                )
            data[str(key)] = array
        self.data = data

    @classmethod
    def empty(cls) -> Detections:
        """Return a :class:`Detections` holding no object.

        Examples
        --------
        >>> len(Detections.empty())
        0
        """
        return cls(np.zeros((0, 4), np.float32))

    @classmethod
    def merge(cls, items: Iterable[Detections]) -> Detections:
        """Concatenate several :class:`Detections` into one.

        Extras present in only some inputs are filled with ``None`` (object arrays) for the
        others; masks are kept only when every non-empty input has masks of one size.

        Examples
        --------
        >>> a = Detections([[0, 0, 1, 1]])
        >>> b = Detections([[2, 2, 3, 3]], class_id=[4])
        >>> Detections.merge([a, b]).class_id.tolist()
        [0, 4]
        """
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        if len(items) == 1:
            return items[0][np.arange(len(items[0]))]
        keys: list[str] = []
        for d in items:
            keys.extend(k for k in d.data if k not in keys)
        data = {}
        for key in keys:
            parts = [
                d.data[key] if key in d.data else np.full(len(d), None, dtype=object) for d in items
            ]
            if any(p.dtype == object for p in parts):
                parts = [p.astype(object) for p in parts]
            data[key] = np.concatenate(parts)
        masks = [d.mask for d in items]
        mask = None
        if all(m is not None for m in masks) and len({m.shape[1:] for m in masks}) == 1:
            mask = np.concatenate(masks)
        return cls(
            np.concatenate([d.xyxy for d in items]),
            confidence=np.concatenate([d.confidence for d in items]),
            class_id=np.concatenate([d.class_id for d in items]),
            mask=mask,
            data=data,
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        """Select objects with a boolean mask, an index array, a slice or an integer."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        index = np.asarray(index) if not isinstance(index, slice) else index
        if isinstance(index, np.ndarray) and index.dtype == bool and index.shape != (len(self),):
            raise ShapeError(
                f"Detections: a boolean selector needs shape ({len(self)},), got {index.shape}"
            )
        return Detections(
            self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            mask=None if self.mask is None else self.mask[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    @property
    def area(self) -> np.ndarray:
        """Box areas in square pixels, float32 (N,)."""
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    def labels(self, names: Sequence[str] | Mapping[int, str] | None = None) -> list[str]:
        """Return one label per object: ``data["label"]`` if present, else a class name.

        ``names`` maps class ids to names; without it the id itself is the label.
        """
        if "label" in self.data:
            return [str(v) for v in self.data["label"]]
        result = []
        for cid in self.class_id.tolist():
            if isinstance(names, Mapping) and cid in names:
                result.append(str(names[cid]))
            elif isinstance(names, Sequence) and 0 <= cid < len(names):
                result.append(str(names[cid]))
            else:
                result.append(str(cid))
        return result

    def to_list(self) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per object: ``box``, ``score``, ``label``, ``class_id``,
        then the extras of :attr:`data` under their own names."""
        labels = self.labels()
        items = []
        for i in range(len(self)):
            item: dict[str, Any] = {
                "box": [round(float(v), 2) for v in self.xyxy[i]],
                "score": round(float(self.confidence[i]), 4),
                "label": labels[i],
                "class_id": int(self.class_id[i]),
            }
            for key, values in self.data.items():
                if key != "label":
                    item[key] = to_jsonable(values[i])
            items.append(item)
        return items

    @classmethod
    def from_list(cls, items: Sequence[Mapping[str, Any]]) -> Detections:
        """Rebuild :class:`Detections` from :meth:`to_list` output."""
        if not items:
            return cls.empty()
        extra_keys: list[str] = []
        for item in items:
            extra_keys.extend(k for k in item if k not in _RESERVED_KEYS and k not in extra_keys)
        data: dict[str, Any] = {"label": np.array([str(i.get("label", "")) for i in items])}
        for key in extra_keys:
            values = [i.get(key) for i in items]
            try:
                array = np.asarray(values)
            except ValueError:  # ragged values
                array = np.empty(0)
            if array.ndim != 1 or len(array) != len(values) or array.dtype == object:
                array = np.empty(len(values), dtype=object)
                array[:] = values
            data[key] = array
        return cls(
            np.array([i["box"] for i in items], dtype=np.float32),
            confidence=np.array([i.get("score", 1.0) for i in items], dtype=np.float32),
            class_id=np.array([i.get("class_id", 0) for i in items], dtype=np.int64),
            data=data,
        )


@dataclass(frozen=True)
class Flag:
    """An alert for the operator: something in the image needs a human look.

    Parameters
    ----------
    kind : str
        What raised it, e.g. ``"dense"``, ``"threat"``, ``"anomaly"``, ``"hotspot"``.
    box : tuple of 4 float
        ``(x0, y0, x1, y1)`` in pixels; an image-wide flag uses the whole image.
    score : float
        Strength or confidence in [0, 1].
    message : str
        One sentence for the operator.
    data : dict
        JSON-ready extras (areas, temperatures...).

    Examples
    --------
    >>> Flag("dense", (0, 0, 10, 20), 1.0, "impenetrable area").to_dict()["label"]
    'dense'
    """

    kind: str
    box: tuple[float, float, float, float]
    score: float = 1.0
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        box = tuple(float(v) for v in np.asarray(self.box, dtype=np.float64).reshape(-1))
        if len(box) != 4 or not np.isfinite(box).all() or box[2] < box[0] or box[3] < box[1]:
            raise ShapeError(f"Flag.box: expected finite (x0, y0, x1, y1) with x1>=x0, got {box}")
        score = float(self.score)
        if not 0.0 <= score <= 1.0:
            raise ShapeError(f"Flag.score: expected a value in [0, 1], got {score}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", score)
        object.__setattr__(self, "data", dict(self.data))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form: ``kind``, ``label``, ``box``, ``score``, ``message``."""
        out = {
            "kind": self.kind,
            "label": self.kind,
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 4),
            "message": self.message,
        }
        for key, value in self.data.items():
            out.setdefault(key, to_jsonable(value))
        return out

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Flag:
        """Rebuild a :class:`Flag` from :meth:`to_dict` output."""
        known = {"kind", "label", "box", "score", "message"}
        return cls(
            kind=str(item.get("kind", item.get("label", ""))),
            box=tuple(item["box"]),
            score=float(item.get("score", 1.0)),
            message=str(item.get("message", "")),
            data={k: v for k, v in item.items() if k not in known},
        )


def _map_summary(array: np.ndarray) -> dict[str, Any]:
    summary: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size and np.issubdtype(array.dtype, np.number):
        finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
        if finite.size:
            summary["min"] = to_jsonable(finite.min())
            summary["max"] = to_jsonable(finite.max())
    return summary


@dataclass(eq=False)
class Result:
    """What every analyzer returns for one image.

    Parameters
    ----------
    source : str
        Where the image came from (a path, a URL, or a caller's name for an array).
    modality : str
        ``"xray"``, ``"anpr"``, ``"thermal"``, or another registered analyzer's name.
    detections : Detections
        Objects found (threats, plates, hotspots).
    flags : list of Flag
        Operator alerts.
    maps : dict of str to ndarray
        Per-pixel outputs such as ``"enhanced"``, ``"anomaly"``, ``"temperature_c"``.
        JSON holds only their shape, dtype and range; write the arrays with
        :func:`imaging.io.imwrite`.
    measurements : dict
        JSON-ready scalar results (``min_c``, ``max_c``...).
    timings_ms : dict of str to float
        Wall-clock time per stage.
    models : dict of str to str
        Model name to SHA-256 of every model used.
    image_shape : tuple of int, optional
        Shape of the analysed image.

    Examples
    --------
    >>> r = Result("bag.png", "xray", flags=[Flag("dense", (0, 0, 5, 5), 1.0, "look")])
    >>> Result.from_dict(r.to_dict()).flags[0].kind
    'dense'
    """

    source: str
    modality: str
    detections: Detections = field(default_factory=Detections.empty)
    flags: list[Flag] = field(default_factory=list)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.detections, Detections):
            raise TypeError(
                f"Result.detections: expected Detections, got {type(self.detections).__name__}"
            )
        self.flags = list(self.flags)
        for flag in self.flags:
            if not isinstance(flag, Flag):
                raise TypeError(f"Result.flags: expected Flag items, got {type(flag).__name__}")
        if self.image_shape is not None:
            self.image_shape = tuple(int(v) for v in self.image_shape)

    def to_dict(self) -> dict[str, Any]:
        """Return the versioned, JSON-ready form of this result (the CLI's output schema)."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "imaging_version": __version__,
            "source": self.source,
            "modality": self.modality,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "detections": self.detections.to_list(),
            "flags": [f.to_dict() for f in self.flags],
            "measurements": to_jsonable(self.measurements),
            "maps": {name: _map_summary(np.asarray(a)) for name, a in self.maps.items()},
            "timings_ms": {k: round(float(v), 3) for k, v in self.timings_ms.items()},
            "models": dict(self.models),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Read back :meth:`to_dict` output (maps are not stored in JSON and come back empty).

        Raises
        ------
        ValueError
            If the dict is not of this schema or comes from a newer schema version.
        """
        if data.get("schema") != SCHEMA:
            found = data.get("schema")
            raise ValueError(f"Result.from_dict: not an {SCHEMA} object (schema={found!r})")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(
                f"Result.from_dict: schema_version {version!r} is newer than this library "
                f"reads ({SCHEMA_VERSION}); upgrade imaging"
            )
        shape = data.get("image_shape")
        return cls(
            source=str(data["source"]),
            modality=str(data["modality"]),
            detections=Detections.from_list(data.get("detections", [])),
            flags=[Flag.from_dict(f) for f in data.get("flags", [])],
            measurements=dict(data.get("measurements", {})),
            timings_ms={k: float(v) for k, v in data.get("timings_ms", {}).items()},
            models=dict(data.get("models", {})),
            image_shape=None if shape is None else tuple(shape),
        )
