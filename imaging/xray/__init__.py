"""X-ray (intrascopic) scans: calibration, enhancement, dual-energy materials, flags.

Submodules load their heavy dependencies when first used.
"""
