"""The X-ray analyzer: calibrate, enhance, classify materials, flag dense areas, compare with a
reference scan, and run a threat detector (the shipped one unless told otherwise)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np

from imaging._shared.errors import ShapeError
from imaging.analyzer import AnalyzerBase, ImageInput, source_name
from imaging.results import Detections, Result

__all__ = ["DEFAULT_DETECTOR", "XrayAnalyzer"]

DEFAULT_DETECTOR = "xray-threat"  # the shipped model of models/xray/


def _load(value: Any) -> np.ndarray:
    if isinstance(value, (str, os.PathLike)):
        from imaging.xray.dicos import is_dicom, read_projection

        if is_dicom(value):
            return read_projection(value)
    if isinstance(value, (str, os.PathLike, bytes)):
        from imaging.io import imread

        return imread(value)
    return np.asarray(value)


def _split_dual(image: np.ndarray, low: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(high, low) from a (2, H, W) stack (low energy first) or from a separate low image."""
    if low is not None:
        return image, _load(low)
    if image.ndim == 3 and image.shape[0] == 2 and image.shape[2] not in (3, 4):
        return image[1], image[0]
    return image, None


class XrayAnalyzer(AnalyzerBase):
    """Analyze single- or dual-energy X-ray scans.

    Parameters
    ----------
    preset : str
        Enhancement preset of the ``enhanced`` map (see :data:`imaging.xray.enhance.PRESETS`).
    impenetrable_a : float
        Attenuation from which a region counts as impenetrable.
    min_dense_area_px : int
        Smallest dense region flagged.
    reference_threshold_a : float
        Excess attenuation over the reference scan that is flagged.
    anomaly_model : str, optional
        Path of a normal-content model made by ``imaging xray fit-normal``; adds an
        ``anomaly`` map and ``anomaly`` flags above ``anomaly_threshold`` (z-score).
    material_table : str, optional
        Path of a site's calibrated material table (JSON); default the XCOM-derived one.
    detector : str or None
        Threat detector run on the display image through
        :class:`imaging.runtime.OnnxDetector`: a shipped model name (default
        ``"xray-threat"``, see ``models/xray/threat_detector.md`` for what it can and cannot
        find), the path of any detector in a YOLO export layout, or None for none. Each
        detection also raises a ``threat`` flag.
    detector_threshold : float
        Minimum detection score (0.25: chosen for the shipped model on simulated validation
        scans, where it gave recall 0.98 at 0.23 false flags per scan).
    providers : str
        ONNX execution providers for the detector.

    ``analyze(image, **context)``: ``image`` is a path or an array: uint16 raw counts, uint8
    display images (grey or pseudo-coloured RGB), float attenuation, or a (2, H, W) dual-energy
    stack (low energy first; a 2-page TIFF reads as one); DICOS/DICOM projections are read
    with air bright (:func:`imaging.xray.dicos.read_projection`). Context: ``low`` (the low-energy
    image when given separately), ``dark`` and ``air`` reference lines ((H,) or (H, n); for
    dual energy a pair), ``reference`` (a reference scan of the same container type).

    A scan that is well formed but useless (one value everywhere, no signal, saturated counts,
    NaN pixels) gets image-wide ``quality`` flags first (see :mod:`imaging.xray.quality`);
    float values that cannot be attenuations and a dual-energy pair whose low energy does not
    attenuate more (swapped channels) raise :class:`~imaging.xray.errors.ScanError`, and
    mismatched shapes :class:`~imaging.ShapeError`.

    Examples
    --------
    >>> from imaging.xray.simulate import simulate_scan
    >>> scan = simulate_scan(2, shape=(96, 128), threats=("dense_block",))
    >>> result = XrayAnalyzer().analyze(scan.high, low=scan.low)
    >>> sorted(result.maps)
    ['attenuation', 'display', 'enhanced', 'materials']
    """

    name = "xray"

    def __init__(
        self,
        *,
        preset: str = "super",
        impenetrable_a: float = 5.0,
        min_dense_area_px: int = 100,
        reference_threshold_a: float = 0.3,
        material_table: str | None = None,
        detector: str | None = DEFAULT_DETECTOR,
        detector_threshold: float = 0.25,
        anomaly_model: str | None = None,
        anomaly_threshold: float = 4.0,
        providers: str = "cpu",
    ) -> None:
        from imaging.xray.enhance import PRESETS
        from imaging.xray.materials import load_table

        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.preset = preset
        self.impenetrable_a = float(impenetrable_a)
        self.min_dense_area_px = int(min_dense_area_px)
        self.reference_threshold_a = float(reference_threshold_a)
        self.table = load_table(material_table)
        self.providers = providers
        self.anomaly_model = anomaly_model
        self.anomaly_threshold = float(anomaly_threshold)
        if anomaly_model is not None:
            from imaging.runtime import get_session

            get_session(os.fspath(anomaly_model), providers=providers)  # opened once, here
        self.detector = None
        if detector == DEFAULT_DETECTOR:
            from imaging.runtime import shipped_models

            if DEFAULT_DETECTOR not in shipped_models():  # a build without the model
                detector = None
        if detector is not None:
            from imaging.runtime import OnnxDetector

            # one flag per object: a knife also scored as a blade is still one knife
            self.detector = OnnxDetector(
                detector,
                conf_threshold=detector_threshold,
                class_agnostic=True,
                providers=providers,
            )

    def warmup(self) -> None:
        """Compile kernels and open the detector on a small simulated scan."""
        from imaging.io import warmup
        from imaging.xray.simulate import simulate_scan

        warmup()
        scan = simulate_scan(0, shape=(64, 96), threats=("knife",))
        self.analyze(scan.high, low=scan.low, dark=scan.dark, air=scan.air)
        self.analyze(np.stack([scan.low, scan.high]))
        self.analyze(np.zeros((16, 16, 3), np.uint8))

    def _attenuation(self, image: np.ndarray, dark: Any, air: Any) -> np.ndarray:
        from imaging.xray.calibrate import attenuation, destripe
        from imaging.xray.enhance import to_attenuation

        if image.dtype == np.uint16 and image.ndim == 2:
            a = attenuation(image, dark=dark, air=air)
            return destripe(a)
        return to_attenuation(image)

    def analyze(self, image: ImageInput, /, **context: Any) -> Result:
        from imaging._shared.timing import stage
        from imaging.draw import to_display
        from imaging.xray import materials as mat
        from imaging.xray.calibrate import DEFAULT_FLOOR
        from imaging.xray.enhance import PRESETS
        from imaging.xray.flags import dense_flags, reference_flags
        from imaging.xray.quality import check_attenuation_range, check_energy_order, quality_flags

        timings: dict[str, float] = {}
        with stage(timings, "read"):
            pixels = _load(image)
            high, low = _split_dual(pixels, context.get("low"))
        for name, values in (("image", high), ("low-energy image", low)):
            if values is not None and np.issubdtype(values.dtype, np.floating):
                check_attenuation_range(values, name)
        dark, air = context.get("dark"), context.get("air")
        pair = low is not None

        def energy(values: Any, k: int) -> Any:
            if values is None or not pair:
                return values
            values = np.asarray(values)
            return values[k] if values.ndim >= 2 and values.shape[0] == 2 else values

        with stage(timings, "calibrate"):
            a_high = self._attenuation(high, energy(dark, 1), energy(air, 1))
            a_low = self._attenuation(low, energy(dark, 0), energy(air, 0)) if pair else None
            if a_low is not None and a_low.shape != a_high.shape:
                raise ShapeError(f"low-energy image {a_low.shape} and high {a_high.shape} differ")
        measurements: dict[str, Any] = {"dual_energy": pair}
        floor_a = float(-np.log(DEFAULT_FLOOR))
        flags = quality_flags(high, a_high, floor_a=floor_a, air=energy(air, 1))
        if pair:
            flags += [
                replace(f, message=f"low energy: {f.message}", data={**f.data, "energy": "low"})
                for f in quality_flags(low, a_low, floor_a=floor_a, air=energy(air, 0))
            ]
            if all(f.data["problem"] == "invalid-pixels" for f in flags):
                # (blank, starved or saturated data is flagged, not judged)
                ratio = check_energy_order(a_low, a_high, floor_a=floor_a - 0.2)
                if ratio is not None:
                    measurements["energy_ratio_median"] = round(ratio, 4)
        maps: dict[str, np.ndarray] = {"attenuation": a_high}
        with stage(timings, "enhance"):
            function, defaults = PRESETS[self.preset]
            enhanced = function(a_high, **defaults)
            maps["enhanced"] = enhanced
        with stage(timings, "materials"):
            classes = None
            if pair:
                classes = mat.classify(a_low, a_high, table=self.table)
            elif high.ndim == 3 and high.dtype == np.uint8:
                classes = mat.hue_to_class(high)
            if classes is not None:
                maps["materials"] = classes
                total = classes.size
                measurements["material_fractions"] = {
                    name: round(float((classes == code).sum()) / total, 4)
                    for code, name in enumerate(mat.CLASS_NAMES)
                    if code
                }
                maps["display"] = mat.colorize(a_high, classes) if pair else high[..., :3]
            else:
                maps["display"] = to_display((enhanced * 255).astype(np.uint8))
        with stage(timings, "flags"):
            flags += dense_flags(
                a_high, impenetrable_a=self.impenetrable_a, min_area_px=self.min_dense_area_px
            )
            if context.get("reference") is not None:
                ref_image = _load(context["reference"])
                ref_high, _ = _split_dual(ref_image, None)
                a_ref = self._attenuation(ref_high, None, None)
                more, difference = reference_flags(
                    a_high, a_ref, threshold_a=self.reference_threshold_a
                )
                flags += more
                maps["difference"] = difference
        if self.anomaly_model is not None:
            from imaging.xray.anomaly import anomaly_flags, anomaly_map

            with stage(timings, "anomaly"):
                z = anomaly_map(a_high, self.anomaly_model, providers=self.providers)
                maps["anomaly"] = z
                flags += anomaly_flags(z, threshold=self.anomaly_threshold)
        measurements["dense_fraction"] = round(float((a_high >= self.impenetrable_a).mean()), 5)
        detections = Detections.empty()
        models: dict[str, str] = {}
        if self.detector is not None:
            with stage(timings, "detect"):
                detections = self.detector(maps["display"])
                models[self.detector.name] = self.detector.sha256
            flags += _threat_flags(detections)
        return Result(
            source=source_name(image, context),
            modality=self.name,
            detections=detections,
            flags=flags,
            maps=maps,
            measurements=measurements,
            timings_ms=timings,
            models=models,
            image_shape=a_high.shape,
        )


def _threat_flags(detections: Detections) -> list:
    from imaging.results import Flag

    labels = detections.data.get("label", ["threat"] * len(detections))
    scores = detections.confidence
    if scores is None:
        scores = np.ones(len(detections))
    return [
        Flag(
            "threat",
            tuple(box),
            float(score),
            f"possible {label} ({score:.2f}): inspect by hand",
            data={"label": str(label)},
        )
        for box, score, label in zip(detections.xyxy, scores, labels, strict=True)
    ]
