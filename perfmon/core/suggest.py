""""Did you mean …?" for a misspelt key, option, profile, scenario or metric: the closest known
name by difflib's ratio (the standard library's; argparse 3.14 and pytest suggest the same way)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'profile'?"`` for the closest of ``known``, or ``""`` when none is close."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""
