"""The WedSync supplier journeys in real Chromium. Each test is one iteration of one journey for
one virtual user; perfmon records step timings, Navigation Timing and Web Vitals per page."""

from __future__ import annotations

from collections.abc import Callable

from pages import DashboardPage, IntakeFormPage, LoginPage


def test_login(perf, perf_user: tuple[str, str], vu: int) -> None:
    login = LoginPage(perf.page)
    with perf.step("open_login"):
        login.open()
    with perf.step("login"):
        login.log_in(*perf_user)


def test_dashboard(perf, perf_user: tuple[str, str], vu: int) -> None:
    login = LoginPage(perf.page)
    login.open()
    login.log_in(*perf_user)
    dashboard = DashboardPage(perf.page)
    with perf.step("dashboard"):
        dashboard.open()
    vitals = perf.vitals()  # ends the dashboard's visit before any click can stop its LCP
    assert vitals["LCP"] is not None, "the dashboard reported no LCP"
    with perf.step("clients"):
        dashboard.open_clients()


def test_form_submit(perf, perf_user: tuple[str, str], vu: int) -> None:
    login = LoginPage(perf.page)
    login.open()
    login.log_in(*perf_user)
    form = IntakeFormPage(perf.page)
    with perf.step("open_form"):
        form.open(1 + vu % 20)
    form.fill("Ava & Noah", perf_user[0])
    with perf.step("submit_form"):
        form.submit()


def test_full_journey(perf, perf_user: tuple[str, str], perf_think: Callable[[], None], vu: int) -> None:
    login = LoginPage(perf.page)
    with perf.step("open_login"):
        login.open()
    perf_think()
    with perf.step("login"):
        login.log_in(*perf_user)
    perf_think()
    dashboard = DashboardPage(perf.page)
    with perf.step("open_form"):
        dashboard.open_form()
    perf_think()
    form = IntakeFormPage(perf.page)
    form.fill("Mia & Leo", perf_user[0])
    with perf.step("submit_form"):
        form.submit()
