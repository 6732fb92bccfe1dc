"""One retry loop for everything that talks to something that can fail for a moment: the SQL
stores, the Supabase store and the alert webhook.

Written by hand rather than taken from stamina because the callers need two things stamina does
not give in one call: a hook that runs between tries (the SQL store reconnects there) and a
predicate over the exception (a refused row must not be tried again). Full jitter (a random wait in
``[0, backoff * 2**try)``, AWS's "Exponential Backoff and Jitter"), so that many CI jobs retrying at
once do not hammer a store in step. It never sleeps after the last try and never swallows an error:
the last one is raised to the caller, which says what it means.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["retry"]

T = TypeVar("T")


def retry(attempt: Callable[[], T], *, attempts: int, backoff_s: float,
          transient: Callable[[BaseException], bool], between: Callable[[], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``attempt`` up to ``attempts`` times while it raises an error ``transient`` accepts.

    An error ``transient`` refuses, or the error of the last try, propagates unchanged.
    ``between`` runs after each wait, before the next try (to reconnect, say).
    """
    if attempts < 1:
        msg = f"attempts must be at least 1, got {attempts}"
        raise ValueError(msg)
    for n in range(1, attempts + 1):
        try:
            return attempt()
        except Exception as exc:
            if n == attempts or not transient(exc):
                raise
            sleep(random.uniform(0, backoff_s * 2 ** (n - 1)))
        if between is not None:
            between()
    raise AssertionError("unreachable")  # the last try returns or raises
