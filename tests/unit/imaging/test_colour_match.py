"""Tests of tracker.imaging.colour_match: a darker, colour-cast copy of a real photo is brought back close to
the original, an already matching photo is left alone, the comparison region can be masked, and the
correction is bounded when the two photos have nothing in common."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tracker.imaging.colour_match import match_to_reference, mean_delta_e

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PHOTOS = {
    "micrograph": "skin/Normal_Epidermis_and_Dermis_with_Intradermal_Nevus_10x.jpg",
    "landscape": "orientation/Landscape_1.jpg",  # far wider range of colours than skin
}


def load(fixture: str, width: int = 640) -> np.ndarray:
    with Image.open(FIXTURES / fixture) as opened:
        height = round(opened.height * width / opened.width)
        return np.asarray(opened.convert("RGB").resize((width, height), Image.Resampling.BOX))


@pytest.fixture(scope="module", params=PHOTOS)
def photo(request) -> np.ndarray:
    return load(PHOTOS[request.param])


def relit(image: np.ndarray, gains) -> np.ndarray:
    """Another session's exposure and white balance: per-channel gains on the pixel values."""
    return np.clip(image.astype(np.float32) * np.float32(gains), 0, 255).astype(np.uint8)


DARKER_AND_WARMER = (0.8 * 1.08, 0.8, 0.8 * 0.85)  # brightness x0.8 and an orange cast


@pytest.mark.parametrize("gains", [DARKER_AND_WARMER, (1.15, 1.1, 0.95), (0.7, 0.75, 0.9)])
def test_exposure_and_colour_cast_are_undone(photo, gains):
    follow_up = relit(photo, gains)
    before = mean_delta_e(follow_up, photo)

    after = mean_delta_e(match_to_reference(follow_up, photo), photo)

    assert before > 10  # clearly visible
    assert after < before / 5  # measured at 640 px: 20-36x lower on the micrograph, 7-18x on the landscape
    assert after < 3


def test_a_matching_photo_is_left_alone(photo):
    matched = match_to_reference(photo, photo)

    assert matched.shape == photo.shape and matched.dtype == np.uint8
    assert np.abs(matched.astype(int) - photo).max() <= 1  # float Lab round trip only


def test_inputs_are_not_modified_and_a_new_array_is_returned(photo):
    follow_up = relit(photo, DARKER_AND_WARMER)
    originals = follow_up.copy(), photo.copy()

    matched = match_to_reference(follow_up, photo)

    assert matched is not follow_up
    np.testing.assert_array_equal(follow_up, originals[0])
    np.testing.assert_array_equal(photo, originals[1])


def test_mask_keeps_other_things_out_of_the_statistics():
    """A blue towel covers the right half of the follow-up only; masking it out matches the skin better."""
    reference = load(PHOTOS["micrograph"])
    follow_up = relit(reference, DARKER_AND_WARMER)
    follow_up[:, 320:] = (40, 70, 200)
    skin = np.zeros(reference.shape[:2], bool)
    skin[:, :300] = True

    masked = match_to_reference(follow_up, reference, mask=skin)
    unmasked = match_to_reference(follow_up, reference)

    assert mean_delta_e(masked, reference, mask=skin) < 2
    assert mean_delta_e(masked, reference, mask=skin) < mean_delta_e(unmasked, reference, mask=skin) / 3


def test_photos_of_different_sizes_are_matched_on_their_central_regions():
    reference = load(PHOTOS["micrograph"], width=640)
    follow_up = relit(load(PHOTOS["micrograph"], width=400), DARKER_AND_WARMER)
    original = load(PHOTOS["micrograph"], width=400)

    matched = match_to_reference(follow_up, reference)

    assert matched.shape == follow_up.shape
    assert mean_delta_e(matched, original) < mean_delta_e(follow_up, original) / 5


def test_correction_is_bounded_for_photos_with_nothing_in_common():
    """Clamped gains: a dark photo 'matched' to a white wall brightens by about a stop, not to white."""
    dark = load(PHOTOS["landscape"]) // 3
    white_wall = np.full((480, 640, 3), 245, np.uint8)

    matched = match_to_reference(dark, white_wall)

    assert matched.mean() > dark.mean()
    assert matched.mean() < 2.5 * dark.mean() < 245  # measured: x2.0
    assert mean_delta_e(matched, dark) < 25  # measured: 18


def test_without_usable_pixels_the_photo_comes_back_unchanged(photo):
    nothing = np.zeros(photo.shape[:2], bool)
    blown_out = np.full_like(photo, 255)

    np.testing.assert_array_equal(match_to_reference(photo, photo[::-1].copy(), mask=nothing), photo)
    np.testing.assert_array_equal(match_to_reference(photo, blown_out), photo)


@pytest.mark.parametrize(
    ("image", "mask"),
    [
        (np.zeros((40, 40, 3), np.float32), None),
        (np.zeros((40, 40, 4), np.uint8), None),
        (np.zeros((40, 40, 3), np.uint8), np.ones((20, 20), bool)),  # mask of the wrong size
        (np.zeros((30, 40, 3), np.uint8), np.ones((30, 40), bool)),  # a mask needs same-size photos
    ],
)
def test_bad_input_is_refused(image, mask):
    with pytest.raises(ValueError):
        match_to_reference(image, np.zeros((40, 40, 3), np.uint8), mask=mask)


def test_mean_delta_e_measures_colour_difference():
    grey = np.full((10, 10, 3), 128, np.uint8)
    lighter = np.full((10, 10, 3), 138, np.uint8)
    half = np.zeros((10, 10), bool)
    half[:, :5] = True
    mixed = grey.copy()
    mixed[:, 5:] = 138

    assert mean_delta_e(grey, grey) == 0
    assert 3 < mean_delta_e(grey, lighter) < 5  # 10 levels of mid grey is ~3.6 L*
    assert mean_delta_e(grey, mixed, mask=half) == 0
