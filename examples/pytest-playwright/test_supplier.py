"""Plain pytest-playwright tests against the WedSync-like app: no perfmon in sight."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect


def test_login_page_shows_the_form(page: Page) -> None:
    page.goto("/login")
    expect(page.locator("input[name=email]")).to_be_visible()


def test_a_wrong_password_is_refused(page: Page) -> None:
    page.goto("/login")
    page.fill("input[name=email]", "vu0002@example.com")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.get_by_text("Email or password is wrong.")).to_be_visible()


@pytest.mark.signed_in
def test_the_dashboard_lists_the_couples(page: Page) -> None:
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard$"))


@pytest.mark.signed_in
def test_an_intake_form_opens(page: Page) -> None:
    page.goto("/forms/1")
    expect(page.locator("form")).to_be_visible()
