"""Number-plate recognition: detection, rectification, reading, formats, tracking, register.

Submodules load their heavy dependencies (OpenCV, onnxruntime) when first used.
"""
