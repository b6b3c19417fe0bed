"""The thermal analyzer: decode, convert to °C, measure, find hotspots and person-like heat."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from imaging.analyzer import AnalyzerBase, ImageInput, source_name
from imaging.results import Flag, Result
from imaging.thermal.planck import ThermalParameterError, ThermalParams

__all__ = ["OVERRIDES", "PARAMETER_NAMES", "ThermalAnalyzer"]

OVERRIDES = (
    "emissivity",
    "distance_m",
    "reflected_c",
    "atmosphere_c",
    "window_c",
    "window_transmission",
    "humidity_percent",
)
"""The scene parameters a caller usually sets per image (the camera constants are fixed)."""

PARAMETER_NAMES = tuple(f.name for f in fields(ThermalParams))
"""Every parameter of :class:`ThermalParams`; each may be given in ``analyze`` context."""

PLANCK_NAMES = frozenset({"planck_r1", "planck_r2", "planck_b", "planck_f", "planck_o"})


class ThermalAnalyzer(AnalyzerBase):
    """Analyze radiometric thermal images: temperatures, statistics, hotspots, alerts.

    All options are keyword-only and fixed at construction; :meth:`analyze` never changes the
    instance, so one analyzer can serve several threads.

    Parameters
    ----------
    above_background_c : float, optional
        A hotspot is at least this much warmer than its local background (None: no such
        criterion).
    background_percentile : float
        The local background is this percentile of the surrounding window (50: median).
    threshold_c : float, optional
        And, if given, at least this hot in absolute terms.
    gi_star_z : float, optional
        And, if given, significant by the Getis-Ord Gi* statistic (1.96: 5 %, 2.58: 1 %).
    min_area_px : int
        Smallest hotspot.
    max_hotspots : int
        At most this many hotspots, hottest first.
    extend_c : float, optional
        Hysteresis: a hotspot takes in the connected pixels that pass the temperature
        criteria loosened by this many degrees.
    alarm_above_c, alarm_below_c : float, optional
        Raise an ``alarm`` flag when the maximum exceeds (the minimum falls below) this.
    alarms : sequence of mapping
        Site alarm rules checked on every image, in the form of
        :func:`imaging.thermal.measure.check_alarm`: above/below a level in a region, or a
        Δ between a region and a reference region or temperature.
    detect_people : bool
        Raise ``person`` flags for person-like heat signatures (skin band ``person_band_c``).
    person_band_c : (float, float)
        Skin-surface temperature band of the person flag.
    palette : str
        Palette of the ``display`` map used for overlays (None: no display map).
    tlinear_scale : float or "auto"
        Kelvin per count of 16-bit TLinear TIFFs (0.04 or 0.01).
    params : ThermalParams, optional
        Camera constants for uint16 arrays of raw counts given without ``params`` context.
    providers : any
        Accepted for the common CLI interface; unused (no model).

    Notes
    -----
    ``analyze(image_or_path, /, **context)`` takes

    - a path or bytes: FLIR R-JPEG, FFF, SEQ or CSQ (frame ``context["frame"]``, default 0),
      16-bit TLinear TIFF, float TIFF/NPY of °C;
    - a float array of °C;
    - a uint16 array of raw counts with the camera's constants: ``context["params"]`` (a
      :class:`ThermalParams`), the five Planck constants as context fields, or the analyzer's
      ``params``; a uint16 array with ``context["tlinear_scale"]`` is TLinear data.

    Any :class:`ThermalParams` field in ``context`` (``emissivity``, ``distance_m``,
    ``reflected_c``, ``atmosphere_c``, ``window_c``, ``window_transmission``,
    ``humidity_percent``, the Planck constants...), or in a mapping ``context["params"]``,
    overrides the file's value; ``None`` values are ignored. A :class:`ThermalParams` in
    ``context["params"]`` replaces the file's parameters as a whole.

    ``context["alarms"]`` adds alarm rules for this call to the analyzer's own.

    :meth:`analyze_sequence` yields one result per frame of a SEQ/CSQ file, streamed.

    ``context["regions"]``, a mapping of names to :mod:`~imaging.thermal.measure` regions
    (or their dict form, which may carry its own ``emissivity``/``distance_m``), adds
    ``measurements["regions"]``: min/max/mean/median °C and the extremes' locations.

    The :class:`~imaging.results.Result` holds ``maps["temperature_c"]`` (float32 °C, NaN
    where the model is undefined), ``maps["valid_mask"]`` (bool), ``maps["display"]`` (uint8
    RGB); measurements ``min_c``, ``max_c``, ``mean_c``, ``median_c``, ``p5_c``, ``p95_c``
    over valid pixels, ``invalid_px``, ``saturated_px`` (pixels at the ends of the camera's
    raw range, when the file gives it), ``kind``, ``parameters`` (as applied); hotspot
    detections; ``person`` and ``alarm`` flags; ``timings_ms`` for ``decode``,
    ``temperature``, ``statistics``, ``hotspots``, ``render``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.full((48, 64), 12.0, np.float32); t[10:30, 20:30] = 33.0
    >>> result = ThermalAnalyzer().analyze(t)
    >>> result.measurements["max_c"], [f.kind for f in result.flags]
    (33.0, ['person'])
    """

    name = "thermal"

    def __init__(
        self,
        *,
        above_background_c: float | None = 5.0,
        background_percentile: float = 50.0,
        threshold_c: float | None = None,
        gi_star_z: float | None = None,
        min_area_px: int = 4,
        max_hotspots: int = 100,
        extend_c: float | None = None,
        alarm_above_c: float | None = None,
        alarm_below_c: float | None = None,
        detect_people: bool = True,
        person_band_c: tuple[float, float] = (28.0, 37.0),
        alarms: Sequence[Mapping[str, Any]] = (),
        palette: str | None = "iron",
        tlinear_scale: float | str = "auto",
        params: ThermalParams | None = None,
        providers: Any = None,
    ) -> None:
        from imaging.thermal.palettes import palette_lut

        if above_background_c is None and threshold_c is None and gi_star_z is None:
            raise ValueError(
                "ThermalAnalyzer: give at least one of above_background_c, threshold_c, gi_star_z"
            )
        if not 0.0 <= background_percentile <= 100.0:
            raise ValueError(
                f"background_percentile must lie in [0, 100], got {background_percentile}"
            )
        if tlinear_scale != "auto" and float(tlinear_scale) <= 0:
            raise ValueError(f"tlinear_scale must be positive or 'auto', got {tlinear_scale}")
        if params is not None and not isinstance(params, ThermalParams):
            raise TypeError(f"params: expected ThermalParams, got {type(params).__name__}")
        self.above_background_c = above_background_c
        self.background_percentile = float(background_percentile)
        self.threshold_c = threshold_c
        self.gi_star_z = gi_star_z
        self.min_area_px = int(min_area_px)
        self.max_hotspots = int(max_hotspots)
        if extend_c is not None and extend_c < 0:
            raise ValueError(f"extend_c must not be negative, got {extend_c}")
        if extend_c is not None and above_background_c is None and threshold_c is None:
            raise ValueError("extend_c loosens threshold_c or above_background_c: give one")
        self.extend_c = extend_c
        self.alarm_above_c = alarm_above_c
        self.alarm_below_c = alarm_below_c
        self.detect_people = bool(detect_people)
        self.person_band_c = (float(person_band_c[0]), float(person_band_c[1]))
        self.palette = palette
        self.tlinear_scale = tlinear_scale
        self.params = params.checked() if params is not None else None
        self.alarms = tuple(_frozen_rule(rule) for rule in alarms)
        if palette is not None:
            palette_lut(palette)  # validates the palette name

    def warmup(self) -> None:
        """Load the decoders, compile the kernels and build a lookup table on tiny synthetic
        inputs (an FFF frame with a PNG raw image, a 16-bit TIFF), so that the first real
        image costs what the others do."""
        import io

        import imagecodecs
        import tifffile

        from imaging.thermal.fff import _synthetic_frame

        frame = np.full((32, 32), 18000, np.uint16)
        frame[8:16, 8:16] = 20000
        self.analyze(frame, params=self.params or ThermalParams())
        png = imagecodecs.png_encode(frame.byteswap())
        self.analyze(_synthetic_frame(frame, png), regions={"all": {"type": "box", "x0": 0,
                     "y0": 0, "x1": 32, "y1": 32}})  # fmt: skip
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, np.full((32, 32), 7329, np.uint16))
        self.analyze(buffer.getvalue(), tlinear_scale=0.04)

    # ----------------------------------------------------------------------------------------

    def _read(
        self, image: ImageInput, context: Mapping[str, Any], overrides: Mapping[str, Any]
    ) -> Any:
        from imaging.thermal.radiometry import iter_frames, read_thermal

        params = context.get("params")
        params = params if isinstance(params, ThermalParams) else None
        scale = context.get("tlinear_scale") or self.tlinear_scale
        if isinstance(image, np.ndarray):
            if image.dtype == np.uint16 and params is None and "tlinear_scale" not in context:
                if PLANCK_NAMES <= set(overrides):
                    params = ThermalParams()  # every camera constant given in the context
                else:
                    params = self.params
            return read_thermal(image, params=params, tlinear_scale=scale)
        frame_index = int(context.get("frame") or 0)
        if frame_index:
            frames = iter_frames(image, start=frame_index)
            try:
                frame = next(frames, None)
            finally:
                frames.close()
            if frame is None:
                from imaging._shared.errors import PageError

                where = source_name(image, dict(context))
                raise PageError(f"{where}: has no frame {frame_index}")
            return _with_params(frame, params)
        return _with_params(read_thermal(image, params=params, tlinear_scale=scale), params)

    def analyze(self, image: ImageInput, /, **context: Any) -> Result:
        """Analyze one image or the first (``context["frame"]``-th) frame of a sequence.

        See the class documentation for the inputs and the context keys.
        """
        from imaging._shared.timing import stage

        timings: dict[str, float] = {}
        overrides = _overrides(context)
        with stage(timings, "decode"):
            frame = self._read(image, context, overrides)
        return self._analyze_frame(frame, source_name(image, context), context, overrides, timings)

    def analyze_sequence(
        self, source: str | os.PathLike | bytes, /, **context: Any
    ) -> Iterator[Result]:
        """Analyze every frame of a FLIR SEQ, CSQ or FFF file, one :class:`Result` per frame.

        Frames are decoded one at a time (memory does not grow with the length of the file);
        ``context["start"]`` skips the frames before it. Each result's source is
        ``"<source>#<frame>"``. A file cut or damaged mid-sequence yields the frames before
        the damage, then warns.

        Examples
        --------
        >>> for result in ThermalAnalyzer().analyze_sequence("flight.seq"):  # doctest: +SKIP
        ...     print(result.source, result.measurements["max_c"])
        """
        from imaging._shared.timing import stage
        from imaging.thermal.radiometry import iter_frames

        overrides = _overrides(context)
        params = context.get("params")
        params = params if isinstance(params, ThermalParams) else None
        if context.get("source") is not None:
            name = str(context["source"])
        else:
            name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<bytes>"
        frames = iter_frames(source, start=int(context.get("start") or 0))
        try:
            while True:
                timings: dict[str, float] = {}
                with stage(timings, "decode"):
                    frame = next(frames, None)
                if frame is None:
                    return
                frame = _with_params(frame, params)
                label = f"{name}#{frame.info.get('frame', 0)}"
                yield self._analyze_frame(frame, label, context, overrides, timings)
        finally:
            frames.close()

    def _analyze_frame(
        self,
        frame: Any,
        source: str,
        context: Mapping[str, Any],
        overrides: Mapping[str, Any],
        timings: dict[str, float],
    ) -> Result:
        from imaging._shared.timing import stage
        from imaging.thermal.hotspots import detect_hotspots, person_like_flags

        with stage(timings, "temperature"):
            t, valid = frame.temperature_c(return_mask=True, **overrides)
        with stage(timings, "statistics"):
            measurements = _statistics(t, valid)
            measurements["kind"] = frame.kind
            if frame.params is not None:
                applied = frame.params.replace(**overrides).checked()
                measurements["parameters"] = {k: getattr(applied, k) for k in PARAMETER_NAMES}
            for key in ("camera_model", "tlinear_scale", "frame", "date_time_original"):
                if frame.info.get(key) not in (None, ""):
                    measurements[key] = frame.info[key]
            saturated = _saturated_px(frame)
            if saturated is not None:
                measurements["saturated_px"] = saturated
            regions = context.get("regions")
            if regions:
                measurements["regions"] = _measure_regions(frame, t, regions, overrides)
        with stage(timings, "hotspots"):
            dets = detect_hotspots(
                t,
                threshold_c=self.threshold_c,
                above_background_c=self.above_background_c,
                background_percentile=self.background_percentile,
                gi_star_z=self.gi_star_z,
                min_area_px=self.min_area_px,
                max_hotspots=self.max_hotspots,
                extend_c=self.extend_c,
            )
            flags = person_like_flags(t, band_c=self.person_band_c) if self.detect_people else []
            flags.extend(self._alarms(t, measurements))
            if self.alarms or context.get("alarms"):
                from imaging.thermal.measure import check_alarm

                for rule in (*self.alarms, *(context.get("alarms") or ())):
                    flag = check_alarm(t, rule)
                    if flag is not None:
                        flags.append(flag)
        maps = {"temperature_c": t, "valid_mask": valid}
        if self.palette is not None:
            from imaging.thermal.palettes import render

            with stage(timings, "render"):
                maps["display"] = render(t, palette=self.palette)
        return Result(
            source=source,
            modality=self.name,
            detections=dets,
            flags=flags,
            maps=maps,
            measurements=measurements,
            timings_ms=timings,
            image_shape=t.shape,
        )

    def _alarms(self, t: np.ndarray, measurements: Mapping[str, Any]) -> list[Flag]:
        flags = []
        if self.alarm_above_c is not None and measurements.get("max_c", -np.inf) > (
            self.alarm_above_c
        ):
            y, x = np.unravel_index(np.nanargmax(t), t.shape)
            flags.append(
                Flag(
                    "alarm",
                    (x, y, x + 1, y + 1),
                    1.0,
                    f"{measurements['max_c']:.1f} °C exceeds the alarm level "
                    f"{self.alarm_above_c:.1f} °C",
                    {"rule": "above", "level_c": self.alarm_above_c},
                )
            )
        if self.alarm_below_c is not None and measurements.get("min_c", np.inf) < (
            self.alarm_below_c
        ):
            y, x = np.unravel_index(np.nanargmin(t), t.shape)
            flags.append(
                Flag(
                    "alarm",
                    (x, y, x + 1, y + 1),
                    1.0,
                    f"{measurements['min_c']:.1f} °C is below the alarm level "
                    f"{self.alarm_below_c:.1f} °C",
                    {"rule": "below", "level_c": self.alarm_below_c},
                )
            )
        return flags


def _frozen_rule(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    """A checked, read-only copy of an alarm rule (the analyzer's state never changes)."""
    from types import MappingProxyType

    if not isinstance(rule, Mapping):
        raise TypeError(f"alarms: expected mappings, got {type(rule).__name__}")
    if rule.get("rule") not in ("above", "below", "delta"):
        raise ValueError(f"alarm rule: expected above, below or delta, got {rule.get('rule')!r}")
    return MappingProxyType(dict(rule))


def _overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter overrides from the context: its ``params`` mapping, then its own fields."""
    given = context.get("params")
    if given is not None and not isinstance(given, (ThermalParams, Mapping)):
        raise ThermalParameterError(
            f"params: expected ThermalParams or a mapping of its fields, got {type(given).__name__}"
        )
    merged = dict(given) if isinstance(given, Mapping) else {}
    merged.update({k: context[k] for k in PARAMETER_NAMES if k in context})
    unknown = set(merged) - set(PARAMETER_NAMES)
    if unknown:
        raise ThermalParameterError(f"unknown thermal parameter(s): {', '.join(sorted(unknown))}")
    return {k: v for k, v in merged.items() if v is not None}


def _measure_regions(
    frame: Any, t: np.ndarray, regions: Any, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Statistics of each named region; a region with its own parameters (``emissivity``...)
    is measured on temperatures recomputed from the raw counts with them."""
    from imaging.thermal.measure import measure

    if not isinstance(regions, Mapping):
        raise TypeError(f"regions: expected a mapping of names to regions, got {regions!r}")
    out = {}
    for name, region in regions.items():
        own: dict[str, Any] = {}
        if isinstance(region, Mapping):
            own = {k: v for k, v in region.items() if k in PARAMETER_NAMES and v is not None}
            region = {k: v for k, v in region.items() if k not in PARAMETER_NAMES}
        if own:
            stats = measure(frame, region, **(dict(overrides) | own))
        else:
            stats = measure(t, region)
        out[str(name)] = stats.to_dict()
    return out


def _with_params(frame: Any, params: ThermalParams | None) -> Any:
    """The frame with the caller's parameters in place of the file's, when given."""
    if params is None or frame.raw is None:
        return frame
    from dataclasses import replace

    return replace(frame, params=params)


def _saturated_px(frame: Any) -> int | None:
    """Pixels at or beyond the camera's raw range (clipped: the scene may be hotter or colder
    than they read), when the file gives that range."""
    lo, hi = frame.info.get("raw_value_range_min"), frame.info.get("raw_value_range_max")
    if frame.raw is None or lo is None or hi is None or not 0 < lo < hi < 65535:
        return None
    return int(np.count_nonzero((frame.raw <= lo) | (frame.raw >= hi)))


def _statistics(t: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    values = t[valid]
    out: dict[str, Any] = {"invalid_px": int(valid.size - values.size)}
    out["valid_fraction"] = float(values.size / max(valid.size, 1))
    if values.size:
        p5, median, p95 = np.percentile(values, [5, 50, 95])
        out.update(
            min_c=float(values.min()),
            max_c=float(values.max()),
            mean_c=float(values.mean(dtype=np.float64)),
            median_c=float(median),
            p5_c=float(p5),
            p95_c=float(p95),
        )
    return out
