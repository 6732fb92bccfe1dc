"""The commit and branch a run measured: from CI's variables, else read from the checkout's ``.git``.

Read by hand rather than by running ``git``: a runner image may not have git installed, a child
process per run costs more than reading two small files, and the format read here (``HEAD``, loose
refs, ``packed-refs``, a worktree's ``gitdir:`` and ``commondir``) is git's stable on-disk layout.
"""

from __future__ import annotations

from pathlib import Path

from .env import ci_commit, read

__all__ = ["git_info"]


def git_info(cwd: str | Path | None = None) -> dict[str, str | None]:
    """``git_sha`` and ``branch``: CI's variables first, then the checkout at or above ``cwd``; None
    for what neither says (outside a checkout). A detached HEAD's branch is ``HEAD``, as git says."""
    sha, branch = _checkout(Path(cwd) if cwd is not None else Path.cwd())
    return {"git_sha": ci_commit() or sha, "branch": read("GITHUB_HEAD_REF") or read("GITHUB_REF_NAME") or branch}


def _checkout(start: Path) -> tuple[str | None, str | None]:
    gitdir = _gitdir(start.resolve())
    if gitdir is None:
        return None, None
    try:
        head = (gitdir / "HEAD").read_text().strip()
    except OSError:
        return None, None
    if not head.startswith("ref:"):
        return (head or None), "HEAD"
    ref = head.removeprefix("ref:").strip()
    branch = ref.removeprefix("refs/heads/")
    return _resolve(gitdir, ref), branch


def _gitdir(start: Path) -> Path | None:
    """The git directory of the checkout holding ``start``: ``.git`` itself, or where a worktree's
    ``.git`` file points."""
    for d in (start, *start.parents):
        dot = d / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            try:
                text = dot.read_text().strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (d / target).resolve()
            return None
    return None


def _resolve(gitdir: Path, ref: str) -> str | None:
    """The commit ``ref`` names: a loose ref file, else a line of ``packed-refs``; a worktree's shared
    refs live in its ``commondir``."""
    places = [gitdir]
    try:
        common = (gitdir / "commondir").read_text().strip()
        places.append((gitdir / common).resolve())
    except OSError:
        pass
    for place in places:
        try:
            return (place / ref).read_text().strip() or None
        except OSError:
            pass
        try:
            for line in (place / "packed-refs").read_text().splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref and not line.startswith(("#", "^")):
                    return sha
        except OSError:
            pass
    return None
