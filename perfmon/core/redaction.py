"""One redactor for every secret perfmon might print or write.

Applied to every line printed, every error message (``PerfmonError.__str__``), every report
file, and to a run's fields before it is written anywhere (``redact_tree``; the pipeline relabels
its metric series and redacts its metadata, so the store, the spool and the reports hold the same
masked run). Hand-written because no library
covers these shapes together; each pattern below is one shape seen in a real leak:

- URL userinfo: ``postgresql://u:secret@h/db``, ``http://admin:hunter2@host`` -> ``u:***@``;
- query-string and libpq keyword secrets: ``?password=x&``, ``host=h password='x y'`` -> ``password=***``;
- a ``ws://`` or ``wss://`` URL's path (a Playwright browser server's endpoint: the path is its token);
- JWTs (Supabase anon and service-role keys) and ``sb_secret_…`` / ``sb_publishable_…`` keys;
- the literal values of secret-looking environment variables (``*_KEY``, ``*PASSWORD*``, ``*TOKEN*``,
  ``*SECRET*``), whatever their shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .env import environ

__all__ = ["MASK", "redact", "redact_tree", "redactor", "secrets_in"]

MASK = "***"

# scheme://user:password@ : the password is everything up to the last '@' before the host.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<secret>[^\s/?#'\"]*)(?=@)")
# A name that is, or ends in, a secret's word after a separator: token=, api_token=, refresh_token=,
# client_secret=, X-Amz-Signature=, sig=, auth= (not monkey=)
_KEYWORD = re.compile(
    r"(?P<head>\b(?:[\w.-]*[_.-])?(?:password|passwd|pwd|pass|secret|token|apikey|key|sslpassword|sig|signature|"
    r"auth|credentials?)=)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&'\"<>,;)]+)",
    re.IGNORECASE,
)
_WS_PATH = re.compile(r"(?P<head>\bwss?://[^/\s'\"]+/)(?P<secret>[^\s'\"]+)")  # a browser server's path is its token
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_SUPABASE_KEY = re.compile(r"\b(sb_(?:secret|publishable)_)[A-Za-z0-9_-]+")
_SECRET_ENV = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN)", re.IGNORECASE)
_MIN_ENV_SECRET = 6  # shorter values ("1", "true") would mask ordinary words


def _env_secrets(env: Mapping[str, str]) -> list[str]:
    found = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= _MIN_ENV_SECRET}
    return sorted(found, key=len, reverse=True)  # longest first, so a secret's prefix never leaves a tail


def redact(text: str, *, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret it carries replaced by ``***`` (see the module docstring)."""
    return redactor(env)(text)


def redact_tree(value: Any, *, env: Mapping[str, str] | None = None) -> Any:
    """A JSON-like tree with every string *value* redacted, field by field: keys, numbers and booleans
    are never touched, so a secret that happens to equal a word or a digit string cannot corrupt the
    data (rewriting serialised JSON once turned ``"status": "passed"`` into ``"***"``)."""
    one = redactor(env)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return one(node)
        if isinstance(node, Mapping):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    return walk(value)


def secrets_in(text: str) -> set[str]:
    """The secret values the patterns find in ``text`` (a URL's password, a ``token=`` value, a JWT), to
    mask them too where the same value appears unlabelled (a HAR's query parameters, a form body)."""
    found = {m["secret"].strip("'\"") for m in _USERINFO.finditer(text)}
    found |= {m["secret"].strip("'\"") for m in _KEYWORD.finditer(text)}
    found |= {m[0] for m in _JWT.finditer(text)}
    return {f for f in found if len(f) >= _MIN_ENV_SECRET and f != MASK}


def redactor(env: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """:func:`redact` with the environment's secrets read once, for redacting many fields."""
    secrets = _env_secrets(environ() if env is None else env)

    def one(text: str) -> str:
        if not text:
            return text
        text = _USERINFO.sub(lambda m: m["head"] + MASK, text)
        text = _KEYWORD.sub(lambda m: m["head"] + MASK, text)
        text = _JWT.sub(MASK, text)
        text = _WS_PATH.sub(lambda m: m["head"] + MASK, text)
        text = _SUPABASE_KEY.sub(lambda m: m[1] + MASK, text)
        for value in secrets:
            text = text.replace(value, MASK)
        return text

    return one
