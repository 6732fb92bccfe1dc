"""End-to-end tests: the bundled app over real HTTP, real Chromium, a real PostgreSQL 15 (started by
scripts/test.sh) and child processes, with the shared fixtures of ``tests/_support``."""

from tests._support.apps import browser_server, chromium, clean_demo, clean_env, demo, demo_factory
from tests._support.postgres import empty_pg, pg_url

__all__ = ["browser_server", "chromium", "clean_demo", "clean_env", "demo", "demo_factory", "empty_pg", "pg_url"]
