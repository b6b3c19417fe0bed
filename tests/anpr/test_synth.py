"""The synthetic plate renderer: every format, one and two lines, deterministic, augmented."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.anpr.formats import FORMATS
from imaging.anpr.synth import SyntheticPlate, augment, random_text, render_plate


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f"{f.country}-{f.name}")
@pytest.mark.parametrize("two_line", [False, True])
def test_every_format_renders_in_one_and_two_lines(fmt, two_line):
    plate = render_plate(np.random.default_rng(11), fmt=fmt, two_line=two_line)
    assert isinstance(plate, SyntheticPlate)
    assert plate.country == fmt.country and plate.two_line is two_line
    assert fmt.regex.match(plate.text)
    h, w, c = plate.image.shape
    assert plate.image.dtype == np.uint8 and c == 3
    if two_line:
        assert h == 100 and 1.3 < w / h < 2.0
    elif fmt.country == "US":  # US plates are 12 x 6 inches
        assert h == 100 and 1.7 < w / h < 2.2
    elif fmt.country == "BR":  # Brazilian plates are 400 x 130 mm
        assert h == 50 and 2.8 < w / h < 3.3
    else:
        assert h == 50 and 3.5 < w / h < 5.0
    # there is text on it: the plate is not one flat colour
    assert plate.image.std() > 20


def test_rendering_and_augmentation_are_deterministic():
    for seed in range(5):
        a, b = render_plate(np.random.default_rng(seed)), render_plate(np.random.default_rng(seed))
        assert a.text == b.text and np.array_equal(a.image, b.image)
        x = augment(a.image, np.random.default_rng(seed), strength=1.0)
        y = augment(b.image, np.random.default_rng(seed), strength=1.0)
        assert np.array_equal(x, y)
    texts = {render_plate(np.random.default_rng(s)).text for s in range(20)}
    assert len(texts) == 20


def test_given_text_and_random_text():
    plate = render_plate(np.random.default_rng(0), fmt=FORMATS[0], text="123ABC02", two_line=True)
    assert plate.text == "123ABC02"
    rng = np.random.default_rng(1)
    for fmt in FORMATS:
        assert fmt.regex.match(random_text(fmt, rng))


def test_both_polarities_occur():
    darker_text = lighter_text = 0
    rng = np.random.default_rng(2)
    for _ in range(80):
        grey = render_plate(rng, fmt=FORMATS[3]).image.mean(axis=2)
        # the background is the plate's median; text is the minority
        darker_text += np.median(grey) > 128
        lighter_text += np.median(grey) < 128
    assert darker_text > 40 and lighter_text >= 1


@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_augment_keeps_type_and_adds_a_margin(strength):
    plate = render_plate(np.random.default_rng(4), fmt=FORMATS[11])
    out = augment(plate.image, np.random.default_rng(5), strength=strength)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.shape[0] >= plate.image.shape[0] and out.shape[1] >= plate.image.shape[1]
    if strength > 0:
        assert not np.array_equal(out[: plate.image.shape[0], : plate.image.shape[1]], plate.image)


def test_truetype_glyphs_when_a_font_file_is_given():
    import glob

    fonts = sorted(glob.glob("/usr/share/fonts/truetype/*/*Sans*Bold.ttf"))
    if not fonts:
        pytest.skip("no TrueType sans font on this machine")
    rng = np.random.default_rng(5)
    plate = render_plate(rng, fmt=FORMATS[0], text=None, two_line=False, font_file=fonts[0])
    default = render_plate(np.random.default_rng(5), fmt=FORMATS[0], two_line=False)
    assert plate.image.shape[0] == 50 and plate.image.dtype == np.uint8
    assert plate.text == default.text  # the font changes the glyphs, not the draws of the text
    ink = (plate.image.mean(axis=2) < 100).mean()
    assert 0.05 < ink < 0.95 and plate.image.std() > 20  # characters drawn, not blank
    assert not np.array_equal(plate.image, default.image)


def _sans_font() -> str:
    import glob

    fonts = sorted(glob.glob("/usr/share/fonts/truetype/*/*Sans*Bold.ttf"))
    if not fonts:
        pytest.skip("no TrueType sans font on this machine")
    return fonts[0]


def _glyph_centres(coverage: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    labels, n = ndimage.label(coverage > 0.5)
    return np.sort([c[1] for c in ndimage.center_of_mass(coverage > 0.5, labels, range(1, n + 1))])


def test_fixed_pitch_sets_every_character_in_an_equal_cell():
    from imaging.anpr.synth import Spacing, _ttf_coverage

    font = _sans_font()
    own = _glyph_centres(_ttf_coverage("11WW1", font))
    fixed = _glyph_centres(_ttf_coverage("11WW1", font, spacing=Spacing(fixed_pitch=True)))
    assert len(own) == len(fixed) == 5
    assert np.ptp(np.diff(fixed)) <= 1.5  # one pitch, a 1 centred in a cell as wide as a W
    assert np.ptp(np.diff(own)) > 5  # the font's own advances: a 1 is narrower than a W


def test_letter_spacing_widens_or_packs_the_line():
    from imaging.anpr.synth import Spacing, _ttf_coverage

    font = _sans_font()
    own = _ttf_coverage("AB12", font).shape[1]
    same = _ttf_coverage("AB12", font, spacing=Spacing()).shape[1]
    wide = _ttf_coverage("AB12", font, spacing=Spacing(letter_spacing=0.25)).shape[1]
    packed = _ttf_coverage("AB12", font, spacing=Spacing(letter_spacing=-0.05)).shape[1]
    assert abs(same - own) <= 3  # set one by one with the font's advances: the same line
    assert wide - own == pytest.approx(3 * 0.25 * 64, abs=3)  # three gaps, 64-point font
    assert packed < own


def test_spaced_plates_keep_their_text_and_draws():
    from imaging.anpr.synth import Spacing

    font = _sans_font()
    for fmt in [f for f in FORMATS if f.country in ("US", "BR", "DE")]:
        spaced = render_plate(
            np.random.default_rng(3), fmt=fmt, font_file=font, spacing=Spacing(0.2, True)
        )
        plain = render_plate(np.random.default_rng(3), fmt=fmt, font_file=font)
        assert spaced.text == plain.text and spaced.image.shape == plain.image.shape
        assert not np.array_equal(spaced.image, plain.image)


def test_russian_region_keeps_its_height_and_has_the_flag():
    """A three-digit region is squeezed sideways, as on the plates, not shrunk; RUS and the
    tricolour sit under it."""
    fmt = next(f for f in FORMATS if f.country == "RU")

    def region_ink_height(text: str) -> tuple[int, np.ndarray]:
        image = render_plate(np.random.default_rng(3), fmt=fmt, text=text).image
        h, w = image.shape[:2]
        region = image[4 : int(h * 0.7), w - int(w * 0.22) + 5 : w - 6].mean(axis=2)
        rows = np.flatnonzero((region < 100).any(axis=1))
        return rows[-1] - rows[0] + 1, image

    two, _ = region_ink_height("A123BC77")
    three, image = region_ink_height("A123BC777")
    assert three >= 0.85 * two
    bottom_right = image[int(image.shape[0] * 0.7) :, -int(image.shape[1] * 0.22) :]
    assert (np.abs(bottom_right.astype(int) - (0, 57, 166)).sum(axis=2) < 30).any()


def test_a_plate_put_in_place_hides_the_longer_plate_it_replaces():
    from imaging.anpr.synth import plate_in_place

    photo = np.full((200, 400, 3), 70, np.uint8)
    photo[100:122, 100:300] = 255  # a long white plate with dark characters
    photo[104:118, 105:295:12] = 0
    us_like = np.full((60, 120, 3), 200, np.uint8)
    scene, corners = plate_in_place(photo, (100, 100, 300, 122), us_like)
    x0, x1 = corners[:, 0].min(), corners[:, 0].max()
    assert 300 - 100 > x1 - x0 + 40  # the new plate is shorter than the old one
    beside = np.concatenate(
        [scene[100:122, 100 : int(x0) - 2], scene[100:122, int(x1) + 3 : 300]], 1
    )
    assert abs(float(beside.mean()) - 70) < 12  # bumper, not plate, shows beside it
    assert (scene[:80] == 70).all() and (scene[150:] == 70).all()  # the rest is untouched


def test_yellow_plates_have_dark_characters():
    """Dutch and British rear plates are yellow with black characters, never light ones."""
    from imaging.anpr.formats import FORMATS
    from imaging.anpr.synth import render_plate

    rng = np.random.default_rng(7)
    yellow = 0
    for fmt in (f for f in FORMATS if f.country in ("NL", "UK")):
        for _ in range(60):
            image = render_plate(rng, fmt=fmt, two_line=False).image.astype(int)
            r, g, b = np.median(image.reshape(-1, 3), axis=0)
            if r > 200 and g > 160 and b < 100:
                yellow += 1
                white = (image.min(axis=2) > 190).mean()  # light ink: white characters
                assert white < 0.04, white
    assert yellow >= 20
