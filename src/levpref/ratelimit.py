"""Cost-based token buckets (SPEC §2.3), as pure functions of ``(state, cost, now)``.

Rules:
- A bucket holds up to ``capacity`` units and refills continuously, ``capacity`` units per ``period_ms``.
- A request that fits is charged its cost; one that does not fit is refused and not charged.
- Amounts are kept in micro-units (integers), so no float ever touches the arithmetic.
- API keys: capacity = the key's budget (500 by default), period 10 s. Failed authentications per client IP:
  capacity 20, period 60 s.
"""

from __future__ import annotations

from dataclasses import dataclass

MICRO = 1_000_000
KEY_PERIOD_MS = 10_000
FAILED_AUTH_PERIOD_MS = 60_000


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket's level (micro-units) at ``updated_ms``; a fresh bucket is full."""

    level: int
    updated_ms: int

    @classmethod
    def full(cls, capacity: int, now_ms: int) -> Bucket:
        return cls(capacity * MICRO, now_ms)


def refill(bucket: Bucket, capacity: int, period_ms: int, now_ms: int) -> Bucket:
    """The bucket at ``now_ms``: refilled in proportion to elapsed time, never above capacity."""
    elapsed = max(0, now_ms - bucket.updated_ms)
    level = min(capacity * MICRO, bucket.level + elapsed * capacity * MICRO // period_ms)
    return Bucket(level, max(now_ms, bucket.updated_ms))


def take(bucket: Bucket, cost: int, capacity: int, period_ms: int, now_ms: int) -> tuple[bool, Bucket]:
    """Charge ``cost`` if it fits: ``(True, charged)``; else ``(False, refilled but uncharged)``."""
    current = refill(bucket, capacity, period_ms, now_ms)
    if current.level < cost * MICRO:
        return False, current
    return True, Bucket(current.level - cost * MICRO, current.updated_ms)


def has_room(bucket: Bucket, cost: int, capacity: int, period_ms: int, now_ms: int) -> bool:
    """Whether ``cost`` would fit now, without charging it."""
    return refill(bucket, capacity, period_ms, now_ms).level >= cost * MICRO
