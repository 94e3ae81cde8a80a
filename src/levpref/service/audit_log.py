"""Reading the audit log a page at a time (SPEC §4 "Audit API").

Rules:
- A page holds at most ``MAX_LIMIT`` entries, newest (highest id) first unless asked otherwise; ``after_id`` and
  ``before_id`` bound the ids (both exclusive); ``symbol``, ``action`` and the time range ``since <= at < until``
  (ISO-8601 UTC with milliseconds, as the log writes ``at``) filter it.
- A full page says where the next one starts: the same query with ``before_id`` (newest first) or ``after_id``
  (oldest first) set to the last id of the page; the last page says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from levpref.service.ports import Store
from levpref.service.records import AuditRecord

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AuditQuery:
    account_id: str | None = None  # None: the whole log (``*`` entries are the world's)
    after_id: int = 0
    before_id: int | None = None
    limit: int = DEFAULT_LIMIT
    newest_first: bool = True
    symbol: str | None = None
    action: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditRecord]
    next: AuditQuery | None  # the query of the following page, if there is one


async def read_audit(store: Store, query: AuditQuery) -> AuditPage:
    """One page of the log; one entry more than asked for is read to know whether another page follows."""
    async with store.transaction() as tx:
        rows = await tx.audit_page(
            query.account_id,
            after_id=query.after_id,
            before_id=query.before_id,
            limit=query.limit + 1,
            newest_first=query.newest_first,
            symbol=query.symbol,
            action=query.action,
            since=query.since,
            until=query.until,
        )
    entries = rows[: query.limit]
    if len(rows) <= query.limit or not entries:
        return AuditPage(entries, None)
    last = entries[-1].id
    following = replace(query, before_id=last) if query.newest_first else replace(query, after_id=last)
    return AuditPage(entries, following)
