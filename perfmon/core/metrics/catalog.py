"""The metrics perfmon records itself, by name: what a threshold may name besides a suite's own
custom metrics, so that a typo (``http_req_duraton``) is told before a run instead of costing a whole
run and ending as "no samples" (exit 3).

Hand-listed (the metrics are recorded where they are measured, across the layers, with no registry
to read them from); ``tests/unit/test_metric_catalog.py`` checks the list against the names the
code records. A name close to one of these but not one of them is taken for a typo; a custom metric
far from every built-in name is the suite's own and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..suggest import closest

__all__ = ["BUILTIN_METRICS", "NO_ANSWER", "misspelt"]

NO_ANSWER = "0"  # the ``status`` tag of a request that got no HTTP response (refused, timed out, cut)

BUILTIN_METRICS = frozenset({
    # HTTP load (loadgen/)
    "http_req_duration", "http_req_failed", "http_reqs", "http_req_errors", "http_req_server_duration",
    "http_req_server_timing", "checks", "iterations", "iterations_interrupted", "vus", "vus_active",
    "generator_cpu_seconds", "spike_recovery_time", "memory_growth_mb_per_min", "dropped_iterations",
    "iteration_duration", "iteration_failed", "processes", "script_errors", "client_saturated",
    "generator_loop_blocked",
    # browser journeys (browser/)
    "browser_vital_lcp", "browser_vital_fcp", "browser_vital_cls", "browser_vital_inp", "browser_vital_ttfb",
    "browser_vital_missing", "browser_step_duration", "browser_step_failed", "browser_step_inp",
    "browser_step_inp_missing", "browser_iteration_duration", "browser_iteration_failed", "browser_iterations",
    "browser_page_visits", "browser_navigations", "browser_js_heap_mb", "browser_dom_nodes", "browser_tbt",
    "browser_host_iterations", "browser_long_tasks", "browser_resources_count", "browser_resources_kb",
    "browser_soft_navigations",
    # the machine and the target (system/)
    "process_rss_mb", "process_cpu_percent", "process_cpu_seconds", "memory_gb", "process_cpu_wait_share",
    "cpu_pressure",
    "db_connections", "db_connections_used", "db_connections_max", "db_connections_saturated", "db_lock_waits",
    "db_lock_wait_ms", "db_waiting", "db_statements_ms", "db_query_time_ms", "db_temp_bytes", "db_rollbacks",
    "db_deadlocks", "db_cache_hit_ratio", "db_statements",
})
_CLOSE = 0.85  # difflib's ratio: one or two letters off a name of this length


def misspelt(name: str, also: Iterable[str] = ()) -> str | None:
    """The metric ``name`` was probably meant as: a built-in one (or one of ``also``, the custom ones a
    run recorded) it is close to without being one."""
    known = BUILTIN_METRICS.union(also)
    return None if name in known else closest(name, known, cutoff=_CLOSE)
