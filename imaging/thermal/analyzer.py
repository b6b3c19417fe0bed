"""The thermal analyzer: decode, convert to °C, measure, find hotspots and person-like heat."""

from __future__ import annotations

from typing import Any

import numpy as np

from imaging.analyzer import AnalyzerBase, ImageInput, source_name
from imaging.results import Result
from imaging.thermal.hotspots import detect_hotspots, person_like_flags
from imaging.thermal.palettes import render
from imaging.thermal.radiometry import read_thermal

__all__ = ["OVERRIDES", "ThermalAnalyzer"]

OVERRIDES = (
    "emissivity",
    "distance_m",
    "reflected_c",
    "atmosphere_c",
    "window_c",
    "window_transmission",
    "humidity_percent",
)


class ThermalAnalyzer(AnalyzerBase):
    """Analyze radiometric thermal images.

    Parameters
    ----------
    above_background_c : float
        A hotspot is at least this much warmer than its local background.
    threshold_c : float, optional
        And, if given, at least this hot in absolute terms.
    gi_star_z : float, optional
        And, if given, significant by the Getis-Ord Gi* statistic.
    min_area_px : int
        Smallest hotspot.
    alarm_above_c : float, optional
        Raise an ``alarm`` flag when the maximum exceeds this.
    detect_people : bool
        Raise ``person`` flags for person-like heat signatures.
    palette : str
        Palette of the ``display`` map used for overlays.
    tlinear_scale : float or "auto"
        Kelvin per count of TLinear TIFFs.

    ``analyze(path_or_array, **context)`` takes the file (R-JPEG, FFF, SEQ first frame,
    TLinear TIFF, float TIFF/NPY) or an array, and per-call overrides of the file's parameters
    in ``context``: ``emissivity``, ``distance_m``, ``reflected_c``, ``atmosphere_c``,
    ``window_c``, ``window_transmission``, ``humidity_percent``.

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
        above_background_c: float = 5.0,
        threshold_c: float | None = None,
        gi_star_z: float | None = None,
        min_area_px: int = 4,
        alarm_above_c: float | None = None,
        detect_people: bool = True,
        palette: str = "iron",
        tlinear_scale: float | str = "auto",
        providers: Any = None,
    ) -> None:
        self.above_background_c = above_background_c
        self.threshold_c = threshold_c
        self.gi_star_z = gi_star_z
        self.min_area_px = int(min_area_px)
        self.alarm_above_c = alarm_above_c
        self.detect_people = bool(detect_people)
        self.palette = palette
        self.tlinear_scale = tlinear_scale
        render(np.zeros((1, 1), np.float32), palette=palette)  # validates the palette name

    def warmup(self) -> None:
        """Compile the kernels and build the lookup tables on a tiny synthetic frame."""
        frame = np.full((32, 32), 18000, np.uint16)
        frame[8:16, 8:16] = 20000
        self.analyze(frame)

    def analyze(self, image: ImageInput, /, **context: Any) -> Result:
        from imaging._shared.timing import stage

        timings: dict[str, float] = {}
        overrides = {k: context.get(k) for k in OVERRIDES}
        with stage(timings, "decode"):
            frame = read_thermal(image, tlinear_scale=self.tlinear_scale)
        with stage(timings, "temperature"):
            t = frame.temperature_c(**overrides)
        valid = np.isfinite(t)
        measurements: dict[str, Any] = {
            "kind": frame.kind,
            "valid_fraction": float(valid.mean()),
        }
        if valid.any():
            values = t[valid]
            measurements.update(
                min_c=float(values.min()),
                max_c=float(values.max()),
                mean_c=float(values.mean()),
                median_c=float(np.median(values)),
            )
        if frame.params is not None:
            applied = frame.params.replace(**overrides)
            measurements["parameters"] = {k: getattr(applied, k) for k in OVERRIDES}
        for key in ("camera_model", "tlinear_scale", "frame"):
            if frame.info.get(key) not in (None, ""):
                measurements[key] = frame.info[key]
        with stage(timings, "hotspots"):
            dets = detect_hotspots(
                t,
                threshold_c=self.threshold_c,
                above_background_c=self.above_background_c,
                gi_star_z=self.gi_star_z,
                min_area_px=self.min_area_px,
            )
            flags = person_like_flags(t) if self.detect_people else []
        if (
            self.alarm_above_c is not None
            and measurements.get("max_c", -np.inf) > self.alarm_above_c
        ):
            from imaging.results import Flag

            y, x = np.unravel_index(np.nanargmax(t), t.shape)
            flags.append(
                Flag(
                    "alarm",
                    (x, y, x + 1, y + 1),
                    1.0,
                    f"{measurements['max_c']:.1f} °C exceeds the alarm level "
                    f"{self.alarm_above_c:.1f} °C",
                )
            )
        with stage(timings, "render"):
            display = render(t, palette=self.palette)
        return Result(
            source=source_name(image, context),
            modality=self.name,
            detections=dets,
            flags=flags,
            maps={"temperature_c": t, "display": display},
            measurements=measurements,
            timings_ms=timings,
            image_shape=t.shape,
        )
