"""A visitor walks the public gallery in a real browser and asks for a consultation."""

from __future__ import annotations

import pytest

from tests.factories import build_world

pytestmark = pytest.mark.e2e


def test_visitor_browses_gallery_and_requests_a_consultation(live_app, live_server, phone):
    import sqlalchemy as sa

    from tests.web.test_consent_gallery import _published_item
    from tests.factories import api_token
    from tracker.extensions import db
    from tracker.models import ConsultationRequest

    with live_app.app_context():
        world = build_world()
    client = live_app.test_client()
    staff = api_token(client, world["prac_x"].email)
    patient = api_token(client, world["a"].email)
    live_app.config["WTF_CSRF_ENABLED"] = False
    item, _b, _a = _published_item(live_app, client, world, staff, patient)
    live_app.config["WTF_CSRF_ENABLED"] = True
    phone.goto(f"{live_server}/c/clinic-x")
    assert phone.get_by_role("heading", name="Clinic X").is_visible()
    images = phone.locator(".public-gallery img")
    assert images.count() == 2
    phone.locator(".public-gallery img").first.scroll_into_view_if_needed()
    assert "4 months after the 1st of 1 session" in phone.locator(".public-gallery").inner_text()
    phone.get_by_label("Body region").select_option("face")
    phone.get_by_role("button", name="Show").click()
    assert phone.locator(".public-gallery img").count() == 0
    phone.get_by_label("Your name").fill("Jamie Visitor")
    phone.get_by_label("E-mail").fill("jamie@example.com")
    phone.get_by_label("Area of concern").fill("Stretch marks on the hips")
    phone.get_by_label("Message").fill("When could I come in?")
    phone.get_by_label("You may contact me about this request").check()
    phone.get_by_role("button", name="Send").click()
    assert "the clinic will contact you" in phone.locator('[role="status"]').inner_text()
    with live_app.app_context():
        stored = db.session.scalars(sa.select(ConsultationRequest)).one()
        assert (stored.name, stored.email, stored.area_of_concern) == (
            "Jamie Visitor", "jamie@example.com", "Stretch marks on the hips")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
