"""What-if preview of a leverage change (SPEC §6.1): the PUT's validation and decision, and nothing written.

Rules:
- The preview runs ``plan_leverage_change`` exactly as ``PUT /leveragepreferences`` does, on the same state, and
  writes nothing (no preference, no allocation, no audit entry). Authentication, the nonce and the rate budget
  (cost 2) are the endpoint's like any private request's.
- Its answer is a value: the outcome (``accepted``, ``unchanged``, ``refused``), the error the PUT would answer,
  the rule that decided and the pool that failed it, both pools before and after, the allocated margin and the
  margin moved, and the position's liquidation price before and after.
- A refusal before the margin decision (``requiredArgumentMissing``, 87, 88, ``marketUnavailable``,
  ``invalidArgument``) is an outcome of the preview too, with its rule, and without pools when the account was not
  read yet.
- An isolated pool's initial margin is its position's schedule margin ``IM(N)``, and its available margin
  ``A + U − IM(N)``, as the cross pool's is ``E_x − IM_x``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from levpref.auth.params import Params
from levpref.domain.liquidation import liquidation_price
from levpref.domain.margin import CrossPool, IsolatedPool, MarginAccount, MarginDecision, Rule
from levpref.domain.preferences import MarginMode
from levpref.errors import (
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    LeverageAboveCap,
    LevprefError,
    MarketUnavailable,
    RequiredArgumentMissing,
)
from levpref.service.ports import Tx
from levpref.service.preferences import LeverageChange, plan_leverage_change, refusal_of
from levpref.service.records import ApiKeyRecord

if TYPE_CHECKING:  # kraken.py imports this module at run time; the request type is needed for checking only
    from levpref.service.kraken import KrakenRequest

# The rules that refuse a change before the margin decision, by the error they raise (most specific first).
_VALIDATION_RULES: tuple[tuple[type[LevprefError], str], ...] = (
    (RequiredArgumentMissing, "symbolRequired"),
    (ContractDoesNotExist, "contractExists"),
    (ContractNotMultiCollateral, "multiCollateral"),
    (MarketUnavailable, "marketTradeable"),
    (LeverageAboveCap, "leverageCap"),
)


@dataclass(frozen=True, slots=True)
class PoolFigures:
    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    available: Decimal
    allocated_margin: Decimal | None  # isolated pools only


@dataclass(frozen=True, slots=True)
class Pools:
    """The cross pool and the contract's isolated pool (``None`` when the contract is cross)."""

    cross: PoolFigures
    isolated: PoolFigures | None


@dataclass(frozen=True, slots=True)
class Preview:
    symbol: str | None
    outcome: str  # "accepted", "unchanged" or "refused"
    error: LevprefError | None  # what the PUT would answer
    rule: str
    failed_pool: str | None
    mode_before: MarginMode | None  # None: refused before the account was read
    mode_after: MarginMode | None
    before: Pools | None
    after: Pools | None
    allocated_before: Decimal | None
    allocated_after: Decimal | None
    margin_moved: Decimal | None
    liquidation_before: Decimal | None
    liquidation_after: Decimal | None


def _cross(pool: CrossPool) -> PoolFigures:
    return PoolFigures(pool.equity, pool.initial_margin, pool.maintenance_margin, pool.available, None)


def _isolated(pool: IsolatedPool | None, initial_margin: Decimal) -> PoolFigures | None:
    if pool is None:
        return None
    available = pool.equity - initial_margin
    return PoolFigures(pool.equity, initial_margin, pool.maintenance_margin, available, pool.allocated_margin)


def _isolated_of(account: MarginAccount, symbol: str) -> PoolFigures | None:
    position = account.position(symbol)
    if position is None or position.allocated_margin is None:
        return None
    pool = IsolatedPool(symbol, position.allocated_margin, position.unrealized_pnl, position.maintenance_margin)
    return _isolated(pool, position.initial_margin)


def _pools(account: MarginAccount, symbol: str) -> Pools:
    return Pools(_cross(account.cross_pool()), _isolated_of(account, symbol))


def _rule_of(refusal: LevprefError) -> str:
    return next((rule for kind, rule in _VALIDATION_RULES if isinstance(refusal, kind)), "leverageFormat")


async def preview_leverage(tx: Tx, key: ApiKeyRecord, request: KrakenRequest) -> Preview:
    """The outcome ``PUT /leveragepreferences`` would have with these parameters now, and the numbers behind it."""
    assert request.params is not None  # KrakenService.handle refuses unreadable parameters first
    return await preview_change(tx, key.account_id, request.params)


async def preview_change(tx: Tx, account_id: str, params: Params) -> Preview:
    """The preview of a leverage change of ``account_id`` (the Kraken endpoint's, and the admin API's for any
    account)."""
    try:
        change = await plan_leverage_change(tx, account_id, params, lock=False)
    except LevprefError as refusal:
        symbols = params.get("symbol", [])
        symbol = symbols[0] if len(symbols) == 1 else None
        return Preview(
            symbol, "refused", refusal, _rule_of(refusal), None, None, None, None, None, None, None, None, None, None
        )
    return _preview_of(change)


def _preview_of(change: LeverageChange) -> Preview:
    symbol, account = change.symbol, change.view.margin
    position = account.position(symbol)
    before = _pools(account, symbol)
    liquidation_before = liquidation_price(account, symbol)
    decision = change.decision
    if decision is None:
        allocated = None if position is None else position.allocated_margin
        return Preview(
            symbol, "unchanged", None, "unchanged", None, change.current.mode, change.mode,
            before, before, allocated, allocated, None, liquidation_before, liquidation_before,
        )  # fmt: skip
    refusal = refusal_of(decision)
    return Preview(
        symbol,
        "accepted" if refusal is None else "refused",
        refusal,
        decision.rule.value,
        decision.failed_pool,
        change.current.mode,
        change.mode,
        before,
        _pools_after(decision, symbol),
        decision.allocated_before,
        decision.allocated_after,
        None if decision.rule is Rule.NO_POSITION else decision.margin_moved,
        liquidation_before,
        liquidation_price(decision.after, symbol),
    )


def _pools_after(decision: MarginDecision, symbol: str) -> Pools:
    position = decision.after.position(symbol)
    initial = position.initial_margin if position is not None else Decimal(0)
    return Pools(_cross(decision.cross_after), _isolated(decision.isolated_after, initial))
