"""Plate formats as data, text normalisation, and format-constrained decoding.

Each format is a sequence of slots, each slot a set of allowed characters. Reading a plate
means choosing, for every pattern whose length fits, the most probable allowed character in
each slot; so an ``O`` read where a digit must stand becomes ``0``, a ``B`` in a digit slot
becomes ``8``, and the country and pattern come out of the match.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from imaging._shared.errors import ShapeError

__all__ = [
    "ALPHABET",
    "COUNTRIES",
    "FORMATS",
    "HR_AREAS",
    "KZ_REGIONS",
    "SI_AREAS",
    "SPECIFICITY_WEIGHT",
    "TWO_LINE_RULES",
    "PlateFormat",
    "PlateReading",
    "constrained_decode",
    "ctc_slots",
    "match_plate",
    "normalize_text",
    "plate_region",
    "reorder_two_line",
]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CYRILLIC_LOOKALIKES = "ABEKMHOPCTYX"  # RU/KZ/BY letters written with Latin look-alikes
BY_LETTERS = "ABEIKMHOPCTX"  # BY and UA letters (Cyrillic, І included)
KZ_REGIONS: dict[str, str] = {
    "01": "Astana",
    "02": "Almaty",
    "03": "Akmola",
    "04": "Aktobe",
    "05": "Almaty region",
    "06": "Atyrau",
    "07": "West Kazakhstan",
    "08": "Zhambyl",
    "09": "Karaganda",
    "10": "Kostanay",
    "11": "Kyzylorda",
    "12": "Mangystau",
    "13": "Turkestan",
    "14": "Pavlodar",
    "15": "North Kazakhstan",
    "16": "East Kazakhstan",
    "17": "Shymkent",
    "18": "Abai",
    "19": "Jetisu",
    "20": "Ulytau",
}

# registration areas (the first two letters), without diacritics: ČK, KŽ, PŽ, ŠI, VŽ, ŽU
HR_AREAS = tuple(
    "BJ BM CK DA DE DJ DU GS IM KA KC KR KT KZ MA NA NG OG OS PU PZ RI SB SI SK SL ST VK VT VU"
    " VZ ZD ZG ZU".split()
)
SI_AREAS = tuple("CE GO KK KP KR LJ MB MS NM PO SG".split())

_CYRILLIC_TO_LATIN = str.maketrans(
    "АВЕКМНОРСТУХІ" + "авекмнорстухі",
    "ABEKMHOPCTYXI" + "ABEKMHOPCTYXI",
)


@dataclass(frozen=True)
class PlateFormat:
    """One plate format: a country, a name, and a regular expression over normalised text."""

    country: str
    name: str
    pattern: str
    example: str
    prior: float = 1.0  # relative frequency of the format where the reader runs
    # the letter O and the digit 0 are one glyph on these plates, reported as 0
    o_is_zero: bool = False
    # codes one of which the text starts with (registration areas); empty: any text of the
    # pattern. The decoding's slots and narrow-format prior stay the pattern's: the codes
    # only keep other countries' plates out of this format.
    areas: tuple[str, ...] = ()

    @property
    def regex(self) -> re.Pattern:
        return _compile(self.pattern, self.areas)

    @property
    def loose(self) -> bool:
        """Whether some position takes letters and digits alike (a catch-all such as the US
        format): its text cannot tell O from 0 or I from 1 there by position."""
        return _takes_letters_and_digits(self.pattern)


@cache
def _compile(pattern: str, areas: tuple[str, ...] = ()) -> re.Pattern:
    if areas:
        pattern = f"^(?={'|'.join(areas)}){pattern.removeprefix('^')}"
    return re.compile(pattern)


@cache
def _takes_letters_and_digits(pattern: str) -> bool:
    return any(
        set(slot) & set(DIGITS) and set(slot) - set(DIGITS)
        for slots in _slot_sequences(pattern)
        for slot in slots
    )


_D, _L, _C, _B = r"\d", "[A-Z]", f"[{CYRILLIC_LOOKALIKES}]", f"[{BY_LETTERS}]"
_KZ_REGION = "(0[1-9]|1[0-9]|20)"  # exactly the codes of KZ_REGIONS (tested)

FORMATS: tuple[PlateFormat, ...] = (
    PlateFormat("KZ", "private since 2012", rf"^{_D}{{3}}{_L}{{3}}{_KZ_REGION}$", "123ABC02"),
    PlateFormat("KZ", "legal entity since 2012", rf"^{_D}{{3}}{_L}{{2}}{_KZ_REGION}$", "123AB02"),
    PlateFormat("KZ", "1993-2012", rf"^{_L}{_D}{{3}}{_L}{{2,3}}$", "A123BCD"),
    PlateFormat("RU", "standard", rf"^{_C}{_D}{{3}}{_C}{{2}}{_D}{{2,3}}$", "A123BC77"),
    PlateFormat("BY", "car", rf"^{_D}{{4}}{_B}{{2}}[0-7]$", "1234AB7"),
    PlateFormat("BY", "truck", rf"^{_B}{{2}}{_D}{{4}}[0-7]$", "AB12347"),
    PlateFormat("KG", "private since 2016", rf"^{_D}{{5}}{_L}{{3}}$", "01123ABC"),
    PlateFormat("KG", "legal since 2016", rf"^{_D}{{5}}{_L}{{2}}$", "01123AB"),
    PlateFormat("AM", "since 2014", rf"^{_D}{{2,3}}{_L}{{2}}{_D}{{2,3}}$", "12AB345"),
    # the twelve Cyrillic letters that look Latin, as on Belarusian plates
    PlateFormat("UA", "since 2004", rf"^{_B}{{2}}{_D}{{4}}{_B}{{2}}$", "AA1234BB"),
    PlateFormat("DE", "standard", rf"^{_L}{{1,3}}{_L}{{1,2}}{_D}{{1,4}}[EH]?$", "MAB1234"),
    PlateFormat("UK", "since 2001", rf"^{_L}{{2}}{_D}{{2}}{_L}{{3}}$", "AB12CDE"),
    PlateFormat("FR", "SIV since 2009", rf"^{_L}{{2}}{_D}{{3}}{_L}{{2}}$", "AB123CD"),
    PlateFormat("IT", "since 1994", rf"^{_L}{{2}}{_D}{{3}}{_L}{{2}}$", "AB123CD"),
    PlateFormat("SK", "since 1997", rf"^{_L}{{2}}{_D}{{3}}{_L}{{2}}$", "BA123AB"),
    PlateFormat("CZ", "since 2001", rf"^{_D}{_L}[0-9A-Z]{_D}{{4}}$", "1AB2345"),
    PlateFormat("ES", "since 2000", rf"^{_D}{{4}}[BCDFGHJKLMNPRSTVWXYZ]{{3}}$", "1234BCD"),
    # the series after the area code leaves out B, D, I, O and Z (read as 8, 0, 1, 0, 2)
    PlateFormat("PL", "standard", rf"^{_L}{{2,3}}[0-9ACEFGHJKLMNPRSTUVWXY]{{4,5}}$", "WA12345"),
    # no vowels (O only opens semi-trailer plates) and no C or Q, which look like 0
    PlateFormat("NL", "sidecode", r"^[0-9BDFGHJKLMNPRSTVWXYZ]{6}$", "12BDF3"),
    PlateFormat("LT", "standard", rf"^{_L}{{3}}{_D}{{3}}$", "ABC123"),
    PlateFormat("LV", "standard", rf"^{_L}{{2}}{_D}{{1,4}}$", "AB1234"),
    PlateFormat("EE", "standard", rf"^{_D}{{3}}{_L}{{3}}$", "123ABC"),
    # the series' letters leave out Q, W, X and Y (not in the Croatian alphabet)
    PlateFormat(
        "HR",
        "standard",
        rf"^{_L}{{2}}{_D}{{3,4}}[A-PR-VZ]{{1,2}}$",
        "ZG1234AB",
        areas=HR_AREAS,
    ),
    PlateFormat("SI", "standard", rf"^{_L}{{2}}[0-9A-Z]{{5}}$", "LJ12ABC", areas=SI_AREAS),
    PlateFormat("BR", "1990-2018", rf"^{_L}{{3}}{_D}{{4}}$", "ABC1234"),
    PlateFormat("BR", "Mercosur since 2018", rf"^{_L}{{3}}{_D}{_L}{_D}{{2}}$", "ABC1D23"),
    # Most states print O and 0 alike, and the US annotations write 0 for the round glyph
    # (openalpr's 751 crops and 40 photos: 336 times 0, 16 times O), so the catch-all reports
    # it as 0 with the probabilities of both. Some plates have 4 characters (Wyoming's
    # county-numbered plates, vanity and special plates: 33 of the 751 crops).
    PlateFormat("US", "generic", r"^[0-9A-Z]{4,8}$", "ABC1234", o_is_zero=True),
)


def normalize_text(text: str) -> str:
    """Upper case, Cyrillic look-alikes to Latin, only ``A-Z`` and ``0-9`` kept.

    Examples
    --------
    >>> normalize_text("а 123 вс-77")
    'A123BC77'
    """
    text = text.translate(_CYRILLIC_TO_LATIN).upper()
    return "".join(c for c in text if c in ALPHABET)


def plate_region(text: str, country: str) -> str:
    """The region a plate was issued in, where its format says it (empty when unknown).

    Kazakh plates since 2012 end with the region code; Russian plates end with a 2–3 digit
    region code and Belarusian ones with a digit 0–7 (returned as the code).

    Examples
    --------
    >>> plate_region("123ABC02", "KZ")
    'Almaty'
    >>> plate_region("A123BC777", "RU")
    '777'
    """
    text = normalize_text(text)
    if country == "KZ" and re.fullmatch(r"\d{3}[A-Z]{2,3}\d{2}", text):
        return KZ_REGIONS.get(text[-2:], "")
    if country == "RU" and re.fullmatch(r"[A-Z]\d{3}[A-Z]{2}\d{2,3}", text):
        return text[6:]
    if country == "BY" and text[-1:].isdigit():
        return text[-1]
    return ""


def match_plate(text: str, *, countries: Sequence[str] | None = None) -> list[PlateFormat]:
    """Every format the text matches, specific formats first, loose catch-alls last.

    Parameters
    ----------
    text : str
        Plate text; normalised first (:func:`normalize_text`), so spaces, hyphens and
        Cyrillic look-alikes are fine.
    countries : sequence of str, optional
        Only these countries' formats (codes of :data:`COUNTRIES`).

    Returns
    -------
    list of PlateFormat
        Each with ``country``, ``name`` (the pattern's name) and ``pattern`` (the regular
        expression over normalised text).

    Raises
    ------
    ValueError
        For a country code no format has.

    Examples
    --------
    >>> [(f.country, f.name) for f in match_plate("123 ABC 02")][:1]
    [('KZ', 'private since 2012')]
    >>> [f.country for f in match_plate("А 123 ВС 77")]
    ['RU', 'US']
    """
    text = normalize_text(text)
    countries = _check_countries(countries)
    found = [
        f for f in FORMATS if (countries is None or f.country in countries) and f.regex.match(text)
    ]
    found.sort(key=lambda f: (f.loose, -f.prior))  # stable: table order within equals
    return found


TWO_LINE_RULES: dict[str, tuple[str, str, int]] = {
    # country: (top line, bottom line, where the bottom line is inserted into the top one)
    "KZ": (r"\d{3}(0[1-9]|1\d|20)", r"[A-Z]{2,3}", 3),
}


COUNTRIES = tuple(dict.fromkeys(f.country for f in FORMATS))


def _check_countries(countries: Sequence[str] | None) -> tuple[str, ...] | None:
    """Sorted, de-duplicated country codes; ValueError for a code no format has."""
    if countries is None:
        return None
    if isinstance(countries, str):
        countries = [countries]
    chosen = tuple(sorted({str(c).upper() for c in countries}))
    unknown = [c for c in chosen if c not in COUNTRIES]
    if unknown:
        raise ValueError(
            f"countries: unknown code(s) {unknown}; expected some of {', '.join(COUNTRIES)}"
        )
    return chosen


def reorder_two_line(top: str, bottom: str, *, country: str | None = None) -> str:
    """Join the lines of a two-line plate in reading order by the country rule.

    Kazakh two-line plates (rear, motorcycles) carry ``123 02`` on top and ``ABC`` below; the
    normalised text is ``123ABC02``. Other plates read top then bottom.

    Parameters
    ----------
    top, bottom : str
        The text of each line (normalised here).
    country : str, optional
        Apply only this country's rule; by default the first rule whose line patterns both
        lines fit (see :data:`TWO_LINE_RULES`).

    Returns
    -------
    str
        The normalised text in reading order.

    Examples
    --------
    >>> reorder_two_line("12302", "ABC")
    '123ABC02'
    >>> reorder_two_line("12302", "ABC", country="RU")
    '12302ABC'
    """
    top, bottom = normalize_text(top), normalize_text(bottom)
    rules = TWO_LINE_RULES if country is None else {country: TWO_LINE_RULES.get(country)}
    for rule in rules.values():
        if rule is None:
            continue
        top_pattern, bottom_pattern, at = rule
        if re.fullmatch(top_pattern, top) and re.fullmatch(bottom_pattern, bottom):
            return top[:at] + bottom + top[at:]
    return top + bottom


# --- slot expansion of the patterns ------------------------------------------------------------

_TOKEN = re.compile(r"\\d|\[[^\]]+\]|\([^)]*\)|[0-9A-Z]")


def _class_chars(token: str) -> str:
    if token == r"\d":
        return DIGITS
    if token.startswith("["):
        body = token[1:-1]
        chars = []
        k = 0
        while k < len(body):
            if k + 2 < len(body) and body[k + 1] == "-":
                chars.extend(chr(c) for c in range(ord(body[k]), ord(body[k + 2]) + 1))
                k += 3
            else:
                chars.append(body[k])
                k += 1
        return "".join(c for c in chars if c in ALPHABET)
    return token


@cache
def _slot_sequences(pattern: str) -> tuple[tuple[str, ...], ...]:
    """All fixed-length slot sequences of a pattern (quantifiers expanded)."""
    body = pattern.strip("^$")
    parts: list[list[tuple[str, ...]]] = []
    pos = 0
    item = re.compile(r"(\\d|\[[^\]]+\]|\([^)]*\)|[0-9A-Z])(\{(\d+)(,(\d+))?\}|\?)?")
    while pos < len(body):
        m = item.match(body, pos)
        if m is None:
            raise ValueError(f"cannot expand pattern {pattern!r} at {body[pos:]!r}")
        token, quant = m.group(1), m.group(2)
        if token.startswith("("):  # alternation of literal strings, e.g. KZ regions
            options = []
            for alt in token[1:-1].split("|"):
                slots = tuple(_class_chars(t) for t in _TOKEN.findall(alt))
                options.append(slots)
            choices = options
        else:
            chars = _class_chars(token)
            if quant is None:
                lo = hi = 1
            elif quant == "?":
                lo, hi = 0, 1
            else:
                lo = int(m.group(3))
                hi = int(m.group(5)) if m.group(5) else lo
                if m.group(4) and not m.group(5):
                    hi = lo + 8
            choices = [tuple([chars] * n) for n in range(lo, hi + 1)]
        parts.append(choices)
        pos = m.end()
    sequences: list[tuple[str, ...]] = [()]
    for choices in parts:
        sequences = [s + c for s in sequences for c in choices]
    return tuple(dict.fromkeys(sequences))


@dataclass(frozen=True)
class PlateReading:
    """A decoded plate: text, the format matched (if any), confidence and alternatives.

    ``alternatives`` holds ``(text, country, score)`` for the best readings under each
    format, best first; ``score`` is the geometric mean of the characters' probabilities
    (times the format's prior), comparable between readings of one crop.
    """

    text: str
    country: str
    pattern: str
    confidence: float
    alternatives: tuple[tuple[str, str, float], ...]  # (text, country, score)
    # log of the reading's probability times its prior (the format's, with the narrow-format
    # weight, or the raw reading's penalty): comparable between decodings of one crop that
    # read different numbers of characters
    log_score: float = float("-inf")


_ALPHABET_ARRAY = np.array(list(ALPHABET))
# Strength of the narrow-format prior (1: every format equally likely a priori, so a text
# that can be bent into a narrow format almost always is). Half strength read more held-back
# real US crops (session-3 OCR 0.873 vs 0.853, session-4 OCR 0.913 vs 0.887, O/0 folded) and
# left synthetic plates and the end-to-end figures unchanged (models/anpr/plate_ocr.md).
SPECIFICITY_WEIGHT = 0.5


@cache
def _length_table(
    k: int, countries: tuple[str, ...] | None
) -> tuple[np.ndarray, tuple, np.ndarray]:
    """Masks (S, k, C) of the characters allowed by every slot sequence of length ``k``, the
    format of each, and the indices of the sequences whose 0 stands for O as well."""
    index = {c: i for i, c in enumerate(ALPHABET)}
    masks, owners = [], []
    for fmt in FORMATS:
        if countries is not None and fmt.country not in countries:
            continue
        for slots in _slot_sequences(fmt.pattern):
            if len(slots) != k:
                continue
            mask = np.zeros((k, len(ALPHABET)), bool)
            for position, allowed in enumerate(slots):
                mask[position, [index[c] for c in allowed]] = True
            if fmt.o_is_zero:
                mask[mask[:, index["O"]], index["0"]] = True
                mask[:, index["O"]] = False
            masks.append(mask)
            owners.append(fmt)
    if not masks:
        return np.zeros((0, k, len(ALPHABET)), bool), (), np.zeros(0, int)
    pooled = np.flatnonzero([fmt.o_is_zero for fmt in owners])
    return np.stack(masks), tuple(owners), pooled


def ctc_slots(ctc_probs: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Greedy CTC alignment: one probability row per character read, and its frame span.

    Parameters
    ----------
    ctc_probs : ndarray (T, 1 + len(ALPHABET))
        Per-frame probabilities, the CTC blank first.

    Returns
    -------
    slot_probs : ndarray (K, len(ALPHABET)), float64
        Averaged and renormalised character probabilities of the K characters read.
    spans : list of (int, int)
        The frames ``[start, end)`` of each character.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.zeros((5, 37))
    >>> probs[[0, 2, 4], 0] = 1  # blank
    >>> probs[[1, 3], 1 + ALPHABET.index("7")] = 1
    >>> slots, spans = ctc_slots(probs)
    >>> slots.shape, spans
    ((2, 36), [(1, 2), (3, 4)])
    """
    probs = np.asarray(ctc_probs, np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(ALPHABET) + 1:
        raise ShapeError(
            f"ctc_probs: expected shape (T, {len(ALPHABET) + 1}) with the blank first, "
            f"got {probs.shape}"
        )
    if len(probs) == 0:
        return np.zeros((0, len(ALPHABET))), []
    best = probs.argmax(axis=1)
    change = np.flatnonzero(best[1:] != best[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(best)]])
    read = best[starts] != 0
    if not read.any():
        return np.zeros((0, len(ALPHABET))), []
    segments = np.add.reduceat(probs[:, 1:], starts, axis=0)[read]
    segments /= (ends - starts)[read][:, None]
    segments /= np.maximum(segments.sum(axis=1, keepdims=True), 1e-12)
    spans = list(zip(starts[read].tolist(), ends[read].tolist(), strict=True))
    return segments, spans


def constrained_decode(
    probs: np.ndarray,
    *,
    countries: Sequence[str] | None = None,
    top_k: int = 5,
    unconstrained_penalty: float = 0.2,
    specificity_weight: float | None = None,
) -> PlateReading:
    """Choose the best plate text for the OCR's probabilities under the country formats.

    Every slot sequence of every format whose length equals the number of characters read
    takes, slot by slot, the most probable character the slot allows: an ``O`` in a digit
    slot becomes ``0``, a ``B`` becomes ``8``, an ``S`` ``5``, an ``I`` ``1`` (and back in
    letter slots). The formats' readings are ranked by the product of their characters'
    probabilities, the format's prior and, per slot, ``len(ALPHABET)`` over the number of
    characters the slot allows, to the power ``specificity_weight`` (a text that fits a narrow
    format is a priori likelier than one that fits anything; the raw reading, which may fit no
    format, has
    ``unconstrained_penalty`` as its prior). The alternatives' scores are their shares of
    that product summed over the formats' readings.

    Parameters
    ----------
    probs : ndarray (K, len(ALPHABET)) or (T, 1 + len(ALPHABET))
        Per-slot probabilities of each character of :data:`ALPHABET` at each of the K read
        positions, or a CTC probability matrix (blank first), aligned greedily by
        :func:`ctc_slots`.
    countries : sequence of str, optional
        Restrict to these countries' formats (codes of :data:`COUNTRIES`; a single code as
        a string is accepted).
    top_k : int
        Number of alternatives returned.
    unconstrained_penalty : float
        Prior of the raw (format-free) reading, so that a reading that fits a format wins
        when the two are close.
    specificity_weight : float
        Strength of the narrow-format prior: 0 treats every fitting text alike, 1 weighs
        each format as equally likely a priori (default :data:`SPECIFICITY_WEIGHT`).

    Returns
    -------
    PlateReading
        ``confidence`` is the product of the chosen characters' probabilities (the chance
        that every character is right if the OCR's probabilities are calibrated), times the
        chosen reading's share of the score among the alternatives; 0 when nothing was read.

    Raises
    ------
    ShapeError
        If ``probs`` has neither layout.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.full((8, 36), 1e-3)
    >>> for k, c in enumerate("123ABCO2"):
    ...     probs[k, ALPHABET.index(c)] = 0.9
    >>> probs[6, ALPHABET.index("0")] = 0.6   # O and 0 are close: position decides
    >>> r = constrained_decode(probs)
    >>> r.text, r.country, r.pattern
    ('123ABC02', 'KZ', 'private since 2012')
    >>> r.alternatives[0][:2]
    ('123ABC02', 'KZ')
    """
    probs = np.asarray(probs, np.float64)
    if probs.ndim == 2 and probs.shape[1] == len(ALPHABET) + 1:
        probs, _ = ctc_slots(probs)
    if probs.ndim != 2 or probs.shape[1] != len(ALPHABET):
        raise ShapeError(
            f"probs: expected shape (K, {len(ALPHABET)}) or (T, {len(ALPHABET) + 1}), "
            f"got {probs.shape}"
        )
    k = probs.shape[0]
    if k == 0:
        return PlateReading("", "", "", 0.0, ())
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    key = _check_countries(countries)
    masks, owners, pooled = _length_table(k, key)
    candidates: dict[str, tuple[str, str, float, float]] = {}
    if len(owners):
        masked = np.where(masks, logp[None], -np.inf)  # (S, k, C)
        if len(pooled):
            zero, oh = ALPHABET.index("0"), ALPHABET.index("O")
            both = np.log(np.clip(probs[:, zero] + probs[:, oh], 1e-9, 1.0))
            masked[pooled, :, zero] = np.where(masks[pooled, :, zero], both, -np.inf)
        best = masked.argmax(axis=2)  # (S, k)
        total = np.take_along_axis(masked, best[..., None], axis=2)[..., 0].sum(axis=1)
        top = masked.max(axis=2)  # (S, k)
        runner = np.where(  # second-best allowed character of every slot
            np.arange(len(ALPHABET))[None, None] == best[..., None], -np.inf, masked
        )
        second = runner.argmax(axis=2)
        loss = top - runner.max(axis=2)  # log-probability lost by taking the runner-up
        # a text that fits narrow slots is a priori likelier than one that fits any character:
        # each slot weighs len(ALPHABET) / (characters it allows), the OCR's own prior being flat
        if specificity_weight is None:
            specificity_weight = SPECIFICITY_WEIGHT
        allowed = masks.sum(axis=2)  # (S, k)
        specificity = specificity_weight * np.log(len(ALPHABET) / allowed).sum(axis=1)
        leaders = set(np.argsort(-(total + specificity))[:3].tolist())
        texts = _ALPHABET_ARRAY[best].view(f"<U{k}")[:, 0].tolist()  # (S, k) letters -> S strings
        totals, specificities = total.tolist(), specificity.tolist()
        for row, fmt in enumerate(owners):
            readings = [(texts[row], totals[row])]
            if row in leaders:  # one-character variants of the best readings
                for slot in np.flatnonzero(loss[row] < 7.0).tolist():  # within a factor of ~1000
                    text = texts[row]
                    variant = text[:slot] + ALPHABET[second[row, slot]] + text[slot + 1 :]
                    readings.append((variant, totals[row] - float(loss[row, slot])))
            log_prior = math.log(fmt.prior)
            for plate, total_logp in readings:
                mean = (total_logp + specificities[row] + log_prior) / k
                if plate not in candidates or candidates[plate][2] < mean:
                    if fmt.regex.match(plate):
                        candidates[plate] = (fmt.country, fmt.name, mean, total_logp)
    raw = "".join(_ALPHABET_ARRAY[probs.argmax(axis=1)])
    raw_total = float(logp.max(axis=1).sum())
    raw_score = raw_total / k
    ranked = sorted(candidates.items(), key=lambda kv: -kv[1][2])
    if ranked and ranked[0][1][2] >= raw_score + np.log(unconstrained_penalty) / k:
        text, (country, name, mean, total_logp) = ranked[0]
        log_score = mean * k
    else:
        text, country, name, total_logp = raw, "", "", raw_total
        log_score = raw_total + float(np.log(unconstrained_penalty))
    alternatives = ()
    if ranked:  # each reading's share of the formats' posterior
        posterior = np.array([v[2] for _, v in ranked]) * k
        posterior = np.exp(posterior - posterior.max())
        posterior /= posterior.sum()
        alternatives = tuple(
            (t, c, float(p)) for (t, (c, *_)), p in zip(ranked[:top_k], posterior, strict=False)
        )
    share = 1.0
    if ranked:
        weights = np.exp(np.array([v[3] for _, v in ranked]) - total_logp)
        share = float(1.0 / max(weights.sum(), 1.0))
    confidence = float(np.clip(np.exp(total_logp) * share, 0.0, 1.0))
    return PlateReading(text, country, name, confidence, alternatives, log_score)
