"""How the load client's requests travel: the lean HTTP/1.1 client for plain HTTP, aiohttp for the rest.

Both give the client the same thing for a request: status, headers, body and the final URL after
redirects; a request that got no response raises an exception whose class name is its error kind.
``lean`` (the default) sends ``http://`` and ``https://`` requests through ``h1.py`` and the rest
(HEAD, credentials in the URL) through aiohttp; ``aiohttp`` sends all through aiohttp, for servers
the lean client does not speak to. Neither reads proxy settings from the
environment: load goes straight to the target (and aiohttp's ``trust_env`` cost 3x its CPU).

Both follow redirects as httpx does: a redirect to another origin drops the script's
``Authorization``, ``Cookie`` and ``Host`` (a token is never handed to a host the script did not
name; an ``http`` to ``https`` upgrade of the same host keeps ``Authorization``), a 303 (and a 301
or 302 answering a POST) becomes a GET without its body, a 307/308 repeats the method and body.
Both keep at most ``max_body`` bytes of a body (``h1.MAX_BODY``) and fail the request past it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import SplitResult, urljoin, urlsplit

from .h1 import MAX_BODY, H1Pool, ResponseTooLarge, TransportError
from .urls import encoded, host, same_origin, target

if TYPE_CHECKING:
    import aiohttp

__all__ = ["TRANSPORTS", "AiohttpTransport", "LeanTransport", "Reply", "TooManyRedirects", "Transport",
           "open_transport", "redirect_headers"]

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

    def __init__(self, *, max_body: int = MAX_BODY) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._max_body = max_body

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
        import yarl

        try:
            async with self._opened().request(method, yarl.URL(encoded(url), encoded=True), headers=headers,
                                              data=body, allow_redirects=True,
                                              timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
                return resp.status, resp.headers, await self._read(resp), str(resp.url)
        except aiohttp.ClientError as exc:
            if isinstance(exc, OSError):
                raise
            raise _named(type(exc).__name__)(str(exc)) from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self._max_body:
            raise ResponseTooLarge(f"the response declares {declared} bytes, over the {self._max_body}-byte limit "
                                   "on a body")
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_any():  # decoded as it arrives, so a bomb stops at the limit too
            size += len(chunk)
            if size > self._max_body:
                resp.close()
                raise ResponseTooLarge(f"the response passed {size} bytes, over the {self._max_body}-byte limit "
                                       "on a body")
            parts.append(chunk)
        return b"".join(parts)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LeanTransport:
    """HTTP and HTTPS through the lean client, redirects followed as aiohttp follows them; the rest to aiohttp."""

    def __init__(self, user_agent: str, *, max_body: int = MAX_BODY) -> None:
        self._pool = H1Pool(user_agent, max_body=max_body)
        self._fallback = AiohttpTransport(max_body=max_body)

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                   timeout_s: float) -> Reply:
        parts = urlsplit(url)
        for _ in range(_MAX_REDIRECTS + 1):  # the first request and its redirects
            if parts.scheme not in ("http", "https") or method == "HEAD" or parts.username:
                return await self._fallback.send(method, url, headers, body, timeout_s)
            tls = parts.scheme == "https"
            status, found, content = await self._pool.request(method, host(parts), parts.port or (443 if tls else 80),
                                                              target(parts), headers, body, timeout_s, tls=tls)
            location = found.get("Location")
            if status not in _REDIRECTS or not location:
                return status, found, content, url
            url = urljoin(url, location.strip())
            following = urlsplit(url)
            headers = redirect_headers(parts, following, headers)
            parts = following
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        raise TooManyRedirects(f"more than {_MAX_REDIRECTS} redirects, the last to {url}")

    async def close(self) -> None:
        self._pool.close()
        await self._fallback.close()


def redirect_headers(before: SplitResult, after: SplitResult, headers: Mapping[str, str]) -> Mapping[str, str]:
    """The script's headers for the next hop: to another origin without its credentials and its Host
    (httpx's rule; an http-to-https upgrade of the same host and default ports keeps Authorization)."""
    if same_origin(before, after):
        return headers
    upgrade = (before.scheme, after.scheme) == ("http", "https") and before.hostname == after.hostname and \
        before.port in (None, 80) and after.port in (None, 443)
    dropped = ("cookie", "host") if upgrade else ("authorization", "cookie", "host", "proxy-authorization")
    return {k: v for k, v in headers.items() if k.lower() not in dropped}


_NAMED: dict[str, type[TransportError]] = {}


def _named(kind: str) -> type[TransportError]:
    """A TransportError named as aiohttp named the failure, so its kind reads the same."""
    if kind not in _NAMED:
        _NAMED[kind] = type(kind, (TransportError,), {})
    return _NAMED[kind]


def open_transport(name: str, user_agent: str, *, max_body: int = MAX_BODY) -> Transport:
    if name == "aiohttp":
        return AiohttpTransport(max_body=max_body)
    return LeanTransport(user_agent, max_body=max_body)
