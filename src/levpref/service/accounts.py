"""Assembling an account's margin inputs from the store (shared by the Kraken and admin use cases)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from levpref.domain.margin import CollateralBalance, MarginAccount, Position
from levpref.errors import InvalidInput
from levpref.service.ports import Tx
from levpref.service.records import AccountRows, PreferenceRecord


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's margin inputs and its preferences."""

    margin: MarginAccount
    preferences: dict[str, PreferenceRecord]


async def load_account(tx: Tx, account_id: str) -> AccountView:
    """One statement whatever the account's size: collateral, positions at market, preferences."""
    return account_view(await tx.account_state(account_id))


def account_view(rows: AccountRows) -> AccountView:
    """The margin inputs and preferences of the rows ``Tx.account_state`` read."""
    collateral = [CollateralBalance(c, q, price, haircut) for c, q, price, haircut in rows.collateral]
    positions = []
    for record, inst, mark in rows.positions:
        if inst is None or inst.instrument.schedule is None:
            continue  # positions are only admitted in multi-collateral contracts (checked when set)
        positions.append(
            Position(
                record.symbol,
                record.size,
                record.entry_price,
                record.entry_price if mark is None else mark,
                inst.instrument.contract_size,
                inst.instrument.schedule,
                record.allocated_margin,
            )
        )
    prefs = {p.symbol: p for p in rows.preferences}
    return AccountView(MarginAccount.of(collateral, positions), prefs)


async def require_multi_collateral(tx: Tx, symbol: str) -> tuple[Decimal, str]:
    """The contract size and type of a multi-collateral contract, or a scenario error."""
    inst = await tx.instrument(symbol)
    if inst is None or not inst.instrument.is_multi_collateral:
        raise InvalidInput(f"{symbol} is not a listed multi-collateral (flexible_futures) contract")
    return inst.instrument.contract_size, inst.instrument.type
