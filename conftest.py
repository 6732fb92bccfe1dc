"""Root conftest. perfmon's plugin is loaded through its ``pytest11`` entry point; the fixtures
it provides (``perf``, ``perf_api``, ``perf_base_url``, ``perf_user``, ``perf_think``...) are
documented in the README. Project-wide overrides of those fixtures go here, e.g. a
``perf_context_args`` that sets a locale for every journey."""

# pytester: the end-to-end tests run pytest on a scratch project of their own (tests/e2e).
pytest_plugins = ["pytester"]
