"""A Playwright ``Browser`` on a shared browser server, without a Node.js driver of our own.

Why this is hand-written: Playwright's Python API always starts a Node.js driver per process,
even for ``browser_type.connect()``, where that driver only relays JSON messages between the
Python client and the browser server's websocket. At ``pytest -n 50`` the 50 relays cost more
memory than the browsers (bench/README.md). Playwright's JavaScript client has a websocket
transport for clients without a driver; the Python port does not ship it. This module is that
transport on ``websockets`` (not aiohttp: importing it costs every xdist worker 0.15-0.25
CPU-s, mostly two TLS contexts a loopback websocket never uses). It builds Playwright's own
``Connection`` on it, in the same greenlet arrangement as ``sync_playwright()``, and hands out
Playwright's ordinary sync ``Browser``, so journeys and fixtures see no difference.

It relies on ``playwright._impl`` internals. :func:`thin_client_supported` checks them, and
callers fall back to the driver-backed ``connect()`` when a Playwright release moves them: that
costs memory, never correctness. Without a driver there is no LocalUtils, so a stand-in below
keeps tracing working (traces are streamed from the server as on any remote connection; call
stacks are not added) and makes HAR replay fail with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import TYPE_CHECKING, Any

from ..core.errors import BrowserError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["ThinConnection", "thin_client_supported"]

_CLOSE = object()  # sentinel that ends the writer task


def thin_client_supported() -> bool:
    """Whether this Playwright release has the internals the thin client is built on."""
    try:
        from playwright._impl._greenlets import MainGreenlet  # noqa: F401
        from playwright._impl.browser import Browser as BrowserImpl
        from playwright._impl.connection import Connection
        from playwright._impl.utils.tasks import call_in_next_task, wait_for_next_task  # noqa: F401
    except ImportError:
        return False
    params = inspect.signature(Connection).parameters
    methods = ("dispatch", "mark_as_remote", "initialize_playwright", "close")
    return {"loop", "local_utils", "dispatcher_fiber"} <= params.keys() \
        and all(hasattr(Connection, name) for name in methods) and hasattr(BrowserImpl, "_connect_to_browser_type")


class _LocalUtilsStandIn:
    """What a remote connection asks of the driver's LocalUtils, answered without one."""

    def __init__(self) -> None:
        self.devices: dict[str, Any] = {}  # device descriptors come with the driver; none here

    async def tracing_started(self, params: dict[str, Any]) -> None:
        return None  # no call-stack collection: the trace still has every action and snapshot

    async def add_stack_to_tracing_no_reply(self, params: dict[str, Any]) -> None:
        return None

    async def trace_discarded(self, params: dict[str, Any]) -> None:
        return None

    async def zip(self, params: dict[str, Any]) -> None:
        # A remote trace arrives as a finished archive; "append" would only add call stacks.
        if params.get("mode") != "append":
            raise BrowserError("writing a trace archive locally needs a local browser; use --perf-browsers 0")

    async def _no_har(self, params: dict[str, Any]) -> None:
        raise BrowserError("HAR files need a local browser; run with --perf-browsers 0")

    har_open = har_lookup = har_close = har_unzip = _no_har


class _Client:
    """The asyncio half: the websocket, Playwright's Connection on it, and the browser."""

    def __init__(self, endpoint: str, dispatcher_fiber: Any, timeout_s: float) -> None:
        from playwright._impl.connection import Connection

        loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.connection = Connection(loop, local_utils=_LocalUtilsStandIn(),  # type: ignore[arg-type]
                                     dispatcher_fiber=dispatcher_fiber)
        self.connection.mark_as_remote()
        self._outbox: asyncio.Queue[object] = asyncio.Queue()
        self.connection.onmessage = self._send
        # However the connection ends (close(), browser.close(), the socket), the writer closes
        # the socket, which ends the reader.
        self.connection.on("close", lambda: self._outbox.put_nowait(_CLOSE))
        self.browser: asyncio.Future[Any] = asyncio.ensure_future(self._open(endpoint, timeout_s))

    def _send(self, message: dict[str, Any]) -> None:
        from playwright._impl.errors import Error

        try:
            text = json.dumps(message, allow_nan=False)  # NaN is not JSON: the server would choke
        except ValueError as exc:
            raise Error(str(exc)) from None
        self._outbox.put_nowait(text)  # one writer task keeps the messages in order

    async def _open(self, endpoint: str, timeout_s: float) -> Any:
        from playwright._impl.browser import Browser as BrowserImpl
        from playwright._impl.errors import Error as PlaywrightError
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            # No client pings: on a saturated runner a late pong would end a healthy connection.
            ws = await connect(endpoint, max_size=None, compression=None, ping_interval=None, open_timeout=timeout_s,
                               close_timeout=5, additional_headers={"x-playwright-browser": "chromium"})
        except (TimeoutError, WebSocketException, OSError) as exc:
            self.closed.set_result(None)
            raise BrowserError(f"cannot reach the browser server at {endpoint} ({exc or type(exc).__name__})") from None
        writer = asyncio.ensure_future(self._write(ws))
        reader = asyncio.ensure_future(self._read(ws, writer))
        reader.add_done_callback(self._reader_done)
        try:
            playwright = await asyncio.wait_for(self.connection.initialize_playwright(), timeout_s)
        except TimeoutError:
            raise BrowserError(f"the browser server at {endpoint} did not answer within {timeout_s:g} s") from None
        except PlaywrightError as exc:
            raise BrowserError(f"the browser server at {endpoint} refused the connection ({exc.message})") from None
        launched = playwright._initializer.get("preLaunchedBrowser")
        if not launched:
            raise BrowserError(f"{endpoint} is not a Playwright browser server (launch-server)")
        playwright.selectors = playwright.selectors  # registers the selectors with this connection
        browser = BrowserImpl.from_(launched)
        browser._connect_to_browser_type(playwright.chromium, {}, None)
        # browser.close() then ends this client's connection; the server closes its contexts.
        browser._should_close_connection_on_close = True
        self.connection.on("close", lambda: self._on_connection_close(browser))
        return browser

    def _reader_done(self, _: object) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def _on_connection_close(self, browser: Any) -> None:
        from playwright._impl.utils.tasks import call_in_next_task

        # As Playwright's connect() does: every page, context and the browser see the close.
        for context in browser.contexts:
            for page in context.pages:
                page._on_close()
            context._on_close()
        call_in_next_task(browser._did_close)

    async def _write(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        while (item := await self._outbox.get()) is not _CLOSE:
            try:
                await ws.send(item)
            except ConnectionClosed:
                break  # the reader sees the socket close and closes the connection
        await ws.close()

    async def _read(self, ws: Any, writer: asyncio.Future[None]) -> None:
        from playwright._impl.utils.tasks import wait_for_next_task
        from websockets.exceptions import ConnectionClosed

        try:
            async for msg in ws:
                if not isinstance(msg, str):
                    break  # Playwright's protocol is JSON text only
                try:
                    self.connection.dispatch(json.loads(msg))
                except Exception as exc:  # noqa: BLE001 - a listener's error is raised by the next API call
                    self.connection._on_event_listener_error(exc)
                # Node.js handles each message in its own macrotask; the driver pipe waits too.
                await wait_for_next_task()
        except ConnectionClosed:
            pass  # the server went away: the connection closes below, as on a clean close
        finally:
            self.connection.close("the browser server closed the connection")
            await writer


class ThinConnection:
    """A sync Playwright ``Browser`` connected straight to a browser server's websocket.

    The event loop runs in a dispatcher greenlet, as under ``sync_playwright()``: each sync call
    switches to it while it waits. ``close()`` ends the connection and the loop."""

    def __init__(self, endpoint: str, timeout_s: float = 30.0) -> None:
        from greenlet import GreenletExit, greenlet
        from playwright._impl._greenlets import MainGreenlet
        from playwright.sync_api import Browser

        if asyncio._get_running_loop() is not None:
            # Playwright's sync API marks its loop as running between calls; a second loop
            # cannot run in the same thread (sync_playwright() refuses the same way).
            raise BrowserError("a sync Playwright or an asyncio loop is already running in this thread; "
                               "connect from another thread, or use that Playwright's connect()")
        self._loop = asyncio.new_event_loop()
        caller = greenlet.getcurrent()
        self._client: _Client | None = None
        self._stop: asyncio.Future[None]

        async def main() -> None:
            self._stop = self._loop.create_future()
            self._client = _Client(endpoint, fiber, timeout_s)
            self._client.browser.add_done_callback(lambda _: caller.switch())
            await self._client.closed
            # The loop outlives the socket (browser.close() ends it and then waits for the
            # disconnect events) until close() is called.
            await self._stop

        def run_loop() -> None:
            task = self._loop.create_task(main())
            while not task.done():
                try:
                    self._loop.run_until_complete(task)
                except GreenletExit:
                    raise
                except BaseException as exc:
                    if task.done():
                        raise
                    # A signal handler (Ctrl-C, pytest-timeout) fired while the loop waited:
                    # raise it in the sync call that is waiting, and keep the loop alive.
                    caller.throw(exc)
                    asyncio._set_running_loop(None)

        fiber = self._fiber = MainGreenlet(run_loop)
        fiber.switch()
        assert self._client is not None
        try:
            self.browser: Browser = Browser(self._client.browser.result())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Disconnect (the server closes this client's contexts) and stop the event loop."""
        client = self._client
        if client is not None and not client.closed.done():
            client.connection.close("perfmon closed the browser connection")
        if not self._stop.done():
            self._stop.set_result(None)
        if not self._fiber.dead:
            self._fiber.switch()  # runs the loop until the reader has finished
        if not self._loop.is_closed():
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
