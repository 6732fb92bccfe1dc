"""The environment, read in one place: declared variables only, CI facts from GitHub or GitLab, and
the config's precedence (argument > variable > file > built-in default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfmon.core.config import VARIABLES, load_config
from perfmon.core.env import ci_commit, ci_job_url, ci_ref_protected, read


def test_an_undeclared_variable_cannot_be_read() -> None:
    with pytest.raises(KeyError, match="not declared"):
        read("PERFMON_NO_SUCH_THING", {})


def test_every_variable_is_declared_once_and_says_what_it_means() -> None:
    names = [v.name for v in VARIABLES]
    assert len(names) == len(set(names))
    assert all(v.means for v in VARIABLES)
    keys = {v.key for v in VARIABLES if v.key}
    assert {"store", "profile", "environment", "base_url", "target_db"} <= keys


def test_the_commit_comes_from_github_then_gitlab() -> None:
    assert ci_commit({"GITHUB_SHA": "a" * 40, "CI_COMMIT_SHA": "b" * 40}) == "a" * 40
    assert ci_commit({"CI_COMMIT_SHA": "b" * 40}) == "b" * 40
    assert ci_commit({"GITHUB_SHA": ""}) is None  # set but empty is unset


def test_ci_job_url_and_protection_on_both_systems() -> None:
    gh = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}
    assert ci_job_url(gh) == "https://github.example/o/r/actions/runs/7"
    assert ci_job_url({"CI_JOB_URL": "https://gitlab.example/j/1"}) == "https://gitlab.example/j/1"
    assert ci_ref_protected({"CI_COMMIT_REF_PROTECTED": "true"}) and not ci_ref_protected({})


def test_precedence_argument_then_variable_then_file(tmp_path: Path) -> None:
    cfg_file = tmp_path / "perfmon.toml"
    cfg_file.write_text('store = "sqlite:///from-file.db"\nenvironment = "staging"\n')
    assert load_config(cfg_file, env={}).store == "sqlite:///from-file.db"
    assert load_config(cfg_file, env={"PERFMON_STORE": "sqlite:///from-env.db"}).store == "sqlite:///from-env.db"
    assert load_config(cfg_file, env={"PERFMON_STORE": "sqlite:///from-env.db"},
                       store="sqlite:///given.db").store == "sqlite:///given.db"
    assert load_config(cfg_file, env={"PERFMON_ENV": "ci"}).environment == "ci"
    assert load_config(cfg_file, env={}).environment == "staging"


def test_a_chromium_playwright_downloaded_is_found_where_the_system_has_none(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout `playwright install chromium` leaves (made here: this machine has no internet to download)."""
    from perfmon.browser.launch import _playwright_download

    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    assert _playwright_download() is None
    for build in ("1180", "1187"):
        shell = tmp_path / f"chromium_headless_shell-{build}" / "chrome-linux" / "headless_shell"
        shell.parent.mkdir(parents=True)
        shell.write_text("#!/bin/sh\n")
        shell.chmod(0o755)
    assert _playwright_download() == str(tmp_path / "chromium_headless_shell-1187" / "chrome-linux" / "headless_shell")
