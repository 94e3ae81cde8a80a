"""levpref's pytest plugin (SPEC §6.3), run as a bot developer runs it: in a project of its own.

Each test writes a throwaway project with pytester and runs pytest on it in a subprocess, so the plugin is loaded
from the installed ``pytest11`` entry point, exactly as in a user's suite. The inner projects run with
``--strict-markers`` and warnings as errors, like ours.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import ccxt
import pytest

from levpref.testing import LevprefServer

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_my_bot.py"
STRICT_INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(STRICT_INI)
    return pytester


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_documented_example_passes_in_a_project_of_its_own(project: pytest.Pytester) -> None:
    project.makepyfile(test_my_bot=EXAMPLE.read_text())
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=4)


def test_a_failing_test_still_stops_its_server_and_frees_its_port(project: pytest.Pytester) -> None:
    record = project.path / "server.json"
    project.makepyfile(
        test_fails=f"""
        import json, httpx

        def test_that_fails(levpref_server):
            assert httpx.get(levpref_server.base_url + "/ready").status_code == 200
            with open({str(record)!r}, "w") as out:
                json.dump({{"pid": levpref_server.process.pid, "port": levpref_server.port}}, out)
            raise AssertionError("the bot misbehaved")
        """
    )
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the bot misbehaved*"])
    seen = json.loads(record.read_text())
    assert not process_exists(seen["pid"])
    assert port_is_free(seen["port"])


def test_two_modules_with_different_scenarios_each_get_their_own_world(project: pytest.Pytester) -> None:
    project.mkdir("worlds")
    (project.path / "worlds" / "rich.toml").write_text(
        """
        [[instruments]]
        symbol = "PF_XBTUSD"
        type = "flexible_futures"
        margin_levels = [ { num_non_contract_units = "0", initial_margin = "0.02", maintenance_margin = "0.01" } ]
        [collateral_currencies]
        USD = { price = "1", haircut = "0" }
        [marks]
        PF_XBTUSD = "60000"
        [[accounts]]
        id = "rich"
        collateral = { USD = "1000000" }
        keys = [ { access = "full" }, { access = "read" } ]
        """.replace("\n        ", "\n")
    )
    project.makepyfile(
        test_rich="""
        import pytest

        pytestmark = pytest.mark.levpref_scenario("worlds/rich.toml")

        def test_the_rich_world_is_loaded_from_a_file_beside_the_test(levpref_server):
            assert levpref_server.key().account == "rich"
            assert levpref_server.kraken_user().get_wallets()["accounts"]["flex"]["balanceValue"] == 1000000
            reader = levpref_server.ccxt(read_only=True)
            assert reader.fetch_leverages() == {}
        """,
        test_poor="""
        import pytest

        POOR = {
            "instruments": [{"symbol": "PF_XBTUSD", "type": "flexible_futures",
                             "margin_levels": [{"num_non_contract_units": "0", "initial_margin": "0.02",
                                                "maintenance_margin": "0.01"}]}],
            "collateral_currencies": {"USD": {"price": "1", "haircut": "0"}},
            "accounts": [{"id": "poor", "collateral": {"USD": "10"}, "keys": [{"access": "full"}]}],
        }

        @pytest.mark.levpref_scenario(POOR)
        def test_the_poor_world_comes_from_a_dict(levpref_server):
            assert levpref_server.key().account == "poor"
            assert levpref_server.kraken_user().get_wallets()["accounts"]["flex"]["balanceValue"] == 10

        def test_without_a_marker_the_demo_world_is_served(levpref_server):
            assert levpref_server.key().account == "demo"
            assert levpref_server.read_only_key != levpref_server.api_key
            symbols = {m["id"] for m in levpref_server.ccxt().load_markets().values()}
            assert {"PF_XBTUSD", "PF_ETHUSD", "FF_XBTUSD_261225", "PI_XBTUSD", "FI_XBTUSD_261225"} <= symbols
        """,
    )
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=3)


def test_a_session_wide_server_from_the_factory_serves_every_test_and_reset_restores_its_world(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def levpref_server(levpref_server_factory):
            return levpref_server_factory()

        @pytest.fixture(autouse=True)
        def fresh_world(levpref_server):
            levpref_server.admin.reset()
        """
    )
    project.makepyfile(
        test_shared="""
        PIDS = set()

        def test_one_isolates_eth(levpref_server):
            PIDS.add(levpref_server.process.pid)
            levpref_server.ccxt().set_leverage(10, "ETH/USD:USD")
            assert levpref_server.kraken_market().get_leverage_preference()["leveragePreferences"] == [
                {"symbol": "PF_ETHUSD", "maxLeverage": 10.0}
            ]

        def test_two_finds_the_world_as_it_started_on_the_same_process(levpref_server):
            PIDS.add(levpref_server.process.pid)
            assert len(PIDS) == 1
            assert levpref_server.kraken_market().get_leverage_preference()["leveragePreferences"] == []
        """
    )
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(passed=2)


def test_a_marker_with_something_other_than_a_path_or_a_dict_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.levpref_scenario(42)
        def test_bad(levpref_server):
            pass
        """
    )
    result = project.runpytest_subprocess("-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*levpref_scenario: expected a path or a dict, got int*"])


def test_docs_testing_md_shows_the_example_exactly_as_it_is_in_examples() -> None:
    doc = (EXAMPLE.parents[1] / "docs" / "testing.md").read_text()
    blocks = doc.split("```python\n")[1:]
    assert EXAMPLE.read_text() in [block.split("```", 1)[0] for block in blocks]


def available(exchange: Any) -> Any:
    return exchange.fetch_balance()["info"]["accounts"]["flex"]["availableMargin"]


def test_the_demo_world_answers_the_tour_41_for_near_liquidation_at_10x_and_92_for_thin_at_2x(
    levpref_server: LevprefServer,
) -> None:
    demo, thin = levpref_server.ccxt("demo"), levpref_server.ccxt("thin")
    near = levpref_server.ccxt("near-liquidation")
    assert (available(demo), available(thin), available(near)) == (39480, 880, 3800)
    with pytest.raises(ccxt.InsufficientFunds, match='"code":92'):
        thin.set_leverage(2, "BTC/USD:USD")
    with pytest.raises(ccxt.ExchangeError, match='"code":41'):
        near.set_leverage(10, "BTC/USD:USD")
    assert (available(thin), available(near)) == (880, 3800)
    thin.set_leverage(10, "BTC/USD:USD")
    near.set_leverage(5, "BTC/USD:USD")
    assert (available(thin), available(near)) == (400, 3000)
    demo.set_leverage(10, "ETH/USD:USD")
    assert available(demo) == 38800
