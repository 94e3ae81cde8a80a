"""The operator console's static files (SPEC §6.2), served from the package: no build step, no external asset.

Rules:
- Only the three files below are served, by exact path (nothing is looked up from the request path).
- The page holds no data and no secret: everything it shows comes from the admin API, with the admin token the
  operator types in (kept in the browser's session storage). A strict Content-Security-Policy allows only the
  page's own script, style and API calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_FILES = {
    "/console": ("index.html", "text/html; charset=utf-8"),
    "/console/": ("index.html", "text/html; charset=utf-8"),
    "/console/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/console/console.css": ("console.css", "text/css; charset=utf-8"),
}
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


def is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


@cache
def asset(path: str) -> tuple[bytes, str] | None:
    """The file served at ``path`` and its content type, or ``None``."""
    known = _FILES.get(path)
    if known is None:
        return None
    name, content_type = known
    return (files("levpref") / "console" / name).read_bytes(), content_type
