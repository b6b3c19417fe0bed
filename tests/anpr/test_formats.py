import numpy as np
import pytest

from imaging._shared.errors import ShapeError
from imaging.anpr.formats import (
    ALPHABET,
    FORMATS,
    SPECIFICITY_WEIGHT,
    constrained_decode,
    match_plate,
    normalize_text,
    reorder_two_line,
)
from imaging.anpr.synth import augment, random_text, render_plate


@pytest.mark.parametrize(
    "text,country",
    [
        ("123ABC02", "KZ"),
        ("123AB17", "KZ"),
        ("A123BCD", "KZ"),
        ("A123BC77", "RU"),
        ("A123BC777", "RU"),
        ("1234AB7", "BY"),
        ("AB12347", "BY"),
        ("01123ABC", "KG"),
        ("12AB345", "AM"),
        ("AB12CDE", "UK"),
        ("AA1234BB", "UA"),
        ("ABC1234", "BR"),
        ("ABC1D23", "BR"),
    ],
)
def test_patterns_match_examples(text, country):
    assert country in [f.country for f in match_plate(text)]


@pytest.mark.parametrize("text", ["123ABC21", "123ABC00", "1234AB8", "Q123BC77"])
def test_patterns_reject_invalid(text):
    countries = {f.country for f in match_plate(text)} - {"US", "NL", "PL", "SI", "DE"}
    assert not countries & {"KZ", "BY", "RU"}


def test_every_example_matches_its_own_format():
    for fmt in FORMATS:
        assert fmt.regex.match(fmt.example), fmt


def test_normalize_cyrillic_and_separators():
    assert normalize_text("А 123 ВС 77") == "A123BC77"
    assert normalize_text("1234 ab-7") == "1234AB7"


def test_two_line_reordering():
    assert reorder_two_line("12302", "ABC") == "123ABC02"
    assert reorder_two_line("AB", "1234") == "AB1234"


def one_hot(text, noise=1e-3):
    probs = np.full((len(text), len(ALPHABET)), noise)
    for k, c in enumerate(text):
        probs[k, ALPHABET.index(c)] = 0.9
    return probs


@pytest.mark.parametrize(
    "read,confused,expected,country",
    [
        ("123ABCO2", ("O", "0", 6), "123ABC02", "KZ"),  # O in a digit slot
        ("A1Z3BC77", ("Z", "2", 2), "A123BC77", "RU"),  # 2 read as Z
        ("1B34AB7", ("B", "8", 1), "1834AB7", "BY"),  # 8 read as B
        ("A123BC7S", ("S", "5", 7), "A123BC75", "RU"),
    ],  # 5 read as S
)
def test_constrained_decoding_resolves_confusions_by_position(read, confused, expected, country):
    probs = one_hot(read)
    _wrong, right, position = confused
    probs[position, ALPHABET.index(right)] = 0.5  # the right one is the runner-up
    result = constrained_decode(probs)
    assert result.text == expected and result.country == country
    assert result.alternatives[0][0] == expected
    assert 0 < result.confidence <= 1


def test_country_restriction_and_unmatched_text():
    probs = one_hot("ZZZ")  # three characters: no format (the US ones have 4 to 8)
    assert constrained_decode(probs).country == ""
    assert constrained_decode(one_hot("123ABC02"), countries=["RU"]).country != "KZ"
    with pytest.raises(ValueError):
        constrained_decode(np.zeros((3, 5)))


def test_renderer_is_deterministic_and_covers_every_format():
    for fmt in FORMATS:
        a = render_plate(np.random.default_rng(4), fmt=fmt)
        b = render_plate(np.random.default_rng(4), fmt=fmt)
        assert np.array_equal(a.image, b.image) and a.text == b.text
        assert fmt.regex.match(a.text)
        assert a.image.dtype == np.uint8 and a.image.shape[2] == 3
    two = render_plate(np.random.default_rng(1), fmt=FORMATS[0], two_line=True)
    assert two.two_line and two.image.shape[0] == 100
    out = augment(two.image, np.random.default_rng(2))
    assert out.dtype == np.uint8 and out.shape[0] > two.image.shape[0]
    assert FORMATS[0].regex.match(random_text(FORMATS[0], np.random.default_rng(3)))


# --- every country's formats, positive and negative -------------------------------------------

POSITIVE = {
    ("KZ", "private since 2012"): ["123ABC02", "001XYZ20", "9 99 AAA 17"],
    ("KZ", "legal entity since 2012"): ["123AB02", "555KM14"],
    ("KZ", "1993-2012"): ["A123BCD", "Z001KM"],
    ("RU", "standard"): ["A123BC77", "X371HK96", "о 777 ор 199"],
    ("BY", "car"): ["1234AB7", "2914KC7", "1234 ІТ-0"],
    ("BY", "truck"): ["AB12347", "KM 0001-5"],
    ("KG", "private since 2016"): ["01123ABC", "08 555 KGZ"],
    ("KG", "legal since 2016"): ["01123AB"],
    ("AM", "since 2014"): ["12AB345", "123AB12", "12AB34"],
    ("UA", "since 2004"): ["AA1234BB", "AA0013BM"],
    ("DE", "standard"): ["MAB1234", "B-XY 12", "HHAB123E"],
    ("UK", "since 2001"): ["AB12CDE", "OY09 FEU"],
    ("FR", "SIV since 2009"): ["AB-123-CD"],
    ("IT", "since 1994"): ["AB123CD"],
    ("SK", "since 1997"): ["BA-123AB", "RK 708AI"],
    ("CZ", "since 2001"): ["1A2 3456", "5AB 1234"],
    ("ES", "since 2000"): ["1234BCD", "0000 ZZZ"],
    ("PL", "standard"): ["WA12345", "KR 1234A"],
    ("NL", "sidecode"): ["12BDF3", "XX999X", "GBB01B"],
    ("LT", "standard"): ["ABC123"],
    ("LV", "standard"): ["AB1234", "KL1"],
    ("EE", "standard"): ["123ABC"],
    ("HR", "standard"): ["ZG1234AB", "ST123A"],
    ("SI", "standard"): ["LJ12ABC"],
    ("BR", "1990-2018"): ["ABC1234", "XBR2267"],
    ("BR", "Mercosur since 2018"): ["ABC1D23", "QGO4P13"],
    ("US", "generic"): ["ABC1234", "7XYZ123", "FUW999"],
}

NEGATIVE = {
    ("KZ", "private since 2012"): ["123ABC21", "123ABC00", "12ABC02", "123AB1C02"],
    ("KZ", "legal entity since 2012"): ["123AB21", "12AB02"],
    ("KZ", "1993-2012"): ["A12BCD", "1123BCD", "A123B"],
    ("RU", "standard"): ["D123BC77", "A123BC7", "A12BC77", "A123BZ77", "A123BC7777"],
    ("BY", "car"): ["1234AB8", "1234DB7", "123AB7"],
    ("BY", "truck"): ["AB12348", "AZ12347"],
    ("KG", "private since 2016"): ["0112ABC", "01123ABCD"],
    ("KG", "legal since 2016"): ["01123A"],
    ("AM", "since 2014"): ["1AB345", "12A345", "12AB3456"],
    ("UA", "since 2004"): ["A1234BB", "AA12345B"],
    ("DE", "standard"): ["M1234", "ABCDEF1", "MAB12345"],
    ("UK", "since 2001"): ["AB123CD", "A12CDE"],
    ("FR", "SIV since 2009"): ["AB12CD", "A123BCD"],
    ("IT", "since 1994"): ["AB1234CD"],
    ("SK", "since 1997"): ["BA12AB", "B123ABC"],
    ("CZ", "since 2001"): ["AB23456", "1A234567", "1AB234C"],
    ("ES", "since 2000"): ["1234ABC", "1234BCE", "123BCD"],
    ("PL", "standard"): ["W12345", "1A12345", "WA1234B"],
    ("NL", "sidecode"): ["12BDF", "12BDF34", "12ABC3"],
    ("LT", "standard"): ["AB1234", "ABC12"],
    ("LV", "standard"): ["A1234", "AB12345"],
    ("EE", "standard"): ["12ABC", "123AB1"],
    # a Slovak area (BA) and a series letter Croatian does not have (Q)
    ("HR", "standard"): ["Z1234AB", "ZG12ABC", "BA2681M", "ZG1234AQ"],
    ("SI", "standard"): ["L12ABC", "LJ12ABCD", "BA12ABC"],
    ("BR", "1990-2018"): ["AB1234", "ABC12345", "ABC1D23"],
    ("BR", "Mercosur since 2018"): ["ABC1234", "ABCD123", "AB1C23"],
    ("US", "generic"): ["ABC", "ABCD12345"],
}


def test_positive_and_negative_tables_cover_every_format():
    every = {(f.country, f.name) for f in FORMATS}
    assert set(POSITIVE) == every and set(NEGATIVE) == every
    required = {"KZ", "RU", "BY", "KG", "AM", "UA", "DE", "UK", "FR", "IT", "ES", "PL", "NL"}
    assert required | {"LT", "LV", "EE", "US"} <= {f.country for f in FORMATS}


@pytest.mark.parametrize("key", sorted(POSITIVE))
def test_every_format_accepts_its_positive_examples(key):
    for text in POSITIVE[key]:
        assert key in {(f.country, f.name) for f in match_plate(text)}, text


@pytest.mark.parametrize("key", sorted(NEGATIVE))
def test_every_format_rejects_its_negative_examples(key):
    for text in NEGATIVE[key]:
        assert key not in {(f.country, f.name) for f in match_plate(text)}, text


def test_match_plate_restricted_to_countries_and_most_specific_first():
    assert [f.country for f in match_plate("123ABC02", countries=["RU"])] == []
    found = match_plate("A123BC77")
    assert found[0].country == "RU"
    assert found[-1].country == "US"  # the loose catch-all comes last


def test_two_line_reordering_is_by_country_rule():
    assert reorder_two_line("123 02", "АВС") == "123ABC02"  # Kazakh rear plate, Cyrillic
    assert reorder_two_line("12317", "AB") == "123AB17"  # legal entity
    assert reorder_two_line("12321", "ABC") == "12321ABC"  # 21 is no Kazakh region: kept


@pytest.mark.parametrize(
    "read,runner_up,expected,country",
    [
        ("I23ABC02", (0, "1"), "123ABC02", "KZ"),  # I in a digit slot
        ("123A8C02", (4, "B"), "123ABC02", "KZ"),  # 8 in a letter slot
        ("0123AB77", (0, "O"), "O123AB77", "RU"),  # 0 in a letter slot
        ("00Z", (0, "O"), "00Z", ""),  # nothing fits: the raw reading stays
        ("A1Z3BC77", (2, "2"), "A123BC77", "RU"),
    ],
)
def test_position_decides_between_look_alikes(read, runner_up, expected, country):
    probs = one_hot(read)
    probs[runner_up[0], ALPHABET.index(runner_up[1])] = 0.4
    result = constrained_decode(probs)
    assert (result.text, result.country) == (expected, country)


def test_area_codes_keep_other_plates_out_without_a_stronger_prior():
    """A Slovak BA268IM whose I reads as a likelier 1 fitted the Croatian pattern as BA2681M;
    Croatian plates start with a city's code, which BA is not, so the Slovak reading wins."""
    from imaging.anpr.formats import HR_AREAS

    assert len(HR_AREAS) == 34 and all(len(code) == 2 for code in HR_AREAS)
    probs = one_hot("BA2681M")
    probs[5, ALPHABET.index("I")] = 0.3
    result = constrained_decode(probs)
    assert result.text == "BA268IM" and result.country != "HR"
    # a Croatian plate is still Croatian, and the code weighs no more than any two letters:
    # against the Slovak pattern only its series' 22 letters (no Q, W, X, Y) count
    assert constrained_decode(one_hot("ZG1234AB")).country == "HR"
    zagreb = constrained_decode(one_hot("ZG123AB"))
    slovak = constrained_decode(one_hot("RK123AB"))
    assert zagreb.country == "HR" and slovak.country == "FR"  # FR, IT, SK: one pattern
    series = 2 * SPECIFICITY_WEIGHT * np.log(26 / 22)
    assert zagreb.log_score - slovak.log_score == pytest.approx(series)


def test_alternatives_are_ranked_and_scored():
    probs = one_hot("123AB02")
    result = constrained_decode(probs, top_k=3)
    assert result.country == "KZ" and result.pattern == "legal entity since 2012"
    scores = [s for _, _, s in result.alternatives]
    assert len(scores) <= 3 and scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert {c for _, c, _ in result.alternatives} >= {"KZ"}


def test_confidence_drops_when_the_characters_are_unsure():
    sure = constrained_decode(one_hot("A123BC77"))
    unsure = one_hot("A123BC77")
    unsure[3, ALPHABET.index("8")] = 0.85  # 3 or 8?
    doubtful = constrained_decode(unsure)
    assert doubtful.confidence < 0.7 * sure.confidence
    assert {a[0] for a in doubtful.alternatives} >= {"A123BC77", "A128BC77"}


def test_ctc_matrix_input_is_aligned_then_decoded():
    from imaging.anpr.formats import ctc_slots

    frames = np.full((20, 1 + len(ALPHABET)), 1e-4)
    frames[:, 0] = 1.0  # blank
    for k, c in enumerate("1234ABO"):  # the O is where a Belarusian region digit stands
        frames[2 + 2 * k, 0] = 1e-4
        frames[2 + 2 * k, 1 + ALPHABET.index(c)] = 1.0
        if c == "O":
            frames[2 + 2 * k, 1 + ALPHABET.index("0")] = 0.6
    slots, spans = ctc_slots(frames)
    assert slots.shape == (7, len(ALPHABET)) and spans[0] == (2, 3)
    result = constrained_decode(frames)
    assert (result.text, result.country, result.pattern) == ("1234AB0", "BY", "car")
    empty = constrained_decode(np.eye(1 + len(ALPHABET))[[0] * 5])  # only blanks
    assert empty.text == "" and empty.confidence == 0.0
    with pytest.raises(ShapeError):
        ctc_slots(np.zeros((5, 36)))


def test_two_line_rule_can_be_named():
    assert reorder_two_line("12302", "ABC", country="KZ") == "123ABC02"
    assert reorder_two_line("12302", "ABC", country="RU") == "12302ABC"


def test_unknown_country_codes_are_refused():
    with pytest.raises(ValueError, match="unknown code"):
        match_plate("123ABC02", countries=["XX"])
    with pytest.raises(ValueError, match="unknown code"):
        constrained_decode(one_hot("123ABC02"), countries=["KZ", "ZZ"])
    assert match_plate("123ABC02", countries="kz")[0].country == "KZ"


def test_kazakh_regions_and_plate_region():
    from imaging.anpr.formats import KZ_REGIONS, plate_region

    assert list(KZ_REGIONS) == [f"{k:02d}" for k in range(1, 21)]
    kz = next(f for f in FORMATS if f.country == "KZ")
    codes = [f"{k:02d}" for k in range(100)]
    assert [c for c in codes if kz.regex.match("123ABC" + c)] == list(KZ_REGIONS)
    assert plate_region("123 ABC 17", "KZ") == "Shymkent"
    assert plate_region("123AB20", "KZ") == "Ulytau"
    assert plate_region("A123BC77", "RU") == "77"
    assert plate_region("1234AB7", "BY") == "7"
    assert plate_region("AB12CDE", "UK") == ""


def test_us_catch_all_reports_the_round_glyph_as_zero():
    probs = one_hot("ABC1O34")
    probs[4, ALPHABET.index("0")] = 0.05  # the O ahead, the 0 far behind
    result = constrained_decode(probs, countries=["US"])
    assert (result.text, result.country) == ("ABC1034", "US")
    assert "O" not in "".join(text for text, _, _ in result.alternatives)
    as_zero = probs.copy()
    as_zero[4, [ALPHABET.index("0"), ALPHABET.index("O")]] = [0.9, 0.05]
    assert constrained_decode(as_zero, countries=["US"]).confidence == pytest.approx(
        result.confidence
    )
    italian = constrained_decode(one_hot("WE555OZ"))  # a letter slot of FR or IT keeps its O
    assert italian.text == "WE555OZ" and italian.country != "US"


def test_an_o_in_a_letter_slot_stays_a_letter_outside_the_us():
    result = constrained_decode(one_hot("O123AB77"), countries=["RU"])
    assert result.text == "O123AB77"


@pytest.mark.parametrize(
    "letter,digit", [("B", "8"), ("D", "0"), ("I", "1"), ("O", "0"), ("Z", "2")]
)
def test_polish_series_leaves_out_letters_read_as_digits(letter, digit):
    probs = one_hot(f"WA1234{letter}")
    probs[6, ALPHABET.index(digit)] = 0.4
    result = constrained_decode(probs, countries=["PL"])
    assert (result.text, result.country) == (f"WA1234{digit}", "PL")


def test_loose_formats_are_those_with_a_slot_for_letters_and_digits():
    assert [f.country for f in FORMATS if f.loose] == ["CZ", "PL", "NL", "SI", "US"]


def test_synthetic_us_texts_follow_the_zero_convention():
    us = next(f for f in FORMATS if f.o_is_zero)
    rng = np.random.default_rng(5)
    assert not any("O" in random_text(us, rng) for _ in range(300))
