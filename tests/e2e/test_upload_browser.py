"""A patient uploads a rotated iPhone HEIC and a JPEG in a real browser: per-file progress, then upright photos."""

from __future__ import annotations

import pytest

from tests.factories import FIXTURES, PASSWORD, build_world

pytestmark = pytest.mark.e2e


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a page expression from outside: our CSP (no unsafe-eval) forbids wait_for_function's in-page eval."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_patient_uploads_with_progress_and_sees_photos_upright(live_app, live_server, page):
    with live_app.app_context():
        world = build_world()
    sign_in(page, live_server, world["a"].email)
    page.goto(f"{live_server}/patients/{world['a'].patient_id}/areas/{world['a'].area_id}")
    page.set_input_files("#file", [str(FIXTURES / "heic/arrow.heic"), str(FIXTURES / "orientation/Landscape_6.jpg"),
                                   str(FIXTURES / "malformed/truncated_jpeg.jpg")])
    assert "3 photos chosen." in page.locator("[data-chosen]").inner_text()
    page.get_by_label("Taken on (for photos that carry no date of their own)").fill("2026-01-15")
    page.get_by_role("button", name="Upload").click()
    rows = page.locator(".upload-row")
    page.locator(".upload-row[data-state]").nth(2).wait_for()
    states = {rows.nth(i).locator(".upload-name").inner_text(): rows.nth(i).get_attribute("data-state")
              for i in range(3)}
    assert states == {"arrow.heic": "done", "Landscape_6.jpg": "done", "truncated_jpeg.jpg": "error"}
    heic_row = rows.filter(has_text="arrow.heic")
    assert "taken on 2018-07-31 (date read from the photo" in heic_row.inner_text()
    assert heic_row.locator("progress").evaluate("el => el.value") == 100
    assert "corrupted or incomplete" in rows.filter(has_text="truncated_jpeg.jpg").inner_text()
    page.reload()
    thumbs = page.locator(".photo-grid img")
    assert thumbs.count() == 2
    wait_until(page, "Array.from(document.querySelectorAll('.photo-grid img')).every(i => i.complete && "
                     "i.naturalWidth > 0)")
    sizes = thumbs.evaluate_all("imgs => imgs.map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
    by_date = {alt.rsplit(", ", 1)[1]: (w, h) for alt, w, h in sizes}
    width, height = by_date["31 Jul 2018"]
    assert height > width, "the iPhone HEIC is portrait, rotated once"
    width, height = by_date["15 Jan 2026"]
    assert width > height, "EXIF orientation 6 applied"


def test_photo_without_date_asks_for_it_inline(live_app, live_server, page):
    with live_app.app_context():
        world = build_world()
    sign_in(page, live_server, world["a"].email)
    page.goto(f"{live_server}/patients/{world['a'].patient_id}/areas/{world['a'].area_id}")
    page.set_input_files("#file", [str(FIXTURES / "orientation/Portrait_1.jpg")])
    page.get_by_role("button", name="Upload").click()
    row = page.locator(".upload-row")
    page.locator(".upload-row[data-state]").wait_for()
    assert row.get_attribute("data-state") == "error" and "carries no date" in row.inner_text()
    row.locator("input[type=date]").fill("2026-02-03")
    row.get_by_role("button", name="Upload with this date").click()
    page.locator(".upload-row[data-state=done]").wait_for()
    assert "taken on 2026-02-03" in row.inner_text()


def test_lost_answer_then_try_again_keeps_one_photo(live_app, live_server, page):
    """The upload reaches the server and is saved, but the phone never hears back (the connection drops):
    "Try again" resends it with the same Idempotency-Key and gets the saved photo — not a second copy."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Photo

    with live_app.app_context():
        world = build_world()
    sign_in(page, live_server, world["a"].email)
    page.goto(f"{live_server}/patients/{world['a'].patient_id}/areas/{world['a'].area_id}")
    keys: list[str] = []

    def lose_the_first_answer(route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # the server receives and saves the photo...
            route.abort("connectionreset")  # ...and the answer is lost on the way back
        else:
            route.continue_()

    page.route(f"**/photos/area/{world['a'].area_id}", lose_the_first_answer)
    page.set_input_files("#file", [str(FIXTURES / "orientation/Landscape_6.jpg")])
    page.get_by_label("Taken on (for photos that carry no date of their own)").fill("2026-01-15")
    page.get_by_role("button", name="Upload").click()
    row = page.locator(".upload-row")
    page.locator(".upload-row[data-state=error]").wait_for()
    assert "connection failed" in row.inner_text()
    retry = row.get_by_role("button", name="Try again")
    assert retry.evaluate("el => el === document.activeElement"), "focus moves to the way out"
    retry.press("Enter")
    page.locator(".upload-row[data-state=done]").wait_for()
    assert "Saved" in row.inner_text()
    assert len(keys) == 2 and keys[0] == keys[1] != ""
    with live_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 1
