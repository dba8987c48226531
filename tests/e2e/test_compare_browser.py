"""Compare and capture in a real browser: the slider moves by keyboard and reveals more of the after photo;
the capture page takes a photo from the (fake) camera with the baseline as a ghost and uploads it."""

from __future__ import annotations

import pytest

from tests.e2e.test_upload_browser import sign_in, wait_until
from tests.factories import build_world, striae

pytestmark = pytest.mark.e2e


def _two_aligned_photos(live_app, world):
    from datetime import date

    from tracker.extensions import db
    from tracker.models import TreatmentArea, User
    from tracker.photos.services import upload_photo

    with live_app.app_context():
        area = db.session.get(TreatmentArea, world["a"].area_id)
        user = db.session.get(User, world["prac_x"].user_id)
        before = upload_photo(user, area, striae(5, 0.95), taken_on=date(2026, 1, 10), view="front").photo
        after = upload_photo(user, area, striae(5, 0.3, pose=(5, 1.05, 20, 5)), taken_on=date(2026, 4, 10),
                             view="front").photo
        return before.id, after.id, after.alignment.value


def test_slider_moves_with_the_keyboard_and_reveals_the_after_photo(live_app, live_server, page):
    with live_app.app_context():
        world = build_world()
    before, after, state = _two_aligned_photos(live_app, world)
    assert state == "aligned"
    sign_in(page, live_server, world["prac_x"].email)
    page.goto(f"{live_server}/timeline/area/{world['a'].area_id}/compare?mode=slider")
    assert "Both photos are aligned" in page.locator("[data-alignment-note]").inner_text()
    wait_until(page, "Array.from(document.querySelectorAll('.compare img')).every(i => i.complete && i.naturalWidth)")
    viewer = page.locator("[data-compare]")
    after_pane = page.locator(".pane-after")
    assert after_pane.evaluate("el => el.style.clipPath") == "inset(0px 0px 0px 50%)"
    shot_before = page.locator(".pane-before").screenshot()
    slider = page.get_by_label("Reveal the after photo")
    slider.focus()
    for _ in range(30):
        page.keyboard.press("ArrowLeft")
    assert slider.input_value() == "20"
    assert after_pane.evaluate("el => el.style.clipPath") == "inset(0px 0px 0px 20%)"
    page.keyboard.press("Home")
    assert after_pane.evaluate("el => el.style.clipPath") in ("inset(0px)", "inset(0px 0px 0px 0%)")
    assert page.locator(".pane-before").screenshot() != shot_before, "the visible picture changed"
    # Onion skin, by keyboard too.
    page.get_by_label("Onion skin").check()
    opacity = page.get_by_label("Opacity of the after photo")
    opacity.focus()
    page.keyboard.press("End")
    assert after_pane.evaluate("el => el.style.opacity") == "1"
    # The adjusted toggle swaps both pictures to the colour-matched versions.
    page.get_by_label("Match exposure and colour (adjusted)").check()
    assert page.locator("img[data-role=after]").get_attribute("src").endswith("/image/adjusted")
    assert viewer.get_attribute("data-mode") == "onion"


def test_side_by_side_zoom_is_synchronized(live_app, live_server, page):
    with live_app.app_context():
        world = build_world()
    _two_aligned_photos(live_app, world)
    sign_in(page, live_server, world["prac_x"].email)
    page.goto(f"{live_server}/timeline/area/{world['a'].area_id}/compare?mode=side")
    page.locator(".pane-before").focus()
    page.keyboard.press("+")
    page.keyboard.press("ArrowLeft")
    transforms = page.locator(".compare img").evaluate_all("imgs => imgs.map(i => i.style.transform)")
    assert transforms[0] == transforms[1] and "scale(1.25)" in transforms[0] and "translate(40px" in transforms[0]


def test_capture_with_ghost_uploads_a_camera_frame(live_app, live_server, camera_page):
    page = camera_page
    with live_app.app_context():
        world = build_world()
    _two_aligned_photos(live_app, world)
    sign_in(page, live_server, world["a"].email)
    page.goto(f"{live_server}/timeline/area/{world['a'].area_id}/capture?view=front")
    ghost = page.locator("img[data-role=ghost]")
    page.get_by_label("Guide opacity").fill("70")
    assert ghost.evaluate("el => el.style.opacity") == "0.7"
    page.get_by_role("button", name="Start the camera").click()
    page.get_by_role("button", name="Take the photo").wait_for()
    wait_until(page, "document.querySelector('video').videoWidth > 0")
    page.get_by_role("button", name="Take the photo").click()
    status = page.locator("[data-role=status]")
    status.get_by_role("link", name="Open the photo").wait_for()
    page.goto(f"{live_server}/timeline/area/{world['a'].area_id}")
    assert page.locator(".tl-photo").count() == 3
