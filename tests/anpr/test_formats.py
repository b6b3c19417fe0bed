import numpy as np
import pytest

from imaging.anpr.formats import (
    ALPHABET,
    FORMATS,
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
    probs = one_hot("ZZZZ")
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
