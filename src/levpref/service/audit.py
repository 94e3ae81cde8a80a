"""Time formatting for the audit log and ``serverTime`` (the clock itself lives at the edges)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_time(now_ms: int) -> str:
    """``2022-06-28T14:48:58.711Z``: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now_ms % 1000:03d}Z"
