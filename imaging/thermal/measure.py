"""Measurement tools of thermal cameras: spot, box, ellipse, polygon and line; isotherms;
alarms above, below and on a temperature difference (Δ) between regions.

Regions use pixel coordinates, ``x`` to the right and ``y`` down, pixel ``(x, y)`` covering
``[x, x + 1) × [y, y + 1)`` like the boxes of :class:`~imaging.results.Detections`.
Statistics leave out pixels where the temperature is undefined (NaN) and count them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.validation import check_image
from imaging.results import Flag

__all__ = [
    "Box",
    "Ellipse",
    "Line",
    "Polygon",
    "Region",
    "RegionStats",
    "Spot",
    "alarm_above",
    "alarm_below",
    "alarm_delta",
    "check_alarm",
    "isotherm",
    "line_profile",
    "measure",
    "measure_all",
    "region_from_dict",
]

Statistic = Literal["min", "max", "mean", "median"]


@dataclass(frozen=True)
class Spot:
    """A spot meter: the pixel at ``(x, y)``, or the disc of ``radius`` pixels around it.

    Examples
    --------
    >>> int(Spot(2, 1).mask((4, 5)).sum()), int(Spot(2, 2, radius=1).mask((5, 5)).sum())
    (1, 5)
    """

    x: float
    y: float
    radius: float = 0.0

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W) map of the pixels in the region."""
        h, w = shape
        if self.radius <= 0:
            out = np.zeros(shape, bool)
            col, row = math.floor(self.x), math.floor(self.y)
            if 0 <= row < h and 0 <= col < w:
                out[row, col] = True
            return out
        yy, xx = np.ogrid[:h, :w]
        cx, cy = math.floor(self.x), math.floor(self.y)
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= self.radius**2


@dataclass(frozen=True)
class Box:
    """A rectangle ``[x0, x1) × [y0, y1)`` in pixels.

    Examples
    --------
    >>> int(Box(1, 1, 3, 4).mask((5, 5)).sum())
    6
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W) map of the pixels in the region."""
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ShapeError(f"Box: expected x1 > x0 and y1 > y0, got {self}")
        out = np.zeros(shape, bool)
        h, w = shape
        x0, x1 = max(0, math.floor(self.x0)), min(w, math.ceil(self.x1))
        y0, y1 = max(0, math.floor(self.y0)), min(h, math.ceil(self.y1))
        out[y0:y1, x0:x1] = True
        return out


@dataclass(frozen=True)
class Ellipse:
    """An ellipse centred at ``(cx, cy)`` with semi-axes ``rx``, ``ry`` (pixels), turned by
    ``angle_deg`` (clockwise on screen, y down). Holds the pixels whose centres lie inside.

    Examples
    --------
    >>> int(Ellipse(5.5, 5.5, 2, 1).mask((11, 11)).sum())  # centre of pixel (5, 5)
    7
    """

    cx: float
    cy: float
    rx: float
    ry: float
    angle_deg: float = 0.0

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W) map of the pixels in the region."""
        if self.rx <= 0 or self.ry <= 0:
            raise ShapeError(f"Ellipse: semi-axes must be positive, got {self.rx}, {self.ry}")
        h, w = shape
        yy, xx = np.mgrid[:h, :w].astype(np.float64)
        dx, dy = xx + 0.5 - self.cx, yy + 0.5 - self.cy
        a = math.radians(self.angle_deg)
        u = dx * math.cos(a) + dy * math.sin(a)
        v = -dx * math.sin(a) + dy * math.cos(a)
        return (u / self.rx) ** 2 + (v / self.ry) ** 2 <= 1.0


@dataclass(frozen=True)
class Polygon:
    """A polygon through ``points`` ``((x, y), ...)``; holds the pixels whose centres
    ``(x + 0.5, y + 0.5)`` lie inside (so a square polygon and the :class:`Box` with the same
    corners hold the same pixels).

    Examples
    --------
    >>> int(Polygon(((0, 0), (3, 0), (3, 3), (0, 3))).mask((5, 5)).sum())
    9
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        points = tuple((float(x), float(y)) for x, y in self.points)
        if len(points) < 3:
            raise ShapeError(f"Polygon: expected at least 3 points, got {len(points)}")
        object.__setattr__(self, "points", points)

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W) map of the pixels in the region."""
        from skimage.draw import polygon

        xy = np.array(self.points) - 0.5  # pixel centres sit at integer indices
        rows, cols = polygon(xy[:, 1], xy[:, 0], shape=shape)
        out = np.zeros(shape, bool)
        out[rows, cols] = True
        return out


@dataclass(frozen=True)
class Line:
    """A line from ``(x0, y0)`` to ``(x1, y1)``: the pixels it passes, one per step.

    Examples
    --------
    >>> int(Line(0, 0, 4, 2).mask((5, 5)).sum())
    5
    """

    x0: float
    y0: float
    x1: float
    y1: float

    def pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Column and row indices (int64) of the pixels from start to end, in order."""
        c0, r0, c1, r1 = (math.floor(v) for v in (self.x0, self.y0, self.x1, self.y1))
        n = max(abs(c1 - c0), abs(r1 - r0)) + 1
        cols = np.round(np.linspace(c0, c1, n)).astype(np.int64)
        rows = np.round(np.linspace(r0, r1, n)).astype(np.int64)
        return cols, rows

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W) map of the pixels in the region."""
        out = np.zeros(shape, bool)
        cols, rows = self.pixels()
        inside = (cols >= 0) & (cols < shape[1]) & (rows >= 0) & (rows < shape[0])
        out[rows[inside], cols[inside]] = True
        return out


Region = Union[Spot, Box, Ellipse, Polygon, Line]  # noqa: UP007 (a runtime alias)
"""Any measurement region."""

_KINDS = {"spot": Spot, "box": Box, "ellipse": Ellipse, "polygon": Polygon, "line": Line}


def region_from_dict(spec: Mapping[str, Any]) -> Region:
    """Build a region from a JSON-friendly mapping with a ``"type"`` key.

    Examples
    --------
    >>> region_from_dict({"type": "box", "x0": 0, "y0": 0, "x1": 4, "y1": 2})
    Box(x0=0, y0=0, x1=4, y1=2)
    >>> region_from_dict({"type": "polygon", "points": [[0, 0], [3, 0], [0, 3]]}).points[1]
    (3.0, 0.0)
    """
    spec = dict(spec)
    kind = str(spec.pop("type", "")).lower()
    if kind not in _KINDS:
        raise ValueError(f"region type: expected one of {', '.join(_KINDS)}, got {kind!r}")
    if kind == "polygon":
        spec["points"] = tuple(tuple(p) for p in spec.get("points", ()))
    try:
        return _KINDS[kind](**spec)
    except TypeError as exc:
        raise ValueError(f"region {kind}: {exc}") from None


def _as_region(region: Region | Mapping[str, Any]) -> Region:
    if isinstance(region, Mapping):
        return region_from_dict(region)
    if not isinstance(region, tuple(_KINDS.values())):
        raise TypeError(
            f"region: expected Spot, Box, Ellipse, Polygon, Line or a mapping, "
            f"got {type(region).__name__}"
        )
    return region


@dataclass(frozen=True)
class RegionStats:
    """Statistics of the temperatures in one region (°C; locations as ``(x, y)`` pixels).

    ``area_px`` counts the valid pixels, ``invalid_px`` the pixels of the region where the
    temperature is undefined. With no valid pixel the statistics are NaN and the locations
    None.
    """

    min_c: float
    max_c: float
    mean_c: float
    median_c: float
    std_c: float
    min_xy: tuple[int, int] | None
    max_xy: tuple[int, int] | None
    area_px: int
    invalid_px: int
    box: tuple[int, int, int, int]

    def value(self, statistic: Statistic) -> float:
        """The named statistic: ``"min"``, ``"max"``, ``"mean"`` or ``"median"``."""
        if statistic not in ("min", "max", "mean", "median"):
            raise ValueError(f"statistic: expected min, max, mean or median, got {statistic!r}")
        return float(getattr(self, f"{statistic}_c"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes None)."""
        from imaging._shared.jsonable import to_jsonable

        return to_jsonable(
            {
                "min_c": self.min_c,
                "max_c": self.max_c,
                "mean_c": self.mean_c,
                "median_c": self.median_c,
                "std_c": self.std_c,
                "min_xy": self.min_xy,
                "max_xy": self.max_xy,
                "area_px": self.area_px,
                "invalid_px": self.invalid_px,
                "box": self.box,
            }
        )


def _temperatures(image: Any, overrides: dict[str, Any]) -> np.ndarray:
    """The °C map of ``image`` (an array or a ThermalImage), with parameter overrides."""
    if isinstance(image, np.ndarray) or not hasattr(image, "temperature_c"):
        if overrides:
            raise ValueError(
                "emissivity/distance per region need the raw counts: pass the ThermalImage "
                f"from read_thermal, not a temperature array (got overrides {sorted(overrides)})"
            )
        t = check_image(image, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
        return t
    return image.temperature_c(**overrides)


def measure(
    image: Any,
    region: Region | Mapping[str, Any],
    /,
    **overrides: Any,
) -> RegionStats:
    """Measure the temperatures in a region: min, max, mean, median, std and where the extremes
    are.

    Parameters
    ----------
    image : ndarray (H, W) float32/float64 or ThermalImage
        Temperatures in °C, or a frame from :func:`~imaging.thermal.radiometry.read_thermal`.
    region : Spot, Box, Ellipse, Polygon, Line or mapping
        The region (a mapping goes through :func:`region_from_dict`).
    **overrides
        Radiometric parameters for this region only, e.g. ``emissivity=0.7`` for a painted
        surface or ``distance_m=12``; they need a ThermalImage with raw counts.

    Returns
    -------
    RegionStats
        Statistics over the region's valid pixels; ``min_xy`` and ``max_xy`` are ``(x, y)``
        of the first coldest and hottest pixel in row-major order.

    Raises
    ------
    ShapeError
        The region lies wholly outside the image.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(20, dtype=np.float32).reshape(4, 5)
    >>> s = measure(t, Box(1, 1, 3, 3))
    >>> s.min_c, s.max_c, s.max_xy, s.area_px
    (6.0, 12.0, (2, 2), 4)
    """
    region = _as_region(region)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    t = _temperatures(image, overrides)
    mask = region.mask(t.shape)
    if not mask.any():
        raise ShapeError(f"region {region} lies outside the {t.shape[1]}x{t.shape[0]} image")
    rows, cols = np.nonzero(mask)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    values = t[rows, cols].astype(np.float64)
    valid = np.isfinite(values)
    invalid = int(values.size - valid.sum())
    if not valid.any():
        nan = float("nan")
        return RegionStats(nan, nan, nan, nan, nan, None, None, 0, invalid, box)
    rows, cols, values = rows[valid], cols[valid], values[valid]
    lo, hi = int(np.argmin(values)), int(np.argmax(values))
    return RegionStats(
        min_c=float(values[lo]),
        max_c=float(values[hi]),
        mean_c=float(values.mean()),
        median_c=float(np.median(values)),
        std_c=float(values.std()),
        min_xy=(int(cols[lo]), int(rows[lo])),
        max_xy=(int(cols[hi]), int(rows[hi])),
        area_px=int(values.size),
        invalid_px=invalid,
        box=box,
    )


def measure_all(
    image: Any, regions: Mapping[str, Region | Mapping[str, Any]]
) -> dict[str, RegionStats]:
    """Measure several named regions of one image.

    A region given as a mapping may carry its own ``emissivity``/``distance_m`` (and other
    parameter overrides) beside its geometry.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.zeros((4, 4), np.float32)
    >>> sorted(measure_all(t, {"a": Spot(1, 1), "b": {"type": "box", "x0": 0, "y0": 0,
    ...                                               "x1": 2, "y1": 2}}))
    ['a', 'b']
    """
    from imaging.thermal.planck import ThermalParams

    names = {f for f in ThermalParams.__dataclass_fields__}
    out = {}
    for name, spec in regions.items():
        overrides: dict[str, Any] = {}
        if isinstance(spec, Mapping):
            overrides = {k: v for k, v in spec.items() if k in names}
            spec = {k: v for k, v in spec.items() if k not in names}
        out[str(name)] = measure(image, spec, **overrides)
    return out


def line_profile(
    temperature_c: np.ndarray, line: Line | Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Temperatures along a line, start to end.

    Returns
    -------
    distance_px : ndarray of float32
        Distance of each sample from the start, in pixels.
    values_c : ndarray of float32
        Temperature at each sample (NaN outside the image or where undefined).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(25, dtype=np.float32).reshape(5, 5)
    >>> line_profile(t, Line(0, 0, 4, 0))[1].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    line = _as_region(line)
    if not isinstance(line, Line):
        raise TypeError(f"line: expected a Line, got {type(line).__name__}")
    t = check_image(temperature_c, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
    cols, rows = line.pixels()
    inside = (cols >= 0) & (cols < t.shape[1]) & (rows >= 0) & (rows < t.shape[0])
    values = np.full(cols.shape, np.nan, np.float32)
    values[inside] = t[rows[inside], cols[inside]]
    distance = np.hypot(cols - cols[0], rows - rows[0]).astype(np.float32)
    return distance, values


def isotherm(
    temperature_c: np.ndarray, *, low_c: float | None = None, high_c: float | None = None
) -> np.ndarray:
    """The pixels inside a temperature band (an isotherm): ``low_c ≤ T ≤ high_c``.

    Give ``low_c`` only for "above", ``high_c`` only for "below". NaN pixels are never in.
    Colour them with :func:`imaging.thermal.palettes.overlay_mask`.

    Returns
    -------
    ndarray (H, W) bool

    Examples
    --------
    >>> import numpy as np
    >>> isotherm(np.array([[20.0, 31.0, 40.0]]), low_c=30, high_c=35).tolist()
    [[False, True, False]]
    """
    t = check_image(temperature_c, name="temperature_c", ndim=2, dtypes=(np.float32, np.float64))
    if low_c is None and high_c is None:
        raise ValueError("isotherm: give low_c, high_c or both")
    if low_c is not None and high_c is not None and low_c > high_c:
        raise ValueError(f"isotherm: low_c {low_c} is above high_c {high_c}")
    out = np.isfinite(t)
    with np.errstate(invalid="ignore"):
        if low_c is not None:
            out &= t >= low_c
        if high_c is not None:
            out &= t <= high_c
    return out


def _region_box(stats: RegionStats) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in stats.box)  # type: ignore[return-value]


def _whole(t: np.ndarray) -> Box:
    return Box(0, 0, t.shape[1], t.shape[0])


def _stats_for(image: Any, region: Any) -> tuple[RegionStats, np.ndarray]:
    t = _temperatures(image, {})
    return measure(t, region if region is not None else _whole(t)), t


def alarm_above(
    image: Any,
    level_c: float,
    *,
    region: Region | Mapping[str, Any] | None = None,
    statistic: Statistic = "max",
    name: str = "",
) -> Flag | None:
    """An ``alarm`` flag when a region's statistic (default its maximum) exceeds ``level_c``.

    Returns
    -------
    Flag or None
        ``kind="alarm"``, box of the extreme pixel for min/max (else of the region), data
        ``rule="above"``, ``value_c``, ``level_c``, ``statistic``, ``region``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((5, 5), 20.0, np.float32); t[2, 3] = 80
    >>> alarm_above(t, 60).box
    (3.0, 2.0, 4.0, 3.0)
    >>> alarm_above(t, 90) is None
    True
    """
    stats, _ = _stats_for(image, region)
    value = stats.value(statistic)
    if not value > level_c:
        return None
    return _alarm("above", stats, statistic, value, level_c, name, f"exceeds {level_c:.1f} °C")


def alarm_below(
    image: Any,
    level_c: float,
    *,
    region: Region | Mapping[str, Any] | None = None,
    statistic: Statistic = "min",
    name: str = "",
) -> Flag | None:
    """An ``alarm`` flag when a region's statistic (default its minimum) falls below
    ``level_c``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((5, 5), 20.0, np.float32); t[0, 0] = -5
    >>> alarm_below(t, 0).data["value_c"]
    -5.0
    """
    stats, _ = _stats_for(image, region)
    value = stats.value(statistic)
    if not value < level_c:
        return None
    return _alarm("below", stats, statistic, value, level_c, name, f"is below {level_c:.1f} °C")


def alarm_delta(
    image: Any,
    region: Region | Mapping[str, Any],
    *,
    reference: Region | Mapping[str, Any] | float,
    delta_c: float,
    statistic: Statistic = "max",
    reference_statistic: Statistic = "mean",
    name: str = "",
) -> Flag | None:
    """A Δ alarm (the "temperature contrast" rule): ``region``'s statistic exceeds the
    reference by more than ``delta_c``.

    Parameters
    ----------
    reference : region, mapping or float
        Another region (its ``reference_statistic``, default the mean) or a fixed °C value.
    delta_c : float
        The allowed difference; negative values alarm when the region is colder by more than
        ``-delta_c``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((10, 10), 20.0, np.float32); t[2:4, 2:4] = 29
    >>> flag = alarm_delta(t, Box(0, 0, 5, 5), reference=Box(5, 5, 10, 10), delta_c=5)
    >>> flag.data["difference_c"]
    9.0
    """
    if delta_c == 0:
        raise ValueError("alarm_delta: delta_c must not be 0")
    stats, t = _stats_for(image, region)
    if isinstance(reference, (int, float)):
        ref_value = float(reference)
    else:
        ref_value = measure(t, reference).value(reference_statistic)
    value = stats.value(statistic)
    difference = value - ref_value
    triggered = difference > delta_c if delta_c > 0 else difference < delta_c
    if not triggered:
        return None
    flag = _alarm(
        "delta",
        stats,
        statistic,
        value,
        ref_value + delta_c,
        name,
        f"differs from the reference ({ref_value:.1f} °C) by {difference:+.1f} °C "
        f"(limit {delta_c:+.1f} °C)",
    )
    data = dict(flag.data) | {
        "reference_c": round(ref_value, 3),
        "difference_c": round(difference, 3),
        "delta_c": delta_c,
    }
    return Flag(flag.kind, flag.box, flag.score, flag.message, data)


def check_alarm(image: Any, spec: Mapping[str, Any]) -> Flag | None:
    """Evaluate one alarm rule given as a JSON-friendly mapping.

    ``spec["rule"]`` is ``"above"`` or ``"below"`` (with ``level_c``) or ``"delta"`` (with
    ``region``, ``reference`` and ``delta_c``); the other keys (``region``, ``statistic``,
    ``reference_statistic``, ``name``) are those of :func:`alarm_above`, :func:`alarm_below`
    and :func:`alarm_delta`. Regions may be mappings (:func:`region_from_dict`).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((5, 5), 20.0, np.float32); t[1, 1] = 70
    >>> check_alarm(t, {"rule": "above", "level_c": 60, "name": "cargo"}).message
    'max 70.0 °C in cargo exceeds 60.0 °C'
    """
    spec = dict(spec)
    rule = spec.pop("rule", None)
    functions = {"above": alarm_above, "below": alarm_below, "delta": alarm_delta}
    if rule not in functions:
        raise ValueError(f"alarm rule: expected above, below or delta, got {rule!r}")
    try:
        if rule == "delta":
            region = spec.pop("region")
            return alarm_delta(image, region, **spec)
        return functions[rule](image, spec.pop("level_c"), **spec)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"alarm {rule}: missing or unknown setting ({exc})") from None


def _alarm(
    rule: str,
    stats: RegionStats,
    statistic: str,
    value: float,
    level_c: float,
    name: str,
    text: str,
) -> Flag:
    location = {"max": stats.max_xy, "min": stats.min_xy}.get(statistic)
    if location is not None:
        box = (location[0], location[1], location[0] + 1, location[1] + 1)
    else:
        box = _region_box(stats)
    where = f" in {name}" if name else ""
    excess = abs(value - level_c)
    return Flag(
        "alarm",
        box,
        float(min(1.0, 0.5 + excess / 10.0)),
        f"{statistic} {value:.1f} °C{where} {text}",
        {
            "rule": rule,
            "statistic": statistic,
            "value_c": round(value, 3),
            "level_c": level_c,
            "region": name,
        },
    )
