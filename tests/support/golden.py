"""The golden world and the requests of ``tests/e2e/test_golden.py``, in the order they are sent.

The world keeps clear of rounding ties (every ``available`` share is either exact or far from a half), so that a
change in how margin figures are rounded on a tie does not disturb the recorded answers.
The last section (``lenient-…``) holds requests the strict input rules of SPEC §4 refuse; they come last so that
what they once changed cannot reach any other step.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tests.support.server import ADMIN_TOKEN

Key = tuple[str, str]
BASE = "/derivatives/api/v3"
LEVERAGE = f"{BASE}/leveragepreferences"
PNL = f"{BASE}/pnlpreferences"
ACCOUNTS = f"{BASE}/accounts"
POSITIONS = f"{BASE}/openpositions"
FILLED = "2026-01-01T00:00:00.000Z"


def _key(seed: str) -> Key:
    return (seed * 56)[:56], base64.b64encode((f"golden-{seed}-" * 8).encode()[:64]).decode()


ALICE, ALICE_READ, BOB, DORMANT = _key("GoldAlice"), _key("GoldAliceRead"), _key("GoldBob"), _key("GoldDormant")
_TIERS = [
    {"num_non_contract_units": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"},
    {"num_non_contract_units": "500000", "initial_margin": "0.04", "maintenance_margin": "0.02"},
    {"num_non_contract_units": "2000000", "initial_margin": "0.10", "maintenance_margin": "0.05"},
]
_INVERSE = [{"contracts": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"}]


def _flex(symbol: str, **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "type": "flexible_futures", "contract_size": "1", "margin_levels": _TIERS, **extra}


GOLDEN_WORLD: dict[str, Any] = {
    "instruments": [
        _flex("PF_XBTUSD", tradeable=True),
        _flex("PF_ETHUSD"),
        _flex("PF_HALTUSD", tradeable=False),
        {"symbol": "PI_XBTUSD", "type": "futures_inverse", "margin_levels": _INVERSE},
        {
            "symbol": "FI_XBTUSD_261225",
            "type": "futures_inverse",
            "last_trading_time": "2026-12-25T16:00:00.000Z",
            "margin_levels": _INVERSE,
        },
    ],
    "collateral_currencies": {"USD": {"price": "1", "haircut": "0"}, "BTC": {"price": "60000", "haircut": "0.02"}},
    "marks": {"PF_XBTUSD": "60000", "PF_ETHUSD": "3000"},
    "accounts": [
        {
            "id": "alice",
            "active": True,
            "collateral": {"USD": "10000"},
            "keys": [
                {"public": ALICE[0], "secret": ALICE[1], "access": "full", "rate_budget": 100000},
                {"public": ALICE_READ[0], "secret": ALICE_READ[1], "access": "read", "rate_budget": 100000},
            ],
            "positions": [{"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000", "fill_time": FILLED}],
        },
        {
            "id": "bob",
            "active": True,
            "collateral": {"USD": "15000", "BTC": "0.5"},
            "keys": [{"public": BOB[0], "secret": BOB[1], "access": "full", "rate_budget": 500}],
            "positions": [{"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000", "fill_time": FILLED}],
            "preferences": [{"symbol": "PF_XBTUSD", "max_leverage": "10"}],
        },
        {
            "id": "dormant",
            "active": False,
            "collateral": {"USD": "1000"},
            "keys": [{"public": DORMANT[0], "secret": DORMANT[1], "access": "full"}],
        },
    ],
}

_TOML_WORLD = f"""
[[instruments]]
symbol = "PF_XBTUSD"
type = "flexible_futures"
margin_levels = [ {{ num_non_contract_units = "0", initial_margin = "0.02", maintenance_margin = "0.01" }} ]
[collateral_currencies]
USD = {{ price = "1", haircut = "0" }}
[marks]
PF_XBTUSD = 60000.5
[[accounts]]
id = "tom"
collateral = {{ USD = 2500.25 }}
keys = [ {{ public = "{ALICE[0]}", secret = "{ALICE[1]}", access = "read" }} ]
positions = [ {{ symbol = "PF_XBTUSD", size = "-0.5", entry_price = "61000", fill_time = "{FILLED}" }} ]
"""


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    key: Key | None = None  # signs a Kraken request
    token: str | None = None  # the admin bearer token
    generates_key: bool = False  # the answer issues a key: mask its public part and secret from here on

    def describe(self) -> str:
        target = self.path + (f"?{self.query}" if self.query else "")
        return f"{self.method} {target} {self.body.decode()[:120]}".strip()


def kraken(name: str, method: str, path: str, query: str = "", key: Key | None = ALICE, **kw: Any) -> Step:
    return Step(name, method, path, query, key=key, **kw)


def admin(name: str, method: str, path: str, body: Any = None, **kw: Any) -> Step:
    """An admin call; ``body`` is JSON-encoded unless it is already bytes."""
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    kw.setdefault("token", ADMIN_TOKEN)
    return Step(name, method, f"/admin/v1{path}", body=raw, **kw)


_KRAKEN_STEPS = [
    kraken("instruments", "GET", f"{BASE}/instruments", key=None),
    kraken("alice-accounts", "GET", ACCOUNTS),
    kraken("alice-positions", "GET", POSITIONS),
    kraken("alice-leverage-empty", "GET", LEVERAGE),
    kraken("alice-pnl-empty", "GET", PNL),
    kraken("bob-accounts-isolated", "GET", ACCOUNTS, key=BOB),
    kraken("bob-positions-isolated", "GET", POSITIONS, key=BOB),
    kraken("bob-leverage", "GET", LEVERAGE, key=BOB),
    kraken("put-A1-isolated-10", "PUT", LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=10"),
    kraken("alice-leverage-after-A1", "GET", LEVERAGE),
    kraken("alice-accounts-after-A1", "GET", ACCOUNTS),
    kraken("put-A2-92", "PUT", LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=2"),
    kraken("put-A3-over-cap", "PUT", LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=51"),
    kraken("put-eth-33.33", "PUT", LEVERAGE, "symbol=PF_ETHUSD&maxLeverage=33.33"),
    kraken(
        "put-eth-5-form-body",
        "PUT",
        LEVERAGE,
        body=b"symbol=PF_ETHUSD&maxLeverage=5",
        content_type="application/x-www-form-urlencoded",
    ),
    kraken("put-87", "PUT", LEVERAGE, "symbol=PF_NOPEUSD&maxLeverage=5"),
    kraken("put-88", "PUT", LEVERAGE, "symbol=PI_XBTUSD&maxLeverage=5"),
    kraken("put-unavailable", "PUT", LEVERAGE, "symbol=PF_HALTUSD"),
    kraken("put-missing", "PUT", LEVERAGE),
    kraken("put-NaN", "PUT", LEVERAGE, "symbol=PF_ETHUSD&maxLeverage=NaN"),
    kraken("put-both-query-and-body", "PUT", LEVERAGE, "symbol=PF_ETHUSD", body=b"maxLeverage=5"),
    kraken("pnl-btc", "PUT", PNL, "symbol=PF_XBTUSD&pnlPreference=BTC"),
    kraken("pnl-89", "PUT", PNL, "symbol=PF_XBTUSD&pnlPreference=ZZZ9"),
    kraken("pnl-90", "PUT", PNL, "symbol=PF_XBTUSD&pnlPreference=DOGE"),
    kraken("alice-pnl", "GET", PNL),
    kraken("alice-positions-isolated", "GET", POSITIONS),
    kraken("put-A4-back-to-cross", "PUT", LEVERAGE, "symbol=PF_XBTUSD"),
    kraken("alice-leverage-filtered", "GET", LEVERAGE, "symbol=PF_ETHUSD"),
    kraken("read-key-put", "PUT", LEVERAGE, "symbol=PF_ETHUSD&maxLeverage=5", key=ALICE_READ),
    kraken("read-key-get", "GET", LEVERAGE, key=ALICE_READ),
    kraken("dormant-accounts", "GET", ACCOUNTS, key=DORMANT),
    kraken("unsigned-accounts", "GET", ACCOUNTS, key=None),
    kraken("kraken-404", "GET", f"{BASE}/nope", key=None),
    kraken("kraken-405", "POST", LEVERAGE, key=None),
    kraken("health", "GET", "/health", key=None),
]

_STRICTER_ETH = {
    "symbol": "PF_ETHUSD",
    "type": "flexible_futures",
    "contract_size": "1",
    "margin_levels": [{"num_non_contract_units": "0", "initial_margin": "0.1", "maintenance_margin": "0.05"}],
}

_ADMIN_STEPS = [
    admin("export", "GET", "/scenario"),
    admin("account-alice", "GET", "/accounts/alice"),
    admin("account-unknown", "GET", "/accounts/nobody"),
    admin("mark", "PUT", "/marks/PF_XBTUSD", {"price": "58500"}),
    kraken("alice-accounts-after-mark", "GET", ACCOUNTS),
    admin("mark-unknown-symbol", "PUT", "/marks/PF_NOPE", {"price": "5"}),
    admin("mark-negative", "PUT", "/marks/PF_XBTUSD", {"price": "-5"}),
    admin("mark-not-json", "PUT", "/marks/PF_XBTUSD", b"{not json"),
    admin("mark-not-a-number", "PUT", "/marks/PF_XBTUSD", {"price": "lots"}),
    admin("currency-usdt", "PUT", "/currencies/USDT", {"price": "1", "haircut": "0.01"}),
    admin("currency-haircut-over-1", "PUT", "/currencies/USDT", {"price": "1", "haircut": "1.5"}),
    admin("account-create", "PUT", "/accounts/carol", {"active": True}),
    admin("account-update-empty-body", "PUT", "/accounts/carol", {}),
    admin("account-active-string", "PUT", "/accounts/carol", {"active": "false"}),
    admin("account-deactivate", "PUT", "/accounts/carol", {"active": False}),
    admin("collateral", "PUT", "/accounts/carol/collateral/USD", {"quantity": "25000"}),
    admin("collateral-unknown-currency", "PUT", "/accounts/carol/collateral/XYZ", {"quantity": "1"}),
    admin("collateral-unknown-account", "PUT", "/accounts/zed/collateral/USD", {"quantity": "1"}),
    admin("collateral-not-a-number", "PUT", "/accounts/carol/collateral/USD", {"quantity": "lots"}),
    admin("position-set", "PUT", "/accounts/carol/positions/PF_XBTUSD", {"size": "-1.5", "entry_price": "60000"}),
    admin("position-isolated", "PUT", "/accounts/alice/positions/PF_ETHUSD", {"size": "2", "entry_price": "3000"}),
    admin("position-not-multi", "PUT", "/accounts/alice/positions/PI_XBTUSD", {"size": "1", "entry_price": "5"}),
    admin("position-size-zero", "PUT", "/accounts/alice/positions/PF_XBTUSD", {"size": "0", "entry_price": "5"}),
    admin("account-carol", "GET", "/accounts/carol"),
    admin("position-delete", "DELETE", "/accounts/carol/positions/PF_XBTUSD"),
    admin("position-delete-again", "DELETE", "/accounts/carol/positions/PF_XBTUSD"),
    admin("key-create", "POST", "/accounts/carol/keys", {"access": "read", "rate_budget": 50}, generates_key=True),
    admin("key-create-bad-access", "POST", "/accounts/carol/keys", {"access": "admin"}),
    admin("key-revoke-generated", "DELETE", "/keys/<generated-public>"),
    admin("key-revoke-bob", "DELETE", f"/keys/{BOB[0]}"),
    kraken("bob-after-revoke", "GET", ACCOUNTS, key=BOB),
    admin("key-revoke-unknown", "DELETE", "/keys/NoSuchKey"),
    admin("instruments-load", "PUT", "/instruments", {"instruments": [_STRICTER_ETH]}),
    admin("instruments-not-a-list", "PUT", "/instruments", {"instruments": 5}),
    kraken("put-over-new-cap", "PUT", LEVERAGE, "symbol=PF_ETHUSD&maxLeverage=15"),
    admin("audit-alice", "GET", "/accounts/alice/audit"),
    admin("audit-all", "GET", "/audit"),
    admin("audit-page-of-3", "GET", "/audit", query="limit=3"),
    admin("audit-next-page", "GET", "/audit", query="limit=3&before_id=16"),
    admin("audit-oldest-first", "GET", "/audit", query="order=oldest&limit=2&after_id=1"),
    admin("audit-symbol-action", "GET", "/audit", query="symbol=PF_XBTUSD&action=set_leverage_preference"),
    admin("audit-since-far-future", "GET", "/audit", query="since=2999-01-01T00:00:00Z"),
    admin("audit-bad-limit", "GET", "/audit", query="limit=1001"),
    admin("audit-unknown-parameter", "GET", "/accounts/alice/audit", query="limt=5"),
    admin("export-with-secrets", "GET", "/scenario", query="secrets=true"),
    admin("export-secrets-bad", "GET", "/scenario", query="secrets=yes"),
    admin("export-after-changes", "GET", "/scenario"),
    admin("no-token", "GET", "/scenario", token=None),
    admin("wrong-token", "GET", "/scenario", token="wrong"),
    admin("admin-404", "GET", "/nope"),
    admin("admin-405", "DELETE", "/scenario"),
    admin("scenario-a-list", "PUT", "/scenario", [1, 2]),
    admin("scenario-typo", "PUT", "/scenario", {"acounts": []}),
    admin("scenario-account-typo", "PUT", "/scenario", {"accounts": [{"id": "x", "colateral": {}}]}),
    admin("scenario-unknown-currency", "PUT", "/scenario", {"accounts": [{"id": "x", "collateral": {"XYZ": "1"}}]}),
    admin("scenario-not-json", "PUT", "/scenario", b"{"),
    admin("scenario-load", "PUT", "/scenario", GOLDEN_WORLD),
    admin("export-after-load", "GET", "/scenario"),
    admin("scenario-toml", "PUT", "/scenario", _TOML_WORLD.encode(), content_type="application/toml"),
    admin("export-after-toml", "GET", "/scenario"),
    admin("scenario-reload", "PUT", "/scenario", GOLDEN_WORLD),
]

_LENIENT_STEPS = [
    admin("lenient-collateral-exponent", "PUT", "/accounts/alice/collateral/USD", {"quantity": "1e3"}),
    admin("lenient-mark-spaces", "PUT", "/marks/PF_XBTUSD", {"price": " 58500 "}),
    admin("lenient-mark-underscore", "PUT", "/marks/PF_ETHUSD", {"price": "3_000"}),
    admin("lenient-usd-price-2", "PUT", "/currencies/USD", {"price": "2"}),
    admin(
        "lenient-position-extra-key",
        "PUT",
        "/accounts/bob/positions/PF_XBTUSD",
        {"size": "2", "entry_price": "60000", "sise": "3"},
    ),
    admin("export-lenient", "GET", "/scenario"),
    admin("lenient-scenario-active-string", "PUT", "/scenario", {"accounts": [{"id": "x", "active": "false"}]}),
    admin("export-active-string", "GET", "/scenario"),
    admin("lenient-scenario-empty-object", "PUT", "/scenario", {}),
    admin("export-final", "GET", "/scenario"),
]

STEPS: list[Step] = [*_KRAKEN_STEPS, *_ADMIN_STEPS, *_LENIENT_STEPS]
assert len({step.name for step in STEPS}) == len(STEPS), "step names must be unique"
