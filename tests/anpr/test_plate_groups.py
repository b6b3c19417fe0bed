"""Plates drawn with the spaces, hyphens, crests and seals between their character groups."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from imaging.anpr._plate_groups import plate_groups, put_groups
from imaging.anpr.formats import FORMATS
from imaging.anpr.synth import random_text, render_plate

ONE_LINE = [f for f in FORMATS if f.country not in ("US", "BR", "RU")]


@pytest.mark.parametrize("fmt", ONE_LINE, ids=lambda f: f"{f.country}-{f.name}")
def test_the_groups_spell_the_text_with_marks_between_them(fmt):
    rng = np.random.default_rng(3)
    for _ in range(30):
        text = random_text(fmt, rng)
        groups = plate_groups(fmt.country, text, rng)
        assert "".join(v for k, v in groups if k == "text") == text
        kinds = [k for k, _ in groups]
        assert kinds[0] == "text" and kinds[-1] == "text"
        # text and marks alternate: no empty group, no two marks side by side
        assert all((a == "text") != (b == "text") for a, b in itertools.pairwise(kinds))
        assert all(v for k, v in groups if k == "text")


def test_country_layouts():
    rng = np.random.default_rng(0)
    assert plate_groups("FR", "AB123CD", rng) == [
        ("text", "AB"), ("hyphen", ""), ("text", "123"), ("hyphen", ""), ("text", "CD"),
    ]  # fmt: skip
    assert plate_groups("HR", "ZG1234AB", rng) == [
        ("text", "ZG"), ("crest", "HR"), ("text", "1234"), ("hyphen", ""), ("text", "AB"),
    ]  # fmt: skip
    assert plate_groups("UK", "AB12CDE", rng) == [("text", "AB12"), ("gap", ""), ("text", "CDE")]
    assert plate_groups("NL", "12BDF3", rng) == [
        ("text", "12"), ("hyphen", ""), ("text", "BDF"), ("hyphen", ""), ("text", "3"),
    ]  # fmt: skip
    german = plate_groups("DE", "MAB1234", rng)
    assert german[1] == ("seals", "") and german[-1] == ("text", "1234")
    assert {german[0][1] + german[2][1]} == {"MAB"} and german[3] == ("gap", "")
    slovak = {plate_groups("SK", "BA738DE", np.random.default_rng(s))[1][0] for s in range(20)}
    assert slovak == {"crest", "hyphen"}  # BA [crest] 738DE and BA-738DE both occur
    assert plate_groups("XX", "ABC", rng) == [("text", "ABC")]
    assert plate_groups("NL", "", rng) == [("text", "")]


@pytest.mark.parametrize("font_file", [None, "ttf"])
def test_a_grouped_line_is_drawn_inside_its_box_with_gaps_between_groups(font_file):
    import glob

    if font_file == "ttf":
        fonts = sorted(glob.glob("/usr/share/fonts/truetype/*/*Sans*Bold.ttf"))
        if not fonts:
            pytest.skip("no TrueType sans font on this machine")
        font_file = fonts[0]
    plate = np.full((50, 230, 3), 245, np.uint8)
    groups = [("text", "AB"), ("gap", ""), ("text", "123"), ("hyphen", ""), ("text", "CD")]
    put_groups(plate, groups, (20, 6, 226, 44), (20, 20, 25), np.random.default_rng(1), font=0,
               font_file=font_file)  # fmt: skip
    dark = plate.mean(axis=2) < 128
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    assert rows[0] >= 6 and rows[-1] < 44 and cols[0] >= 20 and cols[-1] < 226
    # the gap leaves an empty column run wider than the spacing inside a group
    runs = np.diff(cols)
    assert runs.max() > 3


def test_crests_and_seals_are_drawn_in_colour():
    rng = np.random.default_rng(2)
    plate = np.full((50, 230, 3), 245, np.uint8)
    groups = [("text", "ZG"), ("crest", "HR"), ("text", "1234"), ("seals", ""), ("text", "AB")]
    put_groups(plate, groups, (20, 6, 226, 44), (20, 20, 25), rng, font=0)
    red = (plate[..., 0] > 150) & (plate[..., 1] < 80)
    assert red.sum() > 10  # the chequerboard's red squares
    coloured = np.ptp(plate.astype(int), axis=2) > 60
    assert coloured.sum() > red.sum()  # and the seals


def test_rendered_plates_use_the_groups_of_their_country():
    fmt = next(f for f in FORMATS if f.country == "HR")
    found_crest = 0
    for seed in range(12):
        image = render_plate(np.random.default_rng(seed), fmt=fmt, two_line=False).image
        middle = image[:, image.shape[1] // 6 :]
        found_crest += ((middle[..., 0] > 150) & (middle[..., 1] < 80)).sum() > 5
    assert 3 <= found_crest < 12  # most plates, not all (some are drawn as one run)
