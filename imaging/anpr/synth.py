"""Synthetic number plates of every supported format, for training, tests and the demo.

Glyphs are OpenCV's built-in fonts by default (no font files), so renders are licence-clean
and deterministic for a seed; ``font_file=`` draws them from a TrueType font instead (training
uses the system's sans fonts, closer to DIN and the US state fonts).
Layouts follow the formats' look: a national band on the left for EU,
Kazakh and Ukrainian plates (or the Slovak crest over ``SK``), the spaces, hyphens, crests and
inspection seals between the character groups of most one-line plates
(:mod:`imaging.anpr._plate_groups`), a region box on the right for Russian plates, two-line layouts
for Kazakh rear and motorcycle plates, for US plates a 2:1 plate with the state's name
above and a slogan below the characters, stickers, printed scenery and dealer frames, and for
Brazilian plates the grey plate with the town along the top or the Mercosur plate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from imaging.anpr._plate_groups import draw_crest, plate_groups, put_groups
from imaging.anpr.formats import FORMATS, PlateFormat, _slot_sequences

__all__ = [
    "Spacing",
    "SyntheticPlate",
    "augment",
    "composite_plate",
    "erase_box",
    "jpeg_round_trip",
    "plate_in_place",
    "random_text",
    "render_plate",
]


@dataclass(frozen=True)
class SyntheticPlate:
    """A rendered plate: RGB image, normalised text, country, and whether it has two lines."""

    image: np.ndarray
    text: str
    country: str
    two_line: bool


@dataclass(frozen=True)
class Spacing:
    """How a TrueType font's characters are set on a plate: ``letter_spacing`` more (or, when
    negative, less) space between them than the font's own, in units of the font's size, and
    ``fixed_pitch`` every character centred in a cell as wide as the widest (as most plate
    lettering is: a ``1`` stands alone in a wide cell, ``MW`` nearly touch). It applies to
    plates drawn from a TrueType font (``render_plate(..., font_file=..., spacing=...)``).

    Examples
    --------
    >>> Spacing(letter_spacing=0.2, fixed_pitch=True)
    Spacing(letter_spacing=0.2, fixed_pitch=True)
    """

    letter_spacing: float = 0.0
    fixed_pitch: bool = False


def random_text(fmt: PlateFormat, rng: np.random.Generator) -> str:
    """A random text matching ``fmt``.

    Examples
    --------
    >>> import numpy as np
    >>> from imaging.anpr.formats import FORMATS
    >>> fmt = FORMATS[0]
    >>> bool(fmt.regex.match(random_text(fmt, np.random.default_rng(0))))
    True
    """
    sequences = _slot_sequences(fmt.pattern)
    for _ in range(100):
        slots = sequences[int(rng.integers(len(sequences)))]
        text = "".join(str(rng.choice(list(allowed))) for allowed in slots)
        if fmt.areas:  # an area code in place of the first letters, no draw more
            code = fmt.areas[sum(map(ord, text[:2])) % len(fmt.areas)]
            text = code + text[len(code) :]
        if fmt.o_is_zero:
            text = text.replace("O", "0")
        if fmt.regex.match(text):
            return text
    raise ValueError(f"could not draw a text for {fmt.pattern}")  # pragma: no cover


GROUPED_SHARE = 0.75  # of one-line plates drawn with their groups' spaces, hyphens and crests

_BANDS = {
    "KZ": (0, 150, 200),
    "UA": (0, 90, 190),
    "DE": (0, 60, 160),
    "FR": (0, 60, 160),
    "IT": (0, 60, 160),
    "SK": (0, 60, 160),
    "CZ": (0, 60, 160),
    "ES": (0, 60, 160),
    "PL": (0, 60, 160),
    "NL": (0, 60, 160),
    "LT": (0, 60, 160),
    "LV": (0, 60, 160),
    "EE": (0, 60, 160),
    "HR": (0, 60, 160),
    "SI": (0, 60, 160),
    "UK": (0, 60, 160),
}


def _put_rus_flag(plate: np.ndarray, box: tuple[int, int, int, int], ink) -> None:
    """The ``RUS`` and tricolour under a Russian plate's region code."""
    import cv2

    x0, y0, x1, y1 = box
    height = y1 - y0
    if height < 4:
        return
    scale = height / 26.0
    (tw, _), _ = cv2.getTextSize("RUS", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    flag_w = int(height * 1.3)
    x = x0 + max(0, (x1 - x0 - tw - flag_w - 2) // 2)
    cv2.putText(plate, "RUS", (x, y1 - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)
    fx = min(x + tw + 2, x1 - flag_w)
    for k, stripe in enumerate(((250, 250, 250), (0, 57, 166), (213, 43, 30))):
        ya, yb = y0 + 1 + k * (height - 2) // 3, y0 + 1 + (k + 1) * (height - 2) // 3
        plate[ya:yb, fx : fx + flag_w] = stripe


def _put_line(
    plate: np.ndarray,
    text: str,
    box: tuple[int, int, int, int],
    colour,
    font: int,
    rng: np.random.Generator,
    *,
    condensed: bool = False,
) -> None:
    """Draw ``text`` centred in ``box`` in an OpenCV font, as large as fits. ``condensed``:
    a text too wide for the box keeps its height and is squeezed sideways (the narrow
    digits of a Russian plate's three-digit region) instead of shrinking."""
    import cv2

    x0, y0, x1, y1 = box
    height = y1 - y0
    scale = height / 30.0
    thickness = max(1, round(scale * rng.uniform(1.8, 2.8)))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    width_fit = 0.94 * (x1 - x0) / max(tw, 1)
    height_fit = 0.8 * height / max(th, 1)
    if condensed and width_fit < min(1.0, height_fit):
        _put_condensed(plate, text, box, colour, font, scale * min(1.0, height_fit), thickness)
        return
    fit = min(1.0, width_fit, height_fit)
    scale *= fit
    thickness = max(1, round(thickness * fit))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    x = x0 + (x1 - x0 - tw) // 2
    y = y0 + (height + th) // 2
    cv2.putText(plate, text, (x, y), font, scale, colour, thickness, cv2.LINE_AA)


def _put_condensed(plate, text, box, colour, font: int, scale: float, thickness: int) -> None:
    """Draw ``text`` at ``scale`` on a scratch canvas and squeeze it into the width of ``box``."""
    import cv2

    x0, y0, x1, y1 = box
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((th + base + 4, tw + 4), np.uint8)
    cv2.putText(canvas, text, (2, th + 2), font, scale, 255, thickness, cv2.LINE_AA)
    canvas = canvas[: th + 4]  # no descenders in plate characters
    target_w = max(4, int(0.94 * (x1 - x0)))
    alpha = cv2.resize(canvas, (target_w, canvas.shape[0]), interpolation=cv2.INTER_AREA)
    gx = x0 + (x1 - x0 - target_w) // 2
    gy = max(0, y0 + (y1 - y0 - alpha.shape[0]) // 2)
    _ink(plate, alpha.astype(np.float32) / 255.0, gx, gy, colour)


def _ink(plate: np.ndarray, alpha: np.ndarray, x: int, y: int, colour) -> None:
    """Ink ``colour`` into ``plate`` through the coverage ``alpha`` (float, 0 to 1) placed
    with its top-left corner at ``(x, y)``; what falls outside the plate is dropped."""
    region = plate[y : y + alpha.shape[0], x : x + alpha.shape[1]].astype(np.float32)
    alpha = alpha[: region.shape[0], : region.shape[1], None]
    blended = region * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    plate[y : y + region.shape[0], x : x + region.shape[1]] = np.round(blended).astype(np.uint8)


@lru_cache(maxsize=32)
def _truetype(font_file: str):
    from PIL import ImageFont

    return ImageFont.truetype(font_file, 64)


def _ttf_coverage(
    text: str, font_file: str, rows_of: str | None = None, spacing: Spacing | None = None
) -> np.ndarray:
    """Coverage (float32, 0 to 1) of ``text`` in a TrueType font at 64 points, with a 4-pixel
    margin; its rows span the ink of ``rows_of`` (default: of ``text`` itself). ``spacing``:
    the characters set one by one instead of with the font's own advances."""
    from PIL import Image, ImageDraw

    font = _truetype(font_file)
    left, top, right, bottom = font.getbbox(text)
    if rows_of is not None:
        _, top, _, bottom = font.getbbox(rows_of)
    if spacing is None or len(text) < 2:
        canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
        ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, font=font, fill=255)
        return np.asarray(canvas, np.float32) / 255.0
    advances = np.array([font.getlength(c) for c in text])
    if spacing.fixed_pitch:  # every character centred in a cell as wide as the widest
        offsets = (advances.max() - advances) / 2
        advances = np.full(len(text), advances.max())
    else:
        offsets = np.zeros(len(text))
    step = advances + spacing.letter_spacing * 64
    starts = np.concatenate([[0.0], np.cumsum(step[:-1])]) + offsets
    starts -= min(0.0, starts.min())
    ends = [start + font.getbbox(c)[2] for start, c in zip(starts, text, strict=True)]
    width = int(np.ceil(max(ends))) - left
    canvas = Image.new("L", (max(width, 1) + 8, bottom - top + 8), 0)
    draw = ImageDraw.Draw(canvas)
    for start, character in zip(starts, text, strict=True):
        draw.text((4 - left + float(start), 4 - top), character, font=font, fill=255)
    return np.asarray(canvas, np.float32) / 255.0


def _put_line_ttf(
    plate: np.ndarray,
    text: str,
    box: tuple[int, int, int, int],
    colour,
    font_file: str,
    rng: np.random.Generator,
    spacing: Spacing | None = None,
) -> None:
    """Draw ``text`` from a TrueType font, squeezed or stretched to fill the box like a plate's
    condensed lettering."""
    _ink_fitted(plate, _ttf_coverage(text, font_file, spacing=spacing), box, colour, rng)


def _ink_fitted(
    plate: np.ndarray, glyphs: np.ndarray, box: tuple[int, int, int, int], colour, rng
) -> tuple[int, int, int, int]:
    """Ink the coverage ``glyphs`` centred in ``box``, 70-85 % of its height and squeezed or
    stretched sideways (at most 95 % of its width); returns where: ``(x, y, width, height)``."""
    import cv2

    x0, y0, x1, y1 = box
    height, width = y1 - y0, x1 - x0
    target_h = max(4, int(height * rng.uniform(0.7, 0.85)))
    target_w = int(glyphs.shape[1] * target_h / glyphs.shape[0] * rng.uniform(0.8, 1.15))
    target_w = max(4, min(target_w, int(width * 0.95)))
    alpha = cv2.resize(glyphs, (target_w, target_h), interpolation=cv2.INTER_AREA)
    left, top = x0 + (width - target_w) // 2, y0 + (height - target_h) // 2
    _ink(plate, alpha, left, top, colour)
    return left, top, target_w, target_h


def render_plate(
    rng: np.random.Generator,
    *,
    fmt: PlateFormat | None = None,
    text: str | None = None,
    two_line: bool | None = None,
    font_file: str | None = None,
    spacing: Spacing | None = None,
) -> SyntheticPlate:
    """Render one plate (RGB uint8, about 50 px high for one line, 100 px for two).

    ``font_file``: a TrueType font for the characters (default OpenCV's built-in font);
    ``spacing``: how its characters are set (default the font's own advances).

    Examples
    --------
    >>> import numpy as np
    >>> plate = render_plate(np.random.default_rng(1))
    >>> plate.image.dtype, plate.image.ndim
    (dtype('uint8'), 3)
    """
    import cv2

    if fmt is None:
        fmt = FORMATS[int(rng.integers(len(FORMATS)))]
    text = text or random_text(fmt, rng)
    if two_line is None:
        two_line = fmt.country == "KZ" and fmt.name != "1993-2012" and rng.random() < 0.35
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX]))
    light = rng.random() > 0.08
    background = np.array([245, 245, 240]) if light else np.array([25, 25, 30])
    if fmt.country in ("UK", "NL") and rng.random() < 0.5:
        background = np.array([250, 205, 20])  # yellow rear plate, always with black characters
        light = True
    background = np.clip(background + rng.integers(-15, 15, 3), 0, 255)
    ink = (20, 20, 25) if light else (235, 235, 235)
    if fmt.country == "US" and not two_line:
        return _render_us(rng, text, font, font_file, spacing)
    if fmt.country == "BR" and not two_line:
        mercosur = fmt.name.startswith("Mercosur")
        return _render_br(rng, text, font, font_file, spacing, mercosur=mercosur)
    h = 100 if two_line else 50
    w = int(h * (1.6 if two_line else rng.uniform(4.0, 4.9)))

    def put_line(line: str, where: tuple[int, int, int, int], condensed: bool = False) -> None:
        if font_file is None:
            _put_line(plate, line, where, ink, font, rng, condensed=condensed)
        else:
            _put_line_ttf(plate, line, where, ink, font_file, rng, spacing)

    plate = np.empty((h, w, 3), np.uint8)
    plate[:] = background
    cv2.rectangle(plate, (1, 1), (w - 2, h - 2), ink, 2)
    left = 4
    right = w - 4
    if fmt.country == "SK" and not two_line and rng.random() < 0.5:
        # the 1997 plate: the national crest over "SK" on the plate's own colour
        band = max(10, w // 11)
        draw_crest(plate, "SK", (4, 6, 2 + band, int(h * 0.62)))
        scale = band / 45
        cv2.putText(plate, "SK", (4, h - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)
        left = 3 + band + 3
    elif fmt.country in _BANDS:
        band = max(10, w // (5 if two_line else 11))
        plate[3:-3, 3 : 3 + band] = _BANDS[fmt.country]
        cv2.putText(
            plate,
            fmt.country,
            (5, h - 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            band / 40,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        left = 3 + band + 3
    if two_line:
        if fmt.country == "KZ" and fmt.regex.match(text):
            top, bottom = text[:3] + text[-2:], text[3:-2]
        else:
            split = math.ceil(len(text) / 2)
            top, bottom = text[:split], text[split:]
        put_line(top, (left, 6, right, h // 2))
        put_line(bottom, (left, h // 2, right, h - 6))
    elif fmt.country == "RU":
        region_w = int(w * 0.22)
        cv2.line(plate, (w - region_w, 3), (w - region_w, h - 4), ink, 2)
        put_line(text[:6], (left, 6, w - region_w - 3, h - 6))
        put_line(text[6:], (w - region_w + 3, 4, right, int(h * 0.7)), condensed=True)
        _put_rus_flag(plate, (w - region_w + 3, int(h * 0.7), right, h - 4), ink)
    else:
        groups = plate_groups(fmt.country, text, rng)
        if len(groups) > 1 and rng.random() < GROUPED_SHARE:
            where = (left, 6, right, h - 6)
            put_groups(
                plate, groups, where, ink, rng, font=font, font_file=font_file, spacing=spacing
            )
        else:
            put_line(text, (left, 6, right, h - 6))
    return SyntheticPlate(plate, text, fmt.country, bool(two_line))


_US_STATES = (
    "ALABAMA ALASKA ARIZONA ARKANSAS CALIFORNIA COLORADO CONNECTICUT DELAWARE FLORIDA GEORGIA "
    "HAWAII IDAHO ILLINOIS INDIANA IOWA KANSAS KENTUCKY LOUISIANA MAINE MARYLAND MASSACHUSETTS "
    "MICHIGAN MINNESOTA MISSISSIPPI MISSOURI MONTANA NEBRASKA NEVADA OHIO OKLAHOMA OREGON "
    "PENNSYLVANIA TENNESSEE TEXAS UTAH VERMONT VIRGINIA WASHINGTON WISCONSIN WYOMING"
).split()
_US_SLOGANS = (
    "LAND OF LINCOLN",
    "THE FIRST STATE",
    "GREAT FACES GREAT PLACES",
    "PEACE GARDEN STATE",
    "SUNSHINE STATE",
    "GRAND CANYON STATE",
    "LIVE FREE OR DIE",
    "EMPIRE STATE",
    "LAND OF ENCHANTMENT",
    "moving forward",
    "Treasure the Chesapeake",
    "Cultural Trust",
    "FAMOUS POTATOES",
    "THE NATURAL STATE",
    "dealer name city",
)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A low-frequency random field in [-1, 1] (scenery printed on many US plates)."""
    import cv2

    coarse = rng.uniform(-1, 1, (int(rng.integers(2, 5)), int(rng.integers(3, 9)))).astype(
        np.float32
    )
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _render_us(
    rng: np.random.Generator,
    text: str,
    font: int,
    font_file: str | None,
    spacing: Spacing | None = None,
) -> SyntheticPlate:
    """A US-style plate: 2:1, the state's name above and a slogan below the characters, date
    stickers in the corners, sometimes a picture behind and an emblem splitting the text, often
    in a dealer frame. The characters fill about half of the plate's height."""
    import cv2

    h, w = 100, int(100 * rng.uniform(1.8, 2.15))
    dark_plate = rng.random() < 0.15
    if dark_plate:
        background = rng.integers(0, 90, 3)
        ink = tuple(int(v) for v in rng.integers(170, 256, 3))
    else:
        background = rng.integers(170, 256, 3)
        ink = tuple(int(v) for v in rng.integers(0, 110, 3))
    plate = np.empty((h, w, 3), np.float32)
    plate[:] = background
    if rng.random() < 0.5:  # a printed scene or gradient behind the characters
        tint = rng.uniform(-70, 70, 3).astype(np.float32)
        plate += _smooth_field(rng, (h, w))[..., None] * tint
    plate = np.clip(plate, 0, 255).astype(np.uint8)
    accent = tuple(int(v) for v in rng.integers(0, 256, 3))
    header = str(rng.choice(_US_STATES))
    if rng.random() < 0.4:
        header = header.title()
    header_font = int(
        rng.choice(
            [
                cv2.FONT_HERSHEY_SIMPLEX,
                cv2.FONT_HERSHEY_COMPLEX,
                cv2.FONT_HERSHEY_TRIPLEX,
                cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
            ]
        )
    )
    top = int(h * rng.uniform(0.22, 0.3))
    bottom = int(h * rng.uniform(0.72, 0.8))
    header_colour = accent if rng.random() < 0.6 else ink
    _put_line(plate, header, (int(w * 0.2), 2, int(w * 0.8), top), header_colour, header_font, rng)
    if rng.random() < 0.8:
        slogan = str(rng.choice(_US_SLOGANS))
        _put_line(
            plate,
            slogan,
            (int(w * 0.15), bottom + 2, int(w * 0.85), h - 4),
            header_colour,
            int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX])),
            rng,
        )
    for corner in range(int(rng.integers(0, 3))):  # registration stickers
        sw, sh = int(w * rng.uniform(0.1, 0.16)), int(h * rng.uniform(0.14, 0.22))
        x = 4 if corner == 0 else w - sw - 4
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.rectangle(plate, (x, 4), (x + sw, 4 + sh), colour, -1)
        cv2.putText(
            plate,
            str(int(rng.integers(1, 99))).zfill(2),
            (x + 2, 2 + sh),
            cv2.FONT_HERSHEY_SIMPLEX,
            sh / 40,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    left, right = int(w * rng.uniform(0.04, 0.1)), w - int(w * rng.uniform(0.04, 0.1))
    lines = (top + 1, bottom - 1)

    def put(line: str, x0: int, x1: int) -> None:
        if font_file is None:
            _put_line(plate, line, (x0, lines[0], x1, lines[1]), ink, font, rng)
        else:
            where = (x0, lines[0], x1, lines[1])
            _put_line_ttf(plate, line, where, ink, font_file, rng, spacing)

    if len(text) >= 5 and rng.random() < 0.6:  # two groups, a gap or an emblem between
        cut = int(rng.integers(2, len(text) - 1))
        gap = int(w * rng.uniform(0.05, 0.12))
        share = cut / len(text)
        middle = left + int((right - left - gap) * share)
        put(text[:cut], left, middle)
        put(text[cut:], middle + gap, right)
        if rng.random() < 0.5:
            centre = (middle + gap // 2, (lines[0] + lines[1]) // 2)
            radius = max(2, int(gap * rng.uniform(0.3, 0.5)))
            cv2.circle(plate, centre, radius, accent, -1, cv2.LINE_AA)
    else:
        put(text, left, right)
    if rng.random() < 0.5:  # a dealer frame
        frame = tuple(int(v) for v in rng.integers(0, 60, 3))
        thick = int(rng.integers(3, 9))
        cv2.rectangle(plate, (0, 0), (w - 1, h - 1), frame, thick)
        cv2.rectangle(plate, (0, h - thick - int(rng.integers(0, 8))), (w - 1, h - 1), frame, -1)
    else:
        cv2.rectangle(plate, (1, 1), (w - 2, h - 2), ink, 1)
    return SyntheticPlate(plate, text, "US", False)


_BR_PLACES = (
    "SP SAO PAULO",
    "SP CAMPINAS",
    "RJ RIO DE JANEIRO",
    "MG BELO HORIZONTE",
    "PR CURITIBA",
    "RS PORTO ALEGRE",
    "SC FLORIANOPOLIS",
    "BA SALVADOR",
    "GO GOIANIA",
    "DF BRASILIA",
    "PE RECIFE",
    "CE FORTALEZA",
)


def _render_br(
    rng: np.random.Generator,
    text: str,
    font: int,
    font_file: str | None,
    spacing: Spacing | None = None,
    *,
    mercosur: bool,
) -> SyntheticPlate:
    """A Brazilian plate (400 x 130 mm). Until 2018: grey (red for hire vehicles) with the
    state and town in small letters along the top and ``ABC-1234`` below; Mercosur plates:
    white, a blue band reading BRASIL along the top, ``ABC1D23`` without a separator."""
    import cv2

    h = 50
    w = int(h * rng.uniform(2.9, 3.25))
    plate = np.empty((h, w, 3), np.uint8)
    band = int(h * rng.uniform(0.2, 0.27))
    if mercosur:
        plate[:] = np.clip(np.array([240, 240, 238]) + rng.integers(-15, 12, 3), 0, 255)
        ink: tuple[int, ...] = (20, 20, 25)
        plate[:band] = (20, 60, 160)
        _put_line(plate, "BRASIL", (w // 3, 1, 2 * w // 3, band), (255, 255, 255), font, rng)
        glyphs = text
    else:
        hire = rng.random() < 0.15
        grey = int(rng.integers(150, 215))
        base = np.array([200, 30, 30]) if hire else np.array([grey, grey, grey + 4])
        plate[:] = np.clip(base + rng.integers(-12, 12, 3), 0, 255)
        ink = (240, 240, 240) if hire else (20, 20, 25)
        place = str(rng.choice(_BR_PLACES))
        place = place[:2] + " - " + place[3:]
        _put_line(plate, place, (int(w * 0.15), 2, int(w * 0.85), band + 1), ink, font, rng)
        glyphs = text[:3] + str(rng.choice(["-", " ", "-"])) + text[3:]
    where = (4, band + 1, w - 4, h - 3)
    if font_file is None:
        _put_line(plate, glyphs, where, ink, font, rng)
    else:
        _put_line_ttf(plate, glyphs, where, ink, font_file, rng, spacing)
    cv2.rectangle(plate, (0, 0), (w - 1, h - 1), ink if not mercosur else (20, 20, 25), 2)
    return SyntheticPlate(plate, text, "BR", False)


def composite_plate(scene: np.ndarray, plate: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """``scene`` with ``plate`` warped onto the quadrilateral ``corners``.

    Parameters
    ----------
    scene, plate : ndarray
        RGB images (any numeric dtype, values 0-255).
    corners : ndarray (4, 2)
        Where the plate's top-left, top-right, bottom-right and bottom-left corners go, in
        scene pixels.

    Returns
    -------
    ndarray
        float32 RGB of the scene's shape, edges blended: unrounded, so that a caller can
        degrade the scene (blur, noise, compression) before bringing it to uint8.

    Examples
    --------
    >>> scene = np.zeros((60, 100, 3), np.uint8)
    >>> plate = render_plate(np.random.default_rng(0)).image
    >>> out = composite_plate(scene, plate, np.float32([[20, 20], [80, 20], [80, 35], [20, 35]]))
    >>> out.shape, out.dtype, bool(out[27, 50].any()), bool(out[5, 5].any())
    ((60, 100, 3), dtype('float32'), True, False)
    """
    import cv2

    h, w = plate.shape[:2]
    source = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(source, np.asarray(corners, np.float32).reshape(4, 2))
    shape = (scene.shape[1], scene.shape[0])
    warped = cv2.warpPerspective(plate.astype(np.float32), matrix, shape, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, shape)[..., None]
    return scene.astype(np.float32) * (1 - mask) + warped * mask


ERASE_MARGIN = (0.08, 0.25)  # of the box's width and height, for a box drawn tight or tilted


def erase_box(photo: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Paint out what lies in ``box`` (grown by :data:`ERASE_MARGIN`) from its surroundings.

    Parameters
    ----------
    photo : ndarray
        RGB uint8 photograph.
    box : tuple of float
        ``x0, y0, x1, y1`` in pixels.

    Returns
    -------
    ndarray
        A copy of ``photo`` with the box filled in by ``cv2.inpaint`` (Telea).

    Examples
    --------
    >>> photo = np.full((60, 80, 3), 90, np.uint8)
    >>> photo[25:35, 20:60] = 255
    >>> abs(int(erase_box(photo, (20, 25, 60, 35))[30, 40, 0]) - 90) <= 2  # bumper grey
    True
    """
    import cv2

    x0, y0, x1, y1 = (float(v) for v in box)
    grow_x, grow_y = ERASE_MARGIN[0] * (x1 - x0), ERASE_MARGIN[1] * (y1 - y0)
    height, width = photo.shape[:2]
    ex0, ey0 = max(math.floor(x0 - grow_x), 0), max(math.floor(y0 - grow_y), 0)
    ex1, ey1 = min(math.ceil(x1 + grow_x), width), min(math.ceil(y1 + grow_y), height)
    out = photo.copy()
    if ex1 <= ex0 or ey1 <= ey0:
        return out
    pad = max(ey1 - ey0, 8)
    wx0, wy0 = max(ex0 - pad, 0), max(ey0 - pad, 0)
    wx1, wy1 = min(ex1 + pad, width), min(ey1 + pad, height)
    window = np.ascontiguousarray(out[wy0:wy1, wx0:wx1])
    mask = np.zeros(window.shape[:2], np.uint8)
    mask[ey0 - wy0 : ey1 - wy0, ex0 - wx0 : ex1 - wx0] = 255
    out[wy0:wy1, wx0:wx1] = cv2.inpaint(window, mask, 5, cv2.INPAINT_TELEA)
    return out


def plate_in_place(
    photo: np.ndarray, box: tuple[float, float, float, float], plate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Put ``plate`` over the plate at ``box`` of a photograph, as large and centred on it.

    Plates of every format are about as large (520 x 112 mm EU, 305 x 152 mm US, 280 x 200 mm
    two-line), so the new plate keeps its own aspect ratio and takes 1.1 times the box's area;
    it is brought down to that size with area averaging, as a camera would see it. The old
    plate is painted out first (the box grown by :data:`ERASE_MARGIN`, filled from the
    bumper around it), so that the ends of a long plate do not show beside a shorter one.

    Parameters
    ----------
    photo : ndarray
        RGB uint8 photograph.
    box : tuple of float
        ``x0, y0, x1, y1`` of the plate it shows, in pixels.
    plate : ndarray
        RGB uint8 plate image (e.g. :func:`render_plate`'s).

    Returns
    -------
    scene : ndarray
        RGB uint8 copy of ``photo`` with the plate in place.
    corners : ndarray (4, 2)
        The new plate's corners (top-left, top-right, bottom-right, bottom-left), float32.

    Examples
    --------
    >>> photo = np.full((240, 320, 3), 90, np.uint8)
    >>> plate = render_plate(np.random.default_rng(0)).image
    >>> scene, corners = plate_in_place(photo, (100, 150, 200, 172), plate)
    >>> scene.shape, bool((scene[161, 150] != 90).any()), bool((scene[20, 20] == 90).all())
    ((240, 320, 3), True, True)
    """
    import cv2

    x0, y0, x1, y1 = (float(v) for v in box)
    photo = erase_box(photo, (x0, y0, x1, y1))
    aspect = plate.shape[1] / plate.shape[0]
    width = math.sqrt(1.1 * (x1 - x0) * (y1 - y0) * aspect)
    height = width / aspect
    corners = np.float32([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [width / 2, height / 2]
    corners = (corners + [(x0 + x1) / 2, (y0 + y1) / 2]).astype(np.float32)
    small = cv2.resize(
        plate, (max(round(width), 1), max(round(height), 1)), interpolation=cv2.INTER_AREA
    )
    scene = np.clip(composite_plate(photo, small, corners), 0, 255).astype(np.uint8)
    return scene, corners


def augment(image: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """Camera-like degradation: perspective, rotation, blur, noise, lighting, JPEG artefacts.

    Returns a new RGB uint8 image with a small margin around the plate.
    """
    import cv2

    h, w = image.shape[:2]
    margin = 0.08 * strength
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.normal(0, 0.03 * strength, (4, 2)) * [w, h]
    dst = (src + jitter + [margin * w, margin * h]).astype(np.float32)
    size = (int(w * (1 + 2 * margin)), int(h * (1 + 2 * margin)))
    matrix = cv2.getPerspectiveTransform(src, dst)
    fill = tuple(int(v) for v in rng.integers(0, 256, 3))
    out = cv2.warpPerspective(image, matrix, size, borderValue=fill).astype(np.float32)
    out = out * rng.uniform(0.5, 1.3) + rng.uniform(-40, 40)
    gradient = np.linspace(rng.uniform(-30, 0), rng.uniform(0, 30), out.shape[1])[None, :, None]
    out = out + gradient * strength
    if rng.random() < 0.6 * strength:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.6) * strength + 0.1)
    scale = rng.uniform(0.35, 1.0) if rng.random() < 0.5 * strength else 1.0
    if scale < 1.0:
        small = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = out + rng.normal(0, rng.uniform(0, 10) * strength, out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5 * strength:
        out = jpeg_round_trip(out, int(rng.integers(30, 90)))
    return out


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (uint8) compressed as JPEG at ``quality`` and decoded again: the artefacts
    of a camera's or an archive's compression. Returned unchanged if OpenCV cannot encode it.

    Examples
    --------
    >>> image = np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1))
    >>> out = jpeg_round_trip(image, 30)
    >>> out.shape, out.dtype, bool((out != image).any())
    ((32, 64), dtype('uint8'), True)
    """
    import cv2

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else image
