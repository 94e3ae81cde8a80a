"""Assembling an account's margin inputs from the store (shared by the Kraken and admin use cases)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from levpref.domain.margin import CollateralBalance, MarginAccount, Position
from levpref.errors import ScenarioError
from levpref.service.ports import Tx
from levpref.service.records import PreferenceRecord


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's margin inputs and its preferences."""

    margin: MarginAccount
    preferences: dict[str, PreferenceRecord]


async def load_account(tx: Tx, account_id: str) -> AccountView:
    """Three queries whatever the account's size: collateral, positions at market, preferences."""
    collateral = [
        CollateralBalance(c, q, price, haircut) for c, q, price, haircut in await tx.collateral_of(account_id)
    ]
    positions = []
    for record, inst, mark in await tx.positions_at_market(account_id):
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
    prefs = {p.symbol: p for p in await tx.preferences(account_id)}
    return AccountView(MarginAccount.of(collateral, positions), prefs)


async def require_multi_collateral(tx: Tx, symbol: str) -> tuple[Decimal, str]:
    """The contract size and type of a multi-collateral contract, or a scenario error."""
    inst = await tx.instrument(symbol)
    if inst is None or not inst.instrument.is_multi_collateral:
        raise ScenarioError(f"{symbol} is not a listed multi-collateral (flexible_futures) contract")
    return inst.instrument.contract_size, inst.instrument.type
