"""Synthetic striae photos: deterministic, same anatomy under any pose, severity only changes visibility."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tracker.imaging import normalize, strip_check
from tracker.imaging.synthetic import pose_matrix, striae_photo

from .helpers import decoded, mean_abs_diff

SIZE = (640, 480)


def render(seed: int = 3, severity: float = 0.8, **options: object) -> np.ndarray:
    return decoded(striae_photo(seed, severity, *SIZE, **options)).astype(np.float32)


def test_same_arguments_give_the_same_bytes() -> None:
    assert striae_photo(7, 0.5, *SIZE) == striae_photo(7, 0.5, *SIZE)
    assert striae_photo(7, 0.5, *SIZE) != striae_photo(8, 0.5, *SIZE)


def test_output_is_a_clean_jpeg_of_the_requested_size() -> None:
    photo = striae_photo(1, 1.0, 320, 200)
    assert decoded(photo).shape == (200, 320, 3)
    assert not any(strip_check(photo).values())


def test_default_size_and_realistic_skin_tone() -> None:
    pixels = decoded(striae_photo(0, 0.5))
    assert pixels.shape == (1200, 1600, 3)
    red, green, blue = pixels.reshape(-1, 3).mean(axis=0)
    assert red > green > blue  # warm skin, not grey or blue
    assert 15 < pixels.std() < 60  # shading and texture, neither flat nor noise


@pytest.mark.parametrize("pose", [(12.0, 1.1, 30.0, -20.0), (-25.0, 0.85, -40.0, 15.0), (0.0, 1.0, 50.0, 0.0)])
def test_a_pose_is_the_same_anatomy_seen_differently(pose: tuple[float, float, float, float]) -> None:
    straight = render()
    posed = render(pose=pose)
    predicted = cv2.warpAffine(straight, pose_matrix(pose, *SIZE)[:2], SIZE, flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(straight.shape[:2], np.float32), pose_matrix(pose, *SIZE)[:2], SIZE) > 0.999
    inside = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert inside.mean() > 0.5
    assert np.abs(predicted - posed)[inside].mean() < 3  # sensor noise and JPEG only
    assert np.abs(straight - posed)[inside].mean() > 3 * np.abs(predicted - posed)[inside].mean()


def test_severity_changes_only_how_visible_the_striae_are() -> None:
    healed, mild, severe = (render(severity=s) for s in (0.0, 0.5, 1.0))
    change = np.abs(severe - healed).max(axis=2)
    assert mean_abs_diff(mild, healed) < mean_abs_diff(severe, healed)
    assert np.percentile(change, 99) > 40  # the striae
    assert np.percentile(change, 50) < 4  # everything else: same skin, same moles


def test_brightness_scales_exposure() -> None:
    assert render(brightness=0.7).mean() < 0.8 * render().mean()


def test_severity_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        striae_photo(1, 1.5)


def test_pose_matrix_of_the_identity_pose_is_the_identity() -> None:
    assert np.allclose(pose_matrix((0.0, 1.0, 0.0, 0.0)), np.eye(3))


def test_synthetic_photos_pass_the_quality_check() -> None:
    assert normalize(striae_photo(2, 0.3, 1200, 900)).quality.warnings == ()
