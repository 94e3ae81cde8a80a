"""Instruments: the contracts an operator lists, and what the preference endpoints need of them.

Rules:
- Symbols are case-sensitive (``pf_xbtusd`` is not ``PF_XBTUSD``, SPEC §1.1).
- Only ``flexible_futures`` contracts are multi-collateral and take preferences (else error 88).
- A multi-collateral contract has a margin schedule in USD notional; other types may have none.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from levpref.domain.schedule import MarginSchedule

MULTI_COLLATERAL_TYPE = "flexible_futures"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A listed contract, as far as margin and preferences are concerned."""

    symbol: str
    type: str
    tradeable: bool
    contract_size: Decimal
    schedule: MarginSchedule | None

    @property
    def is_multi_collateral(self) -> bool:
        return self.type == MULTI_COLLATERAL_TYPE and self.schedule is not None
