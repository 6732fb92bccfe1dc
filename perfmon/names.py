"""Names shared by the measuring layers and the outputs: endpoint labels and redacted store URLs.

A leaf module, so the browser layer can label pages without importing the HTTP client, and the
CLI and the plugin can print a store URL without importing the PostgreSQL backend.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["endpoint_name", "redact"]

_ID_SEGMENT = re.compile(
    r"/(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,})(?=/|$)", re.I
)


def endpoint_name(path: str) -> str:
    """Fold ids out of a path so a metric row is per endpoint (or page), not per resource:
    ``/api/forms/17`` -> ``/api/forms/{id}``."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0]) or "/"


def redact(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
