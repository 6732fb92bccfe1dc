"""The registry of metric series (:class:`Metrics`), keyed by name and tags, and k6's metric
selectors (``http_req_duration{endpoint:login}``): the unit workers send and controllers merge."""


from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .hdr import _at_percentiles, _no_counts
from .scalars import Counter, Gauge, Rate
from .stats import MetricKind, Tags
from .trend import Trend

__all__ = ["Metric", "Metrics", "parse_selector"]

Metric = Trend | Rate | Counter | Gauge
_KINDS: dict[str, type[Trend] | type[Rate] | type[Counter] | type[Gauge]] = {
    "trend": Trend,
    "rate": Rate,
    "counter": Counter,
    "gauge": Gauge,
}


def _tags(tags: Mapping[str, str] | None) -> Tags:
    return tuple(sorted((str(k), str(v)) for k, v in (tags or {}).items()))


def parse_selector(selector: str) -> tuple[str, dict[str, str]]:
    """``http_req_duration{endpoint:login,method:POST}`` -> name and tag filter (k6 syntax)."""
    name, brace, rest = selector.partition("{")
    if not brace:
        return selector.strip(), {}
    if not rest.endswith("}"):
        msg = f"metric selector {selector!r} is missing its closing '}}'"
        raise ValueError(msg)
    wanted: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest[:-1].split(","))):
        key, colon, value = part.partition(":")
        if not colon or not key.strip():
            msg = f"metric selector {selector!r}: tag {part!r} must be written key:value"
            raise ValueError(msg)
        wanted[key.strip()] = value.strip()
    return name.strip(), wanted


class Metrics:
    """A registry of metric series keyed by name and tags; the unit workers send and controllers merge."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, Tags], Metric] = {}

    def __len__(self) -> int:
        return len(self._series)

    def _get(self, kind: MetricKind, name: str, tags: Mapping[str, str] | None, **kw: Any) -> Any:
        key = (name, _tags(tags))
        series = self._series.get(key)
        if series is None:
            series = _KINDS[kind](**kw)
            self._series[key] = series
        elif series.kind != kind:
            msg = f"metric {name!r} is a {series.kind}, not a {kind}"
            raise ValueError(msg)
        return series

    def trend(self, name: str, tags: Mapping[str, str] | None = None, *, resolution: float = 0.001) -> Trend:
        t: Trend = self._get("trend", name, tags, resolution=resolution)
        return t

    def rate(self, name: str, tags: Mapping[str, str] | None = None) -> Rate:
        r: Rate = self._get("rate", name, tags)
        return r

    def counter(self, name: str, tags: Mapping[str, str] | None = None) -> Counter:
        c: Counter = self._get("counter", name, tags)
        return c

    def gauge(self, name: str, tags: Mapping[str, str] | None = None) -> Gauge:
        g: Gauge = self._get("gauge", name, tags)
        return g

    def series(self, name: str | None = None) -> Iterable[tuple[str, dict[str, str], Metric]]:
        for (n, tags), m in sorted(self._series.items(), key=lambda kv: kv[0]):
            if name is None or n == name:
                yield n, dict(tags), m

    def names(self) -> list[str]:
        return sorted({n for n, _ in self._series})

    def select(self, selector: str) -> Metric | None:
        """Merge every series matching a k6 selector; ``None`` when nothing matched."""
        return self.select_tags(*parse_selector(selector))

    def summed_over_parts(self, name: str, wanted: Mapping[str, str], field: str) -> dict[int, float]:
        """Per window, ``field`` (``avg``, ``max``) of each process part's Trend ``name`` added up.

        A scenario split over processes records ``vus_active`` per part (tag ``part``): merging the
        parts' histograms would give the users of one part (their mean), not of the scenario."""
        parts: dict[str, Trend] = {}
        for _, tags, m in self.series(name):
            if isinstance(m, Trend) and all(tags.get(k) == v for k, v in wanted.items()):
                parts.setdefault(tags.get("part", ""), Trend(resolution=m.resolution)).merge(m)
        out: dict[int, float] = {}
        for trend in parts.values():
            for w, stats in trend.window_stats():
                if (value := getattr(stats, field)) is not None:
                    out[w] = out.get(w, 0.0) + value
        return dict(sorted(out.items()))

    def select_tags(self, name: str, wanted: Mapping[str, str]) -> Metric | None:
        """Merge every series of ``name`` carrying the ``wanted`` tags. Code that has tag values in hand
        (a URL path with a comma, a brace) uses this: a selector string rebuilt from them would not parse."""
        merged: Metric | None = None
        for _, tags, m in self.series(name):
            if any(tags.get(k) != v for k, v in wanted.items()):
                continue
            if merged is None:
                # A fresh metric merged into, not a serialised copy: select runs during a run
                # (abortOnFail checks), so it must not base64 every window each time.
                merged = Trend(resolution=m.resolution) if isinstance(m, Trend) else _KINDS[m.kind]()
            merged.merge(m)  # type: ignore[arg-type]
        return merged

    def recent_percentile(self, name: str, p: float) -> float | None:
        """``p`` of the newest window across every series of ``name`` (live progress): merges one
        window per series, never the whole run."""
        trends = [t for _, _, t in self.series(name) if isinstance(t, Trend) and t.window_starts()]
        if not trends:
            return None
        window = max(t.window_starts()[-1] for t in trends)
        counts = _no_counts()
        n = sum(t._counts_into(counts, (window,)) for t in trends)  # a series without that window adds none
        return _at_percentiles(counts, n, [p])[0] / trends[0]._scale if n else None

    def relabelled(self, value: Callable[[str], str]) -> Metrics:
        """A copy with every tag value passed through ``value`` (the redactor); series that become
        alike (two paths each holding a different token) are merged, never dropped."""
        out = Metrics()
        seen: dict[str, str] = {}
        for (name, tags), m in self._series.items():
            new = {k: seen.setdefault(v, value(v)) for k, v in tags}
            kw = {"resolution": m.resolution} if isinstance(m, Trend) else {}
            out._get(m.kind, name, new, **kw).merge(m)
        return out

    def merge(self, other: Metrics) -> None:
        for (name, tags), m in other._series.items():
            kw = {"resolution": m.resolution} if isinstance(m, Trend) else {}
            self._get(m.kind, name, dict(tags), **kw).merge(m)

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"name": n, "tags": tags, **m.to_dict()} for n, tags, m in self.series()]

    @classmethod
    def from_dict(cls, rows: Iterable[Mapping[str, Any]]) -> Metrics:
        reg = cls()
        for row in rows:
            reg._series[(str(row["name"]), _tags(row["tags"]))] = _KINDS[row["kind"]].from_dict(row)
        return reg

