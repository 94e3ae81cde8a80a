"""The store's kept sums of large accounts, so a decision on one contract reads one position (issue 13).

Rules:
- Every account row has a ``state_version`` that every write of its positions replaces with a fresh random token,
  and ``meta.world_revision`` is replaced on every write of marks, instruments or the whole world: together they
  name the exact state the positions' margins come from. A token is never reused, so a token written by a
  transaction that then failed is never seen again.
- ``AccountSums`` keeps, per store and process, the exact ``PositionSums`` of every position of an account at one
  version. ``Tx.account_state`` sends the version it holds; the statement returns every position only when that
  version is stale, else only the contract asked for, and the sums of the others are the kept sums minus that one
  (exact: Decimal arithmetic at 200 digits).
- Only accounts with at least ``MIN_POSITIONS`` positions are kept (below it, reading them all costs less than the
  bookkeeping); at most ``capacity`` accounts, the least recently used leaving first.
- A change of one position's allocation (the accepted PUT) keeps the sums of the new version at once: before minus
  the position as it was, plus the position as it is now.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from levpref.domain.margin import PositionSums

MIN_POSITIONS = 16
Version = tuple[int, str]  # (accounts.state_version, meta.world_revision)
UNKNOWN: Version = (-1, "")  # matches no stored version: the statement returns every position


def new_token() -> int:
    """A fresh state version: random, 62 bits, so no two writes ever leave the same one (and never ``-1``)."""
    return secrets.randbits(62)


@dataclass(frozen=True, slots=True)
class Kept:
    version: Version
    total: PositionSums  # over every position of the account at ``version``


class AccountSums:
    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[str, Kept] = OrderedDict()

    def get(self, account_id: str) -> Kept | None:
        kept = self._kept.get(account_id)
        if kept is not None:
            self._kept.move_to_end(account_id)
        return kept

    def keep(self, account_id: str, version: Version, total: PositionSums) -> None:
        self._kept[account_id] = Kept(version, total)
        self._kept.move_to_end(account_id)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)

    def forget(self, account_id: str) -> None:
        self._kept.pop(account_id, None)

    def __len__(self) -> int:
        return len(self._kept)
