"""A real browser at phone width, driven by keyboard only: sign in, find a patient, open the chart."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.e2e


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_keyboard_only_sign_in_and_chart_at_phone_width(live_app, live_server, phone):
    with live_app.app_context():
        world = build_world()
    phone.goto(f"{live_server}/auth/login")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip-link"
    assert phone.locator(".skip-link").is_visible()
    phone.keyboard.press("Enter")  # the skip link moves focus into <main>, past the header
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.id") == "email"
    phone.keyboard.type(world["prac_x"].email)
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSWORD)
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"{live_server}/patients/*")
    assert _no_horizontal_scroll(phone)
    phone.get_by_label("Search by name, e-mail or reference").fill("Patient B")
    phone.keyboard.press("Enter")
    phone.wait_for_url("**/patients/?q=Patient+B**")
    link = phone.locator("table.list").get_by_role("link", name="Patient B")
    link.focus()
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"**/patients/{world['b'].patient_id}")
    assert phone.get_by_role("heading", name="Treated areas").is_visible()
    assert _no_horizontal_scroll(phone)


def test_wrong_password_message_is_announced(live_app, live_server, page):
    with live_app.app_context():
        world = build_world()
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("E-mail").fill(world["a"].email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    status = page.locator('[role="status"]')
    assert "Invalid email or password." in status.inner_text()


def test_an_old_session_confirms_the_password_before_a_role_change(live_app, live_server, phone):
    """Catalogue SE6 in a real browser: the change detours to "Confirm it is you", then back to the same page;
    nothing changed in between, and the second submission does it."""
    from datetime import timedelta

    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import LoginSession, User, utcnow

    with live_app.app_context():
        world = build_world()
    phone.goto(f"{live_server}/auth/login")
    phone.get_by_label("E-mail").fill(world["admin_x"].email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url(f"{live_server}/patients/*")
    with live_app.app_context():
        db.session.execute(sa.update(LoginSession).values(authenticated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    phone.goto(f"{live_server}/admin/staff")
    phone.get_by_label("Role of Prac_X").select_option("clinic_admin")
    phone.get_by_label("Role of Prac_X").press("Tab")
    phone.keyboard.press("Enter")  # the "Change" button next to the select
    phone.wait_for_url("**/auth/confirm?next=/admin/staff")
    assert phone.get_by_role("heading", name="Confirm it is you").is_visible()
    assert _no_horizontal_scroll(phone)
    with live_app.app_context():
        assert db.session.get(User, world["prac_x"].user_id).role.value == "practitioner"
    password = phone.get_by_label("Password")
    password.focus()
    phone.keyboard.type(PASSWORD)
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"{live_server}/admin/staff")
    phone.get_by_label("Role of Prac_X").select_option("clinic_admin")
    phone.get_by_label("Role of Prac_X").press("Tab")
    with phone.expect_navigation():  # the same address again: wait for the new page, not the old one
        phone.keyboard.press("Enter")
    assert "is now clinic admin" in phone.locator('[role="status"]').inner_text()
    with live_app.app_context():
        assert db.session.get(User, world["prac_x"].user_id).role.value == "clinic_admin"


def test_two_step_sign_in_set_up_and_used_at_phone_width(live_app, live_server, phone):
    """A patient turns on two-step sign-in on their phone (the QR code really renders; the key is typeable),
    keeps the recovery codes, signs out, and signs back in with the app's code."""
    import time

    from tracker.auth import totp

    with live_app.app_context():
        world = build_world()
    phone.goto(f"{live_server}/auth/login")
    phone.get_by_label("E-mail").fill(world["a"].email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_load_state()
    phone.goto(f"{live_server}/auth/two-factor")
    phone.get_by_role("button", name="Set it up").click()
    qr = phone.get_by_role("img", name="QR code to add this account to an authenticator app")
    qr.wait_for()
    from tests.e2e.test_upload_browser import wait_until

    wait_until(phone, "document.querySelector('img.qr').complete")
    assert phone.evaluate("document.querySelector('img.qr').naturalWidth") > 100, "the QR image loads"
    assert _no_horizontal_scroll(phone)
    secret = phone.locator("code.secret").inner_text().replace(" ", "")
    code = phone.get_by_label("Code")
    code.focus()
    phone.keyboard.type(totp.code_at(secret, time.time()))
    phone.keyboard.press("Enter")
    codes = phone.get_by_role("list", name="Recovery codes").locator("li")
    codes.first.wait_for()
    assert codes.count() == 10 and _no_horizontal_scroll(phone)
    with phone.expect_navigation():
        phone.get_by_role("link", name="I have saved them").click()
    assert "10 of 10 recovery codes left" in phone.locator("main").inner_text()
    phone.get_by_role("button", name="Sign out").click()
    phone.get_by_label("E-mail").fill(world["a"].email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/auth/two-step")
    assert phone.evaluate("document.getElementById('code').autocomplete") == "one-time-code"
    phone.get_by_label("Code").fill(totp.code_at(secret, time.time() + totp.STEP_SECONDS))
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url(f"{live_server}/")
    assert "Hello" in phone.locator("main").inner_text()
