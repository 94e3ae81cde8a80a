"""The test world: a scenario with fixed keys, so every test starts from exactly the same state."""

from __future__ import annotations

import base64
from typing import Any

XBT_TIERS = [
    {"num_non_contract_units": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"},
    {"num_non_contract_units": "500000", "initial_margin": "0.04", "maintenance_margin": "0.02"},
    {"num_non_contract_units": "2000000", "initial_margin": "0.10", "maintenance_margin": "0.05"},
    {"num_non_contract_units": "5000000", "initial_margin": "0.20", "maintenance_margin": "0.10"},
    {"num_non_contract_units": "10000000", "initial_margin": "0.30", "maintenance_margin": "0.15"},
    {"num_non_contract_units": "30000000", "initial_margin": "0.50", "maintenance_margin": "0.25"},
]
ETH_TIERS = XBT_TIERS[:3]


def _key(seed: str) -> tuple[str, str]:
    public = (seed * 56)[:56]
    secret = base64.b64encode((f"secret-of-{seed}-" * 8).encode()[:64]).decode()
    return public, secret


ALICE_FULL = _key("AliceFull")
ALICE_READ = _key("AliceRead")
BOB_FULL = _key("BobFull")
DORMANT_FULL = _key("Dormant")
SPEC_SECRET = "c3VwZXItc2VjcmV0LWtleS1mb3ItcHJvYmluZy0wMTIzNDU2Nzg5"
PROBE = ("probe-api-key", SPEC_SECRET)


def instruments() -> list[dict[str, Any]]:
    return [
        {
            "symbol": "PF_XBTUSD",
            "type": "flexible_futures",
            "contract_size": "1",
            "tradeable": True,
            "margin_levels": XBT_TIERS,
        },
        {
            "symbol": "PF_ETHUSD",
            "type": "flexible_futures",
            "contract_size": "1",
            "tradeable": True,
            "margin_levels": ETH_TIERS,
        },
        {
            "symbol": "PF_HALTUSD",
            "type": "flexible_futures",
            "contract_size": "1",
            "tradeable": False,
            "margin_levels": ETH_TIERS,
        },
        {
            "symbol": "PI_XBTUSD",
            "type": "futures_inverse",
            "contract_size": "1",
            "tradeable": True,
            "margin_levels": [{"contracts": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"}],
        },
        {
            "symbol": "FI_XBTUSD_261225",
            "type": "futures_inverse",
            "contract_size": "1",
            "tradeable": True,
            "last_trading_time": "2026-12-25T16:00:00.000Z",
            "margin_levels": [{"contracts": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"}],
        },
    ]


def scenario(
    *,
    alice_usd: str = "10000",
    alice_positions: list[dict[str, Any]] | None = None,
    alice_preferences: list[dict[str, Any]] | None = None,
    marks: dict[str, str] | None = None,
    rate_budget: int = 100000,
    reset_nonces: bool = True,
) -> dict[str, Any]:
    """The default world: alice holds 10 000 USD and long 1 PF_XBTUSD @ 60 000 (mark 60 000), cross (SPEC A1).

    Loading it empties every nonce window (a test starts from a clean lab) unless ``reset_nonces`` is false."""
    return {
        "reset_nonces": reset_nonces,
        "instruments": instruments(),
        "collateral_currencies": {
            "USD": {"price": "1", "haircut": "0"},
            "BTC": {"price": "60000", "haircut": "0.02"},
        },
        "marks": marks or {"PF_XBTUSD": "60000", "PF_ETHUSD": "3000"},
        "accounts": [
            {
                "id": "alice",
                "active": True,
                "collateral": {"USD": alice_usd},
                "keys": [
                    {
                        "public": ALICE_FULL[0],
                        "secret": ALICE_FULL[1],
                        "access": "full",
                        "rate_budget": rate_budget,
                    },
                    {
                        "public": ALICE_READ[0],
                        "secret": ALICE_READ[1],
                        "access": "read",
                        "rate_budget": rate_budget,
                    },
                    {"public": PROBE[0], "secret": PROBE[1], "access": "full", "rate_budget": rate_budget},
                ],
                "positions": alice_positions
                if alice_positions is not None
                else [{"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000"}],
                "preferences": alice_preferences or [],
            },
            {
                "id": "bob",
                "active": True,
                "collateral": {"USD": "1000"},
                "keys": [{"public": BOB_FULL[0], "secret": BOB_FULL[1], "access": "full", "rate_budget": 500}],
            },
            {
                "id": "dormant",
                "active": False,
                "collateral": {"USD": "1000"},
                "keys": [{"public": DORMANT_FULL[0], "secret": DORMANT_FULL[1], "access": "full"}],
            },
        ],
    }


ALL_KEYS = (ALICE_FULL, ALICE_READ, BOB_FULL, DORMANT_FULL, PROBE)
