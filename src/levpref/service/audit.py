"""Time formatting for the audit log and ``serverTime`` (the clock itself lives at the edges)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache


def iso_time(now_ms: int) -> str:
    """``2022-06-28T14:48:58.711Z``: UTC, milliseconds, ``Z``."""
    return _second(now_ms // 1000) + f"{now_ms % 1000:03d}Z"


@lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    return datetime.fromtimestamp(epoch_second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def decimal_text(value: Decimal | None) -> str | None:
    """A Decimal as plain text without trailing zeros (``1200.00000000`` → ``1200``), for logs and admin JSON."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
