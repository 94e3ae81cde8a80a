"""SPEC §4 "Strict input" against a live server: each bad body is a 400 naming its field, and changes nothing.

Each case is sent to the admin API; the answer must be exactly ``{"error":"invalid","detail":"<path>: …"}`` and
the exported world must read the same before and after. The CLI refuses the same input with the same sentence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess


def _with_alice(**fields: Any) -> dict[str, Any]:
    """The test world with alice's account entry changed by ``fields``."""
    scenario = world.scenario()
    scenario["accounts"][0] = {**scenario["accounts"][0], **fields}
    return scenario


def _alice_key(**fields: Any) -> dict[str, Any]:
    key = {"public": "StrictStrictStrictStrictStrictStrictStrictStrictStrict00", "secret": world.SPEC_SECRET}
    return _with_alice(keys=[{**key, **fields}])


def _with(**parts: Any) -> dict[str, Any]:
    return {**world.scenario(), **parts}


def _usd(price: Any) -> dict[str, Any]:
    return _with(collateral_currencies={"USD": {"price": price, "haircut": "0"}})


def _tiers(**level: Any) -> dict[str, Any]:
    scenario = world.scenario()
    first = {**scenario["instruments"][0]["margin_levels"][0], **level}
    scenario["instruments"][0] = {**scenario["instruments"][0], "margin_levels": [first]}
    return scenario


def _position(**fields: Any) -> dict[str, Any]:
    return _with_alice(positions=[{"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000", **fields}])


def _leverage(value: Any) -> dict[str, Any]:
    return _with_alice(preferences=[{"symbol": "PF_XBTUSD", "max_leverage": value}])


SCENARIO = "/admin/v1/scenario"
# (id, path, body (JSON-encoded unless bytes), the field the detail must name)
CASES: list[tuple[str, str, Any, str]] = [
    ("active-string-false", SCENARIO, _with_alice(active="false"), "accounts[0].active"),
    ("active-number", SCENARIO, _with_alice(active=0), "accounts[0].active"),
    ("revoked-no", SCENARIO, _alice_key(revoked="no"), "accounts[0].keys[0].revoked"),
    ("access-admin", SCENARIO, _alice_key(access="admin"), "accounts[0].keys[0].access"),
    ("rate-budget-string", SCENARIO, _alice_key(rate_budget="500"), "accounts[0].keys[0].rate_budget"),
    ("rate-budget-zero", SCENARIO, _alice_key(rate_budget=0), "accounts[0].keys[0].rate_budget"),
    ("public-without-secret", SCENARIO, _with_alice(keys=[{"public": "OnlyPublic"}]), "accounts[0].keys[0]"),
    ("secret-not-base64", SCENARIO, _alice_key(secret="not base64!"), "accounts[0].keys[0].secret"),
    ("secret-bad-padding", SCENARIO, _alice_key(secret="abcde"), "accounts[0].keys[0].secret"),
    ("amount-exponent", SCENARIO, _with_alice(collateral={"USD": "1e3"}), "accounts[0].collateral.USD"),
    ("amount-underscore", SCENARIO, _with_alice(collateral={"USD": "10_000"}), "accounts[0].collateral.USD"),
    ("amount-spaces", SCENARIO, _with_alice(collateral={"USD": " 10000 "}), "accounts[0].collateral.USD"),
    ("amount-plus", SCENARIO, _with_alice(collateral={"USD": "+10000"}), "accounts[0].collateral.USD"),
    ("amount-arabic-digit", SCENARIO, _with_alice(collateral={"USD": "\u0665"}), "accounts[0].collateral.USD"),
    ("amount-nan", SCENARIO, _with_alice(collateral={"USD": "NaN"}), "accounts[0].collateral.USD"),
    ("amount-1e12", SCENARIO, _with_alice(collateral={"USD": "1000000000000"}), "accounts[0].collateral.USD"),
    ("amount-19-decimals", SCENARIO, _with_alice(collateral={"USD": "0." + "1" * 19}), "accounts[0].collateral.USD"),
    ("amount-negative", SCENARIO, _with_alice(collateral={"USD": "-1"}), "accounts[0].collateral.USD"),
    ("amount-boolean", SCENARIO, _with_alice(collateral={"USD": True}), "accounts[0].collateral.USD"),
    ("amount-tiny-exponent-number", SCENARIO, b'{"marks": {"PF_XBTUSD": 1e-100000000}}', "marks.PF_XBTUSD"),
    ("amount-huge-exponent-number", SCENARIO, b'{"marks": {"PF_XBTUSD": 9e999999}}', "marks.PF_XBTUSD"),
    ("mark-zero", SCENARIO, _with(marks={"PF_XBTUSD": "0"}), "marks.PF_XBTUSD"),
    ("usd-price-2", SCENARIO, _usd("2"), "collateral_currencies.USD.price"),
    ("usd-price-exponent", SCENARIO, _usd("1E0"), "collateral_currencies.USD.price"),
    ("haircut-over-1", SCENARIO, _with(collateral_currencies={"USD": {"price": "1", "haircut": "1.01"}}), "haircut"),
    ("margin-rate-zero", SCENARIO, _tiers(initial_margin="0"), "instruments[0].marginLevels[0].initialMargin"),
    ("margin-rate-over-1", SCENARIO, _tiers(maintenance_margin="1.5"), "marginLevels[0].maintenanceMargin"),
    (
        "contract-size-zero",
        SCENARIO,
        _with_alice()
        | {
            "instruments": [
                {"symbol": "PF_X", "type": "flexible_futures", "contract_size": "0", "margin_levels": world.ETH_TIERS}
            ]
        },
        "instruments[0].contractSize",
    ),
    ("size-zero", SCENARIO, _position(size="0"), "accounts[0].positions[0].size"),
    ("entry-price-negative", SCENARIO, _position(entry_price="-1"), "accounts[0].positions[0].entry_price"),
    ("max-leverage-3-decimals", SCENARIO, _leverage("40.001"), "accounts[0].preferences[0].max_leverage"),
    ("max-leverage-exponent", SCENARIO, _leverage("1E+1"), "accounts[0].preferences[0].max_leverage"),
    ("max-leverage-below-1", SCENARIO, _leverage("0.5"), "accounts[0].preferences[0].max_leverage"),
    ("max-leverage-over-cap", SCENARIO, _leverage("51"), "accounts[0].preferences[0].max_leverage"),
    ("id-star", SCENARIO, _with_alice(id="*"), "accounts[0].id"),
    ("id-65-chars", SCENARIO, _with_alice(id="a" * 65), "accounts[0].id"),
    ("id-empty", SCENARIO, _with_alice(id=""), "accounts[0].id"),
    ("id-space", SCENARIO, _with_alice(id="al ice"), "accounts[0].id"),
    ("nul-in-fill-time", SCENARIO, _position(fill_time="2026\u0000"), "accounts[0].positions[0].fill_time"),
    ("nul-in-instrument", SCENARIO, _with(instruments=[{"symbol": "PF_X", "type": "x\u0000"}]), "instruments[0].type"),
    ("unknown-top-key", SCENARIO, _with(acounts=[]), "acounts"),
    ("unknown-account-key", SCENARIO, _with_alice(colateral={}), "accounts[0].colateral"),
    ("unknown-position-key", SCENARIO, _position(sise="1"), "accounts[0].positions[0].sise"),
    ("empty-body", SCENARIO, b"", "body"),
    ("empty-object", SCENARIO, {}, "body"),
    ("no-scenario-key-toml", SCENARIO, b"# nothing\n", "body"),
    ("mark-body-exponent", "/admin/v1/marks/PF_XBTUSD", {"price": "5.85e4"}, "price"),
    ("mark-body-unknown-key", "/admin/v1/marks/PF_XBTUSD", {"price": "5", "prise": "6"}, "prise"),
    ("currency-usd-price-2", "/admin/v1/currencies/USD", {"price": "2"}, "price"),
    ("account-active-string", "/admin/v1/accounts/alice", {"active": "false"}, "active"),
    ("collateral-underscore", "/admin/v1/accounts/alice/collateral/USD", {"quantity": "1_000"}, "quantity"),
    (
        "position-size-float-exponent",
        "/admin/v1/accounts/alice/positions/PF_XBTUSD",
        b'{"size": 1e0, "entry_price": "1"}',
        "size",
    ),
    ("key-rate-budget-fraction", "/admin/v1/accounts/alice/keys", {"rate_budget": 1.5}, "rate_budget"),
    ("key-expiry-negative", "/admin/v1/accounts/alice/keys", {"expires_ms": -1}, "expires_ms"),
]


def _send(admin: httpx.Client, path: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    method = "POST" if path.endswith("/keys") else "PUT"
    headers = {"Content-Type": "application/toml"} if body == b"# nothing\n" else {}
    return admin.request(method, path, content=content, headers=headers)


@pytest.mark.parametrize(("path", "body", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_admin_body_is_a_400_naming_the_field_and_changes_nothing(
    server: ServerProcess, path: str, body: Any, field: str
) -> None:
    with server.admin() as admin:
        before = admin.get("/admin/v1/scenario").json()
        response = _send(admin, path, body)
        assert response.status_code == 400, response.text
        answer = response.json()
        assert set(answer) == {"error", "detail"}, answer
        assert answer["error"] == "invalid"
        assert field in answer["detail"].split(": ")[0], answer["detail"]
        assert admin.get("/admin/v1/scenario").json() == before


def test_an_empty_world_loads_only_when_asked_for_with_empty_lists(server: ServerProcess) -> None:
    empty = {"instruments": [], "collateral_currencies": {}, "marks": {}, "accounts": []}
    with server.admin() as admin:
        assert admin.put("/admin/v1/scenario", json=empty).status_code == 200
        assert admin.get("/admin/v1/scenario").json() == empty


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "levpref.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_refuses_the_same_input_with_the_same_sentence(server: ServerProcess, tmp_path: Path) -> None:
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps(_with_alice(active="false")))
    db = ["--database-url", f"sqlite:///{tmp_path / 'cli.db'}"]
    loaded = _cli("scenario", "load", str(scenario), *db)
    with server.admin() as admin:
        answered = admin.put("/admin/v1/scenario", content=scenario.read_bytes()).json()["detail"]
    assert loaded.returncode != 0
    assert loaded.stderr.strip() == f"levpref: {answered}"
    assert "Traceback" not in loaded.stderr
    toml = tmp_path / "bad.toml"
    toml.write_text('[[accounts]]\nid = "a"\nactive = "false"\n')
    refused = _cli("scenario", "load", str(toml), *db)
    assert refused.returncode != 0
    assert refused.stderr.strip() == "levpref: accounts[0].active: expected a boolean"
    mark = _cli("marks", "PF_XBTUSD", "1e3", *db)
    assert mark.returncode != 0
    assert mark.stderr.strip().startswith("levpref: price: expected a decimal number")
