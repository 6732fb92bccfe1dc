"""One browser iteration of a journey: the object behind the ``perf`` fixture.

Each page visit is finalised once (web-vitals' semantics are "at the end of the visit"):
when the page is navigated away (the in-page collector parks its report in sessionStorage
and the next collection on that origin hands it over), or when the test asks
(``perf.vitals()``) or ends. A visit's numbers go into Trends
tagged by journey and page; the page is the URL path with ids folded, so ``/forms/3`` and
``/forms/7`` are one row.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, CDPSession, Page
from playwright.sync_api import Error as PlaywrightError

from ..core.metrics import Metrics
from ..core.names import endpoint_name
from ..core.records import merge_slowest
from ..core.samples import EVIDENCE_FILE, TimedSamples
from ..core.thresholds import Threshold, iteration_breaches
from .trace_scrub import scrub_trace

__all__ = ["NETWORK_PROFILES", "VITAL_NAMES", "BrowserPerf", "vitals_script"]

VITAL_NAMES = ("LCP", "FCP", "CLS", "INP", "TTFB")
_FROM_ORIGIN = ("LCP", "FCP", "TTFB")  # measured from the start of the visit
_INTERACTIONS_KEPT = 5
_NOT_TIMINGS = ("browser_js_heap_mb", "browser_dom_nodes")
_NAV_PHASES = ("redirect", "dns", "connect", "tls", "ttfb", "download", "dom_content_loaded", "load")
# CDP network profiles: DevTools' 3G presets and Lighthouse's "slow 4G" (bytes/s, ms of latency).
NETWORK_PROFILES: dict[str, dict[str, float]] = {
    "slow3g": {"latency": 2000.0, "downloadThroughput": 50_000.0, "uploadThroughput": 50_000.0},
    "fast3g": {"latency": 562.5, "downloadThroughput": 180_000.0, "uploadThroughput": 84_375.0},
    "slow4g": {"latency": 150.0, "downloadThroughput": 200_000.0, "uploadThroughput": 93_750.0},
}
_CDP_METRICS = {
    "JSHeapUsedSize": ("browser_js_heap_mb", 1e-6),
    "Nodes": ("browser_dom_nodes", 1.0),
    "LayoutDuration": ("browser_layout_ms", 1000.0),
    "RecalcStyleDuration": ("browser_style_ms", 1000.0),
    "ScriptDuration": ("browser_script_ms", 1000.0),
    "TaskDuration": ("browser_task_ms", 1000.0),
}


def vitals_script() -> str:
    return resources.files("perfmon.browser").joinpath("vitals.js").read_text()


def _visited(report: dict[str, Any]) -> bool:
    """A page the journey navigated to: an http(s) URL, not the ``about:blank`` every context starts on
    (a test that never navigates, a skipped one, recorded CLS 0 and TTFB 0 for page ``blank``)."""
    return str(report.get("url") or "").startswith(("http://", "https://"))


class BrowserPerf:
    """``perf.page``, ``perf.step(name)``, ``perf.vitals()`` and ``perf.navigation()``."""

    def __init__(self, context: BrowserContext, metrics: Metrics, *, journey: str, tags: dict[str, str] | None = None,
                 cdp: bool = True, network: str | None = None, cpu_throttle: float | None = None,
                 tracing: bool = False, timed: TimedSamples | None = None, adopt_page: bool = False) -> None:
        """Counts go into ``metrics``; timings and vitals into ``timed`` with the interval each one
        measured (for the pipeline's quarantine), or into ``metrics`` too when ``timed`` is None.
        ``adopt_page``: measure the first page someone else opens in ``context`` (a pytest-playwright
        ``page`` fixture's) instead of opening one."""
        self.context = context
        self.metrics = metrics
        self.timed = timed
        # This iteration's timings and vitals, handed on at finish only if it did not fail: a step that
        # timed out is a broken test, not a 30-s step (its failure is counted in browser_iteration_failed).
        self._own = TimedSamples()
        self.journey = journey
        self.tags = {**(tags or {}), "journey": journey}
        self.failed = False
        self.breaches: list[str] = []  # thresholds this iteration's own values broke (see finish)
        self.started = time.perf_counter()
        self._started_at = time.time()
        self._visits: dict[str, dict[str, Any]] = {}
        self.slowest: dict[str, list[dict[str, Any]]] = {}  # page -> its slowest resources seen
        self.slowest_interactions: list[dict[str, Any]] = []  # the worst INP interactions, with their LoAF scripts
        self._steps: list[tuple[str, float, float]] = []  # name, start, end (epoch s), in order
        self._interactions: list[tuple[float, float]] = []  # when (epoch s), duration ms
        self._inputs: list[tuple[float, bool]] = []  # when (epoch s), trusted
        self._skew = 0.0  # this process's clock minus the page's (seconds)
        self._last: dict[str, Any] | None = None
        context.add_init_script(script=vitals_script())
        self.tracing = tracing
        if tracing:
            # Snapshots but no screencast: enough to replay a failure, cheap enough to leave on.
            context.tracing.start(snapshots=True, screenshots=False, sources=False)
        self._cdp: CDPSession | None = None
        self._wants_cdp, self._network, self._cpu_throttle = cdp, network, cpu_throttle
        self._page: Page | None = None
        if adopt_page:
            context.on("page", self._adopt)
        else:
            self._adopt(context.new_page())

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("no page was opened in this context yet")
        return self._page

    def _adopt(self, page: Page) -> None:
        if self._page is not None:
            return  # the first page is the journey's; later ones (pop-ups) are not measured
        self._page = page
        cdp, network, cpu_throttle, context = self._wants_cdp, self._network, self._cpu_throttle, self.context
        if cdp or network or cpu_throttle:
            with contextlib.suppress(PlaywrightError):
                self._cdp = context.new_cdp_session(page)
                self._cdp.send("Performance.enable")
        if self._cdp is not None and network:
            self._cdp.send("Network.enable")
            self._cdp.send("Network.emulateNetworkConditions", {"offline": False, **NETWORK_PROFILES[network]})
        if self._cdp is not None and cpu_throttle:
            self._cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_throttle})

    # --- the public API ------------------------------------------------------------------------
    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a user-visible step, e.g. from the click to the dashboard being visible."""
        start, wall = time.perf_counter(), time.time()
        ok = False
        try:
            yield
            ok = True
        finally:
            ms = (time.perf_counter() - start) * 1000
            tags = {**self.tags, "step": name}
            self._sample("browser_step_duration", tags, ms, wall, wall + ms / 1000)
            self._steps.append((name, wall, wall + ms / 1000))
            self.metrics.rate("browser_step_failed", tags).record(not ok)
            if not ok:
                self.failed = True

    def vitals(self) -> dict[str, float | None]:
        """Finalise the current page visit and return its Web Vitals (ms; CLS unitless)."""
        report = self._collect()
        return dict(report["vitals"]) if report else dict.fromkeys(VITAL_NAMES)

    @property
    def visits(self) -> list[dict[str, Any]]:
        """Every visit finalised so far, as the in-page collector reported it (vitals.js), in order."""
        return list(self._visits.values())

    def navigation(self) -> dict[str, Any]:
        """Navigation Timing phases (ms) and a resource summary of the current page."""
        nav = self.page.evaluate("() => window.__perfmon ? window.__perfmon.finalize().navigation : null")
        return dict(nav or {})

    # --- internals ----------------------------------------------------------------------------
    def _collect(self) -> dict[str, Any] | None:
        try:
            got = self.page.evaluate("() => window.__perfmon ? window.__perfmon.collect() : null")
        except PlaywrightError:
            return self._last
        if not got:
            return self._last
        current: dict[str, Any] | None = got.get("current")
        if current is not None:
            # The page's epoch clock can drift from this process's (a long-lived browser): its times are
            # moved onto ours by the offset seen now, within the call's own latency.
            self._skew = time.time() - float(current["ended"]) / 1000
        for earlier in got.get("pending") or []:
            self._record_visit(earlier)
        if current is None:
            return self._last
        self._record_visit(current)
        self._record_cdp(current)
        return current

    def _sample(self, name: str, tags: dict[str, str], value: float, start: float, end: float, *,
                resolution: float = 0.001) -> None:
        """One timing over ``[start, end]`` (epoch seconds), kept until the iteration ends (see finish)."""
        self._own.add(name, tags, value, start, end, resolution=resolution)

    def _page_label(self, url: str) -> str:
        return endpoint_name(urlsplit(url).path)

    def _record_visit(self, report: dict[str, Any]) -> None:
        doc = report.get("docId")
        if not doc or doc in self._visits or not _visited(report):
            return
        self._visits[doc] = report
        self._last = report
        tags = {**self.tags, "page": self._page_label(report.get("url", ""))}
        m = self.metrics
        origin, ended = self._visit_span(report)
        kind = str(report.get("navigationType") or "navigate")
        m.counter("browser_navigations", {**tags, "type": kind}).add(1)
        # A restore from the back-forward cache is reported apart: its ~16 ms paint is not the page's load.
        apart = "_bfcache" if kind == "back-forward-cache" else ""
        for name, value in (report.get("vitals") or {}).items():
            if value is None:  # counted, never dropped: the report shows each vital's coverage per page
                m.counter("browser_vital_missing", {**tags, "vital": name}).add(1)
                continue
            resolution = 0.0001 if name == "CLS" else 0.001  # CLS is a unitless score
            # Paint and response times run from the visit's start; CLS over its worst session window, INP
            # over its interaction (when the collector says; else the whole visit).
            start, end = origin, origin + float(value) / 1000 if name in _FROM_ORIGIN else ended
            if (span := (report.get("spans") or {}).get(name)) is not None:
                start, end = float(span[0]) / 1000 + self._skew, float(span[1]) / 1000 + self._skew
            elif name == "CLS" and "spans" in report:  # no shift at all: nothing a busy client could distort
                end = start
            self._sample(f"browser_vital_{name.lower()}{apart}", tags, value, start, end, resolution=resolution)
        skew = self._skew
        self._interactions += [(float(i["at"]) / 1000 + skew, float(i["duration"]))
                               for i in report.get("interactions") or ()]
        self._inputs += [(float(i["t"]) / 1000 + skew, bool(i["trusted"])) for i in report.get("inputs") or ()]
        if worst := report.get("inpAttribution"):
            self._keep_interaction({**worst, "at": float(worst["at"]) + skew * 1000, "page": tags["page"],
                                    "journey": self.journey})
        nav = report.get("navigation") or {}
        loaded = max((float(nav[p]) for p in ("ttfb", "dom_content_loaded", "load") if nav.get(p)), default=0.0)
        for phase in _NAV_PHASES:
            if nav.get(phase) is not None:
                self._sample(f"browser_nav_{phase}", tags, max(0.0, float(nav[phase])), origin,
                             max(origin + loaded / 1000, origin))
        res = nav.get("resources") or {}
        page = tags["page"]
        if res.get("slowest"):
            merge_slowest(self.slowest, {page: res["slowest"]})
        if res:  # counts and sizes: a busy client does not change them, so they are never quarantined
            m.trend("browser_resources_count", tags, resolution=1).record(res.get("count", 0))
            m.trend("browser_resources_kb", tags).record((res.get("bytes", 0) + (nav.get("transfer_size") or 0)) / 1024)
        m.counter("browser_long_tasks", tags).add(report.get("longTasks", 0))
        self._sample("browser_tbt", tags, report.get("tbt", 0.0), origin, ended)
        m.counter("browser_page_visits", tags).add(1)
        if report.get("softNavigations"):
            m.counter("browser_soft_navigations", tags).add(report["softNavigations"])

    def _keep_interaction(self, found: dict[str, Any]) -> None:
        kept = sorted([*self.slowest_interactions, found], key=lambda i: -float(i.get("duration") or 0))
        self.slowest_interactions = kept[:_INTERACTIONS_KEPT]

    def _record_step_interactions(self) -> None:
        """Each step's INP (its slowest interaction, over the step's own interval), and a flag for a step
        whose input was all scripted (``element.click()`` from page JavaScript): Event Timing never
        reports it, so the step has no INP to show."""
        for name, start, end in self._steps:
            tags = {**self.tags, "step": name}
            inside = [d for t, d in self._interactions if start <= t <= end]
            if inside:
                self._sample("browser_step_inp", tags, max(inside), start, end)
                continue
            inputs = [trusted for t, trusted in self._inputs if start <= t <= end]
            if inputs and not any(inputs):
                self.metrics.counter("browser_step_inp_missing", tags).add(1)
        for found in self.slowest_interactions:
            at = float(found.get("at") or 0) / 1000
            found["step"] = next((n for n, a, b in self._steps if a <= at <= b), None)

    def _visit_span(self, report: dict[str, Any]) -> tuple[float, float]:
        """When the visit started and when it was read (epoch seconds, on this process's clock)."""
        origin = float(report["origin"]) / 1000 + self._skew
        return origin, max(origin, float(report["ended"]) / 1000 + self._skew)

    def _record_cdp(self, report: dict[str, Any]) -> None:
        if self._cdp is None or not _visited(report):
            return
        try:
            values = {x["name"]: x["value"] for x in self._cdp.send("Performance.getMetrics")["metrics"]}
        except PlaywrightError:
            return
        tags = {**self.tags, "page": self._page_label(report.get("url", ""))}
        origin, ended = self._visit_span(report)
        for key, (metric, factor) in _CDP_METRICS.items():
            if key not in values:
                continue
            if metric in _NOT_TIMINGS:  # sizes and counts: never quarantined
                self.metrics.trend(metric, tags).record(values[key] * factor)
            else:
                self._sample(metric, tags, values[key] * factor, origin, ended)

    def finish(self, *, failed: bool, artifacts: Path | None = None, thresholds: Sequence[Threshold] = ()) -> None:
        """End the iteration: finalise the open visit, count it, and keep a screenshot and a
        trace in ``artifacts`` if it failed or if its own values went beyond one of ``thresholds``."""
        failed = failed or self.failed
        if self._page is not None and not self._page.is_closed():
            self._collect()
        self._record_step_interactions()
        self.breaches = [] if failed else iteration_breaches(thresholds, self._own_metrics())
        keep = artifacts if failed or self.breaches else None
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            # What the controller reads to keep or drop this evidence (pipeline/evidence.py).
            (keep / EVIDENCE_FILE).write_text(json.dumps({"failed": failed, "start": self._started_at,
                                                          "end": time.time()}))
            if self.breaches:
                (keep / "breaches.txt").write_text("\n".join(self.breaches) + "\n")
            if self._page is not None and not self._page.is_closed():
                with contextlib.suppress(PlaywrightError):
                    self._page.screenshot(path=str(keep / "failure.png"), full_page=True)
        if self.tracing:
            with contextlib.suppress(PlaywrightError):
                if keep is not None:
                    self.context.tracing.stop(path=str(keep / "trace.zip"))  # `playwright show-trace` opens it
                    scrub_trace(keep / "trace.zip")  # a password the journey typed, a token in a URL
                else:
                    self.context.tracing.stop()  # passing iterations keep nothing
        ms = (time.perf_counter() - self.started) * 1000
        self._sample("browser_iteration_duration", self.tags, ms, self._started_at, self._started_at + ms / 1000)
        self.metrics.counter("browser_iterations", self.tags).add(1)
        self.metrics.rate("browser_iteration_failed", self.tags).record(failed)
        if not failed:
            if self.timed is not None:
                self.timed.extend(self._own)
            else:
                self._own.into(self.metrics)
        self._own = TimedSamples()

    def _own_metrics(self) -> Metrics:
        """What this iteration measured, counts and timings together."""
        own = Metrics()
        own.merge(self.metrics)
        self._own.into(own)
        return own
