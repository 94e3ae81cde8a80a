"""Failed-authentication buckets (SPEC §2.3, §4): slow down guessing, shared by the Kraken and admin APIs.

Rules:
- A bucket per name (``ip:<address>``, ``ipkey:<address> <key>``, ``admin:<address>``) holds ``limit`` failures and
  refills ``limit`` per minute; a client whose bucket is empty is refused before any verification.
- A failure is charged under the bucket rows' locks (other processes may be charging them at the same moment), in
  the order given, which callers keep sorted like a scenario load locks them (no deadlock).
- A bucket idle for a whole period is full, the same as absent: it is deleted as failures arrive, so rotating
  addresses cannot grow the table without bound.
"""

from __future__ import annotations

from collections.abc import Mapping

from levpref.ratelimit import FAILED_AUTH_PERIOD_MS, Bucket, has_room, take
from levpref.service.ports import Tx


async def locked_out(tx: Tx, buckets: list[str], limit: int, now_ms: int) -> bool:
    """Whether any of ``buckets`` has no room for one more failure (read without locks: one query)."""
    return not has_room_for_failure(await tx.failure_buckets(buckets), limit, now_ms)


def has_room_for_failure(levels: Mapping[str, Bucket], limit: int, now_ms: int) -> bool:
    """Whether every stored bucket of ``levels`` has room for one more failure (a bucket not stored is full)."""
    return all(has_room(level, 1, limit, FAILED_AUTH_PERIOD_MS, now_ms) for level in levels.values())


async def charge_failure(tx: Tx, buckets: list[str], limit: int, now_ms: int) -> bool:
    """Charge one failure to every bucket; ``False`` (and nothing charged) when one of them is already empty."""
    locked = await tx.lock_ip_buckets(buckets, Bucket.full(limit, now_ms))
    charges = [take(locked[name], 1, limit, FAILED_AUTH_PERIOD_MS, now_ms) for name in buckets]
    if not all(fits for fits, _ in charges):
        return False
    for name, (_, charged) in zip(buckets, charges, strict=True):
        await tx.save_ip_bucket(name, charged)
    await tx.expire_ip_buckets(now_ms - FAILED_AUTH_PERIOD_MS)
    return True
