"""A failed journey's Playwright trace without the secrets it recorded.

A trace keeps every action with its arguments: ``page.fill("#password", password)``, the password
read from ``$E2E_PASSWORD``, is in it as typed, and so are request URLs with tokens and
``Authorization`` headers. perfmon keeps the trace of a failed iteration for whoever debugs it, so
before it is left on disk every text member of the zip (the action log, the network log, resources
that are text) goes through the one redactor: secret environment variables' values, URL passwords,
``token=``-style values and JWTs become ``***``. Screenshots are kept as they are (a password field
renders as dots). Written here because Playwright has no option to leave values out of a trace.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ..core.redaction import MASK, redactor, secrets_in

__all__ = ["scrub_trace"]

_BINARY = (".jpeg", ".jpg", ".png", ".webp", ".gif", ".woff", ".woff2", ".ttf", ".ico", ".wasm")


def scrub_trace(path: Path) -> bool:
    """Rewrite the trace at ``path`` with every secret masked; returns whether anything was masked."""
    changed = False
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trace-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            texts = {info.filename: _text(src, info) for info in src.infolist()}
            # A value the patterns find labelled in one place (``?api_token=...`` in a URL) is masked where
            # the trace repeats it unlabelled too (the network log's query parameters, a form's body).
            found = sorted(set().union(*(secrets_in(t) for t in texts.values() if t)), key=len, reverse=True)
            one = redactor()
            for info in src.infolist():
                data, text = src.read(info), texts[info.filename]
                if text is not None:
                    masked = one(text)
                    for value in found:
                        masked = masked.replace(value, MASK)
                    if masked != text:
                        data, changed = masked.encode("utf-8"), True
                dst.writestr(info, data)
        if changed:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return changed


def _text(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    if info.filename.lower().endswith(_BINARY):
        return None
    try:
        return src.read(info).decode("utf-8")
    except UnicodeDecodeError:
        return None
