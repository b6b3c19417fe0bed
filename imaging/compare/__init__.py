"""Comparison of outputs against reference images and annotations: :func:`compare`.

Examples
--------
>>> from imaging.compare import compare
>>> report = compare("out/", "reference/", fail_under={"ssim": 0.95})  # doctest: +SKIP
"""

from imaging.compare.metrics import (
    box_iou,
    detection_metrics,
    edit_distance,
    image_metrics,
    plate_metrics,
    temperature_metrics,
)
from imaging.compare.run import CompareError, CompareReport, compare, parse_thresholds

__all__ = [
    "CompareError",
    "CompareReport",
    "box_iou",
    "compare",
    "detection_metrics",
    "edit_distance",
    "image_metrics",
    "parse_thresholds",
    "plate_metrics",
    "temperature_metrics",
]
