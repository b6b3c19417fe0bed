"""Number-plate recognition: detection, rectification, reading, formats, tracking, register.

- :mod:`imaging.anpr.formats`: country plate formats as data, ``normalize_text``,
  ``match_plate``, ``constrained_decode`` (O/0, I/1, B/8, S/5 resolved by position),
  ``reorder_two_line``.
- :mod:`imaging.anpr.read`: ``read_plates(crops, *, model, countries, ...)`` with the shipped
  ONNX OCR (``models/anpr/plate_ocr.onnx``).
- :mod:`imaging.anpr.refine`: ``refine_boxes`` with the shipped box refiner
  (``models/anpr/plate_box_refiner.onnx``): tighter boxes of small plates.
- :mod:`imaging.anpr.rectify`: ``rectify`` from four corners, ``estimate_skew``,
  ``shear_corners`` and ``turn_corners`` (a sloped plate's corners), ``deskew``,
  ``normalize_polarity``.
- :mod:`imaging.anpr.synth`: licence-clean synthetic plates of every format.
- :mod:`imaging.anpr.detect`, :mod:`imaging.anpr.track`, :mod:`imaging.anpr.register`,
  :mod:`imaging.anpr.analyzer`: detection, multi-frame voting, the crossing register and
  the ``"anpr"`` analyzer.

Submodules load their heavy dependencies (OpenCV, onnxruntime) when first used; importing
this package or :mod:`~imaging.anpr.formats` loads neither.
"""
