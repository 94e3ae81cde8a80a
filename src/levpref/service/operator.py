"""What an operator inspects (SPEC §6.2): the accounts, one account's pools with liquidation prices, and the
preview of a leverage change for any account. Read-only: nothing here writes or audits.

Rules:
- Pools come from the same functions as ``/accounts`` and the margin decision, so the console shows what a client
  sees; each position's liquidation price is ``domain.liquidation.liquidation_price`` at the current marks.
- The admin preview is the Kraken preview (``service.preview.preview_change``) for the named account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from levpref.auth.params import Params
from levpref.domain.liquidation import liquidation_price
from levpref.domain.margin import CrossPool, Position
from levpref.domain.preferences import CROSS, MarginMode
from levpref.errors import AdminNotFound
from levpref.service.accounts import load_account
from levpref.service.ports import Store, Tx
from levpref.service.preview import Preview, preview_change
from levpref.service.records import ApiKeyRecord, PreferenceRecord

MAX_ACCOUNTS_PAGE = 1000


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class PositionView:
    position: Position
    mode: MarginMode  # the position's pool: isolated when it holds allocated margin
    liquidation_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountPools:
    account_id: str
    active: bool
    cross: CrossPool
    positions: tuple[PositionView, ...]  # isolated ones are the isolated pools
    preferences: tuple[PreferenceRecord, ...]
    keys: tuple[ApiKeyRecord, ...]


async def _existing(tx: Tx, account_id: str) -> bool:
    active = await tx.lock_account(account_id) if "\x00" not in account_id else None
    if active is None:
        raise AdminNotFound(f"no account {account_id}")
    return active


class OperatorViews:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def accounts(self, after: str = "", limit: int = MAX_ACCOUNTS_PAGE) -> list[AccountSummary]:
        """Accounts in id order, after ``after``, at most ``limit`` (≤ 1000)."""
        async with self._store.transaction() as tx:
            return [AccountSummary(a, active) for a, active in await tx.accounts_page(after, min(limit, 1000))]

    async def pools(self, account_id: str) -> AccountPools:
        async with self._store.transaction() as tx:
            active = await _existing(tx, account_id)
            view = await load_account(tx, account_id)
            keys = await tx.keys_of(account_id)
        margin = view.margin
        positions = tuple(
            PositionView(
                p,
                view.preferences[p.symbol].mode if p.allocated_margin is not None else CROSS,
                liquidation_price(margin, p.symbol),
            )
            for p in sorted(margin.positions, key=lambda p: p.symbol)
        )
        return AccountPools(
            account_id,
            active,
            margin.cross_pool(),
            positions,
            tuple(sorted(view.preferences.values(), key=lambda p: p.symbol)),
            tuple(keys),
        )

    async def preview(self, account_id: str, params: Params) -> Preview:
        async with self._store.transaction() as tx:
            await _existing(tx, account_id)
            return await preview_change(tx, account_id, params)
