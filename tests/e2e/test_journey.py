"""The whole journey in a real browser: a practitioner invites a patient; the patient joins, signs the care
consent, uploads a rotated iPhone HEIC and a JPEG with progress bars and sees them upright on the timeline; the
practitioner records a session and compares; another clinic's practitioner can reach none of it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_upload_browser import sign_in, wait_until
from tests.factories import FIXTURES, build_world

pytestmark = pytest.mark.e2e


def test_invite_consent_upload_timeline_session_compare_isolation(live_app, live_server, browser, steps):
    with live_app.app_context():
        world = build_world()
    outbox = live_app.extensions["tracker_mailer"].outbox
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(staff, live_server, world["prac_x"].email)
    # The practitioner adds the patient, an area and a course, and sends the invitation.
    staff.goto(f"{live_server}/patients/new")
    staff.get_by_label("Full name").fill("Nora Newcomer")
    staff.get_by_label("E-mail (needed to invite them)").fill("nora@example.com")
    staff.get_by_label("Send the patient an invitation to sign in now").check()
    staff.get_by_role("button", name="Add the patient").click()
    assert "invitation is on its way" in staff.locator('[role="status"]').inner_text()
    chart_url = staff.url
    staff.get_by_role("link", name="Add an area").click()
    staff.get_by_label("Name").fill("Abdomen")
    staff.get_by_label("Body region").select_option("abdomen")
    staff.get_by_role("button", name="Add the area").click()
    staff.get_by_role("link", name="Add a course").click()
    staff.get_by_label("Indication").fill("Striae distensae")
    staff.get_by_label("Start date").fill("2026-01-05")
    staff.get_by_label("Abdomen").check()
    staff.get_by_role("button", name="Add the course").click()
    steps(staff, "practitioner-chart")
    link = re.search(r"(/auth/invite/\S+)", outbox[-1].get_content()).group(1)

    # The patient joins, signs the care consent and uploads.
    patient = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    patient.goto(f"{live_server}{link}")
    patient.get_by_label("Choose a password").fill("nora's long passphrase")
    patient.get_by_label("Repeat the password").fill("nora's long passphrase")
    patient.get_by_role("button", name="Create my account").click()
    assert "Hello, Nora Newcomer" in patient.content()
    patient.goto(f"{live_server}/consent/")
    care = patient.locator("section", has=patient.get_by_role("heading", name="Photography for my treatment record"))
    care.get_by_label("I have read this text and I agree to it").check()
    care.get_by_label("Type your full name to sign").fill("Nora Newcomer")
    care.get_by_role("button", name="Sign").click()
    assert "your consent is recorded" in patient.locator('[role="status"]').inner_text()
    steps(patient, "consent")
    patient.goto(f"{live_server}/")
    patient.get_by_role("link", name="Abdomen").first.click()
    patient.set_input_files("#file", [str(FIXTURES / "heic/arrow.heic"), str(FIXTURES / "orientation/Landscape_6.jpg")])
    patient.get_by_label("Taken on (for photos that carry no date of their own)").fill("2026-03-01")
    patient.get_by_role("button", name="Upload").click()
    patient.locator(".upload-row[data-state]").nth(1).wait_for()
    assert [patient.locator(".upload-row").nth(i).get_attribute("data-state") for i in range(2)] == ["done", "done"]
    assert all(patient.locator("progress").nth(i).evaluate("el => el.value") == 100 for i in range(2))
    steps(patient, "uploaded")
    patient.get_by_role("link", name="Timeline").click()
    wait_until(patient, "Array.from(document.querySelectorAll('.tl-photo img')).every(i => i.complete && i.naturalWidth)")
    sizes = patient.locator(".tl-photo img").evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert sorted(w > h for w, h in sizes) == [False, True], "HEIC portrait, JPEG landscape: both upright"
    steps(patient, "timeline")

    # The practitioner records a session and compares, moving the slider by keyboard.
    staff.goto(chart_url)
    staff.get_by_role("link", name="Record a session").click()
    staff.get_by_label("Date of the session").fill("2026-03-02")
    staff.get_by_role("button", name="Record the session").click()
    assert "Session 1" in staff.content()
    staff.get_by_role("link", name="Timeline").first.click()
    assert "Session 1" in staff.locator(".timeline-strip").first.inner_text()
    area_id = int(re.search(r"/timeline/area/(\d+)", staff.url).group(1))
    staff.goto(f"{live_server}/timeline/area/{area_id}/compare?mode=slider&before="
               f"{_photo_ids(live_app, area_id)[0]}&after={_photo_ids(live_app, area_id)[1]}")
    slider = staff.get_by_label("Reveal the after photo")
    slider.focus()
    staff.keyboard.press("End")
    assert staff.locator(".pane-after").evaluate("el => el.style.clipPath") == "inset(0px 0px 0px 100%)"
    steps(staff, "compare")

    # A second clinic's practitioner reaches none of it.
    other = browser.new_context().new_page()
    sign_in(other, live_server, world["prac_y"].email)
    photo_ids = _photo_ids(live_app, area_id)
    patient_id = int(chart_url.rstrip("/").rsplit("/", 1)[1])
    for url in (f"/patients/{patient_id}", f"/timeline/area/{area_id}", f"/photos/{photo_ids[0]}",
                f"/photos/{photo_ids[0]}/image/display", f"/timeline/area/{area_id}/compare"):
        response = other.goto(f"{live_server}{url}")
        assert response.status == 404, url
    listing = other.goto(f"{live_server}/patients/?q=Nora").text()
    assert "0 patients" in listing and "Newcomer" not in listing
    steps(other, "isolation")


def _photo_ids(app, area_id: int) -> list[int]:
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Photo

    with app.app_context():
        return list(db.session.scalars(sa.select(Photo.id).where(Photo.area_id == area_id).order_by(Photo.taken_on)))
