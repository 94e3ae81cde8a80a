"""Assembling an account's margin inputs from the store (shared by the Kraken and admin use cases)."""

from __future__ import annotations

from decimal import Decimal

from levpref.errors import InvalidInput
from levpref.service.ports import Tx
from levpref.service.records import AccountState


async def load_account(tx: Tx, account_id: str) -> AccountState:
    """Every position and preference of the account, in one statement whatever its size."""
    return await tx.account_state(account_id, complete=True)


async def require_multi_collateral(tx: Tx, symbol: str) -> tuple[Decimal, str]:
    """The contract size and type of a multi-collateral contract, or a scenario error."""
    inst = await tx.instrument(symbol)
    if inst is None or not inst.instrument.is_multi_collateral:
        raise InvalidInput(f"{symbol} is not a listed multi-collateral (flexible_futures) contract")
    return inst.instrument.contract_size, inst.instrument.type
