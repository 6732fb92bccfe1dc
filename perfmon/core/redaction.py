"""One redactor for every secret perfmon might print or write.

Applied to every line printed, every error message (``PerfmonError.__str__``), every report
file, every spool file and the run's stored ``base_url``. Hand-written because no library
covers these shapes together; each pattern below is one shape seen in a real leak:

- URL userinfo: ``postgresql://u:secret@h/db``, ``http://admin:hunter2@host`` -> ``u:***@``;
- query-string and libpq keyword secrets: ``?password=x&``, ``host=h password='x y'`` -> ``password=***``;
- JWTs (Supabase anon and service-role keys) and ``sb_secret_…`` / ``sb_publishable_…`` keys;
- the literal values of secret-looking environment variables (``*_KEY``, ``*PASSWORD*``, ``*TOKEN*``,
  ``*SECRET*``), whatever their shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .env import environ

__all__ = ["MASK", "redact"]

MASK = "***"

# scheme://user:password@ : the password is everything up to the last '@' before the host.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<secret>[^\s/?#'\"]*)(?=@)")
_KEYWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|pass|secret|token|access_token|api_?key|apikey|sslpassword|key)=)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&'\"<>,;)]+)",
    re.IGNORECASE,
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_SUPABASE_KEY = re.compile(r"\b(sb_(?:secret|publishable)_)[A-Za-z0-9_-]+")
_SECRET_ENV = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN)", re.IGNORECASE)
_MIN_ENV_SECRET = 6  # shorter values ("1", "true") would mask ordinary words


def _env_secrets(env: Mapping[str, str]) -> list[str]:
    found = {v for k, v in env.items() if _SECRET_ENV.search(k) and len(v) >= _MIN_ENV_SECRET}
    return sorted(found, key=len, reverse=True)  # longest first, so a secret's prefix never leaves a tail


def redact(text: str, *, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret it carries replaced by ``***`` (see the module docstring)."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: m["head"] + MASK, text)
    text = _KEYWORD.sub(lambda m: m["head"] + MASK, text)
    text = _JWT.sub(MASK, text)
    text = _SUPABASE_KEY.sub(lambda m: m[1] + MASK, text)
    for value in _env_secrets(environ() if env is None else env):
        text = text.replace(value, MASK)
    return text
