"""Dual-energy material discrimination and the standard orange / green / blue colouring.

R = A_low / A_high rises with the effective atomic number. Classes come from a calibration
table over (A_high, R), not from a fixed threshold, because beam hardening makes R depend on
thickness: a site replaces the default table by one measured on step wedges (plastic,
aluminium, steel, lead) with :func:`load_table`. The default table
(``material_table.json``) is derived by :func:`derive_default_table` from the XCOM
coefficients of :mod:`imaging.xray.physics`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from imaging._shared.errors import ShapeError
from imaging._shared.validation import check_image

__all__ = [
    "CLASS_NAMES",
    "COLOURS",
    "MaterialTable",
    "classify",
    "colorize",
    "derive_default_table",
    "hue_to_class",
    "load_table",
    "ratio",
    "strip",
]

CLASS_NAMES = ("none", "organic", "mixed", "metal", "unclassifiable", "impenetrable")
NONE, ORGANIC, MIXED, METAL, UNCLASSIFIABLE, IMPENETRABLE = range(6)
COLOURS = {  # RGB at full thickness
    ORGANIC: (255, 140, 0),
    MIXED: (30, 170, 40),
    METAL: (40, 90, 230),
    UNCLASSIFIABLE: (128, 128, 128),
}
_TABLE_PATH = Path(__file__).with_name("material_table.json")


@dataclass(frozen=True)
class MaterialTable:
    """Class per cell of a grid over (A_high, R).

    ``a_edges`` (M+1,) and ``r_edges`` (K+1,) bound the cells; ``classes`` (M, K) uint8.
    Pixels with A_high below ``min_a_high`` are ``none`` (air) or unclassifiable (too thin for
    R to mean anything); above ``max_a_high`` impenetrable.
    """

    a_edges: np.ndarray
    r_edges: np.ndarray
    classes: np.ndarray
    min_a_high: float = 0.08
    max_a_high: float = 6.0
    source: str = ""

    def lookup(self, a_high: np.ndarray, r: np.ndarray) -> np.ndarray:
        ia = np.clip(
            np.searchsorted(self.a_edges, a_high, side="right") - 1, 0, len(self.a_edges) - 2
        )
        ir = np.clip(np.searchsorted(self.r_edges, r, side="right") - 1, 0, len(self.r_edges) - 2)
        return self.classes[ia, ir]


def derive_default_table(*, a_bins: int = 24, r_bins: int = 64) -> dict:
    """Build the default table from the XCOM coefficients: each cell takes the class of the
    material whose R is nearest (in log R) among water, polyethylene, aluminium, glass, iron
    and copper; above A_high = 3, where only metal keeps R high, the metal boundary is lowered
    to catch lead (whose K-edge lowers its R)."""
    from imaging.xray.physics import MATERIALS

    a_edges = np.linspace(0.0, 6.0, a_bins + 1)
    r_edges = np.geomspace(0.8, 12.0, r_bins + 1)
    references = [
        (np.log(m.ratio), m.material_class)
        for m in MATERIALS.values()
        if m.name not in ("fabric", "lead")
    ]
    classes = np.zeros((a_bins, r_bins), np.uint8)
    code = {"organic": ORGANIC, "mixed": MIXED, "metal": METAL}
    lead_r = MATERIALS["lead"].ratio
    for i in range(a_bins):
        a_mid = 0.5 * (a_edges[i] + a_edges[i + 1])
        for j in range(r_bins):
            log_r = np.log(np.sqrt(r_edges[j] * r_edges[j + 1]))
            nearest = min(references, key=lambda ref: abs(ref[0] - log_r))[1]
            if a_mid > 3.0 and np.exp(log_r) >= 0.9 * lead_r:
                nearest = "metal"
            classes[i, j] = code[nearest]
    return {
        "description": "default dual-energy table derived from NIST XCOM coefficients at "
        "60/150 keV (imaging.xray.materials.derive_default_table); replace with a step-wedge "
        "calibration of the actual scanner",
        "a_edges": a_edges.round(4).tolist(),
        "r_edges": r_edges.round(5).tolist(),
        "classes": classes.tolist(),
        "min_a_high": 0.08,
        "max_a_high": 6.0,
    }


def load_table(path: str | os.PathLike | None = None) -> MaterialTable:
    """Read a material table (JSON: ``a_edges``, ``r_edges``, ``classes``, optional
    ``min_a_high``, ``max_a_high``); the default table when ``path`` is None."""
    return _load(str(path or _TABLE_PATH))


@lru_cache(maxsize=8)
def _load(path: str) -> MaterialTable:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        table = MaterialTable(
            a_edges=np.asarray(raw["a_edges"], np.float64),
            r_edges=np.asarray(raw["r_edges"], np.float64),
            classes=np.asarray(raw["classes"], np.uint8),
            min_a_high=float(raw.get("min_a_high", 0.08)),
            max_a_high=float(raw.get("max_a_high", 6.0)),
            source=path,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShapeError(f"{path}: not a usable material table ({exc})") from None
    if table.classes.shape != (len(table.a_edges) - 1, len(table.r_edges) - 1):
        raise ShapeError(f"{path}: classes shape {table.classes.shape} does not fit the edges")
    return table


def ratio(a_low: np.ndarray, a_high: np.ndarray, *, min_a_high: float = 0.02) -> np.ndarray:
    """R = A_low / A_high (float32), NaN where A_high is too small to divide by."""
    a_low = check_image(a_low, name="a_low", ndim=2, dtypes=(np.float32, np.float64))
    a_high = check_image(a_high, name="a_high", ndim=2, dtypes=(np.float32, np.float64))
    if a_low.shape != a_high.shape:
        raise ShapeError(f"a_low {a_low.shape} and a_high {a_high.shape} differ in shape")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(a_high > min_a_high, a_low / a_high, np.nan)
    return r.astype(np.float32)


def classify(
    a_low: np.ndarray, a_high: np.ndarray, *, table: MaterialTable | None = None, smooth: int = 3
) -> np.ndarray:
    """Material class per pixel (uint8 codes of :data:`CLASS_NAMES`).

    ``smooth`` (odd, pixels) median-filters R first, since R of single pixels is noisy.

    Examples
    --------
    >>> import numpy as np
    >>> a_high = np.full((4, 4), 0.6, np.float32)
    >>> CLASS_NAMES[int(classify(a_high * 6.1, a_high)[0, 0])]
    'metal'
    """
    import cv2

    from imaging.xray._kernels import classify_cells, filled_ratio

    table = table or load_table()
    a_low = check_image(a_low, name="a_low", ndim=2, dtypes=(np.float32, np.float64))
    a_high = check_image(a_high, name="a_high", ndim=2, dtypes=(np.float32, np.float64))
    if a_low.shape != a_high.shape:
        raise ShapeError(f"a_low {a_low.shape} and a_high {a_high.shape} differ in shape")
    r = filled_ratio(a_low, a_high, 0.02)
    if smooth and smooth > 1:
        r = cv2.medianBlur(r, smooth if smooth in (3, 5) else 5)
    return classify_cells(a_low, a_high, r, table)


def colorize(a_high: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The standard colouring: hue from the class, brightness from thickness (RGB uint8).

    Organic orange, mixed green, metal blue, impenetrable black, air white.
    """
    from imaging.xray._kernels import colour_by_class

    return colour_by_class(np.asarray(a_high, np.float32), classes, _colour_table(), _LUT_MAX_A)


_LUT_SIZE = 2048
_LUT_MAX_A = 10.0


@lru_cache(maxsize=1)
def _colour_table() -> np.ndarray:
    """(classes, attenuation bins, 3) uint8: the colouring of every class at every thickness."""
    a = np.linspace(0.0, _LUT_MAX_A, _LUT_SIZE)
    transmission = np.exp(-a)
    strength = (1.0 - transmission**0.8)[:, None]
    shade = (0.35 + 0.65 * transmission**0.25)[:, None]
    table = np.zeros((len(CLASS_NAMES), _LUT_SIZE, 3))
    table[NONE] = 255.0 * transmission[:, None]
    for code, rgb in COLOURS.items():
        table[code] = (255.0 * (1 - strength) + np.array(rgb) * strength) * shade
    table[IMPENETRABLE] = 0.0
    table = np.clip(np.round(table), 0, 255).astype(np.uint8)
    table.setflags(write=False)
    return table


def strip(a_high: np.ndarray, classes: np.ndarray, *, remove: str) -> np.ndarray:
    """Organic or inorganic stripping: colour the scan with one class greyed out.

    ``remove="organic"`` greys organic pixels; ``remove="inorganic"`` greys mixed and metal.
    """
    if remove not in ("organic", "inorganic"):
        raise ValueError(f"remove must be 'organic' or 'inorganic', got {remove!r}")
    out = colorize(a_high, classes)
    hidden = classes == ORGANIC if remove == "organic" else np.isin(classes, (MIXED, METAL))
    grey = (255 * np.exp(-np.asarray(a_high, np.float32)[hidden] * 0.5)).astype(np.uint8)
    out[hidden] = grey[:, None]
    return out


def hue_to_class(rgb: np.ndarray) -> np.ndarray:
    """Material class of each pixel of an 8-bit pseudo-coloured export, from its hue.

    Orange/yellow → organic, green → mixed, blue/violet → metal, near-black → impenetrable,
    unsaturated light pixels → none (air or unclassified).

    Examples
    --------
    >>> import numpy as np
    >>> px = np.array([[[255, 140, 0], [30, 170, 40], [40, 90, 230], [250, 250, 250]]], np.uint8)
    >>> [CLASS_NAMES[c] for c in hue_to_class(px)[0]]
    ['organic', 'mixed', 'metal', 'none']
    """
    import cv2

    rgb = check_image(rgb, name="rgb", ndim=3, dtypes=(np.uint8,), channels=(3, 4))[..., :3]
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV_FULL)
    hue = hsv[..., 0].astype(np.float32) * 360.0 / 256.0
    sat = hsv[..., 1]
    val = hsv[..., 2]
    out = np.zeros(rgb.shape[:2], np.uint8)
    coloured = (sat >= 50) & (val >= 40)
    out[coloured & ((hue < 75) | (hue >= 330))] = ORGANIC
    out[coloured & (hue >= 75) & (hue < 170)] = MIXED
    out[coloured & (hue >= 170) & (hue < 330)] = METAL
    out[val < 40] = IMPENETRABLE
    return out
