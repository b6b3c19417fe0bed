"""How one-line plates split their characters into groups, and the drawing of such a line.

Real plates rarely print their text as one run: a space, a hyphen, a crest or the inspection
seals stand between the groups (Slovak ``BA-738DE`` or ``BA [crest] 268IM``, Croatian
``ZG [crest] 1234-AB``, German ``M [seals] AB 1234``, French ``AB-123-CD``). An OCR trained
only on runs reads such a mark as a character once the plate is small and blurred.
"""

from __future__ import annotations

import itertools

import numpy as np

# widths of the marks between groups, in glyph heights
_GAP, _HYPHEN, _CREST, _SEALS = 0.32, 0.5, 0.62, 0.55
# where the plates of these countries put a space or a hyphen: after these characters
_CUTS = {
    "UK": ([4], "gap"),
    "IT": ([2], "gap"),
    "CZ": ([3], "gap"),
    "ES": ([4], "gap"),
    "LT": ([3], "gap"),
    "EE": ([3], "gap"),
    "LV": ([2], "hyphen"),
    "FR": ([2, 5], "hyphen"),
    "UA": ([2, 6], "gap"),
}
_SEAL_COLOURS = ((235, 130, 30), (40, 110, 200), (230, 200, 40), (150, 90, 50), (230, 120, 170))


def _runs(text: str) -> list[str]:
    """Maximal runs of letters or of digits: ``12BDF3`` -> ``12``, ``BDF``, ``3``."""
    runs: list[str] = []
    for c in text:
        if runs and runs[-1][-1].isdigit() == c.isdigit():
            runs[-1] += c
        else:
            runs.append(c)
    return runs


def _joined(groups: list[str], mark: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k, g in enumerate(groups):
        if k:
            out.append((mark, ""))
        out.append(("text", g))
    return out


def plate_groups(country: str, text: str, rng: np.random.Generator) -> list[tuple[str, str]]:
    """The text of a one-line plate of ``country`` as ``("text", characters)`` groups and the
    marks between them: ``("gap", "")``, ``("hyphen", "")``, ``("crest", country)`` or
    ``("seals", "")``. A text the country's layout does not fit is one group.

    Examples
    --------
    >>> import numpy as np
    >>> plate_groups("FR", "AB123CD", np.random.default_rng(0))
    [('text', 'AB'), ('hyphen', ''), ('text', '123'), ('hyphen', ''), ('text', 'CD')]
    """
    runs = _runs(text)
    whole = [("text", text)]
    if len(text) < 2:
        return whole
    if country == "DE":
        letters = len(runs[0]) if runs and runs[0].isalpha() else 0
        if letters < 2 or len(runs) < 2:
            return whole
        city = int(rng.integers(max(1, letters - 2), min(3, letters - 1) + 1))
        return [
            ("text", text[:city]),
            ("seals", ""),
            ("text", text[city:letters]),
            ("gap", ""),
            ("text", text[letters:]),
        ]
    if country in ("SK", "HR", "SI") and len(text) > 4:
        mark = ("crest", country) if country != "SK" or rng.random() < 0.4 else ("hyphen", "")
        rest = text[2:]
        dash = ("hyphen", "")
        if country == "HR" and len(runs) == 3:  # ZG [crest] 1234-AB
            return [("text", text[:2]), mark, ("text", runs[1]), dash, ("text", runs[2])]
        if country == "SI":  # LJ [crest] 12-ABC
            return [("text", text[:2]), mark, ("text", rest[:2]), dash, ("text", rest[2:])]
        return [("text", text[:2]), mark, ("text", rest)]
    if country in _CUTS:
        at, mark = _CUTS[country]
        if len(text) <= at[-1]:
            return whole
        edges = [0, *at, len(text)]
        return _joined([text[a:b] for a, b in itertools.pairwise(edges)], mark)
    if country == "PL" and runs and runs[0].isalpha():
        return _joined([runs[0], text[len(runs[0]) :]], "gap") if len(runs) > 1 else whole
    if country == "NL":
        parts = [p for r in runs for p in ([r[:2], r[2:]] if len(r) == 4 else [r])]
        return _joined(parts, "hyphen")
    if country == "AM" and len(runs) == 3:
        return _joined(runs, "gap")
    if country == "BY" and len(text) == 7:  # 1234 AB-7, AB 1234-7
        first = 4 if text[0].isdigit() else 2
        return [("text", text[:first]), ("gap", ""), ("text", text[first:6]), ("hyphen", ""),
                ("text", text[6:])]  # fmt: skip
    return whole


def _text_alpha(
    group: str, font_file: str | None, font: int, thickness: int, spacing=None
) -> np.ndarray:
    """Coverage (float32, 0 to 1) of one group at a fixed glyph height of about 60 px."""
    import cv2

    if font_file is None:
        scale = 2.0
        (tw, th), _ = cv2.getTextSize(group, font, scale, thickness)
        canvas = np.zeros((th + 8, tw + 8), np.uint8)
        cv2.putText(canvas, group, (4, th + 4), font, scale, 255, thickness, cv2.LINE_AA)
        return canvas.astype(np.float32) / 255.0
    from imaging.anpr.formats import ALPHABET
    from imaging.anpr.synth import _ttf_coverage

    return _ttf_coverage(group, font_file, rows_of=ALPHABET, spacing=spacing)


def put_groups(
    plate: np.ndarray,
    groups: list[tuple[str, str]],
    box: tuple[int, int, int, int],
    colour,
    rng: np.random.Generator,
    *,
    font: int,
    font_file: str | None = None,
    spacing=None,
) -> None:
    """Draw ``groups`` (from :func:`plate_groups`) as one line centred in ``box``: every group
    at one glyph size, the marks between them at their widths, the whole squeezed or stretched
    to fill the box like a plate's condensed lettering."""

    thickness = int(rng.integers(4, 7))
    pieces = [_text_alpha(v, font_file, font, thickness, spacing) for k, v in groups if k == "text"]
    glyph_h = max(p.shape[0] for p in pieces)
    columns, marks, x = [], [], 0
    texts = iter(pieces)
    for kind, value in groups:
        if kind == "text":
            piece = next(texts)
            pad = glyph_h - piece.shape[0]
            piece = np.pad(piece, ((pad // 2, pad - pad // 2), (0, 0)))
        else:
            width = {"gap": _GAP, "hyphen": _HYPHEN, "crest": _CREST, "seals": _SEALS}[kind]
            piece = np.zeros((glyph_h, max(2, int(width * glyph_h))), np.float32)
            if kind == "hyphen":
                bar, end = max(2, glyph_h // 10), piece.shape[1] // 5
                top = glyph_h // 2 - bar // 2
                piece[top : top + bar, end:-end] = 1
            elif kind != "gap":
                marks.append((kind, value, x, x + piece.shape[1]))
        columns.append(piece)
        x += piece.shape[1]
    line = np.concatenate(columns, axis=1)
    from imaging.anpr.synth import _ink_fitted

    left, top, target_w, target_h = _ink_fitted(plate, line, box, colour, rng)
    sx = target_w / line.shape[1]
    for kind, value, a, b in marks:
        mx0, mx1 = left + int(a * sx), left + int(b * sx)
        _draw_mark(plate, kind, value, (mx0, top, mx1, top + target_h), rng)


def _draw_mark(plate: np.ndarray, kind: str, country: str, box, rng: np.random.Generator) -> None:
    import cv2

    x0, y0, x1, y1 = box
    w, h = max(3, x1 - x0), max(4, y1 - y0)
    cx = (x0 + x1) // 2
    if kind == "seals":  # the inspection sticker over the state seal
        r = max(2, min(w, h // 2) * 2 // 5)
        top_colour = _SEAL_COLOURS[int(rng.integers(len(_SEAL_COLOURS)))]
        cv2.circle(plate, (cx, y0 + h // 4), r, top_colour, -1, cv2.LINE_AA)
        cv2.circle(plate, (cx, y0 + h // 4), r, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.circle(plate, (cx, y0 + 3 * h // 4), r, (225, 225, 220), -1, cv2.LINE_AA)
        cv2.circle(plate, (cx, y0 + 3 * h // 4), r, (90, 90, 90), 1, cv2.LINE_AA)
        cv2.circle(plate, (cx, y0 + 3 * h // 4), max(1, r // 2), (160, 60, 50), -1, cv2.LINE_AA)
        return
    draw_crest(plate, country, (x0 + w // 8, y0 + h // 8, x1 - w // 8, y1 - h // 8))


def draw_crest(plate: np.ndarray, country: str, box: tuple[int, int, int, int]) -> None:
    """A small national or district coat of arms (a shield) in ``box``: the Croatian
    chequerboard, the Slovak double cross on hills, the Slovenian mountain."""
    import cv2

    x0, y0, x1, y1 = box
    w, h = max(3, x1 - x0), max(4, y1 - y0)
    red, white, blue = (200, 30, 40), (245, 245, 245), (20, 70, 170)
    shield = np.zeros((h, w), np.uint8)
    cv2.rectangle(shield, (0, 0), (w - 1, h * 3 // 5), 255, -1)
    cv2.ellipse(shield, (w // 2, h * 3 // 5), (w // 2, h * 2 // 5), 0, 0, 180, 255, -1)
    art = np.empty((h, w, 3), np.uint8)
    if country == "HR":
        cells = 5
        yy, xx = np.mgrid[0:h, 0:w]
        check = ((yy * cells // h) + (xx * cells // w)) % 2 == 0
        art[:] = white
        art[check] = red
    elif country == "SK":
        art[:] = red
        bar = max(1, w // 6)
        cv2.rectangle(art, (w // 2 - bar // 2, h // 8), (w // 2 + bar // 2, h * 3 // 4), white, -1)
        cv2.rectangle(art, (w // 5, h // 4), (w - w // 5, h // 4 + bar), white, -1)
        cv2.rectangle(art, (w // 8, h // 2 - bar), (w - w // 8, h // 2), white, -1)
        cv2.ellipse(art, (w // 2, h), (w // 2, h // 4), 0, 180, 360, blue, -1)
    else:  # SI
        art[:] = blue
        pts = np.array([[w // 6, h * 2 // 3], [w // 2, h // 5], [w - w // 6, h * 2 // 3]], np.int32)
        cv2.fillPoly(art, [pts], white)
        cv2.rectangle(art, (0, 0), (w - 1, h - 1), red, max(1, w // 10))
    region = plate[y0 : y0 + h, x0 : x0 + w]
    inside = shield[: region.shape[0], : region.shape[1]] > 0
    region[inside] = art[: region.shape[0], : region.shape[1]][inside]
