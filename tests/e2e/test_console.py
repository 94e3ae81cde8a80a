"""The operator console (SPEC §6.2) in a real headless Chromium, against a real levpref server process.

The page, its script and its style come from the server (``/console``), and every figure the page shows is compared
with what the server answers, as exact strings: the admin API (``/admin/v1``) and the signed Kraken ``/accounts``,
their JSON numbers read as their own text (``parse_float=str``), never as floats. The console speaks only to the
admin API, so one store is enough here (the SQLite server of the session, reset to the test world per test; the
API tests cover both stores). Each test saves the states it reaches in ``tests/.results/console/*.png``; the
browser resolves no host but the loopback address, and any message of level SEVERE in its console (an uncaught
error, a failed load, a CSP violation) fails the test, except the refusals a test provokes and checks. A run where
Chromium cannot start fails (``./dev test`` installs it); it is never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support import browser, world
from tests.support.clients import ACCOUNTS, ccxt_client
from tests.support.figures import RESULTS
from tests.support.server import ADMIN_TOKEN, ServerProcess
from tests.support.signing import call

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

SHOTS = RESULTS / "console"
EXAMPLE_SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenario.toml"
REFRESH_S = 2  # console.js REFRESH_MS: the audit log refreshes itself this often
DASH = "—"
PREVIEW_FIGURES = ("equity", "initialMargin", "maintenanceMargin", "availableMargin")  # a pool's, in the preview
# long 1 PF_XBTUSD @ 60 000 and short 1 PF_ETHUSD @ 3 000, both cross: each one's liquidation price moves with the
# other contract's mark (its own mark does not enter it)
TWO_CROSS = [
    {"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000"},
    {"symbol": "PF_ETHUSD", "size": "-1", "entry_price": "3000"},
]


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    """One Chromium for the file; failing to start it fails the tests (like PostgreSQL), never skips them."""
    problem = browser.missing()
    if problem is not None:
        pytest.fail(f"no browser for the console tests: {problem}", pytrace=False)
    with ExitStack() as stack:
        try:
            chromium = stack.enter_context(browser.chromium())
        except Exception as exc:
            pytest.fail(f"Chromium could not start (./dev test installs it): {exc}", pytrace=False)
        yield chromium


@pytest.fixture
def server(sqlite_server: ServerProcess) -> ServerProcess:
    """The session's SQLite server with the test world freshly loaded."""
    sqlite_server.load(world.scenario())
    return sqlite_server


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


class Console:
    """The console page in the browser, and what a test reads from it."""

    def __init__(self, driver: WebDriver, server: ServerProcess, test: str) -> None:
        self.driver = driver
        self.server = server
        self.test = test

    def open(self) -> None:
        """The console in a new tab (an empty session storage: signed out), the previous tab closed."""
        previous = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        fresh = self.driver.current_window_handle
        self.driver.switch_to.window(previous)
        self.driver.close()
        self.driver.switch_to.window(fresh)
        browser.color_scheme(self.driver, "light")
        self.driver.get(f"{self.server.base}/console")

    def sign_in(self, token: str = ADMIN_TOKEN) -> None:
        """Open a fresh page and sign in; with the right token, wait until alice's pools are shown."""
        self.open()
        self.testid("token-input").send_keys(token)
        self.testid("signin-button").click()
        if token == ADMIN_TOKEN:
            self.wait(lambda: self.present("pool-cross") and self.row_ids("audit"))

    def testid(self, testid: str) -> WebElement:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def present(self, testid: str) -> bool:
        from selenium.webdriver.common.by import By

        return bool(self.driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]'))

    def text(self, testid: str) -> str:
        return str(browser.wait_for(self.driver, lambda d: (self.testid(testid).text,))[0])

    def cell(self, row: str, name: str) -> str:
        """A table cell's text, read again if the page re-renders the table meanwhile."""
        from selenium.webdriver.common.by import By

        def read(d: WebDriver) -> tuple[str]:
            return (str(self.testid(row).find_element(By.CSS_SELECTOR, f'[data-field="{name}"]').text),)

        return str(browser.wait_for(self.driver, read)[0])

    def row_ids(self, container: str) -> list[str]:
        """The test ids of the rows (table rows, list items) in ``container``, in page order."""
        from selenium.webdriver.common.by import By

        def read(d: WebDriver) -> tuple[list[str]]:
            rows = self.testid(container).find_elements(By.CSS_SELECTOR, "tbody tr[data-testid], li[data-testid]")
            return ([str(r.get_attribute("data-testid")) for r in rows],)

        return list(browser.wait_for(self.driver, read)[0])

    def wait(self, condition: Any, timeout: float = 5.0) -> Any:
        return browser.wait_for(self.driver, lambda d: condition(), timeout)

    def selected(self, testid: str) -> bool:
        """Whether the account list item ``testid`` is the selected account."""
        button = self.testid(testid).find_element("css selector", "button")
        return button.get_attribute("aria-current") == "true"

    def fill(self, testid: str, value: str) -> None:
        field = self.testid(testid)
        field.clear()
        field.send_keys(value)

    def shot(self, name: str) -> Path:
        """Save the whole page as ``tests/.results/console/<test>--<name>.png``."""
        return browser.screenshot(self.driver, SHOTS / f"{self.test}--{name}.png")

    def refusals(self, *expected: tuple[int, str]) -> None:
        """Since the last check the browser logged exactly these refused admin calls (status, path), nothing else."""
        pattern = re.compile(
            re.escape(self.server.base) + r"(/admin/v1/[^ ?]*)\S* - Failed to load resource: "
            r"the server responded with a status of (\d{3})"
        )
        logged = []
        for message in browser.console_errors(self.driver):
            found = pattern.match(message)
            logged.append((int(found[2]), found[1]) if found else message)
        assert logged == list(expected)


@pytest.fixture
def console(driver: WebDriver, server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Console]:
    """The page, checked after the test: no browser console error and nothing loaded from anywhere but the server."""
    browser.console_errors(driver)  # what earlier tests left
    page = Console(driver, server, request.node.name.removeprefix("test_"))
    yield page
    assert browser.console_errors(driver) == []
    assert [url for url in browser.resources(driver) if not url.startswith(f"{server.base}/")] == []


def exact(response: httpx.Response) -> Any:
    """A JSON answer with every number as its text: the strings the console must show."""
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=str, parse_int=str)


def shown(value: Any) -> str:
    return DASH if value is None else str(value)


def pools(admin: httpx.Client, account: str = "alice") -> dict[str, Any]:
    answer: dict[str, Any] = exact(admin.get(f"/admin/v1/accounts/{account}/pools"))
    return answer


def flex_of(server: ServerProcess, key: tuple[str, str] = world.ALICE_FULL) -> dict[str, Any]:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        answer = exact(call(http, "GET", ACCOUNTS, key))
    assert answer["result"] == "success", answer
    flex: dict[str, Any] = answer["accounts"]["flex"]
    return flex


def cross_row(console: Console) -> dict[str, str]:
    names = ("equity", "initial_margin", "maintenance_margin", "available")
    return {name: console.cell("pool-cross", name) for name in names}


def audit_actions(console: Console) -> list[tuple[str, ...]]:
    """(action, account, symbol) of the audit rows shown, newest first."""
    return [
        tuple(console.cell(row, name) for name in ("action", "account", "symbol")) for row in console.row_ids("audit")
    ]


# --- signing in, the accounts -------------------------------------------------------------------------------------


def test_a_wrong_admin_token_is_refused_with_its_detail_and_the_right_one_opens_the_console(console: Console) -> None:
    console.sign_in("not-the-admin-token-not-the-admin-token")
    console.wait(lambda: console.text("signin-error") == "token refused: missing or wrong bearer token")
    assert console.text("status").endswith("token refused: missing or wrong bearer token")
    assert console.testid("signin-form").is_displayed()
    assert not console.testid("app").is_displayed()
    assert console.driver.execute_script("return sessionStorage.getItem('levpref.console.token')") is None
    console.refusals((401, "/admin/v1/accounts"))
    console.shot("refused")

    console.sign_in()
    assert console.testid("app").is_displayed()
    assert not console.testid("signin-form").is_displayed()
    assert console.text("account-title") == "Account alice"
    assert console.driver.execute_script("return sessionStorage.getItem('levpref.console.token')") == ADMIN_TOKEN
    console.shot("signed-in")


def test_the_accounts_list_shows_every_account_and_which_are_inactive(console: Console, admin: httpx.Client) -> None:
    console.sign_in()
    listed = exact(admin.get("/admin/v1/accounts"))["accounts"]
    assert [a["id"] for a in listed] == ["alice", "bob", "dormant"]
    assert console.row_ids("accounts") == ["account-alice", "account-bob", "account-dormant"]
    for account in listed:
        badge = "active" if account["active"] else "inactive"
        assert console.text(f"account-{account['id']}").split() == [account["id"], badge]
    selected = [row for row in console.row_ids("accounts") if console.selected(row)]
    assert selected == ["account-alice"]

    console.testid("account-bob").find_element("css selector", "button").click()
    console.wait(lambda: console.text("account-title") == "Account bob" and console.present(f"key-{world.BOB_FULL[0]}"))
    bob = pools(admin, "bob")
    assert cross_row(console) == {k: shown(v) for k, v in bob["cross"].items()}
    assert "No positions." in console.text("positions")
    assert console.cell(f"key-{world.BOB_FULL[0]}", "access") == "full"
    console.shot("bob")


# --- what the console shows equals what the server answers --------------------------------------------------------


def test_alices_pools_positions_and_preferences_are_the_exact_strings_of_the_admin_pools_and_of_accounts(
    console: Console, server: ServerProcess, admin: httpx.Client
) -> None:
    server.load(
        world.scenario(
            alice_usd="10000.12345678",
            marks={"PF_XBTUSD": "61234.56789", "PF_ETHUSD": "3012.5"},
            alice_positions=[
                {"symbol": "PF_XBTUSD", "size": "1", "entry_price": "60000"},
                {"symbol": "PF_ETHUSD", "size": "-1.5", "entry_price": "3000"},
            ],
            alice_preferences=[{"symbol": "PF_ETHUSD", "max_leverage": "10"}],
        )
    )
    console.sign_in()
    answer = pools(admin)
    assert cross_row(console) == {k: shown(v) for k, v in answer["cross"].items()}
    (isolated,) = answer["isolated"]
    assert console.row_ids("pools") == ["pool-cross", "pool-PF_ETHUSD"]
    for name, value in isolated.items():
        if name != "symbol":
            assert console.cell("pool-PF_ETHUSD", name) == shown(value), name
    assert [p["symbol"] for p in answer["positions"]] == ["PF_ETHUSD", "PF_XBTUSD"]
    assert console.row_ids("positions") == ["position-PF_ETHUSD", "position-PF_XBTUSD"]
    for position in answer["positions"]:
        for name, value in position.items():
            assert console.cell(f"position-{position['symbol']}", name) == shown(value), name
    assert console.cell("position-PF_ETHUSD", "max_leverage") == "10.00"  # a double would show 10
    assert console.cell("position-PF_ETHUSD", "side") == "short"
    assert console.cell("preference-PF_ETHUSD", "max_leverage") == "10.00"
    assert console.row_ids("keys") == [f"key-{k['public']}" for k in answer["keys"]]

    # the flex account a client sees (SPEC §3.5): avail is the cross pool's; the totals are the pools' sums
    flex = flex_of(server)
    cross = cross_row(console)
    iso = {name: Decimal(console.cell("pool-PF_ETHUSD", name)) for name in isolated if name != "symbol"}
    assert flex["availableMargin"] == cross["available"] == "9558.12498898"
    assert Decimal(flex["marginEquity"]) == Decimal(cross["equity"]) + iso["equity"]
    assert Decimal(flex["initialMargin"]) == Decimal(cross["initial_margin"]) + iso["allocated_margin"]
    assert Decimal(flex["maintenanceMargin"]) == Decimal(cross["maintenance_margin"]) + iso["maintenance_margin"]
    console.shot("pools")
    browser.color_scheme(console.driver, "dark")
    console.shot("pools-dark")


def test_moving_a_mark_in_the_console_changes_the_equity_available_margin_and_the_other_liquidation_price(
    console: Console, server: ServerProcess, admin: httpx.Client
) -> None:
    server.load(world.scenario(alice_positions=TWO_CROSS))
    console.sign_in()
    before = pools(admin)
    eth_liquidation = console.cell("position-PF_ETHUSD", "liquidation_price")
    assert eth_liquidation == shown(before["positions"][0]["liquidation_price"])
    console.shot("before")

    console.testid("edit-position-PF_XBTUSD").click()  # copies the symbol and the mark into the forms
    assert console.testid("mark-symbol").get_attribute("value") == "PF_XBTUSD"
    console.fill("mark-price", "58500.5")
    console.testid("mark-button").click()
    console.wait(lambda: console.text("mark-result") == "mark PF_XBTUSD = 58500.5")
    after = pools(admin)
    assert console.cell("position-PF_XBTUSD", "mark_price") == "58500.5"
    assert cross_row(console) == {k: shown(v) for k, v in after["cross"].items()}
    assert cross_row(console) != {k: shown(v) for k, v in before["cross"].items()}
    for position in after["positions"]:
        row = f"position-{position['symbol']}"
        for name in ("unrealized_pnl", "notional", "liquidation_price"):
            assert console.cell(row, name) == shown(position[name]), (row, name)
    assert console.cell("position-PF_ETHUSD", "liquidation_price") != eth_liquidation
    assert console.cell("position-PF_XBTUSD", "unrealized_pnl") == "-1499.5"
    assert ("set_mark", "*", "PF_XBTUSD") in audit_actions(console)
    console.shot("after")


def test_previewing_max_leverage_2_on_alice_shows_the_refusal_92_and_the_rule_cross_available_below_zero(
    console: Console, admin: httpx.Client
) -> None:
    console.sign_in()
    audit_before = exact(admin.get("/admin/v1/audit"))["audit"]
    console.fill("preview-symbol", "PF_XBTUSD")
    console.fill("preview-leverage", "2")
    console.testid("preview-button").click()
    console.wait(lambda: console.present("preview-outcome"))
    answer = exact(admin.get("/admin/v1/accounts/alice/preview", params={"symbol": "PF_XBTUSD", "maxLeverage": "2"}))
    preview = answer["preview"]
    assert console.text("preview-result") == "refused: 92 INSUFFICIENT_MARGIN (shown under the pools)"
    assert console.text("preview-outcome") == "refused"
    assert console.text("preview-change") == "alice PF_XBTUSD cross → isolated ×2.00"
    assert console.text("preview-error") == "error 92 INSUFFICIENT_MARGIN"
    assert console.text("preview-rule") == "rule crossAvailableBelowZero"
    assert console.text("preview-failed-pool") == "failed pool cross"
    assert console.text("preview-margin-moved") == "margin moved 30000"
    assert "failed" in str(console.testid("preview-cross-after").get_attribute("class"))
    for pool in ("cross", "isolated"):
        for when in ("before", "after"):
            figures = preview[when][pool] or {}
            for name in ("equity", "initialMargin", "maintenanceMargin", "availableMargin", "allocatedMargin"):
                assert console.cell(f"preview-{pool}-{when}", name) == shown(figures.get(name)), (pool, when, name)
            # the contract's liquidation price is shown in the pool that holds its position at that moment
            held = preview["marginMode"][when] == pool
            expected = shown(preview["liquidationPrice"][when] if held else None)
            assert console.cell(f"preview-{pool}-{when}", "liquidationPrice") == expected, (pool, when)
    assert console.cell("preview-cross-after", "availableMargin") == "-20000"
    assert console.cell("preview-cross-before", "liquidationPrice") == "50505.05050506"
    assert console.cell("preview-isolated-after", "liquidationPrice") == "30303.03030304"
    # a preview changes nothing: same pools, no audit entry
    assert exact(admin.get("/admin/v1/audit"))["audit"] == audit_before
    assert console.row_ids("pools") == ["pool-cross"]
    console.shot("refused-92")


def test_a_leverage_change_previewed_then_made_with_ccxt_appears_in_the_audit_log_and_the_pools_without_reloading(
    console: Console, server: ServerProcess, admin: httpx.Client
) -> None:
    console.sign_in()
    console.driver.execute_script("window.levprefSamePage = true")
    assert console.row_ids("pools") == ["pool-cross"]
    console.fill("preview-symbol", "PF_XBTUSD")
    console.fill("preview-leverage", "10")
    console.testid("preview-button").click()
    console.wait(lambda: console.present("preview-outcome"))
    assert console.text("preview-result") == "accepted (shown under the pools)"
    assert console.text("preview-rule") == "rule marginSufficient"
    assert console.text("preview-margin-moved") == "margin moved 6000"
    previewed = {name: console.cell("preview-cross-after", name) for name in PREVIEW_FIGURES}
    console.shot("previewed")

    with ccxt_client("sync", server.base) as ex:
        ex.set_leverage(10, "BTC/USD:USD")
    (entry, *_) = exact(admin.get("/admin/v1/audit"))["audit"]
    row = f"audit-{entry['id']}"
    console.wait(lambda: console.present(row), timeout=3 * REFRESH_S)
    assert console.cell(row, "action") == "set_leverage_preference"
    assert (console.cell(row, "account"), console.cell(row, "symbol")) == ("alice", "PF_XBTUSD")
    assert console.cell(row, "actor") == entry["actor"]
    assert console.cell(row, "margin_moved") == "6000"
    assert console.cell(row, "after") == " ".join(f"{k}={v}" for k, v in entry["after"].items())
    assert console.cell(row, "after") == "allocated_margin=6000 margin_mode=isolated max_leverage=10.00"
    console.wait(lambda: console.present("pool-PF_XBTUSD"), timeout=2 * REFRESH_S)
    answer = pools(admin)
    assert console.cell("pool-PF_XBTUSD", "allocated_margin") == "6000"
    assert cross_row(console) == {k: shown(v) for k, v in answer["cross"].items()}
    assert console.cell("position-PF_XBTUSD", "margin_mode") == "isolated"
    assert console.cell("preference-PF_XBTUSD", "max_leverage") == "10.00"
    assert list(cross_row(console).values()) == list(previewed.values())  # the cross pool as previewed
    assert console.cell("pool-PF_XBTUSD", "liquidation_price") == console.cell(
        "preview-isolated-after", "liquidationPrice"
    )
    assert console.driver.execute_script("return window.levprefSamePage") is True
    console.shot("after-ccxt")


# --- the operator's actions ---------------------------------------------------------------------------------------


def test_collateral_is_set_and_a_position_is_set_and_deleted_through_the_console(
    console: Console, admin: httpx.Client
) -> None:
    console.sign_in()
    console.fill("collateral-quantity", "2500.5")
    console.testid("collateral-button").click()
    console.wait(lambda: console.text("collateral-result") == "alice: USD = 2500.5")
    assert cross_row(console) == {k: shown(v) for k, v in pools(admin)["cross"].items()}
    assert console.cell("pool-cross", "equity") == "2500.5"

    console.fill("position-symbol", "PF_ETHUSD")
    console.fill("position-size", "-2")
    console.fill("position-entry", "3000")
    console.testid("position-button").click()
    console.wait(lambda: console.text("position-result") == "alice: PF_ETHUSD -2 @ 3000")
    assert console.cell("position-PF_ETHUSD", "size") == "-2"
    assert console.cell("position-PF_ETHUSD", "side") == "short"
    assert cross_row(console) == {k: shown(v) for k, v in pools(admin)["cross"].items()}
    console.shot("position-set")

    console.testid("position-delete").click()
    console.wait(lambda: console.text("position-result") == "alice: PF_ETHUSD deleted")
    assert console.row_ids("positions") == ["position-PF_XBTUSD"]
    newest = ["delete_position", "set_position", "set_collateral"]
    assert [e["action"] for e in exact(admin.get("/admin/v1/accounts/alice/audit"))["audit"][:3]] == newest
    console.wait(lambda: [action for action, *_ in audit_actions(console)][:3] == newest)
    console.shot("position-deleted")


def test_loading_a_scenario_file_replaces_the_world_the_console_shows(console: Console, admin: httpx.Client) -> None:
    console.sign_in()
    console.testid("scenario-file").send_keys(str(EXAMPLE_SCENARIO))
    console.testid("scenario-button").click()
    console.wait(lambda: console.text("scenario-result") == "loaded scenario.toml (2 keys)")
    assert [a["id"] for a in exact(admin.get("/admin/v1/accounts"))["accounts"]] == ["alice", "dormant"]
    assert console.row_ids("accounts") == ["account-alice", "account-dormant"]
    assert console.text("account-title") == "Account alice"
    answer = pools(admin)
    console.wait(lambda: console.cell("pool-cross", "equity") == shown(answer["cross"]["equity"]))
    assert cross_row(console) == {k: shown(v) for k, v in answer["cross"].items()}
    assert console.cell("preference-PF_ETHUSD", "pnl_currency") == "BTC"
    assert console.row_ids("keys") == [f"key-{k['public']}" for k in answer["keys"]]
    console.wait(lambda: ("load_scenario", "*", DASH) in audit_actions(console))
    console.shot("loaded")


def test_a_refusal_shows_the_servers_detail_under_its_form_and_in_the_status_line(
    console: Console, admin: httpx.Client
) -> None:
    console.sign_in()
    before = pools(admin)
    console.fill("mark-symbol", "PF_XBTUSD")
    console.fill("mark-price", "-1")
    console.testid("mark-button").click()
    detail = "price: expected a decimal number (digits, an optional fraction, no exponent) > 0"
    console.wait(lambda: console.text("mark-result") == f"refused: {detail}")
    assert "error" in str(console.testid("mark-result").get_attribute("class"))
    assert console.text("status").endswith(f"set mark: {detail}")

    console.fill("position-symbol", "PF_NOPE")
    console.fill("position-size", "1")
    console.fill("position-entry", "100")
    console.testid("position-button").click()
    console.wait(lambda: console.text("position-result").startswith("refused: "))
    refused = admin.put("/admin/v1/accounts/alice/positions/PF_NOPE", json={"size": "1", "entry_price": "100"})
    assert console.text("position-result") == f"refused: {refused.json()['detail']}"

    console.fill("preview-symbol", "PF_XBTUSD")
    console.fill("preview-leverage", "51")
    console.testid("preview-button").click()
    console.wait(lambda: console.present("preview-outcome"))
    assert console.text("preview-change") == "alice PF_XBTUSD → isolated ×51"
    assert console.text("preview-error") == "error invalidArgument"
    assert console.text("preview-rule") == "rule leverageCap"
    assert not console.testid("preview-table").is_displayed()
    console.refusals((400, "/admin/v1/marks/PF_XBTUSD"), (refused.status_code, refused.url.path))
    assert pools(admin) == before
    console.shot("refusals")


def test_the_audit_log_pages_through_older_entries_and_back_and_shows_one_account_on_request(
    console: Console, admin: httpx.Client
) -> None:
    for cents in range(60):  # 60 entries after the world's load: two pages of 50
        assert admin.put("/admin/v1/marks/PF_ETHUSD", json={"price": f"3000.{cents:02d}"}).status_code == 200
    assert admin.put("/admin/v1/accounts/alice/collateral/USD", json={"quantity": "12000"}).status_code == 200
    console.sign_in()
    newest = exact(admin.get("/admin/v1/audit", params={"limit": "50"}))
    ids = [f"audit-{e['id']}" for e in newest["audit"]]
    console.wait(lambda: console.row_ids("audit") == ids)
    assert console.cell(ids[1], "after") == "price=3000.59"
    assert not console.testid("audit-newer").is_enabled()
    console.shot("page-1")

    console.testid("audit-older").click()
    older = exact(admin.get("/admin/v1/audit", params={"limit": "50", **newest["next"]}))
    console.wait(lambda: console.text("audit-page") == "page 2")
    console.wait(lambda: console.row_ids("audit") == [f"audit-{e['id']}" for e in older["audit"]])
    # the session's server keeps the audit of earlier tests: page 2 is the last only when nothing is older
    assert console.testid("audit-older").is_enabled() == (older["next"] is not None)
    console.shot("page-2")

    console.testid("audit-newer").click()
    console.wait(lambda: console.text("audit-page") == "page 1" and console.row_ids("audit") == ids)
    console.testid("audit-scope").click()
    mine = exact(admin.get("/admin/v1/accounts/alice/audit", params={"limit": "50"}))["audit"]
    console.wait(lambda: console.row_ids("audit") == [f"audit-{e['id']}" for e in mine])
    assert (mine[0]["action"], {e["account"] for e in mine}) == ("set_collateral", {"alice"})
    assert {console.cell(f"audit-{e['id']}", "account") for e in mine} == {"alice"}
    console.shot("alice-only")
