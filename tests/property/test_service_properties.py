"""Properties of the PUT use case over a real SQLite store: a refused change changes nothing; an accepted one is
audited and conserves equity."""

from __future__ import annotations

import asyncio
import base64
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levpref.adapters.secretbox import SecretBox
from levpref.adapters.storage.sqlite import SqliteStore
from levpref.adapters.wire.scenario import decode_scenario as parse_scenario
from levpref.auth.authent import sign_b64
from levpref.domain.margin import flex_summary
from levpref.errors import LevprefError
from levpref.service.accounts import load_account
from levpref.service.admin import AdminService
from levpref.service.kraken import AuthSettings, Endpoint, KrakenRequest, KrakenService
from tests.support import world

PATH = "/derivatives/api/v3/leveragepreferences"
leverage_texts = st.one_of(
    st.none(),
    st.decimals(min_value=1, max_value=60, places=2).map(str),
    st.sampled_from(["0", "-3", "NaN", "1e2", "None", "", "10.001"]),
)


async def _snapshot(admin: AdminService, store: SqliteStore) -> tuple[dict[str, Any], int, Decimal]:
    async with store.transaction() as tx:
        audit = await tx.count("audit")
        view = await load_account(tx, "alice")
    equity = flex_summary(view.margin).margin_equity
    exported = await admin.export_scenario()
    return exported, audit, equity


async def _scenario_run(store: SqliteStore, usd: str, mark: str, requests: list[tuple[str, str | None]]) -> None:
    box = SecretBox(b"k" * 32)
    admin = AdminService(store, box)
    kraken = KrakenService(store, box, AuthSettings())
    scenario = world.scenario(
        alice_usd=usd,
        alice_positions=[
            {"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000"},
            {"symbol": "PF_ETHUSD", "size": "-4", "entry_price": "3000"},
        ],
        marks={"PF_XBTUSD": mark, "PF_ETHUSD": "3100"},
    )
    await admin.load_scenario(parse_scenario(scenario), now_ms=0)
    for index, (symbol, leverage) in enumerate(requests):
        query = f"symbol={symbol}" + ("" if leverage is None else f"&maxLeverage={leverage}")
        key = world.ALICE_FULL
        request = KrakenRequest(
            method="PUT",
            path=PATH,
            raw_query=query,
            body="",
            content_type="",
            api_key=key[0],
            authent=sign_b64(key[1], query, "", PATH),
            nonce=None,
            client_ip="127.0.0.1",
            request_id=f"r{index}",
            now_ms=1_000 + index,
        )
        before = await _snapshot(admin, store)
        try:
            await kraken.handle(Endpoint.PUT_LEVERAGE, request)
        except LevprefError:
            after = await _snapshot(admin, store)
            assert after == before, f"refused {query} changed the state"
        else:
            _, audit, equity = await _snapshot(admin, store)
            assert equity == before[2], "an accepted change moved equity"
            assert audit in (before[1], before[1] + 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["500", "3000", "10000", "60000"]),
    st.sampled_from(["40000", "55000", "60000", "70000"]),
    st.lists(
        st.tuples(st.sampled_from(["PF_XBTUSD", "PF_ETHUSD", "PF_NOPEUSD", "PI_XBTUSD"]), leverage_texts),
        min_size=1,
        max_size=6,
    ),
)
def test_a_refused_change_changes_nothing_and_an_accepted_one_conserves_equity(
    usd: str, mark: str, requests: list[tuple[str, str | None]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "p.db"))
        try:
            asyncio.run(store.migrate())
            asyncio.run(_scenario_run(store, usd, mark, requests))
        finally:
            asyncio.run(store.close())


def test_the_secret_box_round_trips_and_binds_the_public_key() -> None:
    box = SecretBox(b"m" * 32)
    secret = base64.b64decode(world.ALICE_FULL[1])
    sealed = box.seal("pub-a", secret)
    assert box.open("pub-a", sealed) == secret
    assert SecretBox(b"m" * 32).open("pub-b", sealed) is None
    assert SecretBox(b"n" * 32).open("pub-a", sealed) is None
    assert base64.b64encode(secret).decode() not in sealed
