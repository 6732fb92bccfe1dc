"""Reliability tests: the shared fixtures of ``tests/_support/apps.py``."""

from tests._support.apps import browser_server, chromium, clean_demo, clean_env, demo, demo_factory

__all__ = ["browser_server", "chromium", "clean_demo", "clean_env", "demo", "demo_factory"]
