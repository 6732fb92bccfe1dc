"""Helpers shared by perfmon's own test suites (never by the product's journeys)."""
