"""The commit and branch of a run, read from ``.git`` as git lays it out (no git process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfmon.core.vcs import git_info

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA", "GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_a_loose_branch_ref_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git" / "refs" / "heads" / "feature").mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (tmp_path / ".git" / "refs" / "heads" / "feature" / "x").write_text(SHA + "\n")
    (tmp_path / "tests" / "api").mkdir(parents=True)
    assert git_info(tmp_path / "tests" / "api") == {"git_sha": SHA, "branch": "feature/x"}


def test_a_packed_ref_and_a_detached_head(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n{OTHER} refs/heads/dev\n"
                                     f"{SHA} refs/heads/main\n^{OTHER}\n")
    assert git_info(tmp_path) == {"git_sha": SHA, "branch": "main"}
    (git / "HEAD").write_text(OTHER + "\n")
    assert git_info(tmp_path) == {"git_sha": OTHER, "branch": "HEAD"}


def test_a_worktree_reads_its_own_head_and_the_shared_refs(tmp_path: Path) -> None:
    main = tmp_path / "repo" / ".git"
    wt = main / "worktrees" / "wt"
    wt.mkdir(parents=True)
    (main / "packed-refs").write_text(f"{SHA} refs/heads/topic\n")
    (wt / "HEAD").write_text("ref: refs/heads/topic\n")
    (wt / "commondir").write_text("../..\n")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {wt}\n")
    assert git_info(tmp_path / "wt") == {"git_sha": SHA, "branch": "topic"}


def test_ci_variables_win_and_outside_a_checkout_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert git_info(tmp_path) == {"git_sha": None, "branch": None}
    monkeypatch.setenv("CI_COMMIT_SHA", OTHER)
    monkeypatch.setenv("GITHUB_REF_NAME", "release")
    assert git_info(tmp_path) == {"git_sha": OTHER, "branch": "release"}
