"""Shared fixtures: a real server process on a real SQLite file, reset to the test world per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = Path(tmp_path_factory.mktemp("sqlite")) / "levpref.db"
    server = ServerProcess(f"sqlite:///{db}", scenario=world.scenario()).start()
    yield server
    server.stop()


@pytest.fixture
def server(sqlite_server: ServerProcess) -> ServerProcess:
    """The session's server, with the test world freshly loaded."""
    sqlite_server.load(world.scenario())
    return sqlite_server


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
