"""Unit and end-to-end tests: the shared fixtures of ``tests/_support`` (the bundled app, Chromium, PostgreSQL)."""

from tests._support.apps import browser_server, chromium, clean_demo, clean_env, demo, demo_factory
from tests._support.postgres import empty_pg, pg_url

__all__ = ["browser_server", "chromium", "clean_demo", "clean_env", "demo", "demo_factory", "empty_pg", "pg_url"]
