"""Endpoint labels shared by the measuring layers and the outputs.

A leaf module, so the browser layer can label pages without importing the HTTP client.
"""

from __future__ import annotations

import re

__all__ = ["endpoint_name"]

_ID_SEGMENT = re.compile(
    r"/(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,})(?=/|$)", re.I
)


def endpoint_name(path: str) -> str:
    """Fold ids out of a path so a metric row is per endpoint (or page), not per resource:
    ``/api/forms/17`` -> ``/api/forms/{id}``."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0]) or "/"

