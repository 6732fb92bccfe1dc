"""What the lean transport puts on the wire for a URL and its headers, as httpx would put it.

A load script's URL and header values are sent as the script wrote them only when that is valid
HTTP: a path with a space or non-ASCII text is percent-encoded (UTF-8), an internationalised host
goes out in IDNA, an IPv6 host is bracketed in ``Host``, the fragment never leaves the client, and a
header name or value that could end the header early (CR, LF, NUL) is refused before anything is
sent. Written here rather than taken from httpx's ``_urlparse`` because it runs per request on the
generator's CPU budget: the common case (a printable ASCII URL) costs one regular-expression match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import SplitResult, quote, urlsplit

__all__ = ["InvalidHeader", "authority", "check_headers", "encoded", "same_origin", "target"]

_PRINTABLE = re.compile(r"[\x21-\x7e]*\Z").match
_PATH_SAFE = "!$&'()*+,;=:@/%~"  # RFC 3986 pchar and "/", keeping escapes already made (as httpx keeps them)
_QUERY_SAFE = _PATH_SAFE + "?"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match  # RFC 9110's field-name
_BAD_VALUE = re.compile(r"[\r\n\x00]").search


class InvalidHeader(ValueError):
    """A header name or value that is not valid HTTP; the request is never sent (httpx and aiohttp
    refuse the same)."""


def target(parts: SplitResult) -> str:
    """The request target (path and query) of a split URL, percent-encoded where it must be."""
    path = parts.path or "/"
    query = parts.query
    if not _PRINTABLE(path):
        path = quote(path, safe=_PATH_SAFE)
    if query:
        if not _PRINTABLE(query):
            query = quote(query, safe=_QUERY_SAFE)
        return f"{path}?{query}"
    return path


def encoded(url: str) -> str:
    """The whole URL as it is requested: target encoded, host in IDNA, no fragment (for aiohttp,
    which is then told not to re-encode it, so both transports send the same bytes)."""
    parts = urlsplit(url)
    netloc = parts.netloc if parts.netloc.isascii() else parts.netloc.replace(parts.hostname or "", host(parts))
    return f"{parts.scheme}://{netloc}{target(parts)}"


def host(parts: SplitResult) -> str:
    """The host to connect to: IDNA for a name that is not ASCII."""
    name = parts.hostname or ""
    return name if name.isascii() else name.encode("idna").decode("ascii")


def authority(name: str, port: int, tls: bool) -> str:
    """The ``Host`` header: the port only when it is not the scheme's, an IPv6 literal bracketed."""
    if ":" in name:
        name = f"[{name}]"
    return name if port == (443 if tls else 80) else f"{name}:{port}"


def same_origin(a: SplitResult, b: SplitResult) -> bool:
    return (a.scheme, a.hostname, a.port or _default_port(a)) == (b.scheme, b.hostname, b.port or _default_port(b))


def _default_port(parts: SplitResult) -> int:
    return 443 if parts.scheme == "https" else 80


def check_headers(headers: Mapping[str, str]) -> None:
    """Raise :class:`InvalidHeader` for a header that would change the request's framing."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN(name):
            raise InvalidHeader(f"header name {name!r} is not a valid HTTP field name")
        if not isinstance(value, str):
            raise InvalidHeader(f"header {name}: the value must be a string, not {type(value).__name__}")
        if _BAD_VALUE(value):
            raise InvalidHeader(f"header {name}: the value holds a CR, LF or NUL character, which would end "
                                "the header early; remove it")
