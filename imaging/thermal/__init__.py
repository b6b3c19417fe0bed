"""Thermal imaging: radiometric decoding, the Planck model, hotspots, measurements, palettes.

Submodules load their heavy dependencies when first used.
"""
