"""Time formatting for the audit log and ``serverTime`` (the clock itself lives at the edges)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def iso_time(now_ms: int) -> str:
    """``2022-06-28T14:48:58.711Z``: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}Z"


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as plain text without trailing zeros (``1200.00000000`` → ``1200``), for logs and admin JSON."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
