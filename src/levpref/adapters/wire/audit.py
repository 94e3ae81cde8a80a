"""The query of ``GET /admin/v1/audit`` and ``/admin/v1/accounts/{id}/audit`` (and of ``levpref audit``).

The parameters and their meaning are declared once, in the admin route table (``adapters/http/admin_routes.py``);
each is given at most once and any other is refused, naming it (``parameters``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs

from levpref.adapters.wire.admin import AuditCursor
from levpref.errors import InvalidInput
from levpref.service.audit import iso_time
from levpref.service.audit_log import DEFAULT_LIMIT, MAX_LIMIT, AuditPage, AuditQuery

ID_PATTERN = "[0-9]{1,18}"
SYMBOL_PATTERN = "[A-Za-z0-9_.-]{1,64}"
ACTION_PATTERN = "[a-z_]{1,64}"
_ID = re.compile(ID_PATTERN)
_SYMBOL = re.compile(SYMBOL_PATTERN)
_ACTION = re.compile(ACTION_PATTERN)
_ISO = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{3})?Z")
_MS = re.compile(r"[0-9]{1,15}")


def parameters(query: str, known: tuple[str, ...]) -> dict[str, str]:
    """The parameters of a query string, each given once and known, or ``InvalidInput`` naming the first that is
    not."""
    try:
        parsed = parse_qs(query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("query: not valid UTF-8") from None
    for name, values in parsed.items():
        if name not in known:
            raise InvalidInput(f"{name[:40]}: unknown parameter (known: {', '.join(known)})")
        if len(values) > 1:
            raise InvalidInput(f"{name}: given more than once")
    return {name: values[0] for name, values in parsed.items()}


def audit_query(given: dict[str, str], account_id: str | None) -> AuditQuery:
    """The typed query of the audit parameters ``given``."""
    limit = _integer(given, "limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: expected an integer from 1 to {MAX_LIMIT}")
    order = given.get("order", "newest")
    if order not in ("newest", "oldest"):
        raise InvalidInput("order: expected newest or oldest")
    before = _integer(given, "before_id", None) if "before_id" in given else None
    return AuditQuery(
        account_id=account_id,
        after_id=_integer(given, "after_id", 0),
        before_id=before,
        limit=limit,
        newest_first=order == "newest",
        symbol=_match(given, "symbol", _SYMBOL, "a symbol"),
        action=_match(given, "action", _ACTION, "an action (set_mark, set_leverage_preference, …)"),
        since=_time(given, "since"),
        until=_time(given, "until"),
    )


def _integer(given: dict[str, str], name: str, default: int | None) -> int:
    text = given.get(name)
    if text is None:
        assert default is not None
        return default
    if not _ID.fullmatch(text):
        raise InvalidInput(f"{name}: expected a whole number of at most 18 digits")
    return int(text)


def _match(given: dict[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    text = given.get(name)
    if text is not None and not pattern.fullmatch(text):
        raise InvalidInput(f"{name}: expected {what}")
    return text


def _time(given: dict[str, str], name: str) -> str | None:
    """The time as the log writes ``at`` (``2026-12-01T00:00:00.000Z``)."""
    text = given.get(name)
    if text is None:
        return None
    if _MS.fullmatch(text):
        return iso_time(int(text))
    iso = _ISO.fullmatch(text)
    if iso is None:
        raise InvalidInput(f"{name}: expected an ISO-8601 UTC time (2026-12-01T00:00:00Z) or milliseconds")
    try:
        datetime.strptime(iso[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{name}: not a real time") from None
    return f"{iso[1]}{iso[2] or '.000'}Z"


def next_cursor(page: AuditPage) -> AuditCursor | None:
    """Where the following page starts, as the parameter to send (``{"before_id": 41}``), or None at the end."""
    if page.next is None:
        return None
    if page.next.newest_first:
        assert page.next.before_id is not None
        return AuditCursor(before_id=page.next.before_id)
    return AuditCursor(after_id=page.next.after_id)
