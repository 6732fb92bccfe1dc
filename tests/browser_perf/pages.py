"""Page objects for the WedSync supplier journeys: selectors live here, timings in the tests."""

from __future__ import annotations

from playwright.sync_api import Page, expect


class LoginPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> None:
        self.page.goto("/login")
        expect(self.page.locator("#login-button")).to_be_visible()

    def log_in(self, email: str, password: str) -> None:
        """Submit the form and wait until the dashboard is visible."""
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("#login-button")
        expect(self.page.locator("#dashboard-title")).to_be_visible()


class DashboardPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> None:
        self.page.goto("/dashboard")
        expect(self.page.locator("#couples tbody tr").first).to_be_visible()

    def open_clients(self) -> None:
        """The single-page clients view: a soft navigation (pushState), not a new document."""
        self.page.click("#clients-link")
        expect(self.page.locator("#clients-title")).to_be_visible()

    def open_form(self) -> None:
        self.page.click("#form-link")
        expect(self.page.locator("#submit-form")).to_be_visible()


class IntakeFormPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, form_id: int = 1) -> None:
        self.page.goto(f"/forms/{form_id}")
        expect(self.page.locator("#submit-form")).to_be_visible()

    def fill(self, names: str, email: str) -> None:
        self.page.fill("#names", names)
        self.page.fill("#contact-email", email)
        self.page.fill("#wedding-date", "2027-06-12")
        self.page.fill("#guests", "120")
        self.page.fill("#message", "We would love a spring ceremony by the lake.")

    def submit(self) -> None:
        """Click send and wait for the confirmation."""
        self.page.click("#submit-form")
        expect(self.page.locator("#confirmation")).to_be_visible()
