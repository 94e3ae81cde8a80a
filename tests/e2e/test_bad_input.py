"""Malformed and refused requests against a real server (SPEC §1.1, §1.2, §1.4, §2).

Every case of ``CASES`` is one request, signed correctly unless the case is about the signature, so a malformed
parameter really reaches the parameter checks. Each must answer exactly the specified envelope:
- shape A: HTTP 200, ``{"result":"error","serverTime":…,"error":code}`` and no other key;
- shape B: HTTP 500, ``{"status":"INTERNAL_SERVER_ERROR","result":"error","errors":[{code,message}],"serverTime":…}``;
- routing (404, 405, 413, 400 for what the HTTP parser rejects): shape B with code 0 and the HTTP status;
always ``Content-Type: application/json``, never a traceback or an HTML page. And a refusal changes nothing: the
exported world, alice's preferences and every audit log read the same before and after, the server log shows no
error, and the refused request's nonce is consumed exactly when the request passed the nonce window (SPEC §2.2,
revised 2026-12: a captured refused request can never succeed later), and still free when it was refused before.

The order of checks (SPEC §1.2: auth/nonce/rate limit → requiredArgumentMissing → 87 → 88 → marketUnavailable →
invalidArgument → margin) is checked by cases that break two rules at once (ids ``order-…``), plus the nonce and
rate-limit tests below. The accepted spellings of ``maxLeverage`` are checked not to be refused.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call, signed_headers
from tests.support.state import LogCursor, capture

BASE = "/derivatives/api/v3"
LEVERAGE = f"{BASE}/leveragepreferences"
PNL = f"{BASE}/pnlpreferences"
ACCOUNTS = f"{BASE}/accounts"
OPEN_POSITIONS = f"{BASE}/openpositions"
INSTRUMENTS = f"{BASE}/instruments"

SERVER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
Key = tuple[str, str]

# --- expected answers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    status: int
    body: dict[str, Any]  # the whole body but serverTime

    def __str__(self) -> str:
        if "error" in self.body:
            return f"{self.status} A {self.body['error']}"
        error = self.body["errors"][0]
        return f"{self.status} B {error['code']} {error['message']}"


def A(code: str) -> Expect:
    """Shape A (HTTP 200)."""
    return Expect(200, {"result": "error", "error": code})


_BUSINESS = {
    87: "CONTRACT_DOES_NOT_EXIST",
    88: "CONTRACT_NOT_MULTI_COLLATERAL",
    89: "CURRENCY_DOES_NOT_EXIST",
    90: "CURRENCY_NOT_ENABLED_FOR_MULTI_COLLATERAL",
}


def B(number: int) -> Expect:
    """Shape B (HTTP 500), a business error of the preference endpoints."""
    return Expect(
        500,
        {
            "status": "INTERNAL_SERVER_ERROR",
            "result": "error",
            "errors": [{"code": number, "message": _BUSINESS[number]}],
        },
    )


_ROUTING = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def R(status: int) -> Expect:
    """Shape B with code 0 and the HTTP status (routing and HTTP-level refusals)."""
    name = _ROUTING[status]
    return Expect(status, {"status": name, "result": "error", "errors": [{"code": 0, "message": f"{status} {name}"}]})


MISSING = A("requiredArgumentMissing")
INVALID = A("invalidArgument")
AUTH = A("authenticationError")
UNAVAILABLE = A("marketUnavailable")

# --- cases --------------------------------------------------------------------------------------------------------

FRESH = "fresh"  # the case sends a fresh, well-formed nonce (and the test proves it stays unused)
WRONG_SECRET: Key = (world.ALICE_FULL[0], world.BOB_FULL[1])  # alice's key name, signed with another secret
UNKNOWN_KEY: Key = ("U" * 56, world.ALICE_FULL[1])
LONG_KEY: Key = ("L" * 200, world.ALICE_FULL[1])


@dataclass(frozen=True)
class Case:
    id: str
    expect: Expect
    query: str = ""  # sent exactly; a lone surrogate (\udcff) stands for a raw, non-UTF-8 byte
    method: str = "PUT"
    path: str = LEVERAGE
    body: bytes = b""
    content_type: str | None = None  # default: form-encoded when there is a body
    key: Key | None = world.ALICE_FULL  # signs the request (APIKey + Authent); None: no auth headers
    nonce: str | None = FRESH  # FRESH, a literal Nonce header, or None for no Nonce header
    authent: str | None = None  # replaces the computed Authent
    drop: tuple[str, ...] = ()  # headers removed after signing
    extra: tuple[tuple[str, str], ...] = ()  # headers added after signing (duplicates allowed)
    raw_socket: bool = False  # for bytes httpx refuses to send (a raw 0xff in the request line)

    @property
    def proof_key(self) -> Key | None:
        """The key whose nonce window proves the refused request's nonce is still free, if any."""
        if self.nonce != FRESH or self.key == world.DORMANT_FULL:
            return None
        return world.ALICE_READ if self.key == world.ALICE_READ else world.ALICE_FULL

    @property
    def nonce_consumed(self) -> bool:
        """Whether the request passed the nonce window, so that its nonce is consumed whatever followed."""
        before_window = (AUTH, A("accountInactive"), A("nonceDuplicate"), A("nonceBelowThreshold"))
        return self.expect.status in (200, 500) and self.expect not in before_window

    @property
    def fails_authentication(self) -> bool:
        """Whether the server counts this case as a failed authentication (limited to 20 per minute per IP)."""
        return self.expect == AUTH and self.key != world.ALICE_READ


def lev(case_id: str, query: str, expect: Expect, **kw: Any) -> Case:
    return Case(case_id, expect, query=query, **kw)


def pnl(case_id: str, query: str, expect: Expect, **kw: Any) -> Case:
    return Case(case_id, expect, query=query, path=PNL, **kw)


def bad_leverage(text: str, expect: Expect = INVALID, symbol: str = "PF_ETHUSD") -> Case:
    """``maxLeverage`` spelled ``text`` (already percent-encoded) on a contract where 5 would be accepted."""
    return lev(f"maxLeverage={text or '<empty>'}", f"symbol={symbol}&maxLeverage={text}", expect)


def garbage_authent() -> str:
    return base64.b64encode(b"\x01" * 64).decode()


CASES: list[Case] = [
    # missing and duplicated parameters
    lev("no-parameters", "", MISSING),
    lev("missing-symbol", "maxLeverage=5", MISSING),
    lev("empty-symbol", "symbol=&maxLeverage=5", MISSING),
    lev("symbol-without-value", "symbol", MISSING),
    lev("duplicated-symbol", "symbol=PF_ETHUSD&symbol=PF_XBTUSD", INVALID),
    lev("duplicated-symbol-same-value", "symbol=PF_ETHUSD&symbol=PF_ETHUSD&maxLeverage=5", INVALID),
    lev("duplicated-maxLeverage", "symbol=PF_ETHUSD&maxLeverage=5&maxLeverage=5", INVALID),
    lev("symbol-in-query-and-body", "symbol=PF_ETHUSD", INVALID, body=b"symbol=PF_ETHUSD"),
    lev("maxLeverage-in-query-and-body", "symbol=PF_ETHUSD&maxLeverage=5", INVALID, body=b"maxLeverage=5"),
    # maxLeverage grammar (PF_ETHUSD: no position, cap 50, so only the spelling is wrong)
    bad_leverage("None"),
    bad_leverage("NaN"),
    bad_leverage("nan"),
    bad_leverage("inf"),
    bad_leverage("Infinity"),
    bad_leverage("1e2"),
    bad_leverage("1E1"),
    bad_leverage("-3"),
    bad_leverage("0"),
    bad_leverage("0.00"),
    bad_leverage("0.99"),
    bad_leverage("10.001"),
    bad_leverage(""),
    bad_leverage("%2B5"),  # "+5"
    bad_leverage("%205"),  # " 5"
    bad_leverage("5%20"),  # "5 "
    bad_leverage("5."),
    bad_leverage(".5"),
    bad_leverage("1%2C5"),  # "1,5"
    bad_leverage("0x10"),
    bad_leverage("5x"),
    bad_leverage("%D9%A5"),  # "٥", ARABIC-INDIC DIGIT FIVE: Decimal() would take it
    bad_leverage("1000000"),
    bad_leverage("50.01"),  # over the no-position cap of 50
    bad_leverage("51", symbol="PF_XBTUSD"),  # SPEC A3: over the cap at N = 60 000
    # symbols
    lev("symbol-10000-chars", "symbol=" + "X" * 10_000 + "&maxLeverage=5", B(87)),
    lev("lowercase-symbol", "symbol=pf_xbtusd&maxLeverage=5", B(87)),
    lev("symbol-trailing-space", "symbol=PF_XBTUSD%20", B(87)),
    lev("symbol-with-NUL", "symbol=PF_XBTUSD%00", B(87)),
    lev("unknown-symbol", "symbol=PF_NOPEUSD&maxLeverage=5", B(87)),
    lev("PI-symbol", "symbol=PI_XBTUSD&maxLeverage=5", B(88)),
    lev("FI-symbol", "symbol=FI_XBTUSD_261225", B(88)),
    lev("halted-symbol-isolated", "symbol=PF_HALTUSD&maxLeverage=5", UNAVAILABLE),
    lev("halted-symbol-cross", "symbol=PF_HALTUSD", UNAVAILABLE),
    # bytes that are not UTF-8, bodies that are not forms
    lev("percent-ff-in-symbol", "symbol=PF_XBTUSD%ff", INVALID),
    lev("percent-ff-in-ignored-name", "symbol=PF_ETHUSD&%ff=1", INVALID),
    lev("overlong-utf8-in-symbol", "symbol=PF_XBTUSD%c0%af", INVALID),
    lev("raw-0xff-in-query", "symbol=PF_ETHUSD&maxLeverage=5&x=\udcff", R(400), raw_socket=True),
    lev("percent-ff-in-body", "", INVALID, body=b"symbol=PF_ETHUSD%ff"),
    lev("raw-0xff-in-body", "", INVALID, body=b"symbol=PF_ETHUSD&maxLeverage=5&x=\xff"),
    lev(
        "json-body",
        "",
        INVALID,
        body=b'{"symbol":"PF_ETHUSD","maxLeverage":"5"}',
        content_type="application/json",
    ),
    lev("form-body-labelled-text", "", INVALID, body=b"symbol=PF_ETHUSD&maxLeverage=5", content_type="text/plain"),
    lev("body-too-large", "symbol=PF_ETHUSD", R(413), body=b"pad=" + b"x" * 70_000),
    # authentication and nonces
    lev("authent-not-base64", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, authent="not base64 at all!!"),
    lev("authent-wrong-length", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, authent=base64.b64encode(b"x" * 32).decode()),
    lev("authent-other-secret", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, key=WRONG_SECRET),
    lev("nonce-25-digits", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, nonce="1" * 25),
    lev("nonce-21-digits", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, nonce="1" + "0" * 20),
    lev("nonce-negative", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, nonce="-1656427738711"),
    lev("nonce-empty", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, nonce=""),
    lev("missing-APIKey", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, drop=("APIKey",)),
    lev("missing-Authent", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, drop=("Authent",)),
    lev("unknown-APIKey", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, key=UNKNOWN_KEY),
    lev("APIKey-200-chars", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, key=LONG_KEY),
    lev("duplicated-APIKey", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, extra=(("APIKey", world.ALICE_FULL[0]),)),
    lev("duplicated-Authent", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, extra=(("Authent", garbage_authent()),)),
    lev("read-only-key-PUT-leverage", "symbol=PF_ETHUSD&maxLeverage=5", AUTH, key=world.ALICE_READ),
    pnl("read-only-key-PUT-pnl", "symbol=PF_XBTUSD&pnlPreference=BTC", AUTH, key=world.ALICE_READ),
    lev("inactive-account", "symbol=PF_ETHUSD&maxLeverage=5", A("accountInactive"), key=world.DORMANT_FULL),
    Case("GET-accounts-unsigned", AUTH, method="GET", path=ACCOUNTS, drop=("APIKey", "Authent")),
    # routing
    Case("unknown-path", R(404), method="GET", path=f"{BASE}/nope"),
    Case("unknown-version", R(404), query="symbol=PF_ETHUSD", path="/derivatives/api/v4/leveragepreferences"),
    Case("trailing-slash", R(404), query="symbol=PF_ETHUSD&maxLeverage=5", path=f"{LEVERAGE}/"),
    Case("path-case", R(404), query="symbol=PF_ETHUSD", path=f"{BASE}/LeveragePreferences"),
    Case("path-double-slash", R(404), query="symbol=PF_ETHUSD", path="/derivatives/api/v3//leveragepreferences"),
    Case("no-derivatives-prefix", R(404), query="symbol=PF_ETHUSD", path="/api/v3/leveragepreferences"),
    Case("root", R(404), method="GET", path="/"),
    Case("POST-leverage", R(405), method="POST", query="symbol=PF_ETHUSD&maxLeverage=5"),
    Case("DELETE-leverage", R(405), method="DELETE", query="symbol=PF_ETHUSD"),
    Case("OPTIONS-leverage", R(405), method="OPTIONS"),
    Case("PATCH-pnl", R(405), method="PATCH", path=PNL, query="symbol=PF_XBTUSD&pnlPreference=BTC"),
    Case("PUT-accounts", R(405), path=ACCOUNTS),
    Case("DELETE-openpositions", R(405), method="DELETE", path=OPEN_POSITIONS),
    Case("POST-instruments", R(405), method="POST", path=INSTRUMENTS),
    # pnlpreferences
    pnl("pnl-missing-currency", "symbol=PF_XBTUSD", MISSING),
    pnl("pnl-empty-currency", "symbol=PF_XBTUSD&pnlPreference=", MISSING),
    pnl("pnl-missing-symbol", "pnlPreference=BTC", MISSING),
    pnl("pnl-duplicated-currency", "symbol=PF_XBTUSD&pnlPreference=BTC&pnlPreference=BTC", INVALID),
    pnl("pnl-unknown-currency", "symbol=PF_XBTUSD&pnlPreference=ZZZ9", B(89)),
    pnl("pnl-currency-10000-chars", "symbol=PF_XBTUSD&pnlPreference=" + "Z" * 10_000, B(89)),
    pnl("pnl-known-not-collateral-DOGE", "symbol=PF_XBTUSD&pnlPreference=DOGE", B(90)),
    pnl("pnl-known-not-collateral-EUR", "symbol=PF_XBTUSD&pnlPreference=EUR", B(90)),
    pnl("pnl-unknown-symbol", "symbol=PF_NOPEUSD&pnlPreference=BTC", B(87)),
    pnl("pnl-PI-symbol", "symbol=PI_XBTUSD&pnlPreference=BTC", B(88)),
    pnl("pnl-halted-symbol", "symbol=PF_HALTUSD&pnlPreference=BTC", UNAVAILABLE),
    pnl("pnl-symbol-with-NUL", "symbol=PF_XBTUSD%00&pnlPreference=BTC", B(87)),
    pnl("pnl-currency-with-NUL", "symbol=PF_XBTUSD&pnlPreference=BTC%00", B(89)),
    pnl("pnl-percent-ff", "symbol=PF_XBTUSD&pnlPreference=BTC%ff", INVALID),
    # reads
    Case("GET-leverage-duplicated-filter", INVALID, method="GET", query="symbol=PF_XBTUSD&symbol=PF_ETHUSD"),
    Case("GET-leverage-percent-ff", INVALID, method="GET", query="symbol=%ff"),
    # order of checks: two faults at once, the earlier check answers
    lev("order-missing-symbol-beats-NaN", "maxLeverage=NaN", MISSING),
    lev("order-empty-symbol-beats-duplicated-maxLeverage", "symbol=&maxLeverage=1&maxLeverage=2", MISSING),
    lev("order-87-beats-NaN", "symbol=PF_NOPEUSD&maxLeverage=NaN", B(87)),
    lev("order-87-lowercase-beats-cap", "symbol=pf_xbtusd&maxLeverage=51", B(87)),
    lev("order-88-beats-negative", "symbol=PI_XBTUSD&maxLeverage=-3", B(88)),
    lev("order-unavailable-beats-inf", "symbol=PF_HALTUSD&maxLeverage=inf", UNAVAILABLE),
    lev("order-invalid-beats-92", "symbol=PF_XBTUSD&maxLeverage=2.005", INVALID),  # 2 would be 92 (SPEC A2)
    lev("order-auth-beats-87-and-NaN", "symbol=pf_xbtusd&maxLeverage=NaN", AUTH, key=WRONG_SECRET),
    lev("order-auth-beats-unreadable", "symbol=%ff&symbol=x", AUTH, authent=garbage_authent()),
    lev("order-nonce-format-beats-missing-symbol", "", AUTH, nonce="16564277387110abc"),
    lev("order-read-only-beats-88-and-NaN", "symbol=PI_XBTUSD&maxLeverage=NaN", AUTH, key=world.ALICE_READ),
    lev("order-inactive-beats-missing-symbol", "", A("accountInactive"), key=world.DORMANT_FULL),
    Case("order-404-beats-auth", R(404), method="GET", path=f"{BASE}/nope", key=None),
    Case("order-405-beats-auth", R(405), method="POST", key=None),
    Case("order-413-beats-auth", R(413), key=None, body=b"pad=" + b"x" * 70_000),
    pnl("order-pnl-missing-symbol-beats-89", "pnlPreference=ZZZ9", MISSING),
    pnl("order-pnl-88-beats-89", "symbol=PI_XBTUSD&pnlPreference=ZZZ9", B(88)),
    pnl("order-pnl-87-beats-90", "symbol=PF_NOPEUSD&pnlPreference=DOGE", B(87)),
    pnl("order-pnl-unavailable-beats-89", "symbol=PF_HALTUSD&pnlPreference=ZZZ9", UNAVAILABLE),
]

assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"

# --- sending ------------------------------------------------------------------------------------------------------

_nonces = itertools.count(time.time_ns())


def fresh_nonce() -> str:
    return str(next(_nonces))


def request_headers(case: Case, nonce: str | None) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if case.key is not None:
        signed = signed_headers(case.key, case.path, case.query, case.body.decode("utf-8", "surrogateescape"), nonce)
        headers = list(signed.items())
    elif nonce is not None:
        headers = [("Nonce", nonce)]
    if case.authent is not None:
        headers = [(n, case.authent if n == "Authent" else v) for n, v in headers]
    headers = [(n, v) for n, v in headers if n not in case.drop]
    headers += case.extra
    if case.body or case.content_type:
        headers.append(("Content-Type", case.content_type or "application/x-www-form-urlencoded"))
    return headers


def _raw_exchange(server: ServerProcess, case: Case, headers: list[tuple[str, str]]) -> httpx.Response:
    target = case.path.encode() + (b"?" + case.query.encode("utf-8", "surrogateescape") if case.query else b"")
    head = [f"{case.method} ".encode() + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    head += [f"Content-Length: {len(case.body)}".encode()]
    head += [f"{name}: {value}".encode() for name, value in headers]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + case.body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    parsed = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in header_lines)]
    return httpx.Response(int(status_line.split()[1]), headers=parsed, content=body)


def send(server: ServerProcess, client: httpx.Client, case: Case, nonce: str | None) -> httpx.Response:
    headers = request_headers(case, nonce)
    if case.raw_socket:
        return _raw_exchange(server, case, headers)
    url = httpx.URL(case.path if not case.query else f"{case.path}?{case.query}")
    return client.request(case.method, url, content=case.body or None, headers=headers)


def nonce_for(case: Case, fresh: str) -> str | None:
    return fresh if case.nonce == FRESH else case.nonce


# --- checks -------------------------------------------------------------------------------------------------------


def assert_answer(response: httpx.Response, expect: Expect) -> None:
    """Exactly the expected envelope: status, JSON content type, keys, values, serverTime format."""
    text = response.text
    assert "Traceback" not in text, text[:500]
    assert "<html" not in text.lower(), text[:500]
    assert response.headers.get("content-type", "").split(";")[0].strip() == "application/json", response.headers
    assert response.status_code == expect.status, text[:500]
    body = json.loads(text)
    assert isinstance(body, dict), text[:500]
    assert SERVER_TIME.fullmatch(str(body.pop("serverTime", None))), text[:500]
    assert body == expect.body


def assert_success(response: httpx.Response, **payload: Any) -> None:
    """Exactly a success envelope carrying ``payload`` (and no ``error`` key)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    body = response.json()
    assert SERVER_TIME.fullmatch(body.pop("serverTime")), response.text
    assert body == {"result": "success", **payload}, response.text


def prove_nonce_state(client: httpx.Client, key: Key, nonce: str, *, consumed: bool) -> None:
    """A valid request with ``nonce`` is a duplicate when the refused request consumed it, else it succeeds (and
    a GET with the read-only key changes nothing either way)."""
    response = (
        call(client, "GET", LEVERAGE, key, nonce=nonce)
        if key == world.ALICE_READ or consumed
        else call(client, "PUT", LEVERAGE, key, "symbol=PF_ETHUSD&maxLeverage=5", nonce=nonce)
    )
    if consumed:
        assert_answer(response, A("nonceDuplicate"))
    elif key == world.ALICE_READ:
        assert_success(response, leveragePreferences=[])
    else:
        assert_success(response)


def assert_log_clean(log: str) -> None:
    assert "Traceback" not in log, log[-3000:]
    assert '"level":"error"' not in log, log[-3000:]
    assert "unhandled error" not in log, log[-3000:]


# --- tests --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_request_is_refused_exactly_and_changes_nothing(
    server: ServerProcess, http: httpx.Client, case: Case
) -> None:
    before = capture(server, http)
    log = LogCursor(server)
    nonce = fresh_nonce()

    assert_answer(send(server, http, case, nonce_for(case, nonce)), case.expect)

    assert capture(server, http) == before
    assert_log_clean(log.new())
    if case.proof_key is not None:
        prove_nonce_state(http, case.proof_key, nonce, consumed=case.nonce_consumed)


def test_the_whole_corpus_back_to_back_then_the_server_still_serves(server: ServerProcess, http: httpx.Client) -> None:
    """Every case in a row on one world, each with a fresh nonce: nothing changes, and the server still serves."""
    failing_auth = sum(case.fails_authentication for case in CASES)
    assert failing_auth < 20, f"{failing_auth} failed authentications would trip the per-IP limit of 20 per minute"
    before = capture(server, http)
    log = LogCursor(server)
    for case in CASES:
        response = send(server, http, case, nonce_for(case, fresh_nonce()))
        try:
            assert_answer(response, case.expect)
        except AssertionError as failure:
            raise AssertionError(f"case {case.id}: {failure}") from failure
    assert capture(server, http) == before
    assert_log_clean(log.new())
    nonce = fresh_nonce()
    assert_success(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD&maxLeverage=5", nonce=nonce))
    shown = [{"symbol": "PF_ETHUSD", "maxLeverage": 5.0}]
    assert_success(call(http, "GET", LEVERAGE, world.ALICE_READ, nonce=nonce), leveragePreferences=shown)


def test_nonce_errors_beat_parameter_errors(server: ServerProcess, http: httpx.Client) -> None:
    nonce = fresh_nonce()
    assert_success(call(http, "GET", LEVERAGE, world.ALICE_FULL, nonce=nonce), leveragePreferences=[])
    before = capture(server, http)
    for query in ("", "symbol=PI_XBTUSD&maxLeverage=NaN", "symbol=%ff"):
        assert_answer(call(http, "PUT", LEVERAGE, world.ALICE_FULL, query, nonce=nonce), A("nonceDuplicate"))
    assert capture(server, http) == before


def test_rate_limit_beats_parameter_errors_and_refused_requests_are_charged(
    server: ServerProcess, http: httpx.Client
) -> None:
    """bob's budget is 500 per 10 s; refused PUTs (cost 10) are charged, so about 50 of them exhaust it."""
    before = capture(server, http)
    answers = []
    for _ in range(120):
        answers.append(call(http, "PUT", LEVERAGE, world.BOB_FULL, "maxLeverage=NaN").json()["error"])
        if answers[-1] != "requiredArgumentMissing":
            break
    assert answers[-1] == "apiLimitExceeded", answers
    assert 45 <= len(answers) <= 70, len(answers)
    assert set(answers[:-1]) == {"requiredArgumentMissing"}
    assert capture(server, http) == before


ACCEPTED = ["5", "2.5", "10.0", "10.00", "1", "50"]


@pytest.mark.parametrize("text", ACCEPTED, ids=[f"maxLeverage={text}" for text in ACCEPTED])
def test_accepted_spellings_are_not_errors(server: ServerProcess, http: httpx.Client, text: str) -> None:
    """PF_ETHUSD has no position (cap 50): each spelling sets isolated at that leverage and records its nonce."""
    before = capture(server, http)
    nonce = fresh_nonce()
    query = f"symbol=PF_ETHUSD&maxLeverage={text}"
    assert_success(call(http, "PUT", LEVERAGE, world.ALICE_FULL, query, nonce=nonce))
    got = call(http, "GET", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD")
    assert_success(got, leveragePreferences=[{"symbol": "PF_ETHUSD", "maxLeverage": float(text)}])
    assert f'"maxLeverage":{float(text):.2f}'.encode() in got.content
    after = capture(server, http)
    assert after.audit["alice"] == before.audit["alice"] + 1
    assert_answer(call(http, "PUT", LEVERAGE, world.ALICE_FULL, query, nonce=nonce), A("nonceDuplicate"))


def test_accepted_as_a_form_body_and_as_a_harmless_repeat(server: ServerProcess, http: httpx.Client) -> None:
    before = capture(server, http)
    assert_success(call(http, "PUT", LEVERAGE, world.ALICE_FULL, body="symbol=PF_ETHUSD&maxLeverage=5"))
    assert_success(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD&maxLeverage=5.00"))
    assert capture(server, http).audit["alice"] == before.audit["alice"] + 1
    assert_success(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD"))  # already cross
    assert capture(server, http).audit["alice"] == before.audit["alice"] + 1
