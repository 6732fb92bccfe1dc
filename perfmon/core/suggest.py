""""Did you mean …?" for a misspelt key, option, profile, scenario or metric: the closest known
name by difflib's ratio (the standard library's; argparse 3.14 and pytest suggest the same way)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The name of ``known`` closest to ``word`` at difflib's ``cutoff`` ratio, or None."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'profile'?"`` for the closest of ``known``, or ``""`` when none is close."""
    found = closest(word, known)
    return f"; did you mean {found!r}?" if found else ""
