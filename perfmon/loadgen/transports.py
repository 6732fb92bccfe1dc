"""How the load client's requests travel: the lean HTTP/1.1 client for plain HTTP, aiohttp for the rest.

Both give the client the same thing for a request: status, headers, body and the final URL after
redirects; a request that got no response raises an exception whose class name is its error kind.
``lean`` (the default) sends ``http://`` and ``https://`` requests through ``h1.py`` and the rest
(HEAD, credentials in the URL) through aiohttp; ``aiohttp`` sends all through aiohttp, for servers
the lean client does not speak to. Neither reads proxy settings from the
environment: load goes straight to the target (and aiohttp's ``trust_env`` cost 3x its CPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urljoin, urlsplit

from .h1 import H1Pool, TransportError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["TRANSPORTS", "AiohttpTransport", "LeanTransport", "Reply", "TooManyRedirects", "Transport",
           "open_transport"]

TRANSPORTS = ("lean", "aiohttp")
Reply = tuple[int, Mapping[str, str], bytes, str]  # status, headers, body, final URL
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_MAX_REDIRECTS = 10  # aiohttp's default


class TooManyRedirects(TransportError):
    """More than ten redirects in a row (aiohttp's limit and its error's name)."""


class Transport(Protocol):
    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   timeout_s: float) -> Reply: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """aiohttp with no cookie jar (each virtual user keeps its own state) and no connection cap."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        # Imported and made on first use: a lean run that never needs aiohttp never pays for it
        # (its import builds an SSL context: a third of a CPU-second).
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   timeout_s: float) -> Reply:
        import aiohttp

        try:
            async with self._opened().request(method, url, headers=headers, data=body, allow_redirects=True,
                                              timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                content = await resp.read()
                return resp.status, resp.headers, content, str(resp.url)
        except aiohttp.ClientError as exc:
            if isinstance(exc, OSError):
                raise
            raise _named(type(exc).__name__)(str(exc)) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LeanTransport:
    """HTTP and HTTPS through the lean client, redirects followed as aiohttp follows them; the rest to aiohttp."""

    def __init__(self, user_agent: str) -> None:
        self._pool = H1Pool(user_agent)
        self._fallback = AiohttpTransport()

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   timeout_s: float) -> Reply:
        for _ in range(_MAX_REDIRECTS + 1):  # the first request and its redirects
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or method == "HEAD" or parts.username:
                return await self._fallback.send(method, url, headers, body, timeout_s)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            tls = parts.scheme == "https"
            status, found, content = await self._pool.request(method, parts.hostname or "",
                                                              parts.port or (443 if tls else 80), target, headers,
                                                              body, timeout_s, tls=tls)
            location = found.get("Location")
            if status not in _REDIRECTS or not location:
                return status, found, content, url
            url = urljoin(url, location)
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        raise TooManyRedirects(f"more than {_MAX_REDIRECTS} redirects, the last to {url}")

    async def close(self) -> None:
        self._pool.close()
        await self._fallback.close()


_NAMED: dict[str, type[TransportError]] = {}


def _named(kind: str) -> type[TransportError]:
    """A TransportError named as aiohttp named the failure, so its kind reads the same."""
    if kind not in _NAMED:
        _NAMED[kind] = type(kind, (TransportError,), {})
    return _NAMED[kind]


def open_transport(name: str, user_agent: str) -> Transport:
    if name == "aiohttp":
        return AiohttpTransport()
    return LeanTransport(user_agent)
