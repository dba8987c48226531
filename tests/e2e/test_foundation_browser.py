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
