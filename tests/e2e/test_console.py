"""The operator console (SPEC §6.2) in a real headless Chromium.

The page and its assets are the package's own files; the admin API behind them is a stub that answers the
documented shapes (``/accounts``, ``/pools``, ``/preview`` and the paged audit are not served by levpref yet), with
numbers no JS double can hold, and records every request so the tests can check what the page sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

import levpref
from tests.support import browser

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))

ASSETS = Path(levpref.__file__).parent / "console"
TOKEN = "console-test-token-0123456789abcdef"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
# 17 significant digits before the point: a JS double would show 12345678901234568
CROSS_EQUITY = "12345678901234567.12345678"

POOLS = """{"account":"alice",
 "cross":{"equity":%s,"initial_margin":1200.00000000,"maintenance_margin":600,"available":10000.00000000},
 "isolated":[{"symbol":"PF_ETHUSD","allocated_margin":300,"equity":-12.5,"maintenance_margin":31,
              "liquidation_price":3267.32673267}],
 "positions":[{"symbol":"PF_XBTUSD","size":1,"entry_price":60000,"mark_price":%s,"liquidation_price":null,
               "margin_mode":"cross","max_leverage":null},
              {"symbol":"PF_ETHUSD","size":-1.000,"entry_price":3000,"mark_price":3012.5,
               "liquidation_price":3267.32673267,"margin_mode":"isolated","max_leverage":10.00}],
 "preferences":[{"symbol":"PF_ETHUSD","max_leverage":"10","pnl_currency":"USD"}],
 "keys":[{"public":"%s","access":"full","revoked":false}]}"""
PUBLIC_KEY = "K" * 56

PREVIEW_REFUSED = """{"preview":{"outcome":"refused","error":{"code":92,"message":"INSUFFICIENT_MARGIN"},
 "rule":"crossAvailableBelowZero","pool":"cross",
 "before":{"cross":{"equity":10000,"available":8800.00000000}},"after":{"cross":{"equity":-20000,"available":-20000}},
 "allocatedMargin":30000,"marginMoved":30000,"liquidationPrice":{"before":12747.47474748,"after":null}}}"""


class Stub:
    """The admin API's documented answers, and a record of every request the page made."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[dict[str, Any]] = []
        self.mark = "60000"
        self.audit = [self.entry(i) for i in range(1, 61)]
        self.lock = threading.Lock()

    @staticmethod
    def entry(i: int, action: str = "set_mark") -> dict[str, Any]:
        return {
            "id": i,
            "account": "alice",
            "at": f"2026-12-01T10:00:{i % 60:02d}.000Z",
            "actor": "admin",
            "action": action,
            "symbol": "PF_XBTUSD",
            "before": {"price": "60000"},
            "after": {"price": "58500"},
            "margin_moved": None,
            "request_id": f"r{i}",
        }

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, bytes]:
        if path == "/admin/v1/accounts":
            return 200, b'{"accounts":[{"id":"alice","active":true},{"id":"bob","active":false}]}'
        if path == "/admin/v1/accounts/alice/pools":
            return 200, (POOLS % (CROSS_EQUITY, self.mark, PUBLIC_KEY)).encode()
        if path == "/admin/v1/accounts/bob/pools":
            return 200, b'{"account":"bob"}'  # everything missing: the page shows dashes, not errors
        if path == "/admin/v1/audit":
            before = int(query.get("before_id", ["1000000"])[0])
            limit = int(query.get("limit", ["50"])[0])
            page = [e for e in reversed(self.audit) if e["id"] < before][:limit]
            older = page and page[-1]["id"] > 1
            return 200, json.dumps({"entries": page, "next": page[-1]["id"] if older else None}).encode()
        if path == "/admin/v1/marks/PF_XBTUSD" and method == "PUT":
            price = json.loads(body)["price"]
            if not isinstance(price, str) or price.startswith("-"):
                return 400, b'{"error":"AdminBadRequest","detail":"price: expected a positive decimal"}'
            self.mark = price
            self.audit.append(self.entry(len(self.audit) + 1))
            return 200, json.dumps({"symbol": "PF_XBTUSD", "price": price}).encode()
        if path == "/admin/v1/accounts/alice/preview":
            if query.get("maxLeverage") == ["2"]:
                return 200, PREVIEW_REFUSED.encode()
            return 200, b'{"preview":{"outcome":"unchanged","liquidationPrice":{"before":null,"after":null}}}'
        if path == "/admin/v1/scenario" and method == "PUT":
            return 200, b'{"loaded":true,"keys":[{"account":"alice","public":"P","access":"full"}]}'
        if path.startswith("/admin/v1/accounts/alice/") and method in ("PUT", "DELETE"):
            return 200, b'{"account":"alice"}'
        return 404, b'{"error":"AdminNotFound","detail":"no such thing"}'


def serve(stub: Stub) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def respond(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "GET" and url.path in ("/console", "/console/console.js", "/console/console.css"):
                asset = ASSETS / ("index.html" if url.path == "/console" else url.path.rsplit("/", 1)[1])
                self.respond(200, asset.read_bytes(), CONTENT_TYPES[asset.suffix])
                return
            with stub.lock:
                stub.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": url.query,
                        "body": body,
                        "headers": self.headers,
                    }
                )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.respond(401, b'{"error":"AdminUnauthorized","detail":"missing or wrong bearer token"}')
                    return
                self.respond(*stub.answer(self.command, url.path, parse_qs(url.query), body))

        do_GET = do_PUT = do_DELETE = do_POST = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with browser.chromium() as chromium:
        yield chromium


@pytest.fixture
def stub() -> Iterator[Stub]:
    stub = Stub()
    server = serve(stub)
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield stub
    server.shutdown()
    server.server_close()


def by_testid(driver: WebDriver, testid: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def cell_text(driver: WebDriver, row: str, name: str) -> str:
    """A table cell's text, read again if the page re-renders the table meanwhile (the audit every 2 s)."""
    from selenium.webdriver.common.by import By

    def read(d: WebDriver) -> tuple[str]:
        return (str(by_testid(d, row).find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text),)

    return str(browser.wait_for(driver, read)[0])


def present(driver: WebDriver, testid: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')
    return found[0] if found else None


def sign_in(driver: WebDriver, stub: Stub, token: str = TOKEN) -> None:
    driver.get(f"{stub.base_url}/console")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{stub.base_url}/console")
    by_testid(driver, "token-input").send_keys(token)
    by_testid(driver, "signin-button").click()


def signed_in(driver: WebDriver, stub: Stub) -> None:
    sign_in(driver, stub)
    browser.wait_for(driver, lambda d: present(d, "pool-cross"))


@pytest.fixture(autouse=True)
def no_script_errors(driver: WebDriver) -> Iterator[None]:
    browser.console_errors(driver)
    yield
    errors = [e for e in browser.console_errors(driver) if "401" not in e and "400" not in e]
    assert errors == []


def test_signing_in_lists_accounts_and_shows_pools_positions_preferences_and_keys_as_the_api_wrote_them(
    driver: WebDriver, stub: Stub
) -> None:
    signed_in(driver, stub)
    assert by_testid(driver, "account-alice").is_displayed()
    assert "inactive" in by_testid(driver, "account-bob").text
    browser.wait_for(driver, lambda d: cell_text(d, "pool-cross", "equity") == CROSS_EQUITY)
    assert cell_text(driver, "pool-cross", "initial_margin") == "1200.00000000"
    assert cell_text(driver, "pool-cross", "available") == "10000.00000000"
    assert cell_text(driver, "pool-PF_ETHUSD", "liquidation_price") == "3267.32673267"
    assert "under" in by_testid(driver, "pool-PF_ETHUSD").get_attribute("class")  # −12.5 < 31
    assert "under" not in (by_testid(driver, "pool-cross").get_attribute("class") or "")
    assert cell_text(driver, "position-PF_ETHUSD", "size") == "-1.000"
    assert cell_text(driver, "position-PF_ETHUSD", "side") == "short"
    assert cell_text(driver, "position-PF_ETHUSD", "max_leverage") == "10.00"
    assert cell_text(driver, "position-PF_XBTUSD", "liquidation_price") == "—"
    assert cell_text(driver, "preference-PF_ETHUSD", "max_leverage") == "10"
    assert cell_text(driver, f"key-{PUBLIC_KEY}", "revoked") == "valid"
    assert driver.execute_script("return sessionStorage.getItem('levpref.console.token')") == TOKEN
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in stub.requests)


def test_an_account_with_every_field_missing_shows_dashes_and_empty_tables(driver: WebDriver, stub: Stub) -> None:
    signed_in(driver, stub)
    by_testid(driver, "account-bob").find_element("css selector", "button").click()
    browser.wait_for(driver, lambda d: "No positions." in by_testid(d, "positions").text)
    assert by_testid(driver, "account-title").text == "Account bob"
    assert "No pools." in by_testid(driver, "pools").text


def test_a_wrong_token_is_refused_with_its_detail_and_forgotten(driver: WebDriver, stub: Stub) -> None:
    sign_in(driver, stub, token="wrong-token-wrong-token-wrong")
    browser.wait_for(driver, lambda d: "missing or wrong bearer token" in by_testid(d, "status").text)
    assert by_testid(driver, "signin-form").is_displayed()
    assert driver.execute_script("return sessionStorage.getItem('levpref.console.token')") is None


def test_moving_a_mark_sends_the_price_as_a_string_and_a_refusal_shows_its_detail(
    driver: WebDriver, stub: Stub
) -> None:
    signed_in(driver, stub)
    by_testid(driver, "mark-symbol").send_keys("PF_XBTUSD")
    by_testid(driver, "mark-price").send_keys("-1")
    by_testid(driver, "mark-button").click()
    browser.wait_for(driver, lambda d: "price: expected a positive decimal" in by_testid(d, "mark-result").text)
    by_testid(driver, "mark-price").clear()
    by_testid(driver, "mark-price").send_keys("58500.123456789012345678")
    by_testid(driver, "mark-button").click()
    browser.wait_for(driver, lambda d: cell_text(d, "position-PF_XBTUSD", "mark_price") == "58500.123456789012345678")
    puts = [r for r in stub.requests if r["method"] == "PUT" and r["path"] == "/admin/v1/marks/PF_XBTUSD"]
    assert [json.loads(r["body"]) for r in puts] == [{"price": "-1"}, {"price": "58500.123456789012345678"}]
    assert puts[-1]["headers"]["Content-Type"] == "application/json"


def test_collateral_and_positions_are_set_and_deleted_through_the_admin_api(driver: WebDriver, stub: Stub) -> None:
    signed_in(driver, stub)
    by_testid(driver, "collateral-quantity").send_keys("2500.5")
    by_testid(driver, "collateral-button").click()
    browser.wait_for(driver, lambda d: "USD = 2500.5" in by_testid(d, "collateral-result").text)
    by_testid(driver, "edit-position-PF_ETHUSD").click()
    assert by_testid(driver, "position-size").get_attribute("value") == "-1.000"
    by_testid(driver, "position-size").clear()
    by_testid(driver, "position-size").send_keys("-2")
    by_testid(driver, "position-button").click()
    browser.wait_for(driver, lambda d: "PF_ETHUSD -2 @ 3000" in by_testid(d, "position-result").text)
    by_testid(driver, "position-delete").click()
    browser.wait_for(driver, lambda d: "PF_ETHUSD deleted" in by_testid(d, "position-result").text)
    sent = [(r["method"], r["path"], r["body"]) for r in stub.requests if r["method"] != "GET"]
    assert sent == [
        ("PUT", "/admin/v1/accounts/alice/collateral/USD", b'{"quantity":"2500.5"}'),
        ("PUT", "/admin/v1/accounts/alice/positions/PF_ETHUSD", b'{"size":"-2","entry_price":"3000"}'),
        ("DELETE", "/admin/v1/accounts/alice/positions/PF_ETHUSD", b""),
    ]


def test_a_toml_scenario_file_is_sent_as_toml(driver: WebDriver, stub: Stub, tmp_path: Path) -> None:
    scenario = tmp_path / "world.toml"
    scenario.write_text('[marks]\nPF_XBTUSD = "60000"\n')
    signed_in(driver, stub)
    by_testid(driver, "scenario-file").send_keys(str(scenario))
    by_testid(driver, "scenario-button").click()
    browser.wait_for(driver, lambda d: "loaded world.toml (1 keys)" in by_testid(d, "scenario-result").text)
    (put,) = [r for r in stub.requests if r["path"] == "/admin/v1/scenario"]
    assert (put["method"], put["headers"]["Content-Type"], put["body"]) == (
        "PUT",
        "application/toml",
        scenario.read_bytes(),
    )


def test_a_refused_preview_shows_its_error_rule_pool_and_exact_numbers(driver: WebDriver, stub: Stub) -> None:
    signed_in(driver, stub)
    by_testid(driver, "preview-symbol").send_keys("PF_XBTUSD")
    by_testid(driver, "preview-leverage").send_keys("2")
    by_testid(driver, "preview-button").click()
    browser.wait_for(driver, lambda d: present(d, "preview-outcome"))
    assert by_testid(driver, "preview-outcome").text == "refused"
    assert by_testid(driver, "preview-error").text == "error: 92 INSUFFICIENT_MARGIN"
    assert by_testid(driver, "preview-rule").text == "rule: crossAvailableBelowZero"
    assert cell_text(driver, "preview-row-cross.available", "before") == "8800.00000000"
    assert cell_text(driver, "preview-row-cross.available", "after") == "-20000"
    assert cell_text(driver, "preview-row-liquidationPrice", "before") == "12747.47474748"
    assert cell_text(driver, "preview-row-liquidationPrice", "after") == "—"
    (request,) = [r for r in stub.requests if r["path"].endswith("/preview")]
    assert parse_qs(request["query"]) == {"symbol": ["PF_XBTUSD"], "maxLeverage": ["2"]}


def test_a_preview_without_max_leverage_asks_for_cross(driver: WebDriver, stub: Stub) -> None:
    signed_in(driver, stub)
    by_testid(driver, "preview-symbol").send_keys("PF_XBTUSD")
    by_testid(driver, "preview-button").click()
    browser.wait_for(driver, lambda d: present(d, "preview-outcome"))
    assert by_testid(driver, "preview-outcome").text == "unchanged"
    (request,) = [r for r in stub.requests if r["path"].endswith("/preview")]
    assert parse_qs(request["query"]) == {"symbol": ["PF_XBTUSD"]}


def test_the_audit_log_pages_through_the_cursor_and_refreshes_itself(driver: WebDriver, stub: Stub) -> None:
    from selenium.webdriver.common.by import By

    signed_in(driver, stub)

    def rows(d: WebDriver) -> list[Any]:
        return list(d.find_elements(By.CSS_SELECTOR, '[data-testid="audit"] tbody tr'))

    browser.wait_for(driver, lambda d: len(rows(d)) == 50)
    assert cell_text(driver, "audit-60", "after") == '{"price":"58500"}'
    by_testid(driver, "audit-older").click()
    browser.wait_for(driver, lambda d: by_testid(d, "audit-page").text == "page 2" and len(rows(d)) == 10)
    assert present(driver, "audit-1") is not None
    assert not by_testid(driver, "audit-older").is_enabled()
    by_testid(driver, "audit-newer").click()
    browser.wait_for(driver, lambda d: present(d, "audit-60"))
    with stub.lock:
        stub.audit.append(Stub.entry(61, action="set_collateral"))
    browser.wait_for(driver, lambda d: present(d, "audit-61"), timeout=6)
    assert cell_text(driver, "audit-61", "action") == "set_collateral"
    queries = [parse_qs(r["query"]) for r in stub.requests if r["path"] == "/admin/v1/audit"]
    assert {"limit": ["50"], "before_id": ["11"]} in queries
