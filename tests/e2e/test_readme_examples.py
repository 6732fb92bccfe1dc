"""The README's code runs as written, outside this repository: its Python blocks become a scratch
project's test files, its TOML blocks that project's pyproject.toml, and pytest runs them with the
plugin against the bundled app (the smoke profile). A block that only works here, or a key the
config refuses, fails this test."""

from __future__ import annotations

import re

import pytest

from tests._support.sessions import ROOT, said

BLOCK = re.compile(r"^```(python|toml)\n(.*?)^```$", re.S | re.M)


def _blocks(kind: str) -> list[str]:
    texts = [(ROOT / "README.md").read_text(), *(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))]
    return [body for text in texts for lang, body in BLOCK.findall(text) if lang == kind]


def test_the_readme_has_examples_to_run() -> None:
    assert len(_blocks("python")) >= 2 and len(_blocks("toml")) >= 1  # the extraction still finds them


@pytest.mark.browser
def test_every_python_and_toml_example_runs_as_written(pytester: pytest.Pytester, clean_env: None) -> None:
    for i, body in enumerate(_blocks("python")):
        pytester.makepyfile(**{f"test_readme_{i}": body})
    pyproject = "\n".join(body if body.lstrip().startswith("[tool.") else re.sub(
        r"^\[(?!tool\.)", "[tool.perfmon.", body, flags=re.M) for body in _blocks("toml"))
    (pytester.path / "pyproject.toml").write_text(pyproject)
    db = pytester.path / "r.db"
    out = pytester.runpytest_subprocess("-n", "2", "--perf-profile", "smoke", "--perf-store", f"sqlite:///{db}",
                                        "--perf-regressions", "off", timeout=900)
    assert out.ret == 0, said(out)
    text = said(out)
    assert "verdict=PASSED" in text
    assert "PASS  http_req_duration{name:/api/dashboard,scenario:load}" in text  # the TOML example was read
