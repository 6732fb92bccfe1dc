"""A small misbehaving HTTP/1.1 server over loopback: it answers the way no well-kept app does (an
endless stream, a body it declares at 2 GB, a decompression bomb, a 101, a redirect to another
origin, a kept-alive connection dropped after reading a request) and keeps every request's raw
bytes, so a test sees exactly what the client put on the wire.

Written on raw asyncio streams, not http.server, because what it must do (drop a connection after
reading, stream forever, send a 101) is what a framework prevents."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Hostile", "on_own_loop", "serve_hostile"]

_BOMB = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)  # ~250 KB that inflates to 256 MiB


@dataclass
class Hostile:
    url: str
    requests: list[bytes] = field(default_factory=list)  # each request's head and body, as received
    redirect_to: str = ""  # where /away points

    def received(self, path: str) -> list[bytes]:
        """The raw requests whose target starts with ``path``."""
        return [r for r in self.requests if r.split(b" ", 2)[1].startswith(path.encode())]


def _answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _handle(state: Hostile, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            raw = head + (await reader.readexactly(length) if length else b"")
            state.requests.append(raw)
            path = head.split(b" ", 2)[1].decode("latin-1")
            if path.startswith("/drop"):  # reads the request, then closes without a word
                writer.close()
                return
            if path.startswith("/away"):
                code = path.rsplit("/", 1)[1] if path.count("/") > 1 else "302"
                writer.write(_answer(f"{code} Moved", b"", f"Location: {state.redirect_to}"))
            elif path == "/endless":  # an event stream that never ends
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                chunk = b"data: " + b"x" * 65536 + b"\n\n"
                for _ in range(4096):  # 256 MiB at most: bounded, and far past any limit under test
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.close()
                return
            elif path == "/huge":  # declares 2 GiB, sends 1 MiB of it, then waits
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n" + b"y" * (1024 * 1024))
                await writer.drain()
                await asyncio.sleep(30)
                writer.close()
                return
            elif path == "/silent":  # reads the request, answers nothing for 5 s
                await asyncio.sleep(5)
                writer.close()
                return
            elif path == "/cut":  # declares 100 bytes, sends 50, hangs up
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"c" * 50)
                await writer.drain()
                writer.close()
                return
            elif path.startswith("/bytes/"):  # a body of exactly that many bytes
                writer.write(_answer("200 OK", b"z" * int(path.rsplit("/", 1)[1])))
            elif path == "/bomb":
                writer.write(_answer("200 OK", _BOMB, "Content-Encoding: gzip"))
            elif path == "/upgrade":
                writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                             b"\x81\x05hello")
                await writer.drain()
                await asyncio.sleep(0.5)
                writer.close()
                return
            else:  # /echo and the rest: the request as received
                writer.write(_answer("200 OK", raw))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


@contextlib.contextmanager
def serve_hostile(host: str = "127.0.0.1") -> Iterator[Hostile]:
    """A server on its own event loop thread, on a free port of ``host`` (``::1`` for IPv6)."""
    loop = asyncio.new_event_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    state = Hostile(f"http://{'[' + host + ']' if ':' in host else host}:{port}")
    started = threading.Event()
    server: list[asyncio.base_events.Server] = []

    async def start() -> None:
        server.append(await asyncio.start_server(lambda r, w: _handle(state, r, w), sock=sock))
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield state
    finally:
        async def stop() -> None:
            server[0].close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: earlier browser tests in the same process leave Playwright's
    loop running on this one. The coroutine's exception (a failed assertion) is raised here."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(asyncio.run(coroutine))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]
