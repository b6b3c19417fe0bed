"""The number-plate analyzer: detect plates, rectify them, read them, validate the format."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from typing import Any

import numpy as np

from imaging.analyzer import AnalyzerBase, ImageInput, source_name
from imaging.anpr.formats import match_plate
from imaging.anpr.read import PlateText
from imaging.results import Detections, Result

__all__ = [
    "BRIGHTENED_MEDIAN",
    "CONFIRMED_MIN_TEXT_CONFIDENCE",
    "CONFIRMED_SCORE_FRACTION",
    "CONFIRMING_PLATE_SCORE",
    "DARK_MEDIAN",
    "EXTEND_RIGHT",
    "LEVEL_FROM_DEGREES",
    "LOOK_ALIKES",
    "LOOSE_MIN_PLATE_SCORE",
    "MAX_LEFT_OUT",
    "MIN_PLATE_CHARS",
    "PLATE_SCORE_WEIGHT",
    "REFINED_BOX_IOU",
    "REFINED_DUP_IOU",
    "REFINED_MIN_PLATE_SCORE",
    "REGION_BOX_COUNTRIES",
    "SHORT_CATCH_ALL_CHARS",
    "SHORT_MIN_PLATE_SCORE",
    "SHORT_MIN_TEXT_CONFIDENCE",
    "WIDEN_ACROSS",
    "WIDEN_DOWN",
    "ZOOM_OUT",
    "ZOOM_OUT_FROM",
    "AnprAnalyzer",
]

MIN_PLATE_CHARS = 3  # shorter readings are signs, stickers or parts of a plate, not plates
# A crop whose edges and text rows slope by this much or more is cut again along the slope
# and read again; the more confident reading is kept (plates seen from the side).
LEVEL_FROM_DEGREES = 3.0
# The detector's box can cut a plate short (a Russian region box left out, read as a
# catch-all US-like text or with a shorter region): every crop is cut again this much wider
# and higher and read again. The wider reading replaces the first when it fits a specific
# format with a confidence of at least WIDER_MIN_CONFIDENCE and is a longer reading of the
# same characters, or (the first fitting only a catch-all format) holds it or is surer, or is
# a surer, shorter reading the first holds (an edge or sticker read as a character). A wider
# reading of only a catch-all format replaces a first of no specific format that it holds,
# and, where the first fits the catch-all too, is at least as confident (a US plate cut
# wider can take in a sticker's or the state name's letter: 150 real US plates in the
# held-back scenes 128 -> 129 read). A crop that reads one or two characters is not cut
# again: it holds a sticker's, emblem's or sign's characters, since a plate the box cut
# short still shows most of its own (MIN_PLATE_CHARS).
WIDEN_ACROSS = 0.16
WIDEN_DOWN = 0.06
WIDER_MIN_CONFIDENCE = 0.5
# A reading that fills the first slots of a longer pattern of a country whose plates end in
# a region box, one to three short (a Russian plate read without its region, a Kazakh one),
# is cut again this fraction of its width farther to the right and read again; the longer
# reading is kept as a wider cut's is (on the in-scene set the region of 0.2-0.3 of the width
# more was read where the 16 % wider cut had not reached it).
EXTEND_RIGHT = 0.25
REGION_BOX_COUNTRIES = ("RU", "KZ")  # plates ending in a boxed region code
NMS_IOU = 0.3  # boxes of the detector's passes overlapping more are one plate
# The box refiner's box of a plate that overlaps the detector's box less than this (IoU) is
# read as one more box of the plate, and the box that reads best is kept (the detector's box
# of a plate 20-60 pixels wide can end a character short or shift off the first one) ...
REFINED_BOX_IOU = 0.75
# ... unless it overlaps another box to be read (of another pass, or refined) more than this:
# the refined boxes of one plate found in the whole image and in a tile often coincide.
REFINED_DUP_IOU = 0.8
# ... nor where the refiner's plate score of the box is below this, and such a box is not cut
# again wider either: lettering, lamps and badges are read once, from the detector's box (on
# all 112 development photos 11 % faster; real plates there score 0.98 or more). Where the
# photo holds a sure plate (the detector's score at the analyzer's threshold, the refiner's
# at CONFIRMING_PLATE_SCORE), such a box is not read at all: on the 112 photos 661 -> 541
# crops read, the plates read the same and 7 badges and signs read as plates no longer
# reported; alone in a photo it is still read (of 858 plates read right in the held-back
# scenes, 4 scored under 0.01: small synthetic plates the detector and OCR got right).
REFINED_MIN_PLATE_SCORE = 0.01
# A refiner that also gives the probability that a box holds a plate (seen at the photo's own
# resolution, where the detector saw the photo brought down) has its say in the plate's
# score: the detector's score ** (1 - PLATE_SCORE_WEIGHT) * that probability ** PLATE_SCORE_WEIGHT
# (lettering on a van, badges and signs can look like a plate to the detector alone).
PLATE_SCORE_WEIGHT = 0.5
# A reading that fits only a catch-all format (the US one takes almost any 4-8 characters)
# is a plate only when its plate score is at least this: on the development photos real
# plates score 0.98 or more, and the overlay text of thermal images, lettering and badges
# that read like a plate 0.07 or less. A reading of a country's own format is evidence enough
# (light-on-dark plates, rarer in training, can score low).
LOOSE_MIN_PLATE_SCORE = 0.1
# A box the detector is less sure of, scoring from CONFIRMED_SCORE_FRACTION of the analyzer's
# ``conf_threshold`` up to it (a plate small or far in the frame, dim or worn), and clear of
# surer boxes (NMS_IOU), is a plate when the refiner confirms it (a plate score of at least
# CONFIRMING_PLATE_SCORE) and it reads surely as a plate: a confidence of at least
# CONFIRMED_MIN_TEXT_CONFIDENCE and a format that tells letters from digits by position (the
# refiner scores a coil spring in an X-ray scan 1.0, a firm's name on a van 0.99 and a car's
# grille 0.98; they read at 0.05, and at 0.67 and 0.58 as texts of the catch-all US, Polish
# or Dutch formats). Such a box is read once, from the detector's box (levelled if sloped):
# on the 112 development photos 3 % slower, where reading it as the surer boxes are read
# cost 8 %.
CONFIRMED_SCORE_FRACTION = 0.5
CONFIRMING_PLATE_SCORE = 0.9
CONFIRMED_MIN_TEXT_CONFIDENCE = 0.5
# The detector, trained on plates up to about a third of the frame, misses or cuts short a
# plate that fills more of it (a close-up, a gate camera framing one vehicle): where no box
# is sure, or a sure box spans ZOOM_OUT_FROM of the image's longer side or more, the whole
# image is searched once more brought down to ZOOM_OUT of the detector's input, in its middle,
# and the boxes of both searches are read. The held-back photos cut around their plate so
# that it spans half of the cut's width were read 15 -> 20 of 28 and at 0.7 of it 3 -> 19;
# the 112 development photos have no box that wide (their plates span at most 0.32 of the
# width) and read the same; a real US plate in the held-back scenes the first search had
# missed is found and read (150: 0.900 -> 0.907 read, 0.993 -> 1.0 found).
ZOOM_OUT = 0.5
ZOOM_OUT_FROM = 0.35
# A dark photo (median luminance under DARK_MEDIAN of 255: underexposed, at dusk) is also
# searched brightened by the gamma that brings its median to BRIGHTENED_MEDIAN (the
# development photos' median), and the boxes of both searches are read in the photo's own
# pixels. The development photos' medians are 43-172: none is searched again.
DARK_MEDIAN = 35.0
BRIGHTENED_MEDIAN = 90.0
# Of the boxes of one plate, one whose catch-all reading is another box's reading of a
# country's format with a run of up to this many characters left out gives way to it; the
# two are compared with look-alike glyphs taken as one (LOOK_ALIKES: read without a format's
# positions, the cut-short Russian H473OB58 is H4730B5).
MAX_LEFT_OUT = 3
LOOK_ALIKES = str.maketrans("OIBSZG", "018526")
# A catch-all reading shorter than SHORT_CATCH_ALL_CHARS (a US plate of 4 characters, such as
# Wyoming's 1321 or North Carolina's E074) is a plate only when the refiner is sure of the box
# and the reading is sure: numbers, years and temperatures of 4 characters are common in
# scenes and overlays (on the held-back scenes with real US plates pasted in, years and
# sign lettering scored at most 0.978 and thermal overlay text 241C 0.969; the US plates of 4
# characters 1.0, read at 0.98 or more).
SHORT_CATCH_ALL_CHARS = 5
SHORT_MIN_PLATE_SCORE = 0.99
SHORT_MIN_TEXT_CONFIDENCE = 0.9


class AnprAnalyzer(AnalyzerBase):
    """Find and read number plates in photographs.

    Parameters
    ----------
    countries : sequence of str, optional
        Plate formats considered (e.g. ``["KZ", "RU", "BY", "KG", "AM"]``); default all.
    detector, ocr : str
        Shipped model names or paths of compatible ONNX files.
    refiner : str or None
        The box refiner (:mod:`imaging.anpr.refine`): where its box of a plate differs from
        the detector's (:data:`REFINED_BOX_IOU`), both are read and the box that reads best
        is kept; None reads the detector's boxes only.
    conf_threshold : float
        Minimum plate-detection score; with a refiner that gives plate scores, boxes from
        :data:`CONFIRMED_SCORE_FRACTION` of it up are plates when the refiner confirms them
        and they read surely.
    providers : str
        ONNX execution providers.

    A photo given by path or bytes is read upright as its EXIF orientation tag says (as
    viewers show it: a phone held upright stores its photos sideways), and boxes are in
    those pixels. A box is returned only when its reading fits some plate format (of any
    country), so that overlay text, temperatures, street numbers and words on signs are not
    reported as plates;
    a reading that fits only a catch-all format also needs the refiner's plate score
    (:data:`LOOSE_MIN_PLATE_SCORE`; a sure one when it has 4 characters:
    :data:`SHORT_MIN_PLATE_SCORE`), and a box the refiner says holds no plate is read once
    (:data:`REFINED_MIN_PLATE_SCORE`).
    Each detection has ``label`` "plate", ``text``, ``country``, ``countries`` (every
    country with a specific format the text fits, ``country`` first: FR, IT and SK plates
    share one pattern), ``pattern``, ``text_confidence``, ``detector_score``, ``two_line``,
    ``plate_score`` (the refiner's probability that the box holds a plate, for a refiner
    that gives one: :data:`PLATE_SCORE_WEIGHT`), ``corners`` (the refiner's box when it read
    best: :data:`REFINED_BOX_IOU`; levelled
    along the plate's edges, sheared or turned, when the box cut its characters at a slant:
    :data:`LEVEL_FROM_DEGREES`; widened when a wider cut read a plate the box had cut short:
    :data:`WIDEN_ACROSS`, or a region box it had left out: :data:`EXTEND_RIGHT`) and
    ``alternatives``; its score (``confidence``) is the detector's
    score (with the plate score, where there is one) times the square root of the reading's
    confidence, and plates come best first. Of the boxes of one plate the one that reads best
    is kept; one whose reading fits only a catch-all format gives way to a box reading the
    same characters and a run of a few more as a country's format (what its cut or its OCR
    lost: :data:`MAX_LEFT_OUT`).

    Examples
    --------
    >>> result = AnprAnalyzer().analyze("samples/anpr/vehicle_1_KZ.jpg")  # doctest: +SKIP
    >>> result.detections.data["text"]  # doctest: +SKIP
    """

    name = "anpr"

    def __init__(
        self,
        *,
        countries: Sequence[str] | None = None,
        detector: str = "anpr-detector",
        ocr: str = "anpr-ocr",
        refiner: str | None = "anpr-box-refiner",
        conf_threshold: float = 0.3,
        providers: str = "cpu",
    ) -> None:
        from imaging.runtime import get_session, model_spec, sha256_file

        self.countries = tuple(countries) if countries else None
        self.detector = detector
        self.ocr = ocr
        self.refiner = refiner
        self.conf_threshold = float(conf_threshold)
        self.providers = providers
        self.models = {}
        for model in (detector, ocr, refiner):
            if model is None:
                continue
            spec = model_spec(model)
            get_session(spec, providers=providers)  # verified and opened once, here
            self.models[spec.name] = spec.sha256 or sha256_file(spec.path)

    def warmup(self) -> None:
        """Run both models once on a synthetic plate."""
        from imaging.anpr.read import read_plates
        from imaging.anpr.synth import render_plate
        from imaging.io import warmup

        warmup()
        plate = render_plate(np.random.default_rng(0))
        read_plates([plate.image], model=self.ocr, providers=self.providers)
        self.analyze(np.full((240, 320, 3), 128, np.uint8))

    def analyze(self, image: ImageInput, /, **context: Any) -> Result:
        from imaging._shared.timing import stage
        from imaging.anpr.detect import detect_plates, to_rgb8
        from imaging.anpr.rectify import (
            estimate_skew,
            rectify,
            shear_corners,
            turn_corners,
            widen_corners,
        )
        from imaging.io import imread
        from imaging.runtime import nms

        timings: dict[str, float] = {}
        with stage(timings, "read"):
            pixels = imread(image, upright=True) if not isinstance(image, np.ndarray) else image
            rgb = to_rgb8(pixels)
        search = partial(
            detect_plates,
            model=self.detector,
            conf_threshold=self.conf_threshold * CONFIRMED_SCORE_FRACTION,
            merge=False,
            providers=self.providers,
        )
        with stage(timings, "detect"):
            dets = search(rgb)
            brighter = _brightened(rgb)
            if brighter is not None and len(seen_brighter := search(brighter)):
                dets = Detections.merge([dets, seen_brighter])
            if _needs_zoom_out(dets, rgb.shape, self.conf_threshold):
                far = search(rgb, tiles=False, zoom=ZOOM_OUT)
                if len(far):
                    dets = Detections.merge([dets, far])
        countries = context.get("countries", self.countries)
        dets = _without_less_sure_copies(dets, self.conf_threshold)
        if self.refiner is not None and len(dets):
            with stage(timings, "refine"):
                dets = self._with_refined_boxes(rgb, dets)
        read = dets.confidence >= self.conf_threshold
        if "plate_score" in dets.data:  # the detector's less sure boxes the refiner confirms
            looks_a_plate = dets.data["plate_score"] >= CONFIRMING_PLATE_SCORE
            if (read & looks_a_plate).any():  # a sure plate: boxes unlike a plate are not read
                read &= dets.data["plate_score"] >= REFINED_MIN_PLATE_SCORE
            read |= looks_a_plate
        dets = dets[np.flatnonzero(read)]
        sure = dets.confidence >= self.conf_threshold
        plate_score = dets.data.get("plate_score")  # None: no refiner, or one without scores
        with stage(timings, "rectify"):
            corners = dets.data["corners"].copy()
            crops = [rectify(rgb, quad) for quad in corners]
            slopes = [estimate_skew(crop) for crop in crops]
            sloped = [k for k, a in enumerate(slopes) if abs(a) >= LEVEL_FROM_DEGREES]
            # a sloped plate is cut again twice: sheared (seen from the side) and turned
            # (turned in the picture: a tilted camera or plate)
            levelled = [(k, shear_corners(corners[k], slopes[k]), False) for k in sloped]
            levelled += [(k, turn_corners(corners[k], slopes[k]), True) for k in sloped]
            levelled_crops = [rectify(rgb, quad) for _, quad, _ in levelled]
        with stage(timings, "read_text"):
            both = self._read(crops + levelled_crops, countries)  # one batch
            texts, again = both[: len(crops)], both[len(crops) :]
            for (k, quad, turned), reading in zip(levelled, again, strict=True):
                # an upright box cuts the ends of a sloped plate: its characters are read whole
                # from the levelled cut, even when the cut-short reading was surer; the turned
                # cut, narrower at its corners, must not lose one
                if turned and len(reading.text) < len(texts[k].text):
                    continue
                if reading.confidence > texts[k].confidence or _completes(reading, texts[k]):
                    texts[k], corners[k] = reading, quad
        with stage(timings, "rectify"):
            widened = [widen_corners(quad, WIDEN_ACROSS, WIDEN_DOWN) for quad in corners]
            widen = sure if plate_score is None else sure & (plate_score >= REFINED_MIN_PLATE_SCORE)
            cut_again = [
                k for k, t in enumerate(texts) if widen[k] and not 0 < len(t.text) < MIN_PLATE_CHARS
            ]
            wider_crops = [rectify(rgb, widened[k]) for k in cut_again]
        with stage(timings, "read_text"):
            wider = self._read(wider_crops, countries)
            for k, reading in zip(cut_again, wider, strict=True):
                if _completes(reading, texts[k]):
                    texts[k], corners[k] = reading, widened[k]
        with stage(timings, "rectify"):
            # the beginning of a longer plate (a Russian plate whose region box the box left
            # out): cut again farther to the right
            go_on = [k for k in cut_again if _begins_a_longer_plate(texts[k].text)]
            extended = {k: widen_corners(corners[k], 0.0, right=EXTEND_RIGHT) for k in go_on}
            extended_crops = [rectify(rgb, extended[k]) for k in go_on]
        if go_on:
            with stage(timings, "read_text"):
                for k, reading in zip(go_on, self._read(extended_crops, countries), strict=True):
                    if _completes(reading, texts[k]):
                        texts[k], corners[k] = reading, extended[k]
        fitting = [match_plate(t.text) for t in texts]  # specific formats first
        keep = np.array([_plate_like(t.text, f) for t, f in zip(texts, fitting, strict=True)], bool)
        keep &= sure | np.array(
            [_surely_a_plate(t, f) for t, f in zip(texts, fitting, strict=True)], bool
        )
        specific = [_fits_specific(t.text, f) for t, f in zip(texts, fitting, strict=True)]
        if plate_score is not None:  # a catch-all format needs a box that looks like a plate
            keep &= np.array(specific, bool) | (plate_score >= LOOSE_MIN_PLATE_SCORE)
        scores = [None] * len(texts) if plate_score is None else plate_score.tolist()
        keep &= np.array(
            [_short_but_sure(*v) for v in zip(texts, specific, scores, strict=True)], bool
        )
        if len(dets):
            alternatives = _object_array(
                [
                    [{"text": a, "country": c, "score": round(s, 4)} for a, c, s in t.alternatives]
                    for t in texts
                ]
            )
            text_confidence = np.array([t.confidence for t in texts], np.float32)
            data = {k: v for k, v in dets.data.items() if k != "pass"}
            data.update(
                corners=corners,
                detector_score=dets.confidence.astype(np.float32),
                text=np.array([t.text for t in texts], dtype=object),
                country=np.array([t.country for t in texts], dtype=object),
                countries=_object_array(
                    [_countries_fitting(t, f) for t, f in zip(texts, fitting, strict=True)]
                ),
                pattern=np.array([t.pattern for t in texts], dtype=object),
                text_confidence=np.round(text_confidence, 4),
                two_line=np.array([t.two_line for t in texts], bool),
                alternatives=alternatives,
            )
            # a plate is a box that looks like a plate AND reads like one: signs and stickers
            # with text get a detector score but a low reading confidence
            reads = np.sqrt(np.clip(text_confidence, 0.0, 1.0))
            looks = dets.confidence
            if plate_score is not None:
                plate = np.clip(plate_score, 1e-6, 1.0)
                looks = looks ** (1 - PLATE_SCORE_WEIGHT) * plate**PLATE_SCORE_WEIGHT
            score = looks * reads
            dets = Detections(dets.xyxy, confidence=score, class_id=dets.class_id, data=data)
            # a plate found both in the whole image and in a tile: the box that reads best (the
            # plate score, of windows around one plate, tells plates from other things)
            plates = np.flatnonzero(keep)
            rank = dets.data["detector_score"] * reads
            rank[_cut_short(dets.xyxy, texts, specific, plates)] = 0.0
            kept = plates[nms(dets.xyxy[plates], rank[plates], NMS_IOU)]
            dets = dets[kept[np.argsort(-score[kept], kind="stable")]]
        return Result(
            source=source_name(image, context),
            modality=self.name,
            detections=dets,
            timings_ms=timings,
            models=dict(self.models),
            image_shape=pixels.shape,
        )

    def _with_refined_boxes(self, rgb: np.ndarray, dets: Detections) -> Detections:
        """``dets`` and, after them, the refiner's boxes that differ from the detector's and
        from each other (:data:`REFINED_BOX_IOU`, :data:`REFINED_DUP_IOU`)."""
        from imaging.anpr.refine import refine_boxes, refit_corners
        from imaging.compare.metrics import box_iou

        h, w = rgb.shape[:2]
        boxes, plate = refine_boxes(
            rgb, dets.xyxy, model=self.refiner, providers=self.providers, plate_scores=True
        )
        if plate is not None:
            dets.data["plate_score"] = np.round(plate, 4)
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        kept: list[int] = []
        differs = np.diag(box_iou(boxes, dets.xyxy)) < REFINED_BOX_IOU
        if plate is not None:
            differs &= plate >= REFINED_MIN_PLATE_SCORE
        differs &= dets.confidence >= self.conf_threshold
        for k in np.flatnonzero(differs):
            others = np.concatenate([dets.xyxy, boxes[kept]])
            if box_iou(boxes[k : k + 1], others).max() < REFINED_DUP_IOU:
                kept.append(int(k))
        moved = np.array(kept, int)
        if not len(moved):
            return dets
        again = dets[moved]
        data = dict(again.data)
        data["corners"] = refit_corners(again.data["corners"], again.xyxy, boxes[moved])
        refined = Detections(
            boxes[moved], confidence=again.confidence, class_id=again.class_id, data=data
        )
        return Detections.merge([dets, refined])

    def _read(self, crops: list[np.ndarray], countries: Sequence[str] | None) -> list[PlateText]:
        from imaging.anpr.read import read_plates

        return read_plates(crops, model=self.ocr, countries=countries, providers=self.providers)


def _brightened(rgb: np.ndarray) -> np.ndarray | None:
    """``rgb`` (uint8) brightened by the gamma that brings its median luminance to
    :data:`BRIGHTENED_MEDIAN`, or None when that median is :data:`DARK_MEDIAN` or more.

    >>> import numpy as np
    >>> _brightened(np.full((8, 8, 3), 120, np.uint8)) is None
    True
    >>> int(np.median(_brightened(np.full((8, 8, 3), 20, np.uint8))))
    90
    """
    import cv2

    from imaging.anpr._kernels import u8_percentiles

    grey = cv2.cvtColor(np.ascontiguousarray(rgb[::4, ::4]), cv2.COLOR_RGB2GRAY)
    median = float(u8_percentiles(grey, (50,))[0])  # every photo: the histogram, not a sort
    if median >= DARK_MEDIAN:
        return None
    gamma = np.log(BRIGHTENED_MEDIAN / 255.0) / np.log(max(median, 1.0) / 255.0)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(rgb, lut)


def _needs_zoom_out(dets: Detections, shape: tuple[int, ...], threshold: float) -> bool:
    """Whether to search the image again zoomed out (:data:`ZOOM_OUT_FROM`): no box scores
    ``threshold``, or a box that does is that wide a part of the image's longer side.

    >>> import numpy as np
    >>> from imaging.results import Detections
    >>> boxes = Detections([[10, 10, 300, 100]], confidence=[0.9])
    >>> _needs_zoom_out(boxes, (480, 640, 3), 0.5), _needs_zoom_out(boxes, (480, 1280, 3), 0.5)
    (True, False)
    >>> _needs_zoom_out(Detections.empty(), (480, 640, 3), 0.5)
    True
    """
    sure = dets.confidence >= threshold
    if not sure.any():
        return True
    widths = dets.xyxy[sure, 2] - dets.xyxy[sure, 0]
    return bool(widths.max() >= ZOOM_OUT_FROM * max(shape[:2]))


def _without_less_sure_copies(dets: Detections, threshold: float) -> Detections:
    """``dets`` without the boxes scoring below ``threshold`` that overlap one scoring above
    it (:data:`NMS_IOU`): the same plate, read from the surer box."""
    from imaging.compare.metrics import box_iou

    sure = dets.confidence >= threshold
    if sure.all() or not sure.any():
        return dets
    overlap = box_iou(dets.xyxy, dets.xyxy[sure]).max(axis=1)
    return dets[np.flatnonzero(sure | (overlap <= NMS_IOU))]


def _object_array(items: list) -> np.ndarray:
    """A 1-D object array of lists (``np.array`` would make a 2-D array of equal-length ones)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _countries_fitting(reading: PlateText, fitting: list) -> list[str]:
    """Every country with a specific format the text fits (``fitting``: its
    :func:`match_plate`), the reported country first: identical patterns (FR, IT and SK write
    AB123CD) cannot be told apart by the text."""
    found = [f.country for f in fitting if not f.loose]
    if reading.country:
        found.insert(0, reading.country)
    return list(dict.fromkeys(found))


def _fits_specific(text: str, fitting: list | None = None) -> bool:
    """Whether the text fits a country's own format, not only a catch-all one (lettering and
    grilles read as catch-all texts). ``fitting``: the text's :func:`match_plate`, when
    already known."""
    fitting = match_plate(text) if fitting is None else fitting
    return any(not f.loose for f in fitting)


def _completes(wider: PlateText, first: PlateText) -> bool:
    """Whether the reading of another cut of the plate (widened, or levelled along its slope)
    is to replace the first reading."""
    if wider.confidence < WIDER_MIN_CONFIDENCE:
        return False
    if len(wider.text) < len(first.text) and wider.text in first.text:
        # a plate's edge, a sticker or small side letters read as a character in the tight
        # box, left out when the plate is seen whole
        return wider.confidence >= first.confidence and _plate_like(wider.text)
    longer = len(wider.text) > len(first.text) and first.text in wider.text
    if not _fits_specific(wider.text):
        if not (match_plate(wider.text) and longer and not _fits_specific(first.text)):
            return False
        return not match_plate(first.text) or wider.confidence >= first.confidence
    if _fits_specific(first.text):  # only a longer reading of the same characters
        return longer
    return first.text in wider.text or wider.confidence > first.confidence


@cache
def _begins_a_longer_plate(text: str) -> bool:
    """Whether ``text`` fills the first slots of a pattern of a country whose plates end in
    a region box (:data:`REGION_BOX_COUNTRIES`) that has one to three slots more (``H887BX``
    begins the Russian ``H887BX680``)."""
    from imaging.anpr.formats import FORMATS, _slot_sequences

    if len(text) < MIN_PLATE_CHARS:
        return False
    return any(
        len(text) < len(slots) <= len(text) + MAX_LEFT_OUT
        and all(c in allowed for c, allowed in zip(text, slots, strict=False))
        for fmt in FORMATS
        if fmt.country in REGION_BOX_COUNTRIES
        for slots in _slot_sequences(fmt.pattern)
    )


def _cut_short(
    boxes: np.ndarray, texts: list[PlateText], specific: Sequence[bool], plates: np.ndarray
) -> np.ndarray:
    """Indices among ``plates`` whose reading fits only a catch-all format and is another
    box's reading of the same plate (overlapping by :data:`NMS_IOU`) with a run of up to
    :data:`MAX_LEFT_OUT` characters left out, where that reading fits a country's own
    format (``specific``, per box): what the first box's cut or OCR lost (``A1306CH`` beside
    ``AO1306CH``, ``22420`` beside the Kazakh two-line ``224DG20`` whose bottom line the box
    cut)."""
    from imaging.compare.metrics import box_iou

    full = [k for k in plates.tolist() if specific[k]]
    short = [k for k in plates.tolist() if not specific[k]]
    if not full or not short:
        return np.zeros(0, int)
    overlap = box_iou(boxes[short], boxes[full]) > NMS_IOU
    found = [
        k
        for row, k in enumerate(short)
        if any(
            overlap[row, col] and _run_left_out(texts[k].text, texts[j].text)
            for col, j in enumerate(full)
        )
    ]
    return np.array(found, int)


def _run_left_out(short: str, full: str) -> bool:
    """Whether ``short`` is ``full`` with one run of 1 to :data:`MAX_LEFT_OUT` characters
    left out (a character the OCR lost, a two-line plate's bottom line cut off), look-alike
    glyphs taken as one (:data:`LOOK_ALIKES`).

    >>> _run_left_out("A1306CH", "AO1306CH"), _run_left_out("H4730B5", "H473OB58")
    (True, True)
    >>> _run_left_out("H4730B5", "H473AB58")
    False
    """
    n = len(full) - len(short)
    short, full = short.translate(LOOK_ALIKES), full.translate(LOOK_ALIKES)
    return 0 < n <= MAX_LEFT_OUT and any(
        full[:at] + full[at + n :] == short for at in range(len(short) + 1)
    )


def _surely_a_plate(reading: PlateText, fitting: list) -> bool:
    """Whether the reading of a box the detector was less sure of makes it a plate: a
    confident reading of a format that tells letters from digits by position."""
    return reading.confidence >= CONFIRMED_MIN_TEXT_CONFIDENCE and _fits_specific(
        reading.text, fitting
    )


def _short_but_sure(reading: PlateText, specific: bool, plate_score: float | None) -> bool:
    """False for a reading of fewer than :data:`SHORT_CATCH_ALL_CHARS` characters that fits
    only a catch-all format, unless the refiner is sure the box holds a plate and the
    reading is sure (:data:`SHORT_MIN_PLATE_SCORE`, :data:`SHORT_MIN_TEXT_CONFIDENCE`)."""
    if specific or len(reading.text) >= SHORT_CATCH_ALL_CHARS:
        return True
    return (
        plate_score is not None
        and plate_score >= SHORT_MIN_PLATE_SCORE
        and reading.confidence >= SHORT_MIN_TEXT_CONFIDENCE
    )


def _plate_like(text: str, fitting: list | None = None) -> bool:
    """Whether a reading could be a plate: long enough and of some plate format (of any
    country: a restriction by ``countries`` shapes the decoding, but a foreign vehicle still
    crosses). Overlay text, temperatures, street numbers and words fit none. ``fitting``: the
    text's :func:`match_plate`, when already known."""
    fitting = match_plate(text) if fitting is None else fitting
    return len(text) >= MIN_PLATE_CHARS and bool(fitting)
