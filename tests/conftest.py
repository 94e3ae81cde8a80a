"""Shared fixtures: real server processes, one per store (SQLite file, PostgreSQL), reset to the test world per test.

Every test that uses ``server`` (or ``http``) runs twice: ``[sqlite]`` and ``[postgresql]``. The PostgreSQL cluster
is a throwaway one started once per session from the installed server binaries; if it cannot start, the PostgreSQL
half of the suite errors (the run fails, it is never skipped). ``-k sqlite`` / ``-k postgresql`` picks one store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from tests.support import world
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess

pytest_plugins = ["pytester"]  # tests/e2e/test_plugin.py runs levpref's own pytest plugin in throwaway projects

STORES = ("sqlite", "postgresql")

# Property tests check results, not time: on a shared 2-core machine a 200 ms example deadline fails at random.
settings.register_profile("levpref", deadline=None)
settings.load_profile("levpref")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the session; failing to start it is a test error, never a skip."""
    cluster = PostgresCluster()
    problem = None
    try:
        cluster.start()
    except Exception as exc:
        problem = str(exc)
    if problem is not None:
        cluster.stop()
        pytest.fail(f"PostgreSQL could not start (./dev test installs it): {problem}", pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("sqlite")) / "levpref.db"
    server = ServerProcess(f"sqlite:///{db}", scenario=world.scenario()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql_server(pg_cluster: PostgresCluster) -> Iterator[ServerProcess]:
    server = ServerProcess(pg_cluster.create_database("levpref_e2e"), scenario=world.scenario()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """The store under test: every test using it (through ``server``) runs once per store."""
    return str(request.param)


@pytest.fixture
def server(store: str, request: pytest.FixtureRequest) -> ServerProcess:
    """The session's server on ``store``, with the test world freshly loaded (and every nonce window emptied)."""
    session_server: ServerProcess = request.getfixturevalue(f"{store}_server")
    session_server.load(world.scenario())  # which also empties every nonce window
    return session_server


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base, timeout=10) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any server log of the session holds an API secret or the admin token."""
    from tests.support.server import ADMIN_TOKEN, SERVER_LOGS

    needles = [ADMIN_TOKEN, *(key[1] for key in world.ALL_KEYS)]
    lines = found = 0
    for path in SERVER_LOGS:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            lines += 1
            found += sum(needle in line for needle in needles)
    print(f"\nlog scan: {len(SERVER_LOGS)} server logs, {lines} lines, secrets found in logs: {found}")
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """The figures of the race and crash tests (also in ``tests/.results/figures.json``)."""
    from tests.support import figures

    if figures.FIGURES:
        terminalreporter.section("race and crash figures")
        for line in figures.lines():
            terminalreporter.write_line(line)
